// ExpertView and StatsView: Qt Charts over the inspector's statistics.
#include "chart_views.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QEvent>
#include <QHeaderView>
#include <QLabel>
#include <QLegend>
#include <QLineSeries>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "colour_scales.h"

namespace es::inspector {

namespace {

/// Replaces the chart of `view` by `chart` and deletes the old one.
void replaceChart(QChartView* view, QChart* chart) {
  QChart* old = view->chart();
  view->setChart(chart);
  delete old;
}

QChart* newChart(const QString& title, const QPalette& palette) {
  auto* chart = new QChart;
  chart->setTheme(isDark(palette) ? QChart::ChartThemeDark : QChart::ChartThemeLight);
  chart->setTitle(title);
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->setMargins(QMargins(4, 4, 4, 4));
  chart->legend()->setAlignment(Qt::AlignBottom);
  return chart;
}

QValueAxis* valueAxis(const QString& title, double lo, double hi, const QString& format) {
  auto* axis = new QValueAxis;
  axis->setTitleText(title);
  axis->setRange(lo, hi);
  axis->setLabelFormat(format);
  axis->applyNiceNumbers();
  return axis;
}

/// An axis from 0 to 1 with ticks every 0.2.
QValueAxis* unitAxis(const QString& title) {
  auto* axis = new QValueAxis;
  axis->setTitleText(title);
  axis->setRange(0, 1);
  axis->setTickCount(6);
  axis->setLabelFormat(QStringLiteral("%.1f"));
  return axis;
}

/// An x axis over block indices [first, last] with integer labels.
QValueAxis* layerAxis(uint32_t first, uint32_t last) {
  auto* axis = new QValueAxis;
  axis->setTitleText(QObject::tr("layer"));
  axis->setRange(first, std::max(last, first + 1));
  axis->setLabelFormat(QStringLiteral("%d"));
  axis->setTickType(QValueAxis::TicksDynamic);
  const uint32_t span = std::max<uint32_t>(1, last - first);
  axis->setTickAnchor(first);
  axis->setTickInterval(span <= 16 ? 1 : span <= 40 ? 4 : 8);
  return axis;
}

QLineSeries* line(const QString& name, const QColor& colour, bool dashed) {
  auto* s = new QLineSeries;
  s->setName(name);
  QPen pen(colour, 2);
  if (dashed) pen.setStyle(Qt::DashLine);
  s->setPen(pen);
  return s;
}

void attach(QChart* chart, QAbstractSeries* series, QAbstractAxis* x, QAbstractAxis* y) {
  chart->addSeries(series);
  series->attachAxis(x);
  series->attachAxis(y);
}

}  // namespace

void styleChart(QChart* chart, const QPalette& palette) {
  const QColor text = palette.color(QPalette::Text);
  const QColor grid = palette.color(QPalette::Mid);
  chart->setBackgroundBrush(palette.base());
  chart->setBackgroundRoundness(0);
  chart->setPlotAreaBackgroundVisible(false);
  chart->setTitleBrush(text);
  QFont title_font = chart->titleFont();
  title_font.setBold(true);
  chart->setTitleFont(title_font);
  chart->legend()->setLabelColor(text);
  for (QAbstractAxis* axis : chart->axes()) {
    axis->setLabelsColor(text);
    axis->setTitleBrush(text);
    axis->setLinePenColor(grid);
    axis->setGridLineColor(grid.lighter(isDark(palette) ? 80 : 130));
  }
}

// --- ExpertView -----------------------------------------------------------------------

ExpertView::ExpertView(QWidget* parent)
    : QWidget(parent),
      header_(new QLabel(this)),
      table_(new QTableWidget(this)),
      along_view_(new QChartView(this)),
      layers_view_(new QChartView(this)) {
  header_->setWordWrap(true);
  header_->setTextFormat(Qt::PlainText);
  header_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QFont f = header_->font();
  f.setBold(true);
  header_->setFont(f);
  table_->setColumnCount(5);
  table_->setHorizontalHeaderLabels(
      {tr("token"), tr("id"), tr("routed"), tr("of its uses"), tr("mean weight")});
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
  for (int c = 1; c < 5; ++c)
    table_->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
  table_->setShowGrid(false);
  table_->setAlternatingRowColors(true);
  connect(table_, &QTableWidget::cellActivated, this, [this](int row, int) {
    if (detail_ && row >= 0 && static_cast<size_t>(row) < detail_->vocabulary.size())
      emit tokenIdActivated(detail_->vocabulary[static_cast<size_t>(row)].token_id);
  });
  along_view_->setRenderHint(QPainter::Antialiasing);
  layers_view_->setRenderHint(QPainter::Antialiasing);
  along_view_->setMinimumHeight(160);
  layers_view_->setMinimumHeight(160);

  auto* charts = new QWidget(this);
  auto* charts_layout = new QVBoxLayout(charts);
  charts_layout->setContentsMargins(0, 0, 0, 0);
  charts_layout->addWidget(along_view_);
  charts_layout->addWidget(layers_view_);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(table_);
  split->addWidget(charts);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(header_);
  layout->addWidget(split, 1);
  clearDetail();
}

QString ExpertView::headerText() const {
  return header_->text();
}

void ExpertView::clearDetail() {
  detail_.reset();
  header_->setText(
      tr("Click an expert in a heatmap, the load view or a token's path to see "
         "which tokens it takes."));
  table_->setRowCount(0);
  replaceChart(along_view_, newChart(QString(), palette()));
  replaceChart(layers_view_, newChart(QString(), palette()));
  styleChart(along_view_->chart(), palette());
  styleChart(layers_view_->chart(), palette());
}

void ExpertView::setDetail(ExpertDetail detail) {
  detail_ = std::move(detail);
  const ExpertDetail& d = *detail_;
  const double share = d.n_tokens ? 100.0 * d.n_routed / d.n_tokens : 0.0;
  header_->setText(tr("Expert E%1 at layer %2 took %3 of %4 tokens (%5%), mean weight %6")
                       .arg(d.expert)
                       .arg(d.block)
                       .arg(d.n_routed)
                       .arg(d.n_tokens)
                       .arg(share, 0, 'f', 1)
                       .arg(d.mean_weight, 0, 'f', 3));
  table_->setRowCount(static_cast<int>(d.vocabulary.size()));
  const QColor swatch = expertColor(d.expert);
  for (size_t i = 0; i < d.vocabulary.size(); ++i) {
    const VocabRow& v = d.vocabulary[i];
    const int r = static_cast<int>(i);
    auto* text = new QTableWidgetItem(QStringLiteral("\u201c%1\u201d").arg(v.text));
    text->setData(Qt::DecorationRole, swatch);
    table_->setItem(r, 0, text);
    const auto number = [&](int c, const QString& s) {
      auto* item = new QTableWidgetItem(s);
      item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(r, c, item);
    };
    number(1, QString::number(v.token_id));
    number(2, QString::number(v.count));
    number(3, QStringLiteral("%1%").arg(100.0 * v.share, 0, 'f', 0));
    number(4, QString::number(v.mean_weight, 'f', 3));
  }
  restyle();
}

void ExpertView::restyle() {
  if (!detail_) {
    clearDetail();
    return;
  }
  const ExpertDetail& d = *detail_;
  const QPalette pal = palette();
  const QColor colour = expertColor(d.expert).darker(isDark(pal) ? 170 : 150);

  // Load along the selection.
  QChart* along =
      newChart(tr("E%1 load along the selection (layer %2)").arg(d.expert).arg(d.block), pal);
  auto* series = line(tr("share of tokens routed to E%1").arg(d.expert), colour, false);
  double top = 0.0;
  for (size_t b = 0; b < d.load_over_axis.size(); ++b) {
    const double x = (d.bin_start[b] + d.bin_start[b + 1] - 1) / 2.0;
    series->append(x, 100.0 * d.load_over_axis[b]);
    top = std::max(top, 100.0 * d.load_over_axis[b]);
  }
  const double mean = d.n_tokens ? 100.0 * d.n_routed / d.n_tokens : 0.0;
  auto* mean_line = line(tr("mean %1%").arg(mean, 0, 'f', 1), pal.color(QPalette::Mid), true);
  const double last = d.bin_start.empty()
                          ? 1.0
                          : static_cast<double>(std::max<uint64_t>(1, d.bin_start.back() - 1));
  mean_line->append(0, mean);
  mean_line->append(last, mean);
  auto* ax = valueAxis(tr("token"), 0, last, QStringLiteral("%d"));
  auto* ay = valueAxis(tr("% of tokens"), 0, std::max(top, 1.0), QStringLiteral("%.0f"));
  along->addAxis(ax, Qt::AlignBottom);
  along->addAxis(ay, Qt::AlignLeft);
  attach(along, series, ax, ay);
  attach(along, mean_line, ax, ay);
  styleChart(along, pal);
  replaceChart(along_view_, along);

  // Load by layer, the chosen layer selected.
  QChart* layers = newChart(tr("E%1 load by layer").arg(d.expert), pal);
  auto* set = new QBarSet(tr("% of tokens"));
  set->setColor(expertColor(d.expert));
  set->setBorderColor(colour);
  set->setSelectedColor(colour);
  QStringList categories;
  double top_l = 0.0;
  for (size_t m = 0; m < d.load_by_layer.size(); ++m) {
    *set << 100.0 * d.load_by_layer[m];
    top_l = std::max(top_l, 100.0 * d.load_by_layer[m]);
    categories << QString::number(m < d.blocks.size() ? d.blocks[m] : m);
  }
  if (d.layer < d.load_by_layer.size()) set->selectBar(static_cast<int>(d.layer));
  auto* bars = new QBarSeries;
  bars->append(set);
  bars->setBarWidth(0.8);
  auto* cx = new QBarCategoryAxis;
  cx->setTitleText(tr("layer (the chosen one darker)"));
  cx->append(categories);
  auto* cy = valueAxis(tr("% of tokens"), 0, std::max(top_l, 1.0), QStringLiteral("%.0f"));
  layers->addAxis(cx, Qt::AlignBottom);
  layers->addAxis(cy, Qt::AlignLeft);
  attach(layers, bars, cx, cy);
  layers->legend()->setVisible(false);
  styleChart(layers, pal);
  replaceChart(layers_view_, layers);
}

void ExpertView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) restyle();
}

