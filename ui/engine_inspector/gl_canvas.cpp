// GlCanvas: imgui_impl_opengl3 inside a QOpenGLWidget's framebuffer.
#include "gl_canvas.h"

#include <imgui.h>
#include <imgui_impl_opengl3.h>

#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <QTimer>
#include <QWheelEvent>

namespace es::ui::engine_inspector {

namespace {

/// ImGui's button index of a Qt button, or -1.
int imgui_button(Qt::MouseButton b) {
  switch (b) {
    case Qt::LeftButton:
      return 0;
    case Qt::RightButton:
      return 1;
    case Qt::MiddleButton:
      return 2;
    default:
      return -1;
  }
}

}  // namespace

QSurfaceFormat gl_canvas_format() {
  QSurfaceFormat f = QSurfaceFormat::defaultFormat();
  f.setVersion(3, 3);
  f.setProfile(QSurfaceFormat::CoreProfile);
  f.setDepthBufferSize(0);
  f.setStencilBufferSize(0);
  return f;
}

GlCanvas::GlCanvas(InspectorScene& scene, std::function<void(QString)> on_failure, QWidget* parent)
    : QOpenGLWidget(parent), scene_(scene), on_failure_(std::move(on_failure)) {
  setFormat(gl_canvas_format());
  setMouseTracking(true);
  setFocusPolicy(Qt::ClickFocus);
}

GlCanvas::~GlCanvas() {
  release_gl();
  // QOpenGLWidget's destructor destroys the context: this part is gone by then.
  if (context() != nullptr) disconnect(context(), nullptr, this, nullptr);
}

void GlCanvas::initializeGL() {
  // A new context (first show, or after a move to another window).
  connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, &GlCanvas::release_gl,
          Qt::UniqueConnection);
  const QSurfaceFormat f = context()->format();
  QString failure;
  if (f.majorVersion() < 3) {
    failure = QStringLiteral("OpenGL %1.%2 is too old (3.0 needed)")
                  .arg(f.majorVersion())
                  .arg(f.minorVersion());
  } else {
    scene_.host.make_current();
    const bool glsl150 = f.majorVersion() > 3 || f.minorVersion() >= 2;
    gl_ready_ = ImGui_ImplOpenGL3_Init(glsl150 ? "#version 150" : "#version 130");
    if (!gl_ready_) failure = QStringLiteral("the OpenGL functions could not be loaded");
  }
  if (!failure.isEmpty() && on_failure_) on_failure_(failure);
}

void GlCanvas::release_gl() {
  if (!gl_ready_) return;
  makeCurrent();
  scene_.host.make_current();
  ImGui_ImplOpenGL3_Shutdown();
  doneCurrent();
  gl_ready_ = false;
}

void GlCanvas::paintGL() {
  QOpenGLFunctions* gl = context()->functions();
  float bg[4];
  scene_.clear_colour(bg);
  gl->glClearColor(bg[0], bg[1], bg[2], bg[3]);
  gl->glClear(GL_COLOR_BUFFER_BIT);
  if (!gl_ready_) return;
  scene_.host.make_current();
  ImGui_ImplOpenGL3_NewFrame();
  ImDrawData* draw = scene_.build(size(), devicePixelRatioF());
  ImGui_ImplOpenGL3_RenderDrawData(draw);
  if (scene_.host.wants_frame()) QTimer::singleShot(0, this, qOverload<>(&QWidget::update));
}

QImage GlCanvas::grab_frame() {
  if (!gl_ready_ && context() != nullptr) return {};
  return grabFramebuffer();
}

void GlCanvas::mouseMoveEvent(QMouseEvent* e) {
  scene_.host.mouse_move(e->position());
  update();
}

void GlCanvas::mousePressEvent(QMouseEvent* e) {
  scene_.host.mouse_move(e->position());
  scene_.host.mouse_button(imgui_button(e->button()), true);
  update();
}

void GlCanvas::mouseReleaseEvent(QMouseEvent* e) {
  scene_.host.mouse_move(e->position());
  scene_.host.mouse_button(imgui_button(e->button()), false);
  update();
}

void GlCanvas::wheelEvent(QWheelEvent* e) {
  scene_.host.mouse_wheel(e->angleDelta());
  e->accept();
  update();
}

void GlCanvas::leaveEvent(QEvent* e) {
  scene_.host.mouse_leave();
  update();
  QOpenGLWidget::leaveEvent(e);
}

}  // namespace es::ui::engine_inspector
