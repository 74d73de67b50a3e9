// What a GGUF model is: its architecture, hyper-parameters (the MoE ones included), and
// a check that every tensor the architecture needs is present with the expected shape
// and a supported type. This is what `expertscope-cli info` prints and what the Model
// panel shows; the forward passes (engine/model) build on the same HParams.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/gguf.h"

namespace es {

/// Architectures Expertscope knows, by their `general.architecture` string.
enum class Arch : int {
  unset = 0,
  deepseek2,   ///< DeepSeek V2 / V2-Lite / V3 / R1, Kimi-K2-style.
  qwen3moe,
  qwen2moe,
  olmoe,
  llama,       ///< Llama-family blocks, with experts (Mixtral) or without.
  granitemoe,
  gpt_oss,     ///< "gpt-oss" in files.
};

/// The GGUF `general.architecture` string of an Arch ("gpt-oss" for gpt_oss).
[[nodiscard]] std::string_view arch_name(Arch arch) noexcept;

/// How router logits become expert probabilities (`<arch>.expert_gating_func`).
enum class Gating : int {
  unset = 0,
  softmax = 1,
  sigmoid = 2,
  softmax_selected = 3,  ///< Softmax over the selected experts' logits (gpt-oss, Mixtral).
};
[[nodiscard]] std::string_view gating_name(Gating gating) noexcept;

/// Which pairs of a head's dimensions RoPE rotates.
enum class RopeStyle : int {
  unset = 0,
  normal = 1,  ///< Adjacent pairs (x[2i], x[2i+1]): llama, deepseek2.
  neox = 2,    ///< Half-split pairs (x[i], x[i + d/2]): qwen, olmoe, gpt-oss.
};

enum class RopeScaling : int { unset = 0, none = 1, linear = 2, yarn = 3 };

/// Every hyper-parameter the supported architectures use. Zero means "not used by this
/// model" for the optional ones.
struct HParams {
  Arch arch = Arch::unset;
  std::string name;              ///< general.name, if present.

  uint32_t n_layer = 0;
  uint32_t n_embd = 0;
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t n_ctx_train = 0;
  uint32_t n_vocab = 0;
  uint32_t n_ff = 0;             ///< Dense FFN width (dense layers).
  uint32_t head_dim_k = 0;       ///< attention.key_length, or n_embd / n_head.
  uint32_t head_dim_v = 0;       ///< attention.value_length, or n_embd / n_head.
  float norm_rms_eps = 0.0f;

  // Mixture of experts.
  uint32_t n_expert = 0;
  uint32_t n_expert_used = 0;
  uint32_t n_expert_shared = 0;
  uint32_t n_ff_exp = 0;         ///< expert_feed_forward_length.
  uint32_t n_ff_shexp = 0;       ///< expert_shared_feed_forward_length (qwen2moe).
  Gating gating = Gating::unset;
  bool expert_weights_norm = false;
  float expert_weights_scale = 0.0f;  ///< 0: no scaling.
  uint32_t n_expert_groups = 0;
  uint32_t n_group_used = 0;
  uint32_t n_leading_dense = 0;  ///< leading_dense_block_count.

  // Multi-head latent attention (deepseek2).
  uint32_t q_lora_rank = 0;
  uint32_t kv_lora_rank = 0;
  uint32_t head_dim_k_mla = 0;
  uint32_t head_dim_v_mla = 0;

  // RoPE.
  RopeStyle rope_style = RopeStyle::unset;
  uint32_t n_rot = 0;            ///< rope.dimension_count.
  float rope_freq_base = 10000.0f;
  RopeScaling rope_scaling = RopeScaling::none;
  float rope_scaling_factor = 1.0f;
  uint32_t rope_orig_ctx = 0;
  float rope_yarn_log_mul = 0.0f;

  // gpt-oss.
  uint32_t sliding_window = 0;

  // granitemoe multipliers (0: absent).
  float embedding_scale = 0.0f;
  float residual_scale = 0.0f;
  float attention_scale = 0.0f;
  float logit_scale = 0.0f;

  /// True for layers whose FFN is a mixture of experts.
  [[nodiscard]] bool is_moe_layer(uint32_t layer) const noexcept {
    return n_expert > 0 && layer >= n_leading_dense;
  }
};

/// What the tokenizer metadata says (no tokenizer is built here).
struct TokenizerSummary {
  std::string model;       ///< tokenizer.ggml.model ("gpt2", "llama", ...), or empty.
  std::string pre;         ///< tokenizer.ggml.pre, or empty.
  uint32_t n_tokens = 0;
  int64_t bos_id = -1, eos_id = -1, pad_id = -1, unk_id = -1;  ///< -1: absent.
  bool has_chat_template = false;
};

/// Everything `info` reports.
struct ModelSummary {
  HParams hp;
  TokenizerSummary tokenizer;
  uint64_t n_params = 0;         ///< Every weight in the file.
  uint64_t n_params_active = 0;  ///< Per token: non-expert + k routed + shared experts.
  uint64_t n_bytes_tensors = 0;
  std::map<std::string, uint64_t> bytes_by_type;  ///< Tensor type name -> bytes.
};

/// Reads the hyper-parameters of `file`. Throws es::Error naming the file and the key for
/// a missing or malformed key, and naming the architecture if it is not supported.
[[nodiscard]] HParams read_hparams(const gguf::File& file);

/// Checks that the file holds exactly the tensors the architecture needs, each with the
/// expected shape and a known type. Throws es::Error naming the tensor and the problem.
void check_tensors(const gguf::File& file, const HParams& hp);

/// read_hparams + check_tensors + parameter and byte counts.
[[nodiscard]] ModelSummary summarize(const gguf::File& file);

/// The JSON object of DESIGN.md's `info` contract.
[[nodiscard]] std::string summary_json(const ModelSummary& summary);

}  // namespace es
