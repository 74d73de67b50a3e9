// What the exporters share: UTF-8, escaping, base64, half-precision texts, colours,
// attachment file names, and the format names of transcript.h.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "../trace/trace_internal.h"
#include "expertscope/transcript.h"
#include "transcript_internal.h"

namespace es::transcript {

std::optional<Format> parse_format(std::string_view name) noexcept {
  if (name == "md" || name == "markdown") return Format::markdown;
  if (name == "html") return Format::html;
  if (name == "json") return Format::json;
  if (name == "csv") return Format::csv;
  if (name == "npy") return Format::npy;
  if (name == "pdf") return Format::pdf;
  return std::nullopt;
}

std::string_view extension(Format format) noexcept {
  switch (format) {
    case Format::markdown:
      return "md";
    case Format::html:
      return "html";
    case Format::json:
      return "json";
    case Format::csv:
      return "csv";
    case Format::npy:
      return "npy";
    case Format::pdf:
      return "pdf";
    case Format::unset:
      break;
  }
  return "";
}

namespace {

struct Rgb {
  double r, g, b;
};

uint32_t pack(Rgb c) {
  const auto channel = [](double v) {
    return static_cast<uint32_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
  };
  return channel(c.r) << 16 | channel(c.g) << 8 | channel(c.b);
}

Rgb from_hsl(double hue_deg, double s, double l) {
  const double c = (1.0 - std::abs(2.0 * l - 1.0)) * s;
  const double h = std::fmod(hue_deg, 360.0) / 60.0;
  const double x = c * (1.0 - std::abs(std::fmod(h, 2.0) - 1.0));
  Rgb rgb{0, 0, 0};
  if (h < 1) {
    rgb = {c, x, 0};
  } else if (h < 2) {
    rgb = {x, c, 0};
  } else if (h < 3) {
    rgb = {0, c, x};
  } else if (h < 4) {
    rgb = {0, x, c};
  } else if (h < 5) {
    rgb = {x, 0, c};
  } else {
    rgb = {c, 0, x};
  }
  const double m = l - c / 2.0;
  return {rgb.r + m, rgb.g + m, rgb.b + m};
}

}  // namespace

uint32_t expert_colour(uint32_t expert) noexcept {
  // Hues a golden angle apart, so that neighbouring ids differ most; four lightness and
  // saturation steps separate ids whose hues come close again (e, e + 13, e + 21, ...).
  // Every colour is light enough for dark text on it.
  static constexpr double kLight[4] = {0.80, 0.70, 0.86, 0.75};
  static constexpr double kSat[4] = {0.85, 0.65, 0.75, 0.95};
  const double hue = std::fmod(static_cast<double>(expert) * 137.50776405, 360.0);
  return pack(from_hsl(hue, kSat[expert % 4], kLight[expert % 4]));
}

uint32_t heat_colour(double fraction) noexcept {
  // ColorBrewer "Blues", 9 classes, interpolated.
  static constexpr std::array<uint32_t, 9> kStops = {
      0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6, 0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
  if (!(fraction > 0.0)) return kStops[0];
  const double x = std::min(fraction, 1.0) * (kStops.size() - 1);
  const auto i = std::min(static_cast<size_t>(x), kStops.size() - 2);
  const double f = x - static_cast<double>(i);
  uint32_t out = 0;
  for (int shift = 16; shift >= 0; shift -= 8) {
    const double a = (kStops[i] >> shift) & 0xff;
    const double b = (kStops[i + 1] >> shift) & 0xff;
    out |= static_cast<uint32_t>(std::lround(a + (b - a) * f)) << shift;
  }
  return out;
}

LoadHeatmap load_heatmap(const RoutingTrace& trace) {
  LoadHeatmap map;
  if (!trace.has_shape()) return map;
  map.layers.assign(trace.moe_layers().begin(), trace.moe_layers().end());
  map.n_expert = trace.n_expert();
  map.n_tokens = trace.n_tokens();
  map.fraction.assign(map.layers.size() * map.n_expert, 0.0);
  if (trace.empty()) return map;
  const std::vector<LayerLoad> load = expert_load(trace);
  const auto n = static_cast<double>(trace.n_tokens());
  for (size_t m = 0; m < load.size(); ++m) {
    for (uint32_t e = 0; e < map.n_expert; ++e) {
      const double f = static_cast<double>(load[m].counts[e]) / n;
      map.fraction[m * map.n_expert + e] = f;
      map.max_fraction = std::max(map.max_fraction, f);
    }
  }
  return map;
}

namespace detail {

// ---------------------------------------------------------------------------------------
// UTF-8.

char32_t next_code_point(std::string_view text, size_t& i) noexcept {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  size_t need = 0;
  char32_t c = 0;
  uint8_t lo = 0x80, hi = 0xbf;  // the valid range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    need = 1;
    c = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    c = b0 & 0x0f;
    if (b0 == 0xe0) lo = 0xa0;  // overlong
    if (b0 == 0xed) hi = 0x9f;  // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    c = b0 & 0x07;
    if (b0 == 0xf0) lo = 0x90;  // overlong
    if (b0 == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    ++i;
    return replacement_char;
  }
  size_t k = i + 1;
  for (size_t n = 0; n < need; ++n, ++k) {
    if (k >= text.size()) {
      i = k;
      return replacement_char;
    }
    const uint8_t b = byte(k);
    const uint8_t low = n == 0 ? lo : 0x80;
    const uint8_t high = n == 0 ? hi : 0xbf;
    if (b < low || b > high) {
      i = k;  // the maximal valid prefix is replaced; this byte starts anew
      return replacement_char;
    }
    c = (c << 6) | (b & 0x3f);
  }
  i = k;
  return c;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const char32_t c = next_code_point(text, i);
    if (c == replacement_char && text.substr(start, i - start) != "\xef\xbf\xbd") {
      append_utf8(out, c);
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  return out;
}

bool is_hidden_control(char32_t c) noexcept {
  if (c == '\t' || c == '\n') return false;
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
         (c >= 0x2066 && c <= 0x2069);
}

std::string control_mark(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return "\u27e8" + std::string(buf) + "\u27e9";
}

// ---------------------------------------------------------------------------------------
// Escaping.

void append_html(std::string& out, std::string_view text, Marks marks, bool newline_ref) {
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const char32_t c = next_code_point(text, i);
    switch (c) {
      case '&':
        out += "&amp;";
        continue;
      case '<':
        out += "&lt;";
        continue;
      case '>':
        out += "&gt;";
        continue;
      case '"':
        out += "&quot;";
        continue;
      case '\'':
        out += "&#39;";
        continue;
      case '\n':
        out += newline_ref ? "&#10;" : "\n";
        continue;
      case '\r':
        if (i < text.size() && text[i] == '\n') continue;
        break;
      default:
        break;
    }
    if (is_hidden_control(c)) {
      if (marks == Marks::span) out += "<span class=\"cc\">";
      out += control_mark(c);
      if (marks == Marks::span) out += "</span>";
    } else if (c == replacement_char) {
      append_utf8(out, c);
    } else {
      out.append(text.substr(start, i - start));
    }
  }
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  append_html(out, text, Marks::text);
  return out;
}

std::string yaml_quote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const char32_t c = next_code_point(text, i);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (is_hidden_control(c) || c == 0x2028 || c == 0x2029 || c == 0xfeff || c == '<') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(c));
      out += buf;
    } else if (c == replacement_char) {
      append_utf8(out, c);
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  out += '"';
  return out;
}

std::string csv_field(std::string_view text) {
  std::string value = valid_utf8(text);
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                         value[0] == '\t' || value[0] == '\r')) {
    value.insert(value.begin(), '\'');
  }
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (const char ch : value) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------------------------------
// Base64.

