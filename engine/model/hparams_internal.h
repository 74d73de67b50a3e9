// Private: pieces of read_hparams shared between hparams.cpp and hparams_check.cpp.
#pragma once

#include "expertscope/model_info.h"
#include "metadata.h"

namespace es::model {

/// The most blocks a model may have (llama.cpp's LLAMA_MAX_LAYERS).
inline constexpr uint32_t max_layers = 512;
/// The most routed experts a layer may have (llama.cpp's LLAMA_MAX_EXPERTS).
inline constexpr uint32_t max_experts = 512;

/// Checks every value and every relation between values of `hp` (read through `r`, whose
/// key names the messages use). Throws es::Error naming the keys.
void validate_hparams(const MetaReader& r, const HParams& hp);

}  // namespace es::model
