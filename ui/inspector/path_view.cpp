// PathView: one token's routing, layer by layer.
#include "path_view.h"

#include <QMouseEvent>
#include <QPainter>
#include <algorithm>
#include <cmath>

#include "colour_scales.h"

namespace es::inspector {

namespace {

constexpr int kMargin = 8;
constexpr int kMapMaxWidth = 320;

QString modalityText(Modality m) {
  switch (m) {
    case Modality::text:
      return QObject::tr("text");
    case Modality::image:
      return QObject::tr("image");
    case Modality::video:
      return QObject::tr("video");
    case Modality::unset:
      break;
  }
  return QObject::tr("unset");
}

}  // namespace

PathView::PathView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
}

bool PathView::valid() const {
  if (!analysis_ || !token_) return false;
  const InspectorData& data = *analysis_->request.data;
  return token_->first < data.segmentCount() &&
         token_->second < data.segment(token_->first).trace->n_tokens();
}

void PathView::setAnalysis(std::shared_ptr<const Analysis> analysis) {
  analysis_ = std::move(analysis);
  if (pending_) {
    const auto old = token_;
    token_ = pending_;
    if (valid()) {
      pending_.reset();
    } else {
      token_ = old;
    }
  }
  if (!valid()) token_.reset();
  updateGeometry();
  update();
}

void PathView::setToken(size_t segment, uint32_t token) {
  const auto old = token_;
  token_ = std::make_pair(segment, token);
  pending_.reset();
  if (!valid()) {
    // Not in the analysis shown now: kept until one that holds it arrives.
    pending_ = token_;
    token_ = old;
  }
  update();
}

void PathView::clearToken() {
  token_.reset();
  pending_.reset();
  update();
}

QString PathView::summary() const {
  if (!valid()) return tr("Hover a token to see its path through the experts");
  const InspectorData& data = *analysis_->request.data;
  const auto [s, t] = *token_;
  const RoutingTrace& trace = *data.segment(s).trace;
  return tr("\u201c%1\u201d \u2014 token %2 of %3 \u00b7 id %4 \u00b7 position %5 \u00b7 %6")
      .arg(data.displayText(s, t))
      .arg(t)
      .arg(data.segment(s).label())
      .arg(trace.token_id(t))
      .arg(trace.position(t))
      .arg(modalityText(trace.modality(t)));
}

float PathView::weightAt(uint32_t m, uint32_t expert) const {
  if (!valid()) return 0.0f;
  const RoutingTrace& trace = *analysis_->request.data->segment(token_->first).trace;
  if (m >= trace.n_moe_layers()) return 0.0f;
  for (uint32_t r = 0; r < trace.top_k(); ++r)
    if (trace.expert(token_->second, m, r) == expert) return trace.weight(token_->second, m, r);
  return 0.0f;
}

PathView::Layout PathView::layout() const {
  const QFontMetrics fm(font());
  QFont big = font();
  big.setPointSizeF(font().pointSizeF() * 1.4);
  big.setBold(true);
  Layout l;
  // The token chip, a gap, then two lines of column titles.
  l.header_h = kMargin + QFontMetrics(big).height() + 6 + 10 + 2 * fm.height() + 6;
  l.row_h = fm.height() + 4;
  l.label_w = fm.horizontalAdvance(QStringLiteral("L000")) + 8;
  l.map_x = kMargin + l.label_w;
  const uint32_t n_expert = analysis_ ? analysis_->request.data->nExpert() : 8;
  l.cell_w = std::clamp(static_cast<double>(kMapMaxWidth) / std::max<uint32_t>(1, n_expert), 1.0,
                        static_cast<double>(l.row_h));
  l.map_w = static_cast<int>(std::ceil(l.cell_w * n_expert));
  l.chips_x = l.map_x + l.map_w + 16;
  l.chip_w = fm.horizontalAdvance(QStringLiteral("E000 0.000")) + 12;
  const uint32_t k = analysis_ ? analysis_->request.data->topK() : 2;
  l.entropy_x = l.chips_x + static_cast<int>(k) * (l.chip_w + 4) + 12;
  return l;
}

QSize PathView::sizeHint() const {
  const Layout l = layout();
  const uint32_t n_layers = analysis_ ? analysis_->request.data->nLayers() : 0;
  return {l.entropy_x + QFontMetrics(font()).horizontalAdvance(QStringLiteral("H 0.000")) + 90,
          l.header_h + static_cast<int>(n_layers) * l.row_h + kMargin};
}

