// Tensor element types as GGUF files carry them (ggml's `ggml_type` numbering), with the
// block geometry needed to size a tensor. The numbering is part of the file format and
// must never change. Dequantizers and dot products live in engine/quant.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace es {

/// ggml tensor types by their on-disk id. Ids that ggml retired (4, 5) are absent.
enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

/// Block geometry of a tensor type: `block_elems` values are stored in `block_bytes` bytes.
struct TensorTypeTraits {
  TensorType type;
  std::string_view name;  ///< ggml's name, e.g. "Q4_K".
  uint32_t block_elems;
  uint32_t block_bytes;
};

/// Traits of a type id read from a file, or nothing if the id is unknown.
[[nodiscard]] std::optional<TensorTypeTraits> tensor_type_traits(uint32_t type_id) noexcept;

/// Traits of a known type.
[[nodiscard]] const TensorTypeTraits& tensor_type_traits(TensorType type) noexcept;

/// ggml's name of a type ("F32", "Q4_K", ...).
[[nodiscard]] std::string_view tensor_type_name(TensorType type) noexcept;

/// The type whose ggml name is `name` (case-sensitive), if any.
[[nodiscard]] std::optional<TensorType> tensor_type_from_name(std::string_view name) noexcept;

}  // namespace es
