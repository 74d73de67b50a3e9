// The Routing Inspector: the dock that shows what the router did with a selection of a
// session's tokens (one answer, the whole session, a token range, one modality), in seven
// views — token chips coloured by a measure, a token × expert heatmap, the layer × expert
// load (and its difference from a second selection), one token's path, one expert's
// vocabulary and load, the co-activation matrix, and per-layer balance and entropy charts
// — each exportable as PNG and SVG.
//
// Threading: setData() and every other setter only store what they are given and schedule
// work; statistics are computed on the inspector's thread pool from the immutable
// InspectorData (debounced: while an answer streams, at most one analysis runs and the
// next starts when it ends), heatmap tiles are rendered there too, and results come back
// to the UI thread as queued calls. Nothing here blocks the UI thread on a long trace.
#pragma once

#include <QThreadPool>
#include <QTimer>
#include <QWidget>
#include <climits>
#include <memory>
#include <optional>

#include "colour_scales.h"
#include "grid_models.h"
#include "inspector_analysis.h"
#include "inspector_data.h"
#include "tiled_heatmap.h"

class QComboBox;
class QLabel;
class QSplitter;
class QTabWidget;
class QToolButton;

namespace es::inspector {

struct ChipMetrics;
class ChipMetricsCache;
class ChipView;
class ExpertView;
class GridView;
class MeasureLegend;
class PathView;
class StatsView;

/// The Routing Inspector widget (see the file comment).
class RoutingInspector : public QWidget {
  Q_OBJECT

 public:
  /// The views, in tab order. Zero is a real view here: the tab index.
  enum class View : int { tokens, heatmap, load, path, expert, coactivation, stats };
  /// What the heatmap's rows are.
  enum class HeatmapRows : int {
    experts = 1,  ///< Experts at the chosen layer; a cell is the weight the token gave them.
    layers = 2,   ///< Every MoE layer; a cell is the chosen measure.
  };

  /// The names setView() accepts, in tab order: tokens, heatmap, load, path, expert,
  /// coactivation, stats.
  [[nodiscard]] static QStringList viewNames();

  /// An empty inspector (no data) with its own worker pool.
  explicit RoutingInspector(QWidget* parent = nullptr);
  ~RoutingInspector() override;

  /// Shows `data` (null: nothing). Returns at once: the statistics are computed on a
  /// worker, at most one at a time; calling this for every streamed batch of an answer is
  /// fine (see InspectorData::withSegment). The selection (segment indices), layer,
  /// expert and token shown are kept when they still exist: on a switch to another session,
  /// call setSelection({}) and setCompareSelection({}) to start from the whole session.
  void setData(std::shared_ptr<const InspectorData> data);
  /// The data shown (may be null).
  [[nodiscard]] const std::shared_ptr<const InspectorData>& data() const { return data_; }
  /// The analysis the views show now (null until the first one arrived).
  [[nodiscard]] const std::shared_ptr<const Analysis>& analysis() const { return analysis_; }
  /// True while an analysis or an expert's detail is computing or waiting to.
  [[nodiscard]] bool isBusy() const;

  /// What the views look at.
  void setSelection(const InspectorSelection& selection);
  [[nodiscard]] InspectorSelection selection() const { return primary_; }
  /// The second selection of the difference view; nothing: none.
  void setCompareSelection(std::optional<InspectorSelection> selection);
  [[nodiscard]] std::optional<InspectorSelection> compareSelection() const { return compare_; }
  /// The MoE index (0 .. n_moe_layers - 1) whose routing the chips, the heatmap and the
  /// co-activation show. Defaults to the middle MoE layer.
  void setLayer(uint32_t m);
  [[nodiscard]] uint32_t layer() const { return layer_; }
  /// How chips (and the layers heatmap) are coloured.
  void setMeasure(Measure measure);
  [[nodiscard]] Measure measure() const { return measure_; }
  /// The heatmap's rows.
  void setHeatmapRows(HeatmapRows rows);
  /// What the load view shows (difference needs a compare selection).
  void setLoadMode(LoadMode mode);
  /// How the co-activation view normalises.
  void setCoactivationNorm(CoactivationNorm norm);

  /// Shows the view named `name` (viewNames()); false for an unknown name.
  bool setView(const QString& name);
  /// The name of the view shown.
  [[nodiscard]] QString currentView() const;
  /// Writes the view shown as PNG, or as SVG when `path` ends in .svg (atomically, through
  /// QSaveFile). False, with a message in `error`, when it cannot be written.
  bool exportView(const QString& path, QString* error = nullptr);

  /// The views, for the window and for tests.
  [[nodiscard]] ChipView* chipView() const { return chips_; }
  [[nodiscard]] TiledHeatmapView* heatmapView() const { return heatmap_; }
  [[nodiscard]] GridView* loadView() const { return load_; }
  [[nodiscard]] GridView* coactivationView() const { return coactivation_; }
  [[nodiscard]] PathView* pathView() const { return path_; }
  /// The compact path beside the chips.
  [[nodiscard]] PathView* chipPathView() const { return chip_path_; }
  [[nodiscard]] ExpertView* expertView() const { return expert_; }
  [[nodiscard]] StatsView* statsView() const { return stats_; }
  /// The selected expert (MoE index, expert), if any.
  [[nodiscard]] std::optional<std::pair<uint32_t, uint32_t>> selectedExpert() const {
    return selected_expert_;
  }

