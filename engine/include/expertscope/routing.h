// Routing records: which experts the router chose for each token at each MoE layer, and
// with what weight. The forward pass fills a RoutingBatch for every batch it runs; the
// trace (engine/trace) stores them compactly for a whole session and computes statistics.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace es {

/// What a position of the sequence holds. Zero means "unset".
enum class Modality : uint8_t { unset = 0, text = 1, image = 2, video = 3 };

/// The most experts a router may select per token (DeepSeek-V3 and Kimi-K2 use 8,
/// Qwen3 8, OLMoE 8, gpt-oss 4; 16 leaves room).
inline constexpr uint32_t max_experts_used = 16;

/// The routing of one batch of tokens through every MoE layer of a model, flat and
/// row-major: token t, MoE layer m (the m-th entry of `moe_layers`), rank r.
struct RoutingBatch {
  uint32_t n_tokens = 0;
  uint32_t n_expert = 0;             ///< Experts per MoE layer.
  uint32_t top_k = 0;                ///< Experts selected per token and layer.
  std::vector<uint32_t> moe_layers;  ///< Block indices of the MoE layers, ascending.
  /// [n_tokens][moe_layers.size()][top_k]: expert ids in descending weight.
  std::vector<uint16_t> experts;
  /// Same shape: the weights finally applied to the expert outputs (after normalisation
  /// and scaling).
  std::vector<float> weights;
  /// [n_tokens][moe_layers.size()]: Shannon entropy (nats) of the router's probability
  /// distribution over all experts (before top-k; for sigmoid gating the scores are
  /// normalised to sum 1 first).
  std::vector<float> entropy;
  /// Optional full router distribution for one chosen layer: [n_tokens][n_expert], empty
  /// unless requested (`full_layer` is then that layer's block index).
  std::vector<float> full_probs;
  int32_t full_layer = -1;

  [[nodiscard]] size_t n_moe_layers() const noexcept { return moe_layers.size(); }
  /// Index of (token, moe layer m, rank r) in experts/weights.
  [[nodiscard]] size_t at(uint32_t token, uint32_t m, uint32_t rank) const noexcept {
    return (static_cast<size_t>(token) * moe_layers.size() + m) * top_k + rank;
  }
  /// Sizes every array for `n` tokens (full_probs only if full_layer >= 0).
  void resize(uint32_t n) {
    n_tokens = n;
    experts.assign(static_cast<size_t>(n) * moe_layers.size() * top_k, 0);
    weights.assign(experts.size(), 0.0f);
    entropy.assign(static_cast<size_t>(n) * moe_layers.size(), 0.0f);
    full_probs.assign(full_layer >= 0 ? static_cast<size_t>(n) * n_expert : 0, 0.0f);
  }
};

}  // namespace es
