// inspector_screenshot OUT_DIR [--dark] [--session] [--rows-layers] [--tokens N] [--layers L]
//                      [--experts E] [--top-k K] [--width W] [--height H]
//
// Renders every view of the Routing Inspector over a synthetic session (a question with an
// image and its answer, or one long answer of N tokens) to OUT_DIR/inspector-<view>.png,
// for looking at the inspector as a person would: `xvfb-run -a inspector_screenshot out/`.
// --session shows the whole session (else the answer, compared with the question);
// --rows-layers shows every layer in the heatmap, coloured by the dominant expert.
// Not a test. Exit status 0 when every PNG was written.
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QPalette>
#include <QStyleFactory>
#include <cstdio>

#include "inspector_samples.h"
#include "routing_inspector.h"

namespace {

QPalette darkPalette() {
  QPalette p;
  p.setColor(QPalette::Window, QColor(0x2b, 0x2d, 0x30));
  p.setColor(QPalette::WindowText, QColor(0xe6, 0xe6, 0xe6));
  p.setColor(QPalette::Base, QColor(0x1e, 0x1f, 0x22));
  p.setColor(QPalette::AlternateBase, QColor(0x33, 0x35, 0x39));
  p.setColor(QPalette::Text, QColor(0xe6, 0xe6, 0xe6));
  p.setColor(QPalette::Button, QColor(0x3a, 0x3d, 0x41));
  p.setColor(QPalette::ButtonText, QColor(0xe6, 0xe6, 0xe6));
  p.setColor(QPalette::Highlight, QColor(0x3d, 0x8e, 0xe8));
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9d, 0xa3));
  p.setColor(QPalette::Mid, QColor(0x5a, 0x5d, 0x62));
  p.setColor(QPalette::Midlight, QColor(0x48, 0x4b, 0x50));
  p.setColor(QPalette::ToolTipBase, QColor(0x1e, 0x1f, 0x22));
  p.setColor(QPalette::ToolTipText, QColor(0xe6, 0xe6, 0xe6));
  return p;
}

/// Processes events until the inspector has nothing left to compute and the heatmap's
/// visible tiles are in (or `timeout_ms` passed).
bool waitIdle(es::inspector::RoutingInspector& inspector, int timeout_ms) {
  QElapsedTimer timer;
  timer.start();
  while (timer.elapsed() < timeout_ms) {
    QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    if (!inspector.isBusy() && inspector.analysis() &&
        (inspector.currentView() != QStringLiteral("heatmap") ||
         inspector.heatmapView()->visibleTilesReady()))
      return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  const QStringList args = app.arguments();
  if (args.size() < 2) {
    std::fprintf(stderr,
                 "usage: inspector_screenshot OUT_DIR [--dark] [--session] [--rows-layers] "
                 "[--tokens N] [--layers L] [--experts E] [--top-k K] [--width W] [--height H]\n");
    return 2;
  }
  const QString out_dir = args[1];
  const bool dark = args.contains(QStringLiteral("--dark"));
  const auto option = [&](const QString& name, int fallback) {
    const auto i = args.indexOf(name);
    return i > 0 && i + 1 < args.size() ? args[i + 1].toInt() : fallback;
  };
  es::test::SampleShape shape;
  shape.n_layers = static_cast<uint32_t>(option(QStringLiteral("--layers"), 16));
  shape.n_expert = static_cast<uint32_t>(option(QStringLiteral("--experts"), 16));
  shape.top_k = static_cast<uint32_t>(option(QStringLiteral("--top-k"), 2));
  const int n_tokens = option(QStringLiteral("--tokens"), 0);
  QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  if (dark) QApplication::setPalette(darkPalette());
  QDir().mkpath(out_dir);

  es::inspector::RoutingInspector inspector;
  inspector.setWindowTitle(QStringLiteral("Routing Inspector"));
  inspector.resize(option(QStringLiteral("--width"), 1280),
                   option(QStringLiteral("--height"), 800));
  inspector.show();
  if (n_tokens > 0) {
    inspector.setData(es::test::big_data(static_cast<size_t>(n_tokens), shape));
  } else {
    inspector.setData(es::inspector::InspectorData::fromSession(es::test::sample_session(shape)));
    if (!args.contains(QStringLiteral("--session"))) {
      inspector.setSelection({1, {}, es::Modality::unset});
      inspector.setCompareSelection(es::inspector::InspectorSelection{0, {}, es::Modality::unset});
    } else {
      inspector.setCompareSelection(es::inspector::InspectorSelection{-1, {}, es::Modality::image});
    }
  }
  if (args.contains(QStringLiteral("--rows-layers")))
    inspector.setHeatmapRows(es::inspector::RoutingInspector::HeatmapRows::layers);
  if (!waitIdle(inspector, 600000)) {
    std::fprintf(stderr, "error: the inspector did not settle\n");
    return 1;
  }
  inspector.showTokenPath(n_tokens > 0 ? 0 : 1, 4);
  int status = 0;
  for (const QString& view : es::inspector::RoutingInspector::viewNames()) {
    inspector.setView(view);
    waitIdle(inspector, 600000);
    QCoreApplication::processEvents();
    const QString path = QDir(out_dir).filePath(
        QStringLiteral("inspector-%1%2.png").arg(view, dark ? QStringLiteral("-dark") : QString()));
    if (!inspector.grab().save(path)) {
      std::fprintf(stderr, "error: %s: cannot write\n", qPrintable(path));
      status = 1;
    }
  }
  return status;
}
