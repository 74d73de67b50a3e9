// SIMD kernels of the float weight formats F32, F16 and BF16: dot products against an f32
// activation row, row-range matvec, and conversion to f32. Compiled once per Highway
// target and dispatched at run time. Also reports which target the dispatcher chose.

// clang-format off
#include "quant/hwy_config.h"  // Before any Highway header.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/simd_float.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include "quant/simd-inl.h"
// clang-format on

#include <cstddef>

#include "quant/simd.h"

HWY_BEFORE_NAMESPACE();
namespace es::quant::HWY_NAMESPACE {
namespace {

using DFull = hn::ScalableTag<float>;

/// Loads Lanes(DFull) weights starting at element i as f32.
struct F32 {
  static HWY_INLINE hn::Vec<DFull> Load(const uint8_t* w, int64_t i) {
    return hn::LoadU(DFull(), reinterpret_cast<const float*>(w) + i);
  }
  static HWY_INLINE float At(const uint8_t* w, int64_t i) { return LoadF32(w + 4 * i); }
};

struct F16 {
  static HWY_INLINE hn::Vec<DFull> Load(const uint8_t* w, int64_t i) {
    const hn::Rebind<hwy::float16_t, DFull> dh;
    return hn::PromoteTo(DFull(), hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(w) + i));
  }
  static HWY_INLINE float At(const uint8_t* w, int64_t i) {
    return half_to_float(LoadU16(w + 2 * i));
  }
};

struct BF16 {
  static HWY_INLINE hn::Vec<DFull> Load(const uint8_t* w, int64_t i) {
    const hn::Rebind<hwy::bfloat16_t, DFull> dh;
    return hn::PromoteTo(DFull(), hn::LoadU(dh, reinterpret_cast<const hwy::bfloat16_t*>(w) + i));
  }
  static HWY_INLINE float At(const uint8_t* w, int64_t i) {
    return bf16_to_float(LoadU16(w + 2 * i));
  }
};

template <class F>
HWY_INLINE float DotRow(const uint8_t* w, const float* x, int64_t n) {
  const DFull d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {  // Four chains hide the FMA latency.
    a0 = hn::MulAdd(F::Load(w, i), hn::LoadU(d, x + i), a0);
    a1 = hn::MulAdd(F::Load(w, i + N), hn::LoadU(d, x + i + N), a1);
    a2 = hn::MulAdd(F::Load(w, i + 2 * N), hn::LoadU(d, x + i + 2 * N), a2);
    a3 = hn::MulAdd(F::Load(w, i + 3 * N), hn::LoadU(d, x + i + 3 * N), a3);
  }
  for (; i + N <= n; i += N) a0 = hn::MulAdd(F::Load(w, i), hn::LoadU(d, x + i), a0);
  float sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  // The activation row may be unaligned too: read its tail bytewise.
  for (; i < n; ++i) sum += F::At(w, i) * LoadF32(reinterpret_cast<const uint8_t*>(x + i));
  return sum;
}

template <class F>
HWY_INLINE void Convert(const uint8_t* w, float* dst, int64_t n) {
  const DFull d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(F::Load(w, i), d, dst + i);
  for (; i < n; ++i) dst[i] = F::At(w, i);
}

template <class F>
void MatvecRows(const uint8_t* w, size_t stride, const float* x, int64_t n, float* y, int64_t r0,
                int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) y[r] = DotRow<F>(w + static_cast<size_t>(r) * stride, x, n);
}

}  // namespace

float DotFloat(TensorType type, const void* w, const void* x, int64_t n) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xf = static_cast<const float*>(x);
  switch (type) {
    case TensorType::F32:
      return DotRow<F32>(wb, xf, n);
    case TensorType::F16:
      return DotRow<F16>(wb, xf, n);
    default:
      return DotRow<BF16>(wb, xf, n);
  }
}

void MatvecFloat(TensorType type, const uint8_t* w, size_t stride, const void* x, int64_t n,
                 float* y, int64_t r0, int64_t r1) {
  const auto* xf = static_cast<const float*>(x);
  switch (type) {
    case TensorType::F32:
      return MatvecRows<F32>(w, stride, xf, n, y, r0, r1);
    case TensorType::F16:
      return MatvecRows<F16>(w, stride, xf, n, y, r0, r1);
    default:
      return MatvecRows<BF16>(w, stride, xf, n, y, r0, r1);
  }
}

void DequantFloat(TensorType type, const void* src, float* dst, int64_t n) {
  const auto* s = static_cast<const uint8_t*>(src);
  switch (type) {
    case TensorType::F32:
      return Convert<F32>(s, dst, n);
    case TensorType::F16:
      return Convert<F16>(s, dst, n);
    default:
      return Convert<BF16>(s, dst, n);
  }
}

int64_t DispatchedTarget() {
  return HWY_TARGET;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace es::quant::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace es::quant {
HWY_EXPORT(DotFloat);
HWY_EXPORT(MatvecFloat);
HWY_EXPORT(DequantFloat);
HWY_EXPORT(DispatchedTarget);

namespace simd {

float dot_float(TensorType type, const void* w, const void* x, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(DotFloat)(type, w, x, n);
}

void matvec_float(TensorType type, const uint8_t* w, size_t stride, const void* x, int64_t n,
                  float* y, int64_t r0, int64_t r1) {
  HWY_DYNAMIC_DISPATCH(MatvecFloat)(type, w, stride, x, n, y, r0, r1);
}

void dequant_float(TensorType type, const void* src, float* dst, int64_t n) {
  HWY_DYNAMIC_DISPATCH(DequantFloat)(type, src, dst, n);
}

int64_t dispatched_target() {
  return HWY_DYNAMIC_DISPATCH(DispatchedTarget)();
}

}  // namespace simd
}  // namespace es::quant
#endif  // HWY_ONCE
