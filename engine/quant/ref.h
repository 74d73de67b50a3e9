// Reference (scalar) dequantizers and quantizers, one pair per format. Internal to
// engine/quant: callers go through expertscope/quant.h, which validates type and length.
// Every function takes the number of values `n`, a multiple of the format's block size.
#pragma once

#include <cstdint>

namespace es::quant::ref {

using DequantFn = void (*)(const void* src, float* dst, int64_t n);
using QuantFn = void (*)(const float* src, void* dst, int64_t n);

// Float formats (ref_float.cpp).
void dequant_f32(const void* src, float* dst, int64_t n);
void quant_f32(const float* src, void* dst, int64_t n);
void dequant_f16(const void* src, float* dst, int64_t n);
void quant_f16(const float* src, void* dst, int64_t n);
void dequant_bf16(const void* src, float* dst, int64_t n);
void quant_bf16(const float* src, void* dst, int64_t n);

// Legacy 32-value blocks (ref_legacy.cpp).
void dequant_q4_0(const void* src, float* dst, int64_t n);
void quant_q4_0(const float* src, void* dst, int64_t n);
void dequant_q4_1(const void* src, float* dst, int64_t n);
void quant_q4_1(const float* src, void* dst, int64_t n);
void dequant_q5_0(const void* src, float* dst, int64_t n);
void quant_q5_0(const float* src, void* dst, int64_t n);
void dequant_q5_1(const void* src, float* dst, int64_t n);
void quant_q5_1(const float* src, void* dst, int64_t n);
void dequant_q8_0(const void* src, float* dst, int64_t n);
void quant_q8_0(const float* src, void* dst, int64_t n);

// K-quants, 256-value super-blocks (ref_kquants.cpp, ref_kquants_fit.cpp).
void dequant_q2_k(const void* src, float* dst, int64_t n);
void quant_q2_k(const float* src, void* dst, int64_t n);
void dequant_q3_k(const void* src, float* dst, int64_t n);
void quant_q3_k(const float* src, void* dst, int64_t n);
void dequant_q4_k(const void* src, float* dst, int64_t n);
void quant_q4_k(const float* src, void* dst, int64_t n);
void dequant_q5_k(const void* src, float* dst, int64_t n);
void quant_q5_k(const float* src, void* dst, int64_t n);
void dequant_q6_k(const void* src, float* dst, int64_t n);
void quant_q6_k(const float* src, void* dst, int64_t n);
void dequant_q8_k(const void* src, float* dst, int64_t n);
void quant_q8_k(const float* src, void* dst, int64_t n);

}  // namespace es::quant::ref
