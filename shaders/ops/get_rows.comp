// Embedding gather: out[t][c] = W[ids[t]][c] decoded to f32, W in a weight type (TYPE_F32 or
// TYPE_Q8_0). One invocation per output element; ids are checked against n_rows (an id out
// of range gives zeros; the host validates ids before it dispatches).
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
  uint n_rows;
  uint row_bytes;
} p;

void main() {
  const uint e = gl_GlobalInvocationID.x;
  if (e >= p.n_ids * p.n_cols) return;
  const uint t = e / p.n_cols;
  const uint c = e % p.n_cols;
  const int id = ids[t];
  if (id < 0 || uint(id) >= p.n_rows) {
    o[e] = 0.0;
    return;
  }
#if defined(TYPE_F32)
  o[e] = uintBitsToFloat(w[uint(id) * p.n_cols + c]);
#elif defined(TYPE_Q8_0)
  const uint at = uint(id) * p.row_bytes + (c / 32u) * 34u;
  o[e] = ES_HALF(w, at) * float(ES_INT8(w, at + 2u + (c % 32u)));
#else
#error "define TYPE_F32 or TYPE_Q8_0"
#endif
}
