// TiledHeatmapView: tiles rendered on worker threads, painted from the cache.
#include "tiled_heatmap.h"

#include <QElapsedTimer>
#include <QKeyEvent>
#include <QLinearGradient>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QThreadPool>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "colour_scales.h"

namespace es::inspector {

namespace {

constexpr int kMaxCachedTiles = 192;  // 48 MiB of 256 × 256 ARGB tiles
constexpr int kMinRowHeight = 3;
constexpr int kMaxRowHeight = 36;
constexpr int kLegendWidth = 96;

/// A step of 1, 2 or 5 × 10^k tokens at least `min_tokens` wide.
uint64_t niceStep(double min_tokens) {
  double step = 1.0;
  while (step < min_tokens) {
    if (step * 2 >= min_tokens) return static_cast<uint64_t>(step * 2);
    if (step * 5 >= min_tokens) return static_cast<uint64_t>(step * 5);
    step *= 10;
  }
  return static_cast<uint64_t>(step);
}

}  // namespace

QImage renderHeatmapTile(const HeatmapSource& source, int zoom, int row_height, int tx, int ty,
                         Aggregate aggregate) {
  const int T = TiledHeatmapView::kTile;
  QImage img(T, T, QImage::Format_ARGB32_Premultiplied);
  img.fill(Qt::transparent);
  const double ppt = TiledHeatmapView::pixelsPerToken(zoom);
  const uint64_t n = source.columns();
  const uint32_t rows = source.rows();
  const int64_t px0 = static_cast<int64_t>(tx) * T;
  const int64_t py0 = static_cast<int64_t>(ty) * T;
  const auto r0 = static_cast<uint32_t>(std::min<int64_t>(rows, py0 / row_height));
  const auto r1 =
      static_cast<uint32_t>(std::min<int64_t>(rows, (py0 + T + row_height - 1) / row_height));
  if (r0 >= r1 || n == 0 || px0 < 0) return img;
  std::vector<QRgb> column(r1 - r0);
  const bool row_gap = row_height >= 8;
  const bool token_gap = ppt >= 6.0;
  uint64_t prev0 = UINT64_MAX, prev1 = 0;
  for (int x = 0; x < T; ++x) {
    const double a = static_cast<double>(px0 + x) / ppt;
    const double b = static_cast<double>(px0 + x + 1) / ppt;
    const auto c0 = static_cast<uint64_t>(std::floor(a));
    if (c0 >= n) break;
    uint64_t c1 = std::max(c0 + 1, static_cast<uint64_t>(std::floor(b)));
    c1 = std::min(c1, n);
    if (token_gap && std::fmod(static_cast<double>(px0 + x), ppt) >= ppt - 1.0) continue;
    if (c0 != prev0 || c1 != prev1) {
      source.colours(c0, c1, r0, r1, aggregate, column.data());
      prev0 = c0;
      prev1 = c1;
    }
    for (uint32_t r = r0; r < r1; ++r) {
      const int64_t y_begin = std::max<int64_t>(0, static_cast<int64_t>(r) * row_height - py0);
      const int64_t y_end =
          std::min<int64_t>(T, static_cast<int64_t>(r + 1) * row_height - (row_gap ? 1 : 0) - py0);
      for (int64_t y = y_begin; y < y_end; ++y)
        reinterpret_cast<QRgb*>(img.scanLine(static_cast<int>(y)))[x] = column[r - r0];
    }
  }
  return img;
}

TiledHeatmapView::TiledHeatmapView(QThreadPool* pool, QWidget* parent)
    : QWidget(parent),
      pool_(pool),
      sink_(std::make_shared<Sink>()),
      hbar_(new QScrollBar(Qt::Horizontal, this)),
      vbar_(new QScrollBar(Qt::Vertical, this)) {
  sink_->view = this;
  setMouseTracking(true);
  setFocusPolicy(Qt::WheelFocus);
  setMinimumSize(320, 160);
  setAttribute(Qt::WA_OpaquePaintEvent);
  connect(hbar_, &QScrollBar::valueChanged, this, [this](int v) {
    if (syncing_bars_) return;
    auto_fit_ = false;
    scroll_x_ = v;
    update();
  });
  connect(vbar_, &QScrollBar::valueChanged, this, [this](int v) {
    if (syncing_bars_) return;
    scroll_y_ = v;
    update();
  });
}

TiledHeatmapView::~TiledHeatmapView() {
  std::lock_guard lock(sink_->mutex);
  sink_->view = nullptr;
  for (auto it = pending_.begin(); it != pending_.end(); ++it) *it->cancelled = true;
}

void TiledHeatmapView::setSource(std::shared_ptr<const HeatmapSource> source, bool keep_view) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) *it->cancelled = true;
  pending_.clear();
  if (keep_view) {
    if (!cache_.isEmpty()) stale_ = std::move(cache_);
  } else {
    stale_.clear();
  }
  cache_.clear();
  ++generation_;
  source_ = std::move(source);
  hover_.reset();
  updateLayout();
  if (!keep_view) auto_fit_ = true;
  if (auto_fit_) zoomToFit();
  updateScrollBars();
  update();
}

