// Characters the regex classes \p{L}, \p{N}, \p{P}, \p{S} and \p{M} hold in the Unicode
// version JavaScript (Node.js 20, ICU 78: Unicode 17) uses for transformers.js, but that
// PCRE2 10.42 (Debian 12, Unicode 14) does not know: the code points assigned since. The
// pre-tokenizer adds them to each class so that text with newer characters (recent emoji,
// CJK extensions, new scripts) splits as Hugging Face's JavaScript reference splits it.
// With a newer PCRE2 the ranges are already in its classes and change nothing.
//
// Produced by enumerating every code point through both engines (`/^\p{L}$/u.test(c)` in
// Node against pcre2_match of "^\p{L}$" in UTF + UCP mode) and keeping what only
// JavaScript matches; no code point matched only by PCRE2 in these classes.
#include <string>
#include <vector>

#include "pretokenize.h"
#include "utf8.h"

namespace es::detail {

std::string_view unicode_class_supplement(char category) noexcept {
  struct Entry {
    char category;
    std::string_view ranges;
  };
  static constexpr Entry table[] = {
      {'L',
       R"(\x{88F}\x{C5C}\x{CDC}\x{1C89}-\x{1C8A}\x{A7CB}-\x{A7CF}\x{A7D2}\x{A7D4}\x{A7DA}-\x{A7DC})"
       R"(\x{A7F1}\x{105C0}-\x{105F3}\x{10940}-\x{10959}\x{10D4A}-\x{10D65}\x{10D6F}-\x{10D85})"
       R"(\x{10EC2}-\x{10EC7}\x{1123F}-\x{11240}\x{11380}-\x{11389}\x{1138B}\x{1138E})"
       R"(\x{11390}-\x{113B5}\x{113B7}\x{113D1}\x{113D3}\x{11BC0}-\x{11BE0}\x{11DB0}-\x{11DDB})"
       R"(\x{11F02}\x{11F04}-\x{11F10}\x{11F12}-\x{11F33}\x{1342F}\x{13441}-\x{13446})"
       R"(\x{13460}-\x{143FA}\x{16100}-\x{1611D}\x{16D40}-\x{16D6C}\x{16EA0}-\x{16EB8})"
       R"(\x{16EBB}-\x{16ED3}\x{16FF2}-\x{16FF3}\x{187F8}-\x{187FF}\x{18CFF}\x{18D09}-\x{18D1E})"
       R"(\x{18D80}-\x{18DF2}\x{1B132}\x{1B155}\x{1DF25}-\x{1DF2A}\x{1E030}-\x{1E06D})"
       R"(\x{1E4D0}-\x{1E4EB}\x{1E5D0}-\x{1E5ED}\x{1E5F0}\x{1E6C0}-\x{1E6DE}\x{1E6E0}-\x{1E6E2})"
       R"(\x{1E6E4}-\x{1E6E5}\x{1E6E7}-\x{1E6ED}\x{1E6F0}-\x{1E6F4}\x{1E6FE}-\x{1E6FF})"
       R"(\x{2B739}-\x{2B73F}\x{2CEA2}-\x{2CEAD}\x{2EBF0}-\x{2EE5D}\x{31350}-\x{33479})"},
      {'N', R"(\x{10D40}-\x{10D49}\x{116D0}-\x{116E3}\x{11BF0}-\x{11BF9}\x{11DE0}-\x{11DE9})"
            R"(\x{11F50}-\x{11F59}\x{16130}-\x{16139}\x{16D70}-\x{16D79}\x{16FF4}-\x{16FF6})"
            R"(\x{1CCF0}-\x{1CCF9}\x{1D2C0}-\x{1D2D3}\x{1E4F0}-\x{1E4F9}\x{1E5F1}-\x{1E5FA})"},
      {'P', R"(\x{1B4E}-\x{1B4F}\x{1B7F}\x{10D6E}\x{10ED0}\x{113D4}-\x{113D5}\x{113D7}-\x{113D8})"
            R"(\x{11B00}-\x{11B09}\x{11BE1}\x{11F43}-\x{11F4F}\x{16D6D}-\x{16D6F}\x{1E5FF})"},
      {'S',
       R"(\x{20C1}\x{2427}-\x{2429}\x{2B96}\x{2FFC}-\x{2FFF}\x{31E4}-\x{31E5}\x{31EF})"
       R"(\x{FBC3}-\x{FBD2}\x{FD90}-\x{FD91}\x{FDC8}-\x{FDCE}\x{10D8E}-\x{10D8F})"
       R"(\x{10ED1}-\x{10ED8}\x{1CC00}-\x{1CCEF}\x{1CCFA}-\x{1CCFC}\x{1CD00}-\x{1CEB3})"
       R"(\x{1CEBA}-\x{1CED0}\x{1CEE0}-\x{1CEF0}\x{1F6D8}\x{1F6DC}\x{1F774}-\x{1F77F}\x{1F7D9})"
       R"(\x{1F8B2}-\x{1F8BB}\x{1F8C0}-\x{1F8C1}\x{1F8D0}-\x{1F8D8}\x{1FA54}-\x{1FA57})"
       R"(\x{1FA75}-\x{1FA77}\x{1FA87}-\x{1FA8A}\x{1FA8E}-\x{1FA8F}\x{1FAAD}-\x{1FAAF})"
       R"(\x{1FABB}-\x{1FABF}\x{1FAC6}\x{1FAC8}\x{1FACD}-\x{1FACF}\x{1FADA}-\x{1FADC}\x{1FADF})"
       R"(\x{1FAE8}-\x{1FAEA}\x{1FAEF}\x{1FAF7}-\x{1FAF8}\x{1FBCB}-\x{1FBEF}\x{1FBFA})"},
      {'M',
       R"(\x{897}\x{CF3}\x{ECE}\x{1ACF}-\x{1ADD}\x{1AE0}-\x{1AEB}\x{10D69}-\x{10D6D})"
       R"(\x{10EFA}-\x{10EFF}\x{11241}\x{113B8}-\x{113C0}\x{113C2}\x{113C5}\x{113C7}-\x{113CA})"
       R"(\x{113CC}-\x{113D0}\x{113D2}\x{113E1}-\x{113E2}\x{11B60}-\x{11B67}\x{11F00}-\x{11F01})"
       R"(\x{11F03}\x{11F34}-\x{11F3A}\x{11F3E}-\x{11F42}\x{11F5A}\x{13440}\x{13447}-\x{13455})"
       R"(\x{1611E}-\x{1612F}\x{1E08F}\x{1E4EC}-\x{1E4EF}\x{1E5EE}-\x{1E5EF}\x{1E6E3}\x{1E6E6})"
       R"(\x{1E6EE}-\x{1E6EF}\x{1E6F5})"},
  };
  for (const Entry& e : table) {
    if (e.category == category) return e.ranges;
  }
  return {};
}

namespace {

/// One bit per code point of every supplement range.
const std::vector<uint64_t>& newer_bitmap() {
  static const std::vector<uint64_t> bits = [] {
    std::vector<uint64_t> b(0x110000 / 64, 0);
    for (const char cat : {'L', 'N', 'P', 'S', 'M'}) {
      const std::string_view r = unicode_class_supplement(cat);
      uint32_t prev = 0;
      bool range = false;
      for (size_t i = 0; i < r.size();) {
        if (r[i] == '-') {
          range = true;
          ++i;
          continue;
        }
        // "\x{HEX}"
        const size_t close = r.find('}', i);
        const auto cp = static_cast<uint32_t>(
            std::stoul(std::string(r.substr(i + 3, close - i - 3)), nullptr, 16));
        for (uint32_t c = range ? prev + 1 : cp; c <= cp; ++c) b[c / 64] |= uint64_t{1} << (c % 64);
        prev = cp;
        range = false;
        i = close + 1;
      }
    }
    return b;
  }();
  return bits;
}

}  // namespace

bool has_newer_code_points(std::string_view text) noexcept {
  const std::vector<uint64_t>& bits = newer_bitmap();
  for (size_t i = 0; i < text.size();) {
    if (static_cast<uint8_t>(text[i]) < 0xE0) {  // Below U+0800: none is newer.
      ++i;
      continue;
    }
    const uint32_t cp = utf8_next(text, i);
    if (cp < 0x110000 && (bits[cp / 64] >> (cp % 64) & 1)) return true;
  }
  return false;
}

}  // namespace es::detail
