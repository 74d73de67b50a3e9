// A small labelled matrix painted in one widget: the layer × expert load heatmap (and its
// difference between two selections) and the expert co-activation matrix. Rows and columns
// have labels (thinned out when they would overlap), cells show their value when they are
// big enough, a legend shows the scale, the cell under the pointer is described on a
// read-out line and a click emits cellClicked. At most a few hundred thousand cells:
// large matrices are drawn as one scaled image.
#pragma once

#include <QWidget>
#include <functional>
#include <optional>
#include <vector>

namespace es::inspector {

/// What a GridView shows. Plain data, built on the UI thread.
struct GridModel {
  /// How values become colours.
  enum class Scale : int {
    sequential = 1,  ///< value / scale_max on the load scale (heatColor).
    diverging = 2,   ///< value / scale_max on the red–blue scale (divergingColor), 0 white.
  };

  QString title;                       ///< Shown on the read-out line when nothing is hovered.
  QString row_title;                   ///< e.g. "MoE layer".
  QString column_title;                ///< e.g. "expert".
  std::vector<QString> row_labels;     ///< One per row.
  std::vector<QString> column_labels;  ///< One per column.
  uint32_t rows = 0;                   ///< Number of rows.
  uint32_t columns = 0;                ///< Number of columns.
  std::vector<double> values;          ///< rows × columns, row-major.
  Scale scale = Scale::sequential;     ///< The colour scale.
  double scale_max = 1.0;              ///< The value drawn at the top of the scale (> 0).
  /// Cells drawn in a neutral colour and left out of the scale (e.g. a co-activation
  /// diagonal); empty: none.
  std::vector<bool> neutral;
  QString legend_title;  ///< Above the legend's bar.
  QString legend_low;    ///< Label at the bottom of the legend.
  QString legend_high;   ///< Label at its top.
  /// Text inside a cell when it fits (empty function: none).
  std::function<QString(uint32_t row, uint32_t column)> cell_text;
  /// The read-out line for a hovered cell (empty function: the value).
  std::function<QString(uint32_t row, uint32_t column)> describe;
  bool square_cells = false;  ///< Keep cells square (matrices of experts × experts).

  /// The value at (row, column).
  [[nodiscard]] double value(uint32_t row, uint32_t column) const {
    return values[static_cast<size_t>(row) * columns + column];
  }
};

/// The widget (see the file comment).
class GridView : public QWidget {
  Q_OBJECT

 public:
  /// Empty until setModel.
  explicit GridView(QWidget* parent = nullptr);

  /// Shows `model`.
  void setModel(GridModel model);
  [[nodiscard]] const GridModel& model() const { return model_; }
  /// Outlines one cell (e.g. the selected expert); nothing: none.
  void setMarkedCell(std::optional<std::pair<uint32_t, uint32_t>> cell);
  /// The cell at widget point `pos`, if any.
  [[nodiscard]] std::optional<std::pair<uint32_t, uint32_t>> cellAt(QPoint pos) const;
  /// The centre of cell (row, column) in widget coordinates.
  [[nodiscard]] QPoint cellCentre(uint32_t row, uint32_t column) const;
  [[nodiscard]] QSize sizeHint() const override;

 signals:
  /// A cell was clicked.
  void cellClicked(int row, int column);
  /// The pointer is over a cell.
  void cellHovered(int row, int column);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  /// Where the cells lie, and their size.
  struct Geometry {
    QRectF grid;        ///< The cells' rectangle.
    double cell_w = 0;  ///< A cell's width.
    double cell_h = 0;  ///< A cell's height.
  };
  /// Where the cells go for the widget's size.
  [[nodiscard]] Geometry geometry() const;
  /// The colour of cell `index` (row-major) in the current palette.
  [[nodiscard]] QColor cellColor(size_t index) const;

  GridModel model_;
  std::optional<std::pair<uint32_t, uint32_t>> hover_;
  std::optional<std::pair<uint32_t, uint32_t>> marked_;
};

}  // namespace es::inspector