void TiledHeatmapView::setAggregate(Aggregate aggregate) {
  if (aggregate == aggregate_) return;
  aggregate_ = aggregate;
  setSource(source_, true);
}

double TiledHeatmapView::contentWidth() const {
  return source_ ? static_cast<double>(source_->columns()) * pixelsPerToken() : 0.0;
}

int TiledHeatmapView::contentHeight() const {
  return source_ ? static_cast<int>(source_->rows()) * row_height_ : 0;
}

QRect TiledHeatmapView::plotRect() const {
  const QFontMetrics fm(font());
  int label_w = fm.horizontalAdvance(QStringLiteral("L000"));
  if (source_) {
    const uint32_t rows = source_->rows();
    label_w = std::max(label_w, fm.horizontalAdvance(source_->rowLabel(rows ? rows - 1 : 0)));
  }
  const int left = fm.height() + 6 + label_w + 6;
  const int top = 2 * fm.height() + 10;  // read-out line, section labels
  const int bottom = axisHeight() + fm.height() + 6 + hbar_->sizeHint().height();
  const int right = kLegendWidth + (vbar_->isVisible() ? vbar_->sizeHint().width() : 0);
  // No taller than the rows need: the axis follows the last row.
  const int h = std::max(1, height() - top - bottom);
  const int content = contentHeight();
  return QRect(left, top, std::max(1, width() - left - right),
               content > 0 ? std::min(h, content) : h);
}

int TiledHeatmapView::axisHeight() const {
  const QFontMetrics fm(font());
  return pixelsPerToken() >= fm.height() + 2 ? 6 * fm.height() : 2 * fm.height() + 4;
}

void TiledHeatmapView::updateLayout() {
  if (!source_) return;
  const QFontMetrics fm(font());
  const int avail = height() - (2 * fm.height() + 10) - (axisHeight() + fm.height() + 6) -
                    hbar_->sizeHint().height();
  const uint32_t rows = std::max<uint32_t>(1, source_->rows());
  const int rh = std::clamp(avail / static_cast<int>(std::min<uint32_t>(rows, 100000)),
                            kMinRowHeight, kMaxRowHeight);
  if (rh != row_height_) {
    row_height_ = rh;
    stale_.clear();
  }
  vbar_->setVisible(contentHeight() > avail);
}

void TiledHeatmapView::updateScrollBars() {
  const QRect plot = plotRect();
  const QFontMetrics fm(font());
  syncing_bars_ = true;
  const int hb = hbar_->sizeHint().height();
  hbar_->setGeometry(plot.left(), plot.bottom() + 1 + axisHeight() + fm.height() + 6, plot.width(),
                     hb);
  hbar_->setRange(0, static_cast<int>(std::ceil(maxScrollX())));
  hbar_->setPageStep(plot.width());
  hbar_->setSingleStep(std::max(1, plot.width() / 20));
  scroll_x_ = std::clamp(scroll_x_, 0.0, maxScrollX());
  hbar_->setValue(static_cast<int>(scroll_x_));
  const int vmax = std::max(0, contentHeight() - plot.height());
  vbar_->setGeometry(plot.right() + 2, plot.top(), vbar_->sizeHint().width(), plot.height());
  vbar_->setRange(0, vmax);
  vbar_->setPageStep(plot.height());
  vbar_->setSingleStep(row_height_);
  scroll_y_ = std::clamp(scroll_y_, 0, vmax);
  vbar_->setValue(scroll_y_);
  syncing_bars_ = false;
}

double TiledHeatmapView::maxScrollX() const {
  return std::max(0.0, contentWidth() - plotRect().width());
}

