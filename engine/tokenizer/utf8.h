// UTF-8 helpers of the tokenizer: validation, WHATWG-style repair, and GPT-2's byte-level
// alphabet (bytes_to_unicode).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace es::detail {

/// U+FFFD REPLACEMENT CHARACTER in UTF-8.
inline constexpr std::string_view replacement_utf8 = "\xEF\xBF\xBD";

/// True if `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
[[nodiscard]] bool utf8_valid(std::string_view s) noexcept;

/// Appends `in` to `out` with every maximal ill-formed subpart replaced by U+FFFD, the
/// WHATWG Encoding Standard's UTF-8 decoder (what TextDecoder and Python's
/// errors="replace" do). With `final` false, an incomplete sequence at the end that could
/// still become valid is not consumed. Returns the number of bytes of `in` consumed.
size_t utf8_repair_append(std::string_view in, std::string& out, bool final);

/// `in` with ill-formed subparts replaced by U+FFFD.
[[nodiscard]] std::string utf8_repair(std::string_view in);

/// Appends the UTF-8 encoding of `cp` (cp <= 0x10FFFF, not a surrogate).
void utf8_append(std::string& out, uint32_t cp);

/// Decodes the character at s[i] of valid UTF-8 and advances i past it.
[[nodiscard]] uint32_t utf8_next(std::string_view s, size_t& i) noexcept;

/// Length in bytes of the UTF-8 sequence a lead byte starts (1 for invalid lead bytes).
[[nodiscard]] inline size_t utf8_seq_len(uint8_t lead) noexcept {
  return lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF8 ? 4 : 1;
}

/// GPT-2 bytes_to_unicode: the code point byte-level BPE writes for a byte.
[[nodiscard]] uint32_t byte_to_code_point(uint8_t byte) noexcept;

/// The byte a byte-level code point stands for, or -1 if `cp` is not in the alphabet.
[[nodiscard]] int code_point_to_byte(uint32_t cp) noexcept;

/// Decodes a byte-level string (e.g. "Ġhello") into the bytes it stands for. Returns false
/// (leaving `out` unspecified) if `text` is not valid UTF-8 or holds a character outside
/// the byte-level alphabet.
[[nodiscard]] bool byte_level_decode(std::string_view text, std::string& out);

/// The byte-level string of some bytes ("hello world" -> "helloĠworld").
[[nodiscard]] std::string byte_level_encode(std::string_view bytes);

/// A short, printable rendering of a token or text for error messages: at most `max_bytes`
/// bytes, control bytes and invalid UTF-8 escaped as \xHH.
[[nodiscard]] std::string quote_for_error(std::string_view s, size_t max_bytes = 40);

}  // namespace es::detail
