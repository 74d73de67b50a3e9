// Chat turns recorded in the session store: the one implementation of "send a message"
// that the CLI (`generate --db`) and the workbench share.
//
// Order of writes (nothing is lost): the user message and its attachments are committed,
// and the answer created `streaming`, before the prompt is evaluated; the prompt's routing
// is attached to the user message as soon as it is known; the answer's text is flushed at
// least every `flush_interval_ms` (one small transaction each); the end writes the final
// text, state (complete or cancelled), timings and routing in one transaction.
//
// A ChatRunner keeps one Context across turns and reuses its KV cache: each turn's prompt
// (the whole conversation rendered with the model's chat template) shares a prefix with
// what the context already holds, and only the rest is evaluated.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "expertscope/context.h"
#include "expertscope/generate.h"
#include "expertscope/model.h"
#include "expertscope/session.h"
#include "expertscope/store.h"
#include "expertscope/tokenizer.h"

namespace es {

/// What the model sees of a message: each text attachment framed by its file name, then
/// the message's text.
[[nodiscard]] std::string message_model_text(const Message& message);

/// The prompt text of a conversation (`history` in order, then `user`) rendered with the
/// model's chat template (or a built-in fallback, with a warning in `*warning`). Answers
/// with no text are left out.
[[nodiscard]] std::string render_chat_prompt(const Model& model, const Tokenizer& tokenizer,
                                             const std::vector<Message>& history,
                                             const Message& user, std::string* warning = nullptr);

/// How to run one turn.
struct ChatTurnOptions {
  GenerateParams generate;
  /// The generation settings as a JSON object text, stored with the answer (and with a
  /// new session).
  std::string settings_json = "{}";
  /// Title of a new session; empty: the first line of the user's message.
  std::string title;
  /// Flush the streaming answer at least this often (0: after every token).
  int64_t flush_interval_ms = 1000;
  /// Raw mode: `user.content` is the whole prompt (no template, no history).
  bool raw_prompt = false;
};

/// What a turn reports while it runs (all on the calling thread).
struct ChatTurnEvents {
  /// The user message is committed and the answer begun.
  std::function<void(int64_t session_id, int64_t user_message_id, int64_t answer_message_id)>
      on_started;
  /// The prompt's routing (positions start .. start + n - 1 of the context).
  PromptRoutingCallback on_prompt_routing;
  /// Each generated token after it is recorded; return false to stop (cancelled).
  TokenCallback on_token;
  /// Each commit, for tests and logs: "user ID", "answer ID", "prompt-trace ID N",
  /// "flush ID BYTES", "finish ID STATE".
  std::function<void(const std::string& line)> on_commit;
};

/// What a turn did.
struct ChatTurnResult {
  int64_t session_id = 0;
  int64_t user_message_id = 0;
  int64_t answer_message_id = 0;
  uint32_t n_prompt_tokens = 0;  ///< The whole rendered prompt.
  uint32_t n_reused_tokens = 0;  ///< Of those, already in the KV cache (not evaluated).
  std::string prompt_warning;    ///< A chat-template fallback warning, if any.
  GenerateResult generation;
};

/// Runs chat turns of sessions of one store with one model and one context. Not
/// thread-safe: one thread (the CLI's main thread, the workbench's engine thread).
class ChatRunner {
 public:
  /// The store must outlive the runner. The context is created at the first turn;
  /// `params.n_ctx` 0 sizes it for that turn (prompt + n_predict), and a later turn that
  /// does not fit then gets a larger one.
  ChatRunner(Store& store, std::shared_ptr<const Model> model, const ContextParams& params);
  ~ChatRunner();
  ChatRunner(const ChatRunner&) = delete;
  ChatRunner& operator=(const ChatRunner&) = delete;

  [[nodiscard]] const Model& model() const noexcept { return *model_; }
  [[nodiscard]] const Tokenizer& tokenizer() const noexcept { return tokenizer_; }
  /// The context (nullptr before the first turn).
  [[nodiscard]] Context* context() noexcept { return context_.get(); }
  [[nodiscard]] const ModelIdentity& model_identity() const noexcept { return identity_; }

  /// Runs one turn of session `session_id` (nothing: a new session). Throws es::Error for
  /// an unknown session, a prompt longer than the context, a store failure — before
  /// anything is written where it can be (the prompt is rendered and tokenized first).
  /// `cancel` is honoured between tokens; a cancelled answer is stored `cancelled`.
  ChatTurnResult run_turn(std::optional<int64_t> session_id, const Message& user,
                          const ChatTurnOptions& options, const ChatTurnEvents& events = {},
                          const std::atomic<bool>* cancel = nullptr);

 private:
  Store* store_;
  std::shared_ptr<const Model> model_;
  Tokenizer tokenizer_;
  ModelIdentity identity_;
  ContextParams params_;
  std::unique_ptr<Context> context_;
  /// The tokens the context holds, in order (context_->n_past() of them).
  std::vector<int32_t> context_tokens_;
};

}  // namespace es
