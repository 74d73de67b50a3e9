// Chat template parser: expressions, with jinja2's precedence (loosest first): conditional
// `a if b else c`, or, and, not, comparisons (chained; in, not in), + -, ~, * / // %, **,
// unary - +, then primaries with postfix `.attr`, `[i]`, `[a:b:c]`, calls, `|filter` and
// `is test`.
#include <charconv>
#include <cstdlib>

#include "errors.h"
#include "parser.h"
#include "parser_impl.h"

namespace es::chat::detail {

ExprPtr Parser::binary(ExprKind kind, BinOp op, ExprPtr a, ExprPtr b, uint32_t line) const {
  auto e = make_expr(kind, line);
  e->op = op;
  e->args.push_back(std::move(a));
  e->args.push_back(std::move(b));
  return finish(std::move(e));
}

ExprPtr Parser::parse_tuple(bool allow_ternary) {
  const uint32_t line = peek().line;
  ExprPtr first = parse_expression(allow_ternary);
  if (!is_op(",")) return first;
  auto t = make_expr(ExprKind::tuple, line);
  t->args.push_back(std::move(first));
  while (is_op(",")) {
    next();
    const TokKind k = peek().kind;
    if (k == TokKind::block_end || k == TokKind::var_end || is_op(")") || is_name("if")) break;
    t->args.push_back(parse_expression(allow_ternary));
  }
  return finish(std::move(t));
}

ExprPtr Parser::parse_expression(bool allow_ternary) {
  enter();
  ExprPtr e = parse_or();
  while (allow_ternary && is_name("if")) {
    const uint32_t line = next().line;
    auto t = make_expr(ExprKind::ternary, line);
    ExprPtr cond = parse_or();
    ExprPtr other;
    if (is_name("else")) {
      next();
      other = parse_expression(true);
    }
    t->args.push_back(std::move(e));
    t->args.push_back(std::move(cond));
    t->args.push_back(std::move(other));
    e = finish(std::move(t));
  }
  --depth_;
  return e;
}

ExprPtr Parser::parse_or() {
  ExprPtr e = parse_and();
  while (is_name("or")) {
    const uint32_t line = next().line;
    e = binary(ExprKind::or_, BinOp::unset, std::move(e), parse_and(), line);
  }
  return e;
}

ExprPtr Parser::parse_and() {
  ExprPtr e = parse_not();
  while (is_name("and")) {
    const uint32_t line = next().line;
    e = binary(ExprKind::and_, BinOp::unset, std::move(e), parse_not(), line);
  }
  return e;
}

ExprPtr Parser::parse_not() {
  if (!is_name("not")) return parse_compare();
  const uint32_t line = next().line;
  enter();
  auto e = make_expr(ExprKind::not_, line);
  e->args.push_back(parse_not());
  --depth_;
  return finish(std::move(e));
}

ExprPtr Parser::parse_compare() {
  const uint32_t line = peek().line;
  ExprPtr first = parse_math1();
  auto e = make_expr(ExprKind::compare, line);
  e->args.push_back(std::move(first));
  while (true) {
    BinOp op = BinOp::unset;
    const Token& t = peek();
    if (t.kind == TokKind::op) {
      if (t.text == "==") op = BinOp::eq;
      if (t.text == "!=") op = BinOp::ne;
      if (t.text == "<") op = BinOp::lt;
      if (t.text == "<=") op = BinOp::le;
      if (t.text == ">") op = BinOp::gt;
      if (t.text == ">=") op = BinOp::ge;
      if (op != BinOp::unset) next();
    } else if (is_name("in")) {
      next();
      op = BinOp::in;
    } else if (is_name("not") && is_name("in", 1)) {
      next();
      next();
      op = BinOp::not_in;
    }
    if (op == BinOp::unset) break;
    e->ops.push_back(op);
    e->args.push_back(parse_math1());
  }
  if (e->ops.empty()) return std::move(e->args[0]);
  return finish(std::move(e));
}

ExprPtr Parser::parse_math1() {
  ExprPtr e = parse_concat();
  while (is_op("+") || is_op("-")) {
    const Token& t = next();
    const BinOp op = t.text == "+" ? BinOp::add : BinOp::sub;
    e = binary(ExprKind::binary, op, std::move(e), parse_concat(), t.line);
  }
  return e;
}

ExprPtr Parser::parse_concat() {
  const uint32_t line = peek().line;
  ExprPtr first = parse_math2();
  if (!is_op("~")) return first;
  auto e = make_expr(ExprKind::concat, line);
  e->args.push_back(std::move(first));
  while (is_op("~")) {
    next();
    e->args.push_back(parse_math2());
  }
  return finish(std::move(e));
}

ExprPtr Parser::parse_math2() {
  ExprPtr e = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    const Token& t = next();
    const BinOp op = t.text == "*"   ? BinOp::mul
                     : t.text == "/" ? BinOp::div
                     : t.text == "%" ? BinOp::mod
                                     : BinOp::floordiv;
    e = binary(ExprKind::binary, op, std::move(e), parse_pow(), t.line);
  }
  return e;
}

