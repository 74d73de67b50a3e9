// Chat templates: a Jinja-subset interpreter for the `chat_template` models ship.
//
// A model's tokenizer_config.json (and GGUF key `tokenizer.chat_template`) carries a Jinja2
// template that turns a conversation into the model's prompt text. Hugging Face renders it
// with Python's jinja2 in a sandbox (trim_blocks and lstrip_blocks on, `raise_exception`,
// `strftime_now`, loop controls); this module does the same in C++: a lexer, a parser to an
// AST and an evaluator, with jinja2's semantics for undefined values (they print as nothing,
// are false, iterate as empty, and `is defined` tells them apart).
//
// A construct the interpreter lacks is an es::Error of kind `unsupported` that names it
// ("chat template line 12: filter \"wordwrap\" is not supported"); a malformed template is an
// es::Error of kind `bad_input` with its line and column. render_or_fallback() renders with
// the model's template when it can and otherwise with a named built-in template, returning a
// warning the caller shows. Evaluation is bounded (output size, steps, nesting, allocation),
// so a hostile template gets an error, never a hang or an exhausted machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expertscope/error.h"

namespace es::chat {

namespace detail {
struct Callable;
struct Program;
}  // namespace detail

/// A template value: undefined, none, bool, int, float, string, list, dict (insertion
/// ordered), or callable (a macro or built-in function). Strings are UTF-8. Lists and
/// dicts are shared on copy and copied on write; a namespace() dict is shared on purpose
/// (assignments through `set ns.attr` are seen by every holder).
class Value {
 public:
  /// What a value holds. Zero is `undefined`, jinja2's missing value.
  enum class Kind : uint8_t {
    undefined = 0,
    none = 1,
    boolean = 2,
    integer = 3,
    floating = 4,
    string = 5,
    list = 6,
    dict = 7,
    callable = 8,
  };
  using List = std::vector<Value>;
  using Dict = std::vector<std::pair<Value, Value>>;  ///< Key/value pairs in insertion order.

  /// The undefined value.
  Value() = default;
  /// None (Python's None, JSON null).
  Value(std::nullptr_t) : kind_(Kind::none) {}
  Value(bool v) : kind_(Kind::boolean), int_(v ? 1 : 0) {}
  Value(int v) : kind_(Kind::integer), int_(v) {}
  Value(int64_t v) : kind_(Kind::integer), int_(v) {}
  Value(double v) : kind_(Kind::floating), float_(v) {}
  Value(std::string v);
  Value(std::string_view v) : Value(std::string(v)) {}
  Value(const char* v) : Value(std::string(v)) {}

  /// A list of items.
  static Value list(List items);
  /// A dict with the given entries (later duplicates of a key replace earlier ones).
  static Value dict(Dict entries);
  /// A dict with string keys, in the given order.
  static Value dict(std::vector<std::pair<std::string, Value>> entries);
  /// A namespace object as `namespace(...)` makes: a dict whose attributes can be assigned.
  static Value make_namespace(Dict entries);
  /// A built-in or macro; used by the interpreter.
  static Value callable(std::shared_ptr<const detail::Callable> fn);
  /// Parses JSON (objects keep their key order). Throws es::Error (bad_input) naming
  /// `what` and the problem; nesting deeper than 256 levels is refused.
  static Value from_json(std::string_view json, std::string_view what = "JSON");

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] bool is_undefined() const noexcept { return kind_ == Kind::undefined; }
  [[nodiscard]] bool is_none() const noexcept { return kind_ == Kind::none; }
  [[nodiscard]] bool is_string() const noexcept { return kind_ == Kind::string; }
  [[nodiscard]] bool is_list() const noexcept { return kind_ == Kind::list; }
  [[nodiscard]] bool is_dict() const noexcept { return kind_ == Kind::dict; }
  /// True for int and float (booleans are kept apart).
  [[nodiscard]] bool is_number() const noexcept {
    return kind_ == Kind::integer || kind_ == Kind::floating;
  }
  /// A dict made by namespace().
  [[nodiscard]] bool is_namespace() const noexcept { return is_namespace_; }

