// Private: the tensors each architecture's loader expects, with their shapes in ggml
// order (ne[0] innermost), as llama.cpp's load_tensors creates them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/model_info.h"

namespace es::model {

/// One tensor the loader looks for.
struct TensorSpec {
  std::string name;                       ///< e.g. "blk.3.ffn_up_exps.weight".
  std::array<int64_t, 4> ne{1, 1, 1, 1};  ///< Expected shape, ggml order.
  uint32_t n_dims = 1;
  bool required = true;        ///< False: may be absent (TENSOR_NOT_REQUIRED).
  bool routed_expert = false;  ///< One slice per routed expert (last dim E).
  bool vector = false;         ///< A norm, bias or other 1-D parameter.
};

/// Every tensor `hp`'s architecture may use, required ones and optional ones, in the
/// loader's order. hp must have passed read_hparams' validation.
[[nodiscard]] std::vector<TensorSpec> expected_tensors(const HParams& hp);

/// "{128, 64, 16}" for the first n_dims entries of ne.
[[nodiscard]] std::string shape_string(const std::array<int64_t, 4>& ne, uint32_t n_dims);

/// True for the tensors that hold one slice per routed expert (ffn_*_exps weights and
/// biases): they count k/E toward the active parameters.
[[nodiscard]] bool is_routed_expert_tensor(std::string_view name) noexcept;

}  // namespace es::model
