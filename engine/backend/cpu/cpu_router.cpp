// The router (llama.cpp's build_moe_ffn selection, fused): gating, selection bias,
// group-limited top-k, weight normalisation and scaling, entropy of the distribution.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu_backend.h"
#include "expertscope/routing.h"

namespace es::backend::cpu {
namespace {

/// Indices of the k largest scores, ties to the lower index (a stable top-k).
void top_k(const float* scores, uint32_t n, uint32_t k, uint32_t* idx) {
  for (uint32_t i = 0; i < k; ++i) idx[i] = UINT32_MAX;
  for (uint32_t e = 0; e < n; ++e) {
    const float s = scores[e];
    uint32_t r = k;
    while (r > 0 && (idx[r - 1] == UINT32_MAX || s > scores[idx[r - 1]])) --r;
    if (r == k) continue;
    for (uint32_t j = k - 1; j > r; --j) idx[j] = idx[j - 1];
    idx[r] = e;
  }
}

struct RouterScratch {
  float* probs;
  float* sel;
};

void route_row(const float* logits, const float* bias, const RouterParams& p, RouterScratch s,
               uint16_t* out_experts, float* out_weights, float* out_entropy, float* out_full) {
  const uint32_t n = p.n_expert;
  float* probs = s.probs;
  if (p.gating == Gating::sigmoid) {
    for (uint32_t e = 0; e < n; ++e) probs[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  } else if (p.gating == Gating::softmax_selected) {
    for (uint32_t e = 0; e < n; ++e) probs[e] = logits[e];
  } else {
    float m = -std::numeric_limits<float>::infinity();
    for (uint32_t e = 0; e < n; ++e) m = std::max(m, logits[e]);
    float sum = 0;
    for (uint32_t e = 0; e < n; ++e) sum += (probs[e] = std::exp(logits[e] - m));
    for (uint32_t e = 0; e < n; ++e) probs[e] /= sum;
  }
  float* sel = s.sel;
  for (uint32_t e = 0; e < n; ++e) sel[e] = probs[e] + (bias != nullptr ? bias[e] : 0.0f);

  if (p.n_groups > 1 && p.n_group_used < p.n_groups) {
    const uint32_t per = n / p.n_groups;
    float group_score[256];
    for (uint32_t g = 0; g < p.n_groups; ++g) {
      uint32_t best[2];
      top_k(sel + g * per, per, std::min(2u, per), best);
      group_score[g] = sel[g * per + best[0]] + (per > 1 ? sel[g * per + best[1]] : 0.0f);
    }
    uint32_t keep[256];
    top_k(group_score, p.n_groups, p.n_group_used, keep);
    for (uint32_t g = 0; g < p.n_groups; ++g) {
      if (std::find(keep, keep + p.n_group_used, g) != keep + p.n_group_used) continue;
      for (uint32_t e = 0; e < per; ++e) sel[g * per + e] = -std::numeric_limits<float>::infinity();
    }
  }

  uint32_t chosen[max_experts_used];
  float w[max_experts_used];
  top_k(sel, n, p.top_k, chosen);
  for (uint32_t r = 0; r < p.top_k; ++r) w[r] = probs[chosen[r]];
  if (p.gating == Gating::softmax_selected) {
    float m = -std::numeric_limits<float>::infinity();
    for (uint32_t r = 0; r < p.top_k; ++r) m = std::max(m, w[r]);
    float sum = 0;
    for (uint32_t r = 0; r < p.top_k; ++r) sum += (w[r] = std::exp(w[r] - m));
    for (uint32_t r = 0; r < p.top_k; ++r) w[r] /= sum;
  }
  if (p.norm_weights) {
    float sum = 0;
    for (uint32_t r = 0; r < p.top_k; ++r) sum += w[r];
    sum = std::max(sum, 6.103515625e-5f);
    for (uint32_t r = 0; r < p.top_k; ++r) w[r] /= sum;
  }
  if (p.weights_scale != 0.0f) {
    for (uint32_t r = 0; r < p.top_k; ++r) w[r] *= p.weights_scale;
  }
  // Report in descending weight (stable: equal weights keep selection order).
  uint32_t order[max_experts_used];
  for (uint32_t r = 0; r < p.top_k; ++r) order[r] = r;
  for (uint32_t i = 1; i < p.top_k; ++i) {  // Stable insertion sort: no allocation.
    const uint32_t v = order[i];
    uint32_t j = i;
    for (; j > 0 && w[order[j - 1]] < w[v]; --j) order[j] = order[j - 1];
    order[j] = v;
  }
  for (uint32_t r = 0; r < p.top_k; ++r) {
    out_experts[r] = static_cast<uint16_t>(chosen[order[r]]);
    out_weights[r] = w[order[r]];
  }

  // Entropy of the router's distribution over all experts (scores normalised to sum 1).
  double total = 0;
  const bool raw_logits = p.gating == Gating::softmax_selected;
  double m = -1e300;
  if (raw_logits) {
    for (uint32_t e = 0; e < n; ++e) m = std::max(m, static_cast<double>(probs[e]));
  }
  for (uint32_t e = 0; e < n; ++e) total += raw_logits ? std::exp(probs[e] - m) : probs[e];
  double h = 0;
  for (uint32_t e = 0; e < n; ++e) {
    const double q = (raw_logits ? std::exp(probs[e] - m) : probs[e]) / total;
    if (q > 0) h -= q * std::log(q);
    if (out_full != nullptr) out_full[e] = static_cast<float>(q);
  }
  *out_entropy = static_cast<float>(h);
}

}  // namespace

void CpuBackend::route(Mat logits, const float* selection_bias, const RouterParams& p,
                       const RouterOut& out) {
  const size_t per_thread = 2 * static_cast<size_t>(p.n_expert);
  if (thread_scratch_.size() < per_thread * pool_.n_threads()) {
    thread_scratch_.resize(per_thread * pool_.n_threads());
  }
  pool_.parallel_for(logits.rows, 8, [&](size_t b, size_t e, uint32_t thread) {
    float* scratch = thread_scratch_.data() + thread * per_thread;
    for (size_t t = b; t < e; ++t) {
      route_row(row_ptr(logits, static_cast<uint32_t>(t)), selection_bias, p,
                RouterScratch{scratch, scratch + p.n_expert}, out.experts + t * out.row_stride,
                out.weights + t * out.row_stride, out.entropy + t * out.entropy_stride,
                out.full_probs != nullptr ? out.full_probs + t * p.n_expert : nullptr);
    }
  });
}

}  // namespace es::backend::cpu
