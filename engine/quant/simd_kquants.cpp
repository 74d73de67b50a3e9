// SIMD kernels of the K-quants Q2_K ... Q6_K: dot products against Q8_K activation
// super-blocks, row-range matvec, and dequantization. Compiled once per Highway target
// and dispatched at run time.
//
// Per super-block of 256 values: unpack the weights to unsigned bytes u (0..63) a group
// of 32 at a time, multiply with the activation bytes (pmaddubsw) and the group's int16
// sub-block scales (pmaddwd) exactly in int32, then scale by d_w * d_x once in float.
// The sub-block scales are unpacked with vector arithmetic and looked up with one byte
// shuffle per group. Offsets — the mins of Q2_K/Q4_K/Q5_K, the -32 of Q6_K, the -4 of
// Q3_K — are one pmaddwd of the activation's 16-value sums (bsums) with the scales or
// mins, as llama.cpp does. The formats themselves are in kquants-inl.h.

// clang-format off
#include "quant/hwy_config.h"  // Before any Highway header.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/simd_kquants.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include "quant/simd-inl.h"
#include "quant/kquants-inl.h"
// clang-format on

#include <cstddef>

#include "quant/simd.h"

HWY_BEFORE_NAMESPACE();
namespace es::quant::HWY_NAMESPACE {
namespace {

constexpr size_t kActBytes = sizeof(BlockQ8_K);

template <class F>
HWY_INLINE float DotRow(const uint8_t* w, const uint8_t* x, int64_t nb) {
  Acc acc{hn::Zero(DF()), hn::Zero(DF())};
  for (int64_t i = 0; i < nb; ++i) F::Dot(w + i * F::kBytes, x + i * kActBytes, &acc);
  return acc.Result();
}

template <class F>
void MatvecRows(const uint8_t* w, size_t stride, const uint8_t* x, int64_t nb, float* y, int64_t r0,
                int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) y[r] = DotRow<F>(w + static_cast<size_t>(r) * stride, x, nb);
}

template <class F>
void DequantRow(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) F::Dequant(src + i * F::kBytes, dst + i * kQK_K);
}

/// Calls fn.template operator()<Format>() for the K-quant `type`.
template <class Fn>
HWY_INLINE auto WithFormat(TensorType type, Fn&& fn) {
  switch (type) {
    case TensorType::Q2_K:
      return fn.template operator()<Q2K>();
    case TensorType::Q3_K:
      return fn.template operator()<Q3K>();
    case TensorType::Q4_K:
      return fn.template operator()<QK4<false>>();
    case TensorType::Q5_K:
      return fn.template operator()<QK4<true>>();
    default:
      return fn.template operator()<Q6K>();
  }
}

}  // namespace

float DotKQuant(TensorType type, const void* w, const void* x, int64_t n) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  return WithFormat(type, [&]<class F>() { return DotRow<F>(wb, xb, n / kQK_K); });
}

void MatvecKQuant(TensorType type, const uint8_t* w, size_t stride, const void* x, int64_t n,
                  float* y, int64_t r0, int64_t r1) {
  const auto* xb = static_cast<const uint8_t*>(x);
  WithFormat(type, [&]<class F>() { MatvecRows<F>(w, stride, xb, n / kQK_K, y, r0, r1); });
}

void DequantKQuant(TensorType type, const void* src, float* dst, int64_t n) {
  const auto* s = static_cast<const uint8_t*>(src);
  WithFormat(type, [&]<class F>() { DequantRow<F>(s, dst, n / kQK_K); });
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace es::quant::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace es::quant {
HWY_EXPORT(DotKQuant);
HWY_EXPORT(MatvecKQuant);
HWY_EXPORT(DequantKQuant);

namespace simd {

float dot_kquant(TensorType type, const void* w, const void* x, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(DotKQuant)(type, w, x, n);
}

void matvec_kquant(TensorType type, const uint8_t* w, size_t stride, const void* x, int64_t n,
                   float* y, int64_t r0, int64_t r1) {
  HWY_DYNAMIC_DISPATCH(MatvecKQuant)(type, w, stride, x, n, y, r0, r1);
}

void dequant_kquant(TensorType type, const void* src, float* dst, int64_t n) {
  HWY_DYNAMIC_DISPATCH(DequantKQuant)(type, src, dst, n);
}

}  // namespace simd
}  // namespace es::quant
#endif  // HWY_ONCE
