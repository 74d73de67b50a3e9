// read_hparams: the metadata keys of each supported architecture, read with llama.cpp's
// names and defaults (src/llama-model.cpp, load_hparams).
#include <array>

#include "expertscope/error.h"
#include "expertscope/model_info.h"
#include "hparams_internal.h"
#include "metadata.h"

namespace es {
namespace {

struct ArchEntry {
  Arch arch;
  std::string_view name;
};

constexpr std::array kArchNames = {
    ArchEntry{Arch::deepseek2, "deepseek2"}, ArchEntry{Arch::qwen3moe, "qwen3moe"},
    ArchEntry{Arch::qwen2moe, "qwen2moe"},   ArchEntry{Arch::olmoe, "olmoe"},
    ArchEntry{Arch::llama, "llama"},         ArchEntry{Arch::granitemoe, "granitemoe"},
    ArchEntry{Arch::gpt_oss, "gpt-oss"},
};

}  // namespace

std::string_view arch_name(Arch arch) noexcept {
  for (const auto& e : kArchNames) {
    if (e.arch == arch) return e.name;
  }
  return "";
}

std::optional<Arch> arch_from_name(std::string_view name) noexcept {
  for (const auto& e : kArchNames) {
    if (e.name == name) return e.arch;
  }
  return std::nullopt;
}

const std::vector<Arch>& supported_archs() {
  static const std::vector<Arch> archs = [] {
    std::vector<Arch> v;
    for (const auto& e : kArchNames) v.push_back(e.arch);
    return v;
  }();
  return archs;
}

std::string_view gating_name(Gating gating) noexcept {
  switch (gating) {
    case Gating::softmax:
      return "softmax";
    case Gating::sigmoid:
      return "sigmoid";
    case Gating::softmax_selected:
      return "softmax_selected";
    case Gating::unset:
      break;
  }
  return "none";
}

std::string_view rope_style_name(RopeStyle style) noexcept {
  switch (style) {
    case RopeStyle::normal:
      return "normal";
    case RopeStyle::neox:
      return "neox";
    case RopeStyle::unset:
      break;
  }
  return "unset";
}

std::string_view rope_scaling_name(RopeScaling scaling) noexcept {
  switch (scaling) {
    case RopeScaling::none:
      return "none";
    case RopeScaling::linear:
      return "linear";
    case RopeScaling::yarn:
      return "yarn";
    case RopeScaling::unset:
      break;
  }
  return "unset";
}

namespace model {
namespace {

Arch read_arch(const gguf::File& file) {
  const MetaReader general(file, "general");
  auto name = general.opt_string_full("general.architecture");
  if (!name) throw general.error(ErrorKind::bad_input, "missing metadata key general.architecture");
  if (auto arch = arch_from_name(*name)) return *arch;
  std::string list;
  for (Arch a : supported_archs()) {
    if (!list.empty()) list += ", ";
    list += arch_name(a);
  }
  throw general.error(
      ErrorKind::unsupported,
      "architecture \"" + *name + "\" is not supported yet (supported: " + list + ")");
}

/// A u32-or-per-layer key the architecture needs.
uint32_t req_layers(const MetaReader& r, std::string_view key, uint32_t n_layer) {
  auto v = r.opt_u32_or_layers(key, n_layer);
  if (!v) throw r.error(ErrorKind::bad_input, "missing metadata key " + r.arch_key(key));
  return *v;
}

void read_rope_scaling(const MetaReader& r, HParams& hp) {
  hp.rope_orig_ctx = r.opt_u32("rope.scaling.original_context_length").value_or(hp.n_ctx_train);
  hp.rope_freq_base = r.opt_f32("rope.freq_base").value_or(10000.0f);
  auto factor = r.opt_f32("rope.scaling.factor");
  if (!factor) factor = r.opt_f32("rope.scale_linear");  // the old key name
  hp.rope_scaling_factor = (!factor || *factor == 0.0f) ? 1.0f : *factor;
  const std::string type = r.opt_string("rope.scaling.type").value_or("linear");
  if (type == "none") {
    hp.rope_scaling = RopeScaling::none;
  } else if (type == "linear") {
    // llama.cpp's default: linear with factor 1, which is no scaling at all.
    hp.rope_scaling = hp.rope_scaling_factor == 1.0f ? RopeScaling::none : RopeScaling::linear;
  } else if (type == "yarn") {
    hp.rope_scaling = RopeScaling::yarn;
  } else if (type == "longrope") {
    throw r.error(ErrorKind::unsupported, "metadata key " + r.arch_key("rope.scaling.type") +
                                              ": longrope scaling is not supported yet");
  } else {
    throw r.error(ErrorKind::bad_input, "metadata key " + r.arch_key("rope.scaling.type") +
                                            " has an unknown value \"" + type +
                                            "\" (expected none, linear or yarn)");
  }
  hp.rope_yarn_log_mul = r.opt_f32("rope.scaling.yarn_log_multiplier").value_or(0.0f);
}

/// Keys every architecture reads (llama.cpp's common part of load_hparams).
void read_common(const MetaReader& r, HParams& hp) {
  hp.name = r.opt_string_full("general.name").value_or("");
  hp.n_ctx_train = r.req_u32("context_length");
  hp.n_embd = r.req_u32("embedding_length");
  hp.n_layer = r.req_u32("block_count");
  if (hp.n_layer == 0 || hp.n_layer > max_layers) {
    throw r.error(ErrorKind::bad_input, "metadata key " + r.arch_key("block_count") + " is " +
                                            std::to_string(hp.n_layer) + ", expected 1 to " +
                                            std::to_string(max_layers));
  }
  hp.n_expert = r.opt_u32("expert_count").value_or(0);
  hp.n_expert_used = r.opt_u32("expert_used_count").value_or(0);
  hp.n_expert_groups = r.opt_u32("expert_group_count").value_or(0);
  hp.n_group_used = r.opt_u32("expert_group_used_count").value_or(0);
  hp.n_ff = r.opt_u32_or_layers("feed_forward_length", hp.n_layer).value_or(0);
  hp.n_head = req_layers(r, "attention.head_count", hp.n_layer);
  if (hp.n_head == 0) {
    throw r.error(ErrorKind::bad_input,
                  "metadata key " + r.arch_key("attention.head_count") + " must be at least 1");
  }
  hp.n_head_kv = r.opt_u32_or_layers("attention.head_count_kv", hp.n_layer).value_or(hp.n_head);
  read_rope_scaling(r, hp);
  hp.head_dim_k = r.opt_u32("attention.key_length").value_or(hp.n_embd / hp.n_head);
  hp.head_dim_v = r.opt_u32("attention.value_length").value_or(hp.n_embd / hp.n_head);
  hp.n_rot = r.opt_u32("rope.dimension_count").value_or(hp.head_dim_k);
  hp.norm_rms_eps = r.req_f32("attention.layer_norm_rms_epsilon");
}

void read_deepseek2(const MetaReader& r, HParams& hp) {
  hp.rope_style = RopeStyle::normal;
  // llama.cpp's converter writes 0.1 * mscale_all_dim and its loader divides by 0.1 again
  // ([TAG_DEEPSEEK2_YARN_LOG_MUL_FIX]); HParams holds mscale_all_dim itself.
  hp.rope_yarn_log_mul /= 0.1f;
  hp.n_leading_dense = r.req_u32("leading_dense_block_count");
  if (hp.n_leading_dense > 0) hp.n_ff = req_layers(r, "feed_forward_length", hp.n_layer);
  // llama.cpp requires q_lora_rank except for V2-Lite; absent means a plain attn_q.
  hp.q_lora_rank = r.opt_u32("attention.q_lora_rank").value_or(0);
  hp.kv_lora_rank = r.req_u32("attention.kv_lora_rank");
  hp.head_dim_k_mla = r.opt_u32("attention.key_length_mla").value_or(0);
  hp.head_dim_v_mla = r.opt_u32("attention.value_length_mla").value_or(0);
  hp.n_ff_exp = r.req_u32("expert_feed_forward_length");
  hp.n_expert_shared = r.req_u32("expert_shared_count");
  const uint64_t ff_shexp = uint64_t{hp.n_ff_exp} * hp.n_expert_shared;
  if (ff_shexp > max_dim) {
    throw r.error(ErrorKind::bad_input,
                  "metadata keys " + r.arch_key("expert_feed_forward_length") + " and " +
                      r.arch_key("expert_shared_count") + " give a shared expert width of " +
                      std::to_string(ff_shexp) + ", more than " + std::to_string(max_dim));
  }
  hp.n_ff_shexp = static_cast<uint32_t>(ff_shexp);
  hp.expert_weights_scale = r.req_f32("expert_weights_scale");
  hp.expert_weights_norm = r.opt_bool("expert_weights_norm").value_or(false);
  const uint32_t func = r.opt_u32("expert_gating_func").value_or(0);
  switch (func) {
    case 0:  // absent or "none": DeepSeek V2 / V2.5 files, softmax
    case 1:
      hp.gating = Gating::softmax;
      break;
    case 2:
      hp.gating = Gating::sigmoid;
      break;
    case 3:
      hp.gating = Gating::softmax_selected;
      break;
    default:
      throw r.error(ErrorKind::bad_input, "metadata key " + r.arch_key("expert_gating_func") +
                                              " has an unknown value " + std::to_string(func) +
                                              " (expected 1 softmax, 2 sigmoid or 3 softmax over " +
                                              "the selected experts)");
  }
}

void read_qwen_moe(const MetaReader& r, HParams& hp) {
  hp.rope_style = RopeStyle::neox;
  hp.gating = Gating::softmax;
  auto ff_exp = r.opt_u32("expert_feed_forward_length");
  if (!ff_exp) {
    hp.n_ff = req_layers(r, "feed_forward_length", hp.n_layer);
    ff_exp = hp.n_expert_used == 0 ? 0 : hp.n_ff / hp.n_expert_used;
  }
  hp.n_ff_exp = *ff_exp;
  if (hp.arch == Arch::qwen3moe) {
    hp.expert_weights_norm = true;
    return;
  }
  // qwen2moe: one shared expert behind its own sigmoid gate, no renormalisation.
  hp.n_expert_shared = 1;
  auto ff_shexp = r.opt_u32("expert_shared_feed_forward_length");
  if (!ff_shexp) ff_shexp = req_layers(r, "feed_forward_length", hp.n_layer);
  hp.n_ff_shexp = *ff_shexp;
}

void read_llama_like(const MetaReader& r, HParams& hp) {
  hp.rope_style = RopeStyle::normal;
  hp.n_ff = req_layers(r, "feed_forward_length", hp.n_layer);
  if (hp.n_expert > 0) {
    hp.gating = Gating::softmax_selected;
    hp.n_ff_exp = hp.n_ff;
  }
  if (hp.arch == Arch::llama && hp.n_rot != hp.head_dim_k) {
    throw r.error(ErrorKind::bad_input, "metadata key " + r.arch_key("rope.dimension_count") +
                                            " (" + std::to_string(hp.n_rot) +
                                            ") must equal the head size " +
                                            std::to_string(hp.head_dim_k) + " for llama");
  }
  if (hp.arch != Arch::granitemoe) return;
  hp.logit_scale = r.req_f32("logit_scale");
  hp.residual_scale = r.req_f32("residual_scale");
  hp.embedding_scale = r.req_f32("embedding_scale");
  hp.attention_scale = r.req_f32("attention.scale");
  hp.n_ff_shexp = r.opt_u32("expert_shared_feed_forward_length").value_or(0);
  hp.n_expert_shared = hp.n_ff_shexp > 0 ? 1 : 0;
}

void read_olmoe(const MetaReader& r, HParams& hp) {
  hp.rope_style = RopeStyle::neox;
  hp.gating = Gating::softmax;
  hp.n_ff = req_layers(r, "feed_forward_length", hp.n_layer);
  hp.n_ff_exp = hp.n_ff;
}

void read_gpt_oss(const MetaReader& r, HParams& hp) {
  hp.rope_style = RopeStyle::neox;
  hp.gating = Gating::softmax_selected;
  hp.n_ff_exp = r.req_u32("expert_feed_forward_length");
  hp.sliding_window = r.req_u32("attention.sliding_window");
  hp.swa_pattern = 2;
}

/// tokenizer.ggml.tokens' length (what llama.cpp's loader sizes tensors by), else
/// <arch>.vocab_size, else token_embd's rows.
uint32_t read_n_vocab(const MetaReader& r) {
  if (auto n = r.opt_array_size_full("tokenizer.ggml.tokens")) {
    if (*n > max_dim) {
      throw r.error(ErrorKind::bad_input, "metadata key tokenizer.ggml.tokens has " +
                                              std::to_string(*n) + " tokens, more than " +
                                              std::to_string(max_dim) + " supported");
    }
    return static_cast<uint32_t>(*n);
  }
  if (auto n = r.opt_u32("vocab_size")) return *n;
  const gguf::TensorInfo* embd = r.file().find_tensor("token_embd.weight");
  if (embd != nullptr && embd->n_dims == 2 && embd->ne[1] > 0 && embd->ne[1] <= max_dim) {
    return static_cast<uint32_t>(embd->ne[1]);
  }
  throw r.error(ErrorKind::bad_input, "missing metadata key tokenizer.ggml.tokens (and no " +
                                          r.arch_key("vocab_size") +
                                          " or token_embd.weight to size the vocabulary)");
}

}  // namespace
}  // namespace model

HParams read_hparams(const gguf::File& file) {
  HParams hp;
  hp.arch = model::read_arch(file);
  const model::MetaReader r(file, std::string(arch_name(hp.arch)));
  model::read_common(r, hp);
  switch (hp.arch) {
    case Arch::deepseek2:
      model::read_deepseek2(r, hp);
      break;
    case Arch::qwen3moe:
    case Arch::qwen2moe:
      model::read_qwen_moe(r, hp);
      break;
    case Arch::olmoe:
      model::read_olmoe(r, hp);
      break;
    case Arch::llama:
    case Arch::granitemoe:
      model::read_llama_like(r, hp);
      break;
    case Arch::gpt_oss:
      model::read_gpt_oss(r, hp);
      break;
    case Arch::unset:
      break;
  }
  hp.n_vocab = model::read_n_vocab(r);
  model::validate_hparams(r, hp);
  return hp;
}

}  // namespace es
