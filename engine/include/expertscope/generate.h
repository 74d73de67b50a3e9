// Text generation: evaluate a prompt, then sample token after token, streaming each one
// with its UTF-8-safe text, its log-probability and the routing of its own forward pass.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/context.h"
#include "expertscope/multimodal.h"
#include "expertscope/routing.h"
#include "expertscope/sampler.h"
#include "expertscope/tokenizer.h"

namespace es {

struct GenerateParams {
  uint32_t n_predict = 256;  ///< Most tokens to generate.
  SamplerParams sampling;
  /// Generation stops when the text produced so far ends with one of these; the stop
  /// string itself is not part of the result's text.
  std::vector<std::string> stop_strings;
  /// Stop at the tokenizer's end-of-generation tokens (EOS, EOT, ...).
  bool stop_at_eog = true;
  /// Further token ids that end generation.
  std::vector<int32_t> stop_tokens;
};

/// Why generation ended. Zero means "unset".
enum class StopReason : int {
  unset = 0,
  length = 1,         ///< n_predict tokens were generated.
  end_of_generation,  ///< The model produced an end-of-generation or stop token.
  stop_string,        ///< The text reached a stop string.
  context_full,       ///< The KV cache has no room for another token.
  cancelled,          ///< The cancel flag was raised.
};
[[nodiscard]] std::string_view stop_reason_name(StopReason reason) noexcept;

/// One generated token, as it streams.
struct TokenEvent {
  int32_t token = 0;
  uint32_t pos = 0;       ///< Its position in the context.
  std::string_view text;  ///< Text this token completes (UTF-8-safe; may be empty).
  float logprob = 0.0f;   ///< ln p(token) under the model's unmodified distribution.
  /// The routing of this token's own forward pass (row 0 of the batch), or nullptr for a
  /// final end-of-generation token that is not evaluated.
  const RoutingBatch* routing = nullptr;
};

struct GenerateResult {
  StopReason reason = StopReason::unset;
  std::vector<int32_t> tokens;  ///< Generated ids (an end-of-generation token included).
  std::string text;             ///< Their text, without a matched stop string.
  uint32_t n_prompt = 0;
  double prompt_ms = 0;       ///< Evaluating the prompt.
  double generate_ms = 0;     ///< Everything after the prompt.
  double first_token_ms = 0;  ///< From the start to the first token's event.
};

/// Called for each generated token; return false to stop (reason: cancelled).
using TokenCallback = std::function<bool(const TokenEvent&)>;
/// Called once with the routing of the prompt (positions start..start + n - 1).
using PromptRoutingCallback = std::function<void(const RoutingBatch& routing,
                                                 std::span<const int32_t> tokens, uint32_t start)>;

/// Appends `prompt` to the context and generates. Each sampled token is evaluated before
/// its event is sent (so the event carries that token's routing); a final
/// end-of-generation token is reported without evaluating it. `cancel` is honoured
/// between tokens and between prompt chunks. Throws es::Error for a prompt that does not
/// fit the context or holds an id outside the vocabulary (nothing is evaluated then).
/// Positions of the prompt inside `media` spans (ascending, not overlapping, offsets into
/// `prompt`) take the spans' projected rows instead of their tokens' embeddings.
GenerateResult generate(Context& ctx, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateParams& params, const TokenCallback& on_token,
                        const PromptRoutingCallback& on_prompt_routing = {},
                        const std::atomic<bool>* cancel = nullptr,
                        std::span<const MediaSpan> media = {});

}  // namespace es
