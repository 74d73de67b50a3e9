// InspectorScene: one frame = the host's frame around the panels.
#include "inspector_scene.h"

#include <imgui.h>

namespace es::ui::engine_inspector {

ImDrawData* InspectorScene::build(QSize size, double device_pixel_ratio) {
  host.new_frame(size, device_pixel_ratio);
  draw_panels(snapshot ? &*snapshot : nullptr, panels, host.dark());
  ++n_frames;
  return host.end_frame();
}

void InspectorScene::clear_colour(float rgba[4]) const {
  host.make_current();
  const ImVec4 c = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
  rgba[0] = c.x;
  rgba[1] = c.y;
  rgba[2] = c.z;
  rgba[3] = 1.0f;
}

}  // namespace es::ui::engine_inspector
