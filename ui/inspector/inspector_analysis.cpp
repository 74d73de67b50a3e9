// Statistics of selections for the inspector's views, built on the engine's statistics.
#include "inspector_analysis.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace es::inspector {

namespace {

constexpr size_t kCacheEntries = 64;

/// cv and normalised entropy of summed counts, as es::expert_load computes them.
void rebalance(LayerLoad& load) {
  load.cv = 0.0;
  load.normalized_entropy = 0.0;
  const size_t n_expert = load.counts.size();
  double total = 0.0;
  for (const uint64_t c : load.counts) total += static_cast<double>(c);
  if (total == 0.0 || n_expert == 0) return;
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

/// Adds `part` (statistics of one segment) into `sum`.
void accumulate(SelectionStats& sum, const SelectionStats& part) {
  const size_t n_layers = part.load.size();
  if (sum.load.empty()) {
    sum.load = part.load;
    for (auto& l : sum.load) {
      std::fill(l.counts.begin(), l.counts.end(), 0);
      std::fill(l.weight_sums.begin(), l.weight_sums.end(), 0.0);
      l.n_tokens = 0;
    }
    sum.mean_entropy.assign(n_layers, 0.0);
    sum.adjacent_overlap.assign(n_layers, 0.0);
    sum.max_top1.assign(n_layers, 0.0f);
  }
  for (size_t m = 0; m < n_layers; ++m) {
    LayerLoad& l = sum.load[m];
    const LayerLoad& p = part.load[m];
    for (size_t e = 0; e < l.counts.size(); ++e) {
      l.counts[e] += p.counts[e];
      l.weight_sums[e] += p.weight_sums[e];
    }
    l.n_tokens += p.n_tokens;
    // Weighted sums for now; divided once every part is in.
    sum.mean_entropy[m] += part.mean_entropy[m] * static_cast<double>(part.n_tokens);
    sum.adjacent_overlap[m] += part.adjacent_overlap[m] * static_cast<double>(part.n_pairs);
    sum.max_top1[m] = std::max(sum.max_top1[m], part.max_top1[m]);
  }
  sum.n_tokens += part.n_tokens;
  sum.n_pairs += part.n_pairs;
}

/// Turns accumulate()'s weighted sums into means and recomputes the balance.
void finish(SelectionStats& sum) {
  for (size_t m = 0; m < sum.load.size(); ++m) {
    rebalance(sum.load[m]);
    if (sum.n_tokens) sum.mean_entropy[m] /= static_cast<double>(sum.n_tokens);
    if (sum.n_pairs) sum.adjacent_overlap[m] /= static_cast<double>(sum.n_pairs);
  }
}

/// Empty statistics of the data's shape.
SelectionStats emptyStats(const InspectorData& data) {
  SelectionStats s;
  if (!data.hasShape()) return s;
  const uint32_t n_layers = data.nLayers(), n_expert = data.nExpert();
  s.load.resize(n_layers);
  for (uint32_t m = 0; m < n_layers; ++m) {
    s.load[m].layer = data.shape().moe_layers[m];
    s.load[m].counts.assign(n_expert, 0);
    s.load[m].weight_sums.assign(n_expert, 0.0);
  }
  s.mean_entropy.assign(n_layers, 0.0);
  s.adjacent_overlap.assign(n_layers, 0.0);
  s.max_top1.assign(n_layers, 0.0f);
  return s;
}

/// True when `w` refers to the object `s` owns (also after `s`'s object is gone: a weak
/// pointer keeps its control block, so no later object shares it).
bool sameOwner(const std::weak_ptr<const InspectorSegment>& w,
               const std::shared_ptr<const InspectorSegment>& s) {
  return !w.owner_before(s) && !s.owner_before(w);
}

bool sameSelection(const Selection& a, const Selection& b) {
  return a.range.begin == b.range.begin && a.range.end == b.range.end && a.modality == b.modality;
}

}  // namespace

double SelectionStats::fraction(uint32_t m, uint32_t expert) const {
  if (n_tokens == 0 || m >= load.size() || expert >= load[m].counts.size()) return 0.0;
  return static_cast<double>(load[m].counts[expert]) / static_cast<double>(n_tokens);
}

std::shared_ptr<const SelectionStats> StatsCache::get(
    const std::shared_ptr<const InspectorSegment>& segment, const Selection& selection) {
  {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [](const Entry& e) { return e.segment.expired(); });
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (sameOwner(entries_[i].segment, segment) &&
          sameSelection(entries_[i].selection, selection)) {
        Entry hit = entries_[i];
        entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
        entries_.push_back(hit);
        return hit.stats;
      }
    }
  }
  auto stats = std::make_shared<const SelectionStats>(segmentStats(*segment->trace, selection));
  std::lock_guard lock(mutex_);
  entries_.push_back({segment, selection, stats});
  if (entries_.size() > kCacheEntries) entries_.erase(entries_.begin());
  return stats;
}

void StatsCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

size_t StatsCache::size() {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [](const Entry& e) { return e.segment.expired(); });
  return entries_.size();
}

SelectionStats segmentStats(const RoutingTrace& trace, const Selection& selection) {
  SelectionStats s;
  s.load = expert_load(trace, selection);
  s.n_tokens = s.load.empty() ? 0 : s.load.front().n_tokens;
  s.mean_entropy = mean_entropy(trace, selection);
  const AdjacentOverlap overlap = adjacent_overlap(trace, selection);
  s.adjacent_overlap = overlap.mean_overlap;
  s.n_pairs = overlap.n_pairs;
  const uint32_t n_layers = trace.n_moe_layers();
  s.max_top1.assign(n_layers, 0.0f);
  const uint32_t end = std::min(selection.range.end, trace.n_tokens());
  const auto modalities = trace.modalities();
  for (uint32_t t = selection.range.begin; t < end; ++t) {
    if (selection.modality != Modality::unset && modalities[t] != selection.modality) continue;
    for (uint32_t m = 0; m < n_layers; ++m)
      s.max_top1[m] = std::max(s.max_top1[m], trace.weight(t, m, 0));
  }
  return s;
}

SelectionStats selectionStats(const InspectorData& data, const InspectorSelection& selection,
                              StatsCache* cache) {
  SelectionStats sum = emptyStats(data);
  for (const SegmentPart& part : data.resolve(selection)) {
    if (cache) {
      accumulate(sum, *cache->get(data.segmentPtr(part.segment), part.selection));
    } else {
      accumulate(sum, segmentStats(*data.segment(part.segment).trace, part.selection));
    }
  }
  finish(sum);
  return sum;
}

std::shared_ptr<const Analysis> analyse(const AnalysisRequest& request, StatsCache* cache) {
  auto out = std::make_shared<Analysis>();
  out->request = request;
  const InspectorData& data = *request.data;
  out->axis = std::make_shared<const TokenAxis>(data, request.primary);
  if (!data.hasShape()) return out;
  out->request.layer = std::min(request.layer, data.nLayers() - 1);
  out->stats = selectionStats(data, request.primary, cache);
  if (request.compare) out->compare = selectionStats(data, *request.compare, cache);
  const uint32_t n_expert = data.nExpert();
  if (n_expert <= 2048) {
    out->coactivation.assign(static_cast<size_t>(n_expert) * n_expert, 0);
    for (const SegmentPart& part : data.resolve(request.primary)) {
      const auto c =
          coactivation(*data.segment(part.segment).trace, out->request.layer, part.selection);
      for (size_t i = 0; i < c.size(); ++i) out->coactivation[i] += c[i];
    }
  }
  float max_weight = 0.0f;
  for (const float w : out->stats.max_top1) max_weight = std::max(max_weight, w);
  out->max_weight = max_weight > 0.0f ? max_weight : 1.0f;
  return out;
}

