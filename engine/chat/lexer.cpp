// Chat template lexer. jinja2's rules as Hugging Face configures them: newlines normalised
// to "\n" and one trailing newline dropped; `{%-`/`-%}` (and the `{{`/`{#` forms) strip all
// whitespace on that side; trim_blocks drops the newline after `%}` and `#}`; lstrip_blocks
// drops spaces and tabs before `{%` and `{#` on a line of their own; `+` turns either off.
#include "lexer.h"

#include <algorithm>
#include <string>

#include "errors.h"
#include "utf8.h"

namespace es::chat::detail {

size_t space_len(std::string_view s, size_t pos) {
  if (pos >= s.size()) return 0;
  const auto c = static_cast<unsigned char>(s[pos]);
  if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
  if (c < 0x80) return 0;
  size_t n = 0;
  const uint32_t cp = decode_utf8(s, pos, &n);
  const bool space = cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
                     cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
  return space ? n : 0;
}

namespace {

/// Length of `s` without its trailing whitespace (Python str.rstrip()).
size_t rstrip_len(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) {
      --start;
    }
    if (space_len(s, start) != end - start) break;
    end = start;
  }
  return end;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) {
    src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_ += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_ += source[i];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) lex_data();
    add(TokKind::eof, "", src_.size());
    return std::move(tokens_);
  }

 private:
  std::string src_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;

  void locate(size_t pos, uint32_t* line, uint32_t* col) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos);
    const size_t idx = static_cast<size_t>(it - line_starts_.begin()) - 1;
    *line = static_cast<uint32_t>(idx + 1);
    *col = static_cast<uint32_t>(pos - line_starts_[idx] + 1);
  }

  [[noreturn]] void fail(size_t pos, const std::string& what) const {
    uint32_t line = 0, col = 0;
    locate(pos, &line, &col);
    throw_syntax(line, col, what);
  }

  void add(TokKind kind, std::string text, size_t pos) {
    Token t;
    t.kind = kind;
    t.text = std::move(text);
    locate(pos, &t.line, &t.col);
    tokens_.push_back(std::move(t));
  }

  bool at(size_t pos, std::string_view s) const { return src_.compare(pos, s.size(), s) == 0; }

  size_t skip_spaces(size_t pos) const {
    while (size_t n = space_len(src_, pos)) pos += n;
    return pos;
  }

  /// Emits the text before a tag, applying the tag's left-side whitespace rule.
  void emit_text(size_t begin, size_t end, char tag, char sign) {
    std::string_view text(src_.data() + begin, end - begin);
    if (sign == '-') {
      text = text.substr(0, rstrip_len(text));
    } else if (sign != '+' && tag != '{') {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if (l_pos > 0 || line_starting_) {
        bool blank = l_pos < text.size();
        for (size_t i = l_pos; i < text.size() && blank;) {
          const size_t n = space_len(text, i);
          blank = n > 0;
          i += n;
        }
        if (blank) text = text.substr(0, l_pos);
      }
    }
    if (!text.empty()) add(TokKind::text, std::string(text), begin);
  }

  /// After a closing marker at `pos` (past it): strip per sign / trim_blocks.
  void after_close(size_t pos, char sign, bool trim) {
    if (sign == '-') {
      pos = skip_spaces(pos);
    } else if (trim && sign != '+' && pos < src_.size() && src_[pos] == '\n') {
      ++pos;
    }
    line_starting_ = pos > 0 && src_[pos - 1] == '\n';
    pos_ = pos;
  }

  void lex_data() {
    size_t open = pos_;
    while (true) {
      open = src_.find('{', open);
      if (open == std::string::npos || open + 1 >= src_.size()) {
        open = src_.size();
        break;
      }
      const char c = src_[open + 1];
      if (c == '{' || c == '%' || c == '#') break;
      ++open;
    }
    if (open >= src_.size()) {
      emit_text(pos_, src_.size(), '{', 0);
      pos_ = src_.size();
      return;
    }
    const char tag = src_[open + 1];
    size_t p = open + 2;
    char sign = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
    emit_text(pos_, open, tag, sign);
    if (tag == '#') return lex_comment(open, p);
    if (tag == '%' && lex_raw(open, p)) return;
    lex_tag(open, p, tag);
  }

  void lex_comment(size_t open, size_t p) {
    const size_t close = src_.find("#}", p);
    if (close == std::string::npos) fail(open, "unclosed comment");
    const char sign =
        close > p && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : 0;
    after_close(close + 2, sign, true);
  }

  /// `{% raw %}...{% endraw %}`: returns false if the tag is not `raw`.
  bool lex_raw(size_t open, size_t p) {
    size_t q = skip_spaces(p);
    if (!at(q, "raw")) return false;
    q += 3;
    if (q < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) {
      return false;
    }
    q = skip_spaces(q);
    char sign = 0;
    if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) sign = src_[q++];
    if (!at(q, "%}")) fail(open, "expected '%}' after 'raw'");
    size_t body = q + 2;
    if (sign == '-') body = skip_spaces(body);
    for (size_t s = src_.find("{%", body); s != std::string::npos; s = src_.find("{%", s + 2)) {
      size_t r = s + 2;
      char end_sign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) end_sign = src_[r++];
      r = skip_spaces(r);
      if (!at(r, "endraw")) continue;
      r = skip_spaces(r + 6);
      char close_sign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) close_sign = src_[r++];
      if (!at(r, "%}")) continue;
      std::string_view text(src_.data() + body, s - body);
      if (end_sign == '-') text = text.substr(0, rstrip_len(text));
      if (!text.empty()) add(TokKind::text, std::string(text), body);
      after_close(r + 2, close_sign, true);
      return true;
    }
    fail(open, "missing '{% endraw %}' for this raw block");
  }

  void lex_tag(size_t open, size_t p, char tag) {
    add(tag == '{' ? TokKind::var_begin : TokKind::block_begin, tag == '{' ? "{{" : "{%", open);
    const char closer = tag == '{' ? '}' : '%';
    int depth = 0;
    while (true) {
      p = skip_spaces(p);
      if (p >= src_.size()) {
        fail(open, tag == '{' ? "missing '}}' for the expression opened here"
                              : "missing '%}' for the tag opened here");
      }
      if (depth == 0) {
        char sign = 0;
        size_t q = p;
        if (src_[q] == '-' || src_[q] == '+') sign = src_[q++];
        if (q + 1 < src_.size() && src_[q] == closer && src_[q + 1] == '}' &&
            (sign != '+' || tag == '%')) {
          add(tag == '{' ? TokKind::var_end : TokKind::block_end, tag == '{' ? "}}" : "%}", p);
          after_close(q + 2, sign, tag == '%');
          return;
        }
      }
      p = lex_token(p, &depth);
    }
  }

  size_t lex_token(size_t p, int* depth) {
    const auto c = static_cast<unsigned char>(src_[p]);
    if (std::isalpha(c) || c == '_') {
      size_t e = p + 1;
      while (e < src_.size() &&
             (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) {
        ++e;
      }
      add(TokKind::name, src_.substr(p, e - p), p);
      return e;
    }
    if (std::isdigit(c)) return lex_number(p);
    if (c == '\'' || c == '"') return lex_string(p);
    static constexpr std::string_view two[] = {"//", "**", "==", "!=", ">=", "<="};
    for (std::string_view op : two) {
      if (at(p, op)) {
        add(TokKind::op, std::string(op), p);
        return p + 2;
      }
    }
    if (std::string_view("+-*/%~[](){},.:|=<>;").find(static_cast<char>(c)) ==
        std::string_view::npos) {
      fail(p, c < 0x80 && std::isprint(c)
                  ? std::string("unexpected character '") + static_cast<char>(c) + "'"
                  : "unexpected character");
    }
    if (c == '(' || c == '[' || c == '{') ++*depth;
    if ((c == ')' || c == ']' || c == '}') && *depth > 0) --*depth;
    add(TokKind::op, std::string(1, static_cast<char>(c)), p);
    return p + 1;
  }

  size_t digits(size_t p, std::string* out) const {
    while (p < src_.size()) {
      const char d = src_[p];
      if (std::isdigit(static_cast<unsigned char>(d))) {
        *out += d;
      } else if (d != '_' || p + 1 >= src_.size() ||
                 !std::isdigit(static_cast<unsigned char>(src_[p + 1]))) {
        break;
      }
      ++p;
    }
    return p;
  }

  size_t lex_number(size_t p) {
    const size_t start = p;
    std::string num;
    p = digits(p, &num);
    bool is_float = false;
    if (p + 1 < src_.size() && src_[p] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[p + 1]))) {
      num += '.';
      p = digits(p + 1, &num);
      is_float = true;
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      std::string exp = "e";
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) exp += src_[q++];
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        p = digits(q, &exp);
        num += exp;
        is_float = true;
      }
    }
    add(is_float ? TokKind::floating : TokKind::integer, num, start);
    return p;
  }

  size_t lex_string(size_t p) {
    const char quote = src_[p];
    std::string out;
    size_t i = p + 1;
    while (true) {
      if (i >= src_.size()) fail(p, "unterminated string");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      i = decode_escape(i, &out);
    }
    add(TokKind::string, std::move(out), p);
    return i + 1;
  }

  /// Decodes the escape at `i` (a backslash) as Python's unicode-escape does.
  size_t decode_escape(size_t i, std::string* out) const {
    if (i + 1 >= src_.size()) fail(i, "unterminated string");
    const char e = src_[i + 1];
    static constexpr std::string_view from = "\\'\"abfnrtv\n";
    static constexpr std::string_view to = "\\'\"\a\b\f\n\r\t\v";
    if (const size_t k = from.find(e); k != std::string_view::npos) {
      if (e != '\n') *out += to[k];
      return i + 2;
    }
    if (e >= '0' && e <= '7') {
      uint32_t v = 0;
      size_t j = i + 1;
      for (int n = 0; n < 3 && j < src_.size() && src_[j] >= '0' && src_[j] <= '7'; ++n, ++j) {
        v = v * 8 + static_cast<uint32_t>(src_[j] - '0');
      }
      append_utf8(out, v);
      return j;
    }
    const int hex_len = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (hex_len == 0) {
      if (e == 'N') fail(i, "\\N{...} escapes are not supported");
      *out += '\\';
      return i + 1;
    }
    uint32_t v = 0;
    for (int n = 0; n < hex_len; ++n) {
      const size_t j = i + 2 + static_cast<size_t>(n);
      const int d = j < src_.size() ? hex_value(src_[j]) : -1;
      if (d < 0) fail(i, "truncated \\" + std::string(1, e) + " escape");
      v = v * 16 + static_cast<uint32_t>(d);
    }
    append_utf8(out, v);
    return i + 2 + static_cast<size_t>(hex_len);
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
};

}  // namespace

std::vector<Token> lex(std::string_view source) {
  return Lexer(source).run();
}

}  // namespace es::chat::detail
