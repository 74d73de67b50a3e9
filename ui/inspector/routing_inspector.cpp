// RoutingInspector: the toolbar, the seven views, the workers that feed them, export.
#include "routing_inspector.h"

#include <QComboBox>
#include <QEvent>
#include <QFileInfo>
#include <QLabel>
#include <QPainter>
#include <QSaveFile>
#include <QSplitter>
#include <QStandardItemModel>
#include <QSvgGenerator>
#include <QTabWidget>
#include <QThread>
#include <QToolButton>
#include <algorithm>
#include <climits>
#include <mutex>

#include "chart_views.h"
#include "chip_view.h"
#include "grid_view.h"
#include "heatmap_sources.h"
#include "path_view.h"

namespace es::inspector {

namespace {

/// While an answer streams, statistics are recomputed at most this often.
constexpr int kStreamDebounceMs = 120;
/// Analyses and expert details go before heatmap tiles in the pool's queue.
constexpr int kAnalysisPriority = 1;
/// Below this width the token page stacks the path under the chips.
constexpr int kSideBySideWidth = 800;

/// Sets the items of `box` to `labels` (in place when the count is unchanged, so that a
/// streaming update does not reset an open popup) and selects `current`.
void setChoices(QComboBox* box, const QStringList& labels, int current) {
  if (box->count() == labels.size()) {
    for (int i = 0; i < labels.size(); ++i)
      if (box->itemText(i) != labels[i]) box->setItemText(i, labels[i]);
  } else {
    box->clear();
    box->addItems(labels);
  }
  box->setCurrentIndex(current);
}

bool sameScope(const InspectorSelection& a, const InspectorSelection& b) {
  return a.segment == b.segment && a.range.begin == b.range.begin && a.range.end == b.range.end;
}

}  // namespace

struct RoutingInspector::Sink {
  std::mutex mutex;
  RoutingInspector* target = nullptr;

