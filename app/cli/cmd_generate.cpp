// expertscope-cli generate: a prompt (raw, or a chat turn rendered with the model's chat
// template), then sampled tokens streamed to stdout; optionally the routing of every
// position (prompt and answer) as DESIGN.md's routing JSON.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli.h"
#include "expertscope/chat_template.h"
#include "expertscope/generate.h"
#include "expertscope/model.h"
#include "expertscope/tokenizer.h"
#include "expertscope/trace.h"

namespace es::cli {
namespace {

SamplerParams sampling_from(const Args& args) {
  SamplerParams s;
  if (const auto v = args.value("--temp"))
    s.temperature = static_cast<float>(parse_number(*v, "--temp"));
  if (const auto v = args.value("--top-k"))
    s.top_k = static_cast<int32_t>(parse_int(*v, "--top-k"));
  if (const auto v = args.value("--top-p"))
    s.top_p = static_cast<float>(parse_number(*v, "--top-p"));
  if (const auto v = args.value("--min-p"))
    s.min_p = static_cast<float>(parse_number(*v, "--min-p"));
  if (const auto v = args.value("--repeat-penalty")) {
    s.repetition_penalty = static_cast<float>(parse_number(*v, "--repeat-penalty"));
  }
  if (const auto v = args.value("--seed")) {
    const int64_t seed = parse_int(*v, "--seed");
    if (seed < 0) throw usage_error("--seed: expected a non-negative integer");
    s.seed = static_cast<uint64_t>(seed);
  }
  return s;
}

/// The prompt text: --prompt as is, or --chat rendered as one user turn.
std::string prompt_text(const Args& args, const Model& model, const Tokenizer& tok) {
  const auto raw = args.value("--prompt");
  const auto chat = args.value("--chat");
  if (raw.has_value() == chat.has_value())
    throw usage_error("generate: give exactly one of --prompt and --chat");
  if (raw) return *raw;
  chat::ChatContext c;
  c.messages.push_back(chat::ChatMessage::text("user", *chat));
  c.add_generation_prompt = true;
  if (tok.bos() != no_token) c.bos_token = std::string(tok.token_text(tok.bos()));
  if (tok.eos() != no_token) c.eos_token = std::string(tok.token_text(tok.eos()));
  const std::string source(model.file().get_string("tokenizer.chat_template").value_or(""));
  const chat::RenderOutcome r = chat::render_or_fallback(source, c);
  if (r.warning) std::fprintf(stderr, "warning: %s\n", r.warning->c_str());
  return r.text;
}

}  // namespace

int cmd_generate(const Args& args) {
  args.reject_unknown_options({"-m", "--model", "--prompt", "--chat", "-n", "--temp", "--top-k",
                               "--top-p", "--min-p", "--repeat-penalty", "--seed", "--backend",
                               "--threads", "--ctx", "--routing", "--stop", "--quiet"});
  std::optional<std::string> model_path = args.value("-m");
  if (!model_path) model_path = args.value("--model");
  if (!model_path) throw usage_error("generate: no model given (-m MODEL)");
  GenerateParams gp;
  gp.sampling = sampling_from(args);
  if (const auto n = args.value("-n")) {
    const int64_t v = parse_int(*n, "-n");
    if (v < 0 || v > 1'000'000) throw usage_error("-n: expected 0..1000000");
    gp.n_predict = static_cast<uint32_t>(v);
  }
  for (size_t i = 0; i + 1 < args.items().size(); ++i) {
    if (args.items()[i] == "--stop") gp.stop_strings.push_back(args.items()[i + 1]);
  }
  ContextParams cp;
  cp.backend = args.value("--backend").value_or("cpu");
  if (const auto t = args.value("--threads"))
    cp.n_threads = static_cast<uint32_t>(parse_int(*t, "--threads"));
  const std::optional<std::string> routing_out = args.value("--routing");

  require_readable_file(*model_path);
  const auto model = Model::load(*model_path);
  const Tokenizer tok = Tokenizer::from_gguf(model->file());
  const std::string text = prompt_text(args, *model, tok);
  EncodeOptions eo;
  eo.add_special = true;  // BOS where the model's metadata asks for it.
  const std::vector<TokenId> ids = tok.encode(text, eo);
  const std::vector<int32_t> prompt(ids.begin(), ids.end());
  const int64_t n_ctx = args.value("--ctx")
                            ? parse_int(*args.value("--ctx"), "--ctx")
                            : static_cast<int64_t>(prompt.size() + gp.n_predict + 1);
  if (n_ctx <= 0 || n_ctx > (int64_t{1} << 24)) throw usage_error("--ctx: out of range");
  cp.n_ctx = static_cast<uint32_t>(n_ctx);
  if (prompt.size() >= cp.n_ctx) {
    throw Error(ErrorKind::bad_input, "the prompt has " + std::to_string(prompt.size()) +
                                          " tokens, more than the context of " +
                                          std::to_string(cp.n_ctx) + " can hold");
  }
  Context ctx(model, cp);

  RoutingTrace trace;
  const bool quiet = args.has("--quiet");
  const auto on_prompt = [&](const RoutingBatch& rb, std::span<const int32_t> toks,
                             uint32_t start) {
    if (!routing_out || rb.moe_layers.empty()) return;
    std::vector<int32_t> pos(toks.size());
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(start + i);
    trace.append(rb, toks, pos, Modality::text);
  };
  const auto on_token = [&](const TokenEvent& ev) {
    if (!quiet) {
      std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
      std::fflush(stdout);
    }
    if (routing_out && ev.routing != nullptr && !ev.routing->moe_layers.empty()) {
      const int32_t pos = static_cast<int32_t>(ev.pos);
      trace.append(*ev.routing, std::span(&ev.token, 1), std::span(&pos, 1), Modality::text);
    }
    return true;
  };
  const GenerateResult r = generate(ctx, tok, prompt, gp, on_token, on_prompt);
  if (!quiet) std::fputc('\n', stdout);
  std::fprintf(
      stderr,
      "generate: %u prompt tokens in %.1f ms, %zu tokens in %.1f ms (%.2f tok/s), "
      "first token after %.1f ms, stop: %s\n",
      r.n_prompt, r.prompt_ms, r.tokens.size(), r.generate_ms,
      r.generate_ms > 0 ? 1000.0 * static_cast<double>(r.tokens.size()) / r.generate_ms : 0.0,
      r.first_token_ms, std::string(stop_reason_name(r.reason)).c_str());
  if (routing_out) {
    std::ostringstream json;
    write_routing_json(json, trace, [&](int32_t id) { return tok.decode(std::span(&id, 1)); });
    write_file_atomic(*routing_out, json.str());
  }
  return exit_ok;
}

}  // namespace es::cli
