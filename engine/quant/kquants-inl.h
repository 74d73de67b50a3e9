// Per-target K-quant formats (Q2_K ... Q6_K) shared by the K-quant kernels
// (simd_kquants.cpp: dot, matvec, dequantization; simd_gemm_kquants.cpp: the multi-token
// matmul): how each super-block unpacks to unsigned bytes a group of 32 values at a time,
// its int16 sub-block scales, and the activation (Q8_K) accessors. Included once per
// Highway target through foreach_target.h, hence the toggling include guard.

#if defined(ES_QUANT_KQUANTS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ES_QUANT_KQUANTS_INL_H_
#undef ES_QUANT_KQUANTS_INL_H_
#else
#define ES_QUANT_KQUANTS_INL_H_
#endif

#include <hwy/highway.h>

#include <array>
#include <cstddef>
#include <cstring>

#include "quant/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace es::quant::HWY_NAMESPACE {
namespace {

using D16B = hn::Simd<int8_t, 16, 0>;  ///< 16 bytes: one super-block's 16 scales.
using DU16B = hn::Simd<uint8_t, 16, 0>;
using D4U32 = hn::Simd<uint32_t, 4, 0>;
using V16B = hn::Vec<D16B>;
using VU16B = hn::Vec<DU16B>;

/// Sixteen int16 multipliers, one per 16 values of a super-block, laid out so that a
/// group's (32 values) multipliers take one byte shuffle: on 256-bit targets `lo` holds
/// entries 0..7 in both 128-bit halves and `hi` entries 8..15; on 128-bit targets `lo`
/// and `hi` hold 0..7 and 8..15.
struct Scales16 {
  VI16 lo, hi;
};

HWY_INLINE Scales16 MakeScales16(V16B s) {
#if ES_QUANT_WIDE
  const VI16 v = hn::PromoteTo(DI16(), s);
  return Scales16{hn::ConcatLowerLower(DI16(), v, v), hn::ConcatUpperUpper(DI16(), v, v)};
#else
  const hn::Half<D16B> dh;
  return Scales16{hn::PromoteTo(DI16(), hn::LowerHalf(dh, s)),
                  hn::PromoteTo(DI16(), hn::UpperHalf(dh, s))};
#endif
}

/// Byte-shuffle indices: table [t][i] picks int16 entry t (of a 128-bit half) for byte i.
constexpr std::array<std::array<uint8_t, 16>, 8> kBroadcast16 = [] {
  std::array<std::array<uint8_t, 16>, 8> t{};
  for (int e = 0; e < 8; ++e) {
    for (int i = 0; i < 16; ++i) t[e][i] = static_cast<uint8_t>(2 * e + (i & 1));
  }
  return t;
}();

#if ES_QUANT_WIDE
/// For group j of a table half: entry 2j in the lower 128 bits, 2j + 1 in the upper.
alignas(32) constexpr std::array<std::array<uint8_t, 32>, 4> kGroupIndex = [] {
  std::array<std::array<uint8_t, 32>, 4> t{};
  for (int j = 0; j < 4; ++j) {
    for (int i = 0; i < 32; ++i) t[j][i] = kBroadcast16[i < 16 ? 2 * j : 2 * j + 1][i % 16];
  }
  return t;
}();
#endif

/// The multipliers of group g (values 32g .. 32g + 31): entries 2g and 2g + 1.
HWY_INLINE I16x32 GroupScales(const Scales16& s, int g) {
  I16x32 r;
#if ES_QUANT_WIDE
  const VI16 table = g < 4 ? s.lo : s.hi;
  const VI16 idx = hn::BitCast(DI16(), hn::Load(DU8(), kGroupIndex[g % 4].data()));
  r.v[0] = hn::TableLookupBytes(table, idx);
#else
  for (int p = 0; p < 2; ++p) {
    const int e = 2 * g + p;
    const VI16 idx = hn::BitCast(DI16(), hn::LoadU(DU8(), kBroadcast16[e % 8].data()));
    r.v[p] = hn::TableLookupBytes(e < 8 ? s.lo : s.hi, idx);
  }
#endif
  return r;
}

/// Sum over the 16 entries of bsums[k] * s[k], in int32 lanes (pmaddwd).
HWY_INLINE VI32 DotBsums(const uint8_t* bsums, V16B s) {
#if ES_QUANT_WIDE
  const VI16 b = hn::LoadU(DI16(), reinterpret_cast<const int16_t*>(bsums));
  return SumPairs(b, hn::PromoteTo(DI16(), s));
#else
  const hn::Half<D16B> dh;
  const auto* p = reinterpret_cast<const int16_t*>(bsums);
  return hn::Add(SumPairs(hn::LoadU(DI16(), p), hn::PromoteTo(DI16(), hn::LowerHalf(dh, s))),
                 SumPairs(hn::LoadU(DI16(), p + 8), hn::PromoteTo(DI16(), hn::UpperHalf(dh, s))));
#endif
}

/// A super-block's contribution: d * isum - dmin * imin, accumulated in float lanes.
struct Acc {
  VF main;
  VF mins;
  HWY_INLINE void Add(VI32 isum, float d, VI32 imin, float dmin) {
    main = hn::MulAdd(hn::ConvertTo(DF(), isum), hn::Set(DF(), d), main);
    mins = hn::MulAdd(hn::ConvertTo(DF(), imin), hn::Set(DF(), dmin), mins);
  }
  HWY_INLINE float Result() const { return ReduceF(main) - ReduceF(mins); }
};

/// A Q8_K activation super-block: d at 0, qs at 4, bsums at 260.
HWY_INLINE float ActScale(const uint8_t* xb) {
  return LoadF32(xb);
}
HWY_INLINE I8x32 ActGroup(const uint8_t* xb, int g) {
  return LoadI8x32(reinterpret_cast<const int8_t*>(xb + 4 + 32 * g));
}
HWY_INLINE const uint8_t* ActBsums(const uint8_t* xb) {
  return xb + 260;
}

HWY_INLINE V16B AsSigned(VU16B v) {
  return hn::BitCast(D16B(), v);
}

// ---------------------------------------------------------------------------------------
// Q2_K: scales at 0 (low nibble scale, high nibble min), qs at 16, d at 80, dmin at 82.

struct Q2K {
  static constexpr size_t kBytes = sizeof(BlockQ2_K);

