// A naive forward pass in double precision, written straight from each architecture's
// math for tests. It shares no code with the engine's optimised path: it reads weights
// from the GGUF file, widens them to double and runs plain loops over one batch of tokens
// with full causal attention. Slow by design; meant for tiny models.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "expertscope/gguf.h"
#include "expertscope/model_info.h"

namespace es::test {

/// The router's decision for one token at one MoE layer.
struct RefRouting {
  uint32_t layer = 0;
  std::vector<int> experts;              ///< Chosen experts, descending weight.
  std::vector<double> weights;           ///< As applied to the expert outputs.
  std::vector<double> selection_scores;  ///< Scores top-k chose from (all experts).
};

struct RefOutput {
  std::vector<std::vector<double>> logits;       ///< [token][n_vocab]
  std::vector<std::vector<RefRouting>> routing;  ///< [token][moe layer]
};

struct RefOptions {
  /// Round each activation vector through the 8-bit format the engine quantizes it to
  /// before multiplying it with quantized weights (Q8_0 for legacy blocks, Q8_K for
  /// K-quants; reference quantizer and dequantizer), so a quantized model can be compared
  /// with the engine to float rounding instead of to the activation quantization error.
  bool round_activations = false;
};

/// Runs `tokens` (positions 0..n-1) through the model. Throws es::Error for weight types
/// the reference cannot widen.
RefOutput reference_forward(const gguf::File& file, const HParams& hp,
                            std::span<const int32_t> tokens, const RefOptions& options = {});

/// Widens a tensor of the file to doubles (F32, F16, BF16 for now).
std::vector<double> widen_tensor(const gguf::File& file, const gguf::TensorInfo& tensor);

}  // namespace es::test