 public slots:
  /// Shows the path of token `token` of segment `segment` (an index into data()'s
  /// segments; the chat calls this when the pointer is over a token) and outlines its chip.
  void showTokenPath(int segment, int token);
  /// The same for token `token` of the message whose index in the session is
  /// `message_index` (InspectorData::segmentOfMessage); ignored when it has no routing.
  void showMessageTokenPath(int message_index, int token);
  /// Shows expert `expert` of MoE layer m in the expert view (its detail is computed on a
  /// worker) and marks it in the load view.
  void selectExpert(int m, int expert);

 signals:
  /// The pointer is over a token (chip or heatmap cell): segment index, token index.
  void tokenHovered(int segment, int token);
  /// An expert was selected (MoE index, expert).
  void expertSelected(int m, int expert);
  /// New statistics reached the views.
  void analysisUpdated();
  /// An expert's detail reached the expert view.
  void expertDetailUpdated();

 private:
  /// Where workers post results: this widget, or nobody once it is gone.
  struct Sink;

 protected:
  void changeEvent(QEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;

 private:
  /// Creates the toolbar, the tabs and their connections (routing_inspector_layout.cpp).
  void buildUi();
  /// The toolbar: scope, modality, layer, measure, compare, export.
  QWidget* buildToolbar();
  /// Fills the scope, compare and layer boxes from data_ and selects the current state.
  void refreshChoices();
  /// Asks for a new analysis in `delay_ms` (or after the running one).
  void scheduleAnalysis(int delay_ms);
  /// Starts the analysis on the pool (the debounce timer's slot).
  void startAnalysis();
  /// A worker's analysis arrived: every view takes it.
  void ui_analysisReady(std::shared_ptr<const Analysis> analysis,
                        std::shared_ptr<const ChipMetrics> metrics);
  /// Computes the selected expert's detail on the pool.
  void startExpertDetail();
  /// A worker's expert detail arrived (ignored when stale).
  void ui_expertReady(std::shared_ptr<const Analysis> analysis, ExpertDetail detail);
  /// A new heatmap source for the rows, measure and palette.
  void updateHeatmapSource(bool keep_view);
  /// New models for the load and co-activation views.
  void updateGrids();
  /// The chips' legend for the measure and layer.
  void updateLegend();
  /// The pointer entered chip `index`.
  void onChipHovered(qint64 index);
  /// A heatmap cell was clicked: its token's path and its expert.
  void onHeatmapClicked(qint64 column, int row);
  /// The scope or modality box changed.
  void onScopeChosen();
  /// The compare box changed.
  void onCompareChosen();
  /// Makes the chips' dragged range the selection.
  void scopeToChipRange();
  /// The widget exportView() draws for the current tab.
  [[nodiscard]] QWidget* exportWidget() const;

  QThreadPool pool_;
  std::shared_ptr<Sink> sink_;
  std::shared_ptr<StatsCache> stats_cache_;
  std::shared_ptr<ChipMetricsCache> chip_cache_;
  QTimer debounce_;
  bool analysis_running_ = false;
  bool analysis_dirty_ = false;
  int pending_delay_ms_ = INT_MAX;  ///< The shortest delay asked for while one ran.
  int expert_jobs_ = 0;

  std::shared_ptr<const InspectorData> data_;
  std::shared_ptr<const Analysis> analysis_;
  InspectorSelection primary_;
  std::optional<InspectorSelection> compare_;
  uint32_t layer_ = 0;
  bool layer_chosen_ = false;  ///< False until the user or the lead picks a layer.
  Measure measure_ = Measure::dominant_expert;
  HeatmapRows heatmap_rows_ = HeatmapRows::experts;
  LoadMode load_mode_ = LoadMode::difference;
  CoactivationNorm coactivation_norm_ = CoactivationNorm::conditional;
  std::optional<std::pair<uint32_t, uint32_t>> selected_expert_;
  std::vector<InspectorSelection> scope_choices_;
  std::vector<std::optional<InspectorSelection>> compare_choices_;
  bool updating_choices_ = false;

  QComboBox* scope_box_ = nullptr;
  QComboBox* modality_box_ = nullptr;
  QComboBox* layer_box_ = nullptr;
  QComboBox* measure_box_ = nullptr;
  QComboBox* compare_box_ = nullptr;
  QComboBox* heatmap_rows_box_ = nullptr;
  QComboBox* aggregate_box_ = nullptr;
  QComboBox* load_mode_box_ = nullptr;
  QComboBox* coactivation_box_ = nullptr;
  QToolButton* range_button_ = nullptr;
  QLabel* status_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QWidget* tokens_page_ = nullptr;
  QSplitter* tokens_split_ = nullptr;  ///< Chips beside (wide) or above (narrow) the path.
  MeasureLegend* legend_ = nullptr;
  ChipView* chips_ = nullptr;
  PathView* chip_path_ = nullptr;
  TiledHeatmapView* heatmap_ = nullptr;
  GridView* load_ = nullptr;
  PathView* path_ = nullptr;
  ExpertView* expert_ = nullptr;
  GridView* coactivation_ = nullptr;
  StatsView* stats_ = nullptr;
};

}  // namespace es::inspector
