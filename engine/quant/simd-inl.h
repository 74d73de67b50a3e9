// Per-target building blocks shared by the SIMD kernels (simd_*.cpp). Included once per
// Highway target through foreach_target.h, hence the toggling include guard.
//
// Every kernel works on groups of 32 consecutive values: the legacy blocks are one group,
// K-quant super-blocks are eight. Targets with 256-bit vectors (AVX2, AVX3) hold a group
// in one vector of 32 bytes; 128-bit targets (SSE4, NEON, EMU128) in two vectors of 16
// (kParts = 2). The integer products follow x86's pmaddubsw / pmaddwd: unsigned 8-bit
// weights times signed 8-bit activations summed in pairs to int16, then pairs of int16
// (times int16 scales) summed to int32. Portable targets emulate both with shifts, so
// every target computes the same exact integers.

#if defined(ES_QUANT_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ES_QUANT_SIMD_INL_H_
#undef ES_QUANT_SIMD_INL_H_
#else
#define ES_QUANT_SIMD_INL_H_
#endif

#include <hwy/highway.h>

#include <cstring>

#include "quant/blocks.h"

HWY_BEFORE_NAMESPACE();
namespace es::quant::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
#error "engine/quant needs 16-byte vectors: HWY_SCALAR has one lane (see quant/hwy_config.h)"
#endif

#undef ES_QUANT_WIDE
#undef ES_QUANT_X86
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define ES_QUANT_WIDE 1
#else
#define ES_QUANT_WIDE 0
#endif

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_SSSE3
#define ES_QUANT_X86 1
#else
#define ES_QUANT_X86 0
#endif

/// Bytes per vector, and vectors per 32-value group.
constexpr size_t kBytes = ES_QUANT_WIDE ? 32 : 16;
constexpr int kParts = static_cast<int>(32 / kBytes);

using DU8 = hn::Simd<uint8_t, kBytes, 0>;
using DI8 = hn::Simd<int8_t, kBytes, 0>;
using DU16 = hn::Simd<uint16_t, kBytes / 2, 0>;
using DI16 = hn::Simd<int16_t, kBytes / 2, 0>;
using DI32 = hn::Simd<int32_t, kBytes / 4, 0>;
using DF = hn::Simd<float, kBytes / 4, 0>;
using VU8 = hn::Vec<DU8>;
using VI8 = hn::Vec<DI8>;
using VI16 = hn::Vec<DI16>;
using VI32 = hn::Vec<DI32>;
using VF = hn::Vec<DF>;

/// 32 unsigned 8-bit values (weights after unpacking).
struct U8x32 {
  VU8 v[kParts];
};
/// 32 signed 8-bit values.
struct I8x32 {
  VI8 v[kParts];
};
/// int16 multipliers for a group: lanes of part p cover its bytes two at a time.
struct I16x32 {
  VI16 v[kParts];
};

/// Half to float for block scales: the F16C instruction where the target has it.
HWY_INLINE float HalfToFloat(uint16_t h) {
#if ES_QUANT_X86 && HWY_TARGET <= HWY_AVX2
  return _cvtsh_ss(h);
#else
  return half_to_float(h);
#endif
}

HWY_INLINE uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

HWY_INLINE float LoadF32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}

HWY_INLINE I8x32 LoadI8x32(const int8_t* p) {
  I8x32 r;
  for (int i = 0; i < kParts; ++i) r.v[i] = hn::LoadU(DI8(), p + i * kBytes);
  return r;
}

HWY_INLINE U8x32 LoadU8x32(const uint8_t* p) {
  U8x32 r;
  for (int i = 0; i < kParts; ++i) r.v[i] = hn::LoadU(DU8(), p + i * kBytes);
  return r;
}

/// 16 bytes of nibbles -> 32 values: the low nibbles are values 0..15, the high 16..31.
HWY_INLINE U8x32 Nibbles16(const uint8_t* qs) {
  U8x32 r;
#if ES_QUANT_WIDE
  // Both 128-bit halves get the 16 bytes; the upper half's 32-bit lanes shift right by 4.
  const hn::Repartition<uint32_t, DU8> d32;
  const hn::Simd<uint32_t, 4, 0> d32h;
  const auto shifts = hn::Combine(d32, hn::Set(d32h, 4u), hn::Zero(d32h));
  const auto q = hn::BitCast(d32, hn::LoadDup128(DU8(), qs));
  r.v[0] = hn::And(hn::BitCast(DU8(), hn::Shr(q, shifts)), hn::Set(DU8(), 0x0F));
#else
  const auto q = hn::LoadU(DU8(), qs);
  r.v[0] = hn::And(q, hn::Set(DU8(), 0x0F));
  r.v[1] = hn::ShiftRight<4>(q);
#endif
  return r;
}

