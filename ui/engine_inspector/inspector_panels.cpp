// The Engine Inspector's panels: decode speed sparkline, per-op time bars of the last
// decode, memory by kind, KV cache fill and the expert-hit heat grid. Pure ImGui; every
// number comes from the EngineStats snapshot.
#include "inspector_panels.h"

#include <imgui.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace es::ui::engine_inspector {

namespace {

/// Below this width the panels stack in one column.
constexpr float kTwoColumnWidth = 820.0f;

ImU32 rgb(float r, float g, float b, float a = 1.0f) {
  return ImGui::ColorConvertFloat4ToU32(ImVec4(r, g, b, a));
}

ImU32 kv_colour() {
  return IM_COL32(kv_fill_rgb[0], kv_fill_rgb[1], kv_fill_rgb[2], 255);
}

/// "1.50 GiB", "512.0 MiB", "12.0 KiB", "100 B".
void format_bytes(char* out, size_t n, uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024.0 * 1024.0) {
    std::snprintf(out, n, "%.2f GiB", b / (1024.0 * 1024.0 * 1024.0));
  } else if (b >= 1024.0 * 1024.0) {
    std::snprintf(out, n, "%.1f MiB", b / (1024.0 * 1024.0));
  } else if (b >= 1024.0) {
    std::snprintf(out, n, "%.1f KiB", b / 1024.0);
  } else {
    std::snprintf(out, n, "%" PRIu64 " B", bytes);
  }
}

/// Three significant digits: "0.123 ms", "7.40 ms", "12.3 ms", "1.23 s".
void format_ms(char* out, size_t n, double ms) {
  if (ms >= 1000.0) {
    std::snprintf(out, n, "%.2f s", ms / 1000.0);
  } else if (ms >= 100.0) {
    std::snprintf(out, n, "%.0f ms", ms);
  } else if (ms >= 10.0) {
    std::snprintf(out, n, "%.1f ms", ms);
  } else if (ms >= 1.0) {
    std::snprintf(out, n, "%.2f ms", ms);
  } else {
    std::snprintf(out, n, "%.3f ms", ms);
  }
}

/// A section title: accent-coloured text over a separator.
void section(const char* title) {
  ImGui::Spacing();
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
  ImGui::TextUnformatted(title);
  ImGui::PopStyleColor();
  ImGui::Separator();
}

/// A filled bar of `fraction` of `width` at the cursor, with a frame-coloured track.
void bar(float width, float height, float fraction, ImU32 colour) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float rounding = ImGui::GetStyle().FrameRounding;
  dl->AddRectFilled(p, ImVec2(p.x + width, p.y + height), ImGui::GetColorU32(ImGuiCol_FrameBg),
                    rounding);
  const float w = std::clamp(fraction, 0.0f, 1.0f) * width;
  if (w > 0.5f) dl->AddRectFilled(p, ImVec2(p.x + w, p.y + height), colour, rounding);
  ImGui::Dummy(ImVec2(width, height));
}

/// A small colour square inline with text.
void swatch(ImU32 colour) {
  const float s = ImGui::GetTextLineHeight() * 0.7f;
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float dy = (ImGui::GetTextLineHeight() - s) * 0.5f;
  ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, p.y + dy), ImVec2(p.x + s, p.y + dy + s),
                                            colour, 2.0f);
  ImGui::Dummy(ImVec2(s, ImGui::GetTextLineHeight()));
}

// ---------------------------------------------------------------------------------------
// Speed.

