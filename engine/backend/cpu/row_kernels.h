// Private: per weight type, how to prepare an activation row and take its dot product with
// one weight row. The forward pass's matrix products are built from these.
#pragma once

#include <cstddef>
#include <cstdint>

#include "expertscope/ggml_types.h"

namespace es::backend::cpu {

struct RowKernel {
  TensorType type = TensorType::F32;
  /// Bytes of a prepared activation row of n values.
  size_t (*act_row_bytes)(size_t n) = nullptr;
  /// Prepares x[0..n) (e.g. quantizes it to 8 bits) into out.
  void (*prepare)(const float* x, void* out, size_t n) = nullptr;
  /// Dot product of one weight row (n values) with a prepared activation row.
  float (*dot)(const uint8_t* w_row, const void* act, size_t n) = nullptr;
  /// Widens one weight row of n values to f32.
  void (*widen)(const uint8_t* w_row, float* out, size_t n) = nullptr;
};

/// The kernel for weights of `type`, or nullptr if the CPU backend lacks one.
const RowKernel* row_kernel(TensorType type) noexcept;

}  // namespace es::backend::cpu
