// The forward pass of every supported architecture, written once against the backend
// interface. Block structure (pre-norm residual blocks):
//   x = embed(tokens) [* embedding_scale]
//   for each block: x += attn(norm(x)) ; x += ffn(norm(x))   [granite: * residual_scale]
//   logits = output(norm(x)) [/ logit_scale]
// where attn is grouped-query attention (qwen*, olmoe, llama, granite, gpt-oss) or
// DeepSeek's multi-head latent attention, and ffn is a dense SwiGLU or a mixture of
// experts with optional shared experts. See ../shared/MOE-FACTS.md.
#include "forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "expertscope/error.h"

namespace es::model {

using backend::Mat;
using backend::Weight;

namespace {

std::string blk(uint32_t l, const char* name) {
  return "blk." + std::to_string(l) + "." + name;
}

/// Output rows computed at once when every row's logits are wanted.
constexpr uint32_t kLogitRowChunk = 16;

}  // namespace

Forward::Forward(const Model& model, backend::Backend& backend, uint32_t n_ctx, uint32_t n_batch,
                 bool kv_f16, int32_t full_router_layer)
    : model_(model),
      hp_(model.hparams()),
      be_(backend),
      n_ctx_(n_ctx),
      n_batch_(n_batch),
      full_router_layer_(full_router_layer) {
  bind_weights();
  alloc_kv(kv_f16);
  alloc_scratch();
}

void Forward::bind_weights() {
  const gguf::File& f = model_.file();
  const auto bind = [&](const std::string& name) {
    const gguf::TensorInfo* t = f.find_tensor(name);
    if (t == nullptr) return Weight{};
    if (!be_.supports(backend::Op::mul_mat, t->type) && t->n_dims > 1) {
      throw Error(ErrorKind::unsupported, f.name() + ": tensor " + name + " has type " +
                                              std::string(tensor_type_name(t->type)) +
                                              ", which the " + std::string(be_.name()) +
                                              " backend cannot multiply yet");
    }
    return be_.bind(f, *t);
  };
  tok_embd_ = bind("token_embd.weight");
  output_norm_ = bind("output_norm.weight");
  output_ = bind("output.weight");
  if (!output_.valid()) output_ = tok_embd_;  // Tied embeddings.
  layers_.resize(hp_.n_layer);
  for (uint32_t l = 0; l < hp_.n_layer; ++l) {
    LayerWeights& w = layers_[l];
    const auto b = [&](const char* name) { return bind(blk(l, name)); };
    w.attn_norm = b("attn_norm.weight");
    w.wq = b("attn_q.weight");
    w.wk = b("attn_k.weight");
    w.wv = b("attn_v.weight");
    w.wo = b("attn_output.weight");
    w.bq = b("attn_q.bias");
    w.bk = b("attn_k.bias");
    w.bv = b("attn_v.bias");
    w.bo = b("attn_output.bias");
    w.q_norm = b("attn_q_norm.weight");
    w.k_norm = b("attn_k_norm.weight");
    w.sinks = b("attn_sinks.weight");
    w.q_a = b("attn_q_a.weight");
    w.q_a_norm = b("attn_q_a_norm.weight");
    w.q_b = b("attn_q_b.weight");
    w.kv_a_mqa = b("attn_kv_a_mqa.weight");
    w.kv_a_norm = b("attn_kv_a_norm.weight");
    w.k_b = b("attn_k_b.weight");
    w.v_b = b("attn_v_b.weight");
    w.kv_b = b("attn_kv_b.weight");
    w.ffn_norm = b("ffn_norm.weight");
    if (!w.ffn_norm.valid()) w.ffn_norm = b("post_attention_norm.weight");
    w.ffn_gate = b("ffn_gate.weight");
    w.ffn_up = b("ffn_up.weight");
    w.ffn_down = b("ffn_down.weight");
    w.router = b("ffn_gate_inp.weight");
    w.router_b = b("ffn_gate_inp.bias");
    w.exp_probs_b = b("exp_probs_b.bias");
    w.gate_exps = b("ffn_gate_exps.weight");
    w.up_exps = b("ffn_up_exps.weight");
    w.down_exps = b("ffn_down_exps.weight");
    w.gate_exps_b = b("ffn_gate_exps.bias");
    w.up_exps_b = b("ffn_up_exps.bias");
    w.down_exps_b = b("ffn_down_exps.bias");
    w.gate_shexp = b("ffn_gate_shexp.weight");
    w.up_shexp = b("ffn_up_shexp.weight");
    w.down_shexp = b("ffn_down_shexp.weight");
    w.gate_inp_shexp = b("ffn_gate_inp_shexp.weight");
  }
}

void Forward::alloc_kv(bool kv_f16) {
  const size_t elem = kv_f16 ? 2 : 4;
  kv_.resize(hp_.n_layer);
  size_t total = 0;
  for (uint32_t l = 0; l < hp_.n_layer; ++l) {
    backend::KvView& kv = kv_[l];
    kv.f16 = kv_f16;
    if (hp_.arch == Arch::deepseek2 && layers_[l].k_b.valid()) {
      // Absorbed MLA: cache the normalised latent and the shared rope key per position.
      kv.n_head_kv = 1;
      kv.head_dim_k = hp_.kv_lora_rank + hp_.n_rot;
      kv.head_dim_v = hp_.kv_lora_rank;
      kv.v_is_k_prefix = true;
    } else if (hp_.arch == Arch::deepseek2) {
      const uint32_t nope = hp_.head_dim_k - hp_.n_rot;
      (void)nope;
      kv.n_head_kv = hp_.n_head;
      kv.head_dim_k = hp_.head_dim_k;
      kv.head_dim_v = hp_.head_dim_v;
    } else {
      kv.n_head_kv = hp_.n_head_kv;
      kv.head_dim_k = hp_.head_dim_k;
      kv.head_dim_v = hp_.head_dim_v;
    }
    kv.k_row_bytes = static_cast<size_t>(kv.n_head_kv) * kv.head_dim_k * elem;
    kv.v_row_bytes =
        kv.v_is_k_prefix ? 0 : static_cast<size_t>(kv.n_head_kv) * kv.head_dim_v * elem;
    kv.k_offset_bytes = total;
    total += kv.k_row_bytes * n_ctx_;
    kv.v_offset_bytes = total;
    total += kv.v_row_bytes * n_ctx_;
  }
  kv_buf_ = be_.alloc(std::max<size_t>(total, 64));
  for (auto& kv : kv_) kv.buf = kv_buf_.get();
}

void Forward::alloc_scratch() {
  // A generous per-token bound on the floats one block takes, plus the residual stream
  // and a chunk of logits rows.
  const size_t E = hp_.n_embd, H = hp_.n_head, G = std::max(1u, hp_.n_head_kv);
  const size_t dk = hp_.head_dim_k, dv = hp_.head_dim_v;
  const size_t C = hp_.kv_lora_rank, R = hp_.n_rot;
  const size_t dq = std::max<size_t>(dk, hp_.head_dim_k_mla);
  size_t attn = E + H * dq + G * dk + G * dv + H * std::max(dv, size_t{hp_.head_dim_v_mla}) + E;
  attn += hp_.q_lora_rank + (C + R) + H * (C + R) + H * C + H * (dq + dv) * 2;
  const size_t F = std::max(hp_.n_ff_exp, hp_.n_ff);
  const size_t shared =
      std::max<size_t>(hp_.n_ff_shexp, size_t{hp_.n_ff_exp} * std::max(1u, hp_.n_expert_shared));
  size_t ffn = E + 3 * size_t{hp_.n_ff} + hp_.n_expert + size_t{hp_.n_expert_used} * (3 * F + E);
  ffn += 3 * shared + E + 1 + E;
  const size_t per_token = E + std::max(attn, ffn) + E;
  const size_t floats =
      per_token * n_batch_ + E * n_batch_ + size_t{kLogitRowChunk} * hp_.n_vocab + 1024;
  scratch_ = be_.alloc(floats * sizeof(float));
  const size_t slots = size_t{n_batch_} * std::max(1u, hp_.n_expert_used);
  route_ids_.resize(slots);
  route_weights_.resize(slots);
  route_entropy_.resize(n_batch_);
  if (full_router_layer_ >= 0) route_full_.resize(size_t{n_batch_} * hp_.n_expert);
}

Mat Forward::take(uint32_t rows, uint32_t cols) {
  const size_t n = static_cast<size_t>(rows) * cols;
  const size_t aligned = (n + 15) / 16 * 16;
  if ((scratch_used_ + aligned) * sizeof(float) > scratch_->n_bytes()) {
    throw Error(ErrorKind::io, "forward: scratch memory exhausted (an internal sizing bug)");
  }
  Mat m{scratch_.get(), scratch_used_, rows, cols, cols};
  scratch_used_ += aligned;
  return m;
}

namespace {

/// YaRN's magnitude correction, get_mscale in Hugging Face's modeling_rope_utils.
float get_mscale(float scale, float mscale) {
  return scale <= 1.0f ? 1.0f : 0.1f * mscale * std::log(scale) + 1.0f;
}

}  // namespace

float Forward::yarn_magnitude() const {
  // The factor cos and sin are scaled by (llama.cpp's yarn_attn_factor before the
  // rope kernel's own (1 + 0.1 ln f), which is folded in here).
  const float f = hp_.rope_scaling_factor;
  if (hp_.rope_yarn_log_mul == 0.0f) return get_mscale(f, 1.0f);
  const float all_dims = hp_.rope_yarn_log_mul;
  // DeepSeek-V2 configs give mscale == mscale_all_dim (0.707); V3 gives 1.0 for both.
  const float ms = hp_.arch == Arch::deepseek2 && all_dims != 1.0f ? all_dims : 1.0f;
  return get_mscale(f, ms) / get_mscale(f, all_dims);
}

float Forward::attention_scale(uint32_t head_dim) const {
  if (hp_.attention_scale != 0.0f) return hp_.attention_scale;
  float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  if (hp_.arch == Arch::deepseek2 && hp_.rope_scaling == RopeScaling::yarn) {
    // DeepSeek scales attention by mscale^2, mscale = 1 + 0.1 * mscale_all_dim * ln f.
    const float mscale = yarn_magnitude() *
                         (1.0f + 0.1f * hp_.rope_yarn_log_mul * std::log(hp_.rope_scaling_factor));
    scale *= mscale * mscale;
  }
  return scale;
}

backend::RopeParams Forward::rope_params() const {
  backend::RopeParams p;
  p.style = hp_.rope_style;
  p.n_rot = hp_.n_rot;
  p.freq_base = hp_.rope_freq_base;
  p.freq_scale = 1.0f / hp_.rope_scaling_factor;
  p.n_ctx_orig = hp_.rope_orig_ctx != 0 ? hp_.rope_orig_ctx : hp_.n_ctx_train;
  if (hp_.rope_scaling == RopeScaling::yarn) {
    p.ext_factor = 1.0f;
    // The kernel multiplies by (1 + 0.1 ln f) itself, as ggml's does; cancel it here.
    p.attn_factor = yarn_magnitude() / (1.0f + 0.1f * std::log(hp_.rope_scaling_factor));
  }
  return p;
}

Mat Forward::attention(uint32_t l, Mat h, std::span<const int32_t> pos) {
  const LayerWeights& w = layers_[l];
  const uint32_t T = h.rows, H = hp_.n_head, G = hp_.n_head_kv;
  const uint32_t dk = hp_.head_dim_k, dv = hp_.head_dim_v;
  Mat q = take(T, H * dk), k = take(T, G * dk), v = take(T, G * dv);
  be_.mul_mat(q, w.wq, h, 0);
  be_.mul_mat(k, w.wk, h, 0);
  be_.mul_mat(v, w.wv, h, 0);
  if (w.bq.valid()) be_.add_bias(q, w.bq, 0);
  if (w.bk.valid()) be_.add_bias(k, w.bk, 0);
  if (w.bv.valid()) be_.add_bias(v, w.bv, 0);
  if (w.q_norm.valid()) {
    // Per head (qwen3moe: the norm has head_dim values) or over the whole projection (olmoe).
    const bool per_head = w.q_norm.ne[0] == dk;
    be_.rms_norm(q, q, &w.q_norm, hp_.norm_rms_eps, per_head ? dk : 0);
    be_.rms_norm(k, k, &w.k_norm, hp_.norm_rms_eps, per_head ? dk : 0);
  }
  const backend::RopeParams rp = rope_params();
  be_.rope(q, H, dk, 0, rp, pos);
  be_.rope(k, G, dk, 0, rp, pos);
  be_.kv_store(kv_[l], k, v, pos);
  backend::AttentionParams ap;
  ap.n_head = H;
  ap.scale = attention_scale(dk);
  const bool swa =
      hp_.sliding_window != 0 && hp_.swa_pattern != 0 && l % hp_.swa_pattern < hp_.swa_pattern - 1;
  ap.window = swa ? hp_.sliding_window : 0;
  ap.sinks = w.sinks.valid() ? reinterpret_cast<const float*>(w.sinks.host) : nullptr;
  Mat o = take(T, H * dv);
  be_.attention(o, q, kv_[l], ap, pos);
  Mat out = take(T, hp_.n_embd);
  be_.mul_mat(out, w.wo, o, 0);
  if (w.bo.valid()) be_.add_bias(out, w.bo, 0);
  return out;
}

Mat Forward::attention_mla(uint32_t l, Mat h, std::span<const int32_t> pos) {
  const LayerWeights& w = layers_[l];
  const bool absorbed = w.k_b.valid();
  const uint32_t T = h.rows, H = hp_.n_head, C = hp_.kv_lora_rank, R = hp_.n_rot;
  const uint32_t dq = absorbed ? hp_.head_dim_k_mla : hp_.head_dim_k;
  const uint32_t dv = absorbed ? hp_.head_dim_v_mla : hp_.head_dim_v;
  const uint32_t nope = dq - R;
  Mat q = take(T, H * dq);
  if (w.q_a.valid()) {
    Mat qa = take(T, hp_.q_lora_rank);
    be_.mul_mat(qa, w.q_a, h, 0);
    be_.rms_norm(qa, qa, &w.q_a_norm, hp_.norm_rms_eps, 0);
    be_.mul_mat(q, w.q_b, qa, 0);
  } else {
    be_.mul_mat(q, w.wq, h, 0);
  }
  Mat kva = take(T, C + R);  // [latent | shared rope key]
  be_.mul_mat(kva, w.kv_a_mqa, h, 0);
  Mat latent = kva.cols_view(0, C);
  be_.rms_norm(latent, latent, &w.kv_a_norm, hp_.norm_rms_eps, 0);
  const backend::RopeParams rp = rope_params();
  be_.rope(kva, 1, C + R, C, rp, pos);
  be_.rope(q, H, dq, nope, rp, pos);
  backend::AttentionParams ap;
  ap.n_head = H;
  ap.scale = attention_scale(dq);
  Mat o = take(T, H * dv);
  if (absorbed) {
    // Queries absorb k_b: score = (k_b^T q_nope) · latent + q_pe · k_pe, so the cache
    // holds only [latent | k_pe] per position and V is the latent itself.
    Mat qf = take(T, H * (C + R));
    for (uint32_t hh = 0; hh < H; ++hh) {
      be_.mul_mat(qf.cols_view(hh * (C + R), C), w.k_b, q.cols_view(hh * dq, nope), hh);
      be_.copy(qf.cols_view(hh * (C + R) + C, R), q.cols_view(hh * dq + nope, R));
    }
    be_.kv_store(kv_[l], kva, kva, pos);
    Mat ol = take(T, H * C);
    be_.attention(ol, qf, kv_[l], ap, pos);
    for (uint32_t hh = 0; hh < H; ++hh) {
      be_.mul_mat(o.cols_view(hh * dv, dv), w.v_b, ol.cols_view(hh * C, C), hh);
    }
  } else {
    // Older files: expand the latent to per-head keys and values with attn_kv_b.
    Mat kv = take(T, H * (nope + dv));
    be_.mul_mat(kv, w.kv_b, latent, 0);
    Mat k = take(T, H * dq), v = take(T, H * dv);
    for (uint32_t hh = 0; hh < H; ++hh) {
      be_.copy(k.cols_view(hh * dq, nope), kv.cols_view(hh * (nope + dv), nope));
      be_.copy(k.cols_view(hh * dq + nope, R), kva.cols_view(C, R));
      be_.copy(v.cols_view(hh * dv, dv), kv.cols_view(hh * (nope + dv) + nope, dv));
    }
    be_.kv_store(kv_[l], k, v, pos);
    be_.attention(o, q, kv_[l], ap, pos);
  }
  Mat out = take(T, hp_.n_embd);
  be_.mul_mat(out, w.wo, o, 0);
  return out;
}

Mat Forward::dense_ffn(const Weight& gate, const Weight& up, const Weight& down, Mat h,
                       uint32_t n_ff) {
  Mat g = take(h.rows, n_ff), u = take(h.rows, n_ff);
  be_.mul_mat(g, gate, h, 0);
  be_.mul_mat(u, up, h, 0);
  be_.swiglu(g, g, u, backend::GluKind::silu);
  Mat out = take(h.rows, hp_.n_embd);
  be_.mul_mat(out, down, g, 0);
  return out;
}

Mat Forward::moe(uint32_t l, uint32_t m, Mat h, RoutingBatch& routing) {
  const LayerWeights& w = layers_[l];
  const uint32_t T = h.rows, K = hp_.n_expert_used, F = hp_.n_ff_exp, E = hp_.n_embd;
  Mat logits = take(T, hp_.n_expert);
  be_.mul_mat(logits, w.router, h, 0);
  if (w.router_b.valid()) be_.add_bias(logits, w.router_b, 0);

  backend::RouterParams rp;
  rp.gating = hp_.gating == Gating::unset ? Gating::softmax : hp_.gating;
  rp.n_expert = hp_.n_expert;
  rp.top_k = K;
  rp.n_groups = hp_.n_expert_groups;
  rp.n_group_used = hp_.n_group_used;
  rp.norm_weights = hp_.expert_weights_norm;
  rp.weights_scale = hp_.expert_weights_scale;
  const bool full = static_cast<int32_t>(l) == full_router_layer_;
  backend::RouterOut ro{route_ids_.data(),
                        route_weights_.data(),
                        route_entropy_.data(),
                        full ? route_full_.data() : nullptr,
                        K,
                        1};
  be_.route(logits,
            w.exp_probs_b.valid() ? reinterpret_cast<const float*>(w.exp_probs_b.host) : nullptr,
            rp, ro);
  be_.synchronize();  // The selection is read on the host (trace, and the CPU's grouping).
  for (uint32_t t = 0; t < T; ++t) {
    for (uint32_t r = 0; r < K; ++r) {
      routing.experts[routing.at(t, m, r)] = route_ids_[t * K + r];
      routing.weights[routing.at(t, m, r)] = route_weights_[t * K + r];
    }
    routing.entropy[t * routing.n_moe_layers() + m] = route_entropy_[t];
  }
  if (full) std::copy_n(route_full_.begin(), size_t{T} * hp_.n_expert, routing.full_probs.begin());

  const std::span<const uint16_t> ids(route_ids_.data(), size_t{T} * K);
  Mat g = take(T * K, F), u = take(T * K, F);
  be_.mul_mat_id(g, w.gate_exps, h, ids, K, w.gate_exps_b.valid() ? &w.gate_exps_b : nullptr);
  be_.mul_mat_id(u, w.up_exps, h, ids, K, w.up_exps_b.valid() ? &w.up_exps_b : nullptr);
  be_.swiglu(g, g, u,
             hp_.arch == Arch::gpt_oss ? backend::GluKind::oai_clamped : backend::GluKind::silu);
  Mat d = take(T * K, E);
  be_.mul_mat_id(d, w.down_exps, g, ids, K, w.down_exps_b.valid() ? &w.down_exps_b : nullptr);
  Mat out = take(T, E);
  be_.moe_sum(out, d, std::span<const float>(route_weights_.data(), size_t{T} * K), K);

  if (w.up_shexp.valid()) {
    const auto n_ff = static_cast<uint32_t>(w.up_shexp.ne[1]);
    Mat s = dense_ffn(w.gate_shexp, w.up_shexp, w.down_shexp, h, n_ff);
    if (w.gate_inp_shexp.valid()) {
      Mat gate = take(T, 1);
      be_.mul_mat(gate, w.gate_inp_shexp, h, 0);
      be_.sigmoid_gate(s, gate);
    }
    be_.add(out, s, 1.0f);
  }
  return out;
}

void Forward::run(std::span<const int32_t> tokens, std::span<const int32_t> pos, bool all_logits,
                  std::vector<float>& logits, RoutingBatch& routing,
                  std::span<const Injection> inject) {
  const auto T = static_cast<uint32_t>(tokens.size());
  routing.n_expert = hp_.n_expert;
  routing.top_k = hp_.n_expert_used;
  routing.moe_layers = model_.moe_layers();
  routing.full_layer = full_router_layer_;
  routing.resize(T);

  scratch_used_ = 0;
  Mat x = take(T, hp_.n_embd);
  be_.get_rows(x, tok_embd_, tokens);
  for (const Injection& in : inject) be_.write(x.rows_view(in.row, 1), in.values);
  if (hp_.embedding_scale != 0.0f) be_.scale(x, hp_.embedding_scale);
  const float residual = hp_.residual_scale != 0.0f ? hp_.residual_scale : 1.0f;
  const size_t layer_base = scratch_used_;
  uint32_t m = 0;
  for (uint32_t l = 0; l < hp_.n_layer; ++l) {
    scratch_used_ = layer_base;
    const LayerWeights& w = layers_[l];
    Mat h = take(T, hp_.n_embd);
    be_.rms_norm(h, x, &w.attn_norm, hp_.norm_rms_eps, 0);
    const Mat a = hp_.arch == Arch::deepseek2 ? attention_mla(l, h, pos) : attention(l, h, pos);
    be_.add(x, a, residual);
    be_.rms_norm(h, x, &w.ffn_norm, hp_.norm_rms_eps, 0);
    const Mat f = hp_.is_moe_layer(l) ? moe(l, m++, h, routing)
                                      : dense_ffn(w.ffn_gate, w.ffn_up, w.ffn_down, h, hp_.n_ff);
    be_.add(x, f, residual);
  }

  scratch_used_ = layer_base;
  const uint32_t first = all_logits ? 0 : T - 1;
  const uint32_t n_rows = T - first;
  logits.resize(static_cast<size_t>(n_rows) * hp_.n_vocab);
  Mat hn = take(n_rows, hp_.n_embd);
  be_.rms_norm(hn, x.rows_view(first, n_rows), &output_norm_, hp_.norm_rms_eps, 0);
  Mat out = take(std::min(n_rows, kLogitRowChunk), hp_.n_vocab);
  for (uint32_t r0 = 0; r0 < n_rows; r0 += kLogitRowChunk) {
    const uint32_t n = std::min(kLogitRowChunk, n_rows - r0);
    Mat chunk = out.rows_view(0, n);
    be_.mul_mat(chunk, output_, hn.rows_view(r0, n), 0);
    if (hp_.logit_scale != 0.0f) be_.scale(chunk, 1.0f / hp_.logit_scale);
    be_.synchronize();
    be_.read(chunk, logits.data() + static_cast<size_t>(r0) * hp_.n_vocab);
  }
}

}  // namespace es::model
