// The weighted sum of each token's expert outputs: out[t][c] = sum_r wt[t*K + r] *
// x[t*K + r][c], in rank order (as the CPU does). One invocation per element.
#version 450

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) writeonly buffer O { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Wt { float wt[]; };

layout(push_constant) uniform Params {
  uint rows;  // tokens
  uint cols;
  uint top_k;
  uint off_o;
  uint stride_o;
  uint off_x;
  uint stride_x;
} p;

void main() {
  const uint c = gl_GlobalInvocationID.x;
  const uint t = gl_GlobalInvocationID.y;
  if (c >= p.cols || t >= p.rows) return;
  float sum = 0.0;
  for (uint r = 0; r < p.top_k; ++r) {
    const uint s = t * p.top_k + r;
    sum += wt[s] * x[p.off_x + s * p.stride_x + c];
  }
  o[p.off_o + t * p.stride_o + c] = sum;
}