std::string base64_encode(std::span<const uint8_t> bytes) {
  std::string out;
  constexpr size_t kChunk = 3 * 16384;  // EVP_EncodeBlock takes an int length
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t at = 0; at < bytes.size(); at += kChunk) {
    const size_t n = std::min(kChunk, bytes.size() - at);
    const size_t old = out.size();
    out.resize(old + (n + 2) / 3 * 4 + 1);
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + old),
                                        bytes.data() + at, static_cast<int>(n));
    out.resize(old + static_cast<size_t>(written));
  }
  return out;
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    const bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                       (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
    // '=' only as the last one or two characters.
    const bool pad =
        ch == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text[i + 1] == '=');
    if (!alpha && !pad) return std::nullopt;
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  constexpr size_t kChunk = 4 * 16384;  // a multiple of 4: only the last chunk is padded
  for (size_t at = 0; at < text.size(); at += kChunk) {
    const size_t n = std::min(kChunk, text.size() - at);
    const size_t old = out.size();
    out.resize(old + n / 4 * 3);
    const int written =
        EVP_DecodeBlock(out.data() + old, reinterpret_cast<const unsigned char*>(text.data() + at),
                        static_cast<int>(n));
    if (written < 0 || static_cast<size_t>(written) != n / 4 * 3) return std::nullopt;
  }
  out.resize(out.size() - padding);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