ExprPtr Parser::parse_pow() {
  ExprPtr e = parse_unary(true);
  while (is_op("**")) {
    const uint32_t line = next().line;
    e = binary(ExprKind::binary, BinOp::pow, std::move(e), parse_unary(true), line);
  }
  return e;
}

ExprPtr Parser::parse_unary(bool with_filter) {
  enter();
  ExprPtr e;
  if (is_op("-") || is_op("+")) {
    const Token& t = next();
    e = make_expr(t.text == "-" ? ExprKind::neg : ExprKind::pos, t.line);
    e->args.push_back(parse_unary(false));
    e = finish(std::move(e));
  } else {
    e = parse_primary();
  }
  e = parse_postfix(std::move(e));
  if (with_filter) e = parse_filter_expr(std::move(e));
  --depth_;
  return e;
}

ExprPtr Parser::parse_primary() {
  const Token& t = peek();
  auto lit = make_expr(ExprKind::literal, t.line);
  switch (t.kind) {
    case TokKind::name: {
      next();
      if (t.text == "true" || t.text == "True") {
        lit->value = Value(true);
      } else if (t.text == "false" || t.text == "False") {
        lit->value = Value(false);
      } else if (t.text == "none" || t.text == "None") {
        lit->value = Value(nullptr);
      } else {
        auto e = make_expr(ExprKind::name, t.line);
        e->name = t.text;
        return e;
      }
      return lit;
    }
    case TokKind::string: {
      std::string s = next().text;
      while (peek().kind == TokKind::string) s += next().text;
      lit->value = Value(std::move(s));
      return lit;
    }
    case TokKind::integer: {
      int64_t v = 0;
      const auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
      if (r.ec != std::errc()) fail_at(t, "integer literal out of range");
      next();
      lit->value = Value(v);
      return lit;
    }
    case TokKind::floating:
      lit->value = Value(std::strtod(next().text.c_str(), nullptr));
      return lit;
    case TokKind::op:
      if (t.text == "(") {
        next();
        if (is_op(")")) {
          next();
          auto e = make_expr(ExprKind::tuple, t.line);
          return e;
        }
        ExprPtr e = parse_tuple(true);
        expect_op(")");
        return e;
      }
      if (t.text == "[") return parse_collection(ExprKind::list, "]");
      if (t.text == "{") return parse_collection(ExprKind::dict, "}");
      break;
    default:
      break;
  }
  fail_at(t, "unexpected " + describe(t));
}

ExprPtr Parser::parse_collection(ExprKind kind, std::string_view close) {
  auto e = make_expr(kind, next().line);
  while (!is_op(close)) {
    e->args.push_back(parse_expression(true));
    if (kind == ExprKind::dict) {
      expect_op(":");
      e->args.push_back(parse_expression(true));
    }
    if (!is_op(",")) break;
    next();
  }
  expect_op(close);
  return finish(std::move(e));
}