/// Bit i of the 4 bytes at `bits` (little-endian) as a mask on value i of a group.
struct Mask32 {
  hn::Mask<DU8> m[kParts];
};
HWY_INLINE Mask32 LoadBits32(const uint8_t* bits) {
  Mask32 r;
  for (int i = 0; i < kParts; ++i) r.m[i] = hn::LoadMaskBits(DU8(), bits + i * (kBytes / 8));
  return r;
}

HWY_INLINE U8x32 AndU8(const U8x32& a, uint8_t mask) {
  U8x32 r;
  for (int i = 0; i < kParts; ++i) r.v[i] = hn::And(a.v[i], hn::Set(DU8(), mask));
  return r;
}

/// Every byte shifted left by k; the caller guarantees that no set bit leaves its byte, so
/// one 16-bit shift does (Highway's 8-bit shifts add a mask).
template <int k>
HWY_INLINE VU8 ShlInByte(VU8 v) {
  return hn::BitCast(DU8(), hn::ShiftLeft<k>(hn::BitCast(DU16(), v)));
}
template <int k>
HWY_INLINE VU8 ShrInByte(VU8 v) {
  return hn::BitCast(DU8(), hn::ShiftRight<k>(hn::BitCast(DU16(), v)));
}

/// Per byte (v >> s) & mask, for masks that keep only bits the shift left in the byte.
HWY_INLINE VU8 ShrAnd(VU8 v, int s, uint8_t mask) {
  return hn::And(hn::BitCast(DU8(), hn::ShiftRightSame(hn::BitCast(DU16(), v), s)),
                 hn::Set(DU8(), mask));
}

/// Per-byte a + (bit set ? add : 0).
HWY_INLINE U8x32 AddIf(const U8x32& a, const Mask32& bits, uint8_t add) {
  U8x32 r;
  for (int i = 0; i < kParts; ++i) {
    r.v[i] = hn::Add(a.v[i], hn::IfThenElseZero(bits.m[i], hn::Set(DU8(), add)));
  }
  return r;
}

/// Per-byte a - (bit set ? 0 : sub), reinterpreted as signed.
HWY_INLINE I8x32 SubUnless(const U8x32& a, const Mask32& bits, uint8_t sub) {
  I8x32 r;
  for (int i = 0; i < kParts; ++i) {
    const VU8 s = hn::IfThenZeroElse(bits.m[i], hn::Set(DU8(), sub));
    r.v[i] = hn::BitCast(DI8(), hn::Sub(a.v[i], s));
  }
  return r;
}

HWY_INLINE I8x32 SubConst(const U8x32& a, uint8_t sub) {
  I8x32 r;
  for (int i = 0; i < kParts; ++i) {
    r.v[i] = hn::BitCast(DI8(), hn::Sub(a.v[i], hn::Set(DU8(), sub)));
  }
  return r;
}

/// int16 lane k = a[2k] * b[2k] + a[2k+1] * b[2k+1] (pmaddubsw). Callers keep a <= 128
/// so that no sum saturates.
HWY_INLINE VI16 MulPairs(VU8 a, VI8 b) {
#if ES_QUANT_X86 && ES_QUANT_WIDE
  return VI16{_mm256_maddubs_epi16(a.raw, b.raw)};
#elif ES_QUANT_X86
  return VI16{_mm_maddubs_epi16(a.raw, b.raw)};
#else
  const DI16 d16;
  const auto a16 = hn::BitCast(DU16(), a);
  const auto a_even = hn::BitCast(d16, hn::And(a16, hn::Set(DU16(), 0xFF)));
  const auto a_odd = hn::BitCast(d16, hn::ShiftRight<8>(a16));
  const auto b16 = hn::BitCast(d16, b);
  const auto b_even = hn::ShiftRight<8>(hn::ShiftLeft<8>(b16));
  const auto b_odd = hn::ShiftRight<8>(b16);
  return hn::Add(hn::Mul(a_even, b_even), hn::Mul(a_odd, b_odd));
#endif
}

/// int32 lane k = a[2k] * b[2k] + a[2k+1] * b[2k+1] (pmaddwd).
HWY_INLINE VI32 SumPairs(VI16 a, VI16 b) {
#if ES_QUANT_X86 && ES_QUANT_WIDE
  return VI32{_mm256_madd_epi16(a.raw, b.raw)};
#elif ES_QUANT_X86
  return VI32{_mm_madd_epi16(a.raw, b.raw)};
#else
  const DI32 d32;
  const auto a32 = hn::BitCast(d32, a);
  const auto b32 = hn::BitCast(d32, b);
  const auto a_even = hn::ShiftRight<16>(hn::ShiftLeft<16>(a32));
  const auto b_even = hn::ShiftRight<16>(hn::ShiftLeft<16>(b32));
  return hn::Add(hn::Mul(a_even, b_even),
                 hn::Mul(hn::ShiftRight<16>(a32), hn::ShiftRight<16>(b32)));
#endif
}

