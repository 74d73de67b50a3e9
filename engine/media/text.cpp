// Text files as UTF-8: BOMs, UTF-16, invalid sequences replaced, binary data refused.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

#include "doc_util.h"
#include "expertscope/error.h"
#include "tokenizer/utf8.h"

namespace es::media {
namespace detail {

std::string size_text(int64_t n) {
  char buf[48];
  if (n >= (int64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(n));
  }
  return buf;
}

std::vector<uint8_t> read_whole_file(const std::filesystem::path& path, const std::string& name,
                                     int64_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    throw Error(ErrorKind::io, name + ": no such file");
  }
  if (std::filesystem::is_directory(status)) throw Error(ErrorKind::io, name + ": is a directory");
  if (!std::filesystem::is_regular_file(status)) {
    throw Error(ErrorKind::io, name + ": not a regular file");
  }
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  if (ec) throw Error(ErrorKind::io, name + ": cannot read its size (" + ec.message() + ")");
  if (size > max_bytes) {
    throw Error(ErrorKind::bad_input, name + ": " + size_text(size) + " is more than the " +
                                          size_text(max_bytes) + " file limit");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, name + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) {
    throw Error(ErrorKind::io, name + ": read failed");
  }
  return bytes;
}

namespace {

constexpr uint32_t kReplacement = 0xFFFD;

/// UTF-16 (after its BOM) to UTF-8; unpaired surrogates become U+FFFD.
std::string utf16_to_utf8(std::string_view b, bool little, int64_t& n_replaced) {
  std::string out;
  out.reserve(b.size());
  auto unit = [&](size_t i) {
    const auto lo = static_cast<uint8_t>(b[i + (little ? 0 : 1)]);
    const auto hi = static_cast<uint8_t>(b[i + (little ? 1 : 0)]);
    return static_cast<uint32_t>(lo | (hi << 8));
  };
  size_t i = 0;
  for (; i + 1 < b.size(); i += 2) {
    uint32_t u = unit(i);
    if (u >= 0xD800 && u <= 0xDBFF && i + 3 < b.size()) {
      const uint32_t v = unit(i + 2);
      if (v >= 0xDC00 && v <= 0xDFFF) {
        es::detail::utf8_append(out, 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00));
        i += 2;
        continue;
      }
    }
    if (u >= 0xD800 && u <= 0xDFFF) {
      u = kReplacement;
      ++n_replaced;
    }
    es::detail::utf8_append(out, u);
  }
  if (i < b.size()) {  // an odd byte at the end
    es::detail::utf8_append(out, kReplacement);
    ++n_replaced;
  }
  return out;
}

}  // namespace

std::string sanitize_utf8(std::string_view b, int64_t& n_replaced, int64_t& n_chars) {
  // The tokenizer's WHATWG-style repair (one U+FFFD per maximal invalid prefix); what it
  // replaced is the growth in U+FFFD characters.
  const auto count_fffd = [](std::string_view s) {
    int64_t n = 0;
    for (size_t at = s.find(es::detail::replacement_utf8); at != std::string_view::npos;
         at = s.find(es::detail::replacement_utf8, at + 3)) {
      ++n;
    }
    return n;
  };
  std::string out = es::detail::utf8_valid(b) ? std::string(b) : es::detail::utf8_repair(b);
  n_replaced += count_fffd(out) - count_fffd(b);
  for (const char c : out) n_chars += (static_cast<uint8_t>(c) & 0xC0) != 0x80 ? 1 : 0;
  return out;
}

}  // namespace detail

Document read_text_memory(std::span<const uint8_t> bytes, std::string_view name,
                          const DocumentLimits& limits) {
  Document doc;
  doc.name = std::string(name);
  doc.kind = Kind::text;
  if (static_cast<int64_t>(bytes.size()) > limits.max_file_bytes) {
    throw Error(ErrorKind::bad_input, doc.name + ": " +
                                          detail::size_text(static_cast<int64_t>(bytes.size())) +
                                          " is more than the " +
                                          detail::size_text(limits.max_file_bytes) + " file limit");
  }
  std::string_view b(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::string text;
  if (b.size() >= 2 && (b.substr(0, 2) == "\xFF\xFE" || b.substr(0, 2) == "\xFE\xFF")) {
    text = detail::utf16_to_utf8(b.substr(2), b[0] == '\xFF', doc.n_replaced);
    b = text;
  } else if (b.substr(0, 3) == "\xEF\xBB\xBF") {
    b.remove_prefix(3);
  }
  if (const size_t nul = b.find('\0'); nul != std::string_view::npos) {
    throw Error(ErrorKind::bad_input, doc.name + ": binary data, not text (a NUL byte at offset " +
                                          std::to_string(nul) + ")");
  }
  int64_t replaced = 0;
  doc.pages.push_back(detail::sanitize_utf8(b, replaced, doc.n_chars));
  doc.n_replaced += replaced;
  if (doc.n_chars > limits.max_chars) {
    throw Error(ErrorKind::bad_input, doc.name + ": " + std::to_string(doc.n_chars) +
                                          " characters, more than the " +
                                          std::to_string(limits.max_chars) + "-character limit");
  }
  return doc;
}

Document read_text(const std::filesystem::path& path, const DocumentLimits& limits) {
  const std::string name = path.string();
  const std::vector<uint8_t> bytes = detail::read_whole_file(path, name, limits.max_file_bytes);
  return read_text_memory(bytes, name, limits);
}

}  // namespace es::media
