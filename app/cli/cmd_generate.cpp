// expertscope-cli generate: a prompt (raw, or a chat turn rendered with the model's chat
// template), then sampled tokens streamed to stdout; optionally the routing of every
// position (prompt and answer) as DESIGN.md's routing JSON, and the exchange recorded in
// the session store (--db).
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"
#include "expertscope/chat_session.h"
#include "expertscope/chat_template.h"
#include "expertscope/demo_model.h"
#include "expertscope/document.h"
#include "expertscope/generate.h"
#include "expertscope/media.h"
#include "expertscope/model.h"
#include "expertscope/multimodal.h"
#include "expertscope/projector.h"
#include "expertscope/store.h"
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

/// Raised by SIGINT / SIGTERM: generation stops at the next token and the answer is saved
/// as cancelled.
std::atomic<bool> g_cancel{false};

extern "C" void on_interrupt(int /*signal*/) {
  g_cancel.store(true);
}

/// A file given with --attach: text files (valid UTF-8) become part of the user turn.
/// A file given with --attach (any kind), --image, --video or --file (`want`: the kind
/// the option promises, or unset), checked by its content (media::probe).
Attachment read_attachment(const std::filesystem::path& path, media::Kind want) {
  require_readable_file(path);
  const media::ProbeResult probe = media::probe(path);
  const auto refuse = [&](const char* what) {
    throw Error(ErrorKind::bad_input, path.string() + ": not " + what + " (it is " +
                                          std::string(media::kind_name(probe.kind)) + ")");
  };
  if (want == media::Kind::image && probe.kind != media::Kind::image) refuse("an image");
  if (want == media::Kind::video && probe.kind != media::Kind::video) refuse("a video");
  if (want == media::Kind::text && probe.kind != media::Kind::text &&
      probe.kind != media::Kind::document) {
    refuse("a text file or a PDF");
  }
  if (probe.kind == media::Kind::unknown) {
    throw Error(ErrorKind::unsupported,
                path.string() + ": not an image, video, PDF or UTF-8 text file this build reads");
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error(ErrorKind::io, path.string() + ": cannot be read");
  Attachment a;
  a.file_name = path.filename().string();
  const std::string ext = path.extension().string();
  switch (probe.kind) {
    case media::Kind::image:
      a.kind = "image";
      a.mime_type = "image/" + (probe.codec.empty() ? std::string("unknown") : probe.codec);
      break;
    case media::Kind::video:
      a.kind = "video";
      a.mime_type = "video/" + (probe.container.empty() ? std::string("unknown") : probe.container);
      break;
    case media::Kind::document:
      a.kind = "pdf";
      a.mime_type = "application/pdf";
      break;
    default:
      a.kind = "text";
      a.mime_type = ext == ".md"     ? "text/markdown"
                    : ext == ".csv"  ? "text/csv"
                    : ext == ".json" ? "application/json"
                    : ext == ".html" ? "text/html"
                                     : "text/plain";
      break;
  }
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

}  // namespace

int cmd_generate(const Args& args) {
  args.reject_unknown_options(
      {"-m",        "--model", "--prompt",  "--chat",           "-n",          "--temp",
       "--top-k",   "--top-p", "--min-p",   "--repeat-penalty", "--seed",      "--backend",
       "--threads", "--ctx",   "--routing", "--stop",           "--quiet",     "--db",
       "--session", "--title", "--attach",  "--flush-ms",       "--flush-log", "--image",
       "--video",   "--file",  "--mmproj"});
  std::optional<std::string> model_path = args.value("-m");
  if (!model_path) model_path = args.value("--model");
  if (!model_path) throw usage_error("generate: no model given (-m MODEL)");
  *model_path = resolve_model_name(*model_path).string();  // "demo": the bundled model
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
  cp.backend = args.value("--backend").value_or("auto");
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
    const std::string& opt = args.items()[i];
    const media::Kind want = opt == "--image"   ? media::Kind::image
                             : opt == "--video" ? media::Kind::video
                             : opt == "--file"  ? media::Kind::text
                                                : media::Kind::unset;
    if (opt == "--attach" || want != media::Kind::unset) {
      user.attachments.push_back(read_attachment(args.items()[i + 1], want));
    }
  }
  if (raw && !user.attachments.empty()) {
    throw usage_error("--attach, --image, --video and --file need --chat");
  }

  // The store is opened first: a damaged database is reported before any work is done.
  std::optional<Store> store;
  std::optional<int64_t> session;
  std::FILE* flush_log = nullptr;
  ChatTurnOptions turn;
  turn.raw_prompt = raw.has_value();
  turn.title = args.value("--title").value_or("");
  if (db) {
    store.emplace(*db);
    if (const auto id = args.value("--session"); id && *id != "new") {
      session = parse_int(*id, "--session");
      if (raw) throw usage_error("--session ID continues a chat: use --chat");
      if (!store->has_session(*session))
        throw Error(ErrorKind::bad_input, *db + ": no session " + *id);
    }
    if (const auto ms = args.value("--flush-ms")) {
      turn.flush_interval_ms = parse_int(*ms, "--flush-ms");
      if (turn.flush_interval_ms < 0) throw usage_error("--flush-ms: expected >= 0");
    }
    if (const auto log = args.value("--flush-log")) {
      flush_log = std::fopen(log->c_str(), "a");
      if (flush_log == nullptr) throw Error(ErrorKind::io, *log + ": cannot open");
    }
  }
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> close_log(
      flush_log, [](std::FILE* f) { return f != nullptr ? std::fclose(f) : 0; });

  require_readable_file(*model_path);
  const auto model = Model::load(*model_path);
  // The vision projector: --mmproj, else one beside the model.
  std::shared_ptr<const Projector> projector;
  const std::filesystem::path mmproj = args.value("--mmproj").has_value()
                                           ? std::filesystem::path(*args.value("--mmproj"))
                                           : Projector::find_beside(*model_path);
  if (!mmproj.empty()) {
    require_readable_file(mmproj);
    projector = Projector::load(mmproj, *model);
  }
  int64_t n_ctx = 0;  // 0: fit the prompt and n_predict
  if (const auto c = args.value("--ctx")) {
    n_ctx = parse_int(*c, "--ctx");
    if (n_ctx <= 0 || n_ctx > (int64_t{1} << 24)) throw usage_error("--ctx: out of range");
  }
  cp.n_ctx = static_cast<uint32_t>(n_ctx);
  turn.generate = gp;
  turn.settings_json = settings_json(args, gp, cp, n_ctx);

  RoutingTrace trace;
  const bool quiet = args.has("--quiet");
  ChatTurnEvents events;
  events.on_prompt_routing = [&](const RoutingBatch& rb, std::span<const int32_t> toks,
                                 uint32_t start, std::span<const Modality> modalities) {
    if (!routing_out || rb.moe_layers.empty()) return;
    std::vector<int32_t> pos(toks.size());
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(start + i);
    trace.append(rb, toks, pos, modalities);
  };
  events.on_token = [&](const TokenEvent& ev) {
    if (!quiet && !ev.text.empty()) {  // a token may add no text yet (a partial character)
      std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
      std::fflush(stdout);
    }
    if (routing_out && ev.routing != nullptr && !ev.routing->moe_layers.empty()) {
      const int32_t pos = static_cast<int32_t>(ev.pos);
      trace.append(*ev.routing, std::span(&ev.token, 1), std::span(&pos, 1), Modality::text);
    }
    return true;
  };
  events.on_commit = [&](const std::string& line) {
    if (flush_log == nullptr) return;
    std::fputs((line + "\n").c_str(), flush_log);
    std::fflush(flush_log);
  };
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);

  ChatTurnResult turn_result;
  std::optional<ChatRunner> runner;
  std::optional<Tokenizer> own_tokenizer;
  const Tokenizer* tokenizer = nullptr;
  if (store) {
    runner.emplace(*store, model, cp);
    runner->set_projector(projector);
    tokenizer = &runner->tokenizer();
    turn_result = runner->run_turn(session, user, turn, events, &g_cancel);
    if (runner->context() != nullptr) report_backend(*runner->context());
  } else {
    // Not recorded: the same prompt and generation without a store.
    own_tokenizer.emplace(Tokenizer::from_gguf(model->file()));
    tokenizer = &*own_tokenizer;
    const ChatPrompt built = build_chat_prompt(*model, *tokenizer, projector.get(), {}, user,
                                               raw.has_value(), &turn_result.prompt_warning);
    const std::vector<int32_t>& prompt = built.tokens;
    const std::vector<Modality> modalities =
        position_modalities(static_cast<uint32_t>(prompt.size()), built.spans);
    if (cp.n_ctx == 0) cp.n_ctx = static_cast<uint32_t>(prompt.size() + gp.n_predict + 1);
    if (prompt.size() >= cp.n_ctx) {
      throw Error(ErrorKind::bad_input, "the prompt has " + std::to_string(prompt.size()) +
                                            " tokens, more than the context of " +
                                            std::to_string(cp.n_ctx) + " can hold");
    }
    Context ctx(model, cp);
    report_backend(ctx);
    const auto on_prompt = [&](const RoutingBatch& rb, std::span<const int32_t> toks,
                               uint32_t start) {
      events.on_prompt_routing(rb, toks, start,
                               std::span<const Modality>(modalities.data() + start, toks.size()));
    };
    turn_result.generation =
        generate(ctx, *tokenizer, prompt, gp, events.on_token, on_prompt, &g_cancel, built.spans);
  }
  if (!turn_result.prompt_warning.empty()) {
    std::fprintf(stderr, "warning: %s\n", turn_result.prompt_warning.c_str());
  }
  const GenerateResult& r = turn_result.generation;
  if (!quiet) std::fputc('\n', stdout);
  std::fprintf(
      stderr,
      "generate: %u prompt tokens in %.1f ms, %zu tokens in %.1f ms (%.2f tok/s), "
      "first token after %.1f ms, stop: %s\n",
      r.n_prompt, r.prompt_ms, r.tokens.size(), r.generate_ms,
      r.generate_ms > 0 ? 1000.0 * static_cast<double>(r.tokens.size()) / r.generate_ms : 0.0,
      r.first_token_ms, std::string(stop_reason_name(r.reason)).c_str());
  if (store) {
    std::fprintf(stderr, "generate: recorded in session %lld (message %lld)\n",
                 static_cast<long long>(turn_result.session_id),
                 static_cast<long long>(turn_result.answer_message_id));
  }
  if (routing_out) {
    std::ostringstream json;
    write_routing_json(json, trace,
                       [&](int32_t id) { return tokenizer->decode(std::span(&id, 1)); });
    write_file_atomic(*routing_out, json.str());
  }
  return exit_ok;
}

}  // namespace es::cli