  /// Calls fn(target) on the UI thread, unless the inspector is gone by then.
  template <typename Fn>
  void post(Fn fn) {
    std::lock_guard lock(mutex);
    if (!target) return;
    QMetaObject::invokeMethod(
        target, [t = target, fn = std::move(fn)]() mutable { fn(t); }, Qt::QueuedConnection);
  }
};

QStringList RoutingInspector::viewNames() {
  return {QStringLiteral("tokens"), QStringLiteral("heatmap"), QStringLiteral("load"),
          QStringLiteral("path"),   QStringLiteral("expert"),  QStringLiteral("coactivation"),
          QStringLiteral("stats")};
}

RoutingInspector::RoutingInspector(QWidget* parent)
    : QWidget(parent),
      sink_(std::make_shared<Sink>()),
      stats_cache_(std::make_shared<StatsCache>()),
      chip_cache_(std::make_shared<ChipMetricsCache>()) {
  sink_->target = this;
  pool_.setMaxThreadCount(std::max(2, QThread::idealThreadCount() - 1));
  debounce_.setSingleShot(true);
  connect(&debounce_, &QTimer::timeout, this, &RoutingInspector::startAnalysis);
  buildUi();
}

RoutingInspector::~RoutingInspector() {
  {
    std::lock_guard lock(sink_->mutex);
    sink_->target = nullptr;
  }
  pool_.clear();
  pool_.waitForDone();
}

// --- state ----------------------------------------------------------------------------

void RoutingInspector::setData(std::shared_ptr<const InspectorData> data) {
  data_ = std::move(data);
  if (data_) {
    const auto n_segments = static_cast<int>(data_->segmentCount());
    if (primary_.segment >= n_segments) primary_ = {};
    if (compare_ && compare_->segment >= n_segments) compare_.reset();
    if (data_->hasShape()) {
      if (!layer_chosen_) layer_ = data_->nLayers() / 2;
      layer_ = std::min(layer_, data_->nLayers() - 1);
    }
  }
  refreshChoices();
  scheduleAnalysis(analysis_ ? kStreamDebounceMs : 0);
}

bool RoutingInspector::isBusy() const {
  return analysis_running_ || analysis_dirty_ || debounce_.isActive() || expert_jobs_ > 0;
}

void RoutingInspector::setSelection(const InspectorSelection& selection) {
  if (selection == primary_) return;
  primary_ = selection;
  refreshChoices();
  scheduleAnalysis(0);
}

void RoutingInspector::setCompareSelection(std::optional<InspectorSelection> selection) {
  if (selection == compare_) return;
  compare_ = std::move(selection);
  refreshChoices();
  scheduleAnalysis(0);
}

void RoutingInspector::setLayer(uint32_t m) {
  layer_chosen_ = true;
  if (data_ && data_->hasShape()) m = std::min(m, data_->nLayers() - 1);
  if (m == layer_) return;
  layer_ = m;
  refreshChoices();
  updateLegend();
  scheduleAnalysis(0);
}

void RoutingInspector::setMeasure(Measure measure) {
  if (measure == measure_) return;
  measure_ = measure;
  measure_box_->setCurrentIndex(measure_box_->findData(static_cast<int>(measure)));
  chips_->setMeasure(measure);
  updateLegend();
  if (heatmap_rows_ == HeatmapRows::layers) updateHeatmapSource(true);
}

void RoutingInspector::setHeatmapRows(HeatmapRows rows) {
  if (rows == heatmap_rows_) return;
  heatmap_rows_ = rows;
  heatmap_rows_box_->setCurrentIndex(heatmap_rows_box_->findData(static_cast<int>(rows)));
  updateHeatmapSource(true);
}

void RoutingInspector::setLoadMode(LoadMode mode) {
  load_mode_ = mode;
  updateGrids();
}

void RoutingInspector::setCoactivationNorm(CoactivationNorm norm) {
  coactivation_norm_ = norm;
  coactivation_box_->setCurrentIndex(coactivation_box_->findData(static_cast<int>(norm)));
  updateGrids();
}

bool RoutingInspector::setView(const QString& name) {
  const auto i = viewNames().indexOf(name.trimmed().toLower());
  if (i < 0) return false;
  tabs_->setCurrentIndex(static_cast<int>(i));
  return true;
}

QString RoutingInspector::currentView() const {
  return viewNames().value(tabs_->currentIndex());
}

void RoutingInspector::refreshChoices() {
  updating_choices_ = true;
  const bool have = data_ && data_->hasShape();
  // Scope: the whole session, each message, and a custom selection when there is one.
  scope_choices_.clear();
  QStringList scope_labels;
  scope_choices_.push_back({});
  scope_labels << (have ? tr("whole session (%1 tokens)").arg(data_->totalTokens())
                        : tr("whole session"));
  if (have) {
    for (size_t s = 0; s < data_->segmentCount(); ++s) {
      scope_choices_.push_back({static_cast<int>(s), {}, Modality::unset});
      scope_labels << tr("%1 (%2 tokens)")
                          .arg(data_->segment(s).label())
                          .arg(data_->segment(s).trace->n_tokens());
    }
  }
  int scope_index = -1;
  for (size_t i = 0; i < scope_choices_.size(); ++i)
    if (sameScope(scope_choices_[i], primary_)) scope_index = static_cast<int>(i);
  if (scope_index < 0) {
    InspectorSelection custom = primary_;
    custom.modality = Modality::unset;
    scope_choices_.push_back(custom);
    scope_labels << (have ? data_->describe(custom) : tr("custom range"));
    scope_index = static_cast<int>(scope_choices_.size()) - 1;
  }
  setChoices(scope_box_, scope_labels, scope_index);
  modality_box_->setCurrentIndex(static_cast<int>(primary_.modality));

  // Compare: none, the session, each message, each modality present, a custom one.
  compare_choices_.clear();
  QStringList compare_labels;
  compare_choices_.push_back(std::nullopt);
  compare_labels << tr("nothing");
  if (have) {
    compare_choices_.push_back(InspectorSelection{});
    compare_labels << tr("whole session");
    for (size_t s = 0; s < data_->segmentCount(); ++s) {
      compare_choices_.push_back(InspectorSelection{static_cast<int>(s), {}, Modality::unset});
      compare_labels << data_->segment(s).label();
    }
    for (const Modality m : {Modality::text, Modality::image, Modality::video}) {
      if (!data_->hasModality(m)) continue;
      compare_choices_.push_back(InspectorSelection{-1, {}, m});
      compare_labels << data_->describe(InspectorSelection{-1, {}, m});
    }
  }
  int compare_index = -1;
  for (size_t i = 0; i < compare_choices_.size(); ++i)
    if (compare_choices_[i] == compare_) compare_index = static_cast<int>(i);
  if (compare_index < 0) {
    compare_choices_.push_back(compare_);
    compare_labels << (have ? data_->describe(*compare_) : tr("custom"));
    compare_index = static_cast<int>(compare_choices_.size()) - 1;
  }
  setChoices(compare_box_, compare_labels, compare_index);

  QStringList layer_labels;
  if (have)
    for (const uint32_t block : data_->shape().moe_layers)
      layer_labels << tr("layer %1").arg(block);
  setChoices(layer_box_, layer_labels, have ? static_cast<int>(layer_) : -1);
  updating_choices_ = false;
}

void RoutingInspector::onScopeChosen() {
  if (updating_choices_) return;
  const int i = scope_box_->currentIndex();
  if (i < 0 || static_cast<size_t>(i) >= scope_choices_.size()) return;
  InspectorSelection selection = scope_choices_[static_cast<size_t>(i)];
  selection.modality = static_cast<Modality>(std::max(0, modality_box_->currentIndex()));
  setSelection(selection);
}

void RoutingInspector::onCompareChosen() {
  if (updating_choices_) return;
  const int i = compare_box_->currentIndex();
  if (i < 0 || static_cast<size_t>(i) >= compare_choices_.size()) return;
  const auto choice = compare_choices_[static_cast<size_t>(i)];
  if (choice) setLoadMode(LoadMode::difference);
  setCompareSelection(choice);
}

void RoutingInspector::scopeToChipRange() {
  const auto range = chips_->selectedRange();
  range_button_->setEnabled(false);
  if (!range || !analysis_ || analysis_->axis->empty()) return;
  const TokenAxis::Token a = analysis_->axis->at(range->first);
  const TokenAxis::Token b = analysis_->axis->at(range->second);
  InspectorSelection selection;
  selection.modality = primary_.modality;
  if (a.segment == b.segment) {
    selection.segment = static_cast<int>(a.segment);
    selection.range = {a.token, b.token + 1};
  } else {
    const InspectorData& data = *analysis_->request.data;
    selection.range = {static_cast<uint32_t>(data.globalIndex(a.segment, a.token)),
                       static_cast<uint32_t>(data.globalIndex(b.segment, b.token) + 1)};
  }
  chips_->clearSelectedRange();
  setSelection(selection);
}

// --- workers --------------------------------------------------------------------------

void RoutingInspector::scheduleAnalysis(int delay_ms) {
  analysis_dirty_ = true;
  if (analysis_running_) {
    pending_delay_ms_ = std::min(pending_delay_ms_, delay_ms);
    return;
  }
  if (!debounce_.isActive() || delay_ms < debounce_.remainingTime()) debounce_.start(delay_ms);
}

void RoutingInspector::startAnalysis() {
  if (analysis_running_ || !analysis_dirty_) return;
  analysis_dirty_ = false;
  if (!data_) {
    analysis_.reset();
    chips_->setContent(nullptr, nullptr, false);
    heatmap_->setSource(nullptr, false);
    load_->setModel({});
    coactivation_->setModel({});
    stats_->setAnalysis(nullptr);
    path_->setAnalysis(nullptr);
    chip_path_->setAnalysis(nullptr);
    expert_->clearDetail();
    status_->setText(tr("No routing to show yet"));
    emit analysisUpdated();
    return;
  }
  analysis_running_ = true;
  status_->setText(status_->text().section(QStringLiteral("  \u00b7  "), 0, 0) +
                   tr("  \u00b7  analysing\u2026"));
  AnalysisRequest request{data_, primary_, compare_, layer_};
  pool_.start(
      [sink = sink_, request, stats = stats_cache_, chips = chip_cache_, font = chips_->font()] {
        auto analysis = analyse(request, stats.get());
        auto metrics = chips->measure(*analysis, font);
        sink->post([analysis, metrics](RoutingInspector* self) {
          self->ui_analysisReady(analysis, metrics);
        });
      },
      kAnalysisPriority);
}

void RoutingInspector::ui_analysisReady(std::shared_ptr<const Analysis> analysis,
                                        std::shared_ptr<const ChipMetrics> metrics) {
  analysis_running_ = false;
  const auto previous = analysis_;
  analysis_ = std::move(analysis);
  const Analysis& a = *analysis_;
  const bool same_selection = previous && previous->request.primary == a.request.primary;
  chips_->setContent(analysis_, std::move(metrics), same_selection);
  chips_->setMeasure(measure_);
  updateLegend();
  updateHeatmapSource(same_selection);
  updateGrids();
  stats_->setAnalysis(analysis_);
  path_->setAnalysis(analysis_);
  chip_path_->setAnalysis(analysis_);
  if (!path_->hasToken() && !path_->hasPendingToken() && !a.axis->empty()) {
    const TokenAxis::Token t = a.axis->at(0);
    path_->setToken(t.segment, t.token);
    chip_path_->setToken(t.segment, t.token);
  }
  const InspectorData& data = *a.request.data;
  if (data.hasShape()) {
    if (selected_expert_ &&
        (selected_expert_->first >= data.nLayers() || selected_expert_->second >= data.nExpert()))
      selected_expert_.reset();
    if (!selected_expert_ && a.stats.n_tokens > 0) {
      // Start with the busiest expert of the chosen layer.
      const auto& counts = a.stats.load[a.request.layer].counts;
      const auto busiest = std::max_element(counts.begin(), counts.end()) - counts.begin();
      selected_expert_ = {a.request.layer, static_cast<uint32_t>(busiest)};
      load_->setMarkedCell(selected_expert_);
    }
    if (selected_expert_) startExpertDetail();
    status_->setText(tr("%1 \u00b7 %2 tokens \u00b7 %3 MoE layers \u00d7 %4 experts, top-%5")
                         .arg(data.describe(a.request.primary))
                         .arg(a.axis->size())
                         .arg(data.nLayers())
                         .arg(data.nExpert())
                         .arg(data.topK()));
  } else {
    status_->setText(tr("No routing to show yet"));
  }
  emit analysisUpdated();
  if (analysis_dirty_) {
    debounce_.start(pending_delay_ms_ == INT_MAX ? kStreamDebounceMs : pending_delay_ms_);
    pending_delay_ms_ = INT_MAX;
  }
}

void RoutingInspector::startExpertDetail() {
  if (!analysis_ || !selected_expert_) return;
  ++expert_jobs_;
  pool_.start(
      [sink = sink_, analysis = analysis_, which = *selected_expert_] {
        ExpertDetail detail = expertDetail(*analysis, which.first, which.second);
        sink->post([analysis, detail = std::move(detail)](RoutingInspector* self) mutable {
          self->ui_expertReady(analysis, std::move(detail));
        });
      },
      kAnalysisPriority);
}

void RoutingInspector::ui_expertReady(std::shared_ptr<const Analysis> analysis,
                                      ExpertDetail detail) {
  --expert_jobs_;
  if (analysis != analysis_ || !selected_expert_ || detail.layer != selected_expert_->first ||
      detail.expert != selected_expert_->second)
    return;
  expert_->setDetail(std::move(detail));
  emit expertDetailUpdated();
}

// --- views ----------------------------------------------------------------------------

void RoutingInspector::updateHeatmapSource(bool keep_view) {
  if (!analysis_) {
    heatmap_->setSource(nullptr, false);
    return;
  }
  const bool dark = isDark(palette());
  if (heatmap_rows_ == HeatmapRows::experts)
    heatmap_->setSource(std::make_shared<ExpertHeatmapSource>(analysis_, dark), keep_view);
  else
    heatmap_->setSource(std::make_shared<LayerHeatmapSource>(analysis_, measure_, dark), keep_view);
}

void RoutingInspector::updateGrids() {
  if (!analysis_) {
    load_mode_box_->setCurrentIndex(load_mode_box_->findData(static_cast<int>(load_mode_)));
    return;
  }
  const bool has_compare = analysis_->compare.has_value();
  for (const LoadMode m : {LoadMode::compare, LoadMode::difference}) {
    const int i = load_mode_box_->findData(static_cast<int>(m));
    if (auto* model = qobject_cast<QStandardItemModel*>(load_mode_box_->model()))
      if (QStandardItem* item = model->item(i)) item->setEnabled(has_compare);
  }
  // The box shows what is drawn: the selection's load while there is nothing to compare.
  const LoadMode shown = has_compare ? load_mode_ : LoadMode::primary;
  updating_choices_ = true;
  load_mode_box_->setCurrentIndex(load_mode_box_->findData(static_cast<int>(shown)));
  updating_choices_ = false;
  load_->setModel(loadGridModel(*analysis_, shown));
  load_->setMarkedCell(selected_expert_);
  coactivation_->setModel(coactivationGridModel(*analysis_, coactivation_norm_));
}

void RoutingInspector::updateLegend() {
  if (!data_ || !data_->hasShape()) return;
  legend_->setMeasure(measure_, data_->shape().moe_layers[std::min(layer_, data_->nLayers() - 1)],
                      data_->nExpert());
}

void RoutingInspector::showTokenPath(int segment, int token) {
  if (segment < 0 || token < 0) return;
  path_->setToken(static_cast<size_t>(segment), static_cast<uint32_t>(token));
  chip_path_->setToken(static_cast<size_t>(segment), static_cast<uint32_t>(token));
  if (!analysis_) return;
  const auto index =
      analysis_->axis->indexOf(static_cast<size_t>(segment), static_cast<uint32_t>(token));
  chips_->setHighlighted(index);
  if (index) chips_->ensureChipVisible(*index);
}

void RoutingInspector::showMessageTokenPath(int message_index, int token) {
  if (!data_) return;
  if (const auto segment = data_->segmentOfMessage(message_index))
    showTokenPath(static_cast<int>(*segment), token);
}

void RoutingInspector::selectExpert(int m, int expert) {
  if (m < 0 || expert < 0) return;
  if (data_ && data_->hasShape() &&
      (static_cast<uint32_t>(m) >= data_->nLayers() ||
       static_cast<uint32_t>(expert) >= data_->nExpert()))
    return;
  selected_expert_ = {static_cast<uint32_t>(m), static_cast<uint32_t>(expert)};
  load_->setMarkedCell(selected_expert_);
  startExpertDetail();
  emit expertSelected(m, expert);
}

void RoutingInspector::onChipHovered(qint64 index) {
  if (!analysis_ || index < 0 || static_cast<uint64_t>(index) >= analysis_->axis->size()) return;
  const TokenAxis::Token t = analysis_->axis->at(static_cast<uint64_t>(index));
  path_->setToken(t.segment, t.token);
  chip_path_->setToken(t.segment, t.token);
  emit tokenHovered(static_cast<int>(t.segment), static_cast<int>(t.token));
}

void RoutingInspector::onHeatmapClicked(qint64 column, int row) {
  if (!analysis_ || column < 0 || static_cast<uint64_t>(column) >= analysis_->axis->size()) return;
  const TokenAxis::Token t = analysis_->axis->at(static_cast<uint64_t>(column));
  showTokenPath(static_cast<int>(t.segment), static_cast<int>(t.token));
  if (heatmap_rows_ == HeatmapRows::experts) {
    selectExpert(static_cast<int>(analysis_->request.layer), row);
  } else {
    const RoutingTrace& trace = *analysis_->request.data->segment(t.segment).trace;
    selectExpert(row, trace.expert(t.token, static_cast<uint32_t>(row), 0));
  }
  tabs_->setCurrentIndex(static_cast<int>(View::expert));
}

void RoutingInspector::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  // In a narrow dock the path goes under the chips.
  const auto orientation = width() < kSideBySideWidth ? Qt::Vertical : Qt::Horizontal;
  if (tokens_split_->orientation() == orientation) return;
  tokens_split_->setOrientation(orientation);
  const int extent = orientation == Qt::Vertical ? tokens_split_->height() : tokens_split_->width();
  const int chips = extent * (orientation == Qt::Vertical ? 45 : 60) / 100;
  tokens_split_->setSizes({chips, extent - chips});
}

