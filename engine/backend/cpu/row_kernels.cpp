// Row kernels for the float weight types. Quantized types come from engine/quant.
#include "row_kernels.h"

#include <cstring>

#include "core/half.h"

namespace es::backend::cpu {
namespace {

size_t f32_act_bytes(size_t n) {
  return n * sizeof(float);
}
void f32_prepare(const float* x, void* out, size_t n) {
  std::memcpy(out, x, n * sizeof(float));
}

template <typename Load>
float dot_with(const uint8_t* w_row, const void* act, size_t n, Load load) {
  const auto* x = static_cast<const float*>(act);
  float acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) acc[j] += load(w_row, i + j) * x[i + j];
  }
  float s = 0;
  for (; i < n; ++i) s += load(w_row, i) * x[i];
  for (float a : acc) s += a;
  return s;
}

float load_f32(const uint8_t* p, size_t i) {
  float v;
  std::memcpy(&v, p + 4 * i, 4);
  return v;
}
float load_f16(const uint8_t* p, size_t i) {
  uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  return half_to_float(h);
}
float load_bf16(const uint8_t* p, size_t i) {
  uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  return bf16_to_float(h);
}

float f32_dot(const uint8_t* w, const void* x, size_t n) {
  return dot_with(w, x, n, load_f32);
}
float f16_dot(const uint8_t* w, const void* x, size_t n) {
  return dot_with(w, x, n, load_f16);
}
float bf16_dot(const uint8_t* w, const void* x, size_t n) {
  return dot_with(w, x, n, load_bf16);
}

void f32_widen(const uint8_t* w, float* out, size_t n) {
  std::memcpy(out, w, n * 4);
}
void f16_widen(const uint8_t* w, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = load_f16(w, i);
}
void bf16_widen(const uint8_t* w, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = load_bf16(w, i);
}

constexpr RowKernel kF32{TensorType::F32, f32_act_bytes, f32_prepare, f32_dot, f32_widen};
constexpr RowKernel kF16{TensorType::F16, f32_act_bytes, f32_prepare, f16_dot, f16_widen};
constexpr RowKernel kBF16{TensorType::BF16, f32_act_bytes, f32_prepare, bf16_dot, bf16_widen};

}  // namespace

const RowKernel* row_kernel(TensorType type) noexcept {
  switch (type) {
    case TensorType::F32:
      return &kF32;
    case TensorType::F16:
      return &kF16;
    case TensorType::BF16:
      return &kBF16;
    default:
      return nullptr;
  }
}

}  // namespace es::backend::cpu