/// b with its sign flipped where s is negative (and anything where s is zero).
HWY_INLINE VI8 ApplySign(VI8 b, VI8 s) {
#if ES_QUANT_X86 && ES_QUANT_WIDE
  return VI8{_mm256_sign_epi8(b.raw, s.raw)};
#elif ES_QUANT_X86
  return VI8{_mm_sign_epi8(b.raw, s.raw)};
#else
  return hn::IfThenElse(hn::Lt(s, hn::Zero(DI8())), hn::Neg(b), b);
#endif
}

/// acc + sum of a[i] * b[i] over the group, a unsigned (<= 128), in int32 lanes.
HWY_INLINE VI32 DotU(VI32 acc, const U8x32& a, const I8x32& b) {
  const VI16 ones = hn::Set(DI16(), 1);
  for (int i = 0; i < kParts; ++i) acc = hn::Add(acc, SumPairs(MulPairs(a.v[i], b.v[i]), ones));
  return acc;
}

#undef ES_QUANT_VNNI
#if HWY_TARGET == HWY_AVX3_DL
#define ES_QUANT_VNNI 1  // AVX-512 VNNI (vpdpbusd, vpdpwssd) on 256-bit vectors.
#else
#define ES_QUANT_VNNI 0
#endif

/// acc + in each int32 lane k the sum of a[i] * b[i] over bytes i = 4k .. 4k + 3 (the lanes
/// DotU fills), a unsigned, b signed. On AVX3_DL one vpdpbusd, exact for any a; elsewhere
/// DotU, so a <= 128 there. Highway 1.0's AVX3_DL attributes name AVX-VNNI rather than
/// AVX512-VNNI (which its dispatch checks), so the EVEX instruction is written as asm.
HWY_INLINE VI32 DotU4(VI32 acc, const U8x32& a, const I8x32& b) {
#if ES_QUANT_VNNI
  __m256i r = acc.raw;
  asm("vpdpbusd %2, %1, %0" : "+v"(r) : "v"(a.v[0].raw), "v"(b.v[0].raw));
  return VI32{r};
#else
  return DotU(acc, a, b);
#endif
}

/// acc + in each int32 lane the sum of its two int16 products a[j] * b[j] (pmaddwd + add;
/// one vpdpwssd on AVX3_DL).
HWY_INLINE VI32 AddSumPairs(VI32 acc, VI16 a, VI16 b) {
#if ES_QUANT_VNNI
  __m256i r = acc.raw;
  asm("vpdpwssd %2, %1, %0" : "+v"(r) : "v"(a.raw), "v"(b.raw));
  return VI32{r};
#else
  return hn::Add(acc, SumPairs(a, b));
#endif
}

/// acc + sum of a[i] * b[i] over the group, both signed (a >= -128, b >= -127).
HWY_INLINE VI32 DotS(VI32 acc, const I8x32& a, const I8x32& b) {
  const VI16 ones = hn::Set(DI16(), 1);
  for (int i = 0; i < kParts; ++i) {
    const VU8 abs_a = hn::BitCast(DU8(), hn::Abs(a.v[i]));
    acc = hn::Add(acc, SumPairs(MulPairs(abs_a, ApplySign(b.v[i], a.v[i])), ones));
  }
  return acc;
}

/// acc + sum over the group of a[i] * b[i] * scale(i), a unsigned (<= 128), where
/// `scales` holds each value's int16 multiplier (pairs of values share one).
HWY_INLINE VI32 DotScaled(VI32 acc, const U8x32& a, const I8x32& b, const I16x32& scales) {
  for (int i = 0; i < kParts; ++i) acc = AddSumPairs(acc, MulPairs(a.v[i], b.v[i]), scales.v[i]);
  return acc;
}

/// One multiplier for the whole group.
HWY_INLINE I16x32 Scale32(int s) {
  I16x32 r;
  for (int i = 0; i < kParts; ++i) r.v[i] = hn::Set(DI16(), static_cast<int16_t>(s));
  return r;
}

/// `first` for values 0..15 of the group, `second` for 16..31.
HWY_INLINE I16x32 Scale16x2(int first, int second) {
  I16x32 r;
#if ES_QUANT_WIDE
  const hn::Simd<int16_t, 8, 0> dh;
  r.v[0] = hn::Combine(DI16(), hn::Set(dh, static_cast<int16_t>(second)),
                       hn::Set(dh, static_cast<int16_t>(first)));
#else
  r.v[0] = hn::Set(DI16(), static_cast<int16_t>(first));
  r.v[1] = hn::Set(DI16(), static_cast<int16_t>(second));
#endif
  return r;
}

