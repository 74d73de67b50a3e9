// SIMD kernels of the legacy 32-value blocks Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: dot products
// against Q8_0 activation blocks, row-range matvec, and dequantization. Compiled once per
// Highway target (foreach_target.h) and dispatched at run time.
//
// Per block: unpack the weights to 32 unsigned bytes and multiply them with the activation
// bytes exactly in int32 (pmaddubsw; Q8_0's signed weights through |w| * sign(w) x). The
// offsets (-8 of Q4_0, -16 of Q5_0) and mins (m of Q4_1/Q5_1) use the activation blocks'
// byte sums, computed once per call with their scales; a step of 8 blocks (4 on 128-bit
// targets) then gathers its 8 integer sums into one vector, so scales cost one multiply.

// clang-format off
#include "quant/hwy_config.h"  // Before any Highway header.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/simd_legacy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include "quant/simd-inl.h"
// clang-format on

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "quant/simd.h"

HWY_BEFORE_NAMESPACE();
namespace es::quant::HWY_NAMESPACE {
namespace {

// Byte offsets inside the blocks (blocks.h), read in place: rows are unaligned.
constexpr size_t kQ8Bytes = sizeof(BlockQ8_0);

// Each format: its block size, where d (and m) sit, how to unpack the 32 weights, and how
// the block's integer dot product relates to the values: value = u - kOffset for the
// unsigned ones (Q4_0, Q5_0: sum(u x) - kOffset * sum(x)), d * u + m for the affine ones,
// plain signed bytes for Q8_0.

/// Q4_0: d at 0, nibbles at 2; value = nibble - 8.
struct Q4_0 {
  static constexpr size_t kBytes = sizeof(BlockQ4_0);
  static constexpr int kOffsetShift = 3;  // 8 = 1 << 3
  static constexpr bool kAffine = false;
  static HWY_INLINE U8x32 Unpack(const uint8_t* b) { return Nibbles16(b + 2); }
};

/// Q5_0: d at 0, high bits at 2, nibbles at 6; value = (nibble | bit << 4) - 16.
struct Q5_0 {
  static constexpr size_t kBytes = sizeof(BlockQ5_0);
  static constexpr int kOffsetShift = 4;
  static constexpr bool kAffine = false;
  static HWY_INLINE U8x32 Unpack(const uint8_t* b) {
    return AddIf(Nibbles16(b + 6), LoadBits32(b + 2), 16);
  }
};

/// Q4_1: d at 0, m at 2, nibbles at 4; value = d * nibble + m.
struct Q4_1 {
  static constexpr size_t kBytes = sizeof(BlockQ4_1);
  static constexpr int kOffsetShift = -1;
  static constexpr bool kAffine = true;
  static HWY_INLINE U8x32 Unpack(const uint8_t* b) { return Nibbles16(b + 4); }
};

/// Q5_1: d at 0, m at 2, high bits at 4, nibbles at 8.
struct Q5_1 {
  static constexpr size_t kBytes = sizeof(BlockQ5_1);
  static constexpr int kOffsetShift = -1;
  static constexpr bool kAffine = true;
  static HWY_INLINE U8x32 Unpack(const uint8_t* b) {
    return AddIf(Nibbles16(b + 8), LoadBits32(b + 4), 16);
  }
};

/// Q8_0: d at 0, signed bytes at 2.
struct Q8_0 {
  static constexpr size_t kBytes = sizeof(BlockQ8_0);
  static constexpr int kOffsetShift = -1;
  static constexpr bool kAffine = false;
};

HWY_INLINE I8x32 ActBytes(const uint8_t* xb) {
  return LoadI8x32(reinterpret_cast<const int8_t*>(xb + 2));
}

/// The block's integer dot product with one Q8_0 block, in int32 lanes.
template <class F>
HWY_INLINE VI32 BlockDot(const uint8_t* wb, const uint8_t* xb) {
  if constexpr (std::is_same_v<F, Q8_0>) {
    return DotS(hn::Zero(DI32()), LoadI8x32(reinterpret_cast<const int8_t*>(wb + 2)), ActBytes(xb));
  } else {
    return DotU(hn::Zero(DI32()), F::Unpack(wb), ActBytes(xb));
  }
}

/// What every weight row needs of the activation blocks, computed once per call.
constexpr int64_t kChunkBlocks = 256;
struct ActInfo {
  alignas(64) float d[kChunkBlocks];      ///< Block scale.
  alignas(64) int32_t sum[kChunkBlocks];  ///< Sum of the block's bytes.
  alignas(64) float dsum[kChunkBlocks];   ///< d * sum.
};

void PrepareAct(const uint8_t* x, int64_t nb, ActInfo* a) {
  U8x32 ones;
  for (int i = 0; i < kParts; ++i) ones.v[i] = hn::Set(DU8(), 1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* xb = x + b * kQ8Bytes;
    a->d[b] = HalfToFloat(LoadU16(xb));
    a->sum[b] = ReduceI(DotU(hn::Zero(DI32()), ones, ActBytes(xb)));
    a->dsum[b] = a->d[b] * static_cast<float>(a->sum[b]);
  }
}

/// Dot product of nb blocks of one weight row with the activation blocks `a` describes:
/// kStep blocks at a time, their integer sums gathered into one vector so that offsets,
/// scales and the float accumulation cost one vector operation per step.
template <class F>
HWY_INLINE float RowChunk(const uint8_t* w, const uint8_t* x, const ActInfo& a, int64_t nb) {
  VF acc = hn::Zero(DF()), acc_m = hn::Zero(DF());
  int64_t b = 0;
  for (; b + static_cast<int64_t>(kStep) <= nb; b += kStep) {
    const uint8_t* wb = w + b * F::kBytes;
    VI32 s[kStep];
    HWY_UNROLL(8)
    for (size_t k = 0; k < kStep; ++k) {
      s[k] = BlockDot<F>(wb + k * F::kBytes, x + (b + k) * kQ8Bytes);
    }
    VI32 total = SumEach(s);
    if constexpr (F::kOffsetShift >= 0) {
      total = hn::Sub(total, hn::ShiftLeft<F::kOffsetShift>(hn::Load(DI32(), a.sum + b)));
    }
    const VI32 dm = GatherWords(wb, F::kBytes);  // d in the low half, m (affine) in the high.
    const VF scale = hn::Mul(HalvesToFloat<false>(dm), hn::Load(DF(), a.d + b));
    acc = hn::MulAdd(hn::ConvertTo(DF(), total), scale, acc);
    if constexpr (F::kAffine) {
      acc_m = hn::MulAdd(HalvesToFloat<true>(dm), hn::Load(DF(), a.dsum + b), acc_m);
    }
  }
  float tail = 0.f;
  for (; b < nb; ++b) {
    const uint8_t* wb = w + b * F::kBytes;
    int32_t total = ReduceI(BlockDot<F>(wb, x + b * kQ8Bytes));
    if constexpr (F::kOffsetShift >= 0) total -= a.sum[b] << F::kOffsetShift;
    tail += static_cast<float>(total) * HalfToFloat(LoadU16(wb)) * a.d[b];
    if constexpr (F::kAffine) tail += HalfToFloat(LoadU16(wb + 2)) * a.dsum[b];
  }
  return ReduceF(hn::Add(acc, acc_m)) + tail;
}

/// y[r] for r in [r0, r1), the activation prepared a chunk of blocks at a time.
template <class F>
void MatvecRows(const uint8_t* w, size_t stride, const uint8_t* x, int64_t nb, float* y, int64_t r0,
                int64_t r1) {
  ActInfo a;
  for (int64_t c = 0; c < nb; c += kChunkBlocks) {
    const int64_t cn = std::min(kChunkBlocks, nb - c);
    PrepareAct(x + c * kQ8Bytes, cn, &a);
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* row = w + static_cast<size_t>(r) * stride + c * F::kBytes;
      const float part = RowChunk<F>(row, x + c * kQ8Bytes, a, cn);
      y[r] = c == 0 ? part : y[r] + part;
    }
  }
}

/// Decodes one block to 32 signed bytes and returns d; sets *m for the affine formats.
template <class F>
HWY_INLINE float DecodeBlock(const uint8_t* b, I8x32* q, float* m) {
  *m = 0.f;
  if constexpr (std::is_same_v<F, Q8_0>) {
    *q = LoadI8x32(reinterpret_cast<const int8_t*>(b + 2));
  } else if constexpr (F::kAffine) {
    const U8x32 u = F::Unpack(b);
    for (int i = 0; i < kParts; ++i) q->v[i] = hn::BitCast(DI8(), u.v[i]);
    *m = HalfToFloat(LoadU16(b + 2));
  } else {
    *q = SubConst(F::Unpack(b), static_cast<uint8_t>(1 << F::kOffsetShift));
  }
  return HalfToFloat(LoadU16(b));
}

template <class F>
void DequantRow(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    I8x32 q;
    float m;
    const float d = DecodeBlock<F>(src + i * F::kBytes, &q, &m);
    StoreScaled(q, d, d, m, m, dst + i * kQK);
  }
}

