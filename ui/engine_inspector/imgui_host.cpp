// ImGuiHost: the ImGui context, its fonts and style, and Qt's mouse input turned into
// ImGui's IO state (1.86 reads the state once per frame, so a click that begins and ends
// between two frames is held down for one frame).
#include "imgui_host.h"

#include <imgui.h>

#include <QFile>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>

namespace es::ui::engine_inspector {

namespace {

/// Sans-serif TrueType fonts of common distributions, in order of preference.
constexpr std::array kFontFiles = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/google-noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
};

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ImGuiHost::ImGuiHost() {
  ImGuiContext* previous = ImGui::GetCurrentContext();
  ctx_ = ImGui::CreateContext();
  ImGui::SetCurrentContext(ctx_);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // Nothing to persist: the layout is fixed.
  io.LogFilename = nullptr;
  io.ConfigWindowsMoveFromTitleBarOnly = true;
  io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
  set_dark(true);
  ImGui::SetCurrentContext(previous);
}

ImGuiHost::~ImGuiHost() {
  ImGui::DestroyContext(ctx_);
}

void ImGuiHost::make_current() const {
  ImGui::SetCurrentContext(ctx_);
}

void ImGuiHost::set_font(float pixel_size, float device_pixel_ratio) {
  make_current();
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  const float dpr = std::max(1.0f, device_pixel_ratio);
  font_file_.clear();
  for (const char* path : kFontFiles) {
    if (!QFile::exists(QString::fromLatin1(path))) continue;
    ImFontConfig cfg;
    cfg.OversampleH = 2;
    cfg.OversampleV = 1;
    if (io.Fonts->AddFontFromFileTTF(path, std::round(pixel_size * dpr), &cfg) != nullptr) {
      font_file_ = QString::fromLatin1(path);
      break;
    }
  }
  if (font_file_.isEmpty()) {
    ImFontConfig cfg;
    cfg.SizePixels = std::round(13.0f * dpr);
    io.Fonts->AddFontDefault(&cfg);
  }
  io.FontGlobalScale = 1.0f / dpr;  // Rasterised for device pixels, laid out in logical ones.
  io.Fonts->Build();
}

void ImGuiHost::set_dark(bool dark) {
  make_current();
  dark_ = dark;
  ImGuiStyle& style = ImGui::GetStyle();
  style = ImGuiStyle();
  if (dark) {
    ImGui::StyleColorsDark(&style);
  } else {
    ImGui::StyleColorsLight(&style);
  }
  style.WindowRounding = 0.0f;
  style.WindowBorderSize = 0.0f;
  style.FrameRounding = 3.0f;
  style.ChildRounding = 3.0f;
  style.GrabRounding = 3.0f;
  style.PopupRounding = 3.0f;
  style.ScrollbarRounding = 3.0f;
  style.WindowPadding = ImVec2(10.0f, 8.0f);
  style.ItemSpacing = ImVec2(8.0f, 5.0f);
  style.CellPadding = ImVec2(4.0f, 2.0f);
  if (dark) {
    style.Colors[ImGuiCol_WindowBg] = ImVec4(0.11f, 0.12f, 0.14f, 1.0f);
    style.Colors[ImGuiCol_ChildBg] = ImVec4(0.14f, 0.15f, 0.18f, 1.0f);
    style.Colors[ImGuiCol_FrameBg] = ImVec4(0.19f, 0.20f, 0.24f, 1.0f);
  } else {
    style.Colors[ImGuiCol_WindowBg] = ImVec4(0.97f, 0.97f, 0.98f, 1.0f);
    style.Colors[ImGuiCol_ChildBg] = ImVec4(1.0f, 1.0f, 1.0f, 1.0f);
    style.Colors[ImGuiCol_FrameBg] = ImVec4(0.88f, 0.89f, 0.91f, 1.0f);
  }
}

void ImGuiHost::mouse_move(QPointF pos) {
  make_current();
  ImGui::GetIO().MousePos = ImVec2(static_cast<float>(pos.x()), static_cast<float>(pos.y()));
  dirty_ = true;
}

void ImGuiHost::mouse_button(int button, bool down) {
  if (button < 0 || button > 2) return;
  make_current();
  ImGuiIO& io = ImGui::GetIO();
  if (down) {
    io.MouseDown[button] = true;
    press_seen_[button] = false;
    pending_release_[button] = false;
  } else if (!press_seen_[button]) {
    pending_release_[button] = true;  // Let one frame see the click first.
  } else {
    io.MouseDown[button] = false;
  }
  dirty_ = true;
}

void ImGuiHost::mouse_wheel(QPoint angle_delta) {
  make_current();
  ImGuiIO& io = ImGui::GetIO();
  io.MouseWheel += static_cast<float>(angle_delta.y()) / 120.0f;
  io.MouseWheelH += static_cast<float>(angle_delta.x()) / 120.0f;
  dirty_ = true;
}

void ImGuiHost::mouse_leave() {
  make_current();
  ImGui::GetIO().MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
  dirty_ = true;
}

void ImGuiHost::new_frame(QSize size, double device_pixel_ratio) {
  make_current();
  ImGuiIO& io = ImGui::GetIO();
  io.DisplaySize = ImVec2(static_cast<float>(std::max(1, size.width())),
                          static_cast<float>(std::max(1, size.height())));
  const auto dpr = static_cast<float>(device_pixel_ratio);
  io.DisplayFramebufferScale = ImVec2(dpr, dpr);
  const double t = now_s();
  io.DeltaTime =
      last_frame_s_ > 0.0 ? static_cast<float>(std::max(t - last_frame_s_, 1e-4)) : 0.016f;
  last_frame_s_ = t;
  dirty_ = false;
  ImGui::NewFrame();
  for (int b = 0; b < 3; ++b) press_seen_[b] = true;
}

ImDrawData* ImGuiHost::end_frame() {
  make_current();
  ImGui::Render();
  ImGuiIO& io = ImGui::GetIO();
  for (int b = 0; b < 3; ++b) {
    if (pending_release_[b]) {
      io.MouseDown[b] = false;
      pending_release_[b] = false;
      dirty_ = true;
    }
  }
  return ImGui::GetDrawData();
}

}  // namespace es::ui::engine_inspector
