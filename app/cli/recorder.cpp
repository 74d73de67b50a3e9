// `generate --db`: the exchange recorded in the session store (recorder.h).
#include "recorder.h"

#include <unistd.h>

#include "cli.h"

namespace es::cli {

namespace {

/// The token sequence the session's context held after its last turn: every stored
/// trace's token ids written at their positions, in message order (each turn re-evaluates
/// from position 0, so later messages overwrite what they re-evaluated).
std::vector<int32_t> known_context(const Session& session) {
  std::vector<int32_t> ids;
  for (const Message& m : session.messages) {
    if (!m.trace) continue;
    for (uint32_t t = 0; t < m.trace->n_tokens(); ++t) {
      const auto pos = static_cast<size_t>(m.trace->position(t));
      if (pos > ids.size()) break;  // a gap: what follows is not known
      if (pos == ids.size()) ids.push_back(m.trace->token_id(t));
      ids[pos] = m.trace->token_id(t);
      ids.resize(pos + 1);
    }
  }
  return ids;
}

}  // namespace

SessionRecorder::SessionRecorder(const std::filesystem::path& db,
                                 const std::optional<std::string>& session)
    : store_(db) {
  if (session && *session != "new") {
    const int64_t id = parse_int(*session, "--session");
    if (!store_.has_session(id)) {
      throw Error(ErrorKind::bad_input, db.string() + ": no session " + *session);
    }
    history_ = store_.load_session(id);
    session_id_ = id;
  }
}

SessionRecorder::~SessionRecorder() {
  if (flush_log_ != nullptr) std::fclose(flush_log_);
}

void SessionRecorder::set_flush_log(const std::filesystem::path& path) {
  flush_log_ = std::fopen(path.c_str(), "a");
  if (flush_log_ == nullptr) throw Error(ErrorKind::io, path.string() + ": cannot open");
}

void SessionRecorder::log(const std::string& line) {
  if (flush_log_ == nullptr) return;
  std::fputs((line + "\n").c_str(), flush_log_);
  std::fflush(flush_log_);
}

void SessionRecorder::start(const ModelIdentity& model, const std::string& title,
                            const std::string& settings, const Message& user,
                            std::span<const int32_t> prompt) {
  if (history_) {
    const std::vector<int32_t> known = known_context(*history_);
    while (n_known_ < known.size() && n_known_ < prompt.size() &&
           known[n_known_] == prompt[n_known_]) {
      ++n_known_;
    }
    if (history_->model && history_->model->content_hash != model.content_hash) {
      std::fprintf(stderr, "warning: session %lld was recorded with %s; continuing with %s\n",
                   static_cast<long long>(session_id_), history_->model->name.c_str(),
                   model.name.c_str());
    }
  } else {
    session_id_ = store_.create_session(title, model, settings);
  }
  Message turn = user;
  turn.n_tokens = static_cast<uint32_t>(prompt.size()) - n_known_;  // what this turn added
  user_id_ = store_.add_message(session_id_, turn);
  log("user " + std::to_string(user_id_));
  answer_id_ = store_.begin_message(session_id_, settings);
  log("answer " + std::to_string(answer_id_));
  last_flush_ = std::chrono::steady_clock::now();
}

void SessionRecorder::on_prompt(const RoutingBatch& routing, std::span<const int32_t> tokens,
                                uint32_t start, const Tokenizer& tokenizer) {
  if (routing.moe_layers.empty() || routing.n_tokens != tokens.size()) return;
  // Token texts are decoded over the whole prompt so that characters split across
  // tokens land on the token that completes them.
  StreamingDecoder decoder(tokenizer);
  std::vector<std::string> texts;
  texts.reserve(tokens.size());
  for (const int32_t id : tokens) texts.push_back(decoder.push(id));
  const uint32_t first = n_known_ > start ? n_known_ - start : 0;
  if (first >= tokens.size()) return;
  const uint32_t n = static_cast<uint32_t>(tokens.size()) - first;
  std::vector<int32_t> positions(n);
  for (uint32_t i = 0; i < n; ++i) positions[i] = static_cast<int32_t>(start + first + i);
  std::vector<int32_t> all_positions(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) all_positions[i] = static_cast<int32_t>(start + i);
  RoutingTrace all;
  all.append(routing, tokens, all_positions, Modality::text);
  RoutingTrace kept;
  kept.append(all.batch(TokenRange{first, static_cast<uint32_t>(tokens.size())}),
              tokens.subspan(first), positions, Modality::text);
  store_.set_trace(user_id_, kept, std::span(texts).subspan(first));
  log("prompt-trace " + std::to_string(user_id_) + " " + std::to_string(n));
}

void SessionRecorder::on_token(const TokenEvent& event) {
  text_.append(event.text);
  ++n_tokens_;
  if (event.routing != nullptr && !event.routing->moe_layers.empty()) {
    const auto pos = static_cast<int32_t>(event.pos);
    answer_trace_.append(*event.routing, std::span(&event.token, 1), std::span(&pos, 1),
                         Modality::text);
    answer_texts_.emplace_back(event.text);
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - last_flush_ >= std::chrono::milliseconds(flush_interval_ms_)) flush();
}

void SessionRecorder::flush() {
  store_.flush_message(answer_id_, text_, n_tokens_);
  flushed_bytes_ = text_.size();
  last_flush_ = std::chrono::steady_clock::now();
  log("flush " + std::to_string(answer_id_) + " " + std::to_string(flushed_bytes_));
}

void SessionRecorder::finish(const GenerateResult& result, const std::string& settings) {
  Message m;
  m.role = "assistant";
  m.content = result.text;
  m.state =
      result.reason == StopReason::cancelled ? MessageState::cancelled : MessageState::complete;
  m.n_tokens = static_cast<uint32_t>(result.tokens.size());
  m.timings.prompt_ms = result.prompt_ms;
  m.timings.generate_ms = result.generate_ms;
  m.timings.first_token_ms = result.first_token_ms;
  m.stop_reason = std::string(stop_reason_name(result.reason));
  m.settings_json = settings;
  if (answer_trace_.has_shape()) {
    m.trace = std::move(answer_trace_);
    m.token_texts = std::move(answer_texts_);
  }
  store_.finish_message(answer_id_, m);
  log("finish " + std::to_string(answer_id_) + " " + std::string(message_state_name(m.state)));
}

}  // namespace es::cli
