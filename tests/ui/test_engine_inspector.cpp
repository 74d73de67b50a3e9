// The Engine Inspector's ImGui frame is really drawn: under Xvfb (xcb) the frame is read
// back and the KV cache bar's colour, which only the inspector draws, is found where the
// bar is; the expert grid is many-coloured; nothing is redrawn while idle. On the
// offscreen platform the widget falls back to a label without crashing.
//
// ES_ENGINE_INSPECTOR_SCREENSHOT=OUT.png (and optionally ES_ENGINE_INSPECTOR_DARK=1,
// ES_ENGINE_INSPECTOR_SIZE=WxH) saves the rendered frame of a realistic snapshot.
#include <QApplication>
#include <QDockWidget>
#include <QLabel>
#include <QMainWindow>
#include <QScreen>
#include <QVulkanWindow>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "engine_inspector.h"
#include "expertscope/context.h"
#include "expertscope/model.h"
#include "inspector_panels.h"
#include "tiny_models.h"

using es::ui::EngineInspector;
using es::ui::InspectorRenderer;

Q_DECLARE_METATYPE(es::ui::InspectorRenderer)

namespace {

/// A DeepSeek-V2-Lite-shaped snapshot part-way through an answer: 26 MoE layers of 64
/// experts (top-6), a skewed load, plausible op times.
es::EngineStats realistic_snapshot() {
  es::EngineStats st;
  st.backend = "cpu";
  st.n_threads = 16;
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  st.history.push_back({412, 1210.0, es::StepKind::prompt});
  for (int i = 0; i < 96; ++i) {
    const double tps = 31.0 + 2.0 * std::sin(i * 0.21) + 0.9 * noise(rng) - (i > 70 ? 1.5 : 0.0);
    st.history.push_back({1, 1000.0 / tps, es::StepKind::generation});
  }
  st.n_prompt_tokens = 412;
  st.n_generated_tokens = 96;
  st.last_pass.n_tokens = 1;
  const auto set = [&](es::EngineOp op, double ms, uint32_t calls) {
    st.last_pass.ops[static_cast<size_t>(op)] = es::OpTime{ms, calls};
  };
  set(es::EngineOp::mul_mat_id, 17.8, 78);
  set(es::EngineOp::mul_mat, 7.4, 137);
  set(es::EngineOp::attention, 2.1, 27);
  set(es::EngineOp::router, 0.46, 26);
  set(es::EngineOp::rms_norm, 0.31, 82);
  set(es::EngineOp::swiglu, 0.22, 28);
  set(es::EngineOp::moe_sum, 0.19, 26);
  set(es::EngineOp::rope, 0.12, 54);
  set(es::EngineOp::add, 0.09, 80);
  set(es::EngineOp::kv_store, 0.05, 27);
  set(es::EngineOp::synchronize, 0.03, 27);
  set(es::EngineOp::get_rows, 0.01, 1);
  double sum = 0.0;
  for (const auto& o : st.last_pass.ops) sum += o.total_ms;
  st.last_pass.wall_ms = sum;
  st.memory.weights_bytes = 9'450'000'000ull;
  st.memory.kv_cache_bytes = 1'136'000'000ull;
  st.memory.scratch_bytes = 61'000'000ull;
  st.memory.output_bytes = 1'300'000ull;
  st.n_past = 508;
  st.n_ctx = 4096;
  st.n_expert = 64;
  st.top_k = 6;
  for (uint32_t l = 1; l <= 26; ++l) st.moe_layers.push_back(l);
  st.n_routed_tokens = 508;
  st.expert_hits.assign(st.moe_layers.size() * st.n_expert, 0);
  for (size_t m = 0; m < st.moe_layers.size(); ++m) {
    // A per-layer Zipf-like preference over a shuffled expert order.
    std::vector<double> w(st.n_expert);
    std::vector<uint32_t> order(st.n_expert);
    std::iota(order.begin(), order.end(), 0u);
    std::shuffle(order.begin(), order.end(), rng);
    for (uint32_t r = 0; r < st.n_expert; ++r) w[order[r]] = 1.0 / std::pow(r + 2.0, 0.9);
    std::discrete_distribution<uint32_t> pick(w.begin(), w.end());
    for (uint64_t t = 0; t < st.n_routed_tokens; ++t) {
      std::vector<bool> used(st.n_expert, false);
      for (uint32_t k = 0; k < st.top_k;) {
        const uint32_t e = pick(rng);
        if (used[e]) continue;
        used[e] = true;
        ++st.expert_hits[m * st.n_expert + e];
        ++k;
      }
    }
  }
  return st;
}

bool is_headless() {
  return QGuiApplication::platformName() == QLatin1String("offscreen") ||
         QGuiApplication::platformName() == QLatin1String("minimal");
}

/// Pixels of `img` inside `r` (logical pixels) whose colour is within `tol` of `rgb`,
/// over the pixels looked at.
double share_of_colour(const QImage& img, QRectF r, std::array<uint8_t, 3> rgb, int tol) {
  const double dpr = img.devicePixelRatio();
  const QRect px = QRectF(r.x() * dpr, r.y() * dpr, r.width() * dpr, r.height() * dpr)
                       .toAlignedRect()
                       .intersected(img.rect());
  if (px.isEmpty()) return 0.0;
  int hits = 0, all = 0;
  for (int y = px.top(); y <= px.bottom(); ++y) {
    for (int x = px.left(); x <= px.right(); ++x) {
      const QColor c = img.pixelColor(x, y);
      ++all;
      if (std::abs(c.red() - rgb[0]) <= tol && std::abs(c.green() - rgb[1]) <= tol &&
          std::abs(c.blue() - rgb[2]) <= tol) {
        ++hits;
      }
    }
  }
  return static_cast<double>(hits) / all;
}

/// Saves `img` to $ES_ENGINE_INSPECTOR_DUMP/<name>.png when that folder is given (to look
/// at what a failing run drew).
void dump(const QImage& img, const QString& name) {
  const QString d = qEnvironmentVariable("ES_ENGINE_INSPECTOR_DUMP");
  if (!d.isEmpty()) img.save(d + '/' + name + QStringLiteral(".png"));
}

/// Shows `w` at `size`, publishes `st` and waits for the frame that draws it.
bool show_with(EngineInspector& w, const es::EngineStats& st, QSize size) {
  w.resize(size);
  w.show();
  if (!QTest::qWaitForWindowExposed(&w)) return false;
  const quint64 before = w.frameCount();
  w.setSnapshot(st);
  return QTest::qWaitFor([&] { return w.frameCount() > before && !w.kvBarRect().isEmpty(); },
                         10000);
}

}  // namespace

