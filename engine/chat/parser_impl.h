// The parser's class, shared by parser.cpp (statements) and parser_expr.cpp (expressions).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ast.h"
#include "lexer.h"

namespace es::chat::detail {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  /// Statements up to one of the `ends` tags (consumed up to the tag name, which goes to
  /// `which`), or to the end of the template when `ends` is empty.
  Body parse_body(std::initializer_list<std::string_view> ends, const Token& opener,
                  std::string* which);
  const Token& peek(size_t k = 0) const;

 private:
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  uint32_t depth_ = 0;
  int loop_depth_ = 0;

  // Tokens.
  const Token& next();
  bool is_op(std::string_view op, size_t k = 0) const;
  bool is_name(std::string_view name, size_t k = 0) const;
  static std::string describe(const Token& t);
  [[noreturn]] void fail_at(const Token& t, const std::string& what) const;
  void expect_op(std::string_view op);
  void expect_kind(TokKind kind, std::string_view what);
  std::string expect_identifier();
  void enter();
  ExprPtr finish(ExprPtr e) const;

  // Statements (parser.cpp).
  StmtPtr parse_statement();
  StmtPtr parse_if();
  StmtPtr parse_for();
  StmtPtr parse_set();
  StmtPtr parse_macro();
  StmtPtr parse_filter_block();
  StmtPtr parse_with();
  std::vector<std::string> parse_targets();

  // Expressions (parser_expr.cpp), by rising precedence.
  ExprPtr parse_tuple(bool allow_ternary);
  ExprPtr parse_expression(bool allow_ternary);
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr e);
  ExprPtr parse_filter_expr(ExprPtr e);
  ExprPtr parse_filter(ExprPtr operand);
  ExprPtr parse_test(ExprPtr operand);
  ExprPtr parse_subscript(ExprPtr object);
  ExprPtr parse_collection(ExprKind kind, std::string_view close);
  void parse_call_args(Expr* call);
  ExprPtr binary(ExprKind kind, BinOp op, ExprPtr a, ExprPtr b, uint32_t line) const;
};

}  // namespace es::chat::detail
