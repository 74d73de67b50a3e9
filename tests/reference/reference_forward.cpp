// The double-precision reference forward. Every formula is written out in plain loops;
// see ../shared/MOE-FACTS.md for the conventions (ggml dimension order, RoPE styles,
// routing steps) this follows.
#include "reference_forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "expertscope/error.h"
#include "expertscope/quant.h"

namespace es::test {
namespace {

using Vec = std::vector<double>;

double half_to_double(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t frac = h & 0x3ff;
  double v;
  if (exp == 0) {
    v = std::ldexp(static_cast<double>(frac), -24);
  } else if (exp == 31) {
    v = frac == 0 ? std::numeric_limits<double>::infinity() : std::nan("");
  } else {
    v = std::ldexp(static_cast<double>(frac | 0x400), static_cast<int>(exp) - 25);
  }
  return sign ? -v : v;
}

/// Weights of one model, widened on first use.
class Weights {
 public:
  Weights(const gguf::File& f) : f_(f) {}

  [[nodiscard]] bool has(const std::string& name) const { return f_.find_tensor(name) != nullptr; }

  const Vec& get(const std::string& name) {
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
    const auto* t = f_.find_tensor(name);
    if (t == nullptr) throw Error(ErrorKind::bad_input, "reference: missing tensor " + name);
    return cache_.emplace(name, widen_tensor(f_, *t)).first->second;
  }
  const Vec* opt(const std::string& name) { return has(name) ? &get(name) : nullptr; }
  [[nodiscard]] TensorType type(const std::string& name) const {
    return f_.find_tensor(name)->type;
  }

 private:
  const gguf::File& f_;
  std::map<std::string, Vec> cache_;
};

std::string blk(uint32_t layer, const char* name) {
  return "blk." + std::to_string(layer) + "." + name;
}

/// y = W x for W stored {n_in, n_out} (row o is W[o * n_in ...]), at matrix `index` of a
/// stack of matrices.
Vec matvec(const Vec& w, const Vec& x, size_t n_in, size_t n_out, size_t index = 0) {
  Vec y(n_out, 0.0);
  const double* base = w.data() + index * n_in * n_out;
  for (size_t o = 0; o < n_out; ++o) {
    double s = 0;
    for (size_t i = 0; i < n_in; ++i) s += base[o * n_in + i] * x[i];
    y[o] = s;
  }
  return y;
}

void add_in_place(Vec& y, const Vec* b) {
  if (b == nullptr) return;
  for (size_t i = 0; i < y.size(); ++i) y[i] += (*b)[i];
}

Vec rms_norm(const Vec& x, const Vec& w, double eps, size_t offset = 0, size_t n = 0) {
  if (n == 0) n = x.size();
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[offset + i] * x[offset + i];
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  Vec y(n);
  for (size_t i = 0; i < n; ++i) y[i] = x[offset + i] * scale * w[i];
  return y;
}

double silu(double x) {
  return x / (1.0 + std::exp(-x));
}
double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

/// RoPE as Hugging Face writes it (modeling_rope_utils): plain, linear, or YaRN with its
/// ramp between interpolated and extrapolated frequencies and its magnitude factor.
struct Rope {
  uint32_t n_rot = 0;
  RopeStyle style = RopeStyle::normal;
  double base = 10000;
  double factor = 1;  ///< Context extension factor (1: none).
  bool yarn = false;
  double magnitude = 1;      ///< cos and sin are multiplied by this (YaRN's attention factor).
  double low = 0, high = 0;  ///< YaRN correction range, in rotation-pair indices.

  static double correction_dim(double n_rotations, uint32_t dim, double base, uint32_t orig) {
    return dim * std::log(orig / (n_rotations * 2 * M_PI)) / (2 * std::log(base));
  }

