// deepseek_v2 / deepseek_v3 → GGUF deepseek2: multi-head latent attention (with or
// without the q low-rank path), kv_b_proj split into attn_k_b / attn_v_b (the layout
// llama.cpp's converter writes today, which the engine runs in the absorbed form), leading
// dense layers, routed + shared experts, softmax or sigmoid scoring, the score-correction
// bias and group-limited routing.
#include <cmath>

#include "arch_common.h"

namespace es::convert {
namespace {

/// The routing config.json describes, in the engine's terms.
struct Routing {
  uint32_t n_expert = 0, n_used = 0, n_shared = 0, n_group = 0, n_group_used = 0;
  bool sigmoid = false;
  bool bias = false;  ///< noaux_tc: e_score_correction_bias chooses the experts.
  bool norm = false;
  double scale = 1.0;
};

Routing read_routing(const Config& c, bool v3) {
  Routing r;
  r.n_expert = c.u32_or("n_routed_experts", 0);
  r.n_used = c.u32_or("num_experts_per_tok", 0);
  r.n_shared = c.u32_or("n_shared_experts", 0);
  if (r.n_expert == 0) return r;
  const std::string scoring = c.str_or("scoring_func", v3 ? "sigmoid" : "softmax");
  if (scoring != "softmax" && scoring != "sigmoid") {
    throw c.error(ErrorKind::unsupported,
                  "scoring_func \"" + scoring + "\" is not supported (softmax or sigmoid)");
  }
  r.sigmoid = scoring == "sigmoid";
  const std::string method = c.str_or("topk_method", v3 ? "noaux_tc" : "greedy");
  const uint32_t n_group = c.u32_or("n_group", 1), topk_group = c.u32_or("topk_group", n_group);
  const double routed_scale = c.f64_or("routed_scaling_factor", 1.0);
  const bool norm_topk = c.bool_or("norm_topk_prob", false) && r.n_used > 1;
  if (method == "noaux_tc") {
    // V3: selection by score + bias, the best topk_group groups by the sum of their two
    // best scores; weights are the unbiased scores, normalised, then scaled.
    r.bias = true;
    if (n_group > 1 && topk_group < n_group) {
      r.n_group = n_group;
      r.n_group_used = topk_group;
    }
    r.norm = norm_topk;
    r.scale = routed_scale;
    return r;
  }
  if (method == "group_limited_greedy" && n_group > 1 && topk_group < n_group) {
    throw c.error(ErrorKind::unsupported,
                  "topk_method group_limited_greedy (groups ranked by their best score) is "
                  "not supported; the engine ranks groups as DeepSeek-V3 does");
  }
  if (method != "greedy" && method != "gready" && method != "group_limited_greedy") {
    throw c.error(ErrorKind::unsupported, "topk_method \"" + method + "\" is not supported");
  }
  // V2: the weights are either normalised or scaled, never both.
  r.norm = norm_topk;
  r.scale = norm_topk ? 1.0 : routed_scale;
  return r;
}

struct Mla {
  uint32_t q_lora = 0, kv_lora = 0, nope = 0, rope = 0, v = 0;
};

void add_attention(PlanBuilder& b, const Common& k, const Mla& m, uint32_t il) {
  const std::string hf = hf_layer(il) + "self_attn.", g = gguf_layer(il);
  const int64_t H = k.n_head, E = k.n_embd, C = m.kv_lora, nope = m.nope, v = m.v;
  const int64_t dq = m.nope + m.rope;
  if (m.q_lora > 0) {
    b.matrix(g + "attn_q_a.weight", hf + "q_a_proj.weight", m.q_lora, E);
    b.vector(g + "attn_q_a_norm.weight", hf + "q_a_layernorm.weight", m.q_lora);
    b.matrix(g + "attn_q_b.weight", hf + "q_b_proj.weight", H * dq, m.q_lora);
  } else {
    b.matrix(g + "attn_q.weight", hf + "q_proj.weight", H * dq, E);
  }
  b.matrix(g + "attn_kv_a_mqa.weight", hf + "kv_a_proj_with_mqa.weight", C + m.rope, E);
  b.vector(g + "attn_kv_a_norm.weight", hf + "kv_a_layernorm.weight", C);
  // kv_b_proj [H * (nope + v), C]: per head, nope key rows then v value rows.
  const SourceTensor& kv_b = b.checkpoint().get(hf + "kv_b_proj.weight", {H * (nope + v), C});
  // attn_k_b {nope, C, H}: row (h, c) holds column c of the head's key rows.
  b.custom(g + "attn_k_b.weight", {nope, C, H}, Keep::weight,
           [&kv_b, C, nope, v](int64_t row, float* dst) {
             const int64_t h = row / C, col = row % C;
             for (int64_t j = 0; j < nope; ++j) {
               Checkpoint::read(kv_b, static_cast<uint64_t>((h * (nope + v) + j) * C + col), 1,
                                dst + j);
             }
           });
  // attn_v_b {C, v, H}: row (h, i) is the head's value row i.
  b.custom(g + "attn_v_b.weight", {C, v, H}, Keep::weight,
           [&kv_b, C, nope, v](int64_t row, float* dst) {
             const int64_t h = row / v, i = row % v;
             Checkpoint::read(kv_b, static_cast<uint64_t>((h * (nope + v) + nope + i) * C),
                              static_cast<uint64_t>(C), dst);
           });
  b.matrix(g + "attn_output.weight", hf + "o_proj.weight", E, H * v);
}

void add_ffn(PlanBuilder& b, const Config& c, const Common& k, const Routing& r, uint32_t il,
             bool moe) {
  const std::string hf = hf_layer(il) + "mlp.", g = gguf_layer(il);
  const int64_t E = k.n_embd;
  if (!moe) {
    const int64_t ff = c.u32("intermediate_size");
    b.matrix(g + "ffn_gate.weight", hf + "gate_proj.weight", ff, E);
    b.matrix(g + "ffn_up.weight", hf + "up_proj.weight", ff, E);
    b.matrix(g + "ffn_down.weight", hf + "down_proj.weight", E, ff);
    return;
  }
  const int64_t ff = c.u32("moe_intermediate_size");
  b.matrix(g + "ffn_gate_inp.weight", hf + "gate.weight", r.n_expert, E, Keep::f32);
  if (r.bias) {
    b.vector(g + "exp_probs_b.bias", hf + "gate.e_score_correction_bias", r.n_expert);
  }
  const std::string ex = hf + "experts.";
  b.experts(g + "ffn_gate_exps.weight", ex, ".gate_proj.weight", r.n_expert, ff, E);
  b.experts(g + "ffn_up_exps.weight", ex, ".up_proj.weight", r.n_expert, ff, E);
  b.experts(g + "ffn_down_exps.weight", ex, ".down_proj.weight", r.n_expert, E, ff);
  if (r.n_shared > 0) {
    const int64_t sh = ff * r.n_shared;
    b.matrix(g + "ffn_gate_shexp.weight", hf + "shared_experts.gate_proj.weight", sh, E);
    b.matrix(g + "ffn_up_shexp.weight", hf + "shared_experts.up_proj.weight", sh, E);
    b.matrix(g + "ffn_down_shexp.weight", hf + "shared_experts.down_proj.weight", E, sh);
  }
}

void put_routing(Plan& plan, const Config& c, const Routing& r) {
  put_u32(plan, "expert_count", r.n_expert);
  put_u32(plan, "expert_used_count", r.n_used);
  put_u32(plan, "expert_shared_count", r.n_shared);
  put_u32(plan, "expert_feed_forward_length", c.u32_or("moe_intermediate_size", 0));
  put_f32(plan, "expert_weights_scale", r.scale);
  put_bool(plan, "expert_weights_norm", r.norm);
  put_u32(plan, "expert_gating_func", r.sigmoid ? 2 : 1);
  if (r.n_group > 1) {
    put_u32(plan, "expert_group_count", r.n_group);
    put_u32(plan, "expert_group_used_count", r.n_group_used);
  }
}

}  // namespace

Plan plan_deepseek2(const Config& c, Checkpoint& ck, bool v3) {
  Plan plan;
  plan.arch = "deepseek2";
  // MLA runs as MQA over the latent: one KV head (llama.cpp's converter writes 1).
  const Common k = read_common(c, plan, 1u);
  require_silu(c);
  if (c.bool_or("attention_bias", false)) {
    throw c.error(ErrorKind::unsupported, "attention_bias is not supported for DeepSeek models");
  }
  if (c.u32_or("moe_layer_freq", 1) != 1) {
    throw c.error(ErrorKind::unsupported, "moe_layer_freq other than 1 is not supported");
  }
  if (!c.bool_or("rope_interleave", true)) {
    throw c.error(ErrorKind::unsupported,
                  "rope_interleave false (half-split RoPE) is not supported for DeepSeek");
  }
  Mla m;
  m.q_lora = c.u32_or("q_lora_rank", 0);
  m.kv_lora = c.u32("kv_lora_rank");
  m.nope = c.u32("qk_nope_head_dim");
  m.rope = c.u32("qk_rope_head_dim");
  m.v = c.u32("v_head_dim");
  if (m.kv_lora == 0 || m.rope == 0 || m.rope % 2 != 0 || m.v == 0 || m.nope == 0) {
    throw c.error(ErrorKind::bad_input,
                  "kv_lora_rank, qk_nope_head_dim and v_head_dim must be at least 1 and "
                  "qk_rope_head_dim a positive even number");
  }
  const Routing r = read_routing(c, v3);
  const uint32_t n_dense = std::min(c.u32_or("first_k_dense_replace", 0), k.n_layer);
  if (r.n_expert == 0 || r.n_used == 0 || r.n_used > r.n_expert) {
    throw c.error(ErrorKind::bad_input,
                  "n_routed_experts and num_experts_per_tok must be at least 1, with "
                  "num_experts_per_tok <= n_routed_experts");
  }
  if (n_dense > 0) put_u32(plan, "feed_forward_length", c.u32("intermediate_size"));
  put_u32(plan, "leading_dense_block_count", n_dense);
  if (m.q_lora > 0) put_u32(plan, "attention.q_lora_rank", m.q_lora);
  put_u32(plan, "attention.kv_lora_rank", m.kv_lora);
  put_u32(plan, "attention.key_length", m.kv_lora + m.rope);
  put_u32(plan, "attention.value_length", m.kv_lora);
  put_u32(plan, "attention.key_length_mla", m.nope + m.rope);
  put_u32(plan, "attention.value_length_mla", m.v);
  put_u32(plan, "rope.dimension_count", m.rope);
  put_routing(plan, c, r);
  if (std::abs(k.eps - 1e-6) > 1e-12) {
    plan.warnings.push_back(
        c.file() + ": rms_norm_eps is " + std::to_string(k.eps) +
        "; DeepSeek's modeling code normalises q_a and kv_a with 1e-6 whatever the config "
        "says, the GGUF uses rms_norm_eps for every norm");
  }

  PlanBuilder b(ck, plan);
  add_io(b, k, false);
  for (uint32_t il = 0; il < k.n_layer; ++il) {
    const std::string hf = hf_layer(il), g = gguf_layer(il);
    b.vector(g + "attn_norm.weight", hf + "input_layernorm.weight", k.n_embd);
    add_attention(b, k, m, il);
    b.vector(g + "ffn_norm.weight", hf + "post_attention_layernorm.weight", k.n_embd);
    add_ffn(b, c, k, r, il, il >= n_dense);
  }
  // Multi-token-prediction layers (DeepSeek-V3) follow the last block; the GGUF leaves
  // them out, as llama.cpp's converter does.
  const uint32_t n_mtp = c.u32_or("num_nextn_predict_layers", 0);
  for (uint32_t i = 0; i < n_mtp && i < 64; ++i)
    plan.ignore_prefixes.push_back(hf_layer(k.n_layer + i));
  return plan;
}

}  // namespace es::convert
