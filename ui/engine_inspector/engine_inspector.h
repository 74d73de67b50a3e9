// EngineInspector: the engine's vital signs drawn with Dear ImGui inside the Qt window —
// decode speed sparkline, time per op of the last decode, memory by kind, KV cache fill
// and expert-hit counters per MoE layer. It draws only the EngineStats snapshot it is
// given (setSnapshot, UI thread) and never calls the engine.
//
// Rendering: a QVulkanWindow with imgui_impl_vulkan embedded by
// QWidget::createWindowContainer where Vulkan can present, else a QOpenGLWidget with
// imgui_impl_opengl3, else (the offscreen platform, no GPU API) a plain label. The choice
// is made at construction; EXPERTSCOPE_INSPECTOR_RENDERER=vulkan|opengl|none overrides
// the automatic one. Frames are drawn only when a snapshot arrives or the mouse moves.
#pragma once

#include <QRectF>
#include <QWidget>
#include <memory>

#include "expertscope/engine_stats.h"

class QLabel;
class QVulkanInstance;

namespace es::ui {

namespace engine_inspector {
struct InspectorScene;
class Canvas;
}  // namespace engine_inspector

/// How the inspector is drawn. Zero means "unset".
enum class InspectorRenderer : int {
  unset = 0,
  automatic = 1,  ///< Vulkan, else OpenGL, else none (as a constructor argument only).
  vulkan = 2,
  opengl = 3,
  none = 4,  ///< No GPU API: a label says so.
};

/// The name of a renderer ("vulkan", "opengl", "none", ...).
[[nodiscard]] const char* renderer_name(InspectorRenderer r) noexcept;

class EngineInspector : public QWidget {
  Q_OBJECT

 public:
  /// Chooses a renderer: `preferred` if it works here, else the next in the automatic
  /// order (vulkan, opengl, none).
  explicit EngineInspector(QWidget* parent = nullptr,
                           InspectorRenderer preferred = InspectorRenderer::automatic);
  ~EngineInspector() override;

  /// Shows `stats` from the next frame on (UI thread; the controller publishes one after
  /// each decode step). Schedules one redraw.
  void setSnapshot(const EngineStats& stats);
  /// Forgets the snapshot (a model was unloaded): the panels show a hint again.
  void clearSnapshot();
  /// Whether a snapshot is shown.
  [[nodiscard]] bool hasSnapshot() const noexcept;

  /// The renderer in use (vulkan, opengl or none).
  [[nodiscard]] InspectorRenderer renderer() const noexcept { return renderer_; }
  /// Why a GPU renderer is not in use ("" when one is).
  [[nodiscard]] const QString& fallbackReason() const noexcept { return reason_; }
  /// Renders a frame now and returns its pixels (device pixels, devicePixelRatio set); a
  /// null image with the label renderer or before the canvas can draw.
  [[nodiscard]] QImage grabFrame();
  /// Where the last frame drew the KV cache bar, in logical pixels of the canvas; empty
  /// before the first frame with a snapshot.
  [[nodiscard]] QRectF kvBarRect() const;
  /// Where the last frame drew the expert heat grid (logical pixels of the canvas).
  [[nodiscard]] QRectF heatGridRect() const;
  /// Frames drawn so far (idle: this does not grow without snapshots or input).
  [[nodiscard]] quint64 frameCount() const noexcept;
  /// The widget the frames are drawn in (the GL widget, the Vulkan window's container or
  /// the label).
  [[nodiscard]] QWidget* canvasWidget() const noexcept;

  [[nodiscard]] QSize sizeHint() const override { return {420, 640}; }

 protected:
  void changeEvent(QEvent* e) override;

 private:
  /// Replaces the canvas by the label (a GPU renderer failed after all).
  void fall_back(const QString& reason);
  /// Follows the palette: dark colours when the window background is dark.
  void apply_palette();

  std::unique_ptr<engine_inspector::InspectorScene> scene_;
  std::unique_ptr<QVulkanInstance> vulkan_;  ///< Outlives the Vulkan canvas.
  std::unique_ptr<engine_inspector::Canvas> canvas_;
  QLabel* label_ = nullptr;
  InspectorRenderer renderer_ = InspectorRenderer::none;
  QString reason_;
};

}  // namespace es::ui
