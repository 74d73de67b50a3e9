// A Context runs a Model: it owns the KV cache, the current position and a compute
// backend, and evaluates batches of tokens, producing logits and the routing of every
// token at every MoE layer.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/engine_stats.h"
#include "expertscope/model.h"
#include "expertscope/routing.h"

namespace es {

struct ContextParams {
  uint32_t n_ctx = 4096;   ///< Positions the KV cache holds.
  uint32_t n_batch = 512;  ///< Tokens per forward pass; longer inputs run in chunks.
  uint32_t n_threads = 0;  ///< CPU threads (0: one per core).
  /// "cpu", "vulkan", "auto" (a Vulkan GPU if there is one, else the CPU) or a plugin's
  /// name. When the backend asked for cannot run (no device, out of memory) or fails
  /// later (a lost device), the context says why (backend_warning()) and runs on the CPU.
  std::string backend = "cpu";
  bool kv_f16 = true;              ///< F16 KV cache (else F32).
  int32_t full_router_layer = -1;  ///< Record the full router distribution of this layer.
};

/// Which rows of logits decode() keeps.
enum class LogitsRows : int { unset = 0, last = 1, all = 2 };

class Context {
 public:
  /// Throws es::Error if the backend is unknown or memory cannot be had.
  Context(std::shared_ptr<const Model> model, const ContextParams& params);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// Evaluates `tokens` at positions n_past() .. n_past() + n - 1 and appends them to the
  /// KV cache. Throws es::Error for an out-of-range token id or when the tokens do not fit
  /// in the context (nothing is evaluated then). If `cancel` becomes true between chunks
  /// of a long input, stops and returns false (the tokens evaluated so far stay cached).
  ///
  /// `embeddings`, when not empty, holds tokens.size() rows of n_embd floats that replace
  /// the tokens' embeddings (a projected image or video: the tokens are then the
  /// projector's placeholder, kept for the trace).
  bool decode(std::span<const int32_t> tokens, LogitsRows rows,
              const std::atomic<bool>* cancel = nullptr, std::span<const float> embeddings = {});

  /// Logits of row i of the last decode (i < n_logit_rows()).
  [[nodiscard]] std::span<const float> logits(uint32_t i) const;
  [[nodiscard]] uint32_t n_logit_rows() const noexcept;
  /// Routing of every token of the last decode.
  [[nodiscard]] const RoutingBatch& routing() const noexcept;

  [[nodiscard]] uint32_t n_past() const noexcept;
  [[nodiscard]] uint32_t n_ctx() const noexcept;
  /// The backend running the model ("cpu", "vulkan", a plugin's name).
  [[nodiscard]] std::string_view backend_name() const noexcept;
  /// Why the backend asked for is not the one running ("" when it is).
  [[nodiscard]] const std::string& backend_warning() const noexcept;
  /// CPU threads the backend uses (ContextParams::n_threads with 0 resolved).
  [[nodiscard]] uint32_t n_threads() const noexcept;
  /// Forgets positions >= n (n <= n_past()). The statistics are kept (reset_stats()).
  void truncate(uint32_t n);
  [[nodiscard]] const Model& model() const noexcept;

  /// A snapshot of the statistics: decode history, op times of the last decode, memory by
  /// kind, KV fill and expert hits since creation or the last reset_stats(). Engine
  /// thread; copies (allocates), so call it between decodes, not inside a hot loop.
  [[nodiscard]] EngineStats stats() const;
  /// Clears the decode history, the op times and the expert hits (a new conversation).
  void reset_stats() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace es
