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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/context.h"
#include "expertscope/generate.h"
#include "expertscope/model.h"
#include "expertscope/multimodal.h"
#include "expertscope/projector.h"
#include "expertscope/session.h"
#include "expertscope/store.h"
#include "expertscope/tokenizer.h"

namespace es {

/// What the model sees of a message: each text or document attachment as a text block
/// under a header naming the file (media/document.h; one with Attachment::kept_units only
/// its first pages or lines, under a note saying so), each image or video as
/// media_marker(i) (i counting image and video attachments of the message; replaced by
/// the projected span) — or, with `media_markers` false, as a line naming the file — then
/// the message's text.
[[nodiscard]] std::string message_model_text(const Message& message, bool media_markers = false);
/// The text standing for the i-th image or video attachment of a rendered prompt.
[[nodiscard]] std::string media_marker(size_t i);

/// The prompt text of a conversation (`history` in order, then `user`) rendered with the
/// model's chat template (or a built-in fallback, with a warning in `*warning`). Answers
/// with no text are left out.
[[nodiscard]] std::string render_chat_prompt(const Model& model, const Tokenizer& tokenizer,
                                             const std::vector<Message>& history,
                                             const Message& user, std::string* warning = nullptr);

/// The source of a model's chat template (tokenizer.chat_template; empty when it has none,
/// and a built-in fallback renders its prompts).
[[nodiscard]] std::string chat_template_source(const Model& model);

/// How many positions the prompt of a conversation (`history`, then `user`) takes, counted
/// as build_chat_prompt lays it out — rendered with `chat_template` (the source
/// chat_template_source gives; empty: the fallback) and tokenized, each image or video
/// costing media_token_cost through `projector` (probed, not decoded or projected) — so
/// that a caller without the Model (the workbench's composer) can tell whether the next
/// turn fits its context. Throws es::Error as build_chat_prompt does for an attachment
/// that cannot be read.
[[nodiscard]] uint32_t count_chat_prompt(std::string_view chat_template, const Tokenizer& tokenizer,
                                         const Projector* projector,
                                         const std::vector<Message>& history, const Message& user,
                                         std::string* warning = nullptr);

/// Encoded attachments by the SHA-256 of their content.
using MediaCache = std::map<std::string, std::shared_ptr<const EncodedMedia>>;

/// A turn's prompt: tokens, a reuse key per position (the token id, or for a projected
/// position a key of the attachment's content and row, so that another picture never
/// reuses a cached one), and the projected spans (whose rows `media` keeps alive).
struct ChatPrompt {
  std::vector<int32_t> tokens;
  std::vector<int64_t> keys;
  std::vector<MediaSpan> spans;
  std::vector<std::shared_ptr<const EncodedMedia>> media;
};

/// The prompt of a conversation (`history`, then `user`) as the model reads it: rendered
/// with the chat template (render_chat_prompt) and tokenized, each image or video
/// attachment decoded, projected by `projector` and laid out as its marker and placeholder
/// tokens (multimodal.h). Without a projector, images and videos are named in the text
/// and `*warning` says so. `raw`: the user's text tokenized as it is. Encodings are
/// looked up in and added to `cache` when given.
[[nodiscard]] ChatPrompt build_chat_prompt(const Model& model, const Tokenizer& tokenizer,
                                           const Projector* projector,
                                           const std::vector<Message>& history, const Message& user,
                                           bool raw, std::string* warning,
                                           MediaCache* cache = nullptr);

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
  /// The prompt's routing (positions start .. start + n - 1 of the context) and each
  /// position's modality.
  std::function<void(const RoutingBatch& routing, std::span<const int32_t> tokens, uint32_t start,
                     std::span<const Modality> modalities)>
      on_prompt_routing;
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
  /// The vision projector that turns image and video attachments into model input (none:
  /// they are described to the model by name, with a warning).
  void set_projector(std::shared_ptr<const Projector> projector) {
    projector_ = std::move(projector);
  }
  [[nodiscard]] const Projector* projector() const noexcept { return projector_.get(); }

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
  std::shared_ptr<const Projector> projector_;
  /// What each position the context holds was: its token id, or for a projected position
  /// a key of the attachment's content and the row (so another picture never reuses it).
  std::vector<int64_t> context_keys_;
  /// Encoded attachments by content hash (history is re-rendered every turn).
  MediaCache media_cache_;
};

}  // namespace es
