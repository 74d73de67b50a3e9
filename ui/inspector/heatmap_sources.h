// The two token heatmaps of the inspector, as HeatmapSources over an Analysis: tokens ×
// experts at the chosen layer (cell: the weight the token gave the expert), and tokens ×
// layers (cell: the chosen measure — dominant expert, router entropy, top-1 weight).
#pragma once

#include <memory>

#include "colour_scales.h"
#include "inspector_analysis.h"
#include "tiled_heatmap.h"

namespace es::inspector {

/// Tokens × experts at MoE layer `layer`: the weight each expert got (0 when not selected),
/// on the load scale up to the selection's largest weight.
class ExpertHeatmapSource : public HeatmapSource {
 public:
  /// Over `analysis`'s primary selection (layer: its chosen layer); `dark`: the dark
  /// variant of the load scale.
  ExpertHeatmapSource(std::shared_ptr<const Analysis> analysis, bool dark);

  [[nodiscard]] uint64_t columns() const override;
  [[nodiscard]] uint32_t rows() const override;
  [[nodiscard]] QString rowLabel(uint32_t row) const override;
  [[nodiscard]] QString rowTitle() const override;
  [[nodiscard]] QString columnText(uint64_t column) const override;
  void colours(uint64_t c0, uint64_t c1, uint32_t r0, uint32_t r1, Aggregate aggregate,
               QRgb* out) const override;
  [[nodiscard]] QString describe(uint64_t c0, uint64_t c1, uint32_t row) const override;
  [[nodiscard]] HeatmapLegend legend() const override;
  [[nodiscard]] std::vector<std::pair<uint64_t, QString>> sections() const override;

  /// The weight of `expert` for the token at axis index `column` (0 when not selected).
  [[nodiscard]] float weightAt(uint64_t column, uint32_t expert) const;

 private:
  std::shared_ptr<const Analysis> analysis_;
  bool dark_;
};

/// Tokens × MoE layers coloured by a measure.
class LayerHeatmapSource : public HeatmapSource {
 public:
  /// Over `analysis`'s primary selection; `dark`: the dark variant of the scales.
  LayerHeatmapSource(std::shared_ptr<const Analysis> analysis, Measure measure, bool dark);

  [[nodiscard]] uint64_t columns() const override;
  [[nodiscard]] uint32_t rows() const override;
  [[nodiscard]] QString rowLabel(uint32_t row) const override;
  [[nodiscard]] QString rowTitle() const override;
  [[nodiscard]] QString columnText(uint64_t column) const override;
  void colours(uint64_t c0, uint64_t c1, uint32_t r0, uint32_t r1, Aggregate aggregate,
               QRgb* out) const override;
  [[nodiscard]] QString describe(uint64_t c0, uint64_t c1, uint32_t row) const override;
  [[nodiscard]] HeatmapLegend legend() const override;
  [[nodiscard]] std::vector<std::pair<uint64_t, QString>> sections() const override;

 private:
  std::shared_ptr<const Analysis> analysis_;
  Measure measure_;
  bool dark_;
};

/// The value of `measure` for (segment, token) at MoE layer m: the rank-0 expert for
/// dominant_expert, entropy / log(n_expert) for entropy, the rank-0 weight / the layer's
/// largest for top1_weight (0..1).
[[nodiscard]] double measureValue(const Analysis& analysis, Measure measure, size_t segment,
                                  uint32_t token, uint32_t m);

/// Where each segment starts on `analysis`'s axis, labelled by the segment.
[[nodiscard]] std::vector<std::pair<uint64_t, QString>> axisSections(const Analysis& analysis);

}  // namespace es::inspector
