// Vector kernels of the attention op: dot products and scaled accumulation against KV
// rows in f16 or f32, and f32 -> f16 stores. Highway, dispatched at run time with the same
// target policy as engine/quant.

// clang-format off
#include "quant/hwy_config.h"  // Before any Highway header.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backend/cpu/simd_attention.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
// clang-format on

#include "simd_attention.h"

#include "core/half.h"

HWY_BEFORE_NAMESPACE();
namespace es::backend::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DH = hn::Rebind<hwy::float16_t, DF>;

float DotF16(const float* q, const uint16_t* k, size_t n) {
  const DF df;
  const DH dh;
  const size_t N = hn::Lanes(df);
  auto acc0 = hn::Zero(df), acc1 = hn::Zero(df);
  const auto* kh = reinterpret_cast<const hwy::float16_t*>(k);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    acc0 = hn::MulAdd(hn::LoadU(df, q + i), hn::PromoteTo(df, hn::LoadU(dh, kh + i)), acc0);
    acc1 = hn::MulAdd(hn::LoadU(df, q + i + N), hn::PromoteTo(df, hn::LoadU(dh, kh + i + N)), acc1);
  }
  for (; i + N <= n; i += N) {
    acc0 = hn::MulAdd(hn::LoadU(df, q + i), hn::PromoteTo(df, hn::LoadU(dh, kh + i)), acc0);
  }
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(acc0, acc1)));
  for (; i < n; ++i) s += q[i] * half_to_float(k[i]);
  return s;
}

float DotF32(const float* q, const float* k, size_t n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  auto acc0 = hn::Zero(df), acc1 = hn::Zero(df);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    acc0 = hn::MulAdd(hn::LoadU(df, q + i), hn::LoadU(df, k + i), acc0);
    acc1 = hn::MulAdd(hn::LoadU(df, q + i + N), hn::LoadU(df, k + i + N), acc1);
  }
  for (; i + N <= n; i += N) acc0 = hn::MulAdd(hn::LoadU(df, q + i), hn::LoadU(df, k + i), acc0);
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(acc0, acc1)));
  for (; i < n; ++i) s += q[i] * k[i];
  return s;
}

void ScaleAddF16(float* acc, float c, float a, const uint16_t* v, size_t n) {
  const DF df;
  const DH dh;
  const size_t N = hn::Lanes(df);
  const auto vc = hn::Set(df, c), va = hn::Set(df, a);
  const auto* vh = reinterpret_cast<const hwy::float16_t*>(v);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto x = hn::Mul(hn::LoadU(df, acc + i), vc);
    hn::StoreU(hn::MulAdd(va, hn::PromoteTo(df, hn::LoadU(dh, vh + i)), x), df, acc + i);
  }
  for (; i < n; ++i) acc[i] = acc[i] * c + a * half_to_float(v[i]);
}

void ScaleAddF32(float* acc, float c, float a, const float* v, size_t n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const auto vc = hn::Set(df, c), va = hn::Set(df, a);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto x = hn::Mul(hn::LoadU(df, acc + i), vc);
    hn::StoreU(hn::MulAdd(va, hn::LoadU(df, v + i), x), df, acc + i);
  }
  for (; i < n; ++i) acc[i] = acc[i] * c + a * v[i];
}

void StoreF16(uint16_t* dst, const float* src, size_t n) {
  const DF df;
  const DH dh;
  const size_t N = hn::Lanes(df);
  auto* h = reinterpret_cast<hwy::float16_t*>(dst);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::DemoteTo(dh, hn::LoadU(df, src + i)), dh, h + i);
  for (; i < n; ++i) dst[i] = float_to_half(src[i]);
}

}  // namespace es::backend::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace es::backend::cpu {
HWY_EXPORT(DotF16);
HWY_EXPORT(DotF32);
HWY_EXPORT(ScaleAddF16);
HWY_EXPORT(ScaleAddF32);
HWY_EXPORT(StoreF16);

float dot_kv(const float* q, const void* k, size_t n, bool f16) {
  return f16 ? HWY_DYNAMIC_DISPATCH(DotF16)(q, static_cast<const uint16_t*>(k), n)
             : HWY_DYNAMIC_DISPATCH(DotF32)(q, static_cast<const float*>(k), n);
}

void scale_add_kv(float* acc, float c, float a, const void* v, size_t n, bool f16) {
  if (f16) {
    HWY_DYNAMIC_DISPATCH(ScaleAddF16)(acc, c, a, static_cast<const uint16_t*>(v), n);
  } else {
    HWY_DYNAMIC_DISPATCH(ScaleAddF32)(acc, c, a, static_cast<const float*>(v), n);
  }
}

void store_f16(uint16_t* dst, const float* src, size_t n) {
  HWY_DYNAMIC_DISPATCH(StoreF16)(dst, src, n);
}
}  // namespace es::backend::cpu
#endif
