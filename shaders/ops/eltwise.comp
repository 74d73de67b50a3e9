// Element-wise ops over row-major f32 matrices given by (offset, stride) in their bindings:
//   OP_ADD           a[r][c] += s * b[r][c]
//   OP_COPY          a[r][c] = b[r][c]
//   OP_SCALE         a[r][c] *= s
//   OP_SWIGLU        a[r][c] = silu(b[r][c]) * d[r][c]
//   OP_GLU_OAI       gpt-oss: g = min(b, 7); a = g * sigmoid(1.702 g) * (clamp(d, -7, 7) + 1)
//   OP_SIGMOID_GATE  a[r][c] *= sigmoid(b[r][0])
//   OP_ADD_BIAS      a[r][c] += bias[c] (bias f32 at word offset off_b of binding 1)
// One invocation per element (x: column, y: row).
#version 450

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer D { float d[]; };

layout(push_constant) uniform Params {
  uint rows;
  uint cols;
  uint off_a;
  uint stride_a;
  uint off_b;
  uint stride_b;
  uint off_d;
  uint stride_d;
  float s;
} p;

void main() {
  const uint c = gl_GlobalInvocationID.x;
  const uint r = gl_GlobalInvocationID.y;
  if (c >= p.cols || r >= p.rows) return;
  const uint ia = p.off_a + r * p.stride_a + c;
  const uint ib = p.off_b + r * p.stride_b + c;
#if defined(OP_ADD)
  // precise: no fused multiply-add, the CPU's rounding exactly (NVIDIA's compiler fuses
  // a[ia] + p.s * b[ib] otherwise; lavapipe does not).
  precise float sum = a[ia] + p.s * b[ib];
  a[ia] = sum;
#elif defined(OP_COPY)
  a[ia] = b[ib];
#elif defined(OP_SCALE)
  a[ia] *= p.s;
#elif defined(OP_SWIGLU)
  const float g = b[ib];
  a[ia] = g / (1.0 + exp(-g)) * d[p.off_d + r * p.stride_d + c];
#elif defined(OP_GLU_OAI)
  const float g = min(b[ib], 7.0);
  const float u = clamp(d[p.off_d + r * p.stride_d + c], -7.0, 7.0);
  a[ia] = g / (1.0 + exp(-1.702 * g)) * (u + 1.0);
#elif defined(OP_SIGMOID_GATE)
  a[ia] *= 1.0 / (1.0 + exp(-b[p.off_b + r * p.stride_b]));
#elif defined(OP_ADD_BIAS)
  a[ia] += b[p.off_b + c];
#else
#error "define an OP_"
#endif
}