/// Blocks a step of the legacy kernels handles at once: one per int32 / float lane.
constexpr size_t kStep = kBytes / 4;

/// Lane k = the sum of all lanes of s[k], for kStep vectors (a transposing reduction).
HWY_INLINE VI32 SumEach(const VI32* s) {
#if ES_QUANT_X86 && ES_QUANT_WIDE
  const __m256i h01 = _mm256_hadd_epi32(s[0].raw, s[1].raw);
  const __m256i h23 = _mm256_hadd_epi32(s[2].raw, s[3].raw);
  const __m256i h45 = _mm256_hadd_epi32(s[4].raw, s[5].raw);
  const __m256i h67 = _mm256_hadd_epi32(s[6].raw, s[7].raw);
  const __m256i h0123 = _mm256_hadd_epi32(h01, h23);  // Lane k of each half: s[k] partial.
  const __m256i h4567 = _mm256_hadd_epi32(h45, h67);
  return VI32{_mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20),
                               _mm256_permute2x128_si256(h0123, h4567, 0x31))};
#elif ES_QUANT_X86
  return VI32{
      _mm_hadd_epi32(_mm_hadd_epi32(s[0].raw, s[1].raw), _mm_hadd_epi32(s[2].raw, s[3].raw))};
#else
  alignas(32) int32_t sums[kStep];
  for (size_t k = 0; k < kStep; ++k) sums[k] = hn::GetLane(hn::SumOfLanes(DI32(), s[k]));
  return hn::Load(DI32(), sums);
#endif
}

/// The 32-bit words at p, p + stride, ..., one per lane (kStep of them).
HWY_INLINE VI32 GatherWords(const uint8_t* p, int32_t stride) {
  const auto offsets = hn::Mul(hn::Iota(DI32(), 0), hn::Set(DI32(), stride));
  return hn::GatherOffset(DI32(), reinterpret_cast<const int32_t*>(p), offsets);
}

/// The halves in the low (kHigh = false) or high 16 bits of each lane of `words`, as floats.
template <bool kHigh>
HWY_INLINE VF HalvesToFloat(VI32 words) {
  const hn::RebindToUnsigned<DI32> du32;
  auto u = hn::BitCast(du32, words);
  u = kHigh ? hn::ShiftRight<16>(u) : hn::And(u, hn::Set(du32, 0xFFFFu));
  const auto h = hn::DemoteTo(hn::Rebind<uint16_t, DI32>(), hn::BitCast(DI32(), u));
  return hn::PromoteTo(DF(), hn::BitCast(hn::Rebind<hwy::float16_t, DI32>(), h));
}

HWY_INLINE float ReduceF(VF v) {
  return hn::GetLane(hn::SumOfLanes(DF(), v));
}
HWY_INLINE int32_t ReduceI(VI32 v) {
  return hn::GetLane(hn::SumOfLanes(DI32(), v));
}

/// Stores 32 signed values as floats: value * s0 + o0 for the first 16, * s1 + o1 after.
HWY_INLINE void StoreScaled(const I8x32& q, float s0, float s1, float o0, float o1, float* out) {
  const DF df;
  const hn::Simd<int8_t, kBytes / 4, 0> dq;  // A quarter vector of bytes.
  alignas(32) int8_t bytes[32];
  for (int i = 0; i < kParts; ++i) hn::Store(q.v[i], DI8(), bytes + i * kBytes);
  for (size_t j = 0; j < 32; j += hn::Lanes(df)) {
    const VF scale = hn::Set(df, j < 16 ? s0 : s1), offset = hn::Set(df, j < 16 ? o0 : o1);
    const VI32 v = hn::PromoteTo(DI32(), hn::LoadU(dq, bytes + j));
    hn::StoreU(hn::MulAdd(hn::ConvertTo(df, v), scale, offset), df, out + j);
  }
}

/// As StoreScaled for unsigned values (all below 128 here).
HWY_INLINE void StoreScaledU(const U8x32& q, float s0, float s1, float o0, float o1, float* out) {
  I8x32 s;
  for (int i = 0; i < kParts; ++i) s.v[i] = hn::BitCast(DI8(), q.v[i]);
  StoreScaled(s, s0, s1, o0, o1, out);
}

HWY_INLINE U8x32 ShiftRight4(const U8x32& a) {
  U8x32 r;
  for (int i = 0; i < kParts; ++i) r.v[i] = hn::ShiftRight<4>(a.v[i]);
  return r;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace es::quant::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ES_QUANT_SIMD_INL_H_
