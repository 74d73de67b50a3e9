// Private to es_engine_inspector: the Engine Inspector's panels, drawn with Dear ImGui
// from an EngineStats snapshot and nothing else (STYLE: "ImGui panels only draw").
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "expertscope/engine_stats.h"

namespace es::ui::engine_inspector {

/// The KV cache bar's fill colour (sRGB). Only the inspector draws it, so a test can find
/// the ImGui frame in read-back pixels by looking for it.
inline constexpr std::array<uint8_t, 3> kv_fill_rgb = {0xf0, 0x8c, 0x2e};

/// A rectangle in logical pixels of the canvas.
struct PanelRect {
  float x = 0.0f;
  float y = 0.0f;
  float width = 0.0f;
  float height = 0.0f;
};

/// What the panels keep between frames: the user's choices and where the last frame put
/// things (for tests and tooltips).
struct PanelState {
  bool heat_per_layer = true;       ///< Heat grid scaled per layer (else over all layers).
  PanelRect kv_bar;                 ///< The KV fill bar of the last frame.
  PanelRect heat_grid;              ///< The expert heat grid of the last frame.
  std::vector<float> speed_buffer;  ///< Reused for the sparkline's values.
};

/// Draws every panel into one window filling the display. `stats` is nullptr until the
/// first snapshot arrives (a hint is shown then).
void draw_panels(const EngineStats* stats, PanelState& state, bool dark);

}  // namespace es::ui::engine_inspector