// ---------------------------------------------------------------------------------------
// Numbers.

namespace {

/// The shortest text of every half, and the double it reads as.
struct HalfTable {
  std::vector<std::string> text;
  std::vector<double> value;
};

bool reads_back(const std::string& s, uint16_t h) {
  float f = 0.0f;
  double d = 0.0;
  const auto rf = std::from_chars(s.data(), s.data() + s.size(), f);
  const auto rd = std::from_chars(s.data(), s.data() + s.size(), d);
  return rf.ec == std::errc() && rd.ec == std::errc() && trace_detail::float_to_half(f) == h &&
         trace_detail::float_to_half(static_cast<float>(d)) == h;
}

HalfTable build_half_table() {
  HalfTable table;
  table.text.resize(65536);
  table.value.resize(65536);
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = trace_detail::half_to_float(static_cast<uint16_t>(h));
    std::string& out = table.text[h];
    if (std::isnan(f)) {
      out = "nan";
    } else if (std::isinf(f)) {
      out = f > 0 ? "inf" : "-inf";
    } else {
      char buf[32];
      for (int digits = 1; digits <= 9; ++digits) {
        const auto r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::general, digits);
        out.assign(buf, r.ptr);
        if (reads_back(out, static_cast<uint16_t>(h))) break;
      }
    }
    double d = std::numeric_limits<double>::quiet_NaN();
    if (std::isfinite(f)) std::from_chars(out.data(), out.data() + out.size(), d);
    table.value[h] = d;
  }
  return table;
}

const HalfTable& half_table() {
  static const HalfTable table = build_half_table();
  return table;
}

}  // namespace

std::string_view half_text(uint16_t h) {
  return half_table().text[h];
}

double half_json_value(uint16_t h) {
  return half_table().value[h];
}

uint16_t to_half(float value) noexcept {
  return trace_detail::float_to_half(value);
}

std::string kept_note(const Attachment& a) {
  if (a.kept_units == 0) return {};
  const bool pages = a.kind == "pdf";
  const bool one = a.kept_units == 1;
  return "only its first " + (one ? std::string() : std::to_string(a.kept_units) + " ") +
         (pages ? (one ? "page" : "pages") : (one ? "line" : "lines")) + " reached the model";
}

std::string human_bytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (v >= 1024.0 && unit + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[unit]);
  return buf;
}

std::string hex_colour(uint32_t rgb) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%06x", static_cast<unsigned>(rgb & 0xffffffu));
  return buf;
}

// ---------------------------------------------------------------------------------------
// Sessions.

