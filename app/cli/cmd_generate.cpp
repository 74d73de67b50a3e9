// expertscope-cli generate: a prompt (raw, or a chat turn rendered with the model's chat
// template), then sampled tokens streamed to stdout; optionally the routing of every
// position (prompt and answer) as DESIGN.md's routing JSON, and the exchange recorded in
// the session store (--db).
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"
#include "expertscope/chat_template.h"
#include "expertscope/generate.h"
#include "expertscope/model.h"
#include "expertscope/tokenizer.h"
#include "expertscope/trace.h"
#include "recorder.h"

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

/// Raised by SIGINT / SIGTERM: generation stops at the next token and the answer is saved
/// as cancelled.
std::atomic<bool> g_cancel{false};

extern "C" void on_interrupt(int /*signal*/) {
  g_cancel.store(true);
}

/// What the model sees of a message: its text attachments, then its text.
std::string model_text(const Message& m) {
  std::string out;
  for (const Attachment& a : m.attachments) {
    if (a.kind != "text") continue;
    out += "[file: " + a.file_name + "]\n";
    out.append(a.data.begin(), a.data.end());
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += "[end of file]\n\n";
  }
  return out + m.content;
}

/// The prompt text: --prompt as is, or the session's earlier messages and --chat
/// rendered with the model's chat template.
std::string prompt_text(const Args& args, const Model& model, const Tokenizer& tok,
                        const Session* history, const Message& user) {
  const auto raw = args.value("--prompt");
  if (raw) return *raw;
  chat::ChatContext c;
  if (history != nullptr) {
    for (const Message& m : history->messages) {
      if (m.role == "assistant" && m.content.empty()) continue;  // nothing was said
      c.messages.push_back(chat::ChatMessage::text(m.role, model_text(m)));
    }
  }
  c.messages.push_back(chat::ChatMessage::text("user", model_text(user)));
  c.add_generation_prompt = true;
  if (tok.bos() != no_token) c.bos_token = std::string(tok.token_text(tok.bos()));
  if (tok.eos() != no_token) c.eos_token = std::string(tok.token_text(tok.eos()));
  const std::string source(model.file().get_string("tokenizer.chat_template").value_or(""));
  const chat::RenderOutcome r = chat::render_or_fallback(source, c);
  if (r.warning) std::fprintf(stderr, "warning: %s\n", r.warning->c_str());
  return r.text;
}

/// A file given with --attach: text files (valid UTF-8) become part of the user turn.
Attachment read_attachment(const std::filesystem::path& path) {
  require_readable_file(path);
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error(ErrorKind::io, path.string() + ": cannot be read");
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  if (text.find('\0') != std::string_view::npos || !is_valid_utf8(text)) {
    throw Error(ErrorKind::unsupported,
                path.string() +
                    ": not a UTF-8 text file; images, video and PDF need the "
                    "media module, which this build does not have yet");
  }
  Attachment a;
  a.kind = "text";
  a.file_name = path.filename().string();
  const std::string ext = path.extension().string();
  a.mime_type = ext == ".md"     ? "text/markdown"
                : ext == ".csv"  ? "text/csv"
                : ext == ".json" ? "application/json"
                : ext == ".html" ? "text/html"
                                 : "text/plain";
  a.size = data.size();
  a.data = std::move(data);
  return a;
}

/// A float as the double with the same shortest decimal form (0.8f → 0.8, not
/// 0.800000011920929), for settings people read.
double decimal(float value) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::strtod(std::string(buf, r.ptr).c_str(), nullptr);
}

/// The settings of this run as a JSON object text (stored with the answer).
std::string settings_json(const Args& args, const GenerateParams& gp, const ContextParams& cp,
                          int64_t n_ctx) {
  nlohmann::ordered_json j;
  j["mode"] = args.value("--prompt") ? "raw" : "chat";
  j["n_predict"] = gp.n_predict;
  j["temperature"] = decimal(gp.sampling.temperature);
  j["top_k"] = gp.sampling.top_k;
  j["top_p"] = decimal(gp.sampling.top_p);
  j["min_p"] = decimal(gp.sampling.min_p);
  j["repeat_penalty"] = decimal(gp.sampling.repetition_penalty);
  j["seed"] = gp.sampling.seed;
  j["stop"] = gp.stop_strings;
  j["backend"] = cp.backend;
  j["threads"] = cp.n_threads;
  j["ctx"] = n_ctx;
  return j.dump();
}

