// Text files as UTF-8: BOMs, UTF-16, invalid sequences replaced, binary data refused.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

#include "doc_util.h"
#include "expertscope/error.h"

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

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

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
        append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00));
        i += 2;
        continue;
      }
    }
    if (u >= 0xD800 && u <= 0xDFFF) {
      u = kReplacement;
      ++n_replaced;
    }
    append_utf8(out, u);
  }
  if (i < b.size()) {  // an odd byte at the end
    append_utf8(out, kReplacement);
    ++n_replaced;
  }
  return out;
}

}  // namespace

std::string sanitize_utf8(std::string_view b, int64_t& n_replaced, int64_t& n_chars) {
  std::string out;
  out.reserve(b.size());
  size_t i = 0;
  while (i < b.size()) {
    const auto c = static_cast<uint8_t>(b[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      ++n_chars;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    size_t k = 1;
    if (len != 0) {
      for (; k < len && i + k < b.size(); ++k) {
        const auto d = static_cast<uint8_t>(b[i + k]);
        if ((d & 0xC0) != 0x80) break;
        cp = (cp << 6) | (d & 0x3F);
      }
    }
    if (len != 0 && k == len && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
      out.append(b.substr(i, len));
      i += len;
    } else {
      // One U+FFFD per maximal invalid prefix (at least one byte), as WHATWG decoders do.
      append_utf8(out, kReplacement);
      ++n_replaced;
      i += std::max<size_t>(1, len != 0 ? k : 1);
    }
    ++n_chars;
  }
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