  [[nodiscard]] double inv_freq(uint32_t i) const {
    const double extrap = std::pow(base, -2.0 * i / n_rot);
    const double interp = extrap / factor;
    if (!yarn) return interp;
    const double ramp = std::clamp((i - low) / std::max(high - low, 0.001), 0.0, 1.0);
    const double extrap_weight = 1.0 - ramp;
    return interp * (1 - extrap_weight) + extrap * extrap_weight;
  }

  /// Rotates the n_rot dims of `v` for position `pos`.
  void apply(double* v, uint32_t pos) const {
    for (uint32_t i = 0; i < n_rot / 2; ++i) {
      const double theta = pos * inv_freq(i);
      const double c = std::cos(theta) * magnitude, s = std::sin(theta) * magnitude;
      const uint32_t a = style == RopeStyle::neox ? i : 2 * i;
      const uint32_t b = style == RopeStyle::neox ? i + n_rot / 2 : 2 * i + 1;
      const double x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
    }
  }
};

double get_mscale(double scale, double mscale) {
  return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

Rope make_rope(const HParams& hp) {
  Rope r;
  r.n_rot = hp.n_rot;
  r.style = hp.rope_style;
  r.base = hp.rope_freq_base;
  if (hp.rope_scaling == RopeScaling::linear || hp.rope_scaling == RopeScaling::yarn) {
    r.factor = hp.rope_scaling_factor;
  }
  if (hp.rope_scaling == RopeScaling::yarn) {
    r.yarn = true;
    const uint32_t orig = hp.rope_orig_ctx != 0 ? hp.rope_orig_ctx : hp.n_ctx_train;
    r.low = std::max(0.0, std::floor(Rope::correction_dim(32, hp.n_rot, r.base, orig)));
    r.high = std::min(hp.n_rot - 1.0, std::ceil(Rope::correction_dim(1, hp.n_rot, r.base, orig)));
    if (hp.rope_yarn_log_mul != 0) {
      const double all = hp.rope_yarn_log_mul;
      const double ms = hp.arch == Arch::deepseek2 && all != 1.0 ? all : 1.0;
      r.magnitude = get_mscale(r.factor, ms) / get_mscale(r.factor, all);
    } else {
      r.magnitude = get_mscale(r.factor, 1.0);
    }
  }
  return r;
}

void softmax_in_place(Vec& x, double extra_logit = -std::numeric_limits<double>::infinity()) {
  double m = extra_logit;
  for (double v : x) m = std::max(m, v);
  double sum = std::isinf(extra_logit) ? 0.0 : std::exp(extra_logit - m);
  for (double& v : x) sum += (v = std::exp(v - m));
  for (double& v : x) v /= sum;
}

class Forward {
 public:
  Forward(const gguf::File& f, const HParams& hp, std::span<const int32_t> tokens,
          const RefOptions& options)
      : hp_(hp),
        w_(f),
        tokens_(tokens.begin(), tokens.end()),
        rope_(make_rope(hp)),
        options_(options) {}

  RefOutput run() {
    const size_t n = tokens_.size();
    const Vec& embd = w_.get("token_embd.weight");
    std::vector<Vec> x(n);
    for (size_t t = 0; t < n; ++t) {
      x[t].assign(embd.begin() + static_cast<ptrdiff_t>(tokens_[t]) * hp_.n_embd,
                  embd.begin() + static_cast<ptrdiff_t>(tokens_[t] + 1) * hp_.n_embd);
      if (hp_.embedding_scale != 0) {
        for (double& v : x[t]) v *= hp_.embedding_scale;
      }
    }
    out_.routing.assign(n, {});
    for (uint32_t l = 0; l < hp_.n_layer; ++l) layer(l, x);
    const Vec& norm = w_.get("output_norm.weight");
    const std::string head = w_.has("output.weight") ? "output.weight" : "token_embd.weight";
    for (size_t t = 0; t < n; ++t) {
      Vec logits = mv(head, rms_norm(x[t], norm, hp_.norm_rms_eps), hp_.n_embd, hp_.n_vocab);
      if (hp_.logit_scale != 0) {
        for (double& v : logits) v /= hp_.logit_scale;
      }
      out_.logits.push_back(std::move(logits));
    }
    return std::move(out_);
  }

 private:
  void layer(uint32_t l, std::vector<Vec>& x) {
    const size_t n = x.size();
    const double residual = hp_.residual_scale != 0 ? hp_.residual_scale : 1.0;
    std::vector<Vec> h(n);
    for (size_t t = 0; t < n; ++t)
      h[t] = rms_norm(x[t], w_.get(blk(l, "attn_norm.weight")), hp_.norm_rms_eps);
    const std::vector<Vec> a = hp_.arch == Arch::deepseek2 ? attention_mla(l, h) : attention(l, h);
    const std::string ffn_norm = w_.has(blk(l, "post_attention_norm.weight"))
                                     ? blk(l, "post_attention_norm.weight")
                                     : blk(l, "ffn_norm.weight");
    for (size_t t = 0; t < n; ++t) {
      for (size_t i = 0; i < hp_.n_embd; ++i) x[t][i] += residual * a[t][i];
      const Vec hf = rms_norm(x[t], w_.get(ffn_norm), hp_.norm_rms_eps);
      const Vec f = hp_.is_moe_layer(l) ? moe(l, hf, t) : dense_ffn(l, hf, "", hp_.n_ff);
      for (size_t i = 0; i < hp_.n_embd; ++i) x[t][i] += residual * f[i];
    }
  }

  [[nodiscard]] bool sliding(uint32_t l) const {
    return hp_.sliding_window != 0 && hp_.swa_pattern != 0 &&
           l % hp_.swa_pattern < hp_.swa_pattern - 1;
  }

  /// Multi-head (grouped-query) attention of qwen*, olmoe, llama, granite, gpt-oss.
  std::vector<Vec> attention(uint32_t l, const std::vector<Vec>& h) {
    const size_t n = h.size(), H = hp_.n_head, G = hp_.n_head_kv;
    const size_t dk = hp_.head_dim_k, dv = hp_.head_dim_v, E = hp_.n_embd;
    std::vector<Vec> q(n), k(n), v(n);
    for (size_t t = 0; t < n; ++t) {
      q[t] = mv(blk(l, "attn_q.weight"), h[t], E, H * dk);
      k[t] = mv(blk(l, "attn_k.weight"), h[t], E, G * dk);
      v[t] = mv(blk(l, "attn_v.weight"), h[t], E, G * dv);
      add_in_place(q[t], w_.opt(blk(l, "attn_q.bias")));
      add_in_place(k[t], w_.opt(blk(l, "attn_k.bias")));
      add_in_place(v[t], w_.opt(blk(l, "attn_v.bias")));
      if (const Vec* qn = w_.opt(blk(l, "attn_q_norm.weight"))) {
        if (qn->size() == dk) {  // Per head (qwen3moe).
          for (size_t hh = 0; hh < H; ++hh) {
            const Vec r = rms_norm(q[t], *qn, hp_.norm_rms_eps, hh * dk, dk);
            std::copy(r.begin(), r.end(), q[t].begin() + static_cast<ptrdiff_t>(hh * dk));
          }
          const Vec& kn = w_.get(blk(l, "attn_k_norm.weight"));
          for (size_t g = 0; g < G; ++g) {
            const Vec r = rms_norm(k[t], kn, hp_.norm_rms_eps, g * dk, dk);
            std::copy(r.begin(), r.end(), k[t].begin() + static_cast<ptrdiff_t>(g * dk));
          }
        } else {  // Over the whole projection (olmoe).
          q[t] = rms_norm(q[t], *qn, hp_.norm_rms_eps);
          k[t] = rms_norm(k[t], w_.get(blk(l, "attn_k_norm.weight")), hp_.norm_rms_eps);
        }
      }
      for (size_t hh = 0; hh < H; ++hh) rope_.apply(&q[t][hh * dk], t);
      for (size_t g = 0; g < G; ++g) rope_.apply(&k[t][g * dk], t);
    }
    const double scale =
        hp_.attention_scale != 0 ? hp_.attention_scale : 1.0 / std::sqrt(static_cast<double>(dk));
    const Vec* sinks = w_.opt(blk(l, "attn_sinks.weight"));
    const bool swa = sliding(l);
    std::vector<Vec> out(n);
    for (size_t t = 0; t < n; ++t) {
      Vec cat(H * dv, 0.0);
      for (size_t hh = 0; hh < H; ++hh) {
        const size_t g = hh / (H / G);
        const size_t s0 = swa && t + 1 > hp_.sliding_window ? t + 1 - hp_.sliding_window : 0;
        Vec p;
        for (size_t s = s0; s <= t; ++s) {
          double d = 0;
          for (size_t i = 0; i < dk; ++i) d += q[t][hh * dk + i] * k[s][g * dk + i];
          p.push_back(d * scale);
        }
        softmax_in_place(p, sinks ? (*sinks)[hh] : -std::numeric_limits<double>::infinity());
        for (size_t s = s0; s <= t; ++s) {
          for (size_t i = 0; i < dv; ++i) cat[hh * dv + i] += p[s - s0] * v[s][g * dv + i];
        }
      }
      out[t] = mv(blk(l, "attn_output.weight"), cat, H * dv, hp_.n_embd);
      add_in_place(out[t], w_.opt(blk(l, "attn_output.bias")));
    }
    return out;
  }

  /// DeepSeek's multi-head latent attention, written in the plain (non-absorbed) form.
  std::vector<Vec> attention_mla(uint32_t l, const std::vector<Vec>& h) {
    const size_t n = h.size(), H = hp_.n_head, E = hp_.n_embd, R = hp_.n_rot;
    const size_t C = hp_.kv_lora_rank;
    const bool split_kv = w_.has(blk(l, "attn_k_b.weight"));
    const size_t dq = split_kv ? hp_.head_dim_k_mla : hp_.head_dim_k;  // nope + rope
    const size_t dv = split_kv ? hp_.head_dim_v_mla : hp_.head_dim_v;
    const size_t nope = dq - R;
    std::vector<Vec> q(n), kn(n), v(n), kpe(n);
    for (size_t t = 0; t < n; ++t) {
      if (hp_.q_lora_rank != 0) {
        Vec qa = mv(blk(l, "attn_q_a.weight"), h[t], E, hp_.q_lora_rank);
        qa = rms_norm(qa, w_.get(blk(l, "attn_q_a_norm.weight")), hp_.norm_rms_eps);
        q[t] = mv(blk(l, "attn_q_b.weight"), qa, hp_.q_lora_rank, H * dq);
      } else {
        q[t] = mv(blk(l, "attn_q.weight"), h[t], E, H * dq);
      }
      const Vec kva = mv(blk(l, "attn_kv_a_mqa.weight"), h[t], E, C + R);
      const Vec c = rms_norm(kva, w_.get(blk(l, "attn_kv_a_norm.weight")), hp_.norm_rms_eps, 0, C);
      kpe[t].assign(kva.begin() + static_cast<ptrdiff_t>(C), kva.end());
      rope_.apply(kpe[t].data(), t);
      for (size_t hh = 0; hh < H; ++hh) rope_.apply(&q[t][hh * dq + nope], t);
      kn[t].assign(H * nope, 0.0);
      v[t].assign(H * dv, 0.0);
      if (split_kv) {
        const Vec& kb = w_.get(blk(l, "attn_k_b.weight"));  // {nope, C, H}
        const Vec& vb = w_.get(blk(l, "attn_v_b.weight"));  // {C, dv, H}
        for (size_t hh = 0; hh < H; ++hh) {
          for (size_t j = 0; j < nope; ++j) {
            double s = 0;
            for (size_t cc = 0; cc < C; ++cc) s += kb[hh * C * nope + cc * nope + j] * c[cc];
            kn[t][hh * nope + j] = s;
          }
          const Vec vh = matvec(vb, c, C, dv, hh);
          std::copy(vh.begin(), vh.end(), v[t].begin() + static_cast<ptrdiff_t>(hh * dv));
        }
      } else {
        const Vec kv = mv(blk(l, "attn_kv_b.weight"), c, C, H * (nope + dv));
        for (size_t hh = 0; hh < H; ++hh) {
          for (size_t j = 0; j < nope; ++j) kn[t][hh * nope + j] = kv[hh * (nope + dv) + j];
          for (size_t j = 0; j < dv; ++j) v[t][hh * dv + j] = kv[hh * (nope + dv) + nope + j];
        }
      }
    }
    double scale = 1.0 / std::sqrt(static_cast<double>(dq));
    if (rope_.yarn) {  // DeepSeek: softmax scale * mscale^2, mscale = get_mscale(f, all_dim).
      const double m = rope_.magnitude * get_mscale(rope_.factor, hp_.rope_yarn_log_mul);
      scale *= m * m;
    }
    std::vector<Vec> out(n);
    for (size_t t = 0; t < n; ++t) {
      Vec cat(H * dv, 0.0);
      for (size_t hh = 0; hh < H; ++hh) {
        Vec p;
        for (size_t s = 0; s <= t; ++s) {
          double d = 0;
          for (size_t j = 0; j < nope; ++j) d += q[t][hh * dq + j] * kn[s][hh * nope + j];
          for (size_t j = 0; j < R; ++j) d += q[t][hh * dq + nope + j] * kpe[s][j];
          p.push_back(d * scale);
        }
        softmax_in_place(p);
        for (size_t s = 0; s <= t; ++s) {
          for (size_t j = 0; j < dv; ++j) cat[hh * dv + j] += p[s] * v[s][hh * dv + j];
        }
      }
      out[t] = mv(blk(l, "attn_output.weight"), cat, H * dv, E);
    }
    return out;
  }

  /// down(act(gate x) * up x) for a dense FFN; `suffix` "" or "_shexp".
  Vec dense_ffn(uint32_t l, const Vec& x, const std::string& suffix, size_t n_ff) {
    const Vec g = mv(blk(l, ("ffn_gate" + suffix + ".weight").c_str()), x, hp_.n_embd, n_ff);
    const Vec u = mv(blk(l, ("ffn_up" + suffix + ".weight").c_str()), x, hp_.n_embd, n_ff);
    Vec a(n_ff);
    for (size_t i = 0; i < n_ff; ++i) a[i] = silu(g[i]) * u[i];
    return mv(blk(l, ("ffn_down" + suffix + ".weight").c_str()), a, n_ff, hp_.n_embd);
  }

  /// One expert's FFN (expert `e` of the stacked tensors).
  Vec expert(uint32_t l, const Vec& x, size_t e) {
    const size_t F = hp_.n_ff_exp, E = hp_.n_embd;
    Vec g = mv(blk(l, "ffn_gate_exps.weight"), x, E, F, e);
    Vec u = mv(blk(l, "ffn_up_exps.weight"), x, E, F, e);
    if (const Vec* gb = w_.opt(blk(l, "ffn_gate_exps.bias"))) {
      for (size_t i = 0; i < F; ++i) g[i] += (*gb)[e * F + i];
    }
    if (const Vec* ub = w_.opt(blk(l, "ffn_up_exps.bias"))) {
      for (size_t i = 0; i < F; ++i) u[i] += (*ub)[e * F + i];
    }
    Vec a(F);
    if (hp_.arch == Arch::gpt_oss) {  // Clamped SwiGLU (alpha 1.702, limit 7).
      for (size_t i = 0; i < F; ++i) {
        const double gl = std::min(g[i], 7.0);
        const double ul = std::clamp(u[i], -7.0, 7.0);
        a[i] = gl * sigmoid(1.702 * gl) * (ul + 1.0);
      }
    } else {
      for (size_t i = 0; i < F; ++i) a[i] = silu(g[i]) * u[i];
    }
    Vec y = mv(blk(l, "ffn_down_exps.weight"), a, F, E, e);
    if (const Vec* db = w_.opt(blk(l, "ffn_down_exps.bias"))) {
      for (size_t i = 0; i < E; ++i) y[i] += (*db)[e * E + i];
    }
    return y;
  }

  RefRouting route(uint32_t l, const Vec& x) {
    const size_t NE = hp_.n_expert, K = hp_.n_expert_used;
    Vec logits = mv(blk(l, "ffn_gate_inp.weight"), x, hp_.n_embd, NE);
    add_in_place(logits, w_.opt(blk(l, "ffn_gate_inp.bias")));
    Vec probs = logits;
    if (hp_.gating == Gating::softmax || hp_.gating == Gating::unset) softmax_in_place(probs);
    if (hp_.gating == Gating::sigmoid) {
      for (double& p : probs) p = sigmoid(p);
    }
    Vec sel = probs;
    if (const Vec* b = w_.opt(blk(l, "exp_probs_b.bias"))) {
      for (size_t e = 0; e < NE; ++e) sel[e] += (*b)[e];
    }
    if (hp_.n_expert_groups > 1 && hp_.n_group_used < hp_.n_expert_groups) {
      const size_t per = NE / hp_.n_expert_groups;
      std::vector<std::pair<double, size_t>> groups;
      for (size_t g = 0; g < hp_.n_expert_groups; ++g) {
        Vec s(sel.begin() + static_cast<ptrdiff_t>(g * per),
              sel.begin() + static_cast<ptrdiff_t>((g + 1) * per));
        std::sort(s.rbegin(), s.rend());
        groups.emplace_back(s[0] + (per > 1 ? s[1] : 0.0), g);
      }
      std::stable_sort(groups.begin(), groups.end(),
                       [](auto& a, auto& b) { return a.first > b.first; });
      for (size_t r = hp_.n_group_used; r < groups.size(); ++r) {
        for (size_t e = 0; e < per; ++e)
          sel[groups[r].second * per + e] = -std::numeric_limits<double>::infinity();
      }
    }
    std::vector<size_t> order(NE);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return sel[a] > sel[b]; });
    RefRouting r;
    r.layer = l;
    r.selection_scores = sel;
    Vec w;
    for (size_t k = 0; k < K; ++k) {
      r.experts.push_back(static_cast<int>(order[k]));
      w.push_back(probs[order[k]]);
    }
    if (hp_.gating == Gating::softmax_selected) softmax_in_place(w);
    if (hp_.expert_weights_norm) {
      const double sum = std::max(std::accumulate(w.begin(), w.end(), 0.0), 6.103515625e-5);
      for (double& v : w) v /= sum;
    }
    if (hp_.expert_weights_scale != 0) {
      for (double& v : w) v *= hp_.expert_weights_scale;
    }
    r.weights = w;
    return r;
  }

