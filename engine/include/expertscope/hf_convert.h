// Converts a Hugging Face checkpoint folder into a GGUF the engine (and llama.cpp) runs:
// `expertscope-cli convert HF_DIR -o OUT.gguf [--type T]`.
//
// Read: config.json (model_type picks the architecture), every *.safetensors (one file,
// or the shards model.safetensors.index.json names; F32, F16 or BF16; mapped and
// validated, see safetensors.h), tokenizer.json and, if present, tokenizer_config.json
// (hf_tokenizer.h; the vocabulary is padded to config.json's vocab_size with unused
// "[PAD<id>]" entries).
//
// Architectures (model_type → GGUF): deepseek_v3 and deepseek_v2 → deepseek2 (MLA with
// kv_b_proj split into attn_k_b / attn_v_b, q_lora or a plain q, softmax or sigmoid
// scoring, e_score_correction_bias → exp_probs_b, n_group / topk_group, routed scaling,
// leading dense layers, YaRN); qwen3_moe → qwen3moe; qwen2_moe → qwen2moe (shared expert
// with its sigmoid gate); olmoe → olmoe; mixtral → llama with experts (q/k rows permuted
// from Hugging Face's half-split RoPE to GGUF's adjacent pairs). Per-expert tensors are
// stacked into ffn_{gate,up,down}_exps. A setting the engine cannot reproduce exactly
// (e.g. norm_topk_prob true for qwen2_moe, another hidden_act) is refused by name.
//
// A config.json with a vision_config of projector_type "es-patch" (the demo model's)
// also gets its projector written beside the model as `<OUT stem>.mmproj.gguf`
// (projector.h), in F32.
//
// Weight types: 2-D and larger weights take `type`; norms, biases, the router
// (ffn_gate_inp), exp_probs_b and every 1-D tensor stay F32; a weight whose rows are not
// a whole number of the type's blocks is written as F16 (with a warning). Every error is
// an es::Error naming the file and the problem; nothing is left at the output paths then.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>

#include "expertscope/ggml_types.h"

namespace es {

/// Options of convert_hf_checkpoint.
struct HfConvertOptions {
  TensorType type = TensorType::F16;  ///< The type of 2-D and larger weights.
  /// Gets each warning (a type fallback, a modelling caveat), one line each; may be empty.
  std::function<void(const std::string&)> warn;
};

/// What convert_hf_checkpoint wrote.
struct HfConvertResult {
  std::string model_type;     ///< config.json's model_type.
  std::string arch;           ///< The GGUF architecture.
  std::string source_dtypes;  ///< The checkpoint's dtypes, "BF16" or "F32+F16".
  uint64_t n_tensors = 0;
  uint64_t n_bytes = 0;                             ///< Size of the written GGUF.
  std::map<std::string, uint64_t> tensors_by_type;  ///< Type name → number of tensors.
  std::filesystem::path projector;                  ///< The projector written beside it, or empty.
  uint64_t projector_bytes = 0;
};

/// The types `--type` accepts: F32, F16, BF16 and the quantized weight types the engine
/// runs (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K ... Q6_K).
[[nodiscard]] std::span<const TensorType> hf_convert_types() noexcept;

/// Where the projector of `out` goes: `<dir>/<stem>.mmproj.gguf` (what
/// Projector::find_beside looks for).
[[nodiscard]] std::filesystem::path hf_projector_path(const std::filesystem::path& out);

/// Converts the checkpoint in `dir` into `out` (and its projector, if any), atomically.
/// Throws es::Error naming the file and the problem: io (unreadable), bad_input (missing
/// or malformed file, key or tensor, wrong shape), unsupported (architecture, dtype, a
/// setting the engine cannot reproduce, a `type` not in hf_convert_types()).
HfConvertResult convert_hf_checkpoint(const std::filesystem::path& dir,
                                      const std::filesystem::path& out,
                                      const HfConvertOptions& options = {});

}  // namespace es
