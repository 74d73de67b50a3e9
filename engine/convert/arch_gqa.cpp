// qwen2_moe → qwen2moe, qwen3_moe → qwen3moe, olmoe → olmoe, mixtral → llama (with
// experts): grouped-query attention blocks with routed experts. The first three rotate
// half-split pairs in both Hugging Face and GGUF, so their q/k rows are copied as they
// are; Mixtral's are permuted (see mixtral_perm).
#include "arch_common.h"

namespace es::convert {
namespace {

/// The attention projections (+ optional biases) of one block.
void add_qkvo(PlanBuilder& b, uint32_t il, int64_t E, int64_t q_rows, int64_t kv_rows,
              bool biases) {
  const std::string hf = hf_layer(il) + "self_attn.", g = gguf_layer(il);
  b.matrix(g + "attn_q.weight", hf + "q_proj.weight", q_rows, E);
  b.matrix(g + "attn_k.weight", hf + "k_proj.weight", kv_rows, E);
  b.matrix(g + "attn_v.weight", hf + "v_proj.weight", kv_rows, E);
  b.matrix(g + "attn_output.weight", hf + "o_proj.weight", E, q_rows);
  if (!biases) return;
  b.vector(g + "attn_q.bias", hf + "q_proj.bias", q_rows);
  b.vector(g + "attn_k.bias", hf + "k_proj.bias", kv_rows);
  b.vector(g + "attn_v.bias", hf + "v_proj.bias", kv_rows);
}

/// Router and routed experts under `hf_mlp` ("model.layers.N.mlp."), Qwen/OLMoE names.
void add_experts(PlanBuilder& b, uint32_t il, const std::string& hf_mlp, int64_t E,
                 uint32_t n_expert, int64_t ff) {
  const std::string g = gguf_layer(il);
  b.matrix(g + "ffn_gate_inp.weight", hf_mlp + "gate.weight", n_expert, E, Keep::f32);
  const std::string ex = hf_mlp + "experts.";
  b.experts(g + "ffn_gate_exps.weight", ex, ".gate_proj.weight", n_expert, ff, E);
  b.experts(g + "ffn_up_exps.weight", ex, ".up_proj.weight", n_expert, ff, E);
  b.experts(g + "ffn_down_exps.weight", ex, ".down_proj.weight", n_expert, E, ff);
}

struct Experts {
  uint32_t n_expert = 0, n_used = 0;
};

Experts read_experts(const Config& c, const char* count_key) {
  Experts x;
  x.n_expert = c.u32(count_key);
  x.n_used = c.u32("num_experts_per_tok");
  if (x.n_expert == 0 || x.n_used == 0 || x.n_used > x.n_expert) {
    throw c.error(ErrorKind::bad_input, std::string(count_key) +
                                            " and num_experts_per_tok must be at least 1, "
                                            "with num_experts_per_tok <= " +
                                            count_key);
  }
  return x;
}

/// The engine's fixed top-k weighting per architecture must be what config.json asks.
void require_norm_topk(const Config& c, bool engine_normalises, const std::string& arch) {
  const bool norm = c.bool_or("norm_topk_prob", false);
  if (norm == engine_normalises) return;
  throw c.error(ErrorKind::unsupported, "norm_topk_prob " + std::string(norm ? "true" : "false") +
                                            " is not supported: " + arch + " GGUF files " +
                                            (engine_normalises ? "always" : "never") +
                                            " renormalise the selected experts' weights");
}

uint32_t head_dim(const Config& c, const Common& k) {
  if (c.has("head_dim")) return c.u32("head_dim");
  if (k.n_embd % k.n_head != 0) {
    throw c.error(ErrorKind::bad_input, "hidden_size is not a multiple of num_attention_heads");
  }
  return k.n_embd / k.n_head;
}

}  // namespace

Plan plan_qwen_moe(const Config& c, Checkpoint& ck, bool qwen3) {
  Plan plan;
  plan.arch = qwen3 ? "qwen3moe" : "qwen2moe";
  const Common k = read_common(c, plan);
  require_silu(c);
  require_all_layers_moe(c);
  require_norm_topk(c, qwen3, plan.arch);
  const Experts x = read_experts(c, "num_experts");
  const uint32_t hd = head_dim(c, k);
  if (!qwen3 && hd * k.n_head != k.n_embd) {
    throw c.error(ErrorKind::unsupported, "head_dim must be hidden_size / num_attention_heads");
  }
  if (qwen3 && c.bool_or("attention_bias", false)) {
    throw c.error(ErrorKind::unsupported, "attention_bias is not supported for qwen3_moe");
  }
  const int64_t ff_exp = c.u32("moe_intermediate_size");
  if (c.has("intermediate_size")) put_u32(plan, "feed_forward_length", c.u32("intermediate_size"));
  put_u32(plan, "expert_feed_forward_length", static_cast<uint32_t>(ff_exp));
  put_u32(plan, "expert_count", x.n_expert);
  put_u32(plan, "expert_used_count", x.n_used);
  put_u32(plan, "attention.key_length", hd);
  put_u32(plan, "attention.value_length", hd);
  put_u32(plan, "rope.dimension_count", hd);
  int64_t ff_sh = 0;
  if (!qwen3) {
    ff_sh = c.u32("shared_expert_intermediate_size");
    put_u32(plan, "expert_shared_feed_forward_length", static_cast<uint32_t>(ff_sh));
  }

  PlanBuilder b(ck, plan);
  add_io(b, k, qwen3);
  const int64_t E = k.n_embd, q_rows = int64_t{hd} * k.n_head, kv_rows = int64_t{hd} * k.n_head_kv;
  for (uint32_t il = 0; il < k.n_layer; ++il) {
    const std::string hf = hf_layer(il), g = gguf_layer(il);
    b.vector(g + "attn_norm.weight", hf + "input_layernorm.weight", k.n_embd);
    // Qwen2-MoE has q/k/v biases (qkv_bias); take them when the checkpoint has them.
    const bool biases = !qwen3 && ck.has(hf + "self_attn.q_proj.bias");
    add_qkvo(b, il, E, q_rows, kv_rows, biases);
    if (qwen3) {
      b.vector(g + "attn_q_norm.weight", hf + "self_attn.q_norm.weight", hd);
      b.vector(g + "attn_k_norm.weight", hf + "self_attn.k_norm.weight", hd);
    }
    b.vector(g + "ffn_norm.weight", hf + "post_attention_layernorm.weight", k.n_embd);
    add_experts(b, il, hf + "mlp.", E, x.n_expert, ff_exp);
    if (!qwen3) {
      const std::string sh = hf + "mlp.shared_expert.";
      b.vector(g + "ffn_gate_inp_shexp.weight", hf + "mlp.shared_expert_gate.weight", E, {1, E});
      b.matrix(g + "ffn_gate_shexp.weight", sh + "gate_proj.weight", ff_sh, E);
      b.matrix(g + "ffn_up_shexp.weight", sh + "up_proj.weight", ff_sh, E);
      b.matrix(g + "ffn_down_shexp.weight", sh + "down_proj.weight", E, ff_sh);
    }
  }
  return plan;
}

Plan plan_olmoe(const Config& c, Checkpoint& ck) {
  Plan plan;
  plan.arch = "olmoe";
  const Common k = read_common(c, plan);
  require_silu(c);
  require_norm_topk(c, false, plan.arch);
  if (c.has("clip_qkv")) throw c.error(ErrorKind::unsupported, "clip_qkv is not supported");
  if (c.bool_or("attention_bias", false)) {
    throw c.error(ErrorKind::unsupported, "attention_bias is not supported for olmoe");
  }
  if (k.n_head_kv != k.n_head || k.n_embd % k.n_head != 0) {
    throw c.error(ErrorKind::unsupported,
                  "olmoe GGUF files normalise k over the whole width: num_key_value_heads must "
                  "equal num_attention_heads and divide hidden_size");
  }
  const Experts x = read_experts(c, "num_experts");
  const int64_t ff = c.u32("intermediate_size");
  put_u32(plan, "feed_forward_length", static_cast<uint32_t>(ff));
  put_u32(plan, "expert_count", x.n_expert);
  put_u32(plan, "expert_used_count", x.n_used);
  put_u32(plan, "rope.dimension_count", k.n_embd / k.n_head);

  PlanBuilder b(ck, plan);
  add_io(b, k, false);
  const int64_t E = k.n_embd;
  for (uint32_t il = 0; il < k.n_layer; ++il) {
    const std::string hf = hf_layer(il), g = gguf_layer(il);
    b.vector(g + "attn_norm.weight", hf + "input_layernorm.weight", E);
    add_qkvo(b, il, E, E, E, false);
    b.vector(g + "attn_q_norm.weight", hf + "self_attn.q_norm.weight", E);
    b.vector(g + "attn_k_norm.weight", hf + "self_attn.k_norm.weight", E);
    b.vector(g + "ffn_norm.weight", hf + "post_attention_layernorm.weight", E);
    add_experts(b, il, hf + "mlp.", E, x.n_expert, ff);
  }
  return plan;
}

Plan plan_mixtral(const Config& c, Checkpoint& ck) {
  Plan plan;
  plan.arch = "llama";
  const Common k = read_common(c, plan);
  require_silu(c);
  if (c.has("sliding_window") && c.u32("sliding_window") < k.n_ctx) {
    throw c.error(ErrorKind::unsupported,
                  "sliding_window shorter than max_position_embeddings is not supported");
  }
  const Experts x = read_experts(c, "num_local_experts");
  const uint32_t hd = head_dim(c, k);
  if (hd % 2 != 0) throw c.error(ErrorKind::bad_input, "head_dim must be even");
  const int64_t ff = c.u32("intermediate_size");
  put_u32(plan, "feed_forward_length", static_cast<uint32_t>(ff));
  put_u32(plan, "expert_count", x.n_expert);
  put_u32(plan, "expert_used_count", x.n_used);
  put_u32(plan, "rope.dimension_count", hd);
  if (int64_t{hd} * k.n_head != k.n_embd) {
    put_u32(plan, "attention.key_length", hd);
    put_u32(plan, "attention.value_length", hd);
  }

  PlanBuilder b(ck, plan);
  add_io(b, k, true);
  const int64_t E = k.n_embd, d = hd;
  // Hugging Face rotates (x[i], x[i + d/2]) of each head, GGUF llama (x[2i], x[2i+1]):
  // output row h*d + 2j + t takes torch row h*d + t*d/2 + j (llama.cpp's permute()).
  const auto perm = [d](int64_t r) {
    const int64_t h = r / d, i = r % d;
    return h * d + (i % 2) * (d / 2) + i / 2;
  };
  for (uint32_t il = 0; il < k.n_layer; ++il) {
    const std::string hf = hf_layer(il), g = gguf_layer(il);
    const std::string at = hf + "self_attn.";
    b.vector(g + "attn_norm.weight", hf + "input_layernorm.weight", E);
    b.permuted(g + "attn_q.weight", at + "q_proj.weight", d * k.n_head, E, perm);
    b.permuted(g + "attn_k.weight", at + "k_proj.weight", d * k.n_head_kv, E, perm);
    b.matrix(g + "attn_v.weight", at + "v_proj.weight", d * k.n_head_kv, E);
    b.matrix(g + "attn_output.weight", at + "o_proj.weight", E, d * k.n_head);
    b.vector(g + "ffn_norm.weight", hf + "post_attention_layernorm.weight", E);
    const std::string moe = hf + "block_sparse_moe.";
    b.matrix(g + "ffn_gate_inp.weight", moe + "gate.weight", x.n_expert, E, Keep::f32);
    const std::string ex = moe + "experts.";
    b.experts(g + "ffn_gate_exps.weight", ex, ".w1.weight", x.n_expert, ff, E);
    b.experts(g + "ffn_up_exps.weight", ex, ".w3.weight", x.n_expert, ff, E);
    b.experts(g + "ffn_down_exps.weight", ex, ".w2.weight", x.n_expert, E, ff);
  }
  return plan;
}

}  // namespace es::convert
