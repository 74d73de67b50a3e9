// A token × row heatmap that stays fluid on traces of 100,000 tokens and more: the picture
// is cut into 256 × 256-pixel tiles per zoom level, rendered on worker threads from an
// immutable HeatmapSource, cached (least recently used dropped first) and only painted by
// the UI thread. When a zoom level shows more tokens than pixels, each pixel column
// aggregates its tokens (mean or max; the most frequent value for categories). Missing
// tiles are drawn from a coarser cached level, or from the previous version of the source
// while a streaming update renders, and requested; tiles no longer wanted are cancelled
// before they start.
#pragma once

#include <QHash>
#include <QImage>
#include <QWidget>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

class QScrollBar;
class QThreadPool;

namespace es::inspector {

/// How a pixel column that covers several tokens summarises them.
enum class Aggregate : int {
  mean = 1,  ///< The mean value (categories: the most frequent).
  max = 2,   ///< The largest value (categories: the most frequent).
};

/// What the colour legend of a heatmap shows.
struct HeatmapLegend {
  QString title;              ///< e.g. "weight", "dominant expert".
  bool categorical = false;   ///< Swatches of expert colours rather than a gradient.
  uint32_t n_categories = 0;  ///< For categorical: experts 0 .. n_categories - 1.
  QString low;                ///< Gradient: the label of its bottom.
  QString high;               ///< Gradient: the label of its top.
};

/// The values behind a TiledHeatmapView: columns are tokens of a TokenAxis, rows experts or
/// layers. Implementations are immutable and are called from worker threads.
class HeatmapSource {
 public:
  /// Sources are shared with workers by shared_ptr.
  virtual ~HeatmapSource() = default;
  /// Tokens (columns).
  [[nodiscard]] virtual uint64_t columns() const = 0;
  /// Rows.
  [[nodiscard]] virtual uint32_t rows() const = 0;
  /// The label of a row ("E5", "L12").
  [[nodiscard]] virtual QString rowLabel(uint32_t row) const = 0;
  /// What the rows are ("expert at layer 12").
  [[nodiscard]] virtual QString rowTitle() const = 0;
  /// The display text of column `column`'s token.
  [[nodiscard]] virtual QString columnText(uint64_t column) const = 0;
  /// Writes the colours of rows [r0, r1) for the tokens [c0, c1) summarised by `aggregate`
  /// to out[0 .. r1 - r0). c0 < c1 <= columns(), r0 < r1 <= rows().
  virtual void colours(uint64_t c0, uint64_t c1, uint32_t r0, uint32_t r1, Aggregate aggregate,
                       QRgb* out) const = 0;
  /// One line about the cell (tokens [c0, c1), row) for the hover read-out.
  [[nodiscard]] virtual QString describe(uint64_t c0, uint64_t c1, uint32_t row) const = 0;
  /// The legend.
  [[nodiscard]] virtual HeatmapLegend legend() const = 0;
  /// Where each section (message) of the axis starts, with its label.
  [[nodiscard]] virtual std::vector<std::pair<uint64_t, QString>> sections() const = 0;
};

/// Renders one tile (256 × 256 pixels) of `source` at `zoom` (2^(zoom/4) pixels per token),
/// rows `row_height` pixels high: tile (tx, ty) covers content pixels [256 tx, 256 tx + 256)
/// × [256 ty, 256 ty + 256). Pixels past the content are transparent. Any thread.
[[nodiscard]] QImage renderHeatmapTile(const HeatmapSource& source, int zoom, int row_height,
                                       int tx, int ty, Aggregate aggregate);

/// The heatmap widget (see the file comment): axes, section marks, a legend, a hover
/// read-out line, scroll bars; wheel scrolls, Ctrl+wheel (or +/-) zooms around the
/// pointer, dragging pans, a click on a cell emits cellClicked.
class TiledHeatmapView : public QWidget {
  Q_OBJECT

 public:
  /// Tile edge, pixels.
  static constexpr int kTile = 256;
  /// Zoom levels per doubling of the scale.
  static constexpr int kZoomSteps = 4;
  /// Zoom levels: 2^(zoom / kZoomSteps) pixels per token, from 1/65536 to 32.
  static constexpr int kMinZoom = -16 * kZoomSteps;
  static constexpr int kMaxZoom = 5 * kZoomSteps;
  /// Pixels per token at zoom level `zoom`.
  [[nodiscard]] static double pixelsPerToken(int zoom) {
    return std::exp2(static_cast<double>(zoom) / kZoomSteps);
  }

  /// A view rendering its tiles on `pool` (shared by the inspector's views; it must
  /// outlive this widget's last tile job: the owner waits for it before deleting views).
  explicit TiledHeatmapView(QThreadPool* pool, QWidget* parent = nullptr);
  ~TiledHeatmapView() override;

  /// Shows `source`. `keep_view`: the same axis grew or changed in place (a streaming
  /// update) — keep zoom and scroll, and draw the old tiles until the new ones arrive;
  /// otherwise zoom to fit. Cheap: nothing is rendered here.
  void setSource(std::shared_ptr<const HeatmapSource> source, bool keep_view);
  /// The source shown (may be null).
  [[nodiscard]] const std::shared_ptr<const HeatmapSource>& source() const { return source_; }
  /// How pixel columns summarise their tokens.
  void setAggregate(Aggregate aggregate);
  [[nodiscard]] Aggregate aggregate() const { return aggregate_; }

