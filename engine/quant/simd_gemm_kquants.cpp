// Multi-token matmul kernels of the K-quants Q2_K ... Q6_K against Q8_K activation rows.
// Compiled once per Highway target (foreach_target.h) and dispatched at run time.
//
// Register tiling: a tile of kR weight rows x kT tokens keeps kR * kT float accumulators
// in registers. Per super-block, each of the kR weight super-blocks is unpacked once (to
// eight groups of 32 unsigned bytes and their int16 sub-block multipliers, kquants-inl.h)
// into a small buffer that stays in L1, then reused by all kT tokens: per token and row,
// eight pmaddubsw + pmaddwd (vpdpwssd on AVX3_DL) give the exact integer sum, the mins or
// offsets are one pmaddwd of the activation's bsums with the row's pre-widened
// multipliers, and the two are scaled by d * d_x and dmin * d_x into the accumulator.

// clang-format off
#include "quant/hwy_config.h"  // Before any Highway header.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/simd_gemm_kquants.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include "quant/simd-inl.h"
#include "quant/kquants-inl.h"
// clang-format on

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "quant/simd.h"

HWY_BEFORE_NAMESPACE();
namespace es::quant::HWY_NAMESPACE {
namespace {

constexpr size_t kQ8KBytes = sizeof(BlockQ8_K);
constexpr int64_t kTokenChunk = 64;

/// One tile's operands: its first weight row, first activation row and output element.
struct Tile {
  const uint8_t* w;
  size_t w_stride;
  const uint8_t* x;
  size_t x_stride;
  float* y;  ///< y[t * y_stride + r] for tile token t, tile row r.
  size_t y_stride;
  int64_t nb;  ///< Super-blocks per row.
};

/// One weight super-block unpacked: value i of group g is d * sc * u - dmin * (min term),
/// where the min term of the whole super-block is sum over the 16 bsums of mins[k] * bsum.
struct Unpacked {
  U8x32 u[8];
  I16x32 sc[8];
  I16x32 mins;  ///< 16 int16 multipliers of the activation bsums.
  float d, dmin;
};

/// The 16 entries of `s` widened to int16 and shifted left by k.
template <int k>
HWY_INLINE I16x32 Widen16(V16B s) {
  I16x32 r;
#if ES_QUANT_WIDE
  r.v[0] = hn::ShiftLeft<k>(hn::PromoteTo(DI16(), s));
#else
  const hn::Half<D16B> dh;
  r.v[0] = hn::ShiftLeft<k>(hn::PromoteTo(DI16(), hn::LowerHalf(dh, s)));
  r.v[1] = hn::ShiftLeft<k>(hn::PromoteTo(DI16(), hn::UpperHalf(dh, s)));
#endif
  return r;
}

/// Sum over the 16 entries of bsums[k] * m[k], in int32 lanes.
HWY_INLINE VI32 DotBsumsWide(const uint8_t* bsums, const I16x32& m) {
  const auto* p = reinterpret_cast<const int16_t*>(bsums);
  VI32 r = SumPairs(hn::LoadU(DI16(), p), m.v[0]);
  for (int i = 1; i < kParts; ++i) r = hn::Add(r, SumPairs(hn::LoadU(DI16(), p + 8 * i), m.v[i]));
  return r;
}

template <class F>
HWY_INLINE void Unpack(const uint8_t* b, Unpacked* out) {
  V16B scales;
  if constexpr (std::is_same_v<F, Q2K>) {
    const VU16B packed = hn::LoadU(DU16B(), b);
    scales = AsSigned(hn::And(packed, hn::Set(DU16B(), 0x0F)));
    out->mins = Widen16<0>(AsSigned(hn::ShiftRight<4>(packed)));
    out->d = HalfToFloat(LoadU16(b + 80));
    out->dmin = HalfToFloat(LoadU16(b + 82));
  } else if constexpr (std::is_same_v<F, Q3K>) {
    scales = UnpackQ3KScales(b + 96);
    out->mins = Widen16<2>(scales);  // value = sc * (u - 4)
    out->d = out->dmin = HalfToFloat(LoadU16(b + 108));
  } else if constexpr (std::is_same_v<F, Q6K>) {
    scales = hn::LoadU(D16B(), reinterpret_cast<const int8_t*>(b + 192));
    out->mins = Widen16<5>(scales);  // value = sc * (u - 32)
    out->d = out->dmin = HalfToFloat(LoadU16(b + 208));
  } else {  // Q4_K, Q5_K: entry k of the 16-entry tables is sub-block k / 2's.
    const VU16B sm = UnpackScaleMinK4(b + 4);
    scales = AsSigned(hn::InterleaveLower(sm, sm));
    out->mins = Widen16<0>(AsSigned(hn::InterleaveUpper(DU16B(), sm, sm)));
    out->d = HalfToFloat(LoadU16(b));
    out->dmin = HalfToFloat(LoadU16(b + 2));
  }
  const Scales16 table = MakeScales16(scales);
  F::Groups(b, [&](int g, const U8x32& u) {
    out->u[g] = u;
    out->sc[g] = GroupScales(table, g);
  });
}

/// Writes the kR x kT dot products of a tile of K-quant rows.
template <class F, int kR, int kT>
HWY_NOINLINE void KTile(const Tile& a) {
  const DF df;
  VF acc[kR][kT];
  for (int r = 0; r < kR; ++r) {
    for (int t = 0; t < kT; ++t) acc[r][t] = hn::Zero(df);
  }
  Unpacked rows[kR];
  for (int64_t i = 0; i < a.nb; ++i) {
    for (int r = 0; r < kR; ++r) Unpack<F>(a.w + r * a.w_stride + i * F::kBytes, &rows[r]);
    HWY_UNROLL(4)
    for (int t = 0; t < kT; ++t) {
      const uint8_t* xb = a.x + t * a.x_stride + i * kQ8KBytes;
      const float dx = ActScale(xb);
      HWY_UNROLL(4)
      for (int r = 0; r < kR; ++r) {
        VI32 isum = hn::Zero(DI32());
        HWY_UNROLL(8)
        for (int g = 0; g < 8; ++g) {
          isum = DotScaled(isum, rows[r].u[g], ActGroup(xb, g), rows[r].sc[g]);
        }
        const VI32 imin = DotBsumsWide(ActBsums(xb), rows[r].mins);
        acc[r][t] = hn::MulAdd(hn::ConvertTo(df, isum), hn::Set(df, rows[r].d * dx), acc[r][t]);
        acc[r][t] =
            hn::NegMulAdd(hn::ConvertTo(df, imin), hn::Set(df, rows[r].dmin * dx), acc[r][t]);
      }
    }
  }
  for (int t = 0; t < kT; ++t) {
    for (int r = 0; r < kR; ++r) a.y[t * a.y_stride + r] = ReduceF(acc[r][t]);
  }
}

/// Rows [r0, r1) x tokens [0, nt) in tiles: kRows x kToks, then the tokens left over in
/// tiles of 4 and 1, the rows left over one at a time.
template <class F, int kRows, int kToks>
void KRows(const Tile& base, int64_t nt, int64_t r0, int64_t r1) {
  for (int64_t t0 = 0; t0 < nt; t0 += kTokenChunk) {
    const int64_t t1 = std::min(nt, t0 + kTokenChunk);
    for (int64_t r = r0; r < r1;) {
      const bool full_r = r1 - r >= kRows;
      for (int64_t t = t0; t < t1;) {
        const int64_t left = t1 - t;
        Tile tile = base;
        tile.w = base.w + static_cast<size_t>(r) * base.w_stride;
        tile.x = base.x + static_cast<size_t>(t) * base.x_stride;
        tile.y = base.y + static_cast<size_t>(t) * base.y_stride + r;
        int64_t step = 1;
        if (left >= kToks) {
          step = kToks;
          full_r ? KTile<F, kRows, kToks>(tile) : KTile<F, 1, kToks>(tile);
        } else if (left >= 4) {
          step = 4;
          full_r ? KTile<F, kRows, 4>(tile) : KTile<F, 1, 4>(tile);
        } else {
          full_r ? KTile<F, kRows, 1>(tile) : KTile<F, 1, 1>(tile);
        }
        t += step;
      }
      r += full_r ? kRows : 1;
    }
  }
}

}  // namespace

void GemmKQuant(TensorType type, const uint8_t* w, size_t w_stride, const uint8_t* x,
                size_t x_stride, int64_t n, int64_t nt, float* y, size_t y_stride, int64_t r0,
                int64_t r1) {
  const Tile base{w, w_stride, x, x_stride, y, y_stride, n / kQK_K};
  switch (type) {
    case TensorType::Q2_K:
      return KRows<Q2K, 2, 8>(base, nt, r0, r1);
    case TensorType::Q3_K:
      return KRows<Q3K, 2, 8>(base, nt, r0, r1);
    case TensorType::Q4_K:
      return KRows<QK4<false>, 2, 8>(base, nt, r0, r1);
    case TensorType::Q5_K:
      return KRows<QK4<true>, 2, 8>(base, nt, r0, r1);
    default:
      return KRows<Q6K, 2, 8>(base, nt, r0, r1);
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace es::quant::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace es::quant {
HWY_EXPORT(GemmKQuant);

namespace simd {

void gemm_kquant(TensorType type, const uint8_t* w, size_t w_stride, const uint8_t* x,
                 size_t x_stride, int64_t n, int64_t n_tokens, float* y, size_t y_stride,
                 int64_t r0, int64_t r1) {
  HWY_DYNAMIC_DISPATCH(GemmKQuant)
  (type, w, w_stride, x, x_stride, n, n_tokens, y, y_stride, r0, r1);
}

}  // namespace simd
}  // namespace es::quant
#endif  // HWY_ONCE