ExprPtr Parser::parse_postfix(ExprPtr e) {
  while (true) {
    if (is_op(".")) {
      const uint32_t line = next().line;
      const Token& t = peek();
      if (t.kind == TokKind::name) {
        auto a = make_expr(ExprKind::attr, line);
        a->name = next().text;
        a->args.push_back(std::move(e));
        e = finish(std::move(a));
      } else if (t.kind == TokKind::integer) {
        auto idx = make_expr(ExprKind::literal, line);
        int64_t v = 0;
        std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        next();
        idx->value = Value(v);
        e = binary(ExprKind::index, BinOp::unset, std::move(e), std::move(idx), line);
      } else {
        fail_at(t, "expected an attribute name, found " + describe(t));
      }
    } else if (is_op("[")) {
      e = parse_subscript(std::move(e));
    } else if (is_op("(")) {
      auto c = make_expr(ExprKind::call, peek().line);
      c->args.push_back(std::move(e));
      parse_call_args(c.get());
      e = finish(std::move(c));
    } else {
      return e;
    }
  }
}

ExprPtr Parser::parse_subscript(ExprPtr object) {
  const uint32_t line = next().line;
  ExprPtr parts[3];
  int n = 0;  // slice parts seen
  bool is_slice = false;
  while (true) {
    if (!is_op(":") && !is_op("]")) parts[n] = parse_expression(true);
    if (is_op(":") && n < 2) {
      next();
      ++n;
      is_slice = true;
      continue;
    }
    break;
  }
  expect_op("]");
  if (!is_slice) {
    if (!parts[0]) throw_syntax(line, 0, "empty subscript");
    return binary(ExprKind::index, BinOp::unset, std::move(object), std::move(parts[0]), line);
  }
  auto s = make_expr(ExprKind::slice, line);
  s->args.push_back(std::move(object));
  for (auto& p : parts) s->args.push_back(std::move(p));
  return finish(std::move(s));
}

void Parser::parse_call_args(Expr* call) {
  expect_op("(");
  while (!is_op(")")) {
    if (is_op("*") || is_op("**")) throw_unsupported(peek().line, "'*' arguments in calls");
    if (peek().kind == TokKind::name && is_op("=", 1)) {
      std::string key = next().text;
      next();
      call->kwargs.emplace_back(std::move(key), parse_expression(true));
    } else {
      if (!call->kwargs.empty()) fail_at(peek(), "positional argument after keyword argument");
      call->args.push_back(parse_expression(true));
    }
    if (!is_op(",")) break;
    next();
  }
  expect_op(")");
}

ExprPtr Parser::parse_filter_expr(ExprPtr e) {
  while (true) {
    if (is_op("|")) {
      e = parse_filter(std::move(e));
    } else if (is_name("is")) {
      e = parse_test(std::move(e));
    } else if (is_op("(")) {
      auto c = make_expr(ExprKind::call, peek().line);
      c->args.push_back(std::move(e));
      parse_call_args(c.get());
      e = finish(std::move(c));
    } else {
      return e;
    }
  }
}

ExprPtr Parser::parse_filter(ExprPtr operand) {
  if (is_op("|")) next();
  const Token& t = peek();
  std::string name = expect_identifier();
  while (is_op(".") && peek(1).kind == TokKind::name) {
    next();
    name += "." + next().text;
  }
  if (!filter_exists(name)) throw_unsupported(t.line, "filter \"" + name + "\"");
  auto f = make_expr(ExprKind::filter, t.line);
  f->name = std::move(name);
  f->args.push_back(std::move(operand));
  if (is_op("(")) parse_call_args(f.get());
  return finish(std::move(f));
}

ExprPtr Parser::parse_test(ExprPtr operand) {
  const uint32_t line = next().line;  // 'is'
  auto e = make_expr(ExprKind::test, line);
  if (is_name("not")) {
    next();
    e->negate = true;
  }
  const Token& t = peek();
  e->name = expect_identifier();
  if (!test_exists(e->name)) throw_unsupported(t.line, "test \"" + e->name + "\"");
  e->args.push_back(std::move(operand));
  if (is_op("(")) {
    parse_call_args(e.get());
  } else {
    const Token& a = peek();
    const bool arg_start = a.kind == TokKind::name || a.kind == TokKind::string ||
                           a.kind == TokKind::integer || a.kind == TokKind::floating ||
                           is_op("[") || is_op("{");
    if (arg_start && !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) fail_at(a, "cannot chain tests with 'is'");
      e->args.push_back(parse_postfix(parse_primary()));
    }
  }
  return finish(std::move(e));
}

}  // namespace es::chat::detail
