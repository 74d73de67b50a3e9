// The compute shaders, compiled to SPIR-V by glslc at build time and embedded in the
// binary (shaders/CMakeLists.txt lists each variant: a source and its defines).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace es::shaders {

/// One compiled shader variant.
struct EmbeddedShader {
  std::string_view name;           ///< e.g. "add_f32".
  std::span<const uint32_t> code;  ///< SPIR-V words.
};

/// Every embedded variant.
[[nodiscard]] std::span<const EmbeddedShader> embedded_shaders() noexcept;
/// The variant called `name`, or nullptr.
[[nodiscard]] const EmbeddedShader* find_shader(std::string_view name) noexcept;

}  // namespace es::shaders
