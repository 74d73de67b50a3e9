// ChipView: token chips, flow layout, virtualised painting.
#include "chip_view.h"

#include <QFontMetricsF>
#include <QLinearGradient>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <algorithm>
#include <cmath>

#include "heatmap_sources.h"

namespace es::inspector {

namespace {

constexpr int kMargin = 8;
constexpr float kPad = 4.0f;  // text to chip edge
constexpr float kGap = 3.0f;  // between chips
constexpr int kLineGap = 4;
constexpr size_t kCacheEntries = 64;

}  // namespace

// --- ChipMetricsCache -----------------------------------------------------------------

std::shared_ptr<const ChipMetrics> ChipMetricsCache::measure(const Analysis& analysis,
                                                             const QFont& font) {
  auto out = std::make_shared<ChipMetrics>();
  out->font_key = font.key();
  const TokenAxis& axis = *analysis.axis;
  const InspectorData& data = *analysis.request.data;
  out->widths.resize(axis.size());
  out->break_after.resize(axis.size());
  const QFontMetricsF fm(font);
  for (const TokenAxis::Run& run : axis.runs()) {
    const auto& seg = data.segmentPtr(run.segment);
    const Entry* entry = nullptr;
    {
      std::lock_guard lock(mutex_);
      std::erase_if(entries_, [](const Entry& e) { return e.segment.expired(); });
      for (size_t i = 0; i < entries_.size(); ++i) {
        const auto& key = entries_[i].segment;
        if (!key.owner_before(seg) && !seg.owner_before(key) &&
            entries_[i].font_key == out->font_key) {
          std::rotate(entries_.begin() + static_cast<std::ptrdiff_t>(i),
                      entries_.begin() + static_cast<std::ptrdiff_t>(i) + 1, entries_.end());
          entry = &entries_.back();
          std::copy(entry->widths.begin() + run.begin, entry->widths.begin() + run.end,
                    out->widths.begin() + static_cast<std::ptrdiff_t>(run.axis_begin));
          std::copy(entry->break_after.begin() + run.begin, entry->break_after.begin() + run.end,
                    out->break_after.begin() + static_cast<std::ptrdiff_t>(run.axis_begin));
          break;
        }
      }
    }
    if (entry) continue;
    // Measure the whole segment once (later runs and later streams reuse it).
    Entry fresh{seg, out->font_key, {}, {}};
    const uint32_t n = seg->trace->n_tokens();
    fresh.widths.resize(n);
    fresh.break_after.resize(n);
    for (uint32_t t = 0; t < n; ++t) {
      fresh.widths[t] = static_cast<float>(
          std::ceil(fm.horizontalAdvance(data.displayText(run.segment, t)) + 2 * kPad));
      const std::string raw = data.rawText(run.segment, t);
      fresh.break_after[t] = !raw.empty() && raw.back() == '\n';
    }
    std::copy(fresh.widths.begin() + run.begin, fresh.widths.begin() + run.end,
              out->widths.begin() + static_cast<std::ptrdiff_t>(run.axis_begin));
    std::copy(fresh.break_after.begin() + run.begin, fresh.break_after.begin() + run.end,
              out->break_after.begin() + static_cast<std::ptrdiff_t>(run.axis_begin));
    std::lock_guard lock(mutex_);
    entries_.push_back(std::move(fresh));
    if (entries_.size() > kCacheEntries) entries_.erase(entries_.begin());
  }
  return out;
}

// --- MeasureLegend --------------------------------------------------------------------

MeasureLegend::MeasureLegend(QWidget* parent) : QWidget(parent) {
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

QSize MeasureLegend::sizeHint() const {
  return {400, QFontMetrics(font()).height() + 10};
}

void MeasureLegend::setMeasure(Measure measure, uint32_t block, uint32_t n_expert) {
  measure_ = measure;
  block_ = block;
  n_expert_ = n_expert;
  update();
}

void MeasureLegend::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QFontMetrics fm(font());
  p.setPen(palette().color(QPalette::Text));
  const QString title = tr("Colour: %1 at layer %2").arg(measureName(measure_)).arg(block_);
  int x = kMargin;
  const int h = fm.height() + 2;
  const int y = (height() - h) / 2;
  p.drawText(QRect(x, y, fm.horizontalAdvance(title) + 2, h), Qt::AlignVCenter, title);
  x += fm.horizontalAdvance(title) + 12;
  if (measure_ == Measure::dominant_expert) {
    for (uint32_t e = 0; e < n_expert_; ++e) {
      const QString label = QStringLiteral("E%1").arg(e);
      const int w = fm.horizontalAdvance(label) + 8;
      if (x + w > width() - kMargin) {
        p.drawText(QRect(x, y, width() - x, h), Qt::AlignVCenter, QStringLiteral("\u2026"));
        break;
      }
      const QColor c = expertColor(e);
      p.setPen(Qt::NoPen);
      p.setBrush(c);
      p.drawRoundedRect(QRectF(x, y, w, h), 3, 3);
      p.setPen(textColorOn(c));
      p.drawText(QRect(x, y, w, h), Qt::AlignCenter, label);
      x += w + 3;
    }
    return;
  }
  const QString low = measure_ == Measure::entropy ? tr("sure (0)") : tr("0");
  const QString high = measure_ == Measure::entropy ? tr("flat (log E)") : tr("layer max");
  p.drawText(QRect(x, y, fm.horizontalAdvance(low) + 2, h), Qt::AlignVCenter, low);
  x += fm.horizontalAdvance(low) + 6;
  const QRect bar(x, y + 2, 160, h - 4);
  QLinearGradient g(bar.topLeft(), bar.topRight());
  for (int i = 0; i <= 8; ++i) g.setColorAt(i / 8.0, heatColor(i / 8.0, isDark(palette())));
  p.fillRect(bar, g);
  p.drawText(QRect(bar.right() + 6, y, fm.horizontalAdvance(high) + 2, h), Qt::AlignVCenter, high);
}

// --- ChipView -------------------------------------------------------------------------

ChipView::ChipView(QWidget* parent) : QAbstractScrollArea(parent) {
  viewport()->setMouseTracking(true);
  viewport()->setAttribute(Qt::WA_OpaquePaintEvent);
  setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  verticalScrollBar()->setSingleStep(chipHeight() + kLineGap);
}

int ChipView::chipHeight() const {
  return QFontMetrics(font()).height() + 6;
}

void ChipView::setContent(std::shared_ptr<const Analysis> analysis,
                          std::shared_ptr<const ChipMetrics> metrics, bool keep_scroll) {
  QScrollBar* bar = verticalScrollBar();
  const bool at_end = bar->value() >= bar->maximum() - 2 && bar->maximum() > 0;
  const int old_value = bar->value();
  analysis_ = std::move(analysis);
  metrics_ = std::move(metrics);
  sections_ = analysis_ ? axisSections(*analysis_) : decltype(sections_){};
  hover_.reset();
  if (!keep_scroll) {
    range_.reset();
    highlighted_.reset();
  }
  laid_out_width_ = -1;
  relayout();
  bar->setValue(!keep_scroll ? 0 : (at_end ? bar->maximum() : old_value));
  viewport()->update();
}

void ChipView::setMeasure(Measure measure) {
  measure_ = measure;
  viewport()->update();
}

void ChipView::relayout() {
  const int width = viewport()->width();
  laid_out_width_ = width;
  lines_.clear();
  x_.clear();
  line_of_.clear();
  content_height_ = 0;
  if (!analysis_ || !metrics_ || metrics_->widths.size() != analysis_->axis->size()) {
    verticalScrollBar()->setRange(0, 0);
    return;
  }
  const uint64_t n = analysis_->axis->size();
  const int chip_h = chipHeight();
  const int header_h = QFontMetrics(font()).height() + 12;
  const float right = static_cast<float>(std::max(width - kMargin, kMargin + 40));
  x_.resize(n);
  line_of_.resize(n);
  int y = kMargin;
  size_t next_section = 0;
  Line line{0, 0, y, chip_h, -1};
  float x = kMargin;
  const auto close_line = [&](uint64_t end) {
    line.end = end;
    if (line.end > line.first) {
      lines_.push_back(line);
      y += chip_h + kLineGap;
    }
    line = Line{end, end, y, chip_h, -1};
    x = kMargin;
  };
  for (uint64_t i = 0; i < n; ++i) {
    if (next_section < sections_.size() && sections_[next_section].first == i) {
      close_line(i);
      if (sections_.size() > 1 || i > 0) {
        lines_.push_back(Line{i, i, y, header_h, static_cast<int>(next_section)});
        y += header_h;
        line.y = y;
      }
      ++next_section;
    }
    const float w = metrics_->widths[i];
    if (x + w > right && x > kMargin) close_line(i);
    x_[i] = x;
    line_of_[i] = static_cast<uint32_t>(lines_.size());
    x += w + kGap;
    if (metrics_->break_after[i]) close_line(i + 1);
  }
  close_line(n);
  content_height_ = y + kMargin;
  QScrollBar* bar = verticalScrollBar();
  bar->setRange(0, std::max(0, content_height_ - viewport()->height()));
  bar->setPageStep(viewport()->height());
}

size_t ChipView::lineAt(int content_y) const {
  const auto it = std::upper_bound(lines_.begin(), lines_.end(), content_y,
                                   [](int v, const Line& l) { return v < l.y; });
  return it == lines_.begin() ? 0 : static_cast<size_t>(it - lines_.begin()) - 1;
}

std::optional<uint64_t> ChipView::chipAt(QPoint pos) const {
  if (lines_.empty()) return std::nullopt;
  const int cy = pos.y() + verticalScrollBar()->value();
  const Line& line = lines_[lineAt(cy)];
  if (line.section >= 0 || cy < line.y || cy >= line.y + line.height) return std::nullopt;
  const auto first = x_.begin() + static_cast<std::ptrdiff_t>(line.first);
  const auto last = x_.begin() + static_cast<std::ptrdiff_t>(line.end);
  auto it = std::upper_bound(first, last, static_cast<float>(pos.x()));
  if (it == first) return std::nullopt;
  const auto i = static_cast<uint64_t>(it - x_.begin()) - 1;
  if (pos.x() >= x_[i] + metrics_->widths[i]) return std::nullopt;
  return i;
}

QRect ChipView::chipRect(uint64_t index) const {
  if (index >= x_.size()) return {};
  const Line& line = lines_[line_of_[index]];
  return QRect(static_cast<int>(x_[index]), line.y - verticalScrollBar()->value(),
               static_cast<int>(metrics_->widths[index]), line.height);
}

void ChipView::ensureChipVisible(uint64_t index) {
  if (index >= x_.size()) return;
  const Line& line = lines_[line_of_[index]];
  QScrollBar* bar = verticalScrollBar();
  if (line.y < bar->value() || line.y + line.height > bar->value() + viewport()->height())
    bar->setValue(line.y - viewport()->height() / 3);
}

void ChipView::setHighlighted(std::optional<uint64_t> index) {
  highlighted_ = index;
  viewport()->update();
}

std::optional<std::pair<uint64_t, uint64_t>> ChipView::selectedRange() const {
  return range_;
}

void ChipView::clearSelectedRange() {
  range_.reset();
  viewport()->update();
}

void ChipView::paintEvent(QPaintEvent*) {
  QPainter p(viewport());
  p.fillRect(viewport()->rect(), palette().base());
  if (!analysis_ || lines_.empty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(viewport()->rect(), Qt::AlignCenter,
               analysis_ ? tr("No tokens in this selection") : tr("No routing to show"));
    return;
  }
  const int top = verticalScrollBar()->value();
  const int bottom = top + viewport()->height();
  const InspectorData& data = *analysis_->request.data;
  const uint32_t m = analysis_->request.layer;
  const QFontMetrics fm(font());
  QFont bold = font();
  bold.setBold(true);
  const QColor highlight = palette().color(QPalette::Highlight);
  const bool dark = isDark(palette());
  for (size_t li = lineAt(top); li < lines_.size() && lines_[li].y < bottom; ++li) {
    const Line& line = lines_[li];
    const int y = line.y - top;
    if (line.section >= 0) {
      p.setFont(bold);
      p.setPen(palette().color(QPalette::Text));
      const QRect r(kMargin, y + 4, viewport()->width() - 2 * kMargin, fm.height());
      const QString label = sections_[static_cast<size_t>(line.section)].second;
      p.drawText(r, Qt::AlignLeft | Qt::AlignVCenter, label);
      p.setPen(palette().color(QPalette::Mid));
      const int lx = kMargin + QFontMetrics(bold).horizontalAdvance(label) + 10;
      p.drawLine(lx, r.center().y(), viewport()->width() - kMargin, r.center().y());
      p.setFont(font());
      continue;
    }
    for (uint64_t i = line.first; i < line.end; ++i) {
      const TokenAxis::Token t = analysis_->axis->at(i);
      const QRectF chip(x_[i], y, metrics_->widths[i], line.height);
      const QColor bg =
          measureColor(measure_, measureValue(*analysis_, measure_, t.segment, t.token, m), dark);
      p.setPen(Qt::NoPen);
      p.setBrush(bg);
      p.drawRoundedRect(chip, 4, 4);
      const bool in_range = range_ && i >= range_->first && i <= range_->second;
      if (in_range || hover_ == i || highlighted_ == i) {
        p.setPen(QPen(in_range && hover_ != i ? palette().color(QPalette::Text) : highlight, 2));
        p.setBrush(Qt::NoBrush);
        p.drawRoundedRect(chip.adjusted(1, 1, -1, -1), 4, 4);
      }
      p.setPen(textColorOn(bg));
      p.drawText(chip, Qt::AlignCenter, data.displayText(t.segment, t.token));
    }
  }
}

void ChipView::resizeEvent(QResizeEvent* event) {
  QAbstractScrollArea::resizeEvent(event);
  if (viewport()->width() != laid_out_width_) {
    relayout();
  } else {
    verticalScrollBar()->setRange(0, std::max(0, content_height_ - viewport()->height()));
    verticalScrollBar()->setPageStep(viewport()->height());
  }
}

void ChipView::mousePressEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return;
  press_ = chipAt(event->position().toPoint());
  dragging_ = false;
}

void ChipView::mouseMoveEvent(QMouseEvent* event) {
  const auto chip = chipAt(event->position().toPoint());
  if ((event->buttons() & Qt::LeftButton) && press_ && chip && *chip != *press_) {
    dragging_ = true;
    range_ = std::minmax(*press_, *chip);
  }
  if (chip != hover_) {
    hover_ = chip;
    viewport()->update();
    if (chip) emit chipHovered(static_cast<qint64>(*chip));
  } else if (dragging_) {
    viewport()->update();
  }
}

void ChipView::mouseReleaseEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return;
  const auto chip = chipAt(event->position().toPoint());
  if (dragging_ && range_) {
    emit rangeSelected(static_cast<qint64>(range_->first), static_cast<qint64>(range_->second));
  } else if (chip && press_ == chip) {
    range_.reset();
    emit chipClicked(static_cast<qint64>(*chip));
  }
  dragging_ = false;
  press_.reset();
  viewport()->update();
}

void ChipView::leaveEvent(QEvent*) {
  if (!hover_) return;
  hover_.reset();
  viewport()->update();
}

}  // namespace es::inspector
