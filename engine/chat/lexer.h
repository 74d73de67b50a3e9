// The chat template lexer: splits a template into text and tag tokens, applying jinja2's
// whitespace control as Hugging Face configures it (trim_blocks, lstrip_blocks, `-`/`+`
// markers), newline normalisation and the dropped trailing newline.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace es::chat::detail {

enum class TokKind : uint8_t {
  unset = 0,
  text,         ///< Literal output.
  var_begin,    ///< {{
  var_end,      ///< }}
  block_begin,  ///< {%
  block_end,    ///< %}
  name,         ///< Identifier or keyword.
  string,       ///< String literal, escapes decoded.
  integer,      ///< Digits (underscores removed).
  floating,     ///< Float literal.
  op,           ///< Operator or punctuation.
  eof,
};

struct Token {
  TokKind kind = TokKind::unset;
  std::string text;
  uint32_t line = 1;
  uint32_t col = 1;
};

/// Tokenizes a template. Throws es::Error (bad_input) with line and column on an unclosed
/// tag, comment or string, or a character that is not part of the expression syntax.
std::vector<Token> lex(std::string_view source);

/// jinja2's whitespace (Python str.isspace on the UTF-8 character at `pos`): its length in
/// bytes, or 0.
size_t space_len(std::string_view s, size_t pos);

}  // namespace es::chat::detail
