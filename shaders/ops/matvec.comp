// Matrix-vector product for decoding: y[r] = sum_k W[r][k] * x[k], W stored in a weight
// type (TYPE_F32 or TYPE_Q8_0), x and y f32. One invocation per row: what suits a
// CPU-backed device (lavapipe) — no shared memory, no barriers, sequential reads.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint n_rows;
  uint n_cols;     // a multiple of the type's block size
  uint row_bytes;  // bytes per row of W
} p;

void main() {
  const uint r = gl_GlobalInvocationID.x;
  if (r >= p.n_rows) return;
  float sum = 0.0;
#if defined(TYPE_F32)
  const uint base = r * p.n_cols;
  for (uint k = 0; k < p.n_cols; ++k) sum += uintBitsToFloat(w[base + k]) * x[k];
#elif defined(TYPE_Q8_0)
  // Blocks of 34 bytes: an f16 scale, then 32 signed bytes.
  const uint row = r * p.row_bytes;
  for (uint b = 0; b < p.n_cols / 32u; ++b) {
    const uint at = row + b * 34u;
    const float d = ES_HALF(w, at);
    float s = 0.0;
    for (uint j = 0; j < 32u; ++j) s += float(ES_INT8(w, at + 2u + j)) * x[b * 32u + j];
    sum += d * s;
  }
#else
#error "define TYPE_F32 or TYPE_Q8_0"
#endif
  y[r] = sum;
}
