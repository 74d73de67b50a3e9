// RoutingInspector's widgets: the toolbar, the seven tabs and their control rows, and the
// connections between the views (a click on an expert anywhere opens the expert view).
#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include "chart_views.h"
#include "chip_view.h"
#include "grid_view.h"
#include "path_view.h"
#include "routing_inspector.h"

namespace es::inspector {

namespace {

/// A row of controls above a view.
QHBoxLayout* controlRow(QVBoxLayout* page) {
  auto* row = new QHBoxLayout;
  row->setContentsMargins(6, 4, 6, 2);
  row->setSpacing(6);
  page->addLayout(row);
  return row;
}

QVBoxLayout* pageLayout(QWidget* page) {
  auto* layout = new QVBoxLayout(page);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  return layout;
}

}  // namespace

QWidget* RoutingInspector::buildToolbar() {
  auto* bar = new QToolBar(this);
  bar->setIconSize(QSize(16, 16));
  const auto label = [bar](const QString& text) {
    auto* l = new QLabel(text, bar);
    l->setContentsMargins(6, 0, 2, 0);
    bar->addWidget(l);
  };
  scope_box_ = new QComboBox(bar);
  scope_box_->setToolTip(tr("Which tokens the views look at"));
  scope_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  modality_box_ = new QComboBox(bar);
  modality_box_->addItems(
      {tr("all tokens"), tr("text tokens"), tr("image tokens"), tr("video tokens")});
  modality_box_->setToolTip(tr("Only tokens of one modality"));
  layer_box_ = new QComboBox(bar);
  layer_box_->setToolTip(
      tr("The layer whose routing the chips, the heatmap and the co-activation show"));
  measure_box_ = new QComboBox(bar);
  measure_box_->addItem(tr("dominant expert"), static_cast<int>(Measure::dominant_expert));
  measure_box_->addItem(tr("router entropy"), static_cast<int>(Measure::entropy));
  measure_box_->addItem(tr("top-1 weight"), static_cast<int>(Measure::top1_weight));
  measure_box_->setToolTip(tr("How token chips are coloured"));
  compare_box_ = new QComboBox(bar);
  compare_box_->setToolTip(tr("A second selection: the load view shows the difference"));
  compare_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);

  label(tr("Show"));
  bar->addWidget(scope_box_);
  bar->addWidget(modality_box_);
  label(tr("at"));
  bar->addWidget(layer_box_);
  label(tr("colour"));
  bar->addWidget(measure_box_);
  label(tr("compare with"));
  bar->addWidget(compare_box_);
  bar->addSeparator();
  auto* export_button = new QToolButton(bar);
  export_button->setText(tr("Export"));
  export_button->setToolTip(tr("Save the view shown as PNG or SVG"));
  export_button->setPopupMode(QToolButton::InstantPopup);
  auto* menu = new QMenu(export_button);
  const auto ask = [this](const QString& filter, const QString& suffix) {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export view"), QStringLiteral("routing-%1.%2").arg(currentView(), suffix),
        filter);
    if (path.isEmpty()) return;
    QString error;
    if (!exportView(path, &error)) status_->setText(tr("Export failed: %1").arg(error));
  };
  menu->addAction(tr("PNG image…"), this,
                  [ask] { ask(tr("PNG image (*.png)"), QStringLiteral("png")); });
  menu->addAction(tr("SVG drawing…"), this,
                  [ask] { ask(tr("SVG drawing (*.svg)"), QStringLiteral("svg")); });
  export_button->setMenu(menu);
  bar->addWidget(export_button);

  connect(scope_box_, &QComboBox::currentIndexChanged, this, &RoutingInspector::onScopeChosen);
  connect(modality_box_, &QComboBox::currentIndexChanged, this, &RoutingInspector::onScopeChosen);
  connect(compare_box_, &QComboBox::currentIndexChanged, this, &RoutingInspector::onCompareChosen);
  connect(layer_box_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (!updating_choices_ && i >= 0) setLayer(static_cast<uint32_t>(i));
  });
  connect(measure_box_, &QComboBox::currentIndexChanged, this,
          [this](int) { setMeasure(static_cast<Measure>(measure_box_->currentData().toInt())); });
  return bar;
}

