// Statistics over a selection of a RoutingTrace: expert load and balance, co-activation,
// adjacent-token overlap, router entropy, and an expert's vocabulary.
#include <algorithm>
#include <cmath>
#include <string>

#include "expertscope/trace.h"
#include "trace_internal.h"

namespace es {

namespace {

using trace_detail::fail_usage;

/// A resolved selection: tokens [begin, end) whose modality passes `filter`.
struct Sel {
  uint32_t begin = 0;
  uint32_t end = 0;
  Modality filter = Modality::unset;
};

Sel prepare(const RoutingTrace& trace, const Selection& selection) {
  const auto span = trace_detail::resolve(trace, selection.range);
  return {span.begin, span.end, selection.modality};
}

void check_layer(const RoutingTrace& trace, uint32_t m) {
  if (m >= trace.n_moe_layers()) {
    fail_usage("MoE layer index " + std::to_string(m) + " is out of range (" +
               std::to_string(trace.n_moe_layers()) + " MoE layers)");
  }
}

/// Fills the coefficient of variation and normalised entropy of a layer's counts.
void balance(LayerLoad& load) {
  const size_t n_expert = load.counts.size();
  double total = 0.0;
  for (const uint64_t c : load.counts) total += static_cast<double>(c);
  if (total == 0.0) return;
  const double mean = total / static_cast<double>(n_expert);
  double var = 0.0, h = 0.0;
  for (const uint64_t c : load.counts) {
    const double d = static_cast<double>(c) - mean;
    var += d * d;
    if (c != 0) {
      const double p = static_cast<double>(c) / total;
      h -= p * std::log(p);
    }
  }
  load.cv = std::sqrt(var / static_cast<double>(n_expert)) / mean;
  load.normalized_entropy = n_expert > 1 ? h / std::log(static_cast<double>(n_expert)) : 1.0;
}

}  // namespace

std::vector<LayerLoad> expert_load(const RoutingTrace& trace, const Selection& selection) {
  const Sel s = prepare(trace, selection);
  const uint32_t n_layers = trace.n_moe_layers(), n_expert = trace.n_expert();
  const uint32_t k = trace.top_k();
  std::vector<LayerLoad> out(n_layers);
  for (uint32_t m = 0; m < n_layers; ++m) {
    out[m].layer = trace.moe_layers()[m];
    out[m].counts.assign(n_expert, 0);
    out[m].weight_sums.assign(n_expert, 0.0);
  }
  const TraceAccess access{trace};
  uint64_t n_selected = 0;
  for (uint32_t t = s.begin; t < s.end; ++t) {
    if (!access.selected(t, s.filter)) continue;
    ++n_selected;
    for (uint32_t m = 0; m < n_layers; ++m) {
      for (uint32_t r = 0; r < k; ++r) {
        const uint32_t e = access.expert(t, m, r);
        ++out[m].counts[e];
        out[m].weight_sums[e] += access.weight(t, m, r);
      }
    }
  }
  for (auto& load : out) {
    load.n_tokens = n_selected;
    balance(load);
  }
  return out;
}

std::vector<uint64_t> coactivation(const RoutingTrace& trace, uint32_t m,
                                   const Selection& selection) {
  check_layer(trace, m);
  const uint32_t n_expert = trace.n_expert(), k = trace.top_k();
  if (n_expert > 2048) {
    fail_usage("co-activation of " + std::to_string(n_expert) +
               " experts would need a matrix over 32 MiB");
  }
  const Sel s = prepare(trace, selection);
  std::vector<uint64_t> counts(static_cast<size_t>(n_expert) * n_expert, 0);
  const TraceAccess access{trace};
  uint32_t e[max_experts_used];
  for (uint32_t t = s.begin; t < s.end; ++t) {
    if (!access.selected(t, s.filter)) continue;
    for (uint32_t r = 0; r < k; ++r) e[r] = access.expert(t, m, r);
    for (uint32_t a = 0; a < k; ++a) {
      ++counts[static_cast<size_t>(e[a]) * n_expert + e[a]];
      for (uint32_t b = a + 1; b < k; ++b) {
        ++counts[static_cast<size_t>(e[a]) * n_expert + e[b]];
        ++counts[static_cast<size_t>(e[b]) * n_expert + e[a]];
      }
    }
  }
  return counts;
}

AdjacentOverlap adjacent_overlap(const RoutingTrace& trace, const Selection& selection) {
  const Sel s = prepare(trace, selection);
  const uint32_t n_layers = trace.n_moe_layers(), n_expert = trace.n_expert();
  const uint32_t k = trace.top_k();
  constexpr uint32_t kNever = UINT32_MAX;
  // stamp[m][e]: the last token that selected e at layer m.
  std::vector<uint32_t> stamp(static_cast<size_t>(n_layers) * n_expert, kNever);
  std::vector<uint64_t> shared(n_layers, 0);
  AdjacentOverlap out;
  const TraceAccess access{trace};
  bool previous_selected = false;
  for (uint32_t t = s.begin; t < s.end; ++t) {
    const bool now = access.selected(t, s.filter);
    if (now && previous_selected) ++out.n_pairs;
    if (now) {
      for (uint32_t m = 0; m < n_layers; ++m) {
        uint32_t* row = stamp.data() + static_cast<size_t>(m) * n_expert;
        for (uint32_t r = 0; r < k; ++r) {
          const uint32_t e = access.expert(t, m, r);
          if (previous_selected && row[e] == t - 1) ++shared[m];
          row[e] = t;
        }
      }
    }
    previous_selected = now;
  }
  out.mean_overlap.assign(n_layers, 0.0);
  if (out.n_pairs != 0) {
    for (uint32_t m = 0; m < n_layers; ++m) {
      out.mean_overlap[m] = static_cast<double>(shared[m]) /
                            (static_cast<double>(out.n_pairs) * static_cast<double>(k));
    }
  }
  return out;
}

std::vector<double> mean_entropy(const RoutingTrace& trace, const Selection& selection) {
  const Sel s = prepare(trace, selection);
  const uint32_t n_layers = trace.n_moe_layers();
  std::vector<double> sums(n_layers, 0.0);
  const TraceAccess access{trace};
  uint64_t n_selected = 0;
  for (uint32_t t = s.begin; t < s.end; ++t) {
    if (!access.selected(t, s.filter)) continue;
    ++n_selected;
    for (uint32_t m = 0; m < n_layers; ++m) {
      sums[m] += trace_detail::half_to_float(access.entropy_bits(t, m));
    }
  }
  if (n_selected != 0) {
    for (auto& v : sums) v /= static_cast<double>(n_selected);
  }
  return sums;
}

std::vector<VocabEntry> expert_vocabulary(const RoutingTrace& trace, uint32_t m, uint32_t expert,
                                          const Selection& selection, size_t max_entries) {
  check_layer(trace, m);
  if (expert >= trace.n_expert()) {
    fail_usage("expert " + std::to_string(expert) + " is out of range (" +
               std::to_string(trace.n_expert()) + " experts)");
  }
  const Sel s = prepare(trace, selection);
  const TraceAccess access{trace};
  std::vector<std::pair<int32_t, float>> hits;  // (token id, weight)
  for (uint32_t t = s.begin; t < s.end; ++t) {
    if (!access.selected(t, s.filter)) continue;
    for (uint32_t r = 0; r < trace.top_k(); ++r) {
      if (access.expert(t, m, r) == expert) {
        hits.emplace_back(trace.token_ids()[t], access.weight(t, m, r));
        break;
      }
    }
  }
  std::sort(hits.begin(), hits.end());
  std::vector<VocabEntry> out;
  for (size_t i = 0; i < hits.size();) {
    VocabEntry entry{hits[i].first, 0, 0.0};
    double sum = 0.0;
    for (; i < hits.size() && hits[i].first == entry.token_id; ++i) {
      ++entry.count;
      sum += hits[i].second;
    }
    entry.mean_weight = sum / static_cast<double>(entry.count);
    out.push_back(entry);
  }
  const auto by_count = [](const VocabEntry& a, const VocabEntry& b) {
    return a.count != b.count ? a.count > b.count : a.token_id < b.token_id;
  };
  if (max_entries != 0 && max_entries < out.size()) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(max_entries),
                      out.end(), by_count);
    out.resize(max_entries);
  } else {
    std::sort(out.begin(), out.end(), by_count);
  }
  return out;
}

}  // namespace es
