// Synthetic routing for the Routing Inspector's test, screenshot tool and benchmark:
// traces whose routing has structure (each word prefers its own experts, deeper layers
// grow a favourite, image tokens route elsewhere, entropy varies), built quickly enough
// for 100,000 tokens × 48 layers × 8 experts, and a small two-message session with text
// and image tokens.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "expertscope/session.h"
#include "expertscope/trace.h"
#include "inspector_data.h"

namespace es::test {

/// splitmix64: a fast, seeded, good-enough generator.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
/// A uniform double in [0, 1) from a hash.
inline double unit(uint64_t h) {
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

/// The shape of a synthetic trace.
struct SampleShape {
  uint32_t n_layers = 8;
  uint32_t n_expert = 8;
  uint32_t top_k = 2;
  uint32_t first_block = 1;  ///< Block index of the first MoE layer (block 0 dense).
};

/// Routing of tokens `ids` (with `modalities`) through a model of `shape`: per (token,
/// layer), router logits with noise, a preference of the token id and of the modality,
/// and a favourite expert that grows with depth; top-k by weight, weights renormalised
/// over the top-k, entropy of the full softmax. Appended in batches of 4096 tokens.
inline RoutingTrace sample_trace(const SampleShape& shape, const std::vector<int32_t>& ids,
                                 const std::vector<Modality>& modalities, uint64_t seed,
                                 int32_t first_position = 0) {
  TraceShape ts;
  ts.n_expert = shape.n_expert;
  ts.top_k = shape.top_k;
  for (uint32_t m = 0; m < shape.n_layers; ++m) ts.moe_layers.push_back(shape.first_block + m);
  RoutingTrace trace(ts);
  trace.reserve(static_cast<uint32_t>(ids.size()));
  const uint32_t E = shape.n_expert, K = shape.top_k, L = shape.n_layers;
  std::vector<double> logits(E), probs(E);
  std::vector<uint32_t> order(E);
  for (size_t begin = 0; begin < ids.size(); begin += 4096) {
    const auto n = static_cast<uint32_t>(std::min<size_t>(4096, ids.size() - begin));
    RoutingBatch b;
    b.n_expert = E;
    b.top_k = K;
    b.moe_layers = ts.moe_layers;
    b.resize(n);
    std::vector<int32_t> positions(n);
    for (uint32_t i = 0; i < n; ++i) {
      const size_t t = begin + i;
      positions[i] = first_position + static_cast<int32_t>(t);
      const auto id = static_cast<uint64_t>(ids[t]);
      const bool media = modalities[t] != Modality::text;
      for (uint32_t m = 0; m < L; ++m) {
        const uint64_t hl = mix64(seed ^ (t * 0x100000001b3ull) ^ (static_cast<uint64_t>(m) << 48));
        const uint32_t pref = static_cast<uint32_t>(mix64(id * 131 + m / 3) % E);
        const uint32_t pref2 = static_cast<uint32_t>(mix64(id * 7 + 99 + m) % E);
        const uint32_t fav = (m * 5 / std::max(1u, L)) % E;
        const double sharp = 0.6 + 2.4 * m / std::max(1u, L - 1);
        for (uint32_t e = 0; e < E; ++e) {
          double v = 1.6 * unit(mix64(hl + e));
          if (e == pref) v += 1.2 + 0.6 * sharp;
          if (e == pref2) v += 0.9;
          if (e == fav) v += 0.5 * sharp;
          if (media && e == (E - 1 - m % 2)) v += 2.5;
          logits[e] = v * (0.8 + 0.5 * unit(mix64(hl ^ 0xabcdef)));
        }
        const double mx = *std::max_element(logits.begin(), logits.end());
        double z = 0;
        for (uint32_t e = 0; e < E; ++e) z += probs[e] = std::exp(logits[e] - mx);
        double h = 0;
        for (uint32_t e = 0; e < E; ++e) {
          probs[e] /= z;
          if (probs[e] > 0) h -= probs[e] * std::log(probs[e]);
        }
        for (uint32_t e = 0; e < E; ++e) order[e] = e;
        std::partial_sort(order.begin(), order.begin() + K, order.end(),
                          [&](uint32_t a, uint32_t c) { return probs[a] > probs[c]; });
        double top = 0;
        for (uint32_t r = 0; r < K; ++r) top += probs[order[r]];
        for (uint32_t r = 0; r < K; ++r) {
          b.experts[b.at(i, m, r)] = static_cast<uint16_t>(order[r]);
          b.weights[b.at(i, m, r)] = static_cast<float>(probs[order[r]] / top);
        }
        b.entropy[static_cast<size_t>(i) * L + m] = static_cast<float>(h);
      }
    }
    trace.append(b, std::span(ids.data() + begin, n), positions,
                 std::span(modalities.data() + begin, n));
  }
  return trace;
}

/// Words the sample texts are made of (index = token id).
inline const std::vector<std::string>& sample_vocabulary() {
  static const std::vector<std::string> words = {
      "The",       " router",   " sends",      " each",   " token",   " to",    " two",
      " of",       " eight",    " experts",    ".",       "\n",       " In",    " deeper",
      " layers",   ",",         " one",        " expert", " takes",   " most",  " tokens",
      " while",    " others",   " specialise", " in",     " code",    " and",   " numbers",
      ":",         " `",        "for",         " i",      " =",       " 0",     ";",
      " <",        " n",        "++",          "`",       " Images",  " go",    " elsewhere",
      " entirely", " What",     " does",       " this",   " picture", " show",  "?",
      " A",        " harbour",  " at",         " dusk",   " with",    " boats", " the",
      " water",    " is",       " calm",       " light",  " from",    " lamps", " on",
      " pier",     " reflects", " 42",         " 3.14",   " is",      " a",     " model"};
  return words;
}

/// `n` token ids of plausible text: sentences of the sample vocabulary, a newline now and
/// then, deterministic for a seed.
inline std::vector<int32_t> sample_ids(size_t n, uint64_t seed) {
  const auto V = static_cast<int32_t>(sample_vocabulary().size());
  std::vector<int32_t> ids(n);
  for (size_t t = 0; t < n; ++t) {
    const uint64_t h = mix64(seed + t);
    ids[t] = (t % 23 == 22) ? 11
             : (t % 9 == 8) ? 10
                            : static_cast<int32_t>(h % static_cast<uint64_t>(V));
  }
  return ids;
}

/// The texts of `ids`.
inline std::vector<std::string> sample_texts(const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const int32_t id : ids) out.push_back(sample_vocabulary()[static_cast<size_t>(id)]);
  return out;
}

/// A question (text with 24 image tokens in the middle) and its answer, as a session.
inline Session sample_session(const SampleShape& shape = {}) {
  Session s;
  s.title = "Harbour photo";
  std::vector<int32_t> q_ids = {43, 44, 45};  // What does this [image] picture show?
  std::vector<Modality> q_mod(3, Modality::text);
  for (int i = 0; i < 24; ++i) {
    q_ids.push_back(1000 + i);
    q_mod.push_back(Modality::image);
  }
  for (const int32_t id : {46, 47, 48}) {
    q_ids.push_back(id);
    q_mod.push_back(Modality::text);
  }
  Message user;
  user.role = "user";
  user.content = "What does this picture show?";
  user.trace = sample_trace(shape, q_ids, q_mod, 1);
  for (size_t i = 0; i < q_ids.size(); ++i)
    user.token_texts.push_back(q_mod[i] == Modality::text
                                   ? sample_vocabulary()[static_cast<size_t>(q_ids[i])]
                                   : std::string());
  user.n_tokens = static_cast<uint32_t>(q_ids.size());
  Message answer;
  answer.role = "assistant";
  const std::vector<int32_t> a_ids = {49, 50, 51, 52, 53, 54, 15, 55, 56, 57, 58, 10, 49, 59, 60,
                                      61, 62, 55, 63, 64, 55, 56, 10, 11, 0,  1,  2,  3,  4,  5,
                                      6,  7,  8,  9,  10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 10};
  answer.trace = sample_trace(shape, a_ids, std::vector<Modality>(a_ids.size(), Modality::text), 2,
                              static_cast<int32_t>(q_ids.size()));
  answer.token_texts = sample_texts(a_ids);
  for (const auto& t : answer.token_texts) answer.content += t;
  answer.n_tokens = static_cast<uint32_t>(a_ids.size());
  s.messages.push_back(std::move(user));
  s.messages.push_back(std::move(answer));
  return s;
}

/// One segment of `n` tokens of sample text routed through `shape`.
inline std::shared_ptr<const inspector::InspectorData> big_data(size_t n, const SampleShape& shape,
                                                                uint64_t seed = 7) {
  const std::vector<int32_t> ids = sample_ids(n, seed);
  const RoutingTrace trace =
      sample_trace(shape, ids, std::vector<Modality>(n, Modality::text), seed);
  auto seg = std::make_shared<inspector::InspectorSegment>();
  seg->message_index = 1;
  seg->role = QStringLiteral("assistant");
  seg->trace = std::make_shared<const RoutingTrace>(std::move(trace));
  seg->token_texts = sample_texts(ids);
  return std::make_shared<const inspector::InspectorData>(
      std::vector<std::shared_ptr<const inspector::InspectorSegment>>{std::move(seg)},
      QStringLiteral("Long session"));
}

}  // namespace es::test