void speed_panel(const EngineStats& st, PanelState& state) {
  section("Decode speed");
  std::vector<float>& gen = state.speed_buffer;
  gen.clear();
  const DecodeStep* last_prompt = nullptr;
  for (const DecodeStep& s : st.history) {
    if (s.kind == StepKind::generation) gen.push_back(static_cast<float>(s.tokens_per_s()));
    if (s.kind == StepKind::prompt) last_prompt = &s;
  }
  const float width = ImGui::GetContentRegionAvail().x;
  if (gen.empty()) {
    ImGui::TextDisabled("No generated tokens yet.");
  } else {
    float peak = 0.0f;
    double sum = 0.0;
    for (float v : gen) {
      peak = std::max(peak, v);
      sum += v;
    }
    const double mean = sum / static_cast<double>(gen.size());
    if (gen.size() == 1) gen.push_back(gen.front());  // A line needs two points.
    char overlay[64];
    std::snprintf(overlay, sizeof overlay, "%.1f tok/s", gen.back());
    ImGui::PushStyleColor(ImGuiCol_PlotLines, ImVec4(0.36f, 0.72f, 0.98f, 1.0f));
    ImGui::PlotLines("##tokens_per_s", gen.data(), static_cast<int>(gen.size()), 0, overlay, 0.0f,
                     std::max(peak * 1.15f, 1.0f), ImVec2(width, 64.0f));
    ImGui::PopStyleColor();
    ImGui::Text("generation: last %.1f, mean %.1f, peak %.1f tok/s", gen.back(), mean, peak);
  }
  if (last_prompt != nullptr) {
    char t[32];
    format_ms(t, sizeof t, last_prompt->wall_ms);
    ImGui::Text("prompt: %u tokens in %s (%.0f tok/s)", last_prompt->n_tokens, t,
                last_prompt->tokens_per_s());
  }
  ImGui::TextDisabled("%" PRIu64 " prompt + %" PRIu64 " generated tokens, last %zu steps shown",
                      st.n_prompt_tokens, st.n_generated_tokens, st.history.size());
}

// ---------------------------------------------------------------------------------------
// Ops.

ImU32 op_colour(EngineOp op) {
  switch (op) {
    case EngineOp::mul_mat_id:
    case EngineOp::router:
    case EngineOp::moe_sum:
      return rgb(0.66f, 0.48f, 0.96f);  // Experts.
    case EngineOp::attention:
    case EngineOp::rope:
    case EngineOp::kv_store:
      return rgb(0.33f, 0.64f, 0.96f);  // Attention.
    case EngineOp::mul_mat:
      return rgb(0.27f, 0.76f, 0.62f);  // Dense products.
    default:
      return rgb(0.58f, 0.62f, 0.68f);
  }
}

