// Private: vector kernels of the CPU attention op (simd_attention.cpp), run-time
// dispatched. KV rows are f16 (IEEE half) or f32.
#pragma once

#include <cstddef>
#include <cstdint>

namespace es::backend::cpu {

/// Σ q[i] * k[i] over n values; k is f16 or f32.
float dot_kv(const float* q, const void* k, size_t n, bool f16);
/// acc[i] = acc[i] * c + a * v[i] over n values; v is f16 or f32.
void scale_add_kv(float* acc, float c, float a, const void* v, size_t n, bool f16);
/// dst[i] = half(src[i]), round to nearest even.
void store_f16(uint16_t* dst, const float* src, size_t n);

}  // namespace es::backend::cpu
