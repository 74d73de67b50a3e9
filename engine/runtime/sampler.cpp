// The token sampler: llama.cpp's filter chain over preallocated buffers.
#include "expertscope/sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <string>

#include "expertscope/error.h"

namespace es {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// NaN counts as -inf, +inf as the largest float.
inline float sanitize(float logit) noexcept {
  if (std::isnan(logit)) return kNegInf;
  return logit > FLT_MAX ? FLT_MAX : logit;
}

/// The strict total order of candidates: higher logit first, then lower id.
inline bool better(const SamplerCandidate& a, const SamplerCandidate& b) noexcept {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

uint64_t splitmix64(uint64_t& state) noexcept {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) noexcept {
  return (x << k) | (x >> (64 - k));
}

void check_params(const SamplerParams& p) {
  const auto bad = [](const std::string& what) {
    throw Error(ErrorKind::usage, "sampler: " + what);
  };
  if (!std::isfinite(p.temperature)) bad("temperature must be a finite number");
  if (std::isnan(p.top_p)) bad("top_p must be a number");
  if (std::isnan(p.min_p)) bad("min_p must be a number");
  if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0.0f) {
    bad("repetition_penalty must be a positive number");
  }
  if (!std::isfinite(p.presence_penalty) || !std::isfinite(p.frequency_penalty)) {
    bad("presence and frequency penalties must be finite numbers");
  }
  if (p.penalty_last_n < -1) bad("penalty_last_n must be -1, 0 or positive");
}

}  // namespace

Sampler::Sampler(uint32_t n_vocab, const SamplerParams& params) : n_vocab_(n_vocab) {
  if (n_vocab == 0) throw Error(ErrorKind::usage, "sampler: empty vocabulary");
  set_params(params);
  cand_.resize(n_vocab);
  counts_.assign(n_vocab, 0);
  touched_.reserve(n_vocab);
  reseed(params.seed);
}

void Sampler::set_params(const SamplerParams& params) {
  check_params(params);
  params_ = params;
}

void Sampler::reseed(uint64_t seed) noexcept {
  uint64_t state = seed;
  for (auto& word : rng_) word = splitmix64(state);
}

double Sampler::next_uniform() noexcept {
  // xoshiro256**
  const uint64_t result = rotl(rng_[1] * 5, 7) * 9;
  const uint64_t t = rng_[1] << 17;
  rng_[2] ^= rng_[0];
  rng_[3] ^= rng_[1];
  rng_[1] ^= rng_[2];
  rng_[0] ^= rng_[3];
  rng_[2] ^= t;
  rng_[3] = rotl(rng_[3], 45);
  return static_cast<double>(result >> 11) * 0x1p-53;
}

void Sampler::count_history(std::span<const int32_t> history) {
  const auto& p = params_;
  const bool active =
      p.penalty_last_n != 0 &&
      (p.repetition_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f);
  if (!active) return;
  size_t n = history.size();
  if (p.penalty_last_n > 0) n = std::min(n, static_cast<size_t>(p.penalty_last_n));
  for (const int32_t id : history.last(n)) {
    if (id < 0 || static_cast<uint32_t>(id) >= n_vocab_) continue;
    if (counts_[static_cast<uint32_t>(id)]++ == 0) touched_.push_back(id);
  }
}

void Sampler::clear_history() noexcept {
  for (const int32_t id : touched_) counts_[static_cast<uint32_t>(id)] = 0;
  touched_.clear();
}

float Sampler::adjusted(std::span<const float> logits, uint32_t id) const noexcept {
  float logit = sanitize(logits[id]);
  const uint32_t count = counts_[id];
  if (count == 0) return logit;
  logit = logit <= 0.0f ? logit * params_.repetition_penalty : logit / params_.repetition_penalty;
  return logit - (static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty);
}

SamplerCandidate Sampler::greedy(std::span<const float> logits) const {
  SamplerCandidate best{-1, kNegInf, 1.0f};
  for (uint32_t i = 0; i < n_vocab_; ++i) {
    const float logit = adjusted(logits, i);
    if (logit > best.logit) best = {static_cast<int32_t>(i), logit, 1.0f};
  }
  return best;
}

void Sampler::fill_top_k(std::span<const float> logits, uint32_t k) {
  // A heap of the k best so far whose top is the worst of them.
  SamplerCandidate* heap = cand_.data();
  size_t size = 0;
  for (uint32_t i = 0; i < n_vocab_; ++i) {
    const SamplerCandidate c{static_cast<int32_t>(i), adjusted(logits, i), 0.0f};
    if (c.logit == kNegInf) continue;
    if (size < k) {
      heap[size++] = c;
      std::push_heap(heap, heap + size, better);
    } else if (better(c, heap[0])) {
      std::pop_heap(heap, heap + size, better);
      heap[size - 1] = c;
      std::push_heap(heap, heap + size, better);
    }
  }
  std::sort(heap, heap + size, better);
  n_cand_ = size;
  n_sorted_ = size;
}

