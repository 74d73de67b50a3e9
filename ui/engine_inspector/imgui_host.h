// Private to es_engine_inspector: one Dear ImGui context fed from Qt — fonts, style,
// mouse input — independent of the renderer (Vulkan or OpenGL) that draws its frames.
#pragma once

#include <QPoint>
#include <QPointF>
#include <QSize>
#include <QString>

struct ImGuiContext;
struct ImDrawData;

namespace es::ui::engine_inspector {

class ImGuiHost {
 public:
  ImGuiHost();
  ~ImGuiHost();
  ImGuiHost(const ImGuiHost&) = delete;
  ImGuiHost& operator=(const ImGuiHost&) = delete;

  /// Makes this host's ImGui context current; every ImGui call must follow it.
  void make_current() const;

  /// Builds the font atlas for text of `pixel_size` logical pixels rasterised at
  /// `device_pixel_ratio` (a system sans-serif TrueType font when one is found, else
  /// ImGui's built-in font). Call before the renderer uploads the atlas.
  void set_font(float pixel_size, float device_pixel_ratio);
  /// The file the font came from ("" for ImGui's built-in font).
  [[nodiscard]] const QString& font_file() const noexcept { return font_file_; }
  /// Dark or light colours (ImGui's own style, slightly rounded).
  void set_dark(bool dark);
  [[nodiscard]] bool dark() const noexcept { return dark_; }

  /// The mouse moved to `pos` (logical pixels of the canvas).
  void mouse_move(QPointF pos);
  /// Button 0 (left), 1 (right) or 2 (middle) went down or up.
  void mouse_button(int button, bool down);
  /// A wheel turn in Qt's angle-delta units (120 per notch).
  void mouse_wheel(QPoint angle_delta);
  /// The mouse left the canvas.
  void mouse_leave();

  /// Starts a frame of `size` logical pixels at `device_pixel_ratio` (call the renderer's
  /// NewFrame first).
  void new_frame(QSize size, double device_pixel_ratio);
  /// Ends the frame started by new_frame() and returns what to draw.
  ImDrawData* end_frame();
  /// Whether input arrived that the last frame has not seen yet (draw another one).
  [[nodiscard]] bool wants_frame() const noexcept { return dirty_; }

 private:
  ImGuiContext* ctx_ = nullptr;
  QString font_file_;
  bool dark_ = true;
  bool dirty_ = false;
  /// A button released before any frame saw it pressed: released after the next frame.
  bool pending_release_[3] = {false, false, false};
  bool press_seen_[3] = {true, true, true};
  double last_frame_s_ = 0.0;
};

}  // namespace es::ui::engine_inspector
