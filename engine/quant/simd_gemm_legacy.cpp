// Multi-token matmul kernels of the legacy 32-value blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// against Q8_0 activation rows) and of the float weights (F32, F16, BF16, against f32
// rows). Compiled once per Highway target (foreach_target.h) and dispatched at run time.
//
// Register tiling: a tile of kR weight rows x kT tokens keeps kR * kT float accumulators
// in registers. Per block, each of the kR weight blocks is unpacked once to 32 unsigned
// bytes u (value = u - offset, or d * u + m for the affine formats) and each of the kT
// activation blocks loaded once; the kR * kT integer products are one vpdpbusd each on
// AVX3_DL (pmaddubsw + pmaddwd elsewhere). The -8 / -16 offsets of Q4_0 / Q5_0 start each
// product at -offset * (the activation's bytes summed per int32 lane), computed once per
// token and block; on AVX3_DL Q8_0's signed weights become u = w + 128 the same way. The
// int32 lanes are converted to float and scaled by d_w * d_x per block (no horizontal sum
// until the end of the row). Tokens go in chunks of kTokenChunk so that their activation
// rows stay in cache while every row tile of the range passes.

// clang-format off
#include "quant/hwy_config.h"  // Before any Highway header.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/simd_gemm_legacy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include "quant/simd-inl.h"
// clang-format on

#include <algorithm>
#include <cstddef>

#include "quant/simd.h"

