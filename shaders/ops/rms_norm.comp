// RMSNorm of each row: y[r][i] = x[r][i] / sqrt(mean_i(x[r][i]^2) + eps) * w[i] (w
// optional: WITH_WEIGHT). One invocation per row: sequential reads, no shared memory.
#version 450

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint n_rows;
  uint n_cols;
  float eps;
} p;

void main() {
  const uint r = gl_GlobalInvocationID.x;
  if (r >= p.n_rows) return;
  const uint base = r * p.n_cols;
  float sum = 0.0;
  for (uint i = 0; i < p.n_cols; ++i) sum += x[base + i] * x[base + i];
  const float scale = inversesqrt(sum / float(p.n_cols) + p.eps);
  for (uint i = 0; i < p.n_cols; ++i) {
#if defined(WITH_WEIGHT)
    y[base + i] = x[base + i] * scale * w[i];
#else
    y[base + i] = x[base + i] * scale;
#endif
  }
}