std::string_view sniff_image_type(std::span<const uint8_t> b) noexcept {
  const auto starts = [&](std::initializer_list<uint8_t> sig, size_t at = 0) {
    if (b.size() < at + sig.size()) return false;
    return std::equal(sig.begin(), sig.end(), b.begin() + static_cast<ptrdiff_t>(at));
  };
  if (starts({0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a})) return "image/png";
  if (starts({0xff, 0xd8, 0xff})) return "image/jpeg";
  if (starts({'G', 'I', 'F', '8', '7', 'a'}) || starts({'G', 'I', 'F', '8', '9', 'a'}))
    return "image/gif";
  if (starts({'R', 'I', 'F', 'F'}) && starts({'W', 'E', 'B', 'P'}, 8)) return "image/webp";
  return "";
}

std::optional<ImageSize> image_size(std::span<const uint8_t> b) noexcept {
  const auto be16 = [&](size_t at) { return static_cast<uint32_t>(b[at] << 8 | b[at + 1]); };
  const auto le16 = [&](size_t at) { return static_cast<uint32_t>(b[at] | b[at + 1] << 8); };
  const auto le24 = [&](size_t at) { return le16(at) | static_cast<uint32_t>(b[at + 2]) << 16; };
  const std::string_view type = sniff_image_type(b);
  if (type == "image/png") {
    if (b.size() < 24 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) return std::nullopt;
    return ImageSize{be16(16) << 16 | be16(18), be16(20) << 16 | be16(22)};
  }
  if (type == "image/gif") {
    if (b.size() < 10) return std::nullopt;
    return ImageSize{le16(6), le16(8)};
  }
  if (type == "image/webp") {
    if (b.size() < 30) return std::nullopt;
    if (std::memcmp(b.data() + 12, "VP8 ", 4) == 0)
      return ImageSize{le16(26) & 0x3fff, le16(28) & 0x3fff};
    if (std::memcmp(b.data() + 12, "VP8L", 4) == 0) {
      const uint32_t bits = le16(21) | le16(23) << 16;
      return ImageSize{(bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1};
    }
    if (std::memcmp(b.data() + 12, "VP8X", 4) == 0) return ImageSize{le24(24) + 1, le24(27) + 1};
    return std::nullopt;
  }
  if (type == "image/jpeg") {
    size_t at = 2;
    while (at + 4 <= b.size()) {
      if (b[at] != 0xff) return std::nullopt;
      const uint8_t marker = b[at + 1];
      if (marker == 0xff) {  // fill byte
        ++at;
        continue;
      }
      if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {  // no length
        at += 2;
        continue;
      }
      const uint32_t length = be16(at + 2);
      const bool sof =
          marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
      if (sof) {
        if (at + 9 > b.size() || length < 7) return std::nullopt;
        return ImageSize{be16(at + 7), be16(at + 5)};
      }
      if (length < 2) return std::nullopt;
      at += 2 + length;
    }
  }
  return std::nullopt;
}

std::string human_time(int64_t unix_ms) {
  const std::string iso = format_iso8601_ms(unix_ms);
  if (iso.size() >= 19 && iso[10] == 'T')
    return iso.substr(0, 10) + " " + iso.substr(11, 8) + " UTC";
  return iso;
}

bool has_token_texts(const Message& message) noexcept {
  return message.trace && !message.trace->empty() &&
         message.token_texts.size() == message.trace->n_tokens();
}

namespace {

/// ASCII lower case, for comparing names as case-insensitive file systems do.
std::string fold_case(std::string_view s) {
  std::string out(s);
  for (char& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

/// Cuts `s` to at most `max_bytes` bytes at a code point boundary.
std::string cut_utf8(std::string s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<uint8_t>(s[end]) & 0xc0) == 0x80) --end;
  s.resize(end);
  return s;
}

/// A file extension for a MIME type when the name has none.
std::string_view extension_for(const Attachment& a) {
  const std::string_view sniffed = sniff_image_type(a.data);
  const std::string_view mime = sniffed.empty() ? std::string_view(a.mime_type) : sniffed;
  if (mime == "image/png") return ".png";
  if (mime == "image/jpeg") return ".jpg";
  if (mime == "image/gif") return ".gif";
  if (mime == "image/webp") return ".webp";
  if (mime == "application/pdf") return ".pdf";
  if (mime.starts_with("text/") || a.kind == "text") return ".txt";
  return ".bin";
}

/// The user's name made safe, before de-duplication.
std::string safe_name(const Attachment& a, size_t index) {
  std::string_view raw = a.file_name;
  const size_t slash = raw.find_last_of("/\\");
  if (slash != std::string_view::npos) raw.remove_prefix(slash + 1);
  std::string name;
  for (size_t i = 0; i < raw.size();) {
    const size_t start = i;
    const char32_t c = next_code_point(raw, i);
    const bool reserved = c < 0x80 && std::string_view("<>:\"|?*\\/").find(static_cast<char>(c)) !=
                                          std::string_view::npos;
    if (c < 0x20 || reserved || is_hidden_control(c) || c == replacement_char) {
      name += '_';
    } else {
      name.append(raw.substr(start, i - start));
    }
  }
  // No leading dots or spaces (hidden files, "..") and no trailing ones (Windows).
  const size_t first = name.find_first_not_of(". ");
  name = first == std::string::npos ? std::string() : name.substr(first);
  while (!name.empty() && (name.back() == '.' || name.back() == ' ')) name.pop_back();
  std::string stem = name, ext;
  const size_t dot = name.rfind('.');
  if (dot != std::string::npos && dot > 0 && name.size() - dot <= 16) {
    stem = name.substr(0, dot);
    ext = name.substr(dot);
  }
  // Reserved device names on Windows, with or without an extension.
  static const std::set<std::string> kReserved = {
      "con",  "prn",  "aux",  "nul",  "com1", "com2", "com3", "com4", "com5", "com6", "com7",
      "com8", "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9"};
  // Windows reserves the device name before the first dot ("con.tar.gz" too).
  const size_t device_end = std::min(stem.find('.'), stem.size());
  if (kReserved.contains(fold_case(stem.substr(0, device_end)))) stem.insert(device_end, "_");
  if (stem.empty()) {
    stem = "attachment-" + std::to_string(index + 1);
    if (ext.empty()) ext = extension_for(a);
  }
  return cut_utf8(stem, 120 - ext.size()) + ext;
}

}  // namespace

std::vector<std::vector<std::string>> attachment_file_names(const Session& session) {
  std::vector<std::vector<std::string>> names(session.messages.size());
  std::set<std::string> taken;                                      // folded names in use
  std::map<std::pair<std::string, std::string>, std::string> same;  // (sha, name) → file
  size_t counter = 0;
  for (size_t m = 0; m < session.messages.size(); ++m) {
    for (const Attachment& a : session.messages[m].attachments) {
      const std::string base = safe_name(a, counter++);
      const std::string sha = a.sha256.empty() && !a.data.empty() ? sha256_hex(a.data) : a.sha256;
      const auto key = std::make_pair(sha, base);
      if (!sha.empty()) {
        if (const auto it = same.find(key); it != same.end()) {
          names[m].push_back(it->second);
          continue;
        }
      }
      std::string name = base;
      const size_t dot = base.rfind('.');
      const std::string stem = dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
      const std::string ext = stem.size() == base.size() ? std::string() : base.substr(dot);
      for (int n = 2; taken.contains(fold_case(name)); ++n)
        name = cut_utf8(stem, 110 - ext.size()) + "-" + std::to_string(n) + ext;
      taken.insert(fold_case(name));
      if (!sha.empty()) same.emplace(key, name);
      names[m].push_back(name);
    }
  }
  return names;
}

}  // namespace detail
}  // namespace es::transcript