  /// The boolean (kind boolean), else false.
  [[nodiscard]] bool as_bool() const noexcept { return kind_ == Kind::boolean && int_ != 0; }
  /// The integer (kind integer or boolean), else 0.
  [[nodiscard]] int64_t as_int() const noexcept;
  /// The number as a double (integer, floating or boolean), else 0.
  [[nodiscard]] double as_double() const noexcept;
  /// The string (kind string), else an empty string.
  [[nodiscard]] const std::string& as_string() const noexcept;
  /// The items (kind list), else an empty list.
  [[nodiscard]] const List& as_list() const noexcept;
  /// The entries (kind dict), else an empty dict.
  [[nodiscard]] const Dict& as_dict() const noexcept;
  /// The callable (kind callable), else null.
  [[nodiscard]] const std::shared_ptr<const detail::Callable>& as_callable() const noexcept {
    return fn_;
  }

  /// The dict entry for a string key, or undefined (also when this is not a dict).
  [[nodiscard]] Value get(std::string_view key) const;
  /// Sets a dict entry (replacing one with an equal key); turns an undefined value into a
  /// dict first. Throws es::Error (usage) on other kinds.
  void set(Value key, Value value);
  /// Appends to a list; turns an undefined value into a list first. Throws es::Error (usage)
  /// on other kinds.
  void push_back(Value item);

  /// Nesting depth: 0 for scalars, 1 + the deepest item for lists and dicts.
  [[nodiscard]] uint32_t depth() const noexcept;
  /// True if this is, or contains, a namespace object.
  [[nodiscard]] bool holds_namespace() const noexcept;

  /// Python truthiness: undefined, none, false, 0, 0.0, "", [] and {} are false.
  [[nodiscard]] bool truthy() const noexcept;
  /// Python equality (1 == 1.0 == True; dicts compare regardless of order; undefined equals
  /// only undefined).
  bool operator==(const Value& other) const;

  /// The text `{{ value }}` prints: "" for undefined, "None", "True", 3, 0.5, and Python
  /// reprs for lists and dicts (['a', 1]).
  [[nodiscard]] std::string str() const;
  /// Python repr(): strings quoted.
  [[nodiscard]] std::string repr() const;
  /// JSON as Hugging Face's `tojson` writes it (json.dumps with ensure_ascii=False): items
  /// separated by ", " and keys by ": " without indent; with indent >= 0, one item a line.
  /// Throws es::Error (bad_input) for undefined or callable values.
  [[nodiscard]] std::string to_json(int indent = -1, bool sort_keys = false) const;

 private:
  Kind kind_ = Kind::undefined;
  bool is_namespace_ = false;
  bool holds_namespace_ = false;
  uint32_t depth_ = 0;
  int64_t int_ = 0;
  double float_ = 0;
  std::shared_ptr<const std::string> str_;
  std::shared_ptr<const List> list_;
  std::shared_ptr<Dict> dict_;  ///< Mutable through a namespace only.
  std::shared_ptr<const detail::Callable> fn_;
  friend struct ValueAccess;
};

/// One turn of a conversation, as the template sees it: a dict with `role`, `content`, and
/// when present `reasoning_content`, `tool_calls` and every entry of `extra`.
struct ChatMessage {
  std::string role;  ///< "system", "user", "assistant", "tool", ...
  /// Usually a string; none for an assistant turn that only calls tools; or a list of parts
  /// ({"type": "text", "text": ...}) for multimodal content.
  Value content = Value(std::string());
  /// The assistant's thinking, for templates that render it (Qwen3).
  std::optional<std::string> reasoning_content;
  /// Undefined when absent; else a list of {"type": "function", "function": {"name": ...,
  /// "arguments": ...}, "id": ...} dicts.
  Value tool_calls;
  /// Further fields (tool_call_id, name, ...), in order.
  std::vector<std::pair<std::string, Value>> extra;

