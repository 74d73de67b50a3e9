// The text of a selection as token chips coloured by a measure, in one custom-painted
// scroll area: no widget per token, only the chips in view are painted (100,000 tokens
// scroll as fast as 100). Chip widths are measured on a worker (ChipMetrics, cached per
// segment); the flow layout (lines, with a break after newline tokens and a header line
// where a new message starts) is a linear pass on the UI thread when the width changes.
// Hovering a chip emits chipHovered, a click chipClicked, dragging selects a range.
#pragma once

#include <QAbstractScrollArea>
#include <QFont>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "colour_scales.h"
#include "inspector_analysis.h"

namespace es::inspector {

/// Chip widths and line breaks of an Analysis's axis, for one font.
struct ChipMetrics {
  QString font_key;                  ///< QFont::key() of the font measured.
  std::vector<float> widths;         ///< Per axis token: the chip's width, pixels.
  std::vector<uint8_t> break_after;  ///< Per axis token: 1 when its text ends a line.
};

/// Per-segment chip widths for one font, reused while a session streams. Holds no segment
/// alive (entries of segments that are gone are dropped). Thread-safe.
class ChipMetricsCache {
 public:
  /// The metrics of `analysis`'s axis in `font` (any thread).
  [[nodiscard]] std::shared_ptr<const ChipMetrics> measure(const Analysis& analysis,
                                                           const QFont& font);

 private:
  /// The chips of every token of one segment in one font.
  struct Entry {
    std::weak_ptr<const InspectorSegment> segment;  ///< The key (compared by owner).
    QString font_key;                               ///< The key's font.
    std::vector<float> widths;                      ///< Per token of the segment.
    std::vector<uint8_t> break_after;               ///< Per token of the segment.
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;  ///< Most recently used last.
};

/// A one-line legend of a measure: expert swatches or a gradient with its ends.
class MeasureLegend : public QWidget {
  Q_OBJECT

 public:
  /// Dominant expert, no experts, until setMeasure.
  explicit MeasureLegend(QWidget* parent = nullptr);
  /// Shows `measure` at block `block` for `n_expert` experts.
  void setMeasure(Measure measure, uint32_t block, uint32_t n_expert);
  [[nodiscard]] QSize sizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  Measure measure_ = Measure::dominant_expert;
  uint32_t block_ = 0;
  uint32_t n_expert_ = 0;
};

/// The chip view (see the file comment).
class ChipView : public QAbstractScrollArea {
  Q_OBJECT

 public:
  /// Empty until setContent.
  explicit ChipView(QWidget* parent = nullptr);

  /// Shows `analysis`'s axis measured by `metrics`; `keep_scroll`: a streaming update of
  /// the same selection (keep the scroll position, follow the end when it was at the end).
  void setContent(std::shared_ptr<const Analysis> analysis,
                  std::shared_ptr<const ChipMetrics> metrics, bool keep_scroll);
  /// Colours the chips by `measure` (at the analysis's layer).
  void setMeasure(Measure measure);
  [[nodiscard]] Measure measure() const { return measure_; }
  /// The analysis shown.
  [[nodiscard]] const std::shared_ptr<const Analysis>& analysis() const { return analysis_; }

  /// The axis index of the chip at viewport point `pos`.
  [[nodiscard]] std::optional<uint64_t> chipAt(QPoint pos) const;
  /// The chip of axis index `index` in viewport coordinates (empty when not laid out).
  [[nodiscard]] QRect chipRect(uint64_t index) const;
  /// Scrolls so that chip `index` is visible.
  void ensureChipVisible(uint64_t index);
  /// Outlines chip `index` (e.g. the token hovered in the chat); nothing: none.
  void setHighlighted(std::optional<uint64_t> index);
  /// The range selected by dragging (first, last axis index), if any.
  [[nodiscard]] std::optional<std::pair<uint64_t, uint64_t>> selectedRange() const;
  /// Forgets the selected range.
  void clearSelectedRange();
  /// Lines laid out (for tests).
  [[nodiscard]] size_t lineCount() const { return lines_.size(); }

 signals:
  /// The pointer entered chip `index` (axis index).
  void chipHovered(qint64 index);
  /// Chip `index` was clicked.
  void chipClicked(qint64 index);
  /// A range of chips was selected by dragging.
  void rangeSelected(qint64 first, qint64 last);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  /// One line: chips [first, end), or a header naming section `section`.
  struct Line {
    uint64_t first = 0;  ///< Axis index of the first chip.
    uint64_t end = 0;    ///< One past the last.
    int y = 0;           ///< Top, content pixels.
    int height = 0;      ///< Pixels.
    int section = -1;    ///< >= 0: a header line.
  };
  /// Lays every chip out for the viewport's width (one linear pass).
  void relayout();
  /// The line at content y (the last one starting above it).
  [[nodiscard]] size_t lineAt(int content_y) const;
  /// A chip's height in the current font.
  [[nodiscard]] int chipHeight() const;

  std::shared_ptr<const Analysis> analysis_;
  std::shared_ptr<const ChipMetrics> metrics_;
  std::vector<std::pair<uint64_t, QString>> sections_;
  Measure measure_ = Measure::dominant_expert;
  std::vector<Line> lines_;
  std::vector<float> x_;           ///< Per axis token: its chip's left edge.
  std::vector<uint32_t> line_of_;  ///< Per axis token: its line.
  int content_height_ = 0;
  int laid_out_width_ = -1;
  std::optional<uint64_t> hover_;
  std::optional<uint64_t> highlighted_;
  std::optional<uint64_t> press_;
  std::optional<std::pair<uint64_t, uint64_t>> range_;
  bool dragging_ = false;
};

}  // namespace es::inspector
