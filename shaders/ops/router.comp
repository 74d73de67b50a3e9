// The fused router (llama.cpp's build_moe_ffn selection), one invocation per token: gating
// (softmax, sigmoid, or softmax over the selected logits), selection bias, group-limited
// top-k (a group scores the sum of its best two), normalisation, scaling, and the routing
// record — experts and weights in descending weight, the entropy of the distribution and,
// on request, the distribution itself. Ties go to the lower expert index, as on the CPU.
#version 450

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer L { float logits[]; };
layout(std430, binding = 1) readonly buffer B { float bias[]; };
layout(std430, binding = 2) buffer S { float scratch[]; };  // [token][probs n | sel n]
layout(std430, binding = 3) writeonly buffer R { uint rec[]; };  // [token][record_words]

layout(push_constant) uniform Params {
  uint rows;
  uint n_expert;
  uint top_k;
  uint off_l;
  uint stride_l;
  uint gating;  // 1 softmax, 2 sigmoid, 3 softmax over the selected
  uint has_bias;
  uint n_groups;
  uint n_group_used;
  uint norm_weights;
  float weights_scale;
  uint full;  // write the distribution
  uint record_words;
} p;

const uint kMaxK = 16u;
const uint kMaxGroups = 64u;
const float kNegInf = -1.0 / 0.0;

// Top-k of scratch[base + i * step], i < n, into idx[0..k): ties to the lower index.
void top_k(uint base, uint n, uint k, inout uint idx[kMaxK]) {
  for (uint i = 0u; i < k; ++i) idx[i] = 0xffffffffu;
  for (uint e = 0u; e < n; ++e) {
    const float s = scratch[base + e];
    uint r = k;
    while (r > 0u && (idx[r - 1u] == 0xffffffffu || s > scratch[base + idx[r - 1u]])) --r;
    if (r == k) continue;
    for (uint j = k - 1u; j > r; --j) idx[j] = idx[j - 1u];
    idx[r] = e;
  }
}

void main() {
  const uint t = gl_GlobalInvocationID.x;
  if (t >= p.rows) return;
  const uint n = p.n_expert;
  const uint lb = p.off_l + t * p.stride_l;
  const uint pb = t * 2u * n;  // probs
  const uint sb = pb + n;      // selection scores
  if (p.gating == 2u) {
    for (uint e = 0u; e < n; ++e) scratch[pb + e] = 1.0 / (1.0 + exp(-logits[lb + e]));
  } else if (p.gating == 3u) {
    for (uint e = 0u; e < n; ++e) scratch[pb + e] = logits[lb + e];
  } else {
    float m = kNegInf;
    for (uint e = 0u; e < n; ++e) m = max(m, logits[lb + e]);
    float sum = 0.0;
    for (uint e = 0u; e < n; ++e) {
      const float v = exp(logits[lb + e] - m);
      scratch[pb + e] = v;
      sum += v;
    }
    for (uint e = 0u; e < n; ++e) scratch[pb + e] /= sum;
  }
  for (uint e = 0u; e < n; ++e) scratch[sb + e] = scratch[pb + e] + (p.has_bias != 0u ? bias[e] : 0.0);

  if (p.n_groups > 1u && p.n_group_used < p.n_groups) {
    const uint per = n / p.n_groups;
    float group_score[kMaxGroups];
    for (uint g = 0u; g < p.n_groups; ++g) {
      uint best[kMaxK];
      top_k(sb + g * per, per, min(2u, per), best);
      group_score[g] = scratch[sb + g * per + best[0]] + (per > 1u ? scratch[sb + g * per + best[1]] : 0.0);
    }
    // Top n_group_used groups, ties to the lower index.
    bool keep[kMaxGroups];
    for (uint g = 0u; g < p.n_groups; ++g) keep[g] = false;
    for (uint i = 0u; i < p.n_group_used; ++i) {
      uint best = 0xffffffffu;
      for (uint g = 0u; g < p.n_groups; ++g) {
        if (!keep[g] && (best == 0xffffffffu || group_score[g] > group_score[best])) best = g;
      }
      keep[best] = true;
    }
    for (uint g = 0u; g < p.n_groups; ++g) {
      if (keep[g]) continue;
      for (uint e = 0u; e < per; ++e) scratch[sb + g * per + e] = kNegInf;
    }
  }

  uint chosen[kMaxK];
  float w[kMaxK];
  top_k(sb, n, p.top_k, chosen);
  for (uint r = 0u; r < p.top_k; ++r) w[r] = scratch[pb + chosen[r]];
  if (p.gating == 3u) {
    float m = kNegInf;
    for (uint r = 0u; r < p.top_k; ++r) m = max(m, w[r]);
    float sum = 0.0;
    for (uint r = 0u; r < p.top_k; ++r) {
      w[r] = exp(w[r] - m);
      sum += w[r];
    }
    for (uint r = 0u; r < p.top_k; ++r) w[r] /= sum;
  }
  if (p.norm_weights != 0u) {
    float sum = 0.0;
    for (uint r = 0u; r < p.top_k; ++r) sum += w[r];
    sum = max(sum, 6.103515625e-5);
    for (uint r = 0u; r < p.top_k; ++r) w[r] /= sum;
  }
  if (p.weights_scale != 0.0) {
    for (uint r = 0u; r < p.top_k; ++r) w[r] *= p.weights_scale;
  }
  // Descending weight, stable.
  uint order[kMaxK];
  for (uint r = 0u; r < p.top_k; ++r) order[r] = r;
  for (uint i = 1u; i < p.top_k; ++i) {
    const uint v = order[i];
    uint j = i;
    for (; j > 0u && w[order[j - 1u]] < w[v]; --j) order[j] = order[j - 1u];
    order[j] = v;
  }
  const uint rb = t * p.record_words;
  for (uint r = 0u; r < p.top_k; ++r) {
    rec[rb + r] = chosen[order[r]];
    rec[rb + p.top_k + r] = floatBitsToUint(w[order[r]]);
  }

  // Entropy of the distribution over all experts (scores normalised to sum 1).
  const bool raw = p.gating == 3u;
  float m = kNegInf;
  if (raw) {
    for (uint e = 0u; e < n; ++e) m = max(m, scratch[pb + e]);
  }
  float total = 0.0;
  for (uint e = 0u; e < n; ++e) total += raw ? exp(scratch[pb + e] - m) : scratch[pb + e];
  float h = 0.0;
  for (uint e = 0u; e < n; ++e) {
    const float q = (raw ? exp(scratch[pb + e] - m) : scratch[pb + e]) / total;
    if (q > 0.0) h -= q * log(q);
    if (p.full != 0u) rec[rb + 2u * p.top_k + 1u + e] = floatBitsToUint(q);
  }
  rec[rb + 2u * p.top_k] = floatBitsToUint(h);
}