QSize PathView::minimumSizeHint() const {
  return sizeHint();
}

QRect PathView::miniMapCell(uint32_t m, uint32_t expert) const {
  const Layout l = layout();
  return QRect(static_cast<int>(l.map_x + expert * l.cell_w),
               l.header_h + static_cast<int>(m) * l.row_h, std::max(1, static_cast<int>(l.cell_w)),
               l.row_h - 1);
}

std::optional<std::pair<uint32_t, uint32_t>> PathView::expertAt(QPoint pos) const {
  if (!valid()) return std::nullopt;
  const Layout l = layout();
  const InspectorData& data = *analysis_->request.data;
  if (pos.y() < l.header_h) return std::nullopt;
  const auto m = static_cast<uint32_t>((pos.y() - l.header_h) / l.row_h);
  if (m >= data.nLayers()) return std::nullopt;
  if (pos.x() >= l.map_x && pos.x() < l.map_x + l.map_w) {
    const auto e = static_cast<uint32_t>((pos.x() - l.map_x) / l.cell_w);
    if (e < data.nExpert()) return std::make_pair(m, e);
  }
  if (pos.x() >= l.chips_x) {
    const auto r = static_cast<uint32_t>((pos.x() - l.chips_x) / (l.chip_w + 4));
    if (r < data.topK()) {
      const RoutingTrace& trace = *data.segment(token_->first).trace;
      return std::make_pair(m, static_cast<uint32_t>(trace.expert(token_->second, m, r)));
    }
  }
  return std::nullopt;
}

