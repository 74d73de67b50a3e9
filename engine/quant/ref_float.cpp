// Reference conversions of the float formats: F32 (a copy), F16 and BF16 (round to
// nearest even, as ggml's GGML_FP32_TO_FP16 and ggml_compute_fp32_to_bf16).
#include <cstring>

#include "quant/blocks.h"
#include "quant/ref.h"

namespace es::quant::ref {

void dequant_f32(const void* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void quant_f32(const float* src, void* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void dequant_f16(const void* src, float* dst, int64_t n) {
  const auto* p = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    dst[i] = half_to_float(h);
  }
}

void quant_f16(const float* src, void* dst, int64_t n) {
  auto* p = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = float_to_half(src[i]);
    std::memcpy(p + 2 * i, &h, 2);
  }
}

void dequant_bf16(const void* src, float* dst, int64_t n) {
  const auto* p = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    dst[i] = bf16_to_float(h);
  }
}

void quant_bf16(const float* src, void* dst, int64_t n) {
  auto* p = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = float_to_bf16(src[i]);
    std::memcpy(p + 2 * i, &h, 2);
  }
}

}  // namespace es::quant::ref
