// bench_inspector [--tokens N] [--layers L] [--experts E] [--frames F]
//
// The Routing Inspector's frame time on a big trace (default 100,000 tokens × 48 MoE layers
// × 8 experts, top-2): the heatmap panned frame by frame at three zoom levels (everything
// in view, 1 pixel per token, 8 pixels per token) in both row modes, and the token chips
// scrolled. Each frame scrolls, lets queued events (arriving tiles) in, and repaints
// synchronously; the time of that repaint is the frame time. Tiles render on the
// inspector's worker threads meanwhile: "complete" counts frames whose every visible tile
// was already cached (the others drew a coarser level in its place). Run under
// `xvfb-run -a` or with QT_QPA_PLATFORM=offscreen; results go to BENCHMARKS.md.
#include <QApplication>
#include <QElapsedTimer>
#include <QScrollBar>
#include <QThread>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <functional>
#include <vector>

#include "chip_view.h"
#include "inspector_samples.h"
#include "routing_inspector.h"

using es::inspector::RoutingInspector;
using es::inspector::TiledHeatmapView;

namespace {

/// Frame times of one run, milliseconds.
struct Frames {
  std::vector<double> ms;     ///< repaint(): paintEvent and the flush to the window.
  std::vector<double> paint;  ///< The paintEvent alone.
  int complete = 0;

