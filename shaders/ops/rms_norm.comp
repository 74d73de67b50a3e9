// RMSNorm over groups of columns: y = x / sqrt(mean(x^2) + eps) [* w], for each row and
// each group of `group` columns (the whole row when group == cols). One invocation per
// (group, row): sequential reads, no shared memory — what suits a CPU-backed device.
// The sum is accumulated in the order the CPU reference uses per lane-free loop.
#version 450

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint rows;
  uint cols;
  uint group;
  uint off_x;
  uint stride_x;
  uint off_y;
  uint stride_y;
  uint off_w;  // word offset of w; ignored unless has_w
  uint has_w;
  float eps;
} p;

void main() {
  const uint g = gl_GlobalInvocationID.x;
  const uint r = gl_GlobalInvocationID.y;
  if (g * p.group >= p.cols || r >= p.rows) return;
  const uint xb = p.off_x + r * p.stride_x + g * p.group;
  const uint yb = p.off_y + r * p.stride_y + g * p.group;
  float sum = 0.0;
  for (uint i = 0; i < p.group; ++i) sum += x[xb + i] * x[xb + i];
  const float scale = 1.0 / sqrt(sum / float(p.group) + p.eps);
  for (uint i = 0; i < p.group; ++i) {
    const float v = x[xb + i] * scale;
    y[yb + i] = p.has_w != 0u ? v * w[p.off_w + i] : v;
  }
}
