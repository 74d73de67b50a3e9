// The inspector's Qt Charts views: one expert (its vocabulary, its load along the
// selection and by layer) and the per-layer statistics (load balance, router entropy,
// consecutive-token overlap), with chart colours taken from the widget palette so that
// they follow a light or dark theme.
#pragma once

#include <QWidget>
#include <memory>
#include <optional>

#include "inspector_analysis.h"

class QChart;
class QChartView;
class QLabel;
class QTableWidget;
class QValueAxis;

namespace es::inspector {

/// Colours `chart` (background, title, legend, every axis) after `palette`, with the
/// light or dark Qt Charts theme underneath. Call after the axes are attached.
void styleChart(QChart* chart, const QPalette& palette);

/// One expert: a header, its vocabulary table and two charts.
class ExpertView : public QWidget {
  Q_OBJECT

 public:
  /// An empty expert view (a hint until setDetail).
  explicit ExpertView(QWidget* parent = nullptr);

  /// Shows `detail` (computed on a worker by expertDetail).
  void setDetail(ExpertDetail detail);
  /// Shows a hint instead of an expert.
  void clearDetail();
  /// The detail shown, if any.
  [[nodiscard]] const std::optional<ExpertDetail>& detail() const { return detail_; }
  /// The vocabulary table (for tests).
  [[nodiscard]] QTableWidget* vocabularyTable() const { return table_; }
  /// The header line.
  [[nodiscard]] QString headerText() const;

 signals:
  /// A vocabulary row was activated: the token id.
  void tokenIdActivated(int token_id);

 protected:
  void changeEvent(QEvent* event) override;

 private:
  /// Rebuilds the charts from detail_ in the current palette.
  void restyle();

  std::optional<ExpertDetail> detail_;
  QLabel* header_;
  QTableWidget* table_;
  QChartView* along_view_;
  QChartView* layers_view_;
};

/// Per-layer statistics of the selection (and of the compare selection, dashed).
class StatsView : public QWidget {
  Q_OBJECT

 public:
  /// Empty charts until setAnalysis.
  explicit StatsView(QWidget* parent = nullptr);

  /// Shows `analysis`.
  void setAnalysis(std::shared_ptr<const Analysis> analysis);
  /// The balance chart (for tests).
  [[nodiscard]] QChart* balanceChart() const;
  /// The entropy chart.
  [[nodiscard]] QChart* entropyChart() const;

 protected:
  void changeEvent(QEvent* event) override;

 private:
  /// Rebuilds both charts from analysis_ in the current palette.
  void rebuild();

  std::shared_ptr<const Analysis> analysis_;
  QChartView* balance_view_;
  QChartView* entropy_view_;
};

}  // namespace es::inspector
