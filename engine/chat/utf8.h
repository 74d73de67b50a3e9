// Small UTF-8 helpers: Python indexes strings by code point, so length, indexing and slicing
// of template strings do too. Invalid bytes count as one code point each (U+FFFD).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace es::chat::detail {

/// The code point at `pos` and its length in bytes (>= 1); U+FFFD for an invalid sequence.
uint32_t decode_utf8(std::string_view s, size_t pos, size_t* len);
/// Appends a code point as UTF-8 (surrogates and values past U+10FFFF become U+FFFD).
void append_utf8(std::string* out, uint32_t cp);
/// The number of code points.
size_t utf8_length(std::string_view s);
/// Byte offsets of each code point, plus s.size() at the end.
std::vector<size_t> utf8_offsets(std::string_view s);

}  // namespace es::chat::detail
