// The statistics the inspector's views show, computed off the UI thread from an
// immutable InspectorData: the load, balance, entropy and overlap of a selection (the
// engine's statistics summed over the selection's segments), the co-activation matrix of
// the chosen layer, and the details of one expert. Plain functions of their arguments;
// the per-segment statistics are cached by segment identity, so a streaming answer only
// recomputes its own segment.
#pragma once

#include <QString>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "inspector_data.h"

namespace es::inspector {

/// The statistics of one selection, per MoE layer.
struct SelectionStats {
  uint64_t n_tokens = 0;  ///< Tokens selected.
  /// Per MoE layer: counts and weight sums summed over the segments, cv and
  /// normalized_entropy of the summed counts (as es::expert_load computes them).
  std::vector<LayerLoad> load;
  std::vector<double> mean_entropy;      ///< Per MoE layer, nats.
  std::vector<double> adjacent_overlap;  ///< Per MoE layer, 0..1.
  uint64_t n_pairs = 0;                  ///< Adjacent pairs behind adjacent_overlap.
  std::vector<float> max_top1;           ///< Per MoE layer: the largest rank-0 weight.

  /// Fraction (0..top_k) of the tokens that selected `expert` at MoE layer m: counts /
  /// n_tokens, 0 without tokens.
  [[nodiscard]] double fraction(uint32_t m, uint32_t expert) const;
};

/// A cache of per-segment statistics keyed by segment identity and selection. Holds no
/// segment alive: entries of segments that are gone (an older version of a streaming
/// answer) are dropped. Thread-safe.
class StatsCache {
 public:
  /// The statistics of one part (computed on a miss).
  [[nodiscard]] std::shared_ptr<const SelectionStats> get(
      const std::shared_ptr<const InspectorSegment>& segment, const Selection& selection);
  /// Forgets everything.
  void clear();
  /// Entries of segments still alive.
  [[nodiscard]] size_t size();

 private:
  /// The statistics of one segment's selection.
  struct Entry {
    std::weak_ptr<const InspectorSegment> segment;  ///< The key (compared by owner).
    Selection selection;                            ///< The key's selection.
    std::shared_ptr<const SelectionStats> stats;    ///< The value.
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;  ///< Most recently used last.
};

/// The statistics of one part of a selection (a segment and a Selection of its tokens).
[[nodiscard]] SelectionStats segmentStats(const RoutingTrace& trace, const Selection& selection);
/// The statistics of `selection` over `data` (via `cache` when given).
[[nodiscard]] SelectionStats selectionStats(const InspectorData& data,
                                            const InspectorSelection& selection,
                                            StatsCache* cache = nullptr);

/// What the inspector asks a worker for.
struct AnalysisRequest {
  std::shared_ptr<const InspectorData> data;  ///< Never null.
  InspectorSelection primary;                 ///< What the views show.
  std::optional<InspectorSelection> compare;  ///< The second selection of the diff view.
  uint32_t layer = 0;                         ///< The chosen MoE index.
};

/// Everything the views show for one request.
struct Analysis {
  AnalysisRequest request;                ///< What was asked (layer clamped to the data).
  std::shared_ptr<const TokenAxis> axis;  ///< The primary selection's tokens.
  SelectionStats stats;                   ///< Of the primary selection.
  std::optional<SelectionStats> compare;  ///< Of the compare selection.
  /// Co-activation at the chosen layer over the primary selection: n_expert x n_expert,
  /// row-major (es::coactivation summed over the segments); empty above 2048 experts.
  std::vector<uint64_t> coactivation;
  float max_weight = 1.0f;  ///< The largest weight of the selection (colour scale top).
};

/// Computes an Analysis (on any thread).
[[nodiscard]] std::shared_ptr<const Analysis> analyse(const AnalysisRequest& request,
                                                      StatsCache* cache = nullptr);

/// One token of an expert's vocabulary, ready to show.
struct VocabRow {
  int32_t token_id = 0;      ///< Vocabulary id.
  QString text;              ///< Display text (InspectorData::displayText).
  uint64_t count = 0;        ///< Times routed to the expert in the selection.
  double mean_weight = 0.0;  ///< Mean weight the expert got for it.
  /// count / how often the token occurs in the selection (0..1): how reliably the expert
  /// takes this token.
  double share = 0.0;
};

/// What the expert view shows for (layer, expert).
struct ExpertDetail {
  uint32_t layer = 0;                 ///< MoE index.
  uint32_t block = 0;                 ///< Its block index.
  uint32_t expert = 0;                ///< Expert id.
  uint64_t n_tokens = 0;              ///< Tokens of the selection.
  uint64_t n_routed = 0;              ///< Of them, routed to the expert at the layer.
  double mean_weight = 0.0;           ///< Mean weight over those routed.
  std::vector<VocabRow> vocabulary;   ///< Most routed first.
  std::vector<double> load_by_layer;  ///< Fraction of tokens selecting the expert per layer.
  std::vector<uint32_t> blocks;       ///< Block index of each MoE layer.
  /// The expert's load along the selection: per bin of consecutive axis tokens, the
  /// fraction routed to it; bin i covers axis indices [bin_start[i], bin_start[i + 1]).
  std::vector<double> load_over_axis;
  std::vector<uint64_t> bin_start;  ///< load_over_axis.size() + 1 entries.
};

/// The details of `expert` at MoE layer `layer` over `analysis`'s primary selection, its
/// vocabulary cut to `max_vocabulary` rows and its load along the selection in at most
/// `n_bins` bins (on any thread).
[[nodiscard]] ExpertDetail expertDetail(const Analysis& analysis, uint32_t layer, uint32_t expert,
                                        size_t max_vocabulary = 40, size_t n_bins = 200);

}  // namespace es::inspector
