// expertscope-cli eval: one forward pass over exactly the given tokens (no template, no
// BOS added); the logits of every position as raw little-endian float32, row-major
// [n_tokens][n_vocab].
#include <cstdio>
#include <cstring>

#include "cli.h"
#include "expertscope/context.h"
#include "expertscope/model.h"

namespace es::cli {

int cmd_eval(const Args& args) {
  args.reject_unknown_options(
      {"-m", "--model", "--tokens", "--backend", "--threads", "--logits", "--kv-type"});
  std::optional<std::string> model_path = args.value("-m");
  if (!model_path) model_path = args.value("--model");
  if (!model_path) throw usage_error("eval: no model given (-m MODEL)");
  const std::optional<std::string> token_text = args.value("--tokens");
  if (!token_text) throw usage_error("eval: no input given (--tokens 1,2,3)");
  const std::vector<int32_t> tokens = parse_token_list(*token_text);

  ContextParams params;
  params.backend = args.value("--backend").value_or("cpu");
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
  params.n_ctx = std::max<uint32_t>(static_cast<uint32_t>(tokens.size()), 16);
  Context ctx(model, params);
  ctx.decode(tokens, LogitsRows::all);

  if (const auto out = args.value("--logits")) {
    const uint32_t n_vocab = model->hparams().n_vocab;
    std::string bytes(static_cast<size_t>(ctx.n_logit_rows()) * n_vocab * sizeof(float), '\0');
    for (uint32_t r = 0; r < ctx.n_logit_rows(); ++r) {
      std::memcpy(bytes.data() + static_cast<size_t>(r) * n_vocab * sizeof(float),
                  ctx.logits(r).data(), n_vocab * sizeof(float));
    }
    write_file_atomic(*out, bytes);
  }
  std::printf("{\"n_tokens\":%zu,\"n_vocab\":%u}\n", tokens.size(), model->hparams().n_vocab);
  return exit_ok;
}

}  // namespace es::cli
