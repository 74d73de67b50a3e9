// The inspector's token heatmaps.
#include "heatmap_sources.h"

#include <algorithm>
#include <cmath>

namespace es::inspector {

namespace {

/// Calls fn(trace, token) for every token of axis indices [c0, c1).
template <typename Fn>
void forTokens(const Analysis& a, uint64_t c0, uint64_t c1, Fn&& fn) {
  const TokenAxis& axis = *a.axis;
  const InspectorData& data = *a.request.data;
  if (c0 >= c1 || c0 >= axis.size()) return;
  c1 = std::min(c1, axis.size());
  size_t r = axis.runOf(c0);
  uint64_t i = c0;
  while (i < c1 && r < axis.runs().size()) {
    const TokenAxis::Run& run = axis.runs()[r];
    const RoutingTrace& trace = *data.segment(run.segment).trace;
    const uint64_t run_end = run.axis_begin + (run.end - run.begin);
    for (; i < c1 && i < run_end; ++i)
      fn(run.segment, trace, static_cast<uint32_t>(run.begin + (i - run.axis_begin)));
    ++r;
  }
}

QString tokenLine(const Analysis& a, uint64_t column) {
  const TokenAxis::Token t = a.axis->at(column);
  const InspectorData& data = *a.request.data;
  const RoutingTrace& trace = *data.segment(t.segment).trace;
  return QStringLiteral("\u201c%1\u201d  token %2 of %3 (id %4, pos %5)")
      .arg(data.displayText(t.segment, t.token))
      .arg(t.token)
      .arg(data.segment(t.segment).label())
      .arg(trace.token_id(t.token))
      .arg(trace.position(t.token));
}

}  // namespace

double measureValue(const Analysis& analysis, Measure measure, size_t segment, uint32_t token,
                    uint32_t m) {
  const RoutingTrace& trace = *analysis.request.data->segment(segment).trace;
  switch (measure) {
    case Measure::dominant_expert:
      return trace.expert(token, m, 0);
    case Measure::entropy: {
      const double h = trace.entropy(token, m);
      const double top = std::log(static_cast<double>(std::max<uint32_t>(2, trace.n_expert())));
      return std::clamp(h / top, 0.0, 1.0);
    }
    case Measure::top1_weight: {
      const float top = m < analysis.stats.max_top1.size() ? analysis.stats.max_top1[m] : 1.0f;
      return std::clamp(trace.weight(token, m, 0) / (top > 0 ? top : 1.0f), 0.0f, 1.0f);
    }
  }
  return 0.0;
}

std::vector<std::pair<uint64_t, QString>> axisSections(const Analysis& analysis) {
  std::vector<std::pair<uint64_t, QString>> out;
  const auto& runs = analysis.axis->runs();
  for (size_t r = 0; r < runs.size(); ++r) {
    if (r > 0 && runs[r].segment == runs[r - 1].segment) continue;
    out.emplace_back(runs[r].axis_begin, analysis.request.data->segment(runs[r].segment).label());
  }
  return out;
}

// --- ExpertHeatmapSource --------------------------------------------------------------

ExpertHeatmapSource::ExpertHeatmapSource(std::shared_ptr<const Analysis> analysis, bool dark)
    : analysis_(std::move(analysis)), dark_(dark) {}

uint64_t ExpertHeatmapSource::columns() const {
  return analysis_->axis->size();
}
uint32_t ExpertHeatmapSource::rows() const {
  return analysis_->request.data->nExpert();
}
QString ExpertHeatmapSource::rowLabel(uint32_t row) const {
  return QStringLiteral("E%1").arg(row);
}

QString ExpertHeatmapSource::rowTitle() const {
  const auto& data = *analysis_->request.data;
  if (!data.hasShape()) return QObject::tr("expert");
  return QObject::tr("expert at layer %1").arg(data.shape().moe_layers[analysis_->request.layer]);
}

QString ExpertHeatmapSource::columnText(uint64_t column) const {
  const TokenAxis::Token t = analysis_->axis->at(column);
  return analysis_->request.data->displayText(t.segment, t.token);
}

void ExpertHeatmapSource::colours(uint64_t c0, uint64_t c1, uint32_t r0, uint32_t r1,
                                  Aggregate aggregate, QRgb* out) const {
  const uint32_t k = analysis_->request.data->topK();
  const uint32_t m = analysis_->request.layer;
  std::vector<float> acc(r1 - r0, 0.0f);
  uint16_t experts[max_experts_used];
  float weights[max_experts_used];
  uint64_t n = 0;
  forTokens(*analysis_, c0, c1, [&](size_t, const RoutingTrace& trace, uint32_t t) {
    trace.routing(t, m, std::span(experts, k), std::span(weights, k));
    ++n;
    for (uint32_t r = 0; r < k; ++r) {
      if (experts[r] < r0 || experts[r] >= r1) continue;
      float& slot = acc[experts[r] - r0];
      slot = aggregate == Aggregate::max ? std::max(slot, weights[r]) : slot + weights[r];
    }
  });
  const double top = analysis_->max_weight;
  for (uint32_t r = r0; r < r1; ++r) {
    double v = acc[r - r0];
    if (aggregate == Aggregate::mean && n) v /= static_cast<double>(n);
    out[r - r0] = heatColor(v / top, dark_).rgba();
  }
}

float ExpertHeatmapSource::weightAt(uint64_t column, uint32_t expert) const {
  const TokenAxis::Token t = analysis_->axis->at(column);
  const RoutingTrace& trace = *analysis_->request.data->segment(t.segment).trace;
  for (uint32_t r = 0; r < trace.top_k(); ++r)
    if (trace.expert(t.token, analysis_->request.layer, r) == expert)
      return trace.weight(t.token, analysis_->request.layer, r);
  return 0.0f;
}

QString ExpertHeatmapSource::describe(uint64_t c0, uint64_t c1, uint32_t row) const {
  const uint32_t m = analysis_->request.layer;
  if (c1 == c0 + 1) {
    const TokenAxis::Token t = analysis_->axis->at(c0);
    const RoutingTrace& trace = *analysis_->request.data->segment(t.segment).trace;
    QString where;
    for (uint32_t r = 0; r < trace.top_k(); ++r) {
      if (trace.expert(t.token, m, r) == row) {
        where = QObject::tr("E%1: weight %2 (rank %3)")
                    .arg(row)
                    .arg(trace.weight(t.token, m, r), 0, 'f', 3)
                    .arg(r + 1);
      }
    }
    if (where.isEmpty()) where = QObject::tr("E%1: not selected").arg(row);
    return tokenLine(*analysis_, c0) + QStringLiteral("  \u00b7  ") + where;
  }
  uint64_t routed = 0, n = 0;
  double sum = 0.0, mx = 0.0;
  forTokens(*analysis_, c0, c1, [&](size_t, const RoutingTrace& trace, uint32_t t) {
    ++n;
    for (uint32_t r = 0; r < trace.top_k(); ++r) {
      if (trace.expert(t, m, r) == row) {
        const double w = trace.weight(t, m, r);
        ++routed;
        sum += w;
        mx = std::max(mx, w);
      }
    }
  });
  return QObject::tr("tokens %1\u2013%2  \u00b7  E%3 took %4 of %5 (mean weight %6, max %7)")
      .arg(c0)
      .arg(c1 - 1)
      .arg(row)
      .arg(routed)
      .arg(n)
      .arg(n ? sum / static_cast<double>(n) : 0.0, 0, 'f', 3)
      .arg(mx, 0, 'f', 3);
}

HeatmapLegend ExpertHeatmapSource::legend() const {
  HeatmapLegend l;
  l.title = QObject::tr("weight");
  l.low = QStringLiteral("0");
  l.high = QString::number(analysis_->max_weight, 'g', 3);
  return l;
}

std::vector<std::pair<uint64_t, QString>> ExpertHeatmapSource::sections() const {
  return axisSections(*analysis_);
}

// --- LayerHeatmapSource ---------------------------------------------------------------

LayerHeatmapSource::LayerHeatmapSource(std::shared_ptr<const Analysis> analysis, Measure measure,
                                       bool dark)
    : analysis_(std::move(analysis)), measure_(measure), dark_(dark) {}

uint64_t LayerHeatmapSource::columns() const {
  return analysis_->axis->size();
}
uint32_t LayerHeatmapSource::rows() const {
  return analysis_->request.data->nLayers();
}

QString LayerHeatmapSource::rowLabel(uint32_t row) const {
  return QStringLiteral("L%1").arg(analysis_->request.data->shape().moe_layers[row]);
}

QString LayerHeatmapSource::rowTitle() const {
  return QObject::tr("layer (%1)").arg(measureName(measure_));
}

QString LayerHeatmapSource::columnText(uint64_t column) const {
  const TokenAxis::Token t = analysis_->axis->at(column);
  return analysis_->request.data->displayText(t.segment, t.token);
}

void LayerHeatmapSource::colours(uint64_t c0, uint64_t c1, uint32_t r0, uint32_t r1,
                                 Aggregate aggregate, QRgb* out) const {
  const uint32_t n_rows = r1 - r0;
  if (measure_ == Measure::dominant_expert) {
    // The most frequent rank-0 expert of the column, per layer.
    const uint32_t n_expert = analysis_->request.data->nExpert();
    std::vector<uint32_t> counts(static_cast<size_t>(n_rows) * n_expert, 0);
    forTokens(*analysis_, c0, c1, [&](size_t, const RoutingTrace& trace, uint32_t t) {
      for (uint32_t m = r0; m < r1; ++m)
        ++counts[static_cast<size_t>(m - r0) * n_expert + trace.expert(t, m, 0)];
    });
    for (uint32_t i = 0; i < n_rows; ++i) {
      const auto* row = counts.data() + static_cast<size_t>(i) * n_expert;
      const auto best = static_cast<uint32_t>(std::max_element(row, row + n_expert) - row);
      out[i] = expertColor(best).rgba();
    }
    return;
  }
  std::vector<double> acc(n_rows, 0.0);
  uint64_t n = 0;
  forTokens(*analysis_, c0, c1, [&](size_t segment, const RoutingTrace&, uint32_t t) {
    ++n;
    for (uint32_t m = r0; m < r1; ++m) {
      const double v = measureValue(*analysis_, measure_, segment, t, m);
      acc[m - r0] = aggregate == Aggregate::max ? std::max(acc[m - r0], v) : acc[m - r0] + v;
    }
  });
  for (uint32_t i = 0; i < n_rows; ++i) {
    const double v = aggregate == Aggregate::mean && n ? acc[i] / static_cast<double>(n) : acc[i];
    out[i] = heatColor(v, dark_).rgba();
  }
}

QString LayerHeatmapSource::describe(uint64_t c0, uint64_t c1, uint32_t row) const {
  const uint32_t block = analysis_->request.data->shape().moe_layers[row];
  if (c1 == c0 + 1) {
    const TokenAxis::Token t = analysis_->axis->at(c0);
    const RoutingTrace& trace = *analysis_->request.data->segment(t.segment).trace;
    return tokenLine(*analysis_, c0) + QObject::tr("  \u00b7  layer %1: E%2 %3, entropy %4 nats")
                                           .arg(block)
                                           .arg(trace.expert(t.token, row, 0))
                                           .arg(trace.weight(t.token, row, 0), 0, 'f', 3)
                                           .arg(trace.entropy(t.token, row), 0, 'f', 3);
  }
  double sum = 0.0;
  uint64_t n = 0;
  forTokens(*analysis_, c0, c1, [&](size_t segment, const RoutingTrace&, uint32_t t) {
    ++n;
    sum += measure_ == Measure::dominant_expert
               ? 0.0
               : measureValue(*analysis_, measure_, segment, t, row);
  });
  if (measure_ == Measure::dominant_expert) {
    return QObject::tr("tokens %1\u2013%2 (%3)  \u00b7  layer %4")
        .arg(c0)
        .arg(c1 - 1)
        .arg(n)
        .arg(block);
  }
  return QObject::tr("tokens %1\u2013%2 (%3)  \u00b7  layer %4: mean %5 %6")
      .arg(c0)
      .arg(c1 - 1)
      .arg(n)
      .arg(block)
      .arg(measureName(measure_))
      .arg(n ? sum / static_cast<double>(n) : 0.0, 0, 'f', 3);
}

HeatmapLegend LayerHeatmapSource::legend() const {
  HeatmapLegend l;
  l.title = measureName(measure_);
  if (measure_ == Measure::dominant_expert) {
    l.title = QObject::tr("top expert");
    l.categorical = true;
    l.n_categories = analysis_->request.data->nExpert();
  } else if (measure_ == Measure::entropy) {
    l.low = QObject::tr("0 (sure)");
    l.high = QObject::tr("log E (flat)");
  } else {
    l.low = QStringLiteral("0");
    l.high = QObject::tr("layer max");
  }
  return l;
}

std::vector<std::pair<uint64_t, QString>> LayerHeatmapSource::sections() const {
  return axisSections(*analysis_);
}

}  // namespace es::inspector
