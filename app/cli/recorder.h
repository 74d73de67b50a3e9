// Private to expertscope-cli: `generate --db` records its exchange in the session store.
//
// Order of writes (nothing is lost, issue 5): the user message and its attachments are
// committed, and the answer created `streaming`, before the prompt is evaluated; the
// prompt's routing is attached to the user message as soon as it is known; the answer's
// text is flushed at least every `flush_interval_ms` (one small transaction each); the
// end writes the final text, state, timings and routing in one transaction.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "expertscope/generate.h"
#include "expertscope/session.h"
#include "expertscope/store.h"
#include "expertscope/tokenizer.h"
#include "expertscope/trace.h"

namespace es::cli {

class SessionRecorder {
 public:
  /// Opens the store. `session` is "new", nothing (also new) or a session id to continue.
  SessionRecorder(const std::filesystem::path& db, const std::optional<std::string>& session);
  ~SessionRecorder();
  SessionRecorder(const SessionRecorder&) = delete;
  SessionRecorder& operator=(const SessionRecorder&) = delete;

  /// The session being continued (its earlier messages), or nullptr for a new one.
  [[nodiscard]] const Session* history() const noexcept { return history_ ? &*history_ : nullptr; }
  /// Every flush and commit is appended to this file as a line ("user ID", "answer ID",
  /// "flush ID BYTES", "finish ID STATE"), written after the commit returns: what a
  /// crash test compares the database with.
  void set_flush_log(const std::filesystem::path& path);
  void set_flush_interval_ms(int64_t ms) noexcept { flush_interval_ms_ = ms; }

  /// Commits the user message (creating the session first when new) and begins the
  /// streaming answer. `prompt` is the whole token sequence about to be evaluated.
  void start(const ModelIdentity& model, const std::string& title, const std::string& settings,
             const Message& user, std::span<const int32_t> prompt);
  /// The prompt's routing: kept for the positions this turn added, stored on the user
  /// message at once.
  void on_prompt(const RoutingBatch& routing, std::span<const int32_t> tokens, uint32_t start,
                 const Tokenizer& tokenizer);
  /// One answer token; flushes the answer when the interval has passed.
  void on_token(const TokenEvent& event);
  /// Writes the final answer.
  void finish(const GenerateResult& result, const std::string& settings);

  [[nodiscard]] int64_t session_id() const noexcept { return session_id_; }
  [[nodiscard]] int64_t answer_id() const noexcept { return answer_id_; }

 private:
  void log(const std::string& line);
  void flush();

  Store store_;
  std::optional<Session> history_;
  int64_t session_id_ = 0;
  int64_t user_id_ = 0;
  int64_t answer_id_ = 0;
  /// Tokens already in the session's context before this turn (the common prefix of the
  /// prompt with what earlier messages' traces hold): their routing is not stored again.
  uint32_t n_known_ = 0;
  std::string text_;
  uint32_t n_tokens_ = 0;
  RoutingTrace answer_trace_;
  std::vector<std::string> answer_texts_;
  std::chrono::steady_clock::time_point last_flush_;
  int64_t flush_interval_ms_ = 1000;
  size_t flushed_bytes_ = 0;
  std::FILE* flush_log_ = nullptr;
};

}  // namespace es::cli
