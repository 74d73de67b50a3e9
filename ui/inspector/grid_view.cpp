// GridView: a labelled matrix with a legend.
#include "grid_view.h"

#include <QLinearGradient>
#include <QMouseEvent>
#include <QPainter>
#include <algorithm>
#include <cmath>

#include "colour_scales.h"

namespace es::inspector {

namespace {

constexpr int kLegendWidth = 96;
constexpr size_t kMaxRectCells = 40000;  // beyond: one scaled image

}  // namespace

GridView::GridView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setMinimumSize(240, 160);
}

QSize GridView::sizeHint() const {
  return {640, 480};
}

void GridView::setModel(GridModel model) {
  model_ = std::move(model);
  if (model_.values.size() != static_cast<size_t>(model_.rows) * model_.columns)
    model_.values.assign(static_cast<size_t>(model_.rows) * model_.columns, 0.0);
  if (!(model_.scale_max > 0.0)) model_.scale_max = 1.0;
  hover_.reset();
  update();
}

void GridView::setMarkedCell(std::optional<std::pair<uint32_t, uint32_t>> cell) {
  marked_ = cell;
  update();
}

GridView::Geometry GridView::geometry() const {
  const QFontMetrics fm(font());
  int label_w = fm.horizontalAdvance(QStringLiteral("L00"));
  for (const QString& l : model_.row_labels) label_w = std::max(label_w, fm.horizontalAdvance(l));
  const double left = fm.height() + 8 + label_w + 6;
  const double top = 2 * fm.height() + 12;  // read-out line, column labels
  const double bottom = fm.height() + 8;    // column title
  const double right = kLegendWidth;
  Geometry g;
  const double w = std::max(1.0, width() - left - right);
  const double h = std::max(1.0, height() - top - bottom);
  if (model_.rows == 0 || model_.columns == 0) {
    g.grid = QRectF(left, top, w, h);
    return g;
  }
  g.cell_w = w / model_.columns;
  g.cell_h = std::min(h / model_.rows, 3.0 * fm.height());
  if (model_.square_cells) g.cell_w = g.cell_h = std::min(g.cell_w, h / model_.rows);
  g.cell_w = std::min(g.cell_w, 8.0 * fm.height());
  g.grid = QRectF(left, top, g.cell_w * model_.columns, g.cell_h * model_.rows);
  return g;
}

QColor GridView::cellColor(size_t index) const {
  if (!model_.neutral.empty() && model_.neutral[index]) return palette().color(QPalette::Mid);
  const double v = model_.values[index] / model_.scale_max;
  const bool dark = isDark(palette());
  return model_.scale == GridModel::Scale::diverging ? divergingColor(v, dark) : heatColor(v, dark);
}

std::optional<std::pair<uint32_t, uint32_t>> GridView::cellAt(QPoint pos) const {
  const Geometry g = geometry();
  if (!g.grid.contains(pos) || g.cell_w <= 0 || g.cell_h <= 0) return std::nullopt;
  const auto c = static_cast<uint32_t>((pos.x() - g.grid.left()) / g.cell_w);
  const auto r = static_cast<uint32_t>((pos.y() - g.grid.top()) / g.cell_h);
  if (r >= model_.rows || c >= model_.columns) return std::nullopt;
  return std::make_pair(r, c);
}

QPoint GridView::cellCentre(uint32_t row, uint32_t column) const {
  const Geometry g = geometry();
  return QPointF(g.grid.left() + (column + 0.5) * g.cell_w, g.grid.top() + (row + 0.5) * g.cell_h)
      .toPoint();
}