  /// The zoom level (see pixelsPerToken).
  [[nodiscard]] int zoom() const { return zoom_; }
  /// Pixels per token now.
  [[nodiscard]] double pixelsPerToken() const { return pixelsPerToken(zoom_); }
  /// Zooms to `zoom` keeping the token under widget x `anchor_x` in place.
  void setZoom(int zoom, double anchor_x);
  /// The largest zoom at which every token fits the width.
  void zoomToFit();
  /// The horizontal scroll offset, content pixels.
  [[nodiscard]] double scrollX() const { return scroll_x_; }
  /// Scrolls to content pixel `x` (clamped).
  void setScrollX(double x);
  /// The widest horizontal scroll offset.
  [[nodiscard]] double maxScrollX() const;
  /// The plot area in widget coordinates.
  [[nodiscard]] QRect plotRect() const;

  /// The (column, row) under widget point `pos`, if it is on a cell.
  [[nodiscard]] std::optional<std::pair<uint64_t, uint32_t>> cellAt(QPoint pos) const;
  /// The token range a column of pixels at widget x covers (for tests and read-outs).
  [[nodiscard]] std::pair<uint64_t, uint64_t> columnsAt(double x) const;
  /// True when every tile the plot area shows now is cached.
  [[nodiscard]] bool visibleTilesReady() const;
  /// Tiles in the cache.
  [[nodiscard]] int cachedTiles() const { return static_cast<int>(cache_.size()); }
  /// Tiles rendered since construction (for the benchmark).
  [[nodiscard]] int64_t tilesRendered() const { return tiles_rendered_; }
  /// Renders the missing visible tiles on the calling thread (before an export).
  void renderVisibleTilesNow();
  /// How long the last paintEvent took, milliseconds.
  [[nodiscard]] double lastPaintMs() const { return last_paint_ms_; }

 signals:
  /// A cell was clicked: the token of axis index `column`, row `row`.
  void cellClicked(qint64 column, int row);
  /// The pointer is over a cell (column, row).
  void cellHovered(qint64 column, int row);
  /// A tile arrived from a worker.
  void tileArrived();

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;

 private:
  /// A tile of one zoom level and row height.
  struct TileKey {
    int zoom = 0;        ///< Zoom level.
    int row_height = 0;  ///< Pixels per row.
    int tx = 0;          ///< Tile column.
    int ty = 0;          ///< Tile row.
    bool operator==(const TileKey&) const = default;
    /// For QHash.
    friend size_t qHash(const TileKey& key, size_t seed) noexcept {
      return qHashMulti(seed, key.zoom, key.row_height, key.tx, key.ty);
    }
  };
  /// Where a worker's tile goes: the view, or nobody once the view is gone.
  struct Sink {
    std::mutex mutex;                  ///< Held while posting and while the view dies.
    TiledHeatmapView* view = nullptr;  ///< Null once the view is gone.
  };
  /// A tile job not started or running.
  struct Pending {
    std::shared_ptr<std::atomic<bool>> cancelled;  ///< Set: the job returns unrun.
  };

  /// A worker's tile arrived (dropped when the source changed since).
  void ui_tileReady(uint64_t generation, TileKey key, QImage image);
  /// Queues the rendering of a tile unless it is pending.
  void requestTile(const TileKey& key);
  /// Caches a tile, dropping the least recently used beyond the limit.
  void insertTile(const TileKey& key, QImage image);
  /// A cached tile, or null.
  [[nodiscard]] const QImage* findTile(const TileKey& key) const;
  /// Draws a missing tile from a coarser cached level or the previous source's tiles.
  bool drawFallback(class QPainter& p, const TileKey& key, const QRectF& target) const;
  /// Row height and vertical scroll bar for the widget's height.
  void updateLayout();
  /// Scroll bar ranges and positions for the zoom and size.
  void updateScrollBars();
  /// Width of every column at this zoom, pixels.
  [[nodiscard]] double contentWidth() const;
  /// Height of every row, pixels.
  [[nodiscard]] int contentHeight() const;
  /// Height of the token axis under the plot (token texts when they fit, else numbers).
  [[nodiscard]] int axisHeight() const;
  /// The tiles the plot shows, `margin_tiles` more on either side, nearest the centre first.
  [[nodiscard]] std::vector<TileKey> visibleTiles(int margin_tiles) const;
  /// Row labels and title, token axis, section labels.
  void paintAxes(class QPainter& p, const QRect& plot) const;
  /// The colour legend.
  void paintLegend(class QPainter& p, const QRect& area) const;
  /// The line describing the hovered cell.
  void paintReadout(class QPainter& p, const QRect& area) const;

  QThreadPool* pool_;
  std::shared_ptr<Sink> sink_;
  std::shared_ptr<const HeatmapSource> source_;
  uint64_t generation_ = 0;  ///< Bumped with each source / aggregate change.
  Aggregate aggregate_ = Aggregate::max;
  int zoom_ = 0;
  double scroll_x_ = 0.0;
  int scroll_y_ = 0;
  int row_height_ = 12;
  QScrollBar* hbar_;
  QScrollBar* vbar_;
  bool syncing_bars_ = false;

  QHash<TileKey, QImage> cache_;
  std::list<TileKey> lru_;        ///< Most recent last.
  QHash<TileKey, QImage> stale_;  ///< The previous source's tiles (streaming updates).
  QHash<TileKey, Pending> pending_;
  int64_t tiles_rendered_ = 0;

  std::optional<std::pair<uint64_t, uint32_t>> hover_;  ///< First column and row under the pointer.
  double hover_x_ = 0.0;                                ///< The pointer's widget x.
  bool auto_fit_ = true;  ///< Zoom to fit on resize until the user zooms or scrolls.
  QPoint press_pos_;
  double press_scroll_x_ = 0.0;
  int press_scroll_y_ = 0;
  bool dragging_ = false;
  double last_paint_ms_ = 0.0;
};

}  // namespace es::inspector