void RoutingInspector::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  // The heatmap's tiles carry the scale of the palette they were drawn for.
  if (event->type() == QEvent::PaletteChange && analysis_) updateHeatmapSource(true);
}

// --- export ---------------------------------------------------------------------------

QWidget* RoutingInspector::exportWidget() const {
  switch (static_cast<View>(tabs_->currentIndex())) {
    case View::tokens:
      return tokens_page_;
    case View::heatmap:
      return heatmap_;
    case View::load:
      return load_;
    case View::path:
      return path_;
    case View::expert:
      return expert_;
    case View::coactivation:
      return coactivation_;
    case View::stats:
      return stats_;
  }
  return tabs_->currentWidget();
}

bool RoutingInspector::exportView(const QString& path, QString* error) {
  const auto fail = [error](const QString& message) {
    if (error) *error = message;
    return false;
  };
  QWidget* widget = exportWidget();
  if (widget == heatmap_) heatmap_->renderVisibleTilesNow();
  QSize size = widget->size();
  if (size.width() < 2 || size.height() < 2) size = widget->sizeHint().expandedTo(QSize(400, 300));
  if (widget->size() != size) widget->resize(size);
  const QString description =
      tr("Expertscope routing inspector: %1 view of %2")
          .arg(currentView(), data_ ? data_->describe(primary_) : tr("no data"));
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) return fail(tr("%1: %2").arg(path, file.errorString()));
  if (QFileInfo(path).suffix().compare(QStringLiteral("svg"), Qt::CaseInsensitive) == 0) {
    QSvgGenerator svg;
    svg.setOutputDevice(&file);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    svg.setTitle(tr("Expertscope routing: %1").arg(currentView()));
    svg.setDescription(description);
    QPainter painter;
    if (!painter.begin(&svg)) return fail(tr("%1: cannot draw the SVG").arg(path));
    widget->render(&painter, QPoint(), QRegion(),
                   QWidget::DrawWindowBackground | QWidget::DrawChildren);
    painter.end();
  } else {
    const qreal dpr = std::max<qreal>(1.0, widget->devicePixelRatioF());
    QImage image(size * dpr, QImage::Format_ARGB32_Premultiplied);
    image.setDevicePixelRatio(dpr);
    image.fill(widget->palette().color(QPalette::Window));
    widget->render(&image, QPoint(), QRegion(),
                   QWidget::DrawWindowBackground | QWidget::DrawChildren);
    image.setText(QStringLiteral("Description"), description);
    if (!image.save(&file, "PNG")) return fail(tr("%1: the PNG could not be written").arg(path));
  }
  if (!file.commit()) return fail(tr("%1: %2").arg(path, file.errorString()));
  return true;
}

}  // namespace es::inspector
