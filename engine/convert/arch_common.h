// Private to engine/convert: what every architecture's mapping shares (the common
// config.json keys, embeddings and output, one layer's attention norms).
#pragma once

#include <string>

#include "convert_internal.h"

namespace es::convert {

/// The config.json keys every supported model_type has.
struct Common {
  uint32_t n_layer = 0;
  uint32_t n_embd = 0;
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t n_vocab = 0;
  uint32_t n_ctx = 0;
  double eps = 0.0;
  bool tied = false;  ///< tie_word_embeddings: lm_head is the embedding matrix.
};

/// Reads the common keys, checks them, and writes context_length, embedding_length,
/// block_count, attention.head_count(_kv), layer_norm_rms_epsilon, vocab_size and the RoPE
/// keys. `n_head_kv_gguf` overrides the written head_count_kv (deepseek2 writes 1).
Common read_common(const Config& c, Plan& plan,
                   std::optional<uint32_t> n_head_kv_gguf = std::nullopt);

/// token_embd, output_norm and output (`output_optional`: a tied model gets no output
/// tensor; otherwise a tied model's output is a copy of the embeddings).
void add_io(PlanBuilder& b, const Common& k, bool output_optional);

/// "model.layers.<il>." — the Hugging Face prefix of a block's tensors.
std::string hf_layer(uint32_t il);
/// "blk.<il>." — the GGUF prefix.
std::string gguf_layer(uint32_t il);

/// Refuses config.json's hidden_act unless it is SiLU (every supported model's SwiGLU).
void require_silu(const Config& c);
/// Refuses the Qwen-style options that make some layers dense or windowed
/// (decoder_sparse_step, mlp_only_layers, use_sliding_window).
void require_all_layers_moe(const Config& c);

}  // namespace es::convert