void ops_panel(const EngineStats& st) {
  section("Time per op, last decode");
  const PassProfile& pass = st.last_pass;
  if (pass.n_tokens == 0) {
    ImGui::TextDisabled("Nothing evaluated yet.");
    return;
  }
  struct Row {
    EngineOp op;
    OpTime time;
  };
  std::array<Row, n_engine_op_slots> rows{};
  size_t n = 0;
  double sum_ms = 0.0, max_ms = 0.0;
  for (size_t i = 1; i < n_engine_op_slots; ++i) {
    const OpTime& t = pass.ops[i];
    if (t.n_calls == 0) continue;
    rows[n++] = Row{static_cast<EngineOp>(i), t};
    sum_ms += t.total_ms;
    max_ms = std::max(max_ms, t.total_ms);
  }
  std::sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n),
            [](const Row& a, const Row& b) { return a.time.total_ms > b.time.total_ms; });
  char wall[32];
  format_ms(wall, sizeof wall, pass.wall_ms);
  ImGui::Text("%u token%s, forward pass %s", pass.n_tokens, pass.n_tokens == 1 ? "" : "s", wall);

  const float value_w = ImGui::CalcTextSize(
                            "000.000 ms  100%  \xc3\x97"
                            "0000")
                            .x;
  const float name_w = ImGui::CalcTextSize("sigmoid_gate").x;
  if (ImGui::BeginTable("ops", 3, ImGuiTableFlags_SizingFixedFit)) {
    ImGui::TableSetupColumn("op", ImGuiTableColumnFlags_WidthFixed, name_w);
    ImGui::TableSetupColumn("bar", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("time", ImGuiTableColumnFlags_WidthFixed, value_w);
    const float h = ImGui::GetTextLineHeight() * 0.75f;
    for (size_t i = 0; i < n; ++i) {
      const Row& r = rows[i];
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(engine_op_name(r.op).data());
      ImGui::TableNextColumn();
      ImGui::SetCursorPosY(ImGui::GetCursorPosY() + (ImGui::GetTextLineHeight() - h) * 0.5f);
      const float fraction = max_ms > 0.0 ? static_cast<float>(r.time.total_ms / max_ms) : 0.0f;
      bar(ImGui::GetContentRegionAvail().x, h, fraction, op_colour(r.op));
      if (ImGui::IsItemHovered()) {
        ImGui::SetTooltip("%s: %u call%s, %.4f ms each", engine_op_name(r.op).data(),
                          r.time.n_calls, r.time.n_calls == 1 ? "" : "s",
                          r.time.total_ms / r.time.n_calls);
      }
      ImGui::TableNextColumn();
      char t[32];
      format_ms(t, sizeof t, r.time.total_ms);
      const double share = sum_ms > 0.0 ? 100.0 * r.time.total_ms / sum_ms : 0.0;
      ImGui::Text("%9s %4.0f%%  \xc3\x97%u", t, share, r.time.n_calls);
    }
    ImGui::EndTable();
  }
  const auto legend = [](ImU32 c, const char* label) {
    swatch(c);
    ImGui::SameLine(0.0f, 4.0f);
    ImGui::TextDisabled("%s", label);
    ImGui::SameLine(0.0f, 14.0f);
  };
  legend(op_colour(EngineOp::mul_mat_id), "experts");
  legend(op_colour(EngineOp::attention), "attention");
  legend(op_colour(EngineOp::mul_mat), "dense");
  legend(op_colour(EngineOp::add), "other");
  ImGui::NewLine();
}

// ---------------------------------------------------------------------------------------
// Memory and KV cache.

void memory_panel(const EngineStats& st) {
  section("Memory");
  const MemoryStats& m = st.memory;
  struct Kind {
    const char* name;
    uint64_t bytes;
    ImU32 colour;
  };
  const std::array<Kind, 4> kinds = {{
      {"weights (mapped)", m.weights_bytes, rgb(0.36f, 0.55f, 0.92f)},
      {"KV cache", m.kv_cache_bytes, kv_colour()},
      {"scratch", m.scratch_bytes, rgb(0.52f, 0.80f, 0.40f)},
      {"logits + routing", m.output_bytes, rgb(0.70f, 0.70f, 0.74f)},
  }};
  const uint64_t total = m.total_bytes();
  // A stacked bar: every kind that has bytes gets at least a sliver.
  const float width = ImGui::GetContentRegionAvail().x;
  const float h = ImGui::GetTextLineHeight() * 0.8f;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  dl->AddRectFilled(p, ImVec2(p.x + width, p.y + h), ImGui::GetColorU32(ImGuiCol_FrameBg), 3.0f);
  if (total > 0) {
    float x = p.x;
    for (const Kind& k : kinds) {
      if (k.bytes == 0) continue;
      const float w =
          std::max(2.0f, width * static_cast<float>(k.bytes) / static_cast<float>(total));
      const float x1 = std::min(p.x + width, x + w);
      dl->AddRectFilled(ImVec2(x, p.y), ImVec2(x1, p.y + h), k.colour);
      x = x1;
    }
  }
  ImGui::Dummy(ImVec2(width, h));
  if (ImGui::BeginTable("memory", 3, ImGuiTableFlags_SizingFixedFit)) {
    ImGui::TableSetupColumn("kind", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("bytes", ImGuiTableColumnFlags_WidthFixed,
                            ImGui::CalcTextSize("0000.0 MiB").x);
    ImGui::TableSetupColumn("share", ImGuiTableColumnFlags_WidthFixed,
                            ImGui::CalcTextSize("100.0%").x);
    for (const Kind& k : kinds) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      swatch(k.colour);
      ImGui::SameLine(0.0f, 6.0f);
      ImGui::TextUnformatted(k.name);
      ImGui::TableNextColumn();
      char b[32];
      format_bytes(b, sizeof b, k.bytes);
      ImGui::Text("%10s", b);
      ImGui::TableNextColumn();
      ImGui::Text("%5.1f%%", total > 0 ? 100.0 * static_cast<double>(k.bytes) / total : 0.0);
    }
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextDisabled("total");
    ImGui::TableNextColumn();
    char b[32];
    format_bytes(b, sizeof b, total);
    ImGui::Text("%10s", b);
    ImGui::EndTable();
  }
}