HWY_BEFORE_NAMESPACE();
namespace es::quant::HWY_NAMESPACE {
namespace {

constexpr size_t kQ8Bytes = sizeof(BlockQ8_0);
constexpr int64_t kTokenChunk = 64;

/// One tile's operands: its first weight row, first activation row and output element.
struct Tile {
  const uint8_t* w;
  size_t w_stride;
  const uint8_t* x;
  size_t x_stride;
  float* y;  ///< y[t * y_stride + r] for tile token t, tile row r.
  size_t y_stride;
  int64_t n;  ///< Values per row (blocks: n / 32).
};

// Formats: block bytes, where d (and m) sit, the unpacking to unsigned bytes, and the
// offset (kShift: value = u - (1 << kShift); -1 for none).

struct GQ4_0 {
  static constexpr size_t kBytes = sizeof(BlockQ4_0);
  static constexpr int kShift = 3;
  static constexpr bool kAffine = false, kSigned = false;
  static HWY_INLINE U8x32 Unpack(const uint8_t* b) { return Nibbles16(b + 2); }
};
struct GQ5_0 {
  static constexpr size_t kBytes = sizeof(BlockQ5_0);
  static constexpr int kShift = 4;
  static constexpr bool kAffine = false, kSigned = false;
  static HWY_INLINE U8x32 Unpack(const uint8_t* b) {
    return AddIf(Nibbles16(b + 6), LoadBits32(b + 2), 16);
  }
};
struct GQ4_1 {
  static constexpr size_t kBytes = sizeof(BlockQ4_1);
  static constexpr int kShift = -1;
  static constexpr bool kAffine = true, kSigned = false;
  static HWY_INLINE U8x32 Unpack(const uint8_t* b) { return Nibbles16(b + 4); }
};
struct GQ5_1 {
  static constexpr size_t kBytes = sizeof(BlockQ5_1);
  static constexpr int kShift = -1;
  static constexpr bool kAffine = true, kSigned = false;
  static HWY_INLINE U8x32 Unpack(const uint8_t* b) {
    return AddIf(Nibbles16(b + 8), LoadBits32(b + 4), 16);
  }
};
/// Q8_0: with VNNI u = w + 128 (offset 128); without, the signed bytes as they are (and
/// the products take pmaddubsw's sign trick, DotS).
struct GQ8_0 {
  static constexpr size_t kBytes = sizeof(BlockQ8_0);
  static constexpr int kShift = ES_QUANT_VNNI ? 7 : -1;
  static constexpr bool kAffine = false, kSigned = !ES_QUANT_VNNI;
  static HWY_INLINE U8x32 Unpack(const uint8_t* b) {
    U8x32 u = LoadU8x32(b + 2);
    if constexpr (ES_QUANT_VNNI) {
      for (int i = 0; i < kParts; ++i) u.v[i] = hn::Xor(u.v[i], hn::Set(DU8(), 0x80));
    }
    return u;
  }
};

/// init + the block's integer products, per int32 lane.
template <class F>
HWY_INLINE VI32 BlockInt(VI32 init, const U8x32& u, const I8x32& x) {
  if constexpr (F::kSigned) {
    I8x32 s;
    for (int i = 0; i < kParts; ++i) s.v[i] = hn::BitCast(DI8(), u.v[i]);
    return DotS(init, s, x);
  } else {
    return DotU4(init, u, x);
  }
}

HWY_INLINE U8x32 SplatU8(uint8_t v) {
  U8x32 r;
  for (int i = 0; i < kParts; ++i) r.v[i] = hn::Set(DU8(), v);
  return r;
}

/// Writes the kR x kT dot products of a tile of legacy-format rows.
template <class F, int kR, int kT>
HWY_NOINLINE void LegacyTile(const Tile& a) {
  const DF df;
  VF acc[kR][kT];
  for (int r = 0; r < kR; ++r) {
    for (int t = 0; t < kT; ++t) acc[r][t] = hn::Zero(df);
  }
  const int64_t nb = a.n / kQK;
  for (int64_t b = 0; b < nb; ++b) {
    U8x32 u[kR];
    VF dw[kR], mw[kR];
    HWY_UNROLL(4)
    for (int r = 0; r < kR; ++r) {
      const uint8_t* wb = a.w + r * a.w_stride + b * F::kBytes;
      u[r] = F::Unpack(wb);
      dw[r] = hn::Set(df, HalfToFloat(LoadU16(wb)));
      if constexpr (F::kAffine) mw[r] = hn::Set(df, HalfToFloat(LoadU16(wb + 2)));
    }
    HWY_UNROLL(4)
    for (int t = 0; t < kT; ++t) {
      const uint8_t* xb = a.x + t * a.x_stride + b * kQ8Bytes;
      const I8x32 xv = LoadI8x32(reinterpret_cast<const int8_t*>(xb + 2));
      const VF dx = hn::Set(df, HalfToFloat(LoadU16(xb)));
      VI32 init = hn::Zero(DI32());
      if constexpr (F::kShift >= 0) {
        init = hn::Neg(DotU4(init, SplatU8(static_cast<uint8_t>(1 << F::kShift)), xv));
      }
      VF sx;  // The affine formats' m term: d_x * (activation bytes summed per lane).
      if constexpr (F::kAffine) sx = hn::Mul(hn::ConvertTo(df, DotU4(init, SplatU8(1), xv)), dx);
      HWY_UNROLL(4)
      for (int r = 0; r < kR; ++r) {
        const VF s = hn::ConvertTo(df, BlockInt<F>(init, u[r], xv));
        acc[r][t] = hn::MulAdd(s, hn::Mul(dw[r], dx), acc[r][t]);
        if constexpr (F::kAffine) acc[r][t] = hn::MulAdd(mw[r], sx, acc[r][t]);
      }
    }
  }
  for (int t = 0; t < kT; ++t) {
    for (int r = 0; r < kR; ++r) a.y[t * a.y_stride + r] = ReduceF(acc[r][t]);
  }
}

/// Writes the kStep x kT dot products of a tile of kStep legacy-format rows (one per float
/// lane): per token and block, the rows' int32 lanes are reduced into one vector whose lane
/// r is row r's block sum (SumEach), so the conversion and scaling cost one vector
/// operation for all kStep rows.
template <class F, int kT>
HWY_NOINLINE void LegacyTileLanes(const Tile& a) {
  constexpr int kR = static_cast<int>(kStep);
  const DF df;
  VF acc[kT];
  for (int t = 0; t < kT; ++t) acc[t] = hn::Zero(df);
  const int64_t nb = a.n / kQK;
  const auto stride = static_cast<int32_t>(a.w_stride);
  for (int64_t b = 0; b < nb; ++b) {
    U8x32 u[kR];
    HWY_UNROLL(8)
    for (int r = 0; r < kR; ++r) u[r] = F::Unpack(a.w + r * a.w_stride + b * F::kBytes);
    const VI32 dm = GatherWords(a.w + b * F::kBytes, stride);  // d (and m) of every row.
    const VF dw = HalvesToFloat<false>(dm);
    HWY_UNROLL(4)
    for (int t = 0; t < kT; ++t) {
      const uint8_t* xb = a.x + t * a.x_stride + b * kQ8Bytes;
      const I8x32 xv = LoadI8x32(reinterpret_cast<const int8_t*>(xb + 2));
      const float dx = HalfToFloat(LoadU16(xb));
      VI32 init = hn::Zero(DI32());
      if constexpr (F::kShift >= 0) {
        init = hn::Neg(DotU4(init, SplatU8(static_cast<uint8_t>(1 << F::kShift)), xv));
      }
      VI32 s[kR];
      HWY_UNROLL(8)
      for (int r = 0; r < kR; ++r) s[r] = BlockInt<F>(init, u[r], xv);
      const VF total = hn::ConvertTo(df, SumEach(s));
      acc[t] = hn::MulAdd(total, hn::Mul(dw, hn::Set(df, dx)), acc[t]);
      if constexpr (F::kAffine) {
        const int32_t xsum = ReduceI(DotU4(hn::Zero(DI32()), SplatU8(1), xv));
        acc[t] =
            hn::MulAdd(HalvesToFloat<true>(dm), hn::Set(df, dx * static_cast<float>(xsum)), acc[t]);
      }
    }
  }
  for (int t = 0; t < kT; ++t) hn::StoreU(acc[t], df, a.y + t * a.y_stride);
}

// ---------------------------------------------------------------------------------------
// Float weights: full vectors of f32 (F16 / BF16 widened on load), kR x kT accumulators.

using DFull = hn::ScalableTag<float>;

struct GF32 {
  static HWY_INLINE hn::Vec<DFull> Load(const uint8_t* w, int64_t i) {
    return hn::LoadU(DFull(), reinterpret_cast<const float*>(w) + i);
  }
  static HWY_INLINE float At(const uint8_t* w, int64_t i) { return LoadF32(w + 4 * i); }
};
struct GF16 {
  static HWY_INLINE hn::Vec<DFull> Load(const uint8_t* w, int64_t i) {
    const hn::Rebind<hwy::float16_t, DFull> dh;
    return hn::PromoteTo(DFull(), hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(w) + i));
  }
  static HWY_INLINE float At(const uint8_t* w, int64_t i) {
    return half_to_float(LoadU16(w + 2 * i));
  }
};
struct GBF16 {
  static HWY_INLINE hn::Vec<DFull> Load(const uint8_t* w, int64_t i) {
    const hn::Rebind<hwy::bfloat16_t, DFull> dh;
    return hn::PromoteTo(DFull(), hn::LoadU(dh, reinterpret_cast<const hwy::bfloat16_t*>(w) + i));
  }
  static HWY_INLINE float At(const uint8_t* w, int64_t i) {
    return bf16_to_float(LoadU16(w + 2 * i));
  }
};

template <class F, int kR, int kT>
HWY_NOINLINE void FloatTile(const Tile& a) {
  const DFull d;
  const auto N = static_cast<int64_t>(hn::Lanes(d));
  hn::Vec<DFull> acc[kR][kT];
  for (int r = 0; r < kR; ++r) {
    for (int t = 0; t < kT; ++t) acc[r][t] = hn::Zero(d);
  }
  int64_t i = 0;
  for (; i + N <= a.n; i += N) {
    hn::Vec<DFull> wv[kR];
    HWY_UNROLL(4)
    for (int r = 0; r < kR; ++r) wv[r] = F::Load(a.w + r * a.w_stride, i);
    HWY_UNROLL(4)
    for (int t = 0; t < kT; ++t) {
      const auto xv = hn::LoadU(d, reinterpret_cast<const float*>(a.x + t * a.x_stride) + i);
      HWY_UNROLL(4)
      for (int r = 0; r < kR; ++r) acc[r][t] = hn::MulAdd(wv[r], xv, acc[r][t]);
    }
  }
  for (int t = 0; t < kT; ++t) {
    const uint8_t* x = a.x + t * a.x_stride;
    for (int r = 0; r < kR; ++r) {
      float sum = hn::GetLane(hn::SumOfLanes(d, acc[r][t]));
      // Rows may be unaligned: read the activation tail bytewise.
      for (int64_t j = i; j < a.n; ++j) sum += F::At(a.w + r * a.w_stride, j) * LoadF32(x + 4 * j);
      a.y[t * a.y_stride + r] = sum;
    }
  }
}

// ---------------------------------------------------------------------------------------

/// Calls kernel.template operator()<kR, kT>(tile) over rows [r0, r1) x tokens [0, nt):
/// full kRows x kToks tiles, the remaining tokens in tiles of 1, the remaining rows one
/// at a time.
template <int kRows, int kToks, class Fn>
HWY_INLINE void ForTiles(const Tile& base, int64_t nt, int64_t r0, int64_t r1, Fn&& kernel) {
  for (int64_t t0 = 0; t0 < nt; t0 += kTokenChunk) {
    const int64_t t1 = std::min(nt, t0 + kTokenChunk);
    for (int64_t r = r0; r < r1;) {
      const bool full_r = r1 - r >= kRows;
      for (int64_t t = t0; t < t1;) {
        const bool full_t = t1 - t >= kToks;
        Tile tile = base;
        tile.w = base.w + static_cast<size_t>(r) * base.w_stride;
        tile.x = base.x + static_cast<size_t>(t) * base.x_stride;
        tile.y = base.y + static_cast<size_t>(t) * base.y_stride + r;
        if (full_r && full_t) {
          kernel.template operator()<kRows, kToks>(tile);
        } else if (full_r) {
          kernel.template operator()<kRows, 1>(tile);
        } else if (full_t) {
          kernel.template operator()<1, kToks>(tile);
        } else {
          kernel.template operator()<1, 1>(tile);
        }
        t += full_t ? kToks : 1;
      }
      r += full_r ? kRows : 1;
    }
  }
}

}  // namespace