ExpertDetail expertDetail(const Analysis& analysis, uint32_t layer, uint32_t expert,
                          size_t max_vocabulary, size_t n_bins) {
  ExpertDetail d;
  const InspectorData& data = *analysis.request.data;
  if (!data.hasShape()) return d;
  d.layer = std::min(layer, data.nLayers() - 1);
  d.block = data.shape().moe_layers[d.layer];
  d.expert = std::min(expert, data.nExpert() - 1);
  d.n_tokens = analysis.stats.n_tokens;
  const uint32_t k = data.topK();

  // Vocabulary: the engine's per segment, merged by token id.
  const auto parts = data.resolve(analysis.request.primary);
  std::map<int32_t, std::pair<uint64_t, double>> merged;  // id -> (count, weight sum)
  for (const SegmentPart& part : parts) {
    const RoutingTrace& trace = *data.segment(part.segment).trace;
    for (const VocabEntry& v : expert_vocabulary(trace, d.layer, d.expert, part.selection, 0)) {
      auto& slot = merged[v.token_id];
      slot.first += v.count;
      slot.second += v.mean_weight * static_cast<double>(v.count);
    }
  }
  std::vector<VocabRow> rows;
  rows.reserve(merged.size());
  double weight_sum = 0.0;
  for (const auto& [id, cw] : merged) {
    VocabRow row;
    row.token_id = id;
    row.count = cw.first;
    row.mean_weight = cw.second / static_cast<double>(cw.first);
    rows.push_back(row);
    d.n_routed += cw.first;
    weight_sum += cw.second;
  }
  d.mean_weight = d.n_routed ? weight_sum / static_cast<double>(d.n_routed) : 0.0;
  std::sort(rows.begin(), rows.end(), [](const VocabRow& a, const VocabRow& b) {
    return a.count != b.count ? a.count > b.count : a.token_id < b.token_id;
  });
  if (max_vocabulary != 0 && rows.size() > max_vocabulary) rows.resize(max_vocabulary);
  // How often each listed token occurs in the selection at all.
  std::map<int32_t, uint64_t> occurrences;
  for (const VocabRow& row : rows) occurrences[row.token_id] = 0;
  const TokenAxis& axis = *analysis.axis;
  for (const TokenAxis::Run& run : axis.runs()) {
    const auto ids = data.segment(run.segment).trace->token_ids();
    for (uint32_t t = run.begin; t < run.end; ++t) {
      const auto it = occurrences.find(ids[t]);
      if (it != occurrences.end()) ++it->second;
    }
  }
  for (VocabRow& row : rows) {
    row.text = data.textOfId(row.token_id);
    const uint64_t n = occurrences[row.token_id];
    row.share = n ? static_cast<double>(row.count) / static_cast<double>(n) : 0.0;
  }
  d.vocabulary = std::move(rows);

  d.blocks = data.shape().moe_layers;
  d.load_by_layer.resize(data.nLayers());
  for (uint32_t m = 0; m < data.nLayers(); ++m)
    d.load_by_layer[m] = analysis.stats.fraction(m, d.expert);

  // Load along the selection.
  const uint64_t n = axis.size();
  // At least four tokens a bin, so that a short answer's curve is not just 0 and 100%.
  const uint64_t bins = std::max<uint64_t>(1, std::min<uint64_t>(n_bins, n / 4));
  d.bin_start.resize(bins + 1);
  for (uint64_t b = 0; b <= bins; ++b) d.bin_start[b] = b * n / bins;
  d.load_over_axis.assign(bins, 0.0);
  if (n == 0) return d;
  std::vector<uint16_t> experts(k);
  std::vector<float> weights(k);
  uint64_t bin = 0, hits = 0;
  for (const TokenAxis::Run& run : axis.runs()) {
    const RoutingTrace& trace = *data.segment(run.segment).trace;
    for (uint32_t t = run.begin; t < run.end; ++t) {
      const uint64_t i = run.axis_begin + (t - run.begin);
      while (i >= d.bin_start[bin + 1]) {
        d.load_over_axis[bin] = static_cast<double>(hits) /
                                static_cast<double>(d.bin_start[bin + 1] - d.bin_start[bin]);
        hits = 0;
        ++bin;
      }
      trace.routing(t, d.layer, experts, weights);
      if (std::find(experts.begin(), experts.end(), d.expert) != experts.end()) ++hits;
    }
  }
  d.load_over_axis[bin] =
      static_cast<double>(hits) / static_cast<double>(d.bin_start[bin + 1] - d.bin_start[bin]);
  return d;
}

}  // namespace es::inspector