/// A session title from the first line of the user's message (at most 60 characters).
std::string default_title(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  size_t cut = 0;
  size_t chars = 0;
  while (cut < line.size() && chars < 60) {
    const auto c = static_cast<unsigned char>(line[cut]);
    cut += c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    ++chars;
  }
  if (cut < line.size()) return line.substr(0, std::min(cut, line.size())) + "…";
  return line.empty() ? std::string("Untitled") : line;
}

}  // namespace

int cmd_generate(const Args& args) {
  args.reject_unknown_options(
      {"-m",        "--model", "--prompt",  "--chat",           "-n",         "--temp",
       "--top-k",   "--top-p", "--min-p",   "--repeat-penalty", "--seed",     "--backend",
       "--threads", "--ctx",   "--routing", "--stop",           "--quiet",    "--db",
       "--session", "--title", "--attach",  "--flush-ms",       "--flush-log"});
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
  const auto raw = args.value("--prompt");
  const auto chat_text = args.value("--chat");
  if (raw.has_value() == chat_text.has_value())
    throw usage_error("generate: give exactly one of --prompt and --chat");
  const std::optional<std::string> db = args.value("--db");
  for (const char* opt : {"--session", "--title", "--flush-ms", "--flush-log"}) {
    if (!db && args.value(opt)) throw usage_error(std::string(opt) + " needs --db");
  }
  Message user;
  user.role = "user";
  user.content = raw ? *raw : *chat_text;
  for (size_t i = 0; i + 1 < args.items().size(); ++i) {
    if (args.items()[i] == "--attach")
      user.attachments.push_back(read_attachment(args.items()[i + 1]));
  }
  if (raw && !user.attachments.empty()) throw usage_error("--attach needs --chat");

  // The store is opened first: a damaged database is reported before any work is done.
  std::optional<SessionRecorder> recorder;
  if (db) {
    recorder.emplace(*db, args.value("--session"));
    if (raw && recorder->history() != nullptr)
      throw usage_error("--session ID continues a chat: use --chat");
    if (const auto ms = args.value("--flush-ms")) {
      const int64_t v = parse_int(*ms, "--flush-ms");
      if (v < 0) throw usage_error("--flush-ms: expected a non-negative integer");
      recorder->set_flush_interval_ms(v);
    }
    if (const auto log = args.value("--flush-log")) recorder->set_flush_log(*log);
  }

  require_readable_file(*model_path);
  const auto model = Model::load(*model_path);
  const Tokenizer tok = Tokenizer::from_gguf(model->file());
  const std::string text =
      prompt_text(args, *model, tok, recorder ? recorder->history() : nullptr, user);
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
  const std::string settings = settings_json(args, gp, cp, n_ctx);
  if (recorder) {
    recorder->start(identify_model(model->file()),
                    args.value("--title").value_or(default_title(user.content)), settings, user,
                    prompt);
  }
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);

  RoutingTrace trace;
  const bool quiet = args.has("--quiet");
  const auto on_prompt = [&](const RoutingBatch& rb, std::span<const int32_t> toks,
                             uint32_t start) {
    if (recorder) recorder->on_prompt(rb, toks, start, tok);
    if (!routing_out || rb.moe_layers.empty()) return;
    std::vector<int32_t> pos(toks.size());
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(start + i);
    trace.append(rb, toks, pos, Modality::text);
  };
  const auto on_token = [&](const TokenEvent& ev) {
    if (recorder) recorder->on_token(ev);
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
  const GenerateResult r = generate(ctx, tok, prompt, gp, on_token, on_prompt, &g_cancel);
  if (recorder) recorder->finish(r, settings);
  if (!quiet) std::fputc('\n', stdout);
  std::fprintf(
      stderr,
      "generate: %u prompt tokens in %.1f ms, %zu tokens in %.1f ms (%.2f tok/s), "
      "first token after %.1f ms, stop: %s\n",
      r.n_prompt, r.prompt_ms, r.tokens.size(), r.generate_ms,
      r.generate_ms > 0 ? 1000.0 * static_cast<double>(r.tokens.size()) / r.generate_ms : 0.0,
      r.first_token_ms, std::string(stop_reason_name(r.reason)).c_str());
  if (recorder) {
    std::fprintf(stderr, "generate: recorded in session %lld (message %lld)\n",
                 static_cast<long long>(recorder->session_id()),
                 static_cast<long long>(recorder->answer_id()));
  }
  if (routing_out) {
    std::ostringstream json;
    write_routing_json(json, trace, [&](int32_t id) { return tok.decode(std::span(&id, 1)); });
    write_file_atomic(*routing_out, json.str());
  }
  return exit_ok;
}

}  // namespace es::cli