class TestEngineInspector : public QObject {
  Q_OBJECT

 private slots:
  void headlessFallsBackToALabel() {
    if (!is_headless()) QSKIP("runs on the offscreen platform");
    EngineInspector w(nullptr, InspectorRenderer::automatic);
    QCOMPARE(w.renderer(), InspectorRenderer::none);
    auto* label = qobject_cast<QLabel*>(w.canvasWidget());
    QVERIFY(label != nullptr);
    QCOMPARE(label->text(), QStringLiteral("Engine Inspector needs OpenGL or Vulkan"));
    QVERIFY(!w.fallbackReason().isEmpty());
    w.setSnapshot(realistic_snapshot());  // Accepted, nothing drawn, no crash.
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(w.hasSnapshot());
    QVERIFY(w.grabFrame().isNull());
    QCOMPARE(w.frameCount(), quint64{0});
  }

  void noneIsALabelEverywhere() {
    EngineInspector w(nullptr, InspectorRenderer::none);
    QCOMPARE(w.renderer(), InspectorRenderer::none);
    QVERIFY(qobject_cast<QLabel*>(w.canvasWidget()) != nullptr);
  }

  void rendersTheFrame_data() {
    QTest::addColumn<InspectorRenderer>("renderer");
    QTest::addColumn<bool>("required");
    QTest::newRow("opengl") << InspectorRenderer::opengl << true;
    QTest::newRow("vulkan") << InspectorRenderer::vulkan << false;
  }