void TiledHeatmapView::setScrollX(double x) {
  if (x != scroll_x_) auto_fit_ = false;
  scroll_x_ = std::clamp(x, 0.0, maxScrollX());
  syncing_bars_ = true;
  hbar_->setValue(static_cast<int>(scroll_x_));
  syncing_bars_ = false;
  update();
}

void TiledHeatmapView::setZoom(int zoom, double anchor_x) {
  zoom = std::clamp(zoom, kMinZoom, kMaxZoom);
  auto_fit_ = false;
  if (zoom == zoom_) return;
  const QRect plot = plotRect();
  const double offset = std::clamp(anchor_x - plot.left(), 0.0, static_cast<double>(plot.width()));
  const double token = (scroll_x_ + offset) / pixelsPerToken();
  zoom_ = zoom;
  updateLayout();
  updateScrollBars();
  setScrollX(token * pixelsPerToken() - offset);
}

void TiledHeatmapView::zoomToFit() {
  const uint64_t n = source_ ? std::max<uint64_t>(1, source_->columns()) : 1;
  const double w = plotRect().width();
  int z = kMaxZoom;
  while (z > kMinZoom && static_cast<double>(n) * pixelsPerToken(z) > w) --z;
  zoom_ = z;
  scroll_x_ = 0;
  updateLayout();
  updateScrollBars();
  update();
}

std::pair<uint64_t, uint64_t> TiledHeatmapView::columnsAt(double x) const {
  const QRect plot = plotRect();
  const double ppt = pixelsPerToken();
  const double cx = std::floor(scroll_x_ + (x - plot.left()));
  const auto c0 = static_cast<uint64_t>(std::max(0.0, std::floor(cx / ppt)));
  const uint64_t c1 = std::max(c0 + 1, static_cast<uint64_t>(std::floor((cx + 1) / ppt)));
  const uint64_t n = source_ ? source_->columns() : 0;
  return {std::min(c0, n), std::min(c1, n)};
}

std::optional<std::pair<uint64_t, uint32_t>> TiledHeatmapView::cellAt(QPoint pos) const {
  if (!source_) return std::nullopt;
  const QRect plot = plotRect();
  if (!plot.contains(pos)) return std::nullopt;
  const auto [c0, c1] = columnsAt(pos.x());
  if (c0 >= c1) return std::nullopt;
  const int row = (pos.y() - plot.top() + scroll_y_) / row_height_;
  if (row < 0 || static_cast<uint32_t>(row) >= source_->rows()) return std::nullopt;
  return std::make_pair(c0, static_cast<uint32_t>(row));
}

std::vector<TiledHeatmapView::TileKey> TiledHeatmapView::visibleTiles(int margin_tiles) const {
  std::vector<TileKey> keys;
  if (!source_ || source_->columns() == 0) return keys;
  const QRect plot = plotRect();
  const int last_tx = static_cast<int>(std::ceil(contentWidth() / kTile)) - 1;
  const int last_ty = (contentHeight() - 1) / kTile;
  const int tx0 = std::max(0, static_cast<int>(scroll_x_ / kTile) - margin_tiles);
  const int tx1 =
      std::min(last_tx, static_cast<int>((scroll_x_ + plot.width()) / kTile) + margin_tiles);
  const int ty0 = std::max(0, scroll_y_ / kTile);
  const int ty1 = std::min(last_ty, (scroll_y_ + plot.height()) / kTile);
  const double centre = (scroll_x_ + plot.width() / 2.0) / kTile;
  for (int ty = ty0; ty <= ty1; ++ty)
    for (int tx = tx0; tx <= tx1; ++tx) keys.push_back({zoom_, row_height_, tx, ty});
  std::stable_sort(keys.begin(), keys.end(), [centre](const TileKey& a, const TileKey& b) {
    return std::abs(a.tx + 0.5 - centre) < std::abs(b.tx + 0.5 - centre);
  });
  return keys;
}

bool TiledHeatmapView::visibleTilesReady() const {
  if (!source_) return true;
  for (const TileKey& key : visibleTiles(0))
    if (!cache_.contains(key)) return false;
  return true;
}

void TiledHeatmapView::renderVisibleTilesNow() {
  if (!source_) return;
  for (const TileKey& key : visibleTiles(0)) {
    if (cache_.contains(key)) continue;
    insertTile(key,
               renderHeatmapTile(*source_, key.zoom, key.row_height, key.tx, key.ty, aggregate_));
    ++tiles_rendered_;
  }
}

