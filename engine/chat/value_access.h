// Interpreter-side access to es::chat::Value internals, and the Callable payload of callable
// values (macros, built-in functions, bound methods).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expertscope/chat_template.h"

namespace es::chat {

namespace detail {
class Evaluator;
struct Stmt;
struct Args;
}  // namespace detail

struct ValueAccess {
  /// A string value without copying the bytes again.
  static Value string(std::shared_ptr<const std::string> s);
  /// A list with depth and namespace flags computed from the items.
  static Value list(std::shared_ptr<const Value::List> items);
  /// A dict whose keys are already known to be distinct.
  static Value dict_unique(Value::Dict entries, bool is_namespace);
  /// The shared string of a string value (null otherwise).
  static const std::shared_ptr<const std::string>& shared_string(const Value& v) { return v.str_; }
  /// Sets an attribute of a namespace in place (seen by every copy).
  static void namespace_set(const Value& ns, const std::string& key, Value value);
};

namespace detail {

/// Arguments of a call, filter or test (after the operand).
struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;

  /// Positional argument i, or the keyword argument `name`, or null.
  [[nodiscard]] const Value* get(size_t i, std::string_view name) const;
};

/// What a callable value runs.
struct Callable {
  enum class Type : uint8_t { unset = 0, builtin, macro, bound_method };
  using BuiltinFn = Value (*)(Evaluator&, Args&);
  Type type = Type::unset;
  std::string name;
  BuiltinFn fn = nullptr;       ///< builtin
  const Stmt* macro = nullptr;  ///< macro (the Program outlives any render)
  Value self;                   ///< bound_method receiver
};

}  // namespace detail
}  // namespace es::chat
