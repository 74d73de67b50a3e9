// Private to es_engine_inspector: what a canvas draws — the ImGui host, the panels' state
// and the last snapshot — shared by the Vulkan and OpenGL canvases.
#pragma once

#include <QImage>
#include <QSize>
#include <cstdint>
#include <optional>

#include "expertscope/engine_stats.h"
#include "imgui_host.h"
#include "inspector_panels.h"

class QWidget;

namespace es::ui::engine_inspector {

/// The ImGui context, the panels' state and the snapshot they draw.
struct InspectorScene {
  ImGuiHost host;
  PanelState panels;
  std::optional<EngineStats> snapshot;  ///< Empty until the first setSnapshot().
  uint64_t n_frames = 0;                ///< Frames built so far.

  /// Builds one frame of `size` logical pixels (after the renderer's NewFrame).
  ImDrawData* build(QSize size, double device_pixel_ratio);
  /// The window background colour of the current style, as sRGB floats.
  void clear_colour(float rgba[4]) const;
};

/// One way of putting the scene on screen (a Vulkan window or an OpenGL widget).
class Canvas {
 public:
  virtual ~Canvas() = default;
  /// The widget to place in the layout.
  [[nodiscard]] virtual QWidget* widget() = 0;
  /// Schedules a redraw (nothing is drawn while idle).
  virtual void request_frame() = 0;
  /// Renders a frame now and reads its pixels back (device pixels); null on failure.
  [[nodiscard]] virtual QImage grab_frame() = 0;
};

}  // namespace es::ui::engine_inspector