  Vec moe(uint32_t l, const Vec& x, size_t t) {
    RefRouting r = route(l, x);
    Vec y(hp_.n_embd, 0.0);
    for (size_t k = 0; k < r.experts.size(); ++k) {
      const Vec e = expert(l, x, static_cast<size_t>(r.experts[k]));
      for (size_t i = 0; i < y.size(); ++i) y[i] += r.weights[k] * e[i];
    }
    if (w_.has(blk(l, "ffn_up_shexp.weight"))) {
      const size_t n_ff = hp_.n_ff_shexp != 0
                              ? hp_.n_ff_shexp
                              : size_t{hp_.n_ff_exp} * std::max(1u, hp_.n_expert_shared);
      Vec s = dense_ffn(l, x, "_shexp", n_ff);
      double gate = 1.0;
      if (const Vec* gi = w_.opt(blk(l, "ffn_gate_inp_shexp.weight"))) {
        gate = sigmoid(matvec(*gi, x, hp_.n_embd, 1)[0]);
      }
      for (size_t i = 0; i < y.size(); ++i) y[i] += gate * s[i];
    }
    // Report experts in descending weight, as the routing contract wants.
    std::vector<size_t> order(r.experts.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return r.weights[a] > r.weights[b]; });
    RefRouting sorted = r;
    for (size_t k = 0; k < order.size(); ++k) {
      sorted.experts[k] = r.experts[order[k]];
      sorted.weights[k] = r.weights[order[k]];
    }
    out_.routing[t].push_back(std::move(sorted));
    return y;
  }

