// Private: how the CPU backend multiplies weight rows of one type with activations, on top
// of engine/quant (activation rows are quantized once to the weights' activation type,
// then every weight row is taken in place from the file mapping).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "expertscope/ggml_types.h"

namespace es::backend::cpu {

struct RowKernel {
  TensorType type = TensorType::F32;      ///< Weight type.
  TensorType act_type = TensorType::F32;  ///< What activations are converted to.

  /// Bytes of a prepared activation row of n values.
  [[nodiscard]] size_t act_row_bytes(size_t n) const;
  /// Prepares x[0..n) (e.g. quantizes it to 8 bits) into out.
  void prepare(const float* x, void* out, size_t n) const;
  /// y[r] = dot(weight row r, act) for r in [r0, r1); rows are `row_bytes` apart.
  void matvec(const uint8_t* w, size_t row_bytes, const void* act, size_t n, float* y, size_t r0,
              size_t r1) const;
  /// y[t * y_stride + r] = dot(weight row r, activation row t) for t < n_tokens and r in
  /// [r0, r1): the register-tiled multi-token product (prefill). Activation rows are
  /// `act_stride` bytes apart.
  void matmul(const uint8_t* w, size_t row_bytes, const void* acts, size_t act_stride, size_t n,
              size_t n_tokens, float* y, size_t y_stride, size_t r0, size_t r1) const;
  /// Widens one weight row of n values to f32.
  void widen(const uint8_t* w_row, float* out, size_t n) const;
};

/// The kernel for weights of `type`, or nothing if the CPU backend cannot multiply them.
[[nodiscard]] std::optional<RowKernel> row_kernel(TensorType type) noexcept;

}  // namespace es::backend::cpu
