// Grid models of the load and co-activation views.
#include "grid_models.h"

#include <algorithm>
#include <cmath>

namespace es::inspector {

namespace {

QString percent(double fraction) {
  const double p = 100.0 * fraction;
  return QStringLiteral("%1%").arg(p, 0, 'f', std::abs(p) < 10 ? 1 : 0);
}

QString signedPoints(double fraction) {
  const double p = 100.0 * fraction;
  return QStringLiteral("%1%2").arg(p >= 0 ? QStringLiteral("+") : QString()).arg(p, 0, 'f', 1);
}

void labelExperts(GridModel& g, uint32_t n_expert, bool rows, bool columns) {
  for (uint32_t e = 0; e < n_expert; ++e) {
    if (rows) g.row_labels.push_back(QStringLiteral("E%1").arg(e));
    if (columns) g.column_labels.push_back(QStringLiteral("E%1").arg(e));
  }
}

}  // namespace

GridModel loadGridModel(const Analysis& analysis, LoadMode mode) {
  GridModel g;
  const InspectorData& data = *analysis.request.data;
  if (!data.hasShape()) return g;
  if (mode != LoadMode::primary && !analysis.compare) mode = LoadMode::primary;
  const uint32_t n_layers = data.nLayers(), n_expert = data.nExpert();
  g.rows = n_layers;
  g.columns = n_expert;
  g.row_title = QObject::tr("layer");
  g.column_title = QObject::tr("expert");
  for (const uint32_t block : data.shape().moe_layers)
    g.row_labels.push_back(QStringLiteral("L%1").arg(block));
  labelExperts(g, n_expert, false, true);
  g.values.resize(static_cast<size_t>(n_layers) * n_expert);
  const SelectionStats& a = analysis.stats;
  const SelectionStats* b = analysis.compare ? &*analysis.compare : nullptr;
  const QString a_name = data.describe(analysis.request.primary);
  const QString b_name = b ? data.describe(*analysis.request.compare) : QString();
  double top = 0.0;
  for (uint32_t m = 0; m < n_layers; ++m) {
    for (uint32_t e = 0; e < n_expert; ++e) {
      double v = 0.0;
      switch (mode) {
        case LoadMode::primary:
          v = a.fraction(m, e);
          break;
        case LoadMode::compare:
          v = b->fraction(m, e);
          break;
        case LoadMode::difference:
          v = a.fraction(m, e) - b->fraction(m, e);
          break;
      }
      g.values[static_cast<size_t>(m) * n_expert + e] = v;
      top = std::max(top, std::abs(v));
    }
  }
  g.scale_max = top > 0 ? top : 1.0;
  const auto layers = data.shape().moe_layers;
  if (mode == LoadMode::difference) {
    g.scale = GridModel::Scale::diverging;
    g.title = QObject::tr("Load difference: %1 minus %2 (percentage points of tokens)")
                  .arg(a_name, b_name);
    g.legend_title = QObject::tr("A \u2212 B");
    g.legend_high = signedPoints(g.scale_max);
    g.legend_low = signedPoints(-g.scale_max);
    g.cell_text = [values = g.values, n_expert](uint32_t r, uint32_t c) {
      return signedPoints(values[static_cast<size_t>(r) * n_expert + c]);
    };
    g.describe = [a, sb = *b, layers, a_name, b_name](uint32_t r, uint32_t c) {
      return QObject::tr("layer %1 \u00b7 E%2: %3 %4 \u2212 %5 %6 = %7 points")
          .arg(layers[r])
          .arg(c)
          .arg(a_name, percent(a.fraction(r, c)), b_name, percent(sb.fraction(r, c)))
          .arg(signedPoints(a.fraction(r, c) - sb.fraction(r, c)));
    };
    return g;
  }
  const SelectionStats& s = mode == LoadMode::compare ? *b : a;
  const QString name = mode == LoadMode::compare ? b_name : a_name;
  g.title = QObject::tr("Expert load of %1: share of its %2 tokens that selected each expert")
                .arg(name)
                .arg(s.n_tokens);
  g.legend_title = QObject::tr("tokens");
  g.legend_high = percent(g.scale_max);
  g.legend_low = QStringLiteral("0%");
  g.cell_text = [values = g.values, n_expert](uint32_t r, uint32_t c) {
    return percent(values[static_cast<size_t>(r) * n_expert + c]);
  };
  g.describe = [s, layers](uint32_t r, uint32_t c) {
    const LayerLoad& l = s.load[r];
    const double mean_w = l.counts[c] ? l.weight_sums[c] / static_cast<double>(l.counts[c]) : 0.0;
    return QObject::tr(
               "layer %1 \u00b7 E%2: %3 of %4 tokens (%5), mean weight %6 \u00b7 layer CV %7")
        .arg(layers[r])
        .arg(c)
        .arg(l.counts[c])
        .arg(s.n_tokens)
        .arg(percent(s.fraction(r, c)))
        .arg(mean_w, 0, 'f', 3)
        .arg(l.cv, 0, 'f', 2);
  };
  return g;
}

GridModel coactivationGridModel(const Analysis& analysis, CoactivationNorm norm) {
  GridModel g;
  const InspectorData& data = *analysis.request.data;
  const uint32_t n = data.hasShape() ? data.nExpert() : 0;
  if (n == 0 || analysis.coactivation.size() != static_cast<size_t>(n) * n) return g;
  const uint32_t block = data.shape().moe_layers[analysis.request.layer];
  const std::vector<uint64_t>& c = analysis.coactivation;
  const double tokens = static_cast<double>(analysis.stats.n_tokens);
  g.rows = g.columns = n;
  g.square_cells = true;
  g.row_title = QObject::tr("expert");
  g.column_title = QObject::tr("co-selected expert");
  labelExperts(g, n, true, true);
  g.values.resize(static_cast<size_t>(n) * n);
  g.neutral.assign(g.values.size(), false);
  double top = 0.0;
  for (uint32_t i = 0; i < n; ++i) {
    const double ci = static_cast<double>(c[static_cast<size_t>(i) * n + i]);
    for (uint32_t j = 0; j < n; ++j) {
      const size_t at = static_cast<size_t>(i) * n + j;
      const double cij = static_cast<double>(c[at]);
      const double cj = static_cast<double>(c[static_cast<size_t>(j) * n + j]);
      double v = cij;
      if (norm == CoactivationNorm::conditional) v = ci > 0 ? cij / ci : 0.0;
      if (norm == CoactivationNorm::lift) {
        const double lift = ci > 0 && cj > 0 ? cij * tokens / (ci * cj) : 1.0;
        v = std::clamp(std::log2(std::max(lift, 1.0 / 16)), -4.0, 4.0);
      }
      g.values[at] = v;
      if (i == j) {
        g.neutral[at] = true;
        continue;
      }
      top = std::max(top, std::abs(v));
    }
  }
  g.scale_max = top > 0 ? top : 1.0;
  switch (norm) {
    case CoactivationNorm::count:
      g.title =
          QObject::tr("Co-activation at layer %1: tokens that selected both experts").arg(block);
      g.legend_title = QObject::tr("tokens");
      g.legend_high = QString::number(g.scale_max, 'f', 0);
      g.legend_low = QStringLiteral("0");
      break;
    case CoactivationNorm::conditional:
      g.title = QObject::tr("Co-activation at layer %1: P(column expert | row expert)").arg(block);
      g.legend_title = QObject::tr("P(col | row)");
      g.legend_high = QString::number(g.scale_max, 'f', 2);
      g.legend_low = QStringLiteral("0");
      break;
    case CoactivationNorm::lift:
      g.scale = GridModel::Scale::diverging;
      g.title = QObject::tr("Co-activation at layer %1: lift over chance (log2)").arg(block);
      g.legend_title = QObject::tr("lift");
      g.legend_high = QStringLiteral("\u00d7%1").arg(std::exp2(g.scale_max), 0, 'f', 1);
      g.legend_low = QStringLiteral("\u00d7%1").arg(std::exp2(-g.scale_max), 0, 'f', 2);
      break;
  }
  g.cell_text = [values = g.values, norm, n](uint32_t r, uint32_t col) {
    const double v = values[static_cast<size_t>(r) * n + col];
    if (norm == CoactivationNorm::count) return QString::number(v, 'f', 0);
    if (norm == CoactivationNorm::lift) return QStringLiteral("%1").arg(std::exp2(v), 0, 'f', 1);
    return QString::number(v, 'f', 2);
  };
  g.describe = [c, n, tokens](uint32_t i, uint32_t j) {
    const double ci = static_cast<double>(c[static_cast<size_t>(i) * n + i]);
    const double cj = static_cast<double>(c[static_cast<size_t>(j) * n + j]);
    const double cij = static_cast<double>(c[static_cast<size_t>(i) * n + j]);
    if (i == j)
      return QObject::tr("E%1 was selected by %2 of %3 tokens")
          .arg(i)
          .arg(static_cast<qulonglong>(ci))
          .arg(static_cast<qulonglong>(tokens));
    return QObject::tr("E%1 & E%2: together in %3 tokens \u00b7 P(E%2 | E%1) = %4 \u00b7 lift %5")
        .arg(i)
        .arg(j)
        .arg(static_cast<qulonglong>(cij))
        .arg(ci > 0 ? cij / ci : 0.0, 0, 'f', 3)
        .arg(ci > 0 && cj > 0 ? cij * tokens / (ci * cj) : 0.0, 0, 'f', 2);
  };
  return g;
}

}  // namespace es::inspector