const QImage* TiledHeatmapView::findTile(const TileKey& key) const {
  const auto it = cache_.constFind(key);
  return it == cache_.constEnd() ? nullptr : &*it;
}

void TiledHeatmapView::insertTile(const TileKey& key, QImage image) {
  cache_.insert(key, std::move(image));
  lru_.remove(key);
  lru_.push_back(key);
  while (static_cast<int>(lru_.size()) > kMaxCachedTiles) {
    cache_.remove(lru_.front());
    lru_.pop_front();
  }
}

void TiledHeatmapView::requestTile(const TileKey& key) {
  if (pending_.contains(key)) return;
  Pending job{std::make_shared<std::atomic<bool>>(false)};
  pending_.insert(key, job);
  auto source = source_;
  auto sink = sink_;
  const uint64_t generation = generation_;
  const Aggregate aggregate = aggregate_;
  pool_->start([source, sink, generation, key, aggregate, cancelled = job.cancelled] {
    if (*cancelled) return;
    QImage image = renderHeatmapTile(*source, key.zoom, key.row_height, key.tx, key.ty, aggregate);
    std::lock_guard lock(sink->mutex);
    if (!sink->view) return;
    QMetaObject::invokeMethod(
        sink->view,
        [view = sink->view, generation, key, image = std::move(image)]() mutable {
          view->ui_tileReady(generation, key, std::move(image));
        },
        Qt::QueuedConnection);
  });
}

void TiledHeatmapView::ui_tileReady(uint64_t generation, TileKey key, QImage image) {
  if (generation != generation_) return;
  pending_.remove(key);
  ++tiles_rendered_;
  insertTile(key, std::move(image));
  update();
  emit tileArrived();
}

bool TiledHeatmapView::drawFallback(QPainter& p, const TileKey& key, const QRectF& target) const {
  if (const auto it = stale_.constFind(key); it != stale_.constEnd()) {
    p.drawImage(target, *it);
    return true;
  }
  // Whole octaves coarser, where tile edges line up.
  for (int octaves = 1; octaves <= 6; ++octaves) {
    const int z = key.zoom - octaves * kZoomSteps;
    if (z < kMinZoom) break;
    const double s = std::ldexp(1.0, -octaves);  // coarse pixels per fine pixel
    const double x0 = key.tx * kTile * s;
    const int ctx = static_cast<int>(std::floor(x0 / kTile));
    const QImage* coarse = findTile({z, key.row_height, ctx, key.ty});
    if (!coarse) continue;
    const QRectF src(x0 - ctx * kTile, 0, kTile * s, kTile);
    p.drawImage(target, *coarse, src);
    return true;
  }
  return false;
}

void TiledHeatmapView::paintEvent(QPaintEvent*) {
  QElapsedTimer timer;
  timer.start();
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  const QRect plot = plotRect();
  const QFontMetrics fm(font());
  paintReadout(p, QRect(plot.left(), 2, width() - plot.left() - 4, fm.height() + 2));
  if (!source_ || source_->columns() == 0) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(plot, Qt::AlignCenter, tr("No tokens in this selection"));
    last_paint_ms_ = timer.nsecsElapsed() / 1e6;
    return;
  }
  p.fillRect(plot, palette().base());
  p.save();
  p.setClipRect(plot);
  const std::vector<TileKey> want = visibleTiles(0);
  std::vector<TileKey> missing;
  for (const TileKey& key : want) {
    const QRectF target(plot.left() + key.tx * kTile - scroll_x_,
                        plot.top() + key.ty * kTile - scroll_y_, kTile, kTile);
    if (const QImage* img = findTile(key)) {
      p.drawImage(target.topLeft(), *img);
    } else {
      drawFallback(p, key, target);
      missing.push_back(key);
    }
  }
  // Section (message) boundaries.
  const double ppt = pixelsPerToken();
  QPen section_pen(palette().color(QPalette::Text));
  section_pen.setStyle(Qt::DashLine);
  p.setPen(section_pen);
  for (const auto& [column, label] : source_->sections()) {
    if (column == 0) continue;
    const double x = plot.left() + column * ppt - scroll_x_;
    if (x >= plot.left() && x <= plot.right())
      p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
  }
  // Hovered cell.
  if (hover_) {
    const double x = plot.left() + hover_->first * ppt - scroll_x_;
    const double y = plot.top() + hover_->second * row_height_ - scroll_y_;
    p.setPen(QPen(palette().color(QPalette::Highlight), 2));
    p.setBrush(Qt::NoBrush);
    p.drawRect(QRectF(x - 1, y - 1, std::max(ppt, 1.0) + 2, row_height_ + 2));
  }
  p.restore();
  paintAxes(p, plot);
  const int legend_x = plot.right() + 10 + (vbar_->isVisible() ? vbar_->width() + 2 : 0);
  paintLegend(p, QRect(legend_x, plot.top(), kLegendWidth - 14, plot.height()));

  // Ask for what is missing (visible first, then one tile either side), and cancel what
  // is no longer wanted.
  std::vector<TileKey> wanted = visibleTiles(1);
  QHash<TileKey, bool> keep;
  for (const TileKey& key : wanted) keep.insert(key, true);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (!keep.contains(it.key())) {
      *it->cancelled = true;
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (const TileKey& key : missing) requestTile(key);
  for (const TileKey& key : wanted)
    if (!cache_.contains(key)) requestTile(key);
  for (const TileKey& key : want) {
    if (cache_.contains(key)) {  // keep the visible ones most recently used
      lru_.remove(key);
      lru_.push_back(key);
    }
  }
  last_paint_ms_ = timer.nsecsElapsed() / 1e6;
}

