// What the architecture mappings share: the common keys, embeddings and output.
#include "arch_common.h"

namespace es::convert {

std::string hf_layer(uint32_t il) {
  return "model.layers." + std::to_string(il) + ".";
}

std::string gguf_layer(uint32_t il) {
  return "blk." + std::to_string(il) + ".";
}

Common read_common(const Config& c, Plan& plan, std::optional<uint32_t> n_head_kv_gguf) {
  Common k;
  k.n_layer = c.u32("num_hidden_layers");
  k.n_embd = c.u32("hidden_size");
  k.n_head = c.u32("num_attention_heads");
  k.n_head_kv = c.u32_or("num_key_value_heads", k.n_head);
  k.n_vocab = c.u32("vocab_size");
  k.n_ctx = c.u32("max_position_embeddings");
  k.eps = c.f64("rms_norm_eps");
  k.tied = c.bool_or("tie_word_embeddings", false);
  const auto positive = [&](const char* key, uint32_t v) {
    if (v == 0) throw c.error(ErrorKind::bad_input, std::string(key) + " must be at least 1");
  };
  positive("num_hidden_layers", k.n_layer);
  positive("hidden_size", k.n_embd);
  positive("num_attention_heads", k.n_head);
  positive("num_key_value_heads", k.n_head_kv);
  positive("vocab_size", k.n_vocab);
  positive("max_position_embeddings", k.n_ctx);
  if (k.n_head % k.n_head_kv != 0) {
    throw c.error(ErrorKind::bad_input, "num_attention_heads (" + std::to_string(k.n_head) +
                                            ") is not a multiple of num_key_value_heads (" +
                                            std::to_string(k.n_head_kv) + ")");
  }
  if (!(k.eps > 0.0)) throw c.error(ErrorKind::bad_input, "rms_norm_eps must be positive");
  put_u32(plan, "context_length", k.n_ctx);
  put_u32(plan, "embedding_length", k.n_embd);
  put_u32(plan, "block_count", k.n_layer);
  put_u32(plan, "attention.head_count", k.n_head);
  put_u32(plan, "attention.head_count_kv", n_head_kv_gguf.value_or(k.n_head_kv));
  put_f32(plan, "attention.layer_norm_rms_epsilon", k.eps);
  put_u32(plan, "vocab_size", k.n_vocab);
  put_rope(c, plan);
  plan.n_vocab = k.n_vocab;
  plan.n_embd = k.n_embd;
  return k;
}

void add_io(PlanBuilder& b, const Common& k, bool output_optional) {
  b.matrix("token_embd.weight", "model.embed_tokens.weight", k.n_vocab, k.n_embd);
  b.vector("output_norm.weight", "model.norm.weight", k.n_embd);
  if (!k.tied) {
    b.matrix("output.weight", "lm_head.weight", k.n_vocab, k.n_embd);
  } else if (!output_optional) {
    // The architecture needs output.weight: write the shared matrix twice.
    b.matrix("output.weight", "model.embed_tokens.weight", k.n_vocab, k.n_embd);
  }
}

void require_silu(const Config& c) {
  const std::string act = c.str_or("hidden_act", "silu");
  if (act != "silu" && act != "swish") {
    throw c.error(ErrorKind::unsupported,
                  "hidden_act \"" + act + "\" is not supported (the engine's experts use SiLU)");
  }
}

void require_all_layers_moe(const Config& c) {
  if (c.u32_or("decoder_sparse_step", 1) != 1) {
    throw c.error(ErrorKind::unsupported,
                  "decoder_sparse_step other than 1 (dense layers between MoE layers) is not "
                  "supported");
  }
  if (c.has("mlp_only_layers") &&
      (!c.root()["mlp_only_layers"].is_array() || !c.root()["mlp_only_layers"].empty())) {
    throw c.error(ErrorKind::unsupported, "mlp_only_layers (dense layers) is not supported");
  }
  if (c.bool_or("use_sliding_window", false)) {
    throw c.error(ErrorKind::unsupported, "use_sliding_window is not supported");
  }
}

}  // namespace es::convert