  /// Calls f(group g = 4n + j, unsigned values) for the 8 groups of 32 values.
  template <class F>
  static HWY_INLINE void Groups(const uint8_t* b, F&& f) {
    HWY_UNROLL(2)
    for (int n = 0; n < 2; ++n) {
      const U8x32 q = LoadU8x32(b + 16 + 32 * n);
      HWY_UNROLL(4)
      for (int j = 0; j < 4; ++j) {
        U8x32 u;
        for (int i = 0; i < kParts; ++i) u.v[i] = ShrAnd(q.v[i], 2 * j, 3);
        f(4 * n + j, u);
      }
    }
  }

  static HWY_INLINE void Dot(const uint8_t* b, const uint8_t* xb, Acc* acc) {
    const VU16B packed = hn::LoadU(DU16B(), b);
    const V16B scales = AsSigned(hn::And(packed, hn::Set(DU16B(), 0x0F)));
    const Scales16 table = MakeScales16(scales);
    VI32 isum = hn::Zero(DI32());
    Groups(b, [&](int g, const U8x32& u) {
      isum = DotScaled(isum, u, ActGroup(xb, g), GroupScales(table, g));
    });
    const VI32 imin = DotBsums(ActBsums(xb), AsSigned(hn::ShiftRight<4>(packed)));
    const float dx = ActScale(xb);
    acc->Add(isum, HalfToFloat(LoadU16(b + 80)) * dx, imin, HalfToFloat(LoadU16(b + 82)) * dx);
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

/// The 16 signed 6-bit scales (already minus 32) from their 12 packed bytes: scale k has
/// its low 4 bits in byte k (k < 8, low nibble) or k - 8 (high nibble), its top 2 bits
/// in bits 2 (k / 4) of byte 8 + k % 4. In 32-bit words u0 u1 u2: lane i of the result is
/// ((u[i % 2] >> 4 (i / 2)) & 0x0F0F0F0F) | (((u2 >> 2 i) & 0x03030303) << 4).
HWY_INLINE V16B UnpackQ3KScales(const uint8_t* p) {
  const D4U32 d;
  // The 16 bytes ending with the scales (the block ends 2 bytes after them): lanes 1-3.
  const auto u = hn::ShiftRightLanes<1>(d, hn::BitCast(d, hn::LoadU(DU16B(), p - 4)));
  const auto low_src = hn::ConcatLowerLower(d, u, u);  // u0 u1 u0 u1
  const auto high_src = hn::Broadcast<2>(u);           // u2 u2 u2 u2
  alignas(16) static constexpr uint32_t kLowShift[4] = {0, 0, 4, 4};
  alignas(16) static constexpr uint32_t kHighShift[4] = {0, 2, 4, 6};
  const auto low = hn::And(hn::Shr(low_src, hn::Load(d, kLowShift)), hn::Set(d, 0x0F0F0F0Fu));
  const auto high = hn::And(hn::Shr(high_src, hn::Load(d, kHighShift)), hn::Set(d, 0x03030303u));
  const auto v = hn::BitCast(DU16B(), hn::Or(low, hn::ShiftLeft<4>(high)));
  return AsSigned(hn::Sub(v, hn::Set(DU16B(), 32)));
}

struct Q3K {
  static constexpr size_t kBytes = sizeof(BlockQ3_K);

  /// Calls f(g, u) with u = low 2 bits | high bit << 2 (value + 4) for the 8 groups.
  template <class F>
  static HWY_INLINE void Groups(const uint8_t* b, F&& f) {
    const U8x32 hm = LoadU8x32(b);
    HWY_UNROLL(2)
    for (int n = 0; n < 2; ++n) {
      const U8x32 q = LoadU8x32(b + 32 + 32 * n);
      HWY_UNROLL(4)
      for (int j = 0; j < 4; ++j) {
        const int g = 4 * n + j;  // Its high bits are bit g of hmask.
        U8x32 u;
        for (int i = 0; i < kParts; ++i) {
          u.v[i] = hn::Or(ShrAnd(q.v[i], 2 * j, 3), ShlInByte<2>(ShrAnd(hm.v[i], g, 1)));
        }
        f(g, u);
      }
    }
  }

  static HWY_INLINE void Dot(const uint8_t* b, const uint8_t* xb, Acc* acc) {
    const V16B scales = UnpackQ3KScales(b + 96);
    const Scales16 table = MakeScales16(scales);
    VI32 isum = hn::Zero(DI32());
    Groups(b, [&](int g, const U8x32& u) {
      isum = DotScaled(isum, u, ActGroup(xb, g), GroupScales(table, g));
    });
    const VI32 offset = hn::ShiftLeft<2>(DotBsums(ActBsums(xb), scales));  // 4 * sum(sc * x)
    const float d = HalfToFloat(LoadU16(b + 108)) * ActScale(xb);
    acc->Add(isum, d, offset, d);
  }

  static HWY_INLINE void Dequant(const uint8_t* b, float* out) {
    alignas(16) int8_t sc[16];
    hn::Store(UnpackQ3KScales(b + 96), D16B(), sc);
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

/// The 8 scales (bytes 0..7) and 8 mins (bytes 8..15) from their 12 packed bytes. In
/// 32-bit words u0 u1 u2 (bytes 0-3, 4-7, 8-11): scales 0-3 = u0 & 63, mins 0-3 = u1 & 63,
/// scales 4-7 = (u2 & 0x0F) | (u0 >> 6) << 4, mins 4-7 = (u2 >> 4 & 0x0F) | (u1 >> 6) << 4.
HWY_INLINE VU16B UnpackScaleMinK4(const uint8_t* p) {
  const D4U32 d;
  const auto u = hn::BitCast(d, hn::LoadU(DU16B(), p));  // 4 bytes of qh / qs follow.
  const auto top_src = hn::InterleaveLower(d, u, u);     // Lanes: u0 u0 u1 u1.
  const auto nib_src = hn::Broadcast<2>(u);              // u2 everywhere.
  alignas(16) static constexpr uint32_t kNibShift[4] = {0, 0, 0, 4};
  const auto even = hn::And(top_src, hn::Set(d, 0x3F3F3F3Fu));
  const auto nib = hn::And(hn::Shr(nib_src, hn::Load(d, kNibShift)), hn::Set(d, 0x0F0F0F0Fu));
  const auto top = hn::And(hn::ShiftRight<6>(top_src), hn::Set(d, 0x03030303u));
  const auto odd = hn::Or(nib, hn::ShiftLeft<4>(top));
  return hn::BitCast(DU16B(), hn::OddEven(odd, even));
}

template <bool kFifthBit>
struct QK4 {
  static constexpr size_t kBytes = kFifthBit ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  static constexpr size_t kQs = kFifthBit ? 48 : 16;

  /// Calls f(sub-block s, u) for the 8 sub-blocks of 32 values.
  template <class F>
  static HWY_INLINE void Groups(const uint8_t* b, F&& f) {
    U8x32 qh;  // Bit s of qh[l]: the fifth bit of value 32 s + l.
    if constexpr (kFifthBit) qh = LoadU8x32(b + 16);
    HWY_UNROLL(4)
    for (int c = 0; c < 4; ++c) {
      const U8x32 q = LoadU8x32(b + kQs + 32 * c);
      U8x32 lo = AndU8(q, 0x0F), hi = ShiftRight4(q);
      if constexpr (kFifthBit) {
        for (int i = 0; i < kParts; ++i) {
          lo.v[i] = hn::Or(lo.v[i], ShlInByte<4>(ShrAnd(qh.v[i], 2 * c, 1)));
          hi.v[i] = hn::Or(hi.v[i], ShlInByte<4>(ShrAnd(qh.v[i], 2 * c + 1, 1)));
        }
      }
      f(2 * c, lo);
      f(2 * c + 1, hi);
    }
  }

  static HWY_INLINE void Dot(const uint8_t* b, const uint8_t* xb, Acc* acc) {
    const VU16B sm = UnpackScaleMinK4(b + 4);
    // Entry k of the 16-entry tables is sub-block k / 2's scale (or min).
    const Scales16 table = MakeScales16(AsSigned(hn::InterleaveLower(sm, sm)));
    const VI32 imin = DotBsums(ActBsums(xb), AsSigned(hn::InterleaveUpper(DU16B(), sm, sm)));
    VI32 isum = hn::Zero(DI32());
    Groups(b, [&](int s, const U8x32& u) {
      isum = DotScaled(isum, u, ActGroup(xb, s), GroupScales(table, s));
    });
    const float dx = ActScale(xb);
    acc->Add(isum, HalfToFloat(LoadU16(b)) * dx, imin, HalfToFloat(LoadU16(b + 2)) * dx);
  }

  static HWY_INLINE void Dequant(const uint8_t* b, float* out) {
    alignas(16) uint8_t sm[16];
    hn::Store(UnpackScaleMinK4(b + 4), DU16B(), sm);
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
    HWY_UNROLL(2)
    for (int n = 0; n < 2; ++n) {
      const U8x32 ql0 = LoadU8x32(b + 64 * n), ql1 = LoadU8x32(b + 64 * n + 32);
      const U8x32 qh = LoadU8x32(b + 128 + 32 * n);
      U8x32 u[4];
      for (int i = 0; i < kParts; ++i) {
        const VU8 low4 = hn::Set(DU8(), 0x0F), h = qh.v[i];
        const VU8 h0 = hn::And(h, hn::Set(DU8(), 0x03)), h1 = hn::And(h, hn::Set(DU8(), 0x0C));
        const VU8 h2 = hn::And(h, hn::Set(DU8(), 0x30)), h3 = hn::And(h, hn::Set(DU8(), 0xC0));
        u[0].v[i] = hn::Or(hn::And(ql0.v[i], low4), ShlInByte<4>(h0));
        u[1].v[i] = hn::Or(hn::And(ql1.v[i], low4), ShlInByte<2>(h1));
        u[2].v[i] = hn::Or(hn::ShiftRight<4>(ql0.v[i]), h2);
        u[3].v[i] = hn::Or(hn::ShiftRight<4>(ql1.v[i]), ShrInByte<2>(h3));
      }
      for (int k = 0; k < 4; ++k) f(4 * n + k, u[k]);
    }
  }

  static HWY_INLINE void Dot(const uint8_t* b, const uint8_t* xb, Acc* acc) {
    const V16B scales = hn::LoadU(D16B(), reinterpret_cast<const int8_t*>(b + 192));
    const Scales16 table = MakeScales16(scales);
    VI32 isum = hn::Zero(DI32());
    Groups(b, [&](int g, const U8x32& u) {
      isum = DotScaled(isum, u, ActGroup(xb, g), GroupScales(table, g));
    });
    const VI32 offset = hn::ShiftLeft<5>(DotBsums(ActBsums(xb), scales));  // 32 * sum(sc * x)
    const float d = HalfToFloat(LoadU16(b + 208)) * ActScale(xb);
    acc->Add(isum, d, offset, d);
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

}  // namespace
// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace es::quant::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ES_QUANT_KQUANTS_INL_H_