void TiledHeatmapView::paintReadout(QPainter& p, const QRect& area) const {
  p.setPen(palette().color(QPalette::Text));
  QString text;
  if (source_ && hover_) {
    const auto [c0, c1] = columnsAt(hover_x_);
    if (c0 < c1) text = source_->describe(c0, c1, hover_->second);
  } else if (source_) {
    text = tr("%1 tokens × %2 — Ctrl+wheel zooms, drag pans, click a cell for its expert")
               .arg(source_->columns())
               .arg(source_->rowTitle());
    p.setPen(palette().color(QPalette::PlaceholderText));
  }
  p.drawText(area, Qt::AlignLeft | Qt::AlignVCenter,
             QFontMetrics(font()).elidedText(text, Qt::ElideRight, area.width()));
}

void TiledHeatmapView::paintAxes(QPainter& p, const QRect& plot) const {
  const QFontMetrics fm(font());
  const QColor text = palette().color(QPalette::Text);
  const QColor dim = palette().color(QPalette::PlaceholderText);
  p.setPen(dim);
  p.drawRect(plot.adjusted(0, 0, -1, -1));

  // Rows: labels every n-th row so that they do not overlap.
  const uint32_t rows = source_->rows();
  const int every = std::max(1, (fm.height() + row_height_ - 1) / row_height_);
  p.setPen(text);
  p.save();
  p.setClipRect(QRect(0, plot.top() - fm.height() / 2, plot.left(), plot.height() + fm.height()));
  for (uint32_t r = 0; r < rows; r += static_cast<uint32_t>(every)) {
    const int y = plot.top() + static_cast<int>(r) * row_height_ - scroll_y_;
    if (y + row_height_ < plot.top() || y > plot.bottom()) continue;
    p.drawText(QRect(0, y + row_height_ / 2 - fm.height() / 2, plot.left() - 6, fm.height()),
               Qt::AlignRight | Qt::AlignVCenter, source_->rowLabel(r));
  }
  p.restore();
  p.save();
  p.translate(fm.height() / 2.0 + 2, plot.center().y());
  p.rotate(-90);
  p.drawText(QRect(-plot.height() / 2, -fm.height() / 2, plot.height(), fm.height()),
             Qt::AlignCenter, source_->rowTitle());
  p.restore();

  // Columns: token texts when they fit, otherwise ticks at a round step.
  const double ppt = pixelsPerToken();
  const uint64_t n = source_->columns();
  const int axis_top = plot.bottom() + 2;
  const int axis_h = axisHeight();
  p.save();
  p.setClipRect(QRect(plot.left() - 30, axis_top, plot.width() + 60, axis_h + fm.height()));
  const auto first = static_cast<uint64_t>(std::max(0.0, scroll_x_ / ppt));
  const auto last =
      std::min<uint64_t>(n, static_cast<uint64_t>((scroll_x_ + plot.width()) / ppt) + 1);
  if (ppt >= fm.height() + 2) {
    for (uint64_t c = first; c < last; ++c) {
      const double x = plot.left() + c * ppt - scroll_x_;
      p.save();
      p.translate(x + ppt / 2 + fm.ascent() / 2.0 - 1, axis_top + 2);
      p.rotate(90);
      p.drawText(QRect(0, 0, axis_h, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
                 fm.elidedText(source_->columnText(c), Qt::ElideRight, axis_h));
      p.restore();
    }
  } else {
    const uint64_t step = niceStep(fm.horizontalAdvance(QStringLiteral("000000")) / ppt);
    for (uint64_t c = first / step * step; c < last; c += step) {
      const double x = plot.left() + c * ppt - scroll_x_;
      if (x < plot.left()) continue;
      p.setPen(dim);
      p.drawLine(QPointF(x, axis_top - 2), QPointF(x, axis_top + 3));
      p.setPen(text);
      p.drawText(QRectF(x - 40, axis_top + 4, 80, fm.height()), Qt::AlignCenter,
                 QString::number(c));
    }
  }
  p.restore();
  p.setPen(dim);
  const QString zoom_text = ppt >= 1.0
                                ? tr("%1 px per token").arg(ppt, 0, 'g', 3)
                                : tr("%1 tokens per px (%2)")
                                      .arg(1.0 / ppt, 0, 'g', 3)
                                      .arg(source_->legend().categorical  ? tr("most frequent")
                                           : aggregate_ == Aggregate::max ? tr("max")
                                                                          : tr("mean"));
  p.drawText(QRect(plot.left(), axis_top + axis_h, plot.width(), fm.height()),
             Qt::AlignLeft | Qt::AlignVCenter, tr("token") + QStringLiteral("  ·  ") + zoom_text);

  // Section labels above the plot.
  p.setPen(text);
  QFont bold = font();
  bold.setBold(true);
  p.setFont(bold);
  const QFontMetrics bfm(bold);
  const auto sections = source_->sections();
  for (size_t i = 0; i < sections.size(); ++i) {
    const double x0 =
        std::max<double>(plot.left(), plot.left() + sections[i].first * ppt - scroll_x_);
    const uint64_t end = i + 1 < sections.size() ? sections[i + 1].first : n;
    const double x1 = std::min<double>(plot.right(), plot.left() + end * ppt - scroll_x_);
    if (x1 - x0 < 12) continue;
    p.drawText(QRectF(x0 + 3, plot.top() - bfm.height() - 3, x1 - x0 - 6, bfm.height()),
               Qt::AlignLeft | Qt::AlignVCenter,
               bfm.elidedText(sections[i].second, Qt::ElideRight, static_cast<int>(x1 - x0 - 6)));
  }
  p.setFont(font());
}

void TiledHeatmapView::paintLegend(QPainter& p, const QRect& area) const {
  const HeatmapLegend legend = source_->legend();
  const QFontMetrics fm(font());
  p.setPen(palette().color(QPalette::Text));
  p.drawText(QRect(area.left(), area.top(), area.width(), fm.height()),
             Qt::AlignLeft | Qt::AlignVCenter,
             fm.elidedText(legend.title, Qt::ElideRight, area.width()));
  const QRect bar(area.left(), area.top() + fm.height() + 4, 14,
                  std::min(area.height() - fm.height() - 4, 220));
  if (bar.height() < 10) return;
  if (legend.categorical && legend.n_categories > 0) {
    const uint32_t n = legend.n_categories;
    if (n * (fm.height() + 1) <= static_cast<uint32_t>(bar.height())) {
      for (uint32_t e = 0; e < n; ++e) {
        const QRect sw(bar.left(), bar.top() + static_cast<int>(e) * (fm.height() + 1), 14,
                       fm.height());
        p.fillRect(sw, expertColor(e));
        p.drawText(QRect(sw.right() + 5, sw.top(), area.width() - 20, fm.height()),
                   Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("E%1").arg(e));
      }
    } else {
      for (int y = 0; y < bar.height(); ++y) {
        const auto e = static_cast<uint32_t>(static_cast<uint64_t>(y) * n / bar.height());
        p.fillRect(QRect(bar.left(), bar.top() + y, 14, 1), expertColor(e));
      }
      p.drawText(QRect(bar.right() + 5, bar.top(), 60, fm.height()), Qt::AlignLeft,
                 QStringLiteral("E0"));
      p.drawText(QRect(bar.right() + 5, bar.bottom() - fm.height(), 60, fm.height()), Qt::AlignLeft,
                 QStringLiteral("E%1").arg(n - 1));
    }
    return;
  }
  QLinearGradient g(bar.topLeft(), bar.bottomLeft());
  for (int i = 0; i <= 8; ++i) g.setColorAt(i / 8.0, heatColor(1.0 - i / 8.0, isDark(palette())));
  p.fillRect(bar, g);
  p.setPen(palette().color(QPalette::PlaceholderText));
  p.drawRect(bar.adjusted(0, 0, -1, -1));
  p.setPen(palette().color(QPalette::Text));
  p.drawText(QRect(bar.right() + 5, bar.top(), area.width() - 20, fm.height()), Qt::AlignLeft,
             legend.high);
  p.drawText(QRect(bar.right() + 5, bar.bottom() - fm.height(), area.width() - 20, fm.height()),
             Qt::AlignLeft, legend.low);
}

void TiledHeatmapView::resizeEvent(QResizeEvent*) {
  updateLayout();
  updateScrollBars();
  if (auto_fit_ && source_) zoomToFit();
}

void TiledHeatmapView::wheelEvent(QWheelEvent* event) {
  const QPoint angle = event->angleDelta();
  const QPoint pixels = event->pixelDelta();
  if (event->modifiers() & Qt::ControlModifier) {
    if (angle.y() != 0) setZoom(zoom_ + (angle.y() > 0 ? 2 : -2), event->position().x());
    event->accept();
    return;
  }
  const int dy = !pixels.isNull() ? pixels.y() : angle.y() / 120 * 60;
  const int dx = !pixels.isNull() ? pixels.x() : angle.x() / 120 * 60;
  if (event->modifiers() & Qt::ShiftModifier) {
    vbar_->setValue(vbar_->value() - dy);
  } else {
    setScrollX(scroll_x_ - dy - dx);
  }
  event->accept();
}

void TiledHeatmapView::mousePressEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return;
  press_pos_ = event->position().toPoint();
  press_scroll_x_ = scroll_x_;
  press_scroll_y_ = scroll_y_;
  dragging_ = false;
}

