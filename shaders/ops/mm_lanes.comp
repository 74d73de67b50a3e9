// Matrix products for CPU-backed devices with subgroups of exactly 8 (lavapipe: the
// subgroup is the driver's SIMD vector): the same products, push constants and bindings
// as matmul.comp (see there), laid out for a driver where every memory read is a loop over
// the SIMD lanes and cross-lane operations are costly.
//
// The 8 lanes of a subgroup split the columns: lane l takes units 8g + l (32 values each)
// of every row, holds its activations in registers and applies them to ROWS rows before it
// reads the next ones, so a unit of activations is read once per ROWS rows instead of once
// per row. Each subgroup computes ROWS output rows (rows beyond n_out are clamped and not
// stored) for the TILE token rows of its workgroup; one subgroupAdd per row and token sums
// the lanes at the end. No shared memory, no barriers; every invocation stays active to
// the end (subgroups stay whole).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

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
  uint n_out;
  uint n_in;
  uint n_tokens;
  uint w_off;
  uint row_bytes;
  uint off_x;
  uint stride_x;
  uint off_y;
  uint stride_y;
  uint matrix_bytes;
  uint top_k;
  uint broadcast;
  uint off_bias;
  uint item0;
  uint e0;
} p;

#include "mm_decode.glsl"

#if !defined(TILE)
#define TILE 1
#endif
#if !defined(ROWS)
#define ROWS 8
#endif

void main() {
  const uint lane = gl_SubgroupInvocationID;
  const uint r0 = (gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID) * ROWS;
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
  const uint base = p.w_off + e * p.matrix_bytes;
#else
  const uint t0 = gl_WorkGroupID.y * TILE;
  count = min(uint(TILE), p.n_tokens - t0);
  [[unroll]] for (uint n = 0u; n < TILE; ++n) {
    const uint t = t0 + min(n, count - 1u);
    xrow[n] = p.off_x + t * p.stride_x;
    yrow[n] = t;
  }
  const uint base = p.w_off;
#endif
  float acc[ROWS][TILE];
  [[unroll]] for (uint i = 0u; i < ROWS; ++i) {
    [[unroll]] for (uint n = 0u; n < TILE; ++n) acc[i][n] = 0.0;
  }
  const uint units = es_units(), last = p.n_in - 1u;
  for (uint g = 0u; g < units; g += 8u) {
    const uint u = min(g + lane, units - 1u);
    const float live = g + lane < units ? 1.0 : 0.0;
    float xv[TILE][32];
    [[unroll]] for (uint n = 0u; n < TILE; ++n) {
      [[unroll]] for (uint j = 0u; j < 32u; ++j) xv[n][j] = x[xrow[n] + min(32u * u + j, last)];
    }
    [[unroll]] for (uint i = 0u; i < ROWS; ++i) {
      float v[32];
      es_decode32(base + min(r0 + i, p.n_out - 1u) * p.row_bytes, u, v);
      [[unroll]] for (uint n = 0u; n < TILE; ++n) {
        float s = 0.0;
        [[unroll]] for (uint j = 0u; j < 32u; ++j) s += v[j] * xv[n][j];
        acc[i][n] += s * live;
      }
    }
  }
  [[unroll]] for (uint i = 0u; i < ROWS; ++i) {
    const uint r = r0 + i;
    [[unroll]] for (uint n = 0u; n < TILE; ++n) {
      const float total = subgroupAdd(acc[i][n]);
      if (lane == 0u && r < p.n_out && n < count) {
        float val = total;
#if defined(MUL_MAT_ID)
        if (p.off_bias != 0xffffffffu) val += bias[p.off_bias + (p.e0 + e) * p.n_out + r];
#endif
        y[p.off_y + yrow[n] * p.stride_y + r] = val;
      }
    }
  }
}
