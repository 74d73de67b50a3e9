// SIMD kernels of the legacy 32-value blocks Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: dot products
// against Q8_0 activation blocks, row-range matvec, and dequantization. Compiled once per
// Highway target (foreach_target.h) and dispatched at run time.
//
// Per block: unpack the weights to 32 bytes, multiply with the activation bytes exactly in
// int32, then scale by d_w * d_x in float. Signed formats (Q4_0, Q5_0, Q8_0) use the
// |w| * sign(w)x trick of pmaddubsw; affine ones (Q4_1, Q5_1: w = d*q + m) add
// m * d_x * sum(x), the activation sum computed alongside.

// clang-format off
#include "quant/hwy_config.h"  // Before any Highway header.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/simd_legacy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include "quant/simd-inl.h"
// clang-format on

#include <cstddef>

#include "quant/simd.h"

HWY_BEFORE_NAMESPACE();
namespace es::quant::HWY_NAMESPACE {
namespace {

// Byte offsets inside the blocks (blocks.h), read in place: rows are unaligned.
constexpr size_t kQ8Bytes = sizeof(BlockQ8_0);

/// Q4_0: d at 0, nibbles at 2.
struct Q4_0 {
  static constexpr size_t kBytes = sizeof(BlockQ4_0);
  static HWY_INLINE float Decode(const uint8_t* b, I8x32* q) {
    *q = SubConst(Nibbles16(b + 2), 8);
    return HalfToFloat(LoadU16(b));
  }
};

/// Q5_0: d at 0, high bits at 2, nibbles at 6.
struct Q5_0 {
  static constexpr size_t kBytes = sizeof(BlockQ5_0);
  static HWY_INLINE float Decode(const uint8_t* b, I8x32* q) {
    *q = SubUnless(Nibbles16(b + 6), LoadBits32(b + 2), 16);
    return HalfToFloat(LoadU16(b));
  }
};

/// Q8_0: d at 0, bytes at 2.
struct Q8_0 {
  static constexpr size_t kBytes = sizeof(BlockQ8_0);
  static HWY_INLINE float Decode(const uint8_t* b, I8x32* q) {
    *q = LoadI8x32(reinterpret_cast<const int8_t*>(b + 2));
    return HalfToFloat(LoadU16(b));
  }
};

/// Q4_1: d at 0, m at 2, nibbles at 4.
struct Q4_1 {
  static constexpr size_t kBytes = sizeof(BlockQ4_1);
  static HWY_INLINE float Decode(const uint8_t* b, U8x32* q, float* m) {
    *q = Nibbles16(b + 4);
    *m = HalfToFloat(LoadU16(b + 2));
    return HalfToFloat(LoadU16(b));
  }
};

/// Q5_1: d at 0, m at 2, high bits at 4, nibbles at 8.
struct Q5_1 {
  static constexpr size_t kBytes = sizeof(BlockQ5_1);
  static HWY_INLINE float Decode(const uint8_t* b, U8x32* q, float* m) {
    *q = AddIf(Nibbles16(b + 8), LoadBits32(b + 4), 16);
    *m = HalfToFloat(LoadU16(b + 2));
    return HalfToFloat(LoadU16(b));
  }
};

HWY_INLINE const int8_t* ActBytes(const uint8_t* xb) {
  return reinterpret_cast<const int8_t*>(xb + 2);
}

/// One block of a signed format times one Q8_0 block, accumulated into acc.
template <class F>
HWY_INLINE VF SignedBlock(const uint8_t* wb, const uint8_t* xb, VF acc) {
  I8x32 q;
  const float dw = F::Decode(wb, &q);
  const VI32 s = DotS(hn::Zero(DI32()), q, LoadI8x32(ActBytes(xb)));
  return hn::MulAdd(hn::ConvertTo(DF(), s), hn::Set(DF(), dw * HalfToFloat(LoadU16(xb))), acc);
}

/// One block of an affine format times one Q8_0 block.
template <class F>
HWY_INLINE VF AffineBlock(const uint8_t* wb, const uint8_t* xb, VF acc) {
  U8x32 q;
  float m;
  const float dw = F::Decode(wb, &q, &m);
  const float dx = HalfToFloat(LoadU16(xb));
  const I8x32 x = LoadI8x32(ActBytes(xb));
  U8x32 one;
  for (int i = 0; i < kParts; ++i) one.v[i] = hn::Set(DU8(), 1);
  const VI32 s = DotU(hn::Zero(DI32()), q, x);
  const VI32 sx = DotU(hn::Zero(DI32()), one, x);
  acc = hn::MulAdd(hn::ConvertTo(DF(), s), hn::Set(DF(), dw * dx), acc);
  return hn::MulAdd(hn::ConvertTo(DF(), sx), hn::Set(DF(), m * dx), acc);
}

template <class F>
HWY_INLINE float DotRowSigned(const uint8_t* w, const uint8_t* x, int64_t nb) {
  VF acc0 = hn::Zero(DF()), acc1 = hn::Zero(DF());
  int64_t i = 0;
  for (; i + 1 < nb; i += 2) {  // Two chains hide the FMA latency.
    acc0 = SignedBlock<F>(w + i * F::kBytes, x + i * kQ8Bytes, acc0);
    acc1 = SignedBlock<F>(w + (i + 1) * F::kBytes, x + (i + 1) * kQ8Bytes, acc1);
  }
  if (i < nb) acc0 = SignedBlock<F>(w + i * F::kBytes, x + i * kQ8Bytes, acc0);
  return ReduceF(hn::Add(acc0, acc1));
}

template <class F>
HWY_INLINE float DotRowAffine(const uint8_t* w, const uint8_t* x, int64_t nb) {
  VF acc0 = hn::Zero(DF()), acc1 = hn::Zero(DF());
  int64_t i = 0;
  for (; i + 1 < nb; i += 2) {
    acc0 = AffineBlock<F>(w + i * F::kBytes, x + i * kQ8Bytes, acc0);
    acc1 = AffineBlock<F>(w + (i + 1) * F::kBytes, x + (i + 1) * kQ8Bytes, acc1);
  }
  if (i < nb) acc0 = AffineBlock<F>(w + i * F::kBytes, x + i * kQ8Bytes, acc0);
  return ReduceF(hn::Add(acc0, acc1));
}

template <class F>
void DequantSigned(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    I8x32 q;
    const float d = F::Decode(src + i * F::kBytes, &q);
    StoreScaled(q, d, d, 0.f, 0.f, dst + i * kQK);
  }
}

template <class F>
void DequantAffine(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    U8x32 q;
    float m;
    const float d = F::Decode(src + i * F::kBytes, &q, &m);
    StoreScaledU(q, d, d, m, m, dst + i * kQK);
  }
}

