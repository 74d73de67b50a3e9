// Matrix products with dequantized weights: y[t][r] = sum_k W[r][k] * x[t][k], W in a
// weight type (TYPE_F32, TYPE_F16, TYPE_Q8_0, TYPE_Q4_0) read from its ggml blocks in
// place, x and y f32. One invocation per (output row, token row): no shared memory and no
// barriers, what suits a CPU-backed device (lavapipe).
//
// MUL_MAT_ID: the expert product. Token row s (y's row) takes the weight matrix
// ids[s] (matrix_bytes apart in W) and the input row s (or s / top_k when broadcast);
// with HAS_BIAS, adds bias[ids[s]][r] (f32, {rows, n_expert}).
#version 450
#extension GL_GOOGLE_include_directive : require

#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
#if defined(MUL_MAT_ID)
layout(std430, binding = 3) readonly buffer Ids { uint ids[]; };
layout(std430, binding = 4) readonly buffer Bias { float bias[]; };
#endif

layout(push_constant) uniform Params {
  uint n_out;        // output rows of W
  uint n_in;         // columns (a multiple of the type's block size)
  uint n_tokens;     // rows of y
  uint w_off;        // byte offset of the first row of W in binding 0
  uint row_bytes;    // bytes per row of W
  uint off_x;
  uint stride_x;
  uint off_y;
  uint stride_y;
  uint matrix_bytes; // MUL_MAT_ID: bytes between the experts' matrices
  uint top_k;        // MUL_MAT_ID
  uint broadcast;    // MUL_MAT_ID: input row s / top_k
  uint off_bias;     // MUL_MAT_ID with bias: word offset of bias; has_bias when != ~0
} p;

float dot_row(uint at, uint xb) {
  float sum = 0.0;
#if defined(TYPE_F32)
  const uint base = at >> 2;
  for (uint k = 0; k < p.n_in; ++k) sum += uintBitsToFloat(w[base + k]) * x[xb + k];
#elif defined(TYPE_F16)
  // Rows start 2-byte aligned; pairs of halves where 4-byte aligned.
  for (uint k = 0; k < p.n_in; ++k) sum += ES_HALF(w, at + 2u * k) * x[xb + k];
#elif defined(TYPE_Q8_0)
  // Blocks of 34 bytes: an f16 scale, then 32 signed bytes.
  for (uint b = 0; b < p.n_in / 32u; ++b) {
    const uint q = at + b * 34u;
    float s = 0.0;
    for (uint j = 0; j < 32u; ++j) s += float(ES_INT8(w, q + 2u + j)) * x[xb + b * 32u + j];
    sum += ES_HALF(w, q) * s;
  }
#elif defined(TYPE_Q4_0)
  // Blocks of 18 bytes: an f16 scale, then 16 bytes of nibbles (low: values 0..15,
  // high: values 16..31), each minus 8.
  for (uint b = 0; b < p.n_in / 32u; ++b) {
    const uint q = at + b * 18u;
    const uint xo = xb + b * 32u;
    float s = 0.0;
    for (uint j = 0; j < 16u; ++j) {
      const uint v = ES_BYTE(w, q + 2u + j);
      s += (float(v & 15u) - 8.0) * x[xo + j] + (float(v >> 4u) - 8.0) * x[xo + j + 16u];
    }
    sum += ES_HALF(w, q) * s;
  }
#else
#error "define a TYPE_"
#endif
  return sum;
}

void main() {
  const uint r = gl_GlobalInvocationID.x;
  const uint t = gl_GlobalInvocationID.y;
  if (r >= p.n_out || t >= p.n_tokens) return;
#if defined(MUL_MAT_ID)
  const uint e = ids[t];
  const uint in_row = p.broadcast != 0u ? t / p.top_k : t;
  float v = dot_row(p.w_off + e * p.matrix_bytes + r * p.row_bytes, p.off_x + in_row * p.stride_x);
  if (p.off_bias != 0xffffffffu) v += bias[p.off_bias + e * p.n_out + r];
  y[p.off_y + t * p.stride_y + r] = v;
#else
  y[p.off_y + t * p.stride_y + r] = dot_row(p.w_off + r * p.row_bytes, p.off_x + t * p.stride_x);
#endif
}
