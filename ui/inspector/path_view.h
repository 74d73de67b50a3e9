// One token's path through the model: a header (its text, message, id, position,
// modality) and one row per MoE layer aligned across three columns — the layer × expert
// mini-map (the weight each expert got, empty where not selected), the top-k experts as
// chips in their colours with their weights as bars, and the router entropy. Painted in
// one widget (its height grows with the layers: put it in a scroll area); a click on a
// mini-map cell or a chip emits expertClicked.
#pragma once

#include <QWidget>
#include <memory>
#include <optional>

#include "inspector_analysis.h"

namespace es::inspector {

/// The path view (see the file comment).
class PathView : public QWidget {
  Q_OBJECT

 public:
  /// A hint until a token is set.
  explicit PathView(QWidget* parent = nullptr);

  /// The data and scales to draw with; keeps the token if it still exists.
  void setAnalysis(std::shared_ptr<const Analysis> analysis);
  /// Shows token `token` of segment `segment`; one the analysis shown now does not hold
  /// is kept pending until an analysis that holds it arrives.
  void setToken(size_t segment, uint32_t token);
  /// Shows nothing.
  void clearToken();
  /// True when a token is shown.
  [[nodiscard]] bool hasToken() const { return token_.has_value(); }
  /// True while a token was asked for that the current analysis does not hold yet (the
  /// data is newer than the analysis): it is shown when an analysis that holds it arrives.
  [[nodiscard]] bool hasPendingToken() const { return pending_.has_value(); }
  /// The segment and token shown (valid when hasToken()).
  [[nodiscard]] std::pair<size_t, uint32_t> token() const {
    return token_.value_or(std::pair<size_t, uint32_t>{});
  }
  /// The header line, e.g. "“ the” — token 5 of #1 assistant · id 279 · position 17 · text".
  [[nodiscard]] QString summary() const;
  /// The weight of `expert` at MoE layer m for the token shown (0 when not selected).
  [[nodiscard]] float weightAt(uint32_t m, uint32_t expert) const;
  /// The mini-map cell of (m, expert) in widget coordinates (for tests).
  [[nodiscard]] QRect miniMapCell(uint32_t m, uint32_t expert) const;
  [[nodiscard]] QSize sizeHint() const override;
  [[nodiscard]] QSize minimumSizeHint() const override;

 signals:
  /// An expert of MoE layer m was clicked.
  void expertClicked(int m, int expert);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;

 private:
  /// Column positions of the rows.
  struct Layout {
    int header_h = 0;   ///< Height of the header above the rows.
    int row_h = 0;      ///< Height of a layer's row.
    int label_w = 0;    ///< Width of the layer labels.
    int map_x = 0;      ///< Left of the mini-map.
    double cell_w = 0;  ///< Width of a mini-map cell.
    int map_w = 0;      ///< Width of the mini-map.
    int chips_x = 0;    ///< Left of the top-k chips.
    int chip_w = 0;     ///< Width of a chip.
    int entropy_x = 0;  ///< Left of the entropy column.
  };
  /// The columns for the current font and data.
  [[nodiscard]] Layout layout() const;
  /// True when the token shown exists in the analysis's data.
  [[nodiscard]] bool valid() const;
  /// The (m, expert) under `pos`, if a mini-map cell or a chip.
  [[nodiscard]] std::optional<std::pair<uint32_t, uint32_t>> expertAt(QPoint pos) const;

  std::shared_ptr<const Analysis> analysis_;
  std::optional<std::pair<size_t, uint32_t>> token_;
  std::optional<std::pair<size_t, uint32_t>> pending_;  ///< Asked for; not in the analysis yet.
};

}  // namespace es::inspector
