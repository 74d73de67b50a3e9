// Sessions as plain values: a conversation with a model, its messages, their attachments
// and the routing of every token. The store (store.h) saves and loads them; the exporters
// (transcript.h) turn them into Markdown, HTML, JSON, CSV and NumPy files. Nothing here
// touches a database or a file except identify_model().
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/trace.h"

namespace es {

namespace gguf {
class File;
}

/// Where a message is in its life. Zero means "unset".
enum class MessageState : uint8_t {
  unset = 0,
  complete = 1,     ///< Written in full (every user message; an answer that ended normally).
  streaming = 2,    ///< An answer being generated; its text is flushed as it grows.
  interrupted = 3,  ///< Found `streaming` when the store was next opened: the program died.
  cancelled = 4,    ///< The user stopped the answer; its text so far is kept.
};
/// "complete", "streaming", "interrupted", "cancelled" ("unset" for anything else).
[[nodiscard]] std::string_view message_state_name(MessageState state) noexcept;
/// The state of a name message_state_name gives; nothing for any other text.
[[nodiscard]] std::optional<MessageState> parse_message_state(std::string_view name) noexcept;

/// Which model file a session ran: enough to recognise it again (by its content hash)
/// and to tell the user what it was when the file has moved.
struct ModelIdentity {
  std::string path;          ///< Absolute path when it was used.
  uint64_t file_size = 0;    ///< Bytes.
  std::string content_hash;  ///< SHA-256 (64 lower-case hex digits) of the header and tensor table.
  std::string arch;          ///< general.architecture, e.g. "deepseek2".
  std::string name;          ///< general.name, or the file name when the metadata has none.

  bool operator==(const ModelIdentity&) const = default;
};

/// The identity of an open GGUF file: SHA-256 over its bytes before the tensor data (the
/// header, every metadata value and the tensor table), so two copies of one model match
/// wherever they are and re-quantising or editing metadata gives a new identity. Reads
/// only what the mapping already holds.
[[nodiscard]] ModelIdentity identify_model(const gguf::File& file);

/// SHA-256 of `bytes` as 64 lower-case hex digits.
[[nodiscard]] std::string sha256_hex(std::span<const uint8_t> bytes);

/// A file the user attached to a message. Its bytes are stored once per content
/// (content-addressed by SHA-256) however many messages attach them.
struct Attachment {
  std::string kind;       ///< "text", "image", "video", "pdf" or "file".
  std::string file_name;  ///< Base name as the user had it (no directories).
  std::string mime_type;  ///< e.g. "text/plain", "image/png".
  std::string sha256;     ///< Of `data`; filled by the store when empty.
  uint64_t size = 0;      ///< Bytes of the content.
  /// The content; empty when loaded without data (Store::LoadOptions).
  std::vector<uint8_t> data;
  /// A text or PDF attachment the user cut to fit the context: only its first
  /// `kept_units` units (pages of a PDF, lines of a text file) reach the model, under a
  /// note saying so (media::truncate_document). `data` keeps the whole original. 0: the
  /// whole document.
  uint32_t kept_units = 0;

  bool operator==(const Attachment&) const = default;
};

/// How long producing a message took (milliseconds; 0 when not measured).
struct MessageTimings {
  double prompt_ms = 0;       ///< Evaluating the prompt that led to this answer.
  double generate_ms = 0;     ///< Generating the answer after the prompt.
  double first_token_ms = 0;  ///< From the request to the first answer token.

  bool operator==(const MessageTimings&) const = default;
};

/// One message of a session.
struct Message {
  int64_t id = 0;    ///< Row id in the store; 0 for a message not stored yet.
  std::string role;  ///< "system", "user" or "assistant".
  std::string content;
  MessageState state = MessageState::complete;
  uint32_t n_tokens = 0;    ///< Tokens of this message (the answer's generated tokens).
  MessageTimings timings;   ///< For answers.
  std::string stop_reason;  ///< Why an answer ended (stop_reason_name), "" otherwise.
  /// The generation settings of an answer (sampling, length, backend) as a JSON object
  /// text; "{}" when there are none.
  std::string settings_json = "{}";
  int64_t created_ms = 0;  ///< Unix time in milliseconds (UTC).
  int64_t updated_ms = 0;
  std::vector<Attachment> attachments;
  /// The routing of this message's tokens: for a user message the prompt tokens its turn
  /// added to the context, for an answer the generated tokens. Absent when not recorded.
  std::optional<RoutingTrace> trace;
  /// The text of each token of `trace` (valid UTF-8; a token that ends inside a character
  /// has "" and the token completing the character carries it): same count as the trace
  /// has tokens, or empty when unknown.
  std::vector<std::string> token_texts;
};

/// Two messages are equal when every field is, the routing traces compared by their
/// serialised bytes.
[[nodiscard]] bool same_message(const Message& a, const Message& b);

/// A conversation.
struct Session {
  int64_t id = 0;  ///< Row id in the store; 0 for a session not stored yet.
  std::string title;
  std::optional<ModelIdentity> model;
  /// The session's generation settings as a JSON object text ("{}" when none).
  std::string settings_json = "{}";
  int64_t created_ms = 0;  ///< Unix time in milliseconds (UTC).
  int64_t updated_ms = 0;
  std::vector<Message> messages;
};

/// Every field of two sessions is equal (message by message, as same_message), ids
/// (session, message) excepted when `compare_ids` is false — an imported copy of a
/// session has new ids and is otherwise the same.
[[nodiscard]] bool same_session(const Session& a, const Session& b, bool compare_ids = true);

/// The current time as Unix milliseconds.
[[nodiscard]] int64_t unix_time_ms() noexcept;

/// "2026-11-29T06:40:19.123Z" for Unix milliseconds.
[[nodiscard]] std::string format_iso8601_ms(int64_t unix_ms);
/// The Unix milliseconds of a timestamp format_iso8601_ms writes (also accepting no
/// fraction, or a "+00:00" zone); nothing for anything else.
[[nodiscard]] std::optional<int64_t> parse_iso8601_ms(std::string_view text) noexcept;

}  // namespace es