void kv_panel(const EngineStats& st, PanelState& state) {
  section("KV cache");
  const float width = ImGui::GetContentRegionAvail().x;
  const float h = ImGui::GetFrameHeight();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  bar(width, h, static_cast<float>(st.kv_fill()), kv_colour());
  state.kv_bar = PanelRect{p.x, p.y, width, h};
  char label[96];
  std::snprintf(label, sizeof label, "%u / %u positions  (%.1f%%)", st.n_past, st.n_ctx,
                100.0 * st.kv_fill());
  const ImVec2 ts = ImGui::CalcTextSize(label);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 tp(p.x + (width - ts.x) * 0.5f, p.y + (h - ts.y) * 0.5f);
  dl->AddText(tp, ImGui::GetColorU32(ImGuiCol_Text), label);
  char used[32], all[32];
  format_bytes(used, sizeof used,
               static_cast<uint64_t>(static_cast<double>(st.memory.kv_cache_bytes) * st.kv_fill()));
  format_bytes(all, sizeof all, st.memory.kv_cache_bytes);
  ImGui::TextDisabled("%s of %s in use", used, all);
}

// ---------------------------------------------------------------------------------------
// Expert hits.

/// An inferno-like ramp for t in (0, 1]; 0 is the theme's empty cell.
ImU32 heat_colour(float t, bool dark) {
  if (t <= 0.0f) return dark ? rgb(0.17f, 0.18f, 0.22f) : rgb(0.90f, 0.91f, 0.93f);
  static constexpr float stops[5][3] = {{0.20f, 0.12f, 0.42f},
                                        {0.47f, 0.16f, 0.50f},
                                        {0.78f, 0.27f, 0.38f},
                                        {0.96f, 0.52f, 0.18f},
                                        {0.99f, 0.90f, 0.40f}};
  const float x = std::clamp(t, 0.0f, 1.0f) * 4.0f;
  const int i = std::min(3, static_cast<int>(x));
  const float f = x - static_cast<float>(i);
  return rgb(stops[i][0] + (stops[i + 1][0] - stops[i][0]) * f,
             stops[i][1] + (stops[i + 1][1] - stops[i][1]) * f,
             stops[i][2] + (stops[i + 1][2] - stops[i][2]) * f);
}

