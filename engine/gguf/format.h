// Private: facts about the GGUF byte layout shared by the reader and the writer.
#pragma once

#include <cstdint>

#include "expertscope/gguf.h"

namespace es::gguf::format {

/// "GGUF" as the first four bytes of the file.
inline constexpr uint8_t magic[4] = {'G', 'G', 'U', 'F'};
/// ggml's GGML_MAX_NAME: tensor names are shorter than this (the terminator included).
inline constexpr uint64_t max_tensor_name_bytes = 63;
/// Arrays of arrays may nest this deep; deeper nesting is refused (stack safety).
inline constexpr uint32_t max_array_depth = 16;

/// Size in bytes of one scalar of `type`; 0 for string and array.
constexpr uint64_t scalar_size(ValueType type) noexcept {
  switch (type) {
    case ValueType::u8:
    case ValueType::i8:
    case ValueType::boolean:
      return 1;
    case ValueType::u16:
    case ValueType::i16:
      return 2;
    case ValueType::u32:
    case ValueType::i32:
    case ValueType::f32:
      return 4;
    case ValueType::u64:
    case ValueType::i64:
    case ValueType::f64:
      return 8;
    case ValueType::string:
    case ValueType::array:
      return 0;
  }
  return 0;
}

/// The fewest bytes a value of `type` can occupy in a file (a string: its 8-byte length;
/// an array: element type + count).
constexpr uint64_t min_value_size(ValueType type) noexcept {
  if (type == ValueType::string) return 8;
  if (type == ValueType::array) return 12;
  return scalar_size(type);
}

constexpr bool is_valid_value_type(uint32_t id) noexcept {
  return id <= 12;
}

constexpr uint64_t align_up(uint64_t offset, uint64_t alignment) noexcept {
  return (offset + alignment - 1) / alignment * alignment;
}

}  // namespace es::gguf::format
