// The token sampler: llama.cpp's filter chain over preallocated buffers.
#include "expertscope/sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
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

/// The strict total order of candidates: higher logit first, then lower id. (A function
/// object, not a function, so that the standard algorithms inline it.)
struct Better {
  bool operator()(const SamplerCandidate& a, const SamplerCandidate& b) const noexcept {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  }
};
constexpr Better better;

#if defined(__GNUC__) || defined(__clang__)
// Four floats at a time with the compilers' vector extensions (SSE2 or NEON registers);
// other compilers take the scalar loops.
typedef float F32x4 __attribute__((vector_size(16)));
typedef uint32_t U32x4 __attribute__((vector_size(16)));

inline F32x4 splat(float v) noexcept {
  return F32x4{} + v;
}
inline F32x4 load4(const float* p) noexcept {
  F32x4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
/// Lanes of `a` where `mask` is set, else of `b`.
inline F32x4 select(U32x4 mask, F32x4 a, F32x4 b) noexcept {
  return reinterpret_cast<F32x4>((mask & reinterpret_cast<U32x4>(a)) |
                                 (~mask & reinterpret_cast<U32x4>(b)));
}
/// exp(x) for x <= 0 to a relative 1e-7; NaN and x < -87 give exp(-87) (negligible in a
/// sum that holds exp(0) = 1).
inline F32x4 exp_nonpositive(F32x4 x) noexcept {
  const F32x4 lo = splat(-87.0f), zero = splat(0.0f), shift = splat(12582912.0f);  // 1.5 * 2^23
  x = select(reinterpret_cast<U32x4>(x > lo), x, lo);
  x = select(reinterpret_cast<U32x4>(x < zero), x, zero);
  const F32x4 t = x * 1.44269504088896341f + shift;  // n = round(x / ln 2) in t's low bits
  const F32x4 n = t - shift;
  const F32x4 r = (x - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;
  F32x4 p = splat(1.0f / 5040);  // Taylor series to r^7, |r| <= ln(2) / 2
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const U32x4 scale = (reinterpret_cast<U32x4>(t) - 0x4B400000u + 127u) << 23;  // 2^n
  return p * reinterpret_cast<F32x4>(scale);
}
#endif

/// The largest logit, NaN ignored (-inf if all are NaN or -inf; +inf stays +inf).
float max_logit(std::span<const float> x) noexcept {
  float best = kNegInf;
  size_t i = 0;
#if defined(__GNUC__) || defined(__clang__)
  F32x4 acc = splat(kNegInf);
  for (; i + 4 <= x.size(); i += 4) {
    const F32x4 v = load4(x.data() + i);
    acc = select(reinterpret_cast<U32x4>(v > acc), v, acc);
  }
  for (int l = 0; l < 4; ++l) best = acc[l] > best ? acc[l] : best;
#endif
  for (; i < x.size(); ++i) best = x[i] > best ? x[i] : best;
  return best;
}

/// Sum of exp(sanitize(x) - max) over the row (max finite, >= every sanitised logit).
double sum_exp(std::span<const float> x, float max) noexcept {
  double total = 0.0;
  size_t i = 0;
#if defined(__GNUC__) || defined(__clang__)
  const F32x4 m = splat(max);
  constexpr size_t kBlock = 1024;  // float partial sums stay exact to ~1e-5 of the total
  while (i + 4 <= x.size()) {
    const size_t end = std::min(x.size() & ~size_t{3}, i + kBlock);
    F32x4 acc = splat(0.0f);
    for (; i < end; i += 4) acc += exp_nonpositive(load4(x.data() + i) - m);
    for (int l = 0; l < 4; ++l) total += acc[l];
  }
#endif
  for (; i < x.size(); ++i) total += std::exp(sanitize(x[i]) - max);
  return total;
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
  scratch_.resize(n_vocab);
  bucket_mass_.resize(kTopPBuckets);
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

void Sampler::fill_top_k(std::span<const float> logits, uint32_t k) {
  // A heap of the k best so far whose top is the worst of them.
  SamplerCandidate* heap = cand_.data();
  size_t size = 0;
  const auto offer = [&](const SamplerCandidate& c) {
    if (c.logit == kNegInf) return;
    if (size < k) {
      heap[size++] = c;
      std::push_heap(heap, heap + size, better);
    } else if (better(c, heap[0])) {
      std::pop_heap(heap, heap + size, better);
      heap[size - 1] = c;
      std::push_heap(heap, heap + size, better);
    }
  };
  // Tokens without a penalty, by their raw logit. Ids only grow, so a logit that does not
  // exceed the heap's worst cannot enter (NaN and -inf never pass): one compare per token.
  float floor = kNegInf;
  for (uint32_t i = 0; i < n_vocab_; ++i) {
    if (!(logits[i] > floor) || counts_[i] != 0) continue;
    offer({static_cast<int32_t>(i), sanitize(logits[i]), 0.0f});
    if (size == k) floor = heap[0].logit;
  }
  // Penalised tokens by their adjusted logit (a penalty below 1 can raise one).
  for (const int32_t id : touched_) offer({id, adjusted(logits, static_cast<uint32_t>(id)), 0.0f});
  std::sort(heap, heap + size, better);
  n_cand_ = size;
  sorted_ = true;
}

void Sampler::fill_all(std::span<const float> logits) {
  size_t size = 0;
  for (uint32_t i = 0; i < n_vocab_; ++i) {
    const float logit = adjusted(logits, i);
    if (logit != kNegInf) cand_[size++] = {static_cast<int32_t>(i), logit, 0.0f};
  }
  n_cand_ = size;
  sorted_ = false;
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
  // Keep the fewest best candidates whose mass reaches top_p of the total.
  const double target = static_cast<double>(params_.top_p) * sum;
  double cumulative = 0.0;
  if (sorted_) {
    for (size_t i = 0; i < n_cand_; ++i) {
      cumulative += cand_[i].p;
      if (cumulative >= target) {
        n_cand_ = i + 1;
        return;
      }
    }
    return;
  }
  // Unsorted (no top-k): bucket the mass by distance from the best logit, find the bucket
  // where the running mass crosses the target, and sort only that bucket. O(n).
  const float scale = static_cast<float>(kTopPBuckets) / kTopPRange;
  const auto bucket = [&](float logit) {
    return static_cast<size_t>(
        std::min((max_logit - logit) * scale, static_cast<float>(kTopPBuckets - 1)));
  };
  std::fill(bucket_mass_.begin(), bucket_mass_.end(), 0.0);
  for (size_t i = 0; i < n_cand_; ++i) bucket_mass_[bucket(cand_[i].logit)] += cand_[i].p;
  size_t crossing = 0;
  while (crossing < kTopPBuckets && cumulative + bucket_mass_[crossing] < target) {
    cumulative += bucket_mass_[crossing++];
  }
  if (crossing == kTopPBuckets) return;  // rounding kept the target out of reach: keep all
  size_t n_members = 0;
  for (size_t i = 0; i < n_cand_; ++i) {
    if (bucket(cand_[i].logit) == crossing) scratch_[n_members++] = cand_[i];
  }
  std::sort(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(n_members), better);
  SamplerCandidate last = scratch_[n_members - 1];  // the worst candidate kept
  for (size_t j = 0; j < n_members; ++j) {
    cumulative += scratch_[j].p;
    if (cumulative >= target) {
      last = scratch_[j];
      break;
    }
  }
  // Keeps the id order, so the result is the same everywhere.
  size_t kept = 0;
  for (size_t i = 0; i < n_cand_; ++i) {
    const size_t b = bucket(cand_[i].logit);
    if (b < crossing || (b == crossing && !better(last, cand_[i]))) cand_[kept++] = cand_[i];
  }
  n_cand_ = kept;
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
  const float max_raw = sanitize(max_logit(logits));
  if (max_raw == kNegInf) {
    throw Error(ErrorKind::bad_input, "sampler: every logit is -infinity or NaN");
  }
  const double sum_raw = sum_exp(logits, max_raw);

  count_history(history);
  int32_t token = -1;
  if (params_.temperature <= 0.0f) {
    fill_top_k(logits, 1);
    if (n_cand_ == 0) {  // every token penalised to -inf: the raw best
      clear_history();
      fill_top_k(logits, 1);
    }
    cand_[0].p = 1.0f;
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
