// Errors the engine reports to its callers.
//
// Loading paths (GGUF files, models, later media and databases) throw es::Error. Every
// message names the thing at fault (a file path, a metadata key, a tensor name) and what
// is wrong with it, so the CLI can print it as one `error: ` line and the UI can show it.
#pragma once

#include <stdexcept>
#include <string>

namespace es {

/// What kind of failure an Error is; decides the CLI exit status. Zero means "unset".
enum class ErrorKind : int {
  unset = 0,
  usage = 1,        ///< The caller asked for something malformed (CLI exit 2).
  bad_input = 2,    ///< A file or value is corrupt, truncated or inconsistent (exit 3).
  unsupported = 3,  ///< Valid input this build cannot handle yet: an architecture, a type (exit 3).
  io = 4,           ///< The operating system refused: open, mmap, write, rename (exit 3).
};

/// The one exception type of the engine. what() is the full, user-facing message.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  /// The category, for exit codes and UI styling.
  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace es
