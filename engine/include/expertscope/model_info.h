// What a GGUF model is: its architecture, hyper-parameters (the MoE ones included), and
// a check that every tensor the architecture needs is present with the expected shape
// and a supported type. This is what `expertscope-cli info` prints and what the Model
// panel shows; the forward passes (engine/model) build on the same HParams.
//
// Keys and tensors are read as llama.cpp reads them (src/llama-model.cpp load_hparams /
// load_tensors): the same key names, the same defaults where a key is optional, the same
// tensor names and shapes in ggml order (ne[0] innermost). Every error is an es::Error
// whose message starts with the file's name and names the key or tensor at fault.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/gguf.h"

namespace es {

/// Architectures Expertscope knows, by their `general.architecture` string.
enum class Arch : int {
  unset = 0,
  deepseek2,  ///< DeepSeek V2 / V2-Lite / V3 / R1, Kimi-K2-style.
  qwen3moe,
  qwen2moe,
  olmoe,
  llama,  ///< Llama-family blocks, with experts (Mixtral) or without.
  granitemoe,
  gpt_oss,  ///< "gpt-oss" in files.
};

/// The GGUF `general.architecture` string of an Arch ("gpt-oss" for gpt_oss; "" for unset).
[[nodiscard]] std::string_view arch_name(Arch arch) noexcept;

/// The Arch whose `general.architecture` string is `name`, or nothing.
[[nodiscard]] std::optional<Arch> arch_from_name(std::string_view name) noexcept;

/// Every supported architecture, in DESIGN.md's order of importance.
[[nodiscard]] const std::vector<Arch>& supported_archs();

/// How router logits become expert probabilities (`<arch>.expert_gating_func`).
enum class Gating : int {
  unset = 0,  ///< No experts (a dense model).
  softmax = 1,
  sigmoid = 2,
  softmax_selected = 3,  ///< Softmax over the selected experts' logits (gpt-oss, Mixtral).
};
/// "softmax", "sigmoid", "softmax_selected", or "none" for unset.
[[nodiscard]] std::string_view gating_name(Gating gating) noexcept;

/// Which pairs of a head's dimensions RoPE rotates.
enum class RopeStyle : int {
  unset = 0,
  normal = 1,  ///< Adjacent pairs (x[2i], x[2i+1]): llama, granitemoe, deepseek2.
  neox = 2,    ///< Half-split pairs (x[i], x[i + d/2]): qwen2moe, qwen3moe, olmoe, gpt-oss.
};
/// "normal", "neox" or "unset".
[[nodiscard]] std::string_view rope_style_name(RopeStyle style) noexcept;

enum class RopeScaling : int { unset = 0, none = 1, linear = 2, yarn = 3 };
/// "none", "linear", "yarn" or "unset".
[[nodiscard]] std::string_view rope_scaling_name(RopeScaling scaling) noexcept;

/// Every hyper-parameter the supported architectures use. Zero means "not used by this
/// model" for the optional ones.
struct HParams {
  Arch arch = Arch::unset;
  std::string name;  ///< general.name, if present.

  uint32_t n_layer = 0;
  uint32_t n_embd = 0;
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t n_ctx_train = 0;
  /// tokenizer.ggml.tokens' length, else `<arch>.vocab_size`, else token_embd's ne[1].
  uint32_t n_vocab = 0;
  uint32_t n_ff = 0;        ///< feed_forward_length: dense FFN width (dense layers).
  uint32_t head_dim_k = 0;  ///< attention.key_length, or n_embd / n_head.
  uint32_t head_dim_v = 0;  ///< attention.value_length, or n_embd / n_head.
  float norm_rms_eps = 0.0f;

  // Mixture of experts.
  uint32_t n_expert = 0;
  uint32_t n_expert_used = 0;
  /// Shared experts per MoE layer: expert_shared_count (deepseek2); 1 for qwen2moe (its
  /// gated shared expert) and for granitemoe files with a shared expert.
  uint32_t n_expert_shared = 0;
  /// Width of one routed expert as the loader uses it: expert_feed_forward_length, or
  /// feed_forward_length where the architecture sizes experts by it (llama/Mixtral, olmoe,
  /// granitemoe), or n_ff / n_expert_used (qwen2moe/qwen3moe without the key).
  uint32_t n_ff_exp = 0;
  /// Width of the shared expert FFN: expert_shared_feed_forward_length (qwen2moe falls
  /// back to n_ff; deepseek2 uses n_ff_exp * n_expert_shared).
  uint32_t n_ff_shexp = 0;
  Gating gating = Gating::unset;
  bool expert_weights_norm = false;   ///< Divide the selected weights by their sum.
  float expert_weights_scale = 0.0f;  ///< 0: no scaling.
  uint32_t n_expert_groups = 0;
  uint32_t n_group_used = 0;
  uint32_t n_leading_dense = 0;  ///< leading_dense_block_count.

  // Multi-head latent attention (deepseek2).
  uint32_t q_lora_rank = 0;  ///< 0: a plain attn_q (V2-Lite).
  uint32_t kv_lora_rank = 0;
  uint32_t head_dim_k_mla = 0;  ///< attention.key_length_mla (nope + rope); 0 in old files.
  uint32_t head_dim_v_mla = 0;  ///< attention.value_length_mla; 0 in old files.

