// Matrix products with dequantized weights: y[t][r] = sum_k W[r][k] * x[t][k], W in a
// weight type (TYPE_*, decoded by mm_decode.glsl in units of 32 values read as whole
// words), x and y f32. One invocation per output row (x) and per tile of TILE token rows
// (workgroup y): each decoded unit of weights serves the TILE tokens (TILE 1 for decode,
// 4 for prefill). No shared memory and no barriers.
//
// On CPU-backed devices with subgroups of 8 the host uses mm_lanes.comp instead.
//
// MUL_MAT_ID: the expert product, over work items the host builds from the ids: item i
// (workgroup y + item0) is {expert, first, count}: `count` (<= TILE) slots
// slots[first ..] that all use the matrix `expert` (matrix_bytes apart in W, counted from
// the binding's group of experts). Slot s is y's row s and reads x's row s (or s / top_k
// when broadcast); with a bias (off_bias != ~0), adds bias[(e0 + expert) * n_out + r].
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
#if defined(MUL_MAT_ID)
layout(std430, binding = 3) readonly buffer Items { uint items[]; };
layout(std430, binding = 4) readonly buffer Slots { uint slots[]; };
layout(std430, binding = 5) readonly buffer Bias { float bias[]; };
#endif

layout(push_constant) uniform Params {
  uint n_out;         // output rows of W
  uint n_in;          // columns
  uint n_tokens;      // mul_mat: rows of y
  uint w_off;         // byte offset of the first row of W in binding 0
  uint row_bytes;     // bytes per row of W
  uint off_x;
  uint stride_x;
  uint off_y;
  uint stride_y;
  uint matrix_bytes;  // MUL_MAT_ID: bytes between the experts' matrices
  uint top_k;         // MUL_MAT_ID
  uint broadcast;     // MUL_MAT_ID: input row s / top_k
  uint off_bias;      // MUL_MAT_ID with bias: word offset of bias; none when ~0
  uint item0;         // MUL_MAT_ID: the item of workgroup y = 0
  uint e0;            // MUL_MAT_ID: the first expert of this dispatch's group
} p;

#include "mm_decode.glsl"

#if !defined(TILE)
#define TILE 1
#endif

// sum_j v[j] * x[xrow + 32u + j] over unit u (tail columns of float types: v is 0 there and
// the read is clamped into the row).
float es_dot32(const float v[32], uint xrow, uint u) {
  const uint k0 = 32u * u, last = p.n_in - 1u;
  float sum = 0.0;
  [[unroll]] for (uint j = 0u; j < 32u; ++j) sum += v[j] * x[xrow + min(k0 + j, last)];
  return sum;
}

void main() {
  const uint r_id = gl_GlobalInvocationID.x;
  const uint r = min(r_id, p.n_out - 1u);
  uint xrow[TILE], yrow[TILE];
  uint count;
#if defined(MUL_MAT_ID)
  const uint it = 3u * (p.item0 + gl_WorkGroupID.y);
  const uint e = items[it], first = items[it + 1u];
  count = items[it + 2u];
  [[unroll]] for (uint n = 0u; n < TILE; ++n) {
    const uint s = slots[first + min(n, count - 1u)];
    xrow[n] = p.off_x + (p.broadcast != 0u ? s / p.top_k : s) * p.stride_x;
    yrow[n] = s;
  }
  const uint row = p.w_off + e * p.matrix_bytes + r * p.row_bytes;
#else
  const uint t0 = gl_WorkGroupID.y * TILE;
  count = min(uint(TILE), p.n_tokens - t0);
  [[unroll]] for (uint n = 0u; n < TILE; ++n) {
    const uint t = t0 + min(n, count - 1u);
    xrow[n] = p.off_x + t * p.stride_x;
    yrow[n] = t;
  }
  const uint row = p.w_off + r * p.row_bytes;
#endif
  float acc[TILE];
  [[unroll]] for (uint n = 0u; n < TILE; ++n) acc[n] = 0.0;
  const uint units = es_units();
  for (uint u = 0u; u < units; ++u) {
    float v[32];
    es_decode32(row, u, v);
    [[unroll]] for (uint n = 0u; n < TILE; ++n) acc[n] += es_dot32(v, xrow[n], u);
  }
  if (r_id < p.n_out) {
    [[unroll]] for (uint n = 0u; n < TILE; ++n) {
      if (n < count) {
        float val = acc[n];
#if defined(MUL_MAT_ID)
        if (p.off_bias != 0xffffffffu) val += bias[p.off_bias + (p.e0 + e) * p.n_out + r];
#endif
        y[p.off_y + yrow[n] * p.stride_y + r] = val;
      }
    }
  }
}
