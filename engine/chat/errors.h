// Error helpers of the chat template interpreter: every message starts with
// "chat template line N" so the user can find the spot.
#pragma once

#include <cstdint>
#include <string>

namespace es::chat::detail {

/// A syntax error: es::Error (bad_input), "chat template line L, column C: what".
[[noreturn]] void throw_syntax(uint32_t line, uint32_t col, const std::string& what);
/// A construct the interpreter lacks: es::Error (unsupported),
/// "chat template line L: what is not supported".
[[noreturn]] void throw_unsupported(uint32_t line, const std::string& what);
/// A render-time failure: es::Error (bad_input), "chat template line L: what".
[[noreturn]] void throw_runtime(uint32_t line, const std::string& what);

}  // namespace es::chat::detail
