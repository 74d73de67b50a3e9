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

bool is_valid_utf8(std::string_view text) noexcept {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= text.size()) return false;
      const auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xc0u) != 0x80u) return false;
      cp = cp << 6 | (d & 0x3fu);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
      return false;
    }
    i += n + 1;
  }
  return true;
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

void report_backend(const es::Context& ctx) {
  if (!ctx.backend_warning().empty()) {
    std::fprintf(stderr, "warning: %s\n", ctx.backend_warning().c_str());
  }
}

}  // namespace es::cli