void GemmLegacy(TensorType type, const uint8_t* w, size_t w_stride, const uint8_t* x,
                size_t x_stride, int64_t n, int64_t nt, float* y, size_t y_stride, int64_t r0,
                int64_t r1) {
  const Tile base{w, w_stride, x, x_stride, y, y_stride, n};
  auto run = [&]<class F>() {
    ForTiles<static_cast<int>(kStep), 8>(base, nt, r0, r1, [&]<int kR, int kT>(const Tile& t) {
      if constexpr (kR == static_cast<int>(kStep)) {
        LegacyTileLanes<F, kT>(t);
      } else {
        LegacyTile<F, kR, kT>(t);
      }
    });
  };
  switch (type) {
    case TensorType::Q4_0:
      return run.template operator()<GQ4_0>();
    case TensorType::Q5_0:
      return run.template operator()<GQ5_0>();
    case TensorType::Q4_1:
      return run.template operator()<GQ4_1>();
    case TensorType::Q5_1:
      return run.template operator()<GQ5_1>();
    default:
      return run.template operator()<GQ8_0>();
  }
}

void GemmFloat(TensorType type, const uint8_t* w, size_t w_stride, const uint8_t* x,
               size_t x_stride, int64_t n, int64_t nt, float* y, size_t y_stride, int64_t r0,
               int64_t r1) {
  const Tile base{w, w_stride, x, x_stride, y, y_stride, n};
  auto run = [&]<class F>() {
    ForTiles<4, 4>(base, nt, r0, r1,
                   [&]<int kR, int kT>(const Tile& t) { FloatTile<F, kR, kT>(t); });
  };
  switch (type) {
    case TensorType::F32:
      return run.template operator()<GF32>();
    case TensorType::F16:
      return run.template operator()<GF16>();
    default:
      return run.template operator()<GBF16>();
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace es::quant::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace es::quant {
HWY_EXPORT(GemmLegacy);
HWY_EXPORT(GemmFloat);

namespace simd {

void gemm_legacy(TensorType type, const uint8_t* w, size_t w_stride, const uint8_t* x,
                 size_t x_stride, int64_t n, int64_t n_tokens, float* y, size_t y_stride,
                 int64_t r0, int64_t r1) {
  HWY_DYNAMIC_DISPATCH(GemmLegacy)
  (type, w, w_stride, x, x_stride, n, n_tokens, y, y_stride, r0, r1);
}

void gemm_float(TensorType type, const uint8_t* w, size_t w_stride, const uint8_t* x,
                size_t x_stride, int64_t n, int64_t n_tokens, float* y, size_t y_stride, int64_t r0,
                int64_t r1) {
  HWY_DYNAMIC_DISPATCH(GemmFloat)(type, w, w_stride, x, x_stride, n, n_tokens, y, y_stride, r0, r1);
}

}  // namespace simd
}  // namespace es::quant
#endif  // HWY_ONCE