void PathView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  const QFontMetrics fm(font());
  const QColor text = palette().color(QPalette::Text);
  const QColor dim = palette().color(QPalette::PlaceholderText);
  if (!valid()) {
    p.setPen(dim);
    p.drawText(rect().adjusted(kMargin, kMargin, -kMargin, -kMargin), Qt::AlignLeft | Qt::AlignTop,
               summary());
    return;
  }
  const Layout l = layout();
  const InspectorData& data = *analysis_->request.data;
  const auto [s, t] = *token_;
  const RoutingTrace& trace = *data.segment(s).trace;
  const uint32_t n_layers = trace.n_moe_layers(), n_expert = trace.n_expert(), k = trace.top_k();

  // Header: the token as a big chip, then its details.
  QFont big = font();
  big.setPointSizeF(font().pointSizeF() * 1.4);
  big.setBold(true);
  const QFontMetrics bfm(big);
  const QString token_text = data.displayText(s, t);
  const QRect chip(kMargin, kMargin, bfm.horizontalAdvance(token_text) + 16, bfm.height() + 6);
  const QColor chip_bg = expertColor(trace.expert(t, analysis_->request.layer, 0));
  p.setPen(Qt::NoPen);
  p.setBrush(chip_bg);
  p.drawRoundedRect(chip, 5, 5);
  p.setFont(big);
  p.setPen(textColorOn(chip_bg));
  p.drawText(chip, Qt::AlignCenter, token_text);
  p.setFont(font());
  p.setPen(text);
  const QString details = tr("token %1 of %2 \u00b7 id %3 \u00b7 position %4 \u00b7 %5")
                              .arg(t)
                              .arg(data.segment(s).label())
                              .arg(trace.token_id(t))
                              .arg(trace.position(t))
                              .arg(modalityText(trace.modality(t)));
  p.drawText(QRect(chip.right() + 12, chip.top(), width() - chip.right() - 20, chip.height()),
             Qt::AlignLeft | Qt::AlignVCenter, details);

  // Column titles.
  const int titles_y = l.header_h - fm.height() - 4;
  p.setPen(dim);
  p.drawText(QRect(kMargin, titles_y, l.label_w, fm.height()), Qt::AlignLeft, tr("layer"));
  p.drawText(QRect(l.map_x, titles_y - fm.height() - 2, l.map_w + 40, fm.height()), Qt::AlignLeft,
             tr("experts (E0\u2013E%1)").arg(n_expert - 1));
  const int label_every = std::max(
      1, static_cast<int>(std::ceil((fm.horizontalAdvance(QStringLiteral("00")) + 4) / l.cell_w)));
  if (l.cell_w >= 6) {
    for (uint32_t e = 0; e < n_expert; e += static_cast<uint32_t>(label_every))
      p.drawText(QRectF(l.map_x + e * l.cell_w - 10, titles_y, l.cell_w + 20, fm.height()),
                 Qt::AlignCenter, QString::number(e));
  }
  p.drawText(QRect(l.chips_x, titles_y, l.entropy_x - l.chips_x, fm.height()), Qt::AlignLeft,
             tr("top-%1 experts and weights").arg(k));
  p.drawText(QRect(l.entropy_x, titles_y, 200, fm.height()), Qt::AlignLeft, tr("router entropy"));

  // One row per MoE layer.
  const double max_w = analysis_->max_weight;
  const bool dark = isDark(palette());
  const double max_h = std::log(static_cast<double>(std::max<uint32_t>(2, n_expert)));
  uint16_t experts[max_experts_used];
  float weights[max_experts_used];
  for (uint32_t m = 0; m < n_layers; ++m) {
    const int y = l.header_h + static_cast<int>(m) * l.row_h;
    if (m == analysis_->request.layer)
      p.fillRect(QRect(0, y - 1, width(), l.row_h + 1), palette().color(QPalette::AlternateBase));
    p.setPen(text);
    p.drawText(QRect(kMargin, y, l.label_w - 4, l.row_h), Qt::AlignLeft | Qt::AlignVCenter,
               QStringLiteral("L%1").arg(trace.moe_layers()[m]));
    trace.routing(t, m, std::span(experts, k), std::span(weights, k));
    // Mini-map.
    p.fillRect(QRectF(l.map_x, y, l.map_w, l.row_h - 1), heatColor(0, dark));
    for (uint32_t r = 0; r < k; ++r) {
      const QRectF cell(l.map_x + experts[r] * l.cell_w, y, std::max(1.0, l.cell_w), l.row_h - 1);
      p.fillRect(cell, heatColor(weights[r] / max_w, dark));
    }
    // Top-k chips: the expert's colour, a bar for the weight, the number.
    for (uint32_t r = 0; r < k; ++r) {
      const QRectF c(l.chips_x + r * (l.chip_w + 4), y + 1, l.chip_w, l.row_h - 3);
      const QColor bg = expertColor(experts[r]);
      p.setPen(Qt::NoPen);
      p.setBrush(bg.lighter(115));
      p.drawRoundedRect(c, 3, 3);
      p.setBrush(bg.darker(125));
      p.drawRoundedRect(
          QRectF(c.left(), c.bottom() - 3, c.width() * std::clamp(weights[r] / max_w, 0.0, 1.0), 3),
          1, 1);
      p.setPen(textColorOn(bg));
      p.drawText(c.adjusted(4, 0, -4, -2), Qt::AlignLeft | Qt::AlignVCenter,
                 QStringLiteral("E%1").arg(experts[r]));
      p.drawText(c.adjusted(4, 0, -4, -2), Qt::AlignRight | Qt::AlignVCenter,
                 QString::number(weights[r], 'f', 3));
    }
    // Entropy: number and a bar against log(n_expert).
    const float h = trace.entropy(t, m);
    p.setPen(text);
    const int num_w = fm.horizontalAdvance(QStringLiteral("0.000")) + 6;
    p.drawText(QRect(l.entropy_x, y, num_w, l.row_h), Qt::AlignRight | Qt::AlignVCenter,
               QString::number(h, 'f', 3));
    const QRectF bar(l.entropy_x + num_w + 6, y + l.row_h / 2.0 - 3, 70, 6);
    p.fillRect(bar, palette().color(QPalette::Midlight));
    p.fillRect(
        QRectF(bar.left(), bar.top(), bar.width() * std::clamp(h / max_h, 0.0, 1.0), bar.height()),
        heatColor(std::clamp(h / max_h, 0.0, 1.0) * 0.8 + 0.2, dark));
  }
  p.setPen(dim);
  p.setBrush(Qt::NoBrush);
  p.drawRect(QRectF(l.map_x - 0.5, l.header_h - 0.5, l.map_w + 1, n_layers * l.row_h));
}

void PathView::mouseMoveEvent(QMouseEvent* event) {
  setCursor(expertAt(event->position().toPoint()) ? Qt::PointingHandCursor : Qt::ArrowCursor);
}

void PathView::mouseReleaseEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return;
  if (const auto hit = expertAt(event->position().toPoint()))
    emit expertClicked(static_cast<int>(hit->first), static_cast<int>(hit->second));
}

}  // namespace es::inspector