using RowDot = float (*)(const uint8_t*, const uint8_t*, int64_t);

RowDot RowDotFor(TensorType type) {
  switch (type) {
    case TensorType::Q4_0:
      return DotRowSigned<Q4_0>;
    case TensorType::Q5_0:
      return DotRowSigned<Q5_0>;
    case TensorType::Q8_0:
      return DotRowSigned<Q8_0>;
    case TensorType::Q4_1:
      return DotRowAffine<Q4_1>;
    default:
      return DotRowAffine<Q5_1>;
  }
}

template <class F, bool kAffine>
void MatvecRows(const uint8_t* w, size_t stride, const uint8_t* x, int64_t nb, float* y, int64_t r0,
                int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w + static_cast<size_t>(r) * stride;
    if constexpr (kAffine) {
      y[r] = DotRowAffine<F>(row, x, nb);
    } else {
      y[r] = DotRowSigned<F>(row, x, nb);
    }
  }
}

}  // namespace

float DotLegacy(TensorType type, const void* w, const void* x, int64_t n) {
  return RowDotFor(type)(static_cast<const uint8_t*>(w), static_cast<const uint8_t*>(x), n / kQK);
}

void MatvecLegacy(TensorType type, const uint8_t* w, size_t stride, const void* x, int64_t n,
                  float* y, int64_t r0, int64_t r1) {
  const auto* xb = static_cast<const uint8_t*>(x);
  const int64_t nb = n / kQK;
  switch (type) {  // The format is chosen once; the row loop inlines its kernel.
    case TensorType::Q4_0:
      return MatvecRows<Q4_0, false>(w, stride, xb, nb, y, r0, r1);
    case TensorType::Q5_0:
      return MatvecRows<Q5_0, false>(w, stride, xb, nb, y, r0, r1);
    case TensorType::Q8_0:
      return MatvecRows<Q8_0, false>(w, stride, xb, nb, y, r0, r1);
    case TensorType::Q4_1:
      return MatvecRows<Q4_1, true>(w, stride, xb, nb, y, r0, r1);
    default:
      return MatvecRows<Q5_1, true>(w, stride, xb, nb, y, r0, r1);
  }
}

void DequantLegacy(TensorType type, const void* src, float* dst, int64_t n) {
  const auto* s = static_cast<const uint8_t*>(src);
  switch (type) {
    case TensorType::Q4_0:
      return DequantSigned<Q4_0>(s, dst, n / kQK);
    case TensorType::Q5_0:
      return DequantSigned<Q5_0>(s, dst, n / kQK);
    case TensorType::Q8_0:
      return DequantSigned<Q8_0>(s, dst, n / kQK);
    case TensorType::Q4_1:
      return DequantAffine<Q4_1>(s, dst, n / kQK);
    default:
      return DequantAffine<Q5_1>(s, dst, n / kQK);
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace es::quant::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace es::quant {
HWY_EXPORT(DotLegacy);
HWY_EXPORT(MatvecLegacy);
HWY_EXPORT(DequantLegacy);

namespace simd {

float dot_legacy(TensorType type, const void* w, const void* x, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(DotLegacy)(type, w, x, n);
}

void matvec_legacy(TensorType type, const uint8_t* w, size_t stride, const void* x, int64_t n,
                   float* y, int64_t r0, int64_t r1) {
  HWY_DYNAMIC_DISPATCH(MatvecLegacy)(type, w, stride, x, n, y, r0, r1);
}

void dequant_legacy(TensorType type, const void* src, float* dst, int64_t n) {
  HWY_DYNAMIC_DISPATCH(DequantLegacy)(type, src, dst, n);
}

}  // namespace simd
}  // namespace es::quant
#endif  // HWY_ONCE