  void rendersTheFrame() {
    if (is_headless()) QSKIP("needs a window system (run under xvfb-run)");
    QFETCH(InspectorRenderer, renderer);
    QFETCH(bool, required);
    EngineInspector w(nullptr, renderer);
    if (w.renderer() != renderer) {
      if (required) QFAIL(qPrintable(w.fallbackReason()));
      QSKIP(qPrintable(QStringLiteral("%1 unavailable: %2")
                           .arg(es::ui::renderer_name(renderer), w.fallbackReason())));
    }
    const es::EngineStats st = realistic_snapshot();
    QVERIFY(show_with(w, st, QSize(460, 900)));
    const QImage img = w.grabFrame();
    QVERIFY(!img.isNull());
    dump(img, QStringLiteral("frame-") + es::ui::renderer_name(renderer));
    QVERIFY(img.width() >= 460);

    // The KV bar: filled to n_past / n_ctx (12%) with the inspector's own colour; the
    // first tenth of the bar, below the centred label text, is that colour.
    const QRectF kv = w.kvBarRect();
    QVERIFY(kv.width() > 100 && kv.height() > 5);
    const QRectF filled(kv.x() + 2, kv.y() + 2, kv.width() * 0.10 - 4, kv.height() - 4);
    QVERIFY2(share_of_colour(img, filled, es::ui::engine_inspector::kv_fill_rgb, 12) > 0.9,
             "the KV bar's fill colour is not where the bar is");
    // Past the fill, the track: not the fill colour.
    const QRectF track(kv.x() + kv.width() * 0.9, kv.y() + 2, kv.width() * 0.08, kv.height() - 4);
    QVERIFY(share_of_colour(img, track, es::ui::engine_inspector::kv_fill_rgb, 12) < 0.05);

    // And on the screen itself (what the X server shows), not only in the read-back.
    QScreen* screen = w.canvasWidget()->screen();
    const QPoint origin = w.canvasWidget()->mapToGlobal(QPoint(0, 0));
    const QImage shown = screen->grabWindow(0, origin.x(), origin.y(), 460, 900).toImage();
    dump(shown, QStringLiteral("screen-") + es::ui::renderer_name(renderer));
    QVERIFY2(share_of_colour(shown, filled, es::ui::engine_inspector::kv_fill_rgb, 12) > 0.9,
             "the KV bar's fill colour is not on the screen");

    // The heat grid has many colours (a skewed load over 26 × 64 cells).
    const QRectF grid = w.heatGridRect();
    QVERIFY(grid.width() > 64 && grid.height() > 26);
    QSet<QRgb> colours;
    const double dpr = img.devicePixelRatio();
    for (int i = 0; i < 400; ++i) {
      const double fx = grid.x() + grid.width() * ((i * 37) % 400) / 400.0;
      const double fy = grid.y() + grid.height() * ((i * 91) % 400) / 400.0;
      colours.insert(img.pixel(static_cast<int>(fx * dpr), static_cast<int>(fy * dpr)));
    }
    QVERIFY2(colours.size() > 12, qPrintable(QString::number(colours.size())));
    maybe_save(w, st);
  }

  void idleDoesNotRedraw_data() { rendersTheFrame_data(); }

  void idleDoesNotRedraw() {
    if (is_headless()) QSKIP("needs a window system (run under xvfb-run)");
    QFETCH(InspectorRenderer, renderer);
    EngineInspector w(nullptr, renderer);
    if (w.renderer() != renderer) QSKIP(qPrintable(w.fallbackReason()));
    QVERIFY(show_with(w, realistic_snapshot(), QSize(420, 600)));
    QTest::qWait(300);  // Let the frames of showing settle.
    const quint64 settled = w.frameCount();
    QTest::qWait(400);
    QCOMPARE(w.frameCount(), settled);
    // A snapshot draws one frame (or a couple), no more.
    w.setSnapshot(realistic_snapshot());
    QTRY_VERIFY(w.frameCount() > settled);
    QTest::qWait(300);
    QVERIFY(w.frameCount() <= settled + 3);
    // So does the mouse: hover a heat cell. Events go to the window that renders (the
    // Vulkan window inside its container, or the GL widget).
    const quint64 before_hover = w.frameCount();
    const QPointF cell = w.heatGridRect().center();
    QObject* target = w.canvasWidget();
    for (QWindow* win : QGuiApplication::allWindows()) {
      if (qobject_cast<QVulkanWindow*>(win) != nullptr) target = win;
    }
    QMouseEvent move(QEvent::MouseMove, cell, w.canvasWidget()->mapToGlobal(cell), Qt::NoButton,
                     Qt::NoButton, Qt::NoModifier);
    QCoreApplication::sendEvent(target, &move);
    QTRY_VERIFY(w.frameCount() > before_hover);
    QTest::qWait(300);
    const quint64 after_hover = w.frameCount();
    QTest::qWait(300);
    QCOMPARE(w.frameCount(), after_hover);
  }

