// Choosing the next token from a row of logits: penalties, top-k, top-p, min-p,
// temperature and a seeded draw, with llama.cpp's semantics and in its order (src/
// llama-sampling.cpp: penalties, top-k, top-p, min-p, temperature, dist).
//
//  1. Penalties, over the last `penalty_last_n` tokens of the history: a token seen c > 0
//     times has its logit divided by repetition_penalty if positive, multiplied by it if
//     not, then lowered by c * frequency_penalty + presence_penalty.
//  2. Top-k: keep the k highest logits.
//  3. Top-p: with probabilities the softmax of the remaining logits, keep the fewest
//     highest ones whose probabilities sum to at least top_p.
//  4. Min-p: keep the tokens whose probability is at least min_p times the highest
//     (logit >= max logit + log(min_p)).
//  5. Temperature: divide the remaining logits by it.
//  6. Draw from the softmax of what is left with the sampler's own generator
//     (xoshiro256** seeded by splitmix64; the uniform double is built from 53 random bits
//     here, not by a standard-library distribution): the first candidate, in the order of
//     candidates(), at which the running probability passes the uniform draw.
//
// Where logits tie, the lower token id counts as the higher (greedy, top-k, top-p), and
// every step keeps a defined order, so a seed gives the same tokens with every compiler
// and standard library. A NaN logit counts as -infinity, +infinity as the largest float.
// Temperature 0 (or below) is greedy: the highest logit after the penalties; the filters
// cannot change it and no random number is used. Every step is O(n_vocab) except sorting
// what top-k kept (and, for top-p without top-k, the one bucket of near-equal logits where
// the running mass crosses top_p).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace es {

/// How to sample. Defaults are llama.cpp's (`llama-cli`).
struct SamplerParams {
  float temperature = 0.8f;         ///< <= 0: greedy.
  int32_t top_k = 40;               ///< <= 0: off.
  float top_p = 0.95f;              ///< >= 1: off.
  float min_p = 0.05f;              ///< <= 0: off.
  float repetition_penalty = 1.0f;  ///< 1: off. Must be > 0.
  float presence_penalty = 0.0f;    ///< 0: off.
  float frequency_penalty = 0.0f;   ///< 0: off.
  int32_t penalty_last_n = 64;      ///< Tokens of history the penalties look at; 0 off, -1 all.
  uint64_t seed = 0;                ///< Seeds the generator; the same seed, the same draws.
};

/// One token chosen.
struct SampleResult {
  int32_t token = -1;
  /// Natural log of the token's probability under the model: the log-softmax of the
  /// unmodified logits at temperature 1 (no penalty, filter or temperature applied).
  float logprob = 0.0f;
};

/// A token still in the running after the filters (see Sampler::candidates()).
struct SamplerCandidate {
  int32_t id = 0;
  float logit = 0.0f;  ///< After penalties and temperature.
  float p = 0.0f;      ///< Probability in the final draw.
};

/// Samples tokens from logits rows of one vocabulary size. Construction allocates work
/// buffers for the whole vocabulary; sample() then allocates nothing. Not thread-safe.
class Sampler {
 public:
  /// Throws es::Error (usage) for n_vocab 0 or invalid parameters.
  Sampler(uint32_t n_vocab, const SamplerParams& params);

  /// Chooses the next token from `logits` (n_vocab entries) given the tokens so far
  /// (prompt and generated, oldest first; ids outside the vocabulary are ignored). Throws
  /// es::Error (usage) for a row of the wrong size, (bad_input) when every logit is
  /// -infinity or NaN.
  SampleResult sample(std::span<const float> logits, std::span<const int32_t> history);

  /// Restarts the generator from `seed` (also what the constructor does with params.seed).
  void reseed(uint64_t seed) noexcept;
  /// Replaces the parameters (the generator keeps its state). Throws es::Error (usage)
  /// for invalid ones.
  void set_params(const SamplerParams& params);
  [[nodiscard]] const SamplerParams& params() const noexcept { return params_; }
  [[nodiscard]] uint32_t n_vocab() const noexcept { return n_vocab_; }

  /// The tokens the last sample() drew from, with their final logits and probabilities:
  /// sorted by descending logit (ties: lower id first) when top-k cut the vocabulary, else
  /// in id order. After a greedy call, just the chosen token (p = 1).
  [[nodiscard]] std::span<const SamplerCandidate> candidates() const noexcept {
    return {cand_.data(), n_cand_};
  }

  /// The generator's next uniform double in [0, 1) (exposed for tests).
  double next_uniform() noexcept;

 private:
  void count_history(std::span<const int32_t> history);
  void clear_history() noexcept;
  [[nodiscard]] float adjusted(std::span<const float> logits, uint32_t id) const noexcept;
  void fill_top_k(std::span<const float> logits, uint32_t k);
  void fill_all(std::span<const float> logits);
  void apply_top_p() noexcept;
  void apply_min_p() noexcept;
  [[nodiscard]] int32_t draw(float temperature) noexcept;

  uint32_t n_vocab_ = 0;
  SamplerParams params_;
  uint64_t rng_[4] = {};
  std::vector<SamplerCandidate> cand_;     ///< Work buffer, n_vocab entries.
  size_t n_cand_ = 0;                      ///< Candidates in use.
  bool sorted_ = false;                    ///< cand_ is in descending order (else by id).
  std::vector<SamplerCandidate> scratch_;  ///< Top-p's crossing bucket, n_vocab entries.
  std::vector<double> bucket_mass_;        ///< Top-p's mass per logit bucket.
  static constexpr size_t kTopPBuckets = 4096;
  static constexpr float kTopPRange = 64.0f;  ///< Logits below max - 64 share the last bucket.
  std::vector<uint32_t> counts_;              ///< Per token: occurrences in the penalty window.
  std::vector<int32_t> touched_;              ///< Tokens with counts_ != 0 (capacity n_vocab).
};

}  // namespace es