void experts_panel(const EngineStats& st, PanelState& state, bool dark) {
  section("Expert hits per layer");
  const size_t n_moe = st.moe_layers.size();
  const uint32_t n_expert = st.n_expert;
  if (n_moe == 0 || n_expert == 0 || st.expert_hits.size() < n_moe * n_expert) {
    ImGui::TextDisabled("A dense model: no experts to count.");
    state.heat_grid = PanelRect{};
    return;
  }
  ImGui::Text("%" PRIu64 " tokens routed, top-%u of %u experts, %zu MoE layers", st.n_routed_tokens,
              st.top_k, n_expert, n_moe);
  ImGui::AlignTextToFramePadding();
  ImGui::TextDisabled("colour scale:");
  ImGui::SameLine();
  if (ImGui::RadioButton("per layer", state.heat_per_layer)) state.heat_per_layer = true;
  ImGui::SameLine();
  if (ImGui::RadioButton("all layers", !state.heat_per_layer)) state.heat_per_layer = false;

  uint64_t global_max = 0;
  for (uint64_t h : st.expert_hits) global_max = std::max(global_max, h);

  const float line = ImGui::GetTextLineHeight();
  const float label_w = ImGui::CalcTextSize("L000 ").x;
  const float avail = ImGui::GetContentRegionAvail().x - label_w;
  // Cells fill the width (fractional widths, edges snapped to whole pixels).
  const float cell_w = std::clamp(avail / static_cast<float>(n_expert), 2.0f, 24.0f);
  const float cell_h = std::round(std::clamp(cell_w, 5.0f, std::max(line * 0.9f, 5.0f)));
  const float grid_w = cell_w * static_cast<float>(n_expert);
  const float grid_h = cell_h * static_cast<float>(n_moe);
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const ImVec2 g(std::round(p.x + label_w), std::round(p.y));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float gap = cell_w >= 6.0f ? 1.0f : 0.0f;
  const size_t label_every = static_cast<size_t>(std::max(1.0f, std::ceil(line / cell_h)));
  for (size_t m = 0; m < n_moe; ++m) {
    uint64_t row_max = 0;
    for (uint32_t e = 0; e < n_expert; ++e) row_max = std::max(row_max, st.hits(m, e));
    const uint64_t scale = state.heat_per_layer ? row_max : global_max;
    const float y = g.y + cell_h * static_cast<float>(m);
    for (uint32_t e = 0; e < n_expert; ++e) {
      const uint64_t h = st.hits(m, e);
      const float t = scale > 0 && h > 0 ? std::max(0.04f, static_cast<float>(h) / scale) : 0.0f;
      const float x0 = std::round(g.x + cell_w * static_cast<float>(e));
      const float x1 = std::round(g.x + cell_w * static_cast<float>(e + 1));
      dl->AddRectFilled(ImVec2(x0, y), ImVec2(x1 - gap, y + cell_h - gap), heat_colour(t, dark));
    }
    if (m % label_every == 0) {
      char label[16];
      std::snprintf(label, sizeof label, "L%u", st.moe_layers[m]);
      const float ty = y + (std::min(cell_h * label_every, line) - line) * 0.5f;
      dl->AddText(ImVec2(p.x, std::max(y, ty)), ImGui::GetColorU32(ImGuiCol_TextDisabled), label);
    }
  }
  ImGui::InvisibleButton("##heat", ImVec2(label_w + grid_w, std::max(grid_h, 1.0f)));
  state.heat_grid = PanelRect{g.x, g.y, grid_w, grid_h};
  if (ImGui::IsItemHovered()) {
    const ImVec2 mouse = ImGui::GetIO().MousePos;
    const auto e = static_cast<int64_t>(std::floor((mouse.x - g.x) / cell_w));
    const auto m = static_cast<int64_t>(std::floor((mouse.y - g.y) / cell_h));
    if (e >= 0 && e < n_expert && m >= 0 && static_cast<size_t>(m) < n_moe) {
      const float x = g.x + cell_w * static_cast<float>(e);
      const float y = g.y + cell_h * static_cast<float>(m);
      dl->AddRect(ImVec2(x - 1.0f, y - 1.0f), ImVec2(x + cell_w, y + cell_h),
                  ImGui::GetColorU32(ImGuiCol_Text), 0.0f, 0, 1.5f);
      uint64_t layer_total = 0;
      for (uint32_t k = 0; k < n_expert; ++k) layer_total += st.hits(static_cast<size_t>(m), k);
      const uint64_t h = st.hits(static_cast<size_t>(m), static_cast<size_t>(e));
      const double share = layer_total > 0 ? static_cast<double>(h) / layer_total : 0.0;
      ImGui::SetTooltip("layer %u, expert %" PRId64 "\n%" PRIu64
                        " hits, %.1f%% of the layer's picks\n"
                        "%.2fx the uniform load",
                        st.moe_layers[static_cast<size_t>(m)], e, h, 100.0 * share,
                        share * n_expert);
    }
  }
  // The expert axis and the colour legend.
  ImGui::SetCursorScreenPos(ImVec2(g.x, ImGui::GetCursorScreenPos().y));
  ImGui::TextDisabled("expert 0");
  char last[32];
  std::snprintf(last, sizeof last, "%u", n_expert - 1);
  ImGui::SameLine(label_w + grid_w - ImGui::CalcTextSize(last).x +
                  ImGui::GetStyle().WindowPadding.x);
  ImGui::TextDisabled("%s", last);
  const ImVec2 lp = ImGui::GetCursorScreenPos();
  const float lw = std::min(160.0f, grid_w * 0.5f), lh = line * 0.6f;
  ImGui::SetCursorScreenPos(ImVec2(g.x, lp.y));
  ImGui::TextDisabled("0");
  ImGui::SameLine();
  const ImVec2 q = ImGui::GetCursorScreenPos();
  const int steps = 32;
  for (int i = 0; i < steps; ++i) {
    const float x0 = q.x + lw * static_cast<float>(i) / steps;
    const float x1 = q.x + lw * static_cast<float>(i + 1) / steps;
    const float dy = (line - lh) * 0.5f;
    dl->AddRectFilled(ImVec2(x0, q.y + dy), ImVec2(x1, q.y + dy + lh),
                      heat_colour(static_cast<float>(i + 1) / steps, dark));
  }
  ImGui::Dummy(ImVec2(lw, line));
  ImGui::SameLine();
  if (state.heat_per_layer) {
    ImGui::TextDisabled("the layer's busiest expert");
  } else {
    ImGui::TextDisabled("%" PRIu64 " hits", global_max);
  }
}