void TiledHeatmapView::mouseMoveEvent(QMouseEvent* event) {
  const QPoint pos = event->position().toPoint();
  if (event->buttons() & Qt::LeftButton) {
    if ((pos - press_pos_).manhattanLength() > 4) dragging_ = true;
    if (dragging_) {
      setScrollX(press_scroll_x_ - (pos.x() - press_pos_.x()));
      vbar_->setValue(press_scroll_y_ - (pos.y() - press_pos_.y()));
      return;
    }
  }
  const auto cell = cellAt(pos);
  hover_x_ = pos.x();
  if (cell != hover_) {
    hover_ = cell;
    update();
    if (cell) emit cellHovered(static_cast<qint64>(cell->first), static_cast<int>(cell->second));
  }
}

void TiledHeatmapView::mouseReleaseEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return;
  if (!dragging_) {
    if (const auto cell = cellAt(event->position().toPoint()))
      emit cellClicked(static_cast<qint64>(cell->first), static_cast<int>(cell->second));
  }
  dragging_ = false;
}

void TiledHeatmapView::leaveEvent(QEvent*) {
  if (hover_) {
    hover_.reset();
    update();
  }
}

void TiledHeatmapView::keyPressEvent(QKeyEvent* event) {
  const QRect plot = plotRect();
  switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      setZoom(zoom_ + 2, plot.center().x());
      break;
    case Qt::Key_Minus:
      setZoom(zoom_ - 2, plot.center().x());
      break;
    case Qt::Key_0:
      zoomToFit();
      auto_fit_ = true;
      break;
    case Qt::Key_Left:
      setScrollX(scroll_x_ - plot.width() / 8.0);
      break;
    case Qt::Key_Right:
      setScrollX(scroll_x_ + plot.width() / 8.0);
      break;
    case Qt::Key_Home:
      setScrollX(0);
      break;
    case Qt::Key_End:
      setScrollX(maxScrollX());
      break;
    default:
      QWidget::keyPressEvent(event);
      return;
  }
  event->accept();
}

}  // namespace es::inspector
