// Helpers commands share for parsing numbers and writing output files atomically.
#include <unistd.h>

#include <charconv>
#include <fstream>

#include "cli.h"

namespace es::cli {

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw Error(ErrorKind::io, path.string() + ": cannot write");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error(ErrorKind::io, path.string() + ": cannot move the written file into place");
  }
}

int64_t parse_int(std::string_view text, std::string_view what) {
  int64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || text.empty()) {
    throw usage_error(std::string(what) + ": '" + std::string(text) + "' is not an integer");
  }
  return v;
}

double parse_number(std::string_view text, std::string_view what) {
  double v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || text.empty()) {
    throw usage_error(std::string(what) + ": '" + std::string(text) + "' is not a number");
  }
  return v;
}

std::vector<int32_t> parse_token_list(std::string_view text) {
  std::vector<int32_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const int64_t v = parse_int(item, "--tokens");
    if (v < INT32_MIN || v > INT32_MAX)
      throw usage_error("--tokens: id " + std::string(item) + " is out of range");
    out.push_back(static_cast<int32_t>(v));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace es::cli
