// EngineInspector: picks a renderer at run time and forwards snapshots to the scene.
#include "engine_inspector.h"

#include <QEvent>
#include <QFontInfo>
#include <QGuiApplication>
#include <QLabel>
#include <QOffscreenSurface>
#include <QOpenGLContext>
#include <QVBoxLayout>
#include <QVulkanInstance>
#include <algorithm>

#include "gl_canvas.h"
#include "inspector_scene.h"
#include "vulkan_canvas.h"

namespace es::ui {

using engine_inspector::Canvas;
using engine_inspector::GlCanvas;
using engine_inspector::InspectorScene;
using engine_inspector::VulkanCanvas;

namespace {

/// Platforms without windows a GPU API can draw into.
bool headless_platform() {
  const QString p = QGuiApplication::platformName();
  return p == QLatin1String("offscreen") || p == QLatin1String("minimal");
}

/// Whether an OpenGL 3 context can be made here.
bool opengl_available(QString& reason) {
  QOpenGLContext ctx;
  ctx.setFormat(engine_inspector::gl_canvas_format());
  if (!ctx.create()) {
    reason = QStringLiteral("no OpenGL context could be created");
    return false;
  }
  if (ctx.format().majorVersion() < 3) {
    reason = QStringLiteral("OpenGL %1.%2 is too old (3.0 needed)")
                 .arg(ctx.format().majorVersion())
                 .arg(ctx.format().minorVersion());
    return false;
  }
  return true;
}

/// The renderer named by EXPERTSCOPE_INSPECTOR_RENDERER, or `fallback`.
InspectorRenderer renderer_from_env(InspectorRenderer fallback) {
  const QByteArray v = qgetenv("EXPERTSCOPE_INSPECTOR_RENDERER").trimmed().toLower();
  if (v == "vulkan") return InspectorRenderer::vulkan;
  if (v == "opengl" || v == "gl") return InspectorRenderer::opengl;
  if (v == "none") return InspectorRenderer::none;
  return fallback;
}

}  // namespace

const char* renderer_name(InspectorRenderer r) noexcept {
  switch (r) {
    case InspectorRenderer::automatic:
      return "automatic";
    case InspectorRenderer::vulkan:
      return "vulkan";
    case InspectorRenderer::opengl:
      return "opengl";
    case InspectorRenderer::none:
      return "none";
    case InspectorRenderer::unset:
      break;
  }
  return "unset";
}

EngineInspector::EngineInspector(QWidget* parent, InspectorRenderer preferred)
    : QWidget(parent), scene_(std::make_unique<InspectorScene>()) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  setMinimumSize(240, 200);
  if (preferred == InspectorRenderer::automatic || preferred == InspectorRenderer::unset) {
    preferred = renderer_from_env(InspectorRenderer::automatic);
  }
  apply_palette();
  const qreal dpr = devicePixelRatioF();
  const int font_px = std::max(13, QFontInfo(font()).pixelSize() + 1);
  scene_->host.set_font(static_cast<float>(font_px), static_cast<float>(dpr));

  QStringList reasons;
  if (headless_platform()) {
    reasons << QStringLiteral("the %1 platform has no OpenGL or Vulkan windows")
                   .arg(QGuiApplication::platformName());
    preferred = InspectorRenderer::none;
  }
  const bool try_vulkan =
      preferred == InspectorRenderer::automatic || preferred == InspectorRenderer::vulkan;
  if (try_vulkan) {
    vulkan_ = std::make_unique<QVulkanInstance>();
    int device = 0;
    if (!vulkan_->create()) {
      reasons << QStringLiteral("Vulkan: no instance");
    } else if (!engine_inspector::vulkan_can_present(*vulkan_, device)) {
      reasons << QStringLiteral("Vulkan: no device can present here");
    } else {
      canvas_ = std::make_unique<VulkanCanvas>(*scene_, *vulkan_, device, this);
      renderer_ = InspectorRenderer::vulkan;
    }
    if (!canvas_) vulkan_.reset();
  }
  if (!canvas_ && preferred != InspectorRenderer::none) {
    QString reason;
    if (opengl_available(reason)) {
      canvas_ = std::make_unique<GlCanvas>(
          *scene_,
          [this](const QString& why) {
            QMetaObject::invokeMethod(
                this, [this, why] { fall_back(why); }, Qt::QueuedConnection);
          },
          this);
      renderer_ = InspectorRenderer::opengl;
    } else {
      reasons << QStringLiteral("OpenGL: ") + reason;
    }
  }
  if (canvas_) {
    layout->addWidget(canvas_->widget());
  } else {
    fall_back(reasons.join(QStringLiteral("; ")));
  }
}

EngineInspector::~EngineInspector() {
  canvas_.reset();  // Before the Vulkan instance and the scene it draws.
}

void EngineInspector::fall_back(const QString& reason) {
  if (canvas_) {
    QWidget* w = canvas_->widget();
    w->hide();
    layout()->removeWidget(w);
    canvas_.reset();
  }
  vulkan_.reset();
  renderer_ = InspectorRenderer::none;
  reason_ = reason;
  if (label_ == nullptr) {
    label_ = new QLabel(this);
    label_->setAlignment(Qt::AlignCenter);
    label_->setWordWrap(true);
    label_->setObjectName(QStringLiteral("engineInspectorFallback"));
    layout()->addWidget(label_);
  }
  label_->setText(tr("Engine Inspector needs OpenGL or Vulkan"));
  label_->setToolTip(reason);
}

void EngineInspector::setSnapshot(const EngineStats& stats) {
  scene_->snapshot = stats;
  if (canvas_) canvas_->request_frame();
}

void EngineInspector::clearSnapshot() {
  scene_->snapshot.reset();
  if (canvas_) canvas_->request_frame();
}

bool EngineInspector::hasSnapshot() const noexcept {
  return scene_->snapshot.has_value();
}

QImage EngineInspector::grabFrame() {
  return canvas_ ? canvas_->grab_frame() : QImage();
}

QRectF EngineInspector::kvBarRect() const {
  const auto& r = scene_->panels.kv_bar;
  return {r.x, r.y, r.width, r.height};
}

QRectF EngineInspector::heatGridRect() const {
  const auto& r = scene_->panels.heat_grid;
  return {r.x, r.y, r.width, r.height};
}

quint64 EngineInspector::frameCount() const noexcept {
  return scene_->n_frames;
}

QWidget* EngineInspector::canvasWidget() const noexcept {
  if (canvas_) return canvas_->widget();
  return label_;
}

void EngineInspector::apply_palette() {
  const bool dark = palette().color(QPalette::Window).lightness() < 128;
  if (dark == scene_->host.dark() && scene_->n_frames > 0) return;
  scene_->host.set_dark(dark);
  if (canvas_) canvas_->request_frame();
}

void EngineInspector::changeEvent(QEvent* e) {
  if (e->type() == QEvent::PaletteChange) apply_palette();
  QWidget::changeEvent(e);
}

}  // namespace es::ui
