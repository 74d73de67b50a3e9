// Private to es_engine_inspector: the OpenGL canvas — a QOpenGLWidget drawing the scene
// with imgui_impl_opengl3 (GL 3.0 or newer). Redraws only when asked (a snapshot, input).
#pragma once

#include <QOpenGLWidget>
#include <functional>

#include "inspector_scene.h"

namespace es::ui::engine_inspector {

class GlCanvas final : public QOpenGLWidget, public Canvas {
  Q_OBJECT

 public:
  /// Draws `scene` (which must outlive the canvas); `on_failure` is called from
  /// initializeGL() with a reason if the GL backend cannot start in this context (queue
  /// anything that deletes the canvas).
  GlCanvas(InspectorScene& scene, std::function<void(QString)> on_failure, QWidget* parent);
  ~GlCanvas() override;

  QWidget* widget() override { return this; }
  void request_frame() override { update(); }
  QImage grab_frame() override;

 protected:
  void initializeGL() override;
  void paintGL() override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void leaveEvent(QEvent* e) override;

 private:
  /// Shuts the GL backend down while its context is still current-able (the context goes
  /// away when the widget moves to another window, e.g. a dock is floated).
  void release_gl();

  InspectorScene& scene_;
  std::function<void(QString)> on_failure_;
  bool gl_ready_ = false;
};

/// The surface format the canvas asks for (GL 3.3 core where available).
[[nodiscard]] QSurfaceFormat gl_canvas_format();

}  // namespace es::ui::engine_inspector
