// Private to engine/media: helpers the document readers share.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/document.h"

namespace es::media::detail {

/// The whole file at `path`: es::Error io for a missing file or a directory, bad_input
/// when it is larger than `max_bytes`. `name` names it in errors.
[[nodiscard]] std::vector<uint8_t> read_whole_file(const std::filesystem::path& path,
                                                   const std::string& name, int64_t max_bytes);

/// `bytes` as valid UTF-8: invalid sequences become U+FFFD (counted in `n_replaced`);
/// `n_chars` gets the code points.
[[nodiscard]] std::string sanitize_utf8(std::string_view bytes, int64_t& n_replaced,
                                        int64_t& n_chars);

/// "1.2 MiB" style sizes for messages.
[[nodiscard]] std::string size_text(int64_t bytes);

}  // namespace es::media::detail
