// EngineStats: a plain, copyable snapshot of what a Context has been doing — decode
// speed over the last steps, the time each op of the last decode took, memory by kind,
// how full the KV cache is and how often each expert was chosen. Context::stats() makes
// one on the engine thread; the UI (the Engine Inspector) draws the copies it is sent and
// never reads the engine itself.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace es {

/// The operations of the forward pass whose time EngineStats reports. Zero means "unset"
/// and is never timed; `count` is the number of slots, not an op.
enum class EngineOp : uint8_t {
  unset = 0,
  get_rows,      ///< Token embedding look-up.
  rms_norm,      ///< RMS normalisation (block, q/k, latent and output norms).
  mul_mat,       ///< Dense matrix products (attention projections, dense FFN, output).
  mul_mat_id,    ///< Expert matrix products (tokens grouped by expert).
  add_bias,      ///< Bias additions.
  add,           ///< Residual and shared-expert additions.
  rope,          ///< Rotary position embedding.
  swiglu,        ///< The gated activation of the FFNs.
  router,        ///< Expert selection from the router logits.
  moe_sum,       ///< Weighted sum of the selected experts' outputs.
  kv_store,      ///< Writing keys and values into the KV cache.
  attention,     ///< Attention over the KV cache.
  copy,          ///< Copies between views (MLA head layout).
  scale,         ///< Scalings (embedding and logit scales).
  sigmoid_gate,  ///< The shared expert's sigmoid gate (qwen2moe).
  synchronize,   ///< Waiting for the backend (where an asynchronous backend spends time).
  count,         ///< The number of slots of an OpTimes array.
};

/// Number of slots of an OpTimes array (index = static_cast<size_t>(EngineOp)).
inline constexpr size_t n_engine_op_slots = static_cast<size_t>(EngineOp::count);

/// The name of an op as the inspector shows it ("mul_mat_id", "router", ...); "unset"
/// for EngineOp::unset and anything out of range.
[[nodiscard]] std::string_view engine_op_name(EngineOp op) noexcept;

/// The time spent in one kind of op.
struct OpTime {
  double total_ms = 0.0;  ///< Wall time of every call, summed.
  uint32_t n_calls = 0;   ///< How many calls there were (0: the op did not run).
};

/// Per-op times, indexed by static_cast<size_t>(EngineOp).
using OpTimes = std::array<OpTime, n_engine_op_slots>;

/// What a decode step evaluated. Zero means "unset".
enum class StepKind : uint8_t {
  unset = 0,
  prompt = 1,      ///< More than one token at once (prompt processing).
  generation = 2,  ///< One token (the step of a generation loop).
};

/// One Context::decode() call.
struct DecodeStep {
  uint32_t n_tokens = 0;  ///< Tokens evaluated (fewer than asked if cancelled).
  double wall_ms = 0.0;   ///< Wall time of the whole call.
  StepKind kind = StepKind::unset;

  /// n_tokens / wall time, 0 when no time was measured.
  [[nodiscard]] double tokens_per_s() const noexcept {
    return wall_ms > 0.0 ? n_tokens * 1000.0 / wall_ms : 0.0;
  }
};

/// The op profile of the last decode() call (every chunk of it when it was longer than
/// a batch). Op times are measured on the host around each backend call; the host work
/// of the forward pass between two ops counts towards the later one, so the op times
/// add up to (nearly) the pass's wall time. For an asynchronous backend an op's time is
/// its enqueue time and the waiting shows up under EngineOp::synchronize.
struct PassProfile {
  uint32_t n_tokens = 0;  ///< Tokens of that decode() call.
  double wall_ms = 0.0;   ///< Its wall time, forward passes only.
  OpTimes ops{};          ///< Time per op.
};

/// Memory a Context uses, by kind.
struct MemoryStats {
  uint64_t weights_bytes = 0;   ///< Tensor data of the model (mapped from the file).
  uint64_t kv_cache_bytes = 0;  ///< The KV cache (every layer, all n_ctx positions).
  uint64_t scratch_bytes = 0;   ///< Activation scratch for one batch.
  uint64_t output_bytes = 0;    ///< Host buffers for logits and routing records.

  /// Sum of every kind.
  [[nodiscard]] uint64_t total_bytes() const noexcept {
    return weights_bytes + kv_cache_bytes + scratch_bytes + output_bytes;
  }
};

/// A snapshot of a Context's statistics (Context::stats()). A plain value: copy it,
/// send it to another thread, keep it.
struct EngineStats {
  /// The most decode steps `history` keeps.
  static constexpr size_t history_capacity = 120;

  std::string backend;          ///< Backend name ("cpu", "vulkan", a plugin's).
  std::string backend_warning;  ///< Why it is not the backend asked for ("" when it is).
  uint32_t n_threads = 0;       ///< CPU threads of the backend.

  /// The last decode() calls, oldest first, at most history_capacity.
  std::vector<DecodeStep> history;
  uint64_t n_prompt_tokens = 0;     ///< Tokens evaluated in prompt steps since the reset.
  uint64_t n_generated_tokens = 0;  ///< Tokens evaluated in generation steps since the reset.
  PassProfile last_pass;            ///< Op times of the last decode() call.

  MemoryStats memory;

  uint32_t n_past = 0;  ///< Positions the KV cache holds now.
  uint32_t n_ctx = 0;   ///< Positions it can hold.

  uint32_t n_expert = 0;             ///< Experts per MoE layer (0: a dense model).
  uint32_t top_k = 0;                ///< Experts chosen per token and MoE layer.
  std::vector<uint32_t> moe_layers;  ///< Block index of each MoE layer, ascending.
  /// How often each expert was chosen since the Context was created or its statistics
  /// reset: [moe_layers.size()][n_expert], row-major. Each token evaluated adds top_k
  /// to every layer's row.
  std::vector<uint64_t> expert_hits;
  uint64_t n_routed_tokens = 0;  ///< Tokens whose routing expert_hits counts.

  /// n_past / n_ctx, in [0, 1] (0 when n_ctx is 0).
  [[nodiscard]] double kv_fill() const noexcept {
    return n_ctx == 0 ? 0.0 : static_cast<double>(n_past) / n_ctx;
  }
  /// Hits of expert e at MoE layer m (the m-th entry of moe_layers); 0 out of range.
  [[nodiscard]] uint64_t hits(size_t m, size_t e) const noexcept {
    const size_t i = m * n_expert + e;
    return e < n_expert && i < expert_hits.size() ? expert_hits[i] : 0;
  }
  /// The time of one op in the last decode() call.
  [[nodiscard]] const OpTime& op(EngineOp o) const noexcept {
    const auto i = static_cast<size_t>(o);
    return last_pass.ops[i < n_engine_op_slots ? i : 0];
  }
};

}  // namespace es
