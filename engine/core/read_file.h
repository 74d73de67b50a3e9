// Reading a whole small file (config.json, tokenizer.json, ...) with errors that name it.
#pragma once

#include <filesystem>
#include <string>

namespace es {

/// The bytes of `path`. Throws es::Error(io) naming the file when it does not exist, is a
/// directory, or cannot be opened or read.
[[nodiscard]] std::string read_whole_file(const std::filesystem::path& path);

}  // namespace es