  // RoPE.
  RopeStyle rope_style = RopeStyle::unset;
  uint32_t n_rot = 0;  ///< rope.dimension_count, or head_dim_k.
  float rope_freq_base = 10000.0f;
  RopeScaling rope_scaling = RopeScaling::none;
  float rope_scaling_factor = 1.0f;
  uint32_t rope_orig_ctx = 0;  ///< rope.scaling.original_context_length, or n_ctx_train.
  /// rope.scaling.yarn_log_multiplier; for deepseek2 divided by 0.1 as llama.cpp's loader
  /// does (the files hold 0.1 * mscale_all_dim), so it is DeepSeek's mscale_all_dim.
  float rope_yarn_log_mul = 0.0f;

  // gpt-oss: sliding-window attention on some layers.
  uint32_t sliding_window = 0;  ///< attention.sliding_window (tokens); 0: none.
  /// Layer il uses the window when il % swa_pattern < swa_pattern - 1 (gpt-oss: 2, so
  /// even layers are windowed, odd layers attend fully); 0: no windowed layers.
  uint32_t swa_pattern = 0;

  // granitemoe multipliers (0: absent).
  float embedding_scale = 0.0f;
  float residual_scale = 0.0f;
  float attention_scale = 0.0f;
  float logit_scale = 0.0f;

  /// True for layers whose FFN is a mixture of experts.
  [[nodiscard]] bool is_moe_layer(uint32_t layer) const noexcept {
    return n_expert > 0 && layer >= n_leading_dense;
  }
  /// True for layers that use sliding-window attention.
  [[nodiscard]] bool is_swa_layer(uint32_t layer) const noexcept {
    return swa_pattern > 0 && sliding_window > 0 && layer % swa_pattern < swa_pattern - 1;
  }
  /// deepseek2: the file splits the KV up-projection into attn_k_b + attn_v_b (the
  /// current layout, `*_mla` keys present) rather than one attn_kv_b (older files).
  [[nodiscard]] bool mla_split_kv_b() const noexcept {
    return head_dim_k_mla != 0 && head_dim_v_mla != 0;
  }
  /// Number of layers whose FFN is a mixture of experts.
  [[nodiscard]] uint32_t n_moe_layers() const noexcept {
    return n_expert == 0 || n_leading_dense >= n_layer ? 0 : n_layer - n_leading_dense;
  }
};

/// What the tokenizer metadata says (no tokenizer is built here).
struct TokenizerSummary {
  std::string model;  ///< tokenizer.ggml.model ("gpt2", "llama", ...), or empty.
  std::string pre;    ///< tokenizer.ggml.pre, or empty.
  uint32_t n_tokens = 0;
  uint32_t n_merges = 0;
  int64_t bos_id = -1, eos_id = -1, eot_id = -1, pad_id = -1, unk_id = -1;  ///< -1: absent.
  std::optional<bool> add_bos;  ///< tokenizer.ggml.add_bos_token, if present.
  std::optional<bool> add_eos;  ///< tokenizer.ggml.add_eos_token, if present.
  bool has_chat_template = false;
};

/// Everything `info` reports.
struct ModelSummary {
  HParams hp;
  TokenizerSummary tokenizer;
  std::string file_name;  ///< The name the file was opened with.
  uint64_t file_size_bytes = 0;
  uint64_t n_tensors = 0;
  bool tied_embeddings = false;  ///< No output.weight: the output reuses token_embd.
  uint64_t n_params = 0;         ///< Every weight in the file.
  uint64_t n_params_active = 0;  ///< Per token: non-expert + k routed + shared experts.
  uint64_t n_params_expert = 0;  ///< All routed experts' weights (every MoE layer).
  uint64_t n_bytes_tensors = 0;
  std::map<std::string, uint64_t> bytes_by_type;  ///< Tensor type name -> bytes.
};

/// Reads the hyper-parameters of `file`. Throws es::Error naming the file and the key for
/// a missing or malformed key (ErrorKind::bad_input) or an inconsistent pair of keys, and
/// naming the architecture if it is not supported (ErrorKind::unsupported).
[[nodiscard]] HParams read_hparams(const gguf::File& file);

/// Reads what the tokenizer metadata says. Throws es::Error naming a malformed key.
[[nodiscard]] TokenizerSummary read_tokenizer_summary(const gguf::File& file);

/// Checks that the file holds exactly the tensors the architecture needs, each with the
/// expected shape and a known type. Throws es::Error naming the tensor and the problem:
/// missing, unexpected (extra), wrong shape (expected and actual shapes given), or a type
/// that is not a weight type the engine supports (ErrorKind::unsupported).
void check_tensors(const gguf::File& file, const HParams& hp);

/// read_hparams + check_tensors + parameter and byte counts.
[[nodiscard]] ModelSummary summarize(const gguf::File& file);

/// The JSON object of DESIGN.md's `info` contract (pretty-printed with `indent` spaces;
/// a negative indent gives one line).
[[nodiscard]] std::string summary_json(const ModelSummary& summary, int indent = 2);

}  // namespace es
