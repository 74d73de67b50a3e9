// The run-time dispatched SIMD kernels, one entry point per format family. Internal to
// engine/quant: api.cpp validates the type and length before calling them, so `type` is
// always a member of the family and `n` a multiple of its block size.
#pragma once

#include <cstddef>
#include <cstdint>

#include "expertscope/ggml_types.h"

namespace es::quant::simd {

// Float weights (simd_float.cpp): the activation is an f32 row.
float dot_float(TensorType type, const void* w, const void* x, int64_t n);
void matvec_float(TensorType type, const uint8_t* w, size_t stride, const void* x, int64_t n,
                  float* y, int64_t r0, int64_t r1);
void dequant_float(TensorType type, const void* src, float* dst, int64_t n);

// Legacy 32-value blocks (simd_legacy.cpp): the activation is Q8_0 blocks.
float dot_legacy(TensorType type, const void* w, const void* x, int64_t n);
void matvec_legacy(TensorType type, const uint8_t* w, size_t stride, const void* x, int64_t n,
                   float* y, int64_t r0, int64_t r1);
void dequant_legacy(TensorType type, const void* src, float* dst, int64_t n);

// K-quants (simd_kquants.cpp): the activation is Q8_K super-blocks.
float dot_kquant(TensorType type, const void* w, const void* x, int64_t n);
void matvec_kquant(TensorType type, const uint8_t* w, size_t stride, const void* x, int64_t n,
                   float* y, int64_t r0, int64_t r1);
void dequant_kquant(TensorType type, const void* src, float* dst, int64_t n);

// Multi-token matmuls (simd_gemm_legacy.cpp: legacy and float; simd_gemm_kquants.cpp):
// y[t * y_stride + r] = dot(row r, activation row t) for t < n_tokens, r in [r0, r1).
void gemm_float(TensorType type, const uint8_t* w, size_t w_stride, const uint8_t* x,
                size_t x_stride, int64_t n, int64_t n_tokens, float* y, size_t y_stride, int64_t r0,
                int64_t r1);
void gemm_legacy(TensorType type, const uint8_t* w, size_t w_stride, const uint8_t* x,
                 size_t x_stride, int64_t n, int64_t n_tokens, float* y, size_t y_stride,
                 int64_t r0, int64_t r1);
void gemm_kquant(TensorType type, const uint8_t* w, size_t w_stride, const uint8_t* x,
                 size_t x_stride, int64_t n, int64_t n_tokens, float* y, size_t y_stride,
                 int64_t r0, int64_t r1);

}  // namespace es::quant::simd

namespace es::quant::simd {
/// Highway's id of the target the dispatched kernels run on now.
int64_t dispatched_target();
}  // namespace es::quant::simd
