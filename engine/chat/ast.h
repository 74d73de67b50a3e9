// The chat template AST: expressions and statements, as the parser builds them and the
// evaluator walks them. Nodes are immutable after parsing; every node keeps its line so
// runtime errors can name it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "expertscope/chat_template.h"

namespace es::chat::detail {

/// The most nested expression or statement levels the parser accepts. Bounds the
/// recursion of the parser, the evaluator and the AST's destructor.
inline constexpr uint32_t max_syntax_depth = 128;

enum class ExprKind : uint8_t {
  unset = 0,
  literal,  ///< value
  name,     ///< name
  list,     ///< args: items
  tuple,    ///< args: items (a list value)
  dict,     ///< args: key, value, key, value...
  attr,     ///< args[0].name
  index,    ///< args[0][args[1]]
  slice,    ///< args[0][args[1]:args[2]:args[3]], any of 1..3 may be null
  call,     ///< args[0](args[1..], kwargs)
  filter,   ///< args[0] | name(args[1..], kwargs)
  test,     ///< args[0] is [not] name(args[1..]); negate
  not_,     ///< not args[0]
  neg,      ///< -args[0]
  pos,      ///< +args[0]
  binary,   ///< args[0] op args[1]
  compare,  ///< args[0] ops[0] args[1] ops[1] args[2] ... (chained)
  and_,     ///< args[0] and args[1]
  or_,      ///< args[0] or args[1]
  ternary,  ///< args[0] if args[1] else args[2] (args[2] may be null)
  concat,   ///< args[0] ~ args[1] ~ ...
};

enum class BinOp : uint8_t {
  unset = 0,
  add,
  sub,
  mul,
  div,
  floordiv,
  mod,
  pow,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  in,
  not_in,
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::unset;
  BinOp op = BinOp::unset;
  bool negate = false;  ///< For tests: `is not`.
  uint32_t line = 0;
  uint32_t depth = 1;  ///< 1 + the deepest child.
  Value value;         ///< For literals.
  std::string name;    ///< Variable, attribute, filter or test name.
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<BinOp> ops;  ///< For chained comparisons.
};

enum class StmtKind : uint8_t {
  unset = 0,
  text,          ///< text
  output,        ///< {{ expr }}
  if_,           ///< branches (cond, body)..., else_body
  for_,          ///< targets in expr [if cond] body [else else_body]
  set,           ///< targets = expr, or target_attr: name.attr = expr
  set_block,     ///< {% set name %}body{% endset %}
  macro,         ///< name(params) body
  filter_block,  ///< {% filter f(args) %}body: expr is the filter with a null operand
  with,          ///< {% with a = 1 %}body
  break_,
  continue_,
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  StmtKind kind = StmtKind::unset;
  uint32_t line = 0;
  std::string text;                                ///< Text, or the macro / set-block name.
  ExprPtr expr;                                    ///< Output, set value, for iterable, filter.
  ExprPtr cond;                                    ///< For-loop filter (`for x in y if cond`).
  std::vector<std::string> targets;                ///< Assigned names (one, or a tuple).
  std::string attr;                                ///< `set ns.attr = ...`: targets[0] is ns.
  std::vector<std::pair<ExprPtr, Body>> branches;  ///< if / elif.
  Body body;
  Body else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  ///< Macro parameters, with defaults.
};

/// A parsed template.
struct Program {
  Body body;
};

/// Makes an expression node of a kind at a line; depth is computed from children by
/// finish().
ExprPtr make_expr(ExprKind kind, uint32_t line);

}  // namespace es::chat::detail