  void print(const char* what) const {
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    double sum = 0;
    for (const double v : s) sum += v;
    const auto at = [&](double q) {
      return s[std::min(s.size() - 1, static_cast<size_t>(q * s.size()))];
    };
    double paint_sum = 0;
    for (const double v : paint) paint_sum += v;
    std::printf("%-44s frames %4zu  mean %6.2f ms  p50 %6.2f  p95 %6.2f  max %6.2f", what, s.size(),
                sum / static_cast<double>(s.size()), at(0.5), at(0.95), s.back());
    if (!paint.empty())
      std::printf("  (paintEvent mean %5.2f)  complete %3.0f%%",
                  paint_sum / static_cast<double>(paint.size()),
                  100.0 * complete / static_cast<double>(s.size()));
    std::printf("\n");
    std::fflush(stdout);
  }
};

void processFor(int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
}

bool waitFor(const std::function<bool()>& done, int timeout_ms) {
  QElapsedTimer t;
  t.start();
  while (!done()) {
    if (t.elapsed() > timeout_ms) return false;
    QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
  }
  return true;
}

/// Pans the heatmap by `step` pixels a frame for `n` frames (back and forth across the
/// content), `gap_ms` of event processing between frames.
Frames pan(TiledHeatmapView* heat, int n, double step, int gap_ms) {
  Frames f;
  double dir = 1;
  for (int i = 0; i < n; ++i) {
    double x = heat->scrollX() + dir * step;
    if (x > heat->maxScrollX() || x < 0) {
      dir = -dir;
      x = heat->scrollX() + dir * step;
    }
    heat->setScrollX(x);
    if (gap_ms > 0) processFor(gap_ms);
    QCoreApplication::processEvents();
    QElapsedTimer t;
    t.start();
    heat->repaint();
    f.ms.push_back(t.nsecsElapsed() / 1e6);
    f.paint.push_back(heat->lastPaintMs());
    if (heat->visibleTilesReady()) ++f.complete;
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  const QStringList args = app.arguments();
  const auto option = [&](const QString& name, int fallback) {
    const auto i = args.indexOf(name);
    return i > 0 && i + 1 < args.size() ? args[i + 1].toInt() : fallback;
  };
  const int n_tokens = option(QStringLiteral("--tokens"), 100000);
  const int frames = option(QStringLiteral("--frames"), 240);
  es::test::SampleShape shape;
  shape.n_layers = static_cast<uint32_t>(option(QStringLiteral("--layers"), 48));
  shape.n_expert = static_cast<uint32_t>(option(QStringLiteral("--experts"), 8));
  shape.top_k = 2;

  QElapsedTimer timer;
  timer.start();
  const auto data = es::test::big_data(static_cast<size_t>(n_tokens), shape);
  std::printf(
      "trace: %d tokens x %u layers x %u experts (top-%u), %.1f MiB stored, built in %lld ms\n",
      n_tokens, shape.n_layers, shape.n_expert, shape.top_k,
      data->segment(0).trace->storage_bytes() / 1048576.0, static_cast<long long>(timer.elapsed()));
  std::printf("platform: %s, %d worker threads\n", qPrintable(QGuiApplication::platformName()),
              std::max(2, QThread::idealThreadCount() - 1));

  RoutingInspector inspector;
  inspector.resize(1600, 900);
  inspector.show();
  processFor(200);
  inspector.setView(QStringLiteral("heatmap"));
  timer.restart();
  inspector.setData(data);
  const double set_data_ms = timer.nsecsElapsed() / 1e6;
  if (!waitFor([&] { return !inspector.isBusy() && inspector.analysis(); }, 600000)) return 1;
  std::printf("setData returned in %.2f ms; statistics ready (worker) after %lld ms\n", set_data_ms,
              static_cast<long long>(timer.elapsed()));
  TiledHeatmapView* heat = inspector.heatmapView();

  for (const auto rows :
       {RoutingInspector::HeatmapRows::experts, RoutingInspector::HeatmapRows::layers}) {
    inspector.setHeatmapRows(rows);
    const char* rows_name = rows == RoutingInspector::HeatmapRows::experts ? "experts" : "layers";
    processFor(50);
    std::printf("heatmap rows: %s, plot %dx%d px\n", rows_name, heat->plotRect().width(),
                heat->plotRect().height());
    struct Zoom {
      const char* name;
      int level;  // INT_MIN: fit
    };
    for (const Zoom z : {Zoom{"fit", INT_MIN}, Zoom{"1 px/token", 0},
                         Zoom{"8 px/token", 3 * TiledHeatmapView::kZoomSteps}}) {
      if (z.level == INT_MIN)
        heat->zoomToFit();
      else
        heat->setZoom(z.level, heat->plotRect().left());
      timer.restart();
      if (!waitFor(
              [&] {
                heat->repaint();
                return heat->visibleTilesReady();
              },
              600000))
        return 1;
      const double first_ms = static_cast<double>(timer.elapsed());
      char label[96];
      if (heat->maxScrollX() < 1) {
        std::snprintf(label, sizeof label, "heatmap %s, %s: repaint", rows_name, z.name);
        pan(heat, frames / 4, 0, 0).print(label);
      } else {
        std::snprintf(label, sizeof label, "heatmap %s, %s: pan 40 px/frame", rows_name, z.name);
        pan(heat, frames, 40, 0).print(label);
        std::snprintf(label, sizeof label, "heatmap %s, %s: pan at 60 Hz", rows_name, z.name);
        pan(heat, frames, 40, 16).print(label);
      }
      std::printf("%-44s all visible tiles rendered %.0f ms after the change (workers)\n", "",
                  first_ms);
    }
  }

  // The chips: scroll through 100,000 tokens.
  inspector.setView(QStringLiteral("tokens"));
  processFor(100);
  es::inspector::ChipView* chips = inspector.chipView();
  Frames f;  // no paintEvent timing or tiles here: the repaint is all of it
  QScrollBar* bar = chips->verticalScrollBar();
  for (int i = 0; i < frames; ++i) {
    bar->setValue(bar->value() + 40);
    QCoreApplication::processEvents();
    QElapsedTimer t;
    t.start();
    chips->viewport()->repaint();
    f.ms.push_back(t.nsecsElapsed() / 1e6);
  }
  std::printf("chips: %zu lines laid out\n", chips->lineCount());
  f.print("token chips: scroll 40 px/frame");
  return 0;
}
