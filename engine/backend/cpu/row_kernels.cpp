#include "row_kernels.h"

#include "expertscope/quant.h"

namespace es::backend::cpu {

size_t RowKernel::act_row_bytes(size_t n) const {
  return quant::row_bytes(act_type, static_cast<int64_t>(n));
}

void RowKernel::prepare(const float* x, void* out, size_t n) const {
  quant::quantize_activation(act_type, x, out, static_cast<int64_t>(n));
}

void RowKernel::matvec(const uint8_t* w, size_t row_bytes, const void* act, size_t n, float* y,
                       size_t r0, size_t r1) const {
  quant::matvec(type, w, row_bytes, act, static_cast<int64_t>(n), y, static_cast<int64_t>(r0),
                static_cast<int64_t>(r1));
}

void RowKernel::matmul(const uint8_t* w, size_t row_bytes, const void* acts, size_t act_stride,
                       size_t n, size_t n_tokens, float* y, size_t y_stride, size_t r0,
                       size_t r1) const {
  quant::matmul(type, w, row_bytes, acts, act_stride, static_cast<int64_t>(n),
                static_cast<int64_t>(n_tokens), y, y_stride, static_cast<int64_t>(r0),
                static_cast<int64_t>(r1));
}

void RowKernel::widen(const uint8_t* w_row, float* out, size_t n) const {
  quant::dequantize_row(type, w_row, out, static_cast<int64_t>(n));
}

std::optional<RowKernel> row_kernel(TensorType type) noexcept {
  if (!quant::is_weight_type(type)) return std::nullopt;
  return RowKernel{type, quant::activation_type(type)};
}

}  // namespace es::backend::cpu