void GridView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  const QFontMetrics fm(font());
  const QColor text = palette().color(QPalette::Text);
  const QColor dim = palette().color(QPalette::PlaceholderText);
  const Geometry g = geometry();

  // Read-out line.
  QString readout = model_.title;
  if (hover_) {
    readout = model_.describe ? model_.describe(hover_->first, hover_->second)
                              : QString::number(model_.value(hover_->first, hover_->second));
  }
  p.setPen(hover_ ? text : dim);
  const QRect readout_rect(static_cast<int>(g.grid.left()), 2,
                           width() - static_cast<int>(g.grid.left()) - 4, fm.height() + 2);
  p.drawText(readout_rect, Qt::AlignLeft | Qt::AlignVCenter,
             fm.elidedText(readout, Qt::ElideRight, readout_rect.width()));
  if (model_.rows == 0 || model_.columns == 0) {
    p.drawText(rect(), Qt::AlignCenter, tr("Nothing to show"));
    return;
  }

  // Cells.
  const size_t n_cells = model_.values.size();
  if (n_cells > kMaxRectCells || g.cell_w < 2 || g.cell_h < 2) {
    QImage img(static_cast<int>(model_.columns), static_cast<int>(model_.rows),
               QImage::Format_RGB32);
    for (uint32_t r = 0; r < model_.rows; ++r) {
      auto* line = reinterpret_cast<QRgb*>(img.scanLine(static_cast<int>(r)));
      for (uint32_t c = 0; c < model_.columns; ++c)
        line[c] = cellColor(static_cast<size_t>(r) * model_.columns + c).rgb();
    }
    p.drawImage(g.grid, img);
  } else {
    const bool gaps = g.cell_w >= 6 && g.cell_h >= 6;
    const bool texts = model_.cell_text && n_cells <= 4096 && g.cell_h >= fm.height();
    for (uint32_t r = 0; r < model_.rows; ++r) {
      for (uint32_t c = 0; c < model_.columns; ++c) {
        const size_t i = static_cast<size_t>(r) * model_.columns + c;
        const QRectF cell(g.grid.left() + c * g.cell_w, g.grid.top() + r * g.cell_h,
                          g.cell_w - (gaps ? 1 : 0), g.cell_h - (gaps ? 1 : 0));
        const QColor colour = cellColor(i);
        p.fillRect(cell, colour);
        if (texts) {
          const QString t = model_.cell_text(r, c);
          if (fm.horizontalAdvance(t) + 4 <= cell.width()) {
            p.setPen(textColorOn(colour));
            p.drawText(cell, Qt::AlignCenter, t);
          }
        }
      }
    }
  }
  p.setPen(dim);
  p.setBrush(Qt::NoBrush);
  p.drawRect(g.grid.adjusted(-0.5, -0.5, 0.5, 0.5));

  // Row labels (every n-th so that they do not overlap), and the row title.
  p.setPen(text);
  const int row_every = std::max(1, static_cast<int>(std::ceil(fm.height() / g.cell_h)));
  for (uint32_t r = 0; r < model_.rows; r += static_cast<uint32_t>(row_every)) {
    const double y = g.grid.top() + (r + 0.5) * g.cell_h;
    p.drawText(QRectF(0, y - fm.height() / 2.0, g.grid.left() - 6, fm.height()),
               Qt::AlignRight | Qt::AlignVCenter,
               r < model_.row_labels.size() ? model_.row_labels[r] : QString());
  }
  p.save();
  p.translate(fm.height() / 2.0 + 3, g.grid.center().y());
  p.rotate(-90);
  p.drawText(QRectF(-g.grid.height() / 2, -fm.height() / 2.0, g.grid.height(), fm.height()),
             Qt::AlignCenter, model_.row_title);
  p.restore();

  // Column labels above the grid, and the column title below.
  int widest = 0;
  for (const QString& l : model_.column_labels) widest = std::max(widest, fm.horizontalAdvance(l));
  const int col_every =
      std::max(1, static_cast<int>(std::ceil((widest + 6) / std::max(g.cell_w, 0.01))));
  for (uint32_t c = 0; c < model_.columns; c += static_cast<uint32_t>(col_every)) {
    const double x = g.grid.left() + (c + 0.5) * g.cell_w;
    p.drawText(QRectF(x - 40, g.grid.top() - fm.height() - 4, 80, fm.height()), Qt::AlignCenter,
               c < model_.column_labels.size() ? model_.column_labels[c] : QString());
  }
  p.drawText(QRectF(g.grid.left(), g.grid.bottom() + 4, g.grid.width(), fm.height()),
             Qt::AlignCenter, model_.column_title);

  // Marked and hovered cells.
  const auto outline = [&](const std::pair<uint32_t, uint32_t>& cell, const QColor& colour) {
    p.setPen(QPen(colour, 2));
    p.setBrush(Qt::NoBrush);
    p.drawRect(QRectF(g.grid.left() + cell.second * g.cell_w - 1,
                      g.grid.top() + cell.first * g.cell_h - 1, g.cell_w + 1, g.cell_h + 1));
  };
  if (marked_ && marked_->first < model_.rows && marked_->second < model_.columns)
    outline(*marked_, text);
  if (hover_) outline(*hover_, palette().color(QPalette::Highlight));

  // Legend.
  const QRectF area(g.grid.right() + 16, g.grid.top(), kLegendWidth - 20, g.grid.height());
  p.setPen(text);
  p.drawText(
      QRectF(area.left(), g.grid.top() - fm.height() - 4, width() - area.left(), fm.height()),
      Qt::AlignLeft | Qt::AlignVCenter, model_.legend_title);
  const QRectF bar(area.left(), area.top(), 14, std::clamp(area.height(), 40.0, 240.0));
  QLinearGradient grad(bar.topLeft(), bar.bottomLeft());
  for (int i = 0; i <= 10; ++i) {
    const double f = 1.0 - i / 10.0;
    grad.setColorAt(i / 10.0, model_.scale == GridModel::Scale::diverging
                                  ? divergingColor(2 * f - 1, isDark(palette()))
                                  : heatColor(f, isDark(palette())));
  }
  p.fillRect(bar, grad);
  p.setPen(dim);
  p.drawRect(bar);
  p.setPen(text);
  p.drawText(QRectF(bar.right() + 5, bar.top(), kLegendWidth, fm.height()), Qt::AlignLeft,
             model_.legend_high);
  if (model_.scale == GridModel::Scale::diverging)
    p.drawText(
        QRectF(bar.right() + 5, bar.center().y() - fm.height() / 2.0, kLegendWidth, fm.height()),
        Qt::AlignLeft, QStringLiteral("0"));
  p.drawText(QRectF(bar.right() + 5, bar.bottom() - fm.height(), kLegendWidth, fm.height()),
             Qt::AlignLeft, model_.legend_low);
}

void GridView::mouseMoveEvent(QMouseEvent* event) {
  const auto cell = cellAt(event->position().toPoint());
  if (cell == hover_) return;
  hover_ = cell;
  update();
  if (cell) emit cellHovered(static_cast<int>(cell->first), static_cast<int>(cell->second));
}

void GridView::mouseReleaseEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return;
  if (const auto cell = cellAt(event->position().toPoint()))
    emit cellClicked(static_cast<int>(cell->first), static_cast<int>(cell->second));
}

void GridView::leaveEvent(QEvent*) {
  if (!hover_) return;
  hover_.reset();
  update();
}

}  // namespace es::inspector