/// Calls fn.template operator()<Format>() for the legacy `type`.
template <class Fn>
HWY_INLINE auto WithFormat(TensorType type, Fn&& fn) {
  switch (type) {
    case TensorType::Q4_0:
      return fn.template operator()<Q4_0>();
    case TensorType::Q5_0:
      return fn.template operator()<Q5_0>();
    case TensorType::Q8_0:
      return fn.template operator()<Q8_0>();
    case TensorType::Q4_1:
      return fn.template operator()<Q4_1>();
    default:
      return fn.template operator()<Q5_1>();
  }
}

}  // namespace

void MatvecLegacy(TensorType type, const uint8_t* w, size_t stride, const void* x, int64_t n,
                  float* y, int64_t r0, int64_t r1) {
  const auto* xb = static_cast<const uint8_t*>(x);
  WithFormat(type, [&]<class F>() { MatvecRows<F>(w, stride, xb, n / kQK, y, r0, r1); });
}

void DequantLegacy(TensorType type, const void* src, float* dst, int64_t n) {
  const auto* s = static_cast<const uint8_t*>(src);
  WithFormat(type, [&]<class F>() { DequantRow<F>(s, dst, n / kQK); });
}

float DotLegacy(TensorType type, const void* w, const void* x, int64_t n) {
  float y = 0.f;
  MatvecLegacy(type, static_cast<const uint8_t*>(w), 0, x, n, &y, 0, 1);
  return y;
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