// --- StatsView ------------------------------------------------------------------------

StatsView::StatsView(QWidget* parent)
    : QWidget(parent), balance_view_(new QChartView(this)), entropy_view_(new QChartView(this)) {
  balance_view_->setRenderHint(QPainter::Antialiasing);
  entropy_view_->setRenderHint(QPainter::Antialiasing);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(balance_view_);
  layout->addWidget(entropy_view_);
  rebuild();
}

QChart* StatsView::balanceChart() const {
  return balance_view_->chart();
}
QChart* StatsView::entropyChart() const {
  return entropy_view_->chart();
}

void StatsView::setAnalysis(std::shared_ptr<const Analysis> analysis) {
  analysis_ = std::move(analysis);
  rebuild();
}

void StatsView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) rebuild();
}

void StatsView::rebuild() {
  const QPalette pal = palette();
  const bool dark = isDark(pal);
  const QColor c1 = dark ? QColor(0x6b, 0xae, 0xd6) : QColor(0x21, 0x71, 0xb5);
  const QColor c2 = dark ? QColor(0xfd, 0xae, 0x6b) : QColor(0xd9, 0x48, 0x01);
  QChart* balance = newChart(tr("Load balance per layer"), pal);
  QChart* entropy = newChart(tr("Router entropy and expert overlap of consecutive tokens"), pal);
  if (!analysis_ || !analysis_->request.data->hasShape()) {
    styleChart(balance, pal);
    styleChart(entropy, pal);
    replaceChart(balance_view_, balance);
    replaceChart(entropy_view_, entropy);
    return;
  }
  const InspectorData& data = *analysis_->request.data;
  const auto layers = data.shape().moe_layers;
  const uint32_t first = layers.front(), last = layers.back();
  const bool two = analysis_->compare.has_value();
  const QString a_name = two ? QStringLiteral("A") : QString();
  const QString b_name = QStringLiteral("B");
  const QString who = two ? tr("A: %1 (solid) \u00b7 B: %2 (dashed)")
                                .arg(data.describe(analysis_->request.primary),
                                     data.describe(*analysis_->request.compare))
                          : data.describe(analysis_->request.primary);
  balance->setTitle(tr("Load balance per layer \u2014 %1").arg(who));
  entropy->setTitle(
      tr("Router entropy and expert overlap of consecutive tokens \u2014 %1").arg(who));
  const auto named = [](const QString& what, const QString& who) {
    return who.isEmpty() ? what : QStringLiteral("%1 (%2)").arg(what, who);
  };

  // Balance: CV (left), normalised entropy of the load (right, 0..1).
  double cv_top = 0.0;
  const auto add_balance = [&](const SelectionStats& s, const QString& who, bool dashed,
                               QValueAxis* x, QValueAxis* y_cv, QValueAxis* y_h) {
    auto* cv = line(named(tr("CV of load"), who), c1, dashed);
    auto* h = line(named(tr("load entropy / log E"), who), c2, dashed);
    for (size_t m = 0; m < s.load.size(); ++m) {
      cv->append(layers[m], s.load[m].cv);
      h->append(layers[m], s.load[m].normalized_entropy);
    }
    attach(balance, cv, x, y_cv);
    attach(balance, h, x, y_h);
  };
  for (const auto& l : analysis_->stats.load) cv_top = std::max(cv_top, l.cv);
  if (analysis_->compare)
    for (const auto& l : analysis_->compare->load) cv_top = std::max(cv_top, l.cv);
  auto* bx = layerAxis(first, last);
  auto* by_cv =
      valueAxis(tr("CV of load (0 = balanced)"), 0, std::max(cv_top, 0.1), QStringLiteral("%.1f"));
  auto* by_h = unitAxis(tr("load entropy / log E"));
  balance->addAxis(bx, Qt::AlignBottom);
  balance->addAxis(by_cv, Qt::AlignLeft);
  balance->addAxis(by_h, Qt::AlignRight);
  add_balance(analysis_->stats, a_name, false, bx, by_cv, by_h);
  if (analysis_->compare) add_balance(*analysis_->compare, b_name, true, bx, by_cv, by_h);
  styleChart(balance, pal);
  replaceChart(balance_view_, balance);

  // Entropy (left, nats, with log E as the ceiling) and overlap (right, 0..1).
  const double log_e = std::log(static_cast<double>(std::max<uint32_t>(2, data.nExpert())));
  auto* ex = layerAxis(first, last);
  auto* ey = valueAxis(tr("router entropy (nats)"), 0, log_e * 1.05, QStringLiteral("%.1f"));
  auto* eo = unitAxis(tr("overlap with previous token"));
  entropy->addAxis(ex, Qt::AlignBottom);
  entropy->addAxis(ey, Qt::AlignLeft);
  entropy->addAxis(eo, Qt::AlignRight);
  auto* ceiling =
      line(tr("log E = %1 (uniform router)").arg(log_e, 0, 'f', 2), pal.color(QPalette::Mid), true);
  ceiling->append(first, log_e);
  ceiling->append(std::max(last, first + 1), log_e);
  attach(entropy, ceiling, ex, ey);
  const auto add_entropy = [&](const SelectionStats& s, const QString& who, bool dashed) {
    auto* h = line(named(tr("mean router entropy"), who), c1, dashed);
    auto* o = line(named(tr("overlap with previous token"), who), c2, dashed);
    for (size_t m = 0; m < s.mean_entropy.size(); ++m) {
      h->append(layers[m], s.mean_entropy[m]);
      o->append(layers[m], s.adjacent_overlap[m]);
    }
    attach(entropy, h, ex, ey);
    attach(entropy, o, ex, eo);
  };
  add_entropy(analysis_->stats, a_name, false);
  if (analysis_->compare) add_entropy(*analysis_->compare, b_name, true);
  styleChart(entropy, pal);
  replaceChart(entropy_view_, entropy);
}

}  // namespace es::inspector
