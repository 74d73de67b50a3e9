// Chat template parser: statements. Expressions are in parser_expr.cpp.
#include "parser.h"

#include <algorithm>
#include <initializer_list>

#include "errors.h"
#include "parser_impl.h"

namespace es::chat::detail {

ExprPtr make_expr(ExprKind kind, uint32_t line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

const Token& Parser::peek(size_t k) const {
  const size_t i = std::min(pos_ + k, tokens_.size() - 1);
  return tokens_[i];
}

const Token& Parser::next() {
  const Token& t = tokens_[pos_];
  if (pos_ + 1 < tokens_.size()) ++pos_;
  return t;
}

bool Parser::is_op(std::string_view op, size_t k) const {
  const Token& t = peek(k);
  return t.kind == TokKind::op && t.text == op;
}

bool Parser::is_name(std::string_view name, size_t k) const {
  const Token& t = peek(k);
  return t.kind == TokKind::name && t.text == name;
}

std::string Parser::describe(const Token& t) {
  switch (t.kind) {
    case TokKind::eof:
      return "end of template";
    case TokKind::text:
      return "text";
    case TokKind::string:
      return "a string";
    default:
      return "'" + t.text + "'";
  }
}

void Parser::fail_at(const Token& t, const std::string& what) const {
  throw_syntax(t.line, t.col, what);
}

void Parser::expect_op(std::string_view op) {
  if (!is_op(op)) fail_at(peek(), "expected '" + std::string(op) + "', found " + describe(peek()));
  next();
}

void Parser::expect_kind(TokKind kind, std::string_view what) {
  if (peek().kind != kind) {
    fail_at(peek(), "expected " + std::string(what) + ", found " + describe(peek()));
  }
  next();
}

std::string Parser::expect_identifier() {
  if (peek().kind != TokKind::name) fail_at(peek(), "expected a name, found " + describe(peek()));
  return next().text;
}

void Parser::enter() {
  if (++depth_ > max_syntax_depth) fail_at(peek(), "template nested too deeply");
}

ExprPtr Parser::finish(ExprPtr e) const {
  uint32_t d = 0;
  for (const auto& a : e->args) {
    if (a) d = std::max(d, a->depth);
  }
  for (const auto& [k, v] : e->kwargs) d = std::max(d, v->depth);
  e->depth = d + 1;
  if (e->depth > max_syntax_depth) throw_syntax(e->line, 0, "expression nested too deeply");
  return e;
}

Body Parser::parse_body(std::initializer_list<std::string_view> ends, const Token& opener,
                        std::string* which) {
  Body body;
  while (true) {
    const Token& t = peek();
    if (t.kind == TokKind::eof) {
      if (ends.size() == 0) return body;
      fail_at(opener, "missing '{% " + std::string(*ends.begin()) + " %}' for this tag");
    }
    if (t.kind == TokKind::text) {
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::text;
      s->line = t.line;
      s->text = next().text;
      body.push_back(std::move(s));
      continue;
    }
    if (t.kind == TokKind::var_begin) {
      next();
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::output;
      s->line = t.line;
      s->expr = parse_tuple(true);
      expect_kind(TokKind::var_end, "'}}'");
      body.push_back(std::move(s));
      continue;
    }
    if (t.kind != TokKind::block_begin) fail_at(t, "unexpected " + describe(t));
    const Token& tag = peek(1);
    if (tag.kind == TokKind::name && std::find(ends.begin(), ends.end(), tag.text) != ends.end()) {
      next();
      *which = next().text;
      return body;
    }
    next();
    body.push_back(parse_statement());
  }
}

StmtPtr Parser::parse_statement() {
  enter();
  const Token& tag = peek();
  if (tag.kind != TokKind::name) fail_at(tag, "expected a tag name, found " + describe(tag));
  const std::string name = tag.text;
  StmtPtr s;
  if (name == "if") {
    s = parse_if();
  } else if (name == "for") {
    s = parse_for();
  } else if (name == "set") {
    s = parse_set();
  } else if (name == "macro") {
    s = parse_macro();
  } else if (name == "filter") {
    s = parse_filter_block();
  } else if (name == "with" || name == "generation") {
    s = parse_with();
  } else if (name == "break" || name == "continue") {
    next();
    s = std::make_unique<Stmt>();
    s->kind = name == "break" ? StmtKind::break_ : StmtKind::continue_;
    s->line = tag.line;
    if (loop_depth_ == 0) fail_at(tag, "'" + name + "' outside a loop");
    expect_kind(TokKind::block_end, "'%}'");
  } else {
    static constexpr std::string_view unsupported[] = {
        "include", "extends", "block",      "import",    "from",    "call",
        "do",      "trans",   "autoescape", "pluralize", "endblock"};
    if (std::find(std::begin(unsupported), std::end(unsupported), name) != std::end(unsupported)) {
      throw_unsupported(tag.line, "statement \"" + name + "\"");
    }
    fail_at(tag, "unexpected tag '" + name + "'");
  }
  --depth_;
  return s;
}

StmtPtr Parser::parse_if() {
  const Token& opener = next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::if_;
  s->line = opener.line;
  ExprPtr cond = parse_tuple(false);
  expect_kind(TokKind::block_end, "'%}'");
  while (true) {
    std::string which;
    Body body = parse_body({"endif", "elif", "else"}, opener, &which);
    s->branches.emplace_back(std::move(cond), std::move(body));
    if (which == "elif") {
      cond = parse_tuple(false);
      expect_kind(TokKind::block_end, "'%}'");
      continue;
    }
    if (which == "else") {
      expect_kind(TokKind::block_end, "'%}'");
      s->else_body = parse_body({"endif"}, opener, &which);
    }
    expect_kind(TokKind::block_end, "'%}'");
    return s;
  }
}

std::vector<std::string> Parser::parse_targets() {
  std::vector<std::string> names;
  const bool paren = is_op("(");
  if (paren) next();
  names.push_back(expect_identifier());
  while (is_op(",")) {
    next();
    if (peek().kind != TokKind::name || is_name("in")) break;
    names.push_back(expect_identifier());
  }
  if (paren) expect_op(")");
  return names;
}

StmtPtr Parser::parse_for() {
  const Token& opener = next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::for_;
  s->line = opener.line;
  s->targets = parse_targets();
  if (!is_name("in")) fail_at(peek(), "expected 'in', found " + describe(peek()));
  next();
  s->expr = parse_tuple(false);
  if (is_name("if")) {
    next();
    s->cond = parse_expression(true);
  }
  if (is_name("recursive")) throw_unsupported(peek().line, "recursive loops");
  expect_kind(TokKind::block_end, "'%}'");
  ++loop_depth_;
  std::string which;
  s->body = parse_body({"endfor", "else"}, opener, &which);
  --loop_depth_;
  if (which == "else") {
    expect_kind(TokKind::block_end, "'%}'");
    const int saved = loop_depth_;
    loop_depth_ = 0;
    s->else_body = parse_body({"endfor"}, opener, &which);
    loop_depth_ = saved;
  }
  expect_kind(TokKind::block_end, "'%}'");
  return s;
}

StmtPtr Parser::parse_set() {
  const Token& opener = next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::set;
  s->line = opener.line;
  if (peek().kind == TokKind::name && is_op(".", 1)) {
    s->targets.push_back(next().text);
    next();
    s->attr = expect_identifier();
  } else {
    s->targets = parse_targets();
  }
  if (is_op("=")) {
    next();
    s->expr = parse_tuple(true);
    expect_kind(TokKind::block_end, "'%}'");
    return s;
  }
  if (s->targets.size() != 1 || !s->attr.empty()) {
    fail_at(peek(), "expected '=', found " + describe(peek()));
  }
  if (is_op("|")) throw_unsupported(peek().line, "a filter on a set block");
  expect_kind(TokKind::block_end, "'%}'");
  s->kind = StmtKind::set_block;
  s->text = s->targets[0];
  std::string which;
  const int saved = loop_depth_;
  loop_depth_ = 0;
  s->body = parse_body({"endset"}, opener, &which);
  loop_depth_ = saved;
  expect_kind(TokKind::block_end, "'%}'");
  return s;
}

StmtPtr Parser::parse_macro() {
  const Token& opener = next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::macro;
  s->line = opener.line;
  s->text = expect_identifier();
  expect_op("(");
  while (!is_op(")")) {
    if (is_op("*") || is_op("**")) throw_unsupported(peek().line, "variadic macro parameters");
    std::string param = expect_identifier();
    ExprPtr def;
    if (is_op("=")) {
      next();
      def = parse_expression(true);
    }
    s->params.emplace_back(std::move(param), std::move(def));
    if (!is_op(",")) break;
    next();
  }
  expect_op(")");
  expect_kind(TokKind::block_end, "'%}'");
  std::string which;
  const int saved = loop_depth_;
  loop_depth_ = 0;
  s->body = parse_body({"endmacro"}, opener, &which);
  loop_depth_ = saved;
  if (peek().kind == TokKind::name) next();  // {% endmacro name %}
  expect_kind(TokKind::block_end, "'%}'");
  return s;
}

StmtPtr Parser::parse_filter_block() {
  const Token& opener = next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::filter_block;
  s->line = opener.line;
  ExprPtr chain;  // innermost filter has a null operand: the rendered body
  while (true) {
    chain = parse_filter(std::move(chain));
    if (!is_op("|")) break;
  }
  s->expr = std::move(chain);
  expect_kind(TokKind::block_end, "'%}'");
  std::string which;
  s->body = parse_body({"endfilter"}, opener, &which);
  expect_kind(TokKind::block_end, "'%}'");
  return s;
}

StmtPtr Parser::parse_with() {
  const Token& opener = next();
  const bool generation = opener.text == "generation";
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::with;
  s->line = opener.line;
  while (!generation && peek().kind == TokKind::name) {
    std::string name = expect_identifier();
    expect_op("=");
    s->params.emplace_back(std::move(name), parse_expression(true));
    if (!is_op(",")) break;
    next();
  }
  expect_kind(TokKind::block_end, "'%}'");
  std::string which;
  s->body = parse_body({generation ? "endgeneration" : "endwith"}, opener, &which);
  expect_kind(TokKind::block_end, "'%}'");
  return s;
}

std::unique_ptr<Program> parse_program(std::string_view source) {
  Parser p(lex(source));
  auto program = std::make_unique<Program>();
  std::string which;
  program->body = p.parse_body({}, p.peek(), &which);
  return program;
}

}  // namespace es::chat::detail
