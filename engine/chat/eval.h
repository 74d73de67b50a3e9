// The chat template evaluator: walks the AST with jinja2's scoping (a for-loop iteration,
// a macro call and a with-block each get their own frame; `set` writes to the innermost
// one), and enforces the RenderLimits on every step, string, container and call.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ast.h"
#include "expertscope/chat_template.h"
#include "value_access.h"

namespace es::chat::detail {

/// How a statement list ended.
enum class Flow : uint8_t { normal = 0, break_, continue_ };

class Evaluator {
 public:
  explicit Evaluator(const RenderLimits& limits) : limits_(limits) {}

  /// Renders a program with these variables (built-in globals are added beneath them).
  std::string render(const Program& program,
                     const std::vector<std::pair<std::string, Value>>& variables);

  // Services for filters, tests, methods and globals. All throw es::Error with the line of
  // the expression being evaluated.
  /// Counts work; too much is an error.
  void tick(uint64_t n = 1);
  /// A string result, checked against the size limits.
  Value make_string(std::string s);
  /// A list result, checked against the nesting and allocation limits.
  Value make_list(Value::List items);
  /// A dict result with distinct keys, checked likewise.
  Value make_dict(Value::Dict entries, bool is_namespace = false);
  /// Checks that a string of `n` bytes may be made (before building it).
  void check_size(uint64_t n_bytes);
  /// Counts bytes allocated by the render; too many is an error.
  void charge(uint64_t bytes);
  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void unsupported(const std::string& what) const;
  /// Calls a macro, built-in or bound method.
  Value call(const Value& fn, Args& args);
  /// Applies a filter / test by name (the parser checked that it exists).
  Value filter(std::string_view name, const Value& input, Args& args);
  bool test(std::string_view name, const Value& input, Args& args);
  /// The attribute `obj.name` and the item `obj[key]`, with jinja2's fallbacks.
  Value attribute(const Value& obj, const std::string& name);
  Value item(const Value& obj, const Value& key);
  /// The items a for-loop (or a filter) iterates: list items, dict keys, string characters.
  Value::List iterate(const Value& v);
  uint32_t line() const { return line_; }
  const RenderLimits& limits() const { return limits_; }

 private:
  struct Frame {
    std::vector<std::pair<std::string, Value>> vars;
  };
  const RenderLimits& limits_;
  std::vector<Frame> frames_;
  size_t base_ = 0;  ///< First frame of the current macro call (frame 0 is global).
  std::string* out_ = nullptr;
  uint64_t steps_ = 0;
  uint64_t alloc_bytes_ = 0;
  uint32_t nesting_ = 0;
  uint32_t calls_ = 0;
  uint32_t line_ = 0;

  friend class Nest;

  // Scopes.
  const Value* lookup(std::string_view name) const;
  void assign(const std::string& name, Value v);

  // Statements (eval.cpp).
  Flow exec_body(const Body& body);
  Flow exec(const Stmt& s);
  void emit(std::string_view s);
  Flow exec_for(const Stmt& s);
  void exec_set(const Stmt& s);
  Value loop_value(const Value::List& items, size_t i);
  std::string capture(const Body& body);
  Value call_macro(const Callable& fn, Args& args);

  // Expressions (eval_expr.cpp).
 public:
  Value eval(const Expr& e);

 private:
  Value eval_name(const Expr& e);
  Value eval_call(const Expr& e);
  Value eval_filter(const Expr& e, const Value* operand);
  Value eval_test(const Expr& e);
  Value eval_slice(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_collection(const Expr& e);
  Value eval_concat(const Expr& e);
  Args eval_args(const Expr& e, size_t first);
  Value binary(BinOp op, const Value& a, const Value& b);
  friend Value eval_filter_block(Evaluator& ev, const Expr& chain, const Value& body);
};

/// Applies a filter chain whose innermost operand is null to a rendered block.
Value eval_filter_block(Evaluator& ev, const Expr& chain, const Value& body);

// Operators (operators.cpp).
/// Python's type name of a value ("str", "int", "NoneType", ...).
std::string_view type_name(const Value& v);
/// a < b with Python's rules; throws via `ev` for unordered types.
bool less_than(Evaluator& ev, const Value& a, const Value& b);
/// a in b.
bool contains(Evaluator& ev, const Value& container, const Value& item);
/// Arithmetic: + - * / // % ** on numbers, strings and lists.
Value arithmetic(Evaluator& ev, BinOp op, const Value& a, const Value& b);
/// Python's printf-style `format % args`.
std::string percent_format(Evaluator& ev, const std::string& format, const Value& args);
/// Python slicing of a list or a string.
Value slice_value(Evaluator& ev, const Value& v, const Value& start, const Value& stop,
                  const Value& step);

// Methods and globals (methods.cpp).
/// A method of str or dict, for calls like `s.startswith('x')` and `d.items()`.
bool has_method(const Value& self, std::string_view name);
Value call_method(Evaluator& ev, const Value& self, const std::string& name, Args& args);
/// range, namespace, dict, raise_exception, strftime_now.
void add_globals(std::vector<std::pair<std::string, Value>>* vars);

}  // namespace es::chat::detail
