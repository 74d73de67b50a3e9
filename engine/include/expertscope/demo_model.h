// The bundled demo model (resources/demo-model): a small DeepSeek-style multimodal MoE trained
// by the project's recipe, shipped so that the workbench answers the moment it is installed.
#pragma once

#include <filesystem>
#include <string_view>

namespace es {

/// The file name of the bundled demo model; its projector sits beside it as
/// `expertscope-demo.mmproj.gguf` (Projector::find_beside finds it).
inline constexpr std::string_view kDemoModelFile = "expertscope-demo.gguf";

/// Where the bundled demo model is, the first that exists of: $EXPERTSCOPE_DEMO_MODEL; the
/// installed copy `<executable>/../share/expertscope/demo-model/expertscope-demo.gguf`; the
/// source tree's `resources/demo-model/expertscope-demo.gguf` (a build run where it was built).
/// Empty when none exists.
[[nodiscard]] std::filesystem::path demo_model_path();

/// `name` itself, or the demo model's path when `name` is "demo" (the command line's
/// shorthand). Throws es::Error(io) for "demo" when the demo model is not installed.
[[nodiscard]] std::filesystem::path resolve_model_name(std::string_view name);

}  // namespace es