void Sampler::fill_all(std::span<const float> logits) {
  size_t size = 0;
  for (uint32_t i = 0; i < n_vocab_; ++i) {
    const float logit = adjusted(logits, i);
    if (logit != kNegInf) cand_[size++] = {static_cast<int32_t>(i), logit, 0.0f};
  }
  n_cand_ = size;
  n_sorted_ = size <= 1 ? size : 0;
}

void Sampler::sort_prefix(size_t n) noexcept {
  n = std::min(n, n_cand_);
  if (n <= n_sorted_) return;
  auto* first = cand_.data() + n_sorted_;
  auto* last = cand_.data() + n_cand_;
  if (n < n_cand_) std::nth_element(first, cand_.data() + n, last, better);
  std::sort(first, cand_.data() + n, better);
  n_sorted_ = n;
}

void Sampler::apply_top_p() noexcept {
  if (params_.top_p >= 1.0f || n_cand_ <= 1) return;
  float max_logit = kNegInf;
  for (size_t i = 0; i < n_cand_; ++i) max_logit = std::max(max_logit, cand_[i].logit);
  double sum = 0.0;
  for (size_t i = 0; i < n_cand_; ++i) {
    cand_[i].p = std::exp(cand_[i].logit - max_logit);
    sum += cand_[i].p;
  }
  // Walk the candidates best first, sorting only as far as the walk goes.
  double cumulative = 0.0;
  size_t chunk = 256;
  for (size_t i = 0; i < n_cand_; ++i) {
    if (i == n_sorted_) {
      sort_prefix(i + chunk);
      chunk *= 8;
    }
    cumulative += cand_[i].p / sum;
    if (cumulative >= params_.top_p) {
      n_cand_ = i + 1;
      return;
    }
  }
}

void Sampler::apply_min_p() noexcept {
  if (params_.min_p <= 0.0f || n_cand_ <= 1) return;
  float max_logit = kNegInf;
  for (size_t i = 0; i < n_cand_; ++i) max_logit = std::max(max_logit, cand_[i].logit);
  const float threshold = max_logit + std::log(params_.min_p);
  // Keeps the order (sorted or by id), so the result is the same everywhere.
  size_t kept = 0;
  for (size_t i = 0; i < n_cand_; ++i) {
    if (cand_[i].logit >= threshold) cand_[kept++] = cand_[i];
  }
  n_sorted_ = std::min(n_sorted_, kept);
  n_cand_ = kept;
}

int32_t Sampler::draw(float temperature) noexcept {
  float max_logit = kNegInf;
  for (size_t i = 0; i < n_cand_; ++i) max_logit = std::max(max_logit, cand_[i].logit);
  // exp((l - max) / T) rather than exp(l / T - max / T): no overflow for a tiny T.
  double sum = 0.0;
  for (size_t i = 0; i < n_cand_; ++i) {
    cand_[i].p = std::exp((cand_[i].logit - max_logit) / temperature);
    cand_[i].logit /= temperature;
    sum += cand_[i].p;
  }
  const double target = next_uniform() * sum;
  double cumulative = 0.0;
  size_t chosen = n_cand_ - 1;
  bool found = false;
  for (size_t i = 0; i < n_cand_; ++i) {
    cumulative += cand_[i].p;
    if (!found && cumulative > target) {
      chosen = i;
      found = true;
    }
    cand_[i].p = static_cast<float>(cand_[i].p / sum);
  }
  return cand_[chosen].id;
}

SampleResult Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  if (logits.size() != n_vocab_) {
    throw Error(ErrorKind::usage, "sampler: a row of " + std::to_string(logits.size()) +
                                      " logits for a vocabulary of " + std::to_string(n_vocab_));
  }
  // Log-softmax of the unmodified logits, for the log-probability.
  float max_raw = kNegInf;
  for (const float l : logits) max_raw = std::max(max_raw, sanitize(l));
  if (max_raw == kNegInf) {
    throw Error(ErrorKind::bad_input, "sampler: every logit is -infinity or NaN");
  }
  double sum_raw = 0.0;
  for (const float l : logits) sum_raw += std::exp(sanitize(l) - max_raw);

  count_history(history);
  int32_t token = -1;
  if (params_.temperature <= 0.0f) {
    cand_[0] = greedy(logits);
    if (cand_[0].id < 0) {  // every token penalised to -inf: the raw best
      clear_history();
      cand_[0] = greedy(logits);
    }
    n_cand_ = n_sorted_ = 1;
    token = cand_[0].id;
  } else {
    if (params_.top_k > 0 && static_cast<uint32_t>(params_.top_k) < n_vocab_) {
      fill_top_k(logits, static_cast<uint32_t>(params_.top_k));
    } else {
      fill_all(logits);
    }
    if (n_cand_ == 0) {  // every token penalised to -inf: fall back to the raw best
      clear_history();
      fill_all(logits);
    }
    apply_top_p();
    apply_min_p();
    token = draw(params_.temperature);
  }
  clear_history();
  const double lp = sanitize(logits[static_cast<uint32_t>(token)]) - max_raw - std::log(sum_raw);
  return {token, static_cast<float>(lp)};
}

}  // namespace es
