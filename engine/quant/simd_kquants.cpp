// SIMD kernels of the K-quants Q2_K ... Q6_K: dot products against Q8_K activation
// super-blocks, row-range matvec, and dequantization. Compiled once per Highway target
// and dispatched at run time.
//
// Per super-block of 256 values: unpack the weights to unsigned bytes u (0..63), multiply
// with the activation bytes and the sub-block scales exactly in int32 (pmaddubsw, then
// pmaddwd against the scales), then scale by d_w * d_x in float. Offsets — the mins of
// Q2_K/Q4_K/Q5_K, the -32 of Q6_K, the -4 of Q3_K — are applied once per sub-block through
// the activation's precomputed 16-value sums (bsums), as llama.cpp does.

// clang-format off
#include "quant/hwy_config.h"  // Before any Highway header.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/simd_kquants.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include "quant/simd-inl.h"
// clang-format on

#include <cstddef>
#include <cstring>

#include "quant/simd.h"

HWY_BEFORE_NAMESPACE();
namespace es::quant::HWY_NAMESPACE {
namespace {

/// A Q8_K activation super-block read in place: d at 0, qs at 4, bsums at 260.
struct Act {
  float d;
  const int8_t* q;
  int16_t bsums[16];

  explicit HWY_INLINE Act(const uint8_t* xb)
      : d(LoadF32(xb)), q(reinterpret_cast<const int8_t*>(xb + 4)) {
    std::memcpy(bsums, xb + 260, sizeof bsums);
  }
  HWY_INLINE I8x32 Group(int first) const { return LoadI8x32(q + first); }
};

/// Sum over the 16 sub-blocks of weight[k] * bsums[k].
HWY_INLINE int32_t WeightedBsums16(const int8_t* weight, const Act& a) {
  int32_t s = 0;
  for (int k = 0; k < 16; ++k) s += weight[k] * a.bsums[k];
  return s;
}

/// The result of one super-block: d * (int sum) - offset, kept as a float vector and a
/// float scalar so that the integer part stays in SIMD registers.
struct Partial {
  VF acc;
  float offset;
};

HWY_INLINE Partial Accumulate(Partial p, VI32 isum, float d, float offset) {
  p.acc = hn::MulAdd(hn::ConvertTo(DF(), isum), hn::Set(DF(), d), p.acc);
  p.offset += offset;
  return p;
}

// ---------------------------------------------------------------------------------------
// Q2_K: scales at 0 (low nibble scale, high nibble min), qs at 16, d at 80, dmin at 82.

struct Q2K {
  static constexpr size_t kBytes = sizeof(BlockQ2_K);

  /// Calls f(group index g = 4n + j, unsigned values) for the 8 groups of 32 values.
  template <class F>
  static HWY_INLINE void Groups(const uint8_t* b, F&& f) {
    for (int n = 0; n < 2; ++n) {
      U8x32 q = LoadU8x32(b + 16 + 32 * n);
      for (int j = 0; j < 4; ++j) {
        f(4 * n + j, AndU8(q, 3));
        for (int i = 0; i < kParts; ++i) q.v[i] = hn::ShiftRight<2>(q.v[i]);
      }
    }
  }

  static HWY_INLINE Partial Dot(const uint8_t* b, const Act& a, Partial p) {
    int8_t mins[16];
    for (int k = 0; k < 16; ++k) mins[k] = static_cast<int8_t>(b[k] >> 4);
    VI32 isum = hn::Zero(DI32());
    Groups(b, [&](int g, const U8x32& u) {
      isum = DotScaled(isum, u, a.Group(32 * g), Scale16x2(b[2 * g] & 0xF, b[2 * g + 1] & 0xF));
    });
    const float d = HalfToFloat(LoadU16(b + 80)) * a.d;
    const float dmin = HalfToFloat(LoadU16(b + 82)) * a.d;
    return Accumulate(p, isum, d, dmin * static_cast<float>(WeightedBsums16(mins, a)));
  }

  static HWY_INLINE void Dequant(const uint8_t* b, float* out) {
    const float d = HalfToFloat(LoadU16(b + 80)), dmin = HalfToFloat(LoadU16(b + 82));
    Groups(b, [&](int g, const U8x32& u) {
      const uint8_t s0 = b[2 * g], s1 = b[2 * g + 1];
      StoreScaledU(u, d * (s0 & 0xF), d * (s1 & 0xF), -dmin * (s0 >> 4), -dmin * (s1 >> 4),
                   out + 32 * g);
    });
  }
};

// ---------------------------------------------------------------------------------------
// Q3_K: hmask at 0, qs at 32, packed scales at 96, d at 108.

struct Q3K {
  static constexpr size_t kBytes = sizeof(BlockQ3_K);

