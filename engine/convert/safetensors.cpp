// safetensors: header validation and the memory-mapped file (safetensors.h).
#include "expertscope/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "expertscope/error.h"

namespace es::safetensors {
namespace {

using nlohmann::json;

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t bytes;
};

constexpr std::array kDTypes = {
    DTypeInfo{DType::BOOL, "BOOL", 1},       DTypeInfo{DType::U8, "U8", 1},
    DTypeInfo{DType::I8, "I8", 1},           DTypeInfo{DType::U16, "U16", 2},
    DTypeInfo{DType::I16, "I16", 2},         DTypeInfo{DType::F16, "F16", 2},
    DTypeInfo{DType::BF16, "BF16", 2},       DTypeInfo{DType::U32, "U32", 4},
    DTypeInfo{DType::I32, "I32", 4},         DTypeInfo{DType::F32, "F32", 4},
    DTypeInfo{DType::U64, "U64", 8},         DTypeInfo{DType::I64, "I64", 8},
    DTypeInfo{DType::F64, "F64", 8},         DTypeInfo{DType::F8_E4M3, "F8_E4M3", 1},
    DTypeInfo{DType::F8_E5M2, "F8_E5M2", 1},
};

/// JSON nesting deeper than this is refused before parsing (a header is 3 levels deep).
constexpr int kMaxNesting = 16;

class Parser {
 public:
  explicit Parser(std::string_view name) : name_(name) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::bad_input, std::string(name_) + ": " + what);
  }

  /// Refuses JSON nested deeper than kMaxNesting (outside strings), so the parser and the
  /// value's destructor never recurse without bound.
  void check_nesting(std::string_view text) const {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (const char c : text) {
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        if (++depth > kMaxNesting) fail("the header's JSON is nested too deeply");
      } else if (c == '}' || c == ']') {
        --depth;
      }
    }
  }

  [[nodiscard]] uint64_t read_u64(const json& v, const std::string& what) const {
    if (!v.is_number_integer()) fail(what + " is not a non-negative integer");
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    const auto s = v.get<int64_t>();
    if (s < 0) fail(what + " is negative");
    return static_cast<uint64_t>(s);
  }

  [[nodiscard]] TensorEntry entry(const std::string& key, const json& v,
                                  uint64_t data_bytes) const {
    const std::string what = "tensor \"" + key + "\"";
    if (!v.is_object()) fail(what + ": not an object");
    TensorEntry t;
    t.name = key;
    if (!v.contains("dtype") || !v["dtype"].is_string()) fail(what + ": no dtype");
    const auto dtype = v["dtype"].get<std::string>();
    for (const DTypeInfo& d : kDTypes) {
      if (d.name == dtype) t.dtype = d.dtype;
    }
    if (t.dtype == DType::unset) {
      fail(what + ": unknown dtype \"" + dtype.substr(0, 32) + "\"");
    }
    if (!v.contains("shape") || !v["shape"].is_array()) fail(what + ": no shape");
    if (v["shape"].size() > max_dims) {
      fail(what + ": " + std::to_string(v["shape"].size()) + " dimensions, more than " +
           std::to_string(max_dims));
    }
    uint64_t n = 1;
    bool overflow = false;
    for (const json& d : v["shape"]) {
      const uint64_t dim = read_u64(d, what + ": a dimension");
      if (dim > (uint64_t{1} << 62)) overflow = true;
      if (dim != 0 && n > (uint64_t{1} << 62) / dim) overflow = true;
      if (!overflow) n *= dim;
      t.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(dim, INT64_MAX)));
    }
    if (overflow) fail(what + ": the shape's element count overflows");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() ||
        v["data_offsets"].size() != 2) {
      fail(what + ": data_offsets is not a pair [begin, end]");
    }
    t.begin = read_u64(v["data_offsets"][0], what + ": data_offsets[0]");
    t.end = read_u64(v["data_offsets"][1], what + ": data_offsets[1]");
    if (t.end < t.begin) fail(what + ": data_offsets end before they begin");
    const size_t elem = dtype_bytes(t.dtype);
    if (n > UINT64_MAX / elem || n * elem != t.end - t.begin) {
      fail(what + ": data_offsets span " + std::to_string(t.end - t.begin) + " bytes, but " +
           std::string(dtype_name(t.dtype)) + " × " + std::to_string(n) + " elements need " +
           (n > UINT64_MAX / elem ? std::string("more") : std::to_string(n * elem)));
    }
    if (t.end > data_bytes) {
      fail(what + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
           ") run past the end of the data (" + std::to_string(data_bytes) +
           " bytes; is the file truncated?)");
    }
    return t;
  }

  void metadata(const json& v, Header& h) const {
    if (!v.is_object()) fail("__metadata__ is not an object");
    for (const auto& [k, s] : v.items()) {
      if (!s.is_string()) fail("__metadata__ \"" + k + "\" is not a string");
      h.metadata.emplace(k, s.get<std::string>());
    }
  }

  static void check_overlaps(const Parser& p, Header& h) {
    std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorEntry& a, const TensorEntry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    const TensorEntry* prev = nullptr;
    for (const TensorEntry& t : h.tensors) {
      if (t.begin == t.end) continue;  // Empty tensors occupy no bytes.
      if (prev != nullptr && t.begin < prev->end) {
        p.fail("tensors \"" + prev->name + "\" and \"" + t.name + "\" overlap (bytes " +
               std::to_string(t.begin) + " to " + std::to_string(std::min(t.end, prev->end)) + ")");
      }
      prev = &t;
    }
  }

 private:
  std::string_view name_;
};

}  // namespace

