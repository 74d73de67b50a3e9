#include "utf8.h"

#include <array>
#include <cstdio>

namespace es::detail {
namespace {

/// Bounds of the first continuation byte after a lead byte (Unicode Table 3-7), and how
/// many continuation bytes follow. need == 0: not a lead byte.
struct LeadInfo {
  uint8_t need = 0;
  uint8_t lower = 0x80;
  uint8_t upper = 0xBF;
};

constexpr LeadInfo lead_info(uint8_t b) noexcept {
  if (b >= 0xC2 && b <= 0xDF) return {1, 0x80, 0xBF};
  if (b == 0xE0) return {2, 0xA0, 0xBF};
  if (b == 0xED) return {2, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {2, 0x80, 0xBF};
  if (b == 0xF0) return {3, 0x90, 0xBF};
  if (b == 0xF4) return {3, 0x80, 0x8F};
  if (b >= 0xF1 && b <= 0xF3) return {3, 0x80, 0xBF};
  return {};
}

/// Length of the well-formed sequence at s[i], 0 if ill-formed or cut short.
size_t valid_seq_len(std::string_view s, size_t i) noexcept {
  const LeadInfo info = lead_info(static_cast<uint8_t>(s[i]));
  if (info.need == 0 || s.size() - i <= info.need) return 0;
  uint8_t lower = info.lower, upper = info.upper;
  for (size_t k = 1; k <= info.need; ++k) {
    const auto c = static_cast<uint8_t>(s[i + k]);
    if (c < lower || c > upper) return 0;
    lower = 0x80;
    upper = 0xBF;
  }
  return info.need + 1;
}

struct ByteTables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 324> to_byte{};  ///< Code points 0..323 cover the whole alphabet.
};

const ByteTables& byte_tables() {
  static const ByteTables tables = [] {
    ByteTables t;
    t.to_byte.fill(-1);
    auto printable = [](uint32_t b) {
      return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    uint32_t n = 0;
    for (uint32_t b = 0; b < 256; ++b) {
      t.to_cp[b] = printable(b) ? b : 256 + n++;
      t.to_byte[t.to_cp[b]] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return tables;
}

}  // namespace

bool utf8_valid(std::string_view s) noexcept {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Eight ASCII bytes at a time.
    while (i + 8 <= n) {
      uint64_t w = 0;
      for (size_t k = 0; k < 8; ++k) w |= static_cast<uint64_t>(static_cast<uint8_t>(s[i + k]));
      if (w & 0x80) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = valid_seq_len(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

size_t utf8_repair_append(std::string_view in, std::string& out, bool final) {
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    const auto b = static_cast<uint8_t>(in[i]);
    if (b < 0x80) {
      size_t j = i + 1;
      while (j < n && static_cast<uint8_t>(in[j]) < 0x80) ++j;
      out.append(in.data() + i, j - i);
      i = j;
      continue;
    }
    const LeadInfo info = lead_info(b);
    if (info.need == 0) {
      out += replacement_utf8;
      ++i;
      continue;
    }
    uint8_t lower = info.lower, upper = info.upper;
    size_t j = i + 1;
    bool bad = false;
    for (size_t k = 0; k < info.need; ++k, ++j) {
      if (j >= n) {
        if (!final) return i;  // Incomplete: wait for more bytes.
        out += replacement_utf8;
        return n;
      }
      const auto c = static_cast<uint8_t>(in[j]);
      if (c < lower || c > upper) {
        bad = true;
        break;
      }
      lower = 0x80;
      upper = 0xBF;
    }
    if (bad) {
      out += replacement_utf8;  // The offending byte at j is read again.
    } else {
      out.append(in.data() + i, j - i);
    }
    i = j;
  }
  return n;
}

std::string utf8_repair(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 8);
  utf8_repair_append(in, out, true);
  return out;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

uint32_t utf8_next(std::string_view s, size_t& i) noexcept {
  const auto b = static_cast<uint8_t>(s[i]);
  size_t len = utf8_seq_len(b);
  if (i + len > s.size()) len = 1;
  uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1Fu) : len == 3 ? (b & 0x0Fu) : (b & 0x07u);
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3Fu);
  i += len;
  return cp;
}

uint32_t byte_to_code_point(uint8_t byte) noexcept {
  return byte_tables().to_cp[byte];
}

int code_point_to_byte(uint32_t cp) noexcept {
  const ByteTables& t = byte_tables();
  return cp < t.to_byte.size() ? t.to_byte[cp] : -1;
}

bool byte_level_decode(std::string_view text, std::string& out) {
  out.clear();
  if (!utf8_valid(text)) return false;
  size_t i = 0;
  while (i < text.size()) {
    const int b = code_point_to_byte(utf8_next(text, i));
    if (b < 0) return false;
    out += static_cast<char>(b);
  }
  return true;
}

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) utf8_append(out, byte_to_code_point(static_cast<uint8_t>(c)));
  return out;
}

std::string quote_for_error(std::string_view s, size_t max_bytes) {
  std::string out = "'";
  size_t i = 0;
  while (i < s.size() && i < max_bytes) {
    const auto b = static_cast<uint8_t>(s[i]);
    const size_t len = b < 0x80 ? 1 : valid_seq_len(s, i);
    if (len > 1) {
      out.append(s.data() + i, len);
      i += len;
    } else if (b >= 0x20 && b < 0x7F && b != '\'' && b != '\\') {
      out += static_cast<char>(b);
      ++i;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", b);
      out += buf;
      ++i;
    }
  }
  if (i < s.size()) out += "...";
  out += "'";
  return out;
}

}  // namespace es::detail