void header(const EngineStats& st) {
  ImGui::Text("Engine: %s backend, %u thread%s", st.backend.c_str(), st.n_threads,
              st.n_threads == 1 ? "" : "s");
  for (auto it = st.history.rbegin(); it != st.history.rend(); ++it) {
    if (it->kind != StepKind::generation) continue;
    char text[48];
    std::snprintf(text, sizeof text, "%.1f tok/s", it->tokens_per_s());
    ImGui::SameLine(ImGui::GetWindowContentRegionMax().x - ImGui::CalcTextSize(text).x);
    ImGui::TextUnformatted(text);
    break;
  }
}

}  // namespace

void draw_panels(const EngineStats* stats, PanelState& state, bool dark) {
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowPos(ImVec2(0.0f, 0.0f));
  ImGui::SetNextWindowSize(io.DisplaySize);
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoResize |
                                     ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove |
                                     ImGuiWindowFlags_NoSavedSettings |
                                     ImGuiWindowFlags_NoBringToFrontOnFocus;
  ImGui::Begin("Engine Inspector", nullptr, flags);
  if (stats == nullptr) {
    const char* hint = "No engine statistics yet: load a model and send a message.";
    const ImVec2 ts = ImGui::CalcTextSize(hint);
    ImGui::SetCursorPos(ImVec2(std::max(8.0f, (io.DisplaySize.x - ts.x) * 0.5f),
                               std::max(8.0f, (io.DisplaySize.y - ts.y) * 0.5f)));
    ImGui::TextDisabled("%s", hint);
    state.kv_bar = PanelRect{};
    state.heat_grid = PanelRect{};
    ImGui::End();
    return;
  }
  const EngineStats& st = *stats;
  header(st);
  if (io.DisplaySize.x >= kTwoColumnWidth &&
      ImGui::BeginTable("columns", 2, ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_PadOuterX)) {
    ImGui::TableNextColumn();
    speed_panel(st, state);
    ops_panel(st);
    ImGui::TableNextColumn();
    kv_panel(st, state);
    memory_panel(st);
    experts_panel(st, state, dark);
    ImGui::EndTable();
  } else {
    speed_panel(st, state);
    kv_panel(st, state);
    ops_panel(st);
    memory_panel(st);
    experts_panel(st, state, dark);
  }
  ImGui::End();
}

}  // namespace es::ui::engine_inspector