  void survivesDockFloating_data() {
    QTest::addColumn<InspectorRenderer>("renderer");
    QTest::newRow("opengl") << InspectorRenderer::opengl;
    QTest::newRow("vulkan") << InspectorRenderer::vulkan;
  }

  /// Floating a dock moves the widget to another top-level window: the GL context is
  /// recreated, the Vulkan window reparented; frames keep coming.
  void survivesDockFloating() {
    if (is_headless()) QSKIP("needs a window system (run under xvfb-run)");
    QFETCH(InspectorRenderer, renderer);
    QMainWindow main;
    auto* dock = new QDockWidget(QStringLiteral("Engine"), &main);
    auto* w = new EngineInspector(dock, renderer);
    if (w->renderer() != renderer) QSKIP(qPrintable(w->fallbackReason()));
    dock->setWidget(w);
    main.setCentralWidget(new QWidget(&main));
    main.addDockWidget(Qt::RightDockWidgetArea, dock);
    main.resize(900, 700);
    main.show();
    QVERIFY(QTest::qWaitForWindowExposed(&main));
    const es::EngineStats st = realistic_snapshot();
    w->setSnapshot(st);
    QTRY_VERIFY(!w->kvBarRect().isEmpty());
    for (bool floating : {true, false, true}) {
      dock->setFloating(floating);
      QVERIFY(QTest::qWaitForWindowExposed(dock));
      const quint64 before = w->frameCount();
      w->setSnapshot(st);
      QTRY_VERIFY(w->frameCount() > before);
      QVERIFY(!w->grabFrame().isNull());
    }
  }

  void realEngineSnapshot() {
    if (is_headless()) QSKIP("needs a window system (run under xvfb-run)");
    QTemporaryDir dir;
    const std::string path = dir.filePath("m.gguf").toStdString();
    es::test::write_tiny_model(es::test::tiny_spec(es::Arch::qwen3moe), path);
    es::ContextParams p;
    p.n_ctx = 64;
    p.n_threads = 1;
    es::Context ctx(es::Model::load(path), p);
    const std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6};
    QVERIFY(ctx.decode(prompt, es::LogitsRows::last));
    for (int32_t t = 7; t < 20; ++t) QVERIFY(ctx.decode(std::span(&t, 1), es::LogitsRows::last));
    EngineInspector w(nullptr, InspectorRenderer::automatic);
    QVERIFY(w.renderer() != InspectorRenderer::none);
    QVERIFY(show_with(w, ctx.stats(), QSize(420, 700)));
    const QImage img = w.grabFrame();
    QVERIFY(!img.isNull());
    dump(img, QStringLiteral("real-") + es::ui::renderer_name(w.renderer()));
    const QRectF kv = w.kvBarRect();  // 19 of 64 positions: 30% filled.
    const QRectF filled(kv.x() + 2, kv.y() + 2, kv.width() * 0.15, kv.height() - 4);
    QVERIFY(share_of_colour(img, filled, es::ui::engine_inspector::kv_fill_rgb, 12) > 0.9);
    w.clearSnapshot();
    QTRY_VERIFY(w.kvBarRect().isEmpty());
  }

 private:
  /// Saves a screenshot of a realistic snapshot when ES_ENGINE_INSPECTOR_SCREENSHOT asks.
  static void maybe_save(EngineInspector& shown, const es::EngineStats& st) {
    const QString out = qEnvironmentVariable("ES_ENGINE_INSPECTOR_SCREENSHOT");
    if (out.isEmpty() || shown.renderer() != InspectorRenderer::opengl) return;
    QSize size(460, 900);
    const QStringList wh = qEnvironmentVariable("ES_ENGINE_INSPECTOR_SIZE").split('x');
    if (wh.size() == 2) size = QSize(wh[0].toInt(), wh[1].toInt());
    if (qEnvironmentVariableIntValue("ES_ENGINE_INSPECTOR_DARK") != 0) {
      QPalette dark(QColor(0x2b, 0x2d, 0x31));
      QApplication::setPalette(dark);
    }
    EngineInspector w(nullptr, InspectorRenderer::opengl);
    QVERIFY(show_with(w, st, size));
    const QImage img = w.grabFrame();
    QVERIFY(!img.isNull());
    QVERIFY(img.save(out));
    qInfo("saved %s (%dx%d)", qPrintable(out), img.width(), img.height());
  }
};

QTEST_MAIN(TestEngineInspector)
#include "test_engine_inspector.moc"