void RoutingInspector::buildUi() {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(buildToolbar());
  tabs_ = new QTabWidget(this);
  tabs_->setDocumentMode(true);
  layout->addWidget(tabs_, 1);
  status_ = new QLabel(this);
  status_->setContentsMargins(6, 2, 6, 2);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(status_);

  // Tokens: legend, chips, and the hovered token's path beside them.
  tokens_page_ = new QWidget;
  auto* tokens = pageLayout(tokens_page_);
  auto* tokens_row = controlRow(tokens);
  legend_ = new MeasureLegend(tokens_page_);
  tokens_row->addWidget(legend_, 1);
  range_button_ = new QToolButton(tokens_page_);
  range_button_->setText(tr("Inspect selected tokens"));
  range_button_->setToolTip(tr("Drag across chips to select a range, then make it the selection"));
  range_button_->setEnabled(false);
  tokens_row->addWidget(range_button_);
  auto* split = tokens_split_ = new QSplitter(Qt::Horizontal, tokens_page_);
  chips_ = new ChipView(split);
  auto* chip_path_scroll = new QScrollArea(split);
  chip_path_ = new PathView;
  chip_path_scroll->setWidget(chip_path_);
  chip_path_scroll->setWidgetResizable(true);
  split->addWidget(chips_);
  split->addWidget(chip_path_scroll);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  tokens->addWidget(split, 1);
  tabs_->addTab(tokens_page_, tr("Tokens"));

  // Heatmap: rows and aggregation, the tiled view.
  auto* heat_page = new QWidget;
  auto* heat = pageLayout(heat_page);
  auto* heat_row = controlRow(heat);
  heatmap_rows_box_ = new QComboBox(heat_page);
  heatmap_rows_box_->addItem(tr("experts at the chosen layer (weight)"),
                             static_cast<int>(HeatmapRows::experts));
  heatmap_rows_box_->addItem(tr("every layer (colour measure)"),
                             static_cast<int>(HeatmapRows::layers));
  aggregate_box_ = new QComboBox(heat_page);
  aggregate_box_->addItem(tr("max"), static_cast<int>(Aggregate::max));
  aggregate_box_->addItem(tr("mean"), static_cast<int>(Aggregate::mean));
  aggregate_box_->setToolTip(tr("How a pixel column that covers several tokens summarises them"));
  auto* fit = new QToolButton(heat_page);
  fit->setText(tr("Fit"));
  fit->setToolTip(tr("Zoom so that every token fits (0)"));
  heat_row->addWidget(new QLabel(tr("Rows:"), heat_page));
  heat_row->addWidget(heatmap_rows_box_);
  heat_row->addWidget(new QLabel(tr("zoomed out:"), heat_page));
  heat_row->addWidget(aggregate_box_);
  heat_row->addWidget(fit);
  heat_row->addStretch(1);
  heatmap_ = new TiledHeatmapView(&pool_, heat_page);
  heat->addWidget(heatmap_, 1);
  tabs_->addTab(heat_page, tr("Heatmap"));

  // Load.
  auto* load_page = new QWidget;
  auto* load = pageLayout(load_page);
  auto* load_row = controlRow(load);
  load_mode_box_ = new QComboBox(load_page);
  load_mode_box_->addItem(tr("selection (A)"), static_cast<int>(LoadMode::primary));
  load_mode_box_->addItem(tr("compared selection (B)"), static_cast<int>(LoadMode::compare));
  load_mode_box_->addItem(tr("difference A \u2212 B"), static_cast<int>(LoadMode::difference));
  load_row->addWidget(new QLabel(tr("Show:"), load_page));
  load_row->addWidget(load_mode_box_);
  load_row->addStretch(1);
  load_ = new GridView(load_page);
  load->addWidget(load_, 1);
  tabs_->addTab(load_page, tr("Load"));

  // Path.
  auto* path_scroll = new QScrollArea;
  path_ = new PathView;
  path_scroll->setWidget(path_);
  path_scroll->setWidgetResizable(true);
  tabs_->addTab(path_scroll, tr("Path"));

  // Expert.
  expert_ = new ExpertView;
  tabs_->addTab(expert_, tr("Expert"));

  // Co-activation.
  auto* co_page = new QWidget;
  auto* co = pageLayout(co_page);
  auto* co_row = controlRow(co);
  coactivation_box_ = new QComboBox(co_page);
  coactivation_box_->addItem(tr("P(column | row)"),
                             static_cast<int>(CoactivationNorm::conditional));
  coactivation_box_->addItem(tr("token counts"), static_cast<int>(CoactivationNorm::count));
  coactivation_box_->addItem(tr("lift over chance"), static_cast<int>(CoactivationNorm::lift));
  co_row->addWidget(new QLabel(tr("Show:"), co_page));
  co_row->addWidget(coactivation_box_);
  co_row->addStretch(1);
  coactivation_ = new GridView(co_page);
  co->addWidget(coactivation_, 1);
  tabs_->addTab(co_page, tr("Co-activation"));

  // Statistics.
  stats_ = new StatsView;
  tabs_->addTab(stats_, tr("Statistics"));

  connect(chips_, &ChipView::chipHovered, this, &RoutingInspector::onChipHovered);
  connect(chips_, &ChipView::chipClicked, this, &RoutingInspector::onChipHovered);
  connect(chips_, &ChipView::rangeSelected, this, [this] { range_button_->setEnabled(true); });
  connect(range_button_, &QToolButton::clicked, this, &RoutingInspector::scopeToChipRange);
  connect(heatmap_, &TiledHeatmapView::cellClicked, this, &RoutingInspector::onHeatmapClicked);
  connect(heatmap_, &TiledHeatmapView::cellHovered, this, [this](qint64 column, int) {
    if (!analysis_ || heatmap_->pixelsPerToken() < 1.0) return;
    const TokenAxis::Token t = analysis_->axis->at(static_cast<uint64_t>(column));
    emit tokenHovered(static_cast<int>(t.segment), static_cast<int>(t.token));
  });
  connect(heatmap_rows_box_, &QComboBox::currentIndexChanged, this, [this](int) {
    setHeatmapRows(static_cast<HeatmapRows>(heatmap_rows_box_->currentData().toInt()));
  });
  connect(aggregate_box_, &QComboBox::currentIndexChanged, this, [this](int) {
    heatmap_->setAggregate(static_cast<Aggregate>(aggregate_box_->currentData().toInt()));
  });
  connect(fit, &QToolButton::clicked, heatmap_, &TiledHeatmapView::zoomToFit);
  connect(load_mode_box_, &QComboBox::currentIndexChanged, this, [this](int) {
    if (!updating_choices_)
      setLoadMode(static_cast<LoadMode>(load_mode_box_->currentData().toInt()));
  });
  connect(coactivation_box_, &QComboBox::currentIndexChanged, this, [this](int) {
    setCoactivationNorm(static_cast<CoactivationNorm>(coactivation_box_->currentData().toInt()));
  });
  const auto to_expert = [this](int m, int e) {
    selectExpert(m, e);
    tabs_->setCurrentIndex(static_cast<int>(View::expert));
  };
  connect(load_, &GridView::cellClicked, this, to_expert);
  connect(coactivation_, &GridView::cellClicked, this,
          [this, to_expert](int, int column) { to_expert(static_cast<int>(layer_), column); });
  connect(path_, &PathView::expertClicked, this, to_expert);
  connect(chip_path_, &PathView::expertClicked, this, to_expert);
  connect(expert_, &ExpertView::tokenIdActivated, this, [this](int token_id) {
    if (!analysis_) return;
    const InspectorData& data = *analysis_->request.data;
    for (const TokenAxis::Run& run : analysis_->axis->runs()) {
      const auto ids = data.segment(run.segment).trace->token_ids();
      for (uint32_t t = run.begin; t < run.end; ++t) {
        if (ids[t] != token_id) continue;
        tabs_->setCurrentIndex(static_cast<int>(View::tokens));
        showTokenPath(static_cast<int>(run.segment), static_cast<int>(t));
        return;
      }
    }
  });
  refreshChoices();
  status_->setText(tr("No routing to show yet"));
}

}  // namespace es::inspector
