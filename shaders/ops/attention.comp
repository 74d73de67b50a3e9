// Causal attention over the KV cache, flash-style: one invocation per (token, head) row
// walks the visible positions with an online softmax, accumulating into its own slice of
// the output (sequential reads, no shared memory: what suits a CPU-backed device; a GPU
// runs it correctly, one row per invocation). Grouped-query (p.group query heads per KV
// head), sliding window, per-head sink logits, MLA's V-as-prefix-of-K (V's binding and
// offsets then point into K's rows). The cache is f16 (F16) or f32.
//
// The positions are walked in chunks, one dispatch per chunk ([p.c0, p.c0 + p.chunk)),
// each row resuming from its running maximum and sum (State, staged by the host: the sink
// or nothing) and its partial output: Mesa's llvmpipe ends every loop of an invocation
// once all of them together have run 65535 iterations, so no invocation may run more.
// A row zeroes its output in its first chunk and normalises it in its last.
//
// K and V are bound as windows of the cache that start at position p.base; offsets and
// row pitches are in cache elements; head dims are multiples of 4. Mirrors the CPU
// backend's loop (cpu_attention.cpp): the same rescaling rule and first step.
#version 450

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { uint kc[]; };
layout(std430, binding = 2) readonly buffer V { uint vc[]; };
layout(std430, binding = 3) buffer Y { float y[]; };
layout(std430, binding = 4) readonly buffer Pos { int pos[]; };  // at p.off_pos
layout(std430, binding = 5) buffer State { vec2 state[]; };  // (maximum, sum); sum 0: none yet

layout(push_constant) uniform Params {
  uint n_tokens;
  uint n_head;
  uint group;
  uint dk;
  uint dv;
  uint off_q;
  uint stride_q;
  uint off_y;
  uint stride_y;
  uint k_off;
  uint k_row;
  uint v_off;
  uint v_row;
  uint v_head;  // elements between KV heads in V rows
  int base;     // the first position in the bound windows
  uint window;  // 0: none
  int c0;       // this dispatch's chunk of positions
  uint chunk;
  uint off_pos;  // the positions follow the states in one staged buffer
  float scale;
} p;

// Four consecutive cache values from element e (any alignment).
#if defined(F16)
vec4 k4(uint e) {
  const uint w = e >> 1;
  if ((e & 1u) == 0u) return vec4(unpackHalf2x16(kc[w]), unpackHalf2x16(kc[w + 1u]));
  const vec2 a = unpackHalf2x16(kc[w]), b = unpackHalf2x16(kc[w + 1u]);
  return vec4(a.y, b, unpackHalf2x16(kc[w + 2u]).x);
}
vec4 v4(uint e) {
  const uint w = e >> 1;
  if ((e & 1u) == 0u) return vec4(unpackHalf2x16(vc[w]), unpackHalf2x16(vc[w + 1u]));
  const vec2 a = unpackHalf2x16(vc[w]), b = unpackHalf2x16(vc[w + 1u]);
  return vec4(a.y, b, unpackHalf2x16(vc[w + 2u]).x);
}
#else
vec4 k4(uint e) {
  return uintBitsToFloat(uvec4(kc[e], kc[e + 1u], kc[e + 2u], kc[e + 3u]));
}
vec4 v4(uint e) {
  return uintBitsToFloat(uvec4(vc[e], vc[e + 1u], vc[e + 2u], vc[e + 3u]));
}
#endif

vec4 q4(uint i) {
  return vec4(q[i], q[i + 1u], q[i + 2u], q[i + 3u]);
}

vec4 y4(uint i) {
  return vec4(y[i], y[i + 1u], y[i + 2u], y[i + 3u]);
}

void set_y4(uint i, vec4 v) {
  y[i] = v.x;
  y[i + 1u] = v.y;
  y[i + 2u] = v.z;
  y[i + 3u] = v.w;
}

void main() {
  const uint item =
      (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
      gl_LocalInvocationID.x;
  if (item >= p.n_tokens * p.n_head) return;
  const uint t = item / p.n_head;
  const uint h = item % p.n_head;
  const uint g = h / p.group;
  const int last = pos[p.off_pos + t];
  const int first = p.window != 0u ? max(0, last - int(p.window) + 1) : 0;
  const int c1 = p.c0 + int(p.chunk);  // the chunk is [c0, c1)
  if (last < p.c0 || first >= c1) return;
  const uint qb = p.off_q + t * p.stride_q + h * p.dk;
  const uint yb = p.off_y + t * p.stride_y + h * p.dv;
  if (first >= p.c0) {
    for (uint i = 0u; i < p.dv; i += 4u) set_y4(yb + i, vec4(0.0));
  }
  vec2 st = state[item];
  float m = st.x, l = st.y;
  bool started = l > 0.0;  // the sink (sum 1) or an earlier chunk
  for (int s = max(first, p.c0); s <= min(last, c1 - 1); ++s) {
    const uint row = uint(s - p.base);
    const uint kb = p.k_off + row * p.k_row + g * p.dk;
    float dot = 0.0;
    for (uint i = 0u; i < p.dk; i += 4u) {
      const vec4 qv = q4(qb + i), kv = k4(kb + i);
      dot = fma(qv.x, kv.x, dot);
      dot = fma(qv.y, kv.y, dot);
      dot = fma(qv.z, kv.z, dot);
      dot = fma(qv.w, kv.w, dot);
    }
    const float score = dot * p.scale;
    float c = 1.0;  // rescales what was accumulated when the maximum grows
    if (!started) {
      c = 0.0;
      m = score;
      started = true;
    } else if (score > m) {
      c = exp(m - score);
      l *= c;
      m = score;
    }
    const float w = exp(score - m);
    l += w;
    const uint vb = p.v_off + row * p.v_row + g * p.v_head;
    for (uint i = 0u; i < p.dv; i += 4u) {
      set_y4(yb + i, fma(vec4(w), v4(vb + i), y4(yb + i) * c));
    }
  }
  if (last < c1) {  // the row's last chunk
    const float inv = l > 0.0 ? 1.0 / l : 0.0;
    for (uint i = 0u; i < p.dv; i += 4u) set_y4(yb + i, y4(yb + i) * inv);
  } else {
    state[item] = vec2(m, l);
  }
}
