// Embedding gather: out[t][c] = W[ids[t]][c] decoded to f32, W in a weight type (TYPE_*,
// decoded by mm_decode.glsl exactly as the reference dequantizer). One invocation per unit
// of 32 columns (x) and token (y); the host validates ids before it dispatches.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = 2) writeonly buffer Out { float o[]; };

layout(push_constant) uniform Params {
  uint n_ids;
  uint n_in;  // columns
  uint w_off;  // bytes
  uint row_bytes;
  uint off_o;
  uint stride_o;
} p;

#include "mm_decode.glsl"

void main() {
  const uint u = gl_GlobalInvocationID.x;
  const uint t = gl_GlobalInvocationID.y;
  if (u >= es_units() || t >= p.n_ids) return;
  float v[32];
  es_decode32(p.w_off + uint(ids[t]) * p.row_bytes, u, v);
  const uint at = p.off_o + t * p.stride_o + 32u * u;
  const uint n = min(32u, p.n_in - 32u * u);
  [[unroll]] for (uint j = 0u; j < 32u; ++j) {
    if (j < n) o[at + j] = v[j];
  }
}