  /// Calls f(g, u) with u = low 2 bits | high bit << 2 (value + 4) for the 8 groups.
  template <class F>
  static HWY_INLINE void Groups(const uint8_t* b, F&& f) {
    U8x32 hm = LoadU8x32(b);
    for (int n = 0; n < 2; ++n) {
      U8x32 q = LoadU8x32(b + 32 + 32 * n);
      for (int j = 0; j < 4; ++j) {
        U8x32 u;
        for (int i = 0; i < kParts; ++i) {
          const VU8 high = hn::ShiftLeft<2>(hn::And(hm.v[i], hn::Set(DU8(), 1)));
          u.v[i] = hn::Or(hn::And(q.v[i], hn::Set(DU8(), 3)), high);
          q.v[i] = hn::ShiftRight<2>(q.v[i]);
          hm.v[i] = hn::ShiftRight<1>(hm.v[i]);
        }
        f(4 * n + j, u);
      }
    }
  }

  static HWY_INLINE Partial Dot(const uint8_t* b, const Act& a, Partial p) {
    int8_t sc[16];
    unpack_q3_k_scales(b + 96, sc);
    VI32 isum = hn::Zero(DI32());
    Groups(b, [&](int g, const U8x32& u) {
      isum = DotScaled(isum, u, a.Group(32 * g), Scale16x2(sc[2 * g], sc[2 * g + 1]));
    });
    const float d = HalfToFloat(LoadU16(b + 108)) * a.d;
    return Accumulate(p, isum, d, d * static_cast<float>(4 * WeightedBsums16(sc, a)));
  }

  static HWY_INLINE void Dequant(const uint8_t* b, float* out) {
    int8_t sc[16];
    unpack_q3_k_scales(b + 96, sc);
    const float d = HalfToFloat(LoadU16(b + 108));
    Groups(b, [&](int g, const U8x32& u) {
      const float d0 = d * sc[2 * g], d1 = d * sc[2 * g + 1];
      StoreScaledU(u, d0, d1, -4 * d0, -4 * d1, out + 32 * g);
    });
  }
};

// ---------------------------------------------------------------------------------------
// Q4_K and Q5_K: d at 0, dmin at 2, packed scales and mins at 4; Q4_K's qs at 16, Q5_K's
// qh at 16 and qs at 48.

/// The 8 scales (out[0..7]) and 8 mins (out[8..15]) packed in 12 bytes.
HWY_INLINE void UnpackScaleMinK4(const uint8_t* packed, uint8_t* out) {
  uint32_t u[4];
  std::memcpy(u, packed, 12);
  constexpr uint32_t kLow6 = 0x3F3F3F3F, kLow4 = 0x0F0F0F0F, kLow2 = 0x03030303;
  u[3] = ((u[2] >> 4) & kLow4) | (((u[1] >> 6) & kLow2) << 4);
  const uint32_t mins_low = u[1] & kLow6;
  u[1] = (u[2] & kLow4) | (((u[0] >> 6) & kLow2) << 4);
  u[2] = mins_low;
  u[0] &= kLow6;
  std::memcpy(out, u, 16);
}

template <bool kFifthBit>
struct QK4 {
  static constexpr size_t kBytes = kFifthBit ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  static constexpr size_t kQs = kFifthBit ? 48 : 16;

  /// Calls f(sub-block s, u) for the 8 sub-blocks of 32 values.
  template <class F>
  static HWY_INLINE void Groups(const uint8_t* b, F&& f) {
    U8x32 qh;
    if constexpr (kFifthBit) qh = LoadU8x32(b + 16);
    for (int c = 0; c < 4; ++c) {
      const U8x32 q = LoadU8x32(b + kQs + 32 * c);
      U8x32 lo = AndU8(q, 0x0F), hi = ShiftRight4(q);
      if constexpr (kFifthBit) {
        for (int i = 0; i < kParts; ++i) {
          lo.v[i] = hn::Or(lo.v[i], hn::ShiftLeft<4>(hn::And(qh.v[i], hn::Set(DU8(), 1))));
          hi.v[i] = hn::Or(hi.v[i], hn::ShiftLeft<3>(hn::And(qh.v[i], hn::Set(DU8(), 2))));
          qh.v[i] = hn::ShiftRight<2>(qh.v[i]);
        }
      }
      f(2 * c, lo);
      f(2 * c + 1, hi);
    }
  }

