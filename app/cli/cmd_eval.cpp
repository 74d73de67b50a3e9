// expertscope-cli eval: one forward pass over exactly the given tokens (no template, no
// BOS added); the logits of every position as raw little-endian float32, row-major
// [n_tokens][n_vocab], and the routing of every position as JSON. --text / --file are
// tokenized first, adding BOS/EOS only where the model's metadata says to.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "cli.h"
#include "expertscope/context.h"
#include "expertscope/demo_model.h"
#include "expertscope/model.h"
#include "expertscope/tokenizer.h"
#include "expertscope/trace.h"

namespace es::cli {
namespace {

std::string read_text_file(const std::string& path) {
  require_readable_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, path + ": cannot read");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The input ids: --tokens as given, or --text / --file through the tokenizer.
std::vector<int32_t> input_tokens(const Args& args, const Model& model) {
  const auto tokens = args.value("--tokens");
  const auto text = args.value("--text");
  const auto file = args.value("--file");
  if (int(tokens.has_value()) + int(text.has_value()) + int(file.has_value()) != 1) {
    throw usage_error("eval: give exactly one of --tokens, --text and --file");
  }
  if (tokens) return parse_token_list(*tokens);
  const Tokenizer tok = Tokenizer::from_gguf(model.file());
  EncodeOptions eo;
  eo.add_special = true;
  const std::vector<TokenId> ids = tok.encode(text ? *text : read_text_file(*file), eo);
  if (ids.empty()) throw Error(ErrorKind::bad_input, "eval: the text has no tokens");
  return {ids.begin(), ids.end()};
}

}  // namespace

int cmd_eval(const Args& args) {
  args.reject_unknown_options({"-m", "--model", "--tokens", "--text", "--file", "--backend",
                               "--threads", "--logits", "--routing", "--kv-type", "--ctx"});
  std::optional<std::string> model_path = args.value("-m");
  if (!model_path) model_path = args.value("--model");
  if (!model_path) throw usage_error("eval: no model given (-m MODEL)");
  *model_path = resolve_model_name(*model_path).string();  // "demo": the bundled model

  ContextParams params;
  params.backend = args.value("--backend").value_or("auto");
  if (const auto t = args.value("--threads")) {
    const int64_t n = parse_int(*t, "--threads");
    if (n < 0 || n > 1024) throw usage_error("--threads: expected 0..1024");
    params.n_threads = static_cast<uint32_t>(n);
  }
  // eval is the exactness tool: an F32 KV cache unless asked otherwise.
  const std::string kv_type = args.value("--kv-type").value_or("f32");
  if (kv_type != "f32" && kv_type != "f16") throw usage_error("--kv-type: expected f32 or f16");
  params.kv_f16 = kv_type == "f16";
  require_readable_file(*model_path);
  const auto model = Model::load(*model_path);
  const std::vector<int32_t> tokens = input_tokens(args, *model);
  const HParams& hp = model->hparams();

  // The context holds exactly the input unless --ctx says otherwise; an input longer than
  // the context is refused whole (nothing is evaluated, nothing written).
  params.n_ctx = static_cast<uint32_t>(tokens.size());
  if (const auto c = args.value("--ctx")) {
    const int64_t n = parse_int(*c, "--ctx");
    if (n <= 0 || n > (int64_t{1} << 24)) throw usage_error("--ctx: out of range");
    params.n_ctx = static_cast<uint32_t>(n);
  }
  if (tokens.size() > params.n_ctx) {
    throw Error(ErrorKind::bad_input, "eval: " + std::to_string(tokens.size()) +
                                          " tokens do not fit in a context of " +
                                          std::to_string(params.n_ctx));
  }
  if (hp.n_ctx_train != 0 && tokens.size() > hp.n_ctx_train) {
    std::fprintf(stderr, "warning: %zu tokens exceed the model's training context of %u\n",
                 tokens.size(), hp.n_ctx_train);
  }
  const auto logits_out = args.value("--logits");
  const auto routing_out = args.value("--routing");
  Context ctx(model, params);
  report_backend(ctx);
  ctx.decode(tokens, logits_out ? LogitsRows::all : LogitsRows::last);

  if (logits_out) {
    const uint32_t n_vocab = hp.n_vocab;
    std::string bytes(static_cast<size_t>(ctx.n_logit_rows()) * n_vocab * sizeof(float), '\0');
    for (uint32_t r = 0; r < ctx.n_logit_rows(); ++r) {
      std::memcpy(bytes.data() + static_cast<size_t>(r) * n_vocab * sizeof(float),
                  ctx.logits(r).data(), n_vocab * sizeof(float));
    }
    write_file_atomic(*logits_out, bytes);
  }
  if (routing_out) {
    RoutingTrace trace;
    std::vector<int32_t> pos(tokens.size());
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(i);
    if (!ctx.routing().moe_layers.empty()) trace.append(ctx.routing(), tokens, pos, Modality::text);
    std::unique_ptr<Tokenizer> tok;
    if (model->file().find("tokenizer.ggml.tokens") != nullptr) {
      tok = std::make_unique<Tokenizer>(Tokenizer::from_gguf(model->file()));
    }
    std::ostringstream json;
    write_routing_json(json, trace, [&](int32_t id) {
      return tok ? tok->decode(std::span(&id, 1)) : std::string();
    });
    write_file_atomic(*routing_out, json.str());
  }
  std::printf("{\"n_tokens\":%zu,\"n_vocab\":%u}\n", tokens.size(), hp.n_vocab);
  return exit_ok;
}

}  // namespace es::cli
