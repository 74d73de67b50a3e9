// Embedding gather: out[t][c] = W[ids[t]][c] decoded to f32, W in a weight type (TYPE_F32,
// TYPE_F16, TYPE_Q8_0, TYPE_Q4_0). One invocation per output element (x: column, y: token);
// the host validates ids before it dispatches.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = 2) writeonly buffer Out { float o[]; };

layout(push_constant) uniform Params {
  uint n_ids;
  uint n_cols;
  uint w_off;  // bytes
  uint row_bytes;
  uint off_o;
  uint stride_o;
} p;

void main() {
  const uint c = gl_GlobalInvocationID.x;
  const uint t = gl_GlobalInvocationID.y;
  if (c >= p.n_cols || t >= p.n_ids) return;
  const uint row = p.w_off + uint(ids[t]) * p.row_bytes;
  float v;
#if defined(TYPE_F32)
  v = uintBitsToFloat(w[(row >> 2) + c]);
#elif defined(TYPE_F16)
  v = ES_HALF(w, row + 2u * c);
#elif defined(TYPE_Q8_0)
  const uint at = row + (c / 32u) * 34u;
  v = ES_HALF(w, at) * float(ES_INT8(w, at + 2u + (c % 32u)));
#elif defined(TYPE_Q4_0)
  const uint at = row + (c / 32u) * 18u;
  const uint j = c % 32u;
  const uint b = ES_BYTE(w, at + 2u + (j % 16u));
  v = ES_HALF(w, at) * (float(j < 16u ? (b & 15u) : (b >> 4u)) - 8.0);
#else
#error "define a TYPE_"
#endif
  o[p.off_o + t * p.stride_o + c] = v;
}