  static HWY_INLINE Partial Dot(const uint8_t* b, const Act& a, Partial p) {
    uint8_t sm[16];
    UnpackScaleMinK4(b + 4, sm);
    int32_t mins = 0;
    for (int s = 0; s < 8; ++s) mins += sm[8 + s] * (a.bsums[2 * s] + a.bsums[2 * s + 1]);
    VI32 isum = hn::Zero(DI32());
    Groups(b, [&](int s, const U8x32& u) {
      isum = DotScaled(isum, u, a.Group(32 * s), Scale32(sm[s]));
    });
    const float d = HalfToFloat(LoadU16(b)) * a.d;
    const float dmin = HalfToFloat(LoadU16(b + 2)) * a.d;
    return Accumulate(p, isum, d, dmin * static_cast<float>(mins));
  }

  static HWY_INLINE void Dequant(const uint8_t* b, float* out) {
    uint8_t sm[16];
    UnpackScaleMinK4(b + 4, sm);
    const float d = HalfToFloat(LoadU16(b)), dmin = HalfToFloat(LoadU16(b + 2));
    Groups(b, [&](int s, const U8x32& u) {
      const float dl = d * sm[s], ml = -dmin * sm[8 + s];
      StoreScaledU(u, dl, dl, ml, ml, out + 32 * s);
    });
  }
};

// ---------------------------------------------------------------------------------------
// Q6_K: ql at 0, qh at 128, scales at 192, d at 208.

struct Q6K {
  static constexpr size_t kBytes = sizeof(BlockQ6_K);

  /// Calls f(g, u) with u = value + 32 (0..63) for the 8 groups of 32 values.
  template <class F>
  static HWY_INLINE void Groups(const uint8_t* b, F&& f) {
    for (int n = 0; n < 2; ++n) {
      const U8x32 ql0 = LoadU8x32(b + 64 * n), ql1 = LoadU8x32(b + 64 * n + 32);
      const U8x32 qh = LoadU8x32(b + 128 + 32 * n);
      U8x32 u[4];
      for (int i = 0; i < kParts; ++i) {
        const VU8 low4 = hn::Set(DU8(), 0x0F), h = qh.v[i];
        u[0].v[i] =
            hn::Or(hn::And(ql0.v[i], low4), hn::ShiftLeft<4>(hn::And(h, hn::Set(DU8(), 0x03))));
        u[1].v[i] =
            hn::Or(hn::And(ql1.v[i], low4), hn::ShiftLeft<2>(hn::And(h, hn::Set(DU8(), 0x0C))));
        u[2].v[i] = hn::Or(hn::ShiftRight<4>(ql0.v[i]), hn::And(h, hn::Set(DU8(), 0x30)));
        u[3].v[i] = hn::Or(hn::ShiftRight<4>(ql1.v[i]),
                           hn::ShiftRight<2>(hn::And(h, hn::Set(DU8(), 0xC0))));
      }
      for (int k = 0; k < 4; ++k) f(4 * n + k, u[k]);
    }
  }

  static HWY_INLINE Partial Dot(const uint8_t* b, const Act& a, Partial p) {
    int8_t sc[16];
    std::memcpy(sc, b + 192, 16);
    VI32 isum = hn::Zero(DI32());
    Groups(b, [&](int g, const U8x32& u) {
      isum = DotScaled(isum, u, a.Group(32 * g), Scale16x2(sc[2 * g], sc[2 * g + 1]));
    });
    const float d = HalfToFloat(LoadU16(b + 208)) * a.d;
    return Accumulate(p, isum, d, d * static_cast<float>(32 * WeightedBsums16(sc, a)));
  }

  static HWY_INLINE void Dequant(const uint8_t* b, float* out) {
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    const float d = HalfToFloat(LoadU16(b + 208));
    Groups(b, [&](int g, const U8x32& u) {
      const float d0 = d * sc[2 * g], d1 = d * sc[2 * g + 1];
      StoreScaledU(u, d0, d1, -32 * d0, -32 * d1, out + 32 * g);
    });
  }
};

// ---------------------------------------------------------------------------------------

constexpr size_t kActBytes = sizeof(BlockQ8_K);

template <class F>
HWY_INLINE float DotRow(const uint8_t* w, const uint8_t* x, int64_t nb) {
  Partial p{hn::Zero(DF()), 0.f};
  for (int64_t i = 0; i < nb; ++i) p = F::Dot(w + i * F::kBytes, Act(x + i * kActBytes), p);
  return ReduceF(p.acc) - p.offset;
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
