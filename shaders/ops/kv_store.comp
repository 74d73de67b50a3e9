// KV cache writes: row r of the f32 source goes to cache row pos[r] (f16 with F16, else
// f32). Offsets are in cache elements from the bound window's start, whose first row is
// position p.pos_base.
//   F16: one invocation per 32-bit word of the destination row; a word shared with a
//        neighbouring row (odd element offsets) gets its half by atomicAnd/atomicOr, so
//        rows written by other invocations, or not written at all, are kept. f32 -> f16
//        rounds to nearest even in integer arithmetic (exactly as core/half.h and the CPU's
//        vector conversion; packHalf2x16's rounding is left to the implementation).
//   F32: one invocation per element; bits are copied (no float arithmetic).
#version 450

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) buffer Dst { uint dst[]; };
layout(std430, binding = 2) readonly buffer Pos { int pos[]; };

layout(push_constant) uniform Params {
  uint rows;
  uint cols;
  uint off_src;
  uint stride_src;
  uint off_dst;  // elements (halves with F16)
  uint row_elems;
  uint off_pos;
  int pos_base;
} p;

#if defined(F16)
uint f32_to_f16(uint x) {
  const uint sgn = (x >> 16) & 0x8000u;
  const uint a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) return sgn | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0u);  // inf, NaN
  if (a >= 0x477ff000u) return sgn | 0x7c00u;  // rounds past the largest half
  if (a < 0x38800000u) {  // a half subnormal (or zero)
    if (a < 0x33000000u) return sgn;
    const uint shift = 126u - (a >> 23);
    const uint m = (a & 0x7fffffu) | 0x800000u;
    uint h = m >> shift;
    const uint rem = m & ((1u << shift) - 1u);
    const uint halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (h & 1u) != 0u)) ++h;
    return sgn | h;
  }
  uint h = (a - 0x38000000u) >> 13;
  const uint rem = a & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0u)) ++h;
  return sgn | h;
}
#endif

void main() {
  const uint j = gl_GlobalInvocationID.x;
  const uint r = gl_GlobalInvocationID.y;
  if (r >= p.rows) return;
  const uint e0 = p.off_dst + uint(pos[p.off_pos + r] - p.pos_base) * p.row_elems;  // first element
  const uint sb = p.off_src + r * p.stride_src;
#if defined(F16)
  const uint w = (e0 >> 1) + j;  // the word this invocation writes
  if (2u * w >= e0 + p.cols) return;
  const uint c0 = 2u * w - e0;  // element of the low half (may be "-1": wraps, not < cols)
  const uint c1 = c0 + 1u;
  const bool has0 = 2u * w >= e0, has1 = c1 < p.cols;
  const uint h0 = has0 ? f32_to_f16(src[sb + c0]) : 0u;
  const uint h1 = has1 ? f32_to_f16(src[sb + c1]) : 0u;
  if (has0 && has1) {
    dst[w] = h0 | (h1 << 16);
  } else if (has0) {
    atomicAnd(dst[w], 0xffff0000u);
    atomicOr(dst[w], h0);
  } else {
    atomicAnd(dst[w], 0x0000ffffu);
    atomicOr(dst[w], h1 << 16);
  }
#else
  if (j >= p.cols) return;
  dst[e0 + j] = src[sb + j];
#endif
}