  /// A plain text turn.
  static ChatMessage text(std::string role, std::string content);
  /// The dict the template sees.
  [[nodiscard]] Value to_value() const;
};

/// Everything a chat template is rendered with.
struct ChatContext {
  std::vector<ChatMessage> messages;
  bool add_generation_prompt = false;  ///< End with the assistant's turn header.
  std::string bos_token;               ///< The model's BOS text ("<|begin_of_text|>"), or "".
  std::string eos_token;               ///< The model's EOS text, or "".
  /// Further variables: tools, documents, enable_thinking, pad_token, ... A name given here
  /// replaces the one above; `tools` and `documents` are none unless given, as Hugging Face
  /// passes them.
  std::vector<std::pair<std::string, Value>> extra;
};

/// Bounds on one render; exceeding one is an es::Error (bad_input) that says which.
struct RenderLimits {
  size_t max_output_bytes = size_t{16} << 20;  ///< Of the result and of any one string.
  uint64_t max_steps = 20'000'000;             ///< Statements, expressions and loop items.
  uint32_t max_depth = 200;                    ///< Macro calls nested, and value nesting.
  /// Bytes of strings and containers made during the render, added up (freed or not): a
  /// bound on work and, since nothing is kept that was not counted, on memory.
  uint64_t max_alloc_bytes = uint64_t{2} << 30;
};

/// The template raised an error on purpose (raise_exception): the conversation does not
/// suit this model. what() is "chat template line N: " and the template's message
/// ("... Conversation roles must alternate user/assistant/user/assistant/...").
class TemplateRaised : public es::Error {
 public:
  explicit TemplateRaised(const std::string& message) : es::Error(ErrorKind::bad_input, message) {}
};

/// A parsed template. Cheap to copy (the AST is shared and immutable); render() may run
/// concurrently on the same template.
class ChatTemplate {
 public:
  /// Parses a template. Throws es::Error: bad_input for a syntax error ("chat template line
  /// 3, column 14: expected 'endif'"), unsupported for a construct this interpreter lacks.
  static ChatTemplate parse(std::string_view source);

  /// Renders a conversation. Throws TemplateRaised when the template calls raise_exception,
  /// es::Error (unsupported) for a filter, test, method or function it lacks, and es::Error
  /// (bad_input) for a type error or an exceeded limit, each with the template line.
  [[nodiscard]] std::string render(const ChatContext& context,
                                   const RenderLimits& limits = {}) const;
  /// Renders with exactly these variables (messages, add_generation_prompt, ...).
  [[nodiscard]] std::string render(const std::vector<std::pair<std::string, Value>>& variables,
                                   const RenderLimits& limits = {}) const;

 private:
  std::shared_ptr<const detail::Program> program_;
};

/// Names of the built-in templates: "chatml", "llama3", "mistral", "qwen3", "deepseek-v3".
[[nodiscard]] std::vector<std::string_view> builtin_template_names();
/// The source of a built-in template. Throws es::Error (usage) for an unknown name, listing
/// the known ones.
[[nodiscard]] std::string_view builtin_template(std::string_view name);
/// The built-in template closest to a template's markers (<|im_start|> → "chatml",
/// <|start_header_id|> → "llama3", [INST] → "mistral", ...), "chatml" when none matches.
[[nodiscard]] std::string_view guess_builtin_template(std::string_view source);

/// What render_or_fallback() produced.
struct RenderOutcome {
  std::string text;                    ///< The prompt.
  std::string template_name;           ///< "model", or the built-in used instead.
  std::optional<std::string> warning;  ///< Set when a built-in stood in; show it to the user.
};

/// Renders with the model's template; if it is empty, cannot be parsed, or uses something
/// this interpreter lacks, renders with the built-in `fallback` (empty: guessed from the
/// source's markers) and says why in `warning`. TemplateRaised (the template refused the
/// conversation) and errors of the built-in itself propagate.
[[nodiscard]] RenderOutcome render_or_fallback(std::string_view source, const ChatContext& context,
                                               std::string_view fallback = {},
                                               const RenderLimits& limits = {});

}  // namespace es::chat