  const HParams& hp_;
  Weights w_;
  std::vector<int32_t> tokens_;
  Rope rope_;
  RefOptions options_;
  RefOutput out_;

  /// x as the engine feeds it to weights of `type`: unchanged, or (with
  /// round_activations) rounded through the 8-bit activation format of quantized weights.
  [[nodiscard]] Vec activation_for(TensorType type, const Vec& x) const {
    if (!options_.round_activations) return x;
    const TensorType act = quant::activation_type(type);
    if (act == TensorType::F32) return x;
    std::vector<float> f(x.begin(), x.end());
    std::vector<uint8_t> q(quant::row_bytes(act, static_cast<int64_t>(f.size())));
    quant::quantize_row_ref(act, f.data(), q.data(), static_cast<int64_t>(f.size()));
    quant::dequantize_row_ref(act, q.data(), f.data(), static_cast<int64_t>(f.size()));
    return Vec(f.begin(), f.end());
  }

  /// y = W x for the weight tensor `name` (matrix `index` of a stack).
  Vec mv(const std::string& name, const Vec& x, size_t n_in, size_t n_out, size_t index = 0) {
    return matvec(w_.get(name), activation_for(w_.type(name), x), n_in, n_out, index);
  }
};

}  // namespace

std::vector<double> widen_tensor(const gguf::File& file, const gguf::TensorInfo& tensor) {
  const auto bytes = file.tensor_data(tensor);
  std::vector<double> out(tensor.n_elements);
  switch (tensor.type) {
    case TensorType::F32:
      for (size_t i = 0; i < out.size(); ++i) {
        float v;
        std::memcpy(&v, bytes.data() + 4 * i, 4);
        out[i] = v;
      }
      break;
    case TensorType::F16:
      for (size_t i = 0; i < out.size(); ++i) {
        uint16_t h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        out[i] = half_to_double(h);
      }
      break;
    case TensorType::BF16:
      for (size_t i = 0; i < out.size(); ++i) {
        uint16_t h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        const uint32_t bits = uint32_t{h} << 16;
        float v;
        std::memcpy(&v, &bits, 4);
        out[i] = v;
      }
      break;
    default:
      if (quant::is_supported(tensor.type)) {
        // Quantized weights: the reference dequantizer (scalar, ggml's definitions).
        std::vector<float> row(static_cast<size_t>(tensor.ne[0]));
        const size_t row_bytes = quant::row_bytes(tensor.type, tensor.ne[0]);
        const uint64_t n_rows = tensor.n_elements / static_cast<uint64_t>(tensor.ne[0]);
        for (uint64_t r = 0; r < n_rows; ++r) {
          quant::dequantize_row_ref(tensor.type, bytes.data() + r * row_bytes, row.data(),
                                    tensor.ne[0]);
          std::copy(row.begin(), row.end(), out.begin() + static_cast<ptrdiff_t>(r * row.size()));
        }
        break;
      }
      throw Error(ErrorKind::unsupported, "reference: cannot widen " + std::string(tensor.name) +
                                              " of type " +
                                              std::string(tensor_type_name(tensor.type)));
  }
  return out;
}

RefOutput reference_forward(const gguf::File& file, const HParams& hp,
                            std::span<const int32_t> tokens, const RefOptions& options) {
  return Forward(file, hp, tokens, options).run();
}

}  // namespace es::test
