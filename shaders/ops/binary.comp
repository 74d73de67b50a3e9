// Element-wise binary ops on f32 vectors: dst[i] = a[i] OP b[i] (OP by define: ADD, MUL).
// One invocation per element; the workgroup size is a specialization constant so a
// CPU-backed device (lavapipe) and a GPU can each get what suits them.
#version 450

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer D { float d[]; };

layout(push_constant) uniform Params {
  uint n;
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.n) return;
#if defined(OP_ADD)
  d[i] = a[i] + b[i];
#elif defined(OP_MUL)
  d[i] = a[i] * b[i];
#else
#error "define OP_ADD or OP_MUL"
#endif
}
