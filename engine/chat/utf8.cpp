// UTF-8 helpers and the interpreter's error helpers.
#include "utf8.h"

#include "errors.h"
#include "expertscope/error.h"

namespace es::chat::detail {

uint32_t decode_utf8(std::string_view s, size_t pos, size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  *len = 1;
  if (b0 < 0x80) return b0;
  int n = 0;
  uint32_t cp = 0;
  if ((b0 & 0xe0) == 0xc0) {
    n = 1;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    n = 2;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    n = 3;
    cp = b0 & 0x07;
  } else {
    return 0xfffd;
  }
  if (pos + static_cast<size_t>(n) >= s.size()) return 0xfffd;
  for (int i = 1; i <= n; ++i) {
    const auto b = static_cast<unsigned char>(s[pos + static_cast<size_t>(i)]);
    if ((b & 0xc0) != 0x80) return 0xfffd;
    cp = (cp << 6) | (b & 0x3f);
  }
  static constexpr uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0xfffd;
  *len = static_cast<size_t>(n) + 1;
  return cp;
}

void append_utf8(std::string* out, uint32_t cp) {
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xc0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xe0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    *out += static_cast<char>(0xf0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    decode_utf8(s, i, &len);
    i += len;
    ++n;
  }
  return n;
}

std::vector<size_t> utf8_offsets(std::string_view s) {
  std::vector<size_t> offsets;
  offsets.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size();) {
    offsets.push_back(i);
    size_t len = 1;
    decode_utf8(s, i, &len);
    i += len;
  }
  offsets.push_back(s.size());
  return offsets;
}

void throw_syntax(uint32_t line, uint32_t col, const std::string& what) {
  throw Error(ErrorKind::bad_input, "chat template line " + std::to_string(line) + ", column " +
                                        std::to_string(col) + ": " + what);
}

void throw_unsupported(uint32_t line, const std::string& what) {
  throw Error(ErrorKind::unsupported,
              "chat template line " + std::to_string(line) + ": " + what + " is not supported");
}

void throw_runtime(uint32_t line, const std::string& what) {
  throw Error(ErrorKind::bad_input, "chat template line " + std::to_string(line) + ": " + what);
}

}  // namespace es::chat::detail