std::string_view dtype_name(DType dtype) noexcept {
  for (const DTypeInfo& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "unset";
}

size_t dtype_bytes(DType dtype) noexcept {
  for (const DTypeInfo& d : kDTypes) {
    if (d.dtype == dtype) return d.bytes;
  }
  return 0;
}

uint64_t TensorEntry::n_elements() const noexcept {
  uint64_t n = 1;
  for (const int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

Header parse_header(std::span<const uint8_t> bytes, std::string_view name) {
  const Parser p(name);
  if (bytes.size() < 8) {
    p.fail("truncated: " + std::to_string(bytes.size()) +
           " bytes, shorter than the 8-byte header length");
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<size_t>(i)];
  if (n > max_header_bytes) {
    p.fail("header length " + std::to_string(n) + " is larger than the " +
           std::to_string(max_header_bytes) + " bytes allowed");
  }
  if (n > bytes.size() - 8) {
    p.fail("truncated: the header length " + std::to_string(n) +
           " runs past the end of the file (" + std::to_string(bytes.size()) + " bytes)");
  }
  if (n < 2 || bytes[8] != '{') p.fail("the header is not a JSON object");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8),
                              static_cast<size_t>(n));
  p.check_nesting(text);
  const json root = json::parse(text, nullptr, false);
  if (root.is_discarded()) p.fail("the header is not valid JSON");
  if (!root.is_object()) p.fail("the header is not a JSON object");
  Header h;
  h.data_offset = 8 + n;
  const uint64_t data_bytes = bytes.size() - h.data_offset;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      p.metadata(value, h);
    } else {
      h.tensors.push_back(p.entry(key, value, data_bytes));
    }
  }
  Parser::check_overlaps(p, h);
  return h;
}

// ---------------------------------------------------------------------------------------
// File.

namespace detail {
struct FileImpl {
  std::string name;
  void* map_addr = nullptr;
  size_t map_len = 0;
  const uint8_t* base = nullptr;
  Header header;
  FileImpl() = default;
  FileImpl(const FileImpl&) = delete;
  FileImpl& operator=(const FileImpl&) = delete;
  ~FileImpl() {
    if (map_addr != nullptr) munmap(map_addr, map_len);
  }
};
}  // namespace detail

File::File() : impl_(std::make_unique<detail::FileImpl>()) {}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

File File::open(const std::filesystem::path& path) {
  File file;
  detail::FileImpl& f = *file.impl_;
  f.name = path.string();
  const auto io_error = [&](const std::string& what) {
    return Error(ErrorKind::io, f.name + ": " + what + ": " + std::strerror(errno));
  };
  const int fd = ::open(f.name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error("cannot open");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const Error e = io_error("cannot stat");
    ::close(fd);
    throw e;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::bad_input, f.name + ": not a regular file");
  }
  if (st.st_size < 8) {
    ::close(fd);
    throw Error(ErrorKind::bad_input, f.name + ": truncated: " + std::to_string(st.st_size) +
                                          " bytes, shorter than the 8-byte header length");
  }
  f.map_len = static_cast<size_t>(st.st_size);
  void* addr = mmap(nullptr, f.map_len, PROT_READ, MAP_PRIVATE, fd, 0);
  const Error map_error = io_error("cannot map");
  ::close(fd);
  if (addr == MAP_FAILED) throw map_error;
  f.map_addr = addr;
  f.base = static_cast<const uint8_t*>(addr);
  f.header = parse_header({f.base, f.map_len}, f.name);
  return file;
}

const std::string& File::name() const noexcept {
  return impl_->name;
}

const Header& File::header() const noexcept {
  return impl_->header;
}

const TensorEntry* File::find(std::string_view name) const noexcept {
  for (const TensorEntry& t : impl_->header.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::span<const uint8_t> File::data(const TensorEntry& tensor) const noexcept {
  return {impl_->base + impl_->header.data_offset + tensor.begin, tensor.end - tensor.begin};
}

}  // namespace es::safetensors
