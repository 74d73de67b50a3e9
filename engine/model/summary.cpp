// summarize / summary_json: what `expertscope-cli info` prints and the Model panel shows.
#include <charconv>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "expertscope/model_info.h"
#include "metadata.h"
#include "tensor_specs.h"

namespace es {
namespace {

using Json = nlohmann::ordered_json;

/// A float as JSON with its shortest decimal form (1e-06, not 9.999999974752427e-07).
Json float_json(float v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return static_cast<double>(v);
  *end = '\0';
  return std::strtod(buf, nullptr);
}

Json optional_id(int64_t id) {
  return id < 0 ? Json(nullptr) : Json(id);
}

Json optional_bool(const std::optional<bool>& b) {
  return b ? Json(*b) : Json(nullptr);
}

Json tokenizer_json(const TokenizerSummary& t) {
  Json j;
  j["model"] = t.model;
  j["pre"] = t.pre;
  j["n_tokens"] = t.n_tokens;
  j["n_merges"] = t.n_merges;
  j["bos_id"] = optional_id(t.bos_id);
  j["eos_id"] = optional_id(t.eos_id);
  j["eot_id"] = optional_id(t.eot_id);
  j["pad_id"] = optional_id(t.pad_id);
  j["unk_id"] = optional_id(t.unk_id);
  j["add_bos"] = optional_bool(t.add_bos);
  j["add_eos"] = optional_bool(t.add_eos);
  j["has_chat_template"] = t.has_chat_template;
  return j;
}

Json moe_json(const HParams& hp) {
  Json j;
  j["n_ff_exp"] = hp.n_ff_exp;
  j["n_ff_shexp"] = hp.n_ff_shexp;
  j["expert_weights_norm"] = hp.expert_weights_norm;
  j["expert_weights_scale"] = float_json(hp.expert_weights_scale);
  j["n_expert_groups"] = hp.n_expert_groups;
  j["n_group_used"] = hp.n_group_used;
  j["n_leading_dense"] = hp.n_leading_dense;
  Json layers = Json::array();
  for (uint32_t il = 0; il < hp.n_layer; ++il) {
    if (hp.is_moe_layer(il)) layers.push_back(il);
  }
  j["moe_layers"] = std::move(layers);
  return j;
}

Json rope_json(const HParams& hp) {
  Json j;
  j["style"] = rope_style_name(hp.rope_style);
  j["n_rot"] = hp.n_rot;
  j["freq_base"] = float_json(hp.rope_freq_base);
  j["scaling"] = rope_scaling_name(hp.rope_scaling);
  j["scaling_factor"] = float_json(hp.rope_scaling_factor);
  j["orig_ctx"] = hp.rope_orig_ctx;
  if (hp.rope_yarn_log_mul != 0.0f) j["yarn_log_mul"] = float_json(hp.rope_yarn_log_mul);
  return j;
}

Json mla_json(const HParams& hp) {
  Json j;
  j["q_lora_rank"] = hp.q_lora_rank;
  j["kv_lora_rank"] = hp.kv_lora_rank;
  j["head_dim_k_mla"] = hp.head_dim_k_mla;
  j["head_dim_v_mla"] = hp.head_dim_v_mla;
  j["layout"] = hp.mla_split_kv_b() ? "attn_k_b+attn_v_b" : "attn_kv_b";
  return j;
}

/// The architecture-specific extras, only where the architecture has them.
void add_arch_extras(Json& j, const HParams& hp) {
  if (hp.arch == Arch::deepseek2) j["mla"] = mla_json(hp);
  if (hp.sliding_window > 0) {
    j["sliding_window"] = hp.sliding_window;
    j["swa_pattern"] = hp.swa_pattern;
  }
  if (hp.arch == Arch::granitemoe) {
    j["embedding_scale"] = float_json(hp.embedding_scale);
    j["residual_scale"] = float_json(hp.residual_scale);
    j["attention_scale"] = float_json(hp.attention_scale);
    j["logit_scale"] = float_json(hp.logit_scale);
  }
}

}  // namespace

TokenizerSummary read_tokenizer_summary(const gguf::File& file) {
  const model::MetaReader r(file, "tokenizer");
  TokenizerSummary t;
  t.model = r.opt_string_full("tokenizer.ggml.model").value_or("");
  t.pre = r.opt_string_full("tokenizer.ggml.pre").value_or("");
  const uint64_t n_tokens = r.opt_array_size_full("tokenizer.ggml.tokens").value_or(0);
  t.n_tokens = static_cast<uint32_t>(std::min<uint64_t>(n_tokens, UINT32_MAX));
  const uint64_t n_merges = r.opt_array_size_full("tokenizer.ggml.merges").value_or(0);
  t.n_merges = static_cast<uint32_t>(std::min<uint64_t>(n_merges, UINT32_MAX));
  t.bos_id = r.opt_i64_full("tokenizer.ggml.bos_token_id").value_or(-1);
  t.eos_id = r.opt_i64_full("tokenizer.ggml.eos_token_id").value_or(-1);
  t.eot_id = r.opt_i64_full("tokenizer.ggml.eot_token_id").value_or(-1);
  t.pad_id = r.opt_i64_full("tokenizer.ggml.padding_token_id").value_or(-1);
  t.unk_id = r.opt_i64_full("tokenizer.ggml.unknown_token_id").value_or(-1);
  t.add_bos = r.opt_bool_full("tokenizer.ggml.add_bos_token");
  t.add_eos = r.opt_bool_full("tokenizer.ggml.add_eos_token");
  t.has_chat_template = r.opt_string_full("tokenizer.chat_template").has_value();
  return t;
}

ModelSummary summarize(const gguf::File& file) {
  ModelSummary s;
  s.hp = read_hparams(file);
  check_tensors(file, s.hp);
  s.tokenizer = read_tokenizer_summary(file);
  s.file_name = file.name();
  s.file_size_bytes = file.file_size_bytes();
  s.n_tensors = file.tensors().size();
  s.tied_embeddings = file.find_tensor("output.weight") == nullptr;
  uint64_t n_expert_active = 0;
  for (const gguf::TensorInfo& t : file.tensors()) {
    s.n_params += t.n_elements;
    s.n_bytes_tensors += t.n_bytes;
    s.bytes_by_type[std::string(tensor_type_name(t.type))] += t.n_bytes;
    if (model::is_routed_expert_tensor(t.name)) {
      // Shapes were checked: the last dimension is n_expert, so this divides exactly.
      s.n_params_expert += t.n_elements;
      n_expert_active += t.n_elements / s.hp.n_expert * s.hp.n_expert_used;
    }
  }
  s.n_params_active = s.n_params - s.n_params_expert + n_expert_active;
  return s;
}

std::string summary_json(const ModelSummary& s, int indent) {
  const HParams& hp = s.hp;
  Json j;
  j["file"] = s.file_name;
  j["name"] = hp.name;
  j["arch"] = arch_name(hp.arch);
  j["n_layer"] = hp.n_layer;
  j["n_embd"] = hp.n_embd;
  j["n_head"] = hp.n_head;
  j["n_head_kv"] = hp.n_head_kv;
  j["head_dim_k"] = hp.head_dim_k;
  j["head_dim_v"] = hp.head_dim_v;
  j["n_ctx_train"] = hp.n_ctx_train;
  j["n_vocab"] = hp.n_vocab;
  j["n_ff"] = hp.n_ff;
  j["n_expert"] = hp.n_expert;
  j["n_expert_used"] = hp.n_expert_used;
  j["n_expert_shared"] = hp.n_expert_shared;
  j["gating"] = gating_name(hp.gating);
  if (hp.n_expert > 0) j["moe"] = moe_json(hp);
  j["norm_rms_eps"] = float_json(hp.norm_rms_eps);
  j["rope"] = rope_json(hp);
  add_arch_extras(j, hp);
  j["n_params"] = s.n_params;
  j["n_params_active"] = s.n_params_active;
  j["n_params_expert"] = s.n_params_expert;
  j["n_tensors"] = s.n_tensors;
  j["tied_embeddings"] = s.tied_embeddings;
  j["n_bytes_tensors"] = s.n_bytes_tensors;
  j["file_size_bytes"] = s.file_size_bytes;
  j["bytes_by_type"] = Json(s.bytes_by_type);
  j["tokenizer"] = tokenizer_json(s.tokenizer);
  // Bytes in names and strings are as the file stores them: replace invalid UTF-8.
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace es
