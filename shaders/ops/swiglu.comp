// SwiGLU, element-wise: y[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)).
#version 450

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer U { float u[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint n;
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.n) return;
  const float v = g[i];
  y[i] = v / (1.0 + exp(-v)) * u[i];
}
