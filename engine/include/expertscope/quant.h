// Weight formats as GGUF files carry them (ggml's block layouts) and the arithmetic the
// CPU forward pass runs on them.
//
// For every supported type there is
//   - a reference dequantizer and quantizer: scalar, simple, the truth that tests and the
//     GGUF fixture writer rely on;
//   - a fast dequantizer and a fast dot product, written with Google Highway and
//     dispatched at run time to the best SIMD target this CPU supports (AVX-512, AVX2,
//     SSE4, NEON, or Highway's portable EMU128 path).
//
// Dot products follow llama.cpp: the activation row is quantized once to 8 bits (Q8_0
// blocks for the legacy formats, Q8_K super-blocks for the K-quants; float weights take
// the f32 row as is), then every weight row is multiplied with it in integer arithmetic,
// block by block. A matmul is `quantize_activation` once per token, then `matvec` over a
// row range for one token (decode) or `matmul` over a row range for several (prefill);
// threads split the range.
//
// Buffers are raw pointers: a row of `n` values of a type occupies exactly
// `row_bytes(type, n)` bytes and needs no alignment. `n` must be a multiple of the
// type's block size (32 for the legacy formats, 256 for K-quants, 1 for float types).
// All functions are thread-safe; none allocates except the reference dot product.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "expertscope/ggml_types.h"

namespace es::quant {

/// True for the types whose rows this module can dequantize and quantize: F32, F16,
/// BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, and Q8_K (an
/// activation-only format).
[[nodiscard]] bool is_supported(TensorType type) noexcept;

/// True for the types that can be the weight side of `dot` and `matvec`: the supported
/// types except Q8_K.
[[nodiscard]] bool is_weight_type(TensorType type) noexcept;

/// Bytes of one row of `n` values. Throws es::Error (usage) if `n` is negative or not a
/// multiple of the block size, (unsupported) if the type is not supported.
[[nodiscard]] size_t row_bytes(TensorType type, int64_t n);

/// The format an activation row must be in to be multiplied with weights of
/// `weight_type`: F32 for F32/F16/BF16, Q8_0 for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0, Q8_K for
/// the K-quants. Throws es::Error (unsupported) for other types.
[[nodiscard]] TensorType activation_type(TensorType weight_type);

// ---------------------------------------------------------------------------------------
// Reference (scalar) conversions.

/// Decodes `n` values of `type` from `src` into `dst`, one value at a time as ggml's
/// dequantize_row_* define them.
void dequantize_row_ref(TensorType type, const void* src, float* dst, int64_t n);

/// Encodes `n` floats as `type` into `dst` (row_bytes(type, n) bytes). Legacy formats and
/// Q8_K round exactly as ggml's quantize_row_*_ref; the K-quants use a simpler scale
/// search than ggml's (same layout, comparable error, not byte-identical).
void quantize_row_ref(TensorType type, const float* src, void* dst, int64_t n);

/// Sum over i of w[i] * x[i] with both rows decoded by the reference dequantizers and
/// accumulated in double. `x_act` is in activation_type(weight_type). Allocates 2n floats.
[[nodiscard]] double dot_ref(TensorType weight_type, const void* w_row, const void* x_act,
                             int64_t n);

// ---------------------------------------------------------------------------------------
// Fast (SIMD, run-time dispatched) paths.

/// Same values as dequantize_row_ref (up to float rounding of the scale products).
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);

/// Quantizes an f32 activation row into `act_type` (activation_type(...) of the weights it
/// will meet): Q8_0 and Q8_K round as ggml's quantize_row_q8_0_ref / q8_K_ref; F32 copies.
/// `dst` holds row_bytes(act_type, n) bytes.
void quantize_activation(TensorType act_type, const float* src, void* dst, int64_t n);

/// Dot product of one weight row of `weight_type` with an activation row already in
/// activation_type(weight_type), both of `n` values.
[[nodiscard]] float dot(TensorType weight_type, const void* w_row, const void* x_act, int64_t n);

/// y[r] = dot(row r of W, x) for r in [r0, r1), where row r starts at
/// `w + r * w_row_stride_bytes` and `y` is indexed by the absolute row number. Threads may
/// call it on disjoint ranges of the same W and y.
void matvec(TensorType weight_type, const void* w, size_t w_row_stride_bytes, const void* x_act,
            int64_t n, float* y, int64_t r0, int64_t r1);

/// The matrix product of a row range of W with several activation rows (prefill):
/// y[t * y_row_stride + r] = dot(row r of W, activation row t) for t in [0, n_tokens) and
/// r in [r0, r1), where row r starts at `w + r * w_row_stride_bytes` and activation row t
/// (in activation_type(weight_type)) at `x_acts + t * x_row_stride_bytes`. Register-tiled:
/// each weight block is decoded once per group of tokens and each activation block loaded
/// once per group of rows, so it is several times faster than one matvec per token.
/// Results equal dot's up to float summation order. Threads may call it on disjoint row
/// ranges of the same W and y. Throws es::Error (usage) for a negative token count or an
/// inverted range, as `dot` for bad types and lengths.
void matmul(TensorType weight_type, const void* w, size_t w_row_stride_bytes, const void* x_acts,
            size_t x_row_stride_bytes, int64_t n, int64_t n_tokens, float* y, size_t y_row_stride,
            int64_t r0, int64_t r1);

// ---------------------------------------------------------------------------------------
// SIMD targets (for tests, benchmarks and the engine inspector).

/// One Highway target compiled into this build.
struct SimdTarget {
  int64_t id = 0;         ///< Highway's target bit (HWY_AVX2, ...); never 0.
  std::string_view name;  ///< Highway's name: "AVX3", "AVX2", "SSE4", "NEON", "EMU128".
};

/// The targets compiled into this build that this CPU can run, best first.
[[nodiscard]] std::vector<SimdTarget> simd_targets();

/// The target the fast paths dispatch to now.
[[nodiscard]] SimdTarget current_simd_target();

/// Makes the fast paths use `target_id` (one of simd_targets()), or the best target again
/// when `target_id` is 0. For tests and benchmarks only: not safe while other threads run
/// the fast paths. Throws es::Error (usage) for a target not in simd_targets().
void force_simd_target(int64_t target_id);

}  // namespace es::quant
