// The GGUF reader: map, validate everything once, then serve zero-copy views.
//
// Every number read from the file is checked against the bytes that remain before it is
// used: a count is accepted only if the file could hold that many of the smallest
// possible items, so the reader never reserves memory for data the file does not have.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "expertscope/error.h"
#include "expertscope/gguf.h"
#include "format.h"

namespace es::gguf {
namespace detail {

/// One array of the file: its items' type and where they are.
struct ArrayEntry {
  ValueType elem_type = ValueType::u8;
  uint64_t count = 0;
  uint64_t data_offset = 0;  ///< First item (numeric arrays: the raw bytes).
  uint64_t first_child = 0;  ///< Strings: index into string_offsets; arrays: into arrays.
};

struct FileImpl {
  std::string name;
  const uint8_t* base = nullptr;
  uint64_t size = 0;
  void* map_addr = nullptr;  ///< Owned mapping (nullptr for from_memory).
  size_t map_len = 0;

  uint32_t version = 0;
  uint64_t alignment = default_alignment;
  uint64_t data_offset = 0;
  std::vector<KeyValue> kvs;
  std::vector<TensorInfo> tensors;
  std::vector<ArrayEntry> arrays;
  std::vector<uint64_t> string_offsets;  ///< Offsets of string items' length prefixes.
  std::unordered_map<std::string_view, uint32_t> tensor_index;

  ~FileImpl() {
    if (map_addr != nullptr) munmap(map_addr, map_len);
  }

  [[nodiscard]] uint64_t read_u64_at(uint64_t offset) const {
    uint64_t v = 0;
    std::memcpy(&v, base + offset, sizeof v);
    return v;
  }
  [[nodiscard]] std::string_view string_at(uint64_t offset) const {
    const uint64_t n = read_u64_at(offset);
    return {reinterpret_cast<const char*>(base + offset + 8), static_cast<size_t>(n)};
  }
  [[nodiscard]] ValueRef make_ref(ValueType type, uint64_t offset, uint32_t array_index) const {
    ValueRef r;
    r.file_ = this;
    r.type_ = type;
    r.offset_ = offset;
    r.array_index_ = array_index;
    return r;
  }
  [[nodiscard]] ArrayRef make_array_ref(uint32_t index) const {
    ArrayRef a;
    a.file_ = this;
    a.index_ = index;
    return a;
  }
};

}  // namespace detail

namespace {

using detail::ArrayEntry;
using detail::FileImpl;

[[noreturn]] void fail(const FileImpl& f, const std::string& what) {
  throw Error(ErrorKind::bad_input, f.name + ": " + what);
}

/// Names the item being read, built only when an error needs it (the reader visits
/// every token string of a vocabulary; formatting a name for each would be waste).
struct Where {
  std::string_view what;         ///< "metadata key", "tensor info", a key's name...
  uint64_t index = UINT64_MAX;   ///< Item number, when the item is one of many.
  std::string_view detail = {};  ///< "length", "type", "count", ...

  [[nodiscard]] std::string str() const {
    std::string s(what);
    if (index != UINT64_MAX) s += " item " + std::to_string(index);
    if (!detail.empty()) s += std::string(" ") + std::string(detail);
    return s;
  }
};

/// Sequential, bounds-checked reads over the mapped bytes.
class Cursor {
 public:
  explicit Cursor(const FileImpl& f) : f_(f) {}

  [[nodiscard]] uint64_t pos() const noexcept { return pos_; }
  [[nodiscard]] uint64_t remaining() const noexcept { return f_.size - pos_; }

  /// Fails unless `n` more bytes are present.
  void need(uint64_t n, const Where& where) const {
    if (n > remaining()) {
      fail(f_, "truncated: " + where.str() + " needs " + std::to_string(n) + " bytes at offset " +
                   std::to_string(pos_) + ", but only " + std::to_string(remaining()) + " remain");
    }
  }
  void skip(uint64_t n, const Where& where) {
    need(n, where);
    pos_ += n;
  }
  template <typename T>
  T read(const Where& where) {
    need(sizeof(T), where);
    T v;
    std::memcpy(&v, f_.base + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  /// A length-prefixed string; returns the offset of its length prefix.
  uint64_t string(Where where) {
    const uint64_t at = pos_;
    where.detail = "length";
    const auto n = read<uint64_t>(where);
    where.detail = "bytes";
    skip(n, where);
    return at;
  }
  /// Fails unless `count` items of at least `min_item_bytes` each can fit.
  void check_count(uint64_t count, uint64_t min_item_bytes, const Where& where) const {
    if (min_item_bytes != 0 && count > remaining() / min_item_bytes) {
      fail(f_, "implausible count: " + where.str() + " claims " + std::to_string(count) +
                   " items of at least " + std::to_string(min_item_bytes) + " bytes, but only " +
                   std::to_string(remaining()) + " bytes remain at offset " + std::to_string(pos_));
    }
  }

 private:
  const FileImpl& f_;
  uint64_t pos_ = 0;
};

ValueType read_value_type(const FileImpl& f, Cursor& c, Where where) {
  where.detail = "type";
  const auto id = c.read<uint32_t>(where);
  if (!format::is_valid_value_type(id)) {
    fail(f, where.str() + " is " + std::to_string(id) + " at offset " +
                std::to_string(c.pos() - 4) + ", not a GGUF value type (0..12)");
  }
  return static_cast<ValueType>(id);
}

/// Parses an array body ([elem type][count][items]) into f.arrays[slot].
void parse_array_into(FileImpl& f, Cursor& c, Where where, uint32_t depth, size_t slot) {
  if (depth > format::max_array_depth) {
    fail(f, where.str() + ": arrays nested deeper than " + std::to_string(format::max_array_depth) +
                " levels");
  }
  Where elem_where = where;
  elem_where.detail = "element";
  const ValueType elem = read_value_type(f, c, elem_where);
  where.detail = "count";
  const auto count = c.read<uint64_t>(where);
  where.detail = {};
  c.check_count(count, format::min_value_size(elem), where);
  ArrayEntry entry{elem, count, c.pos(), 0};
  if (elem == ValueType::string) {
    entry.first_child = f.string_offsets.size();
    f.string_offsets.reserve(f.string_offsets.size() + count);
    for (uint64_t i = 0; i < count; ++i) {
      f.string_offsets.push_back(c.string(Where{where.what, i}));
    }
  } else if (elem == ValueType::array) {
    // Items of an array of arrays are array bodies with no type tag of their own. They
    // occupy consecutive slots, claimed before any of them is parsed.
    if (f.arrays.size() + count > std::numeric_limits<uint32_t>::max()) {
      fail(f, where.str() + ": too many arrays");
    }
    entry.first_child = f.arrays.size();
    f.arrays.resize(f.arrays.size() + count);
    for (uint64_t i = 0; i < count; ++i) {
      parse_array_into(f, c, Where{where.what, i}, depth + 1, entry.first_child + i);
    }
  } else {
    where.detail = "data";
    c.skip(count * format::scalar_size(elem), where);
  }
  f.arrays[slot] = entry;
}

/// Parses one value of `type` at the cursor; returns a view of it.
ValueRef parse_value(FileImpl& f, Cursor& c, ValueType type, std::string_view key) {
  const uint64_t at = c.pos();
  uint32_t array_index = 0;
  if (type == ValueType::string) {
    c.string(Where{key});
  } else if (type == ValueType::array) {
    if (f.arrays.size() >= std::numeric_limits<uint32_t>::max()) fail(f, "too many arrays");
    array_index = static_cast<uint32_t>(f.arrays.size());
    f.arrays.emplace_back();
    parse_array_into(f, c, Where{key}, 1, array_index);
  } else {
    c.skip(format::scalar_size(type), Where{key, UINT64_MAX, "value"});
  }
  return f.make_ref(type, at, array_index);
}

void parse_header(FileImpl& f, Cursor& c, uint64_t& n_tensors, uint64_t& n_kv) {
  if (f.size < 4 || std::memcmp(f.base, format::magic, 4) != 0) {
    fail(f, "not a GGUF file (the first four bytes are not \"GGUF\")");
  }
  c.skip(4, Where{"magic"});
  const auto version = c.read<uint32_t>(Where{"version"});
  if (version == 0x02000000u || version == 0x03000000u || version == 0x01000000u) {
    fail(f, "big-endian GGUF files are not supported (this machine reads little-endian)");
  }
  if (version == 1) fail(f, "GGUF version 1 is not supported (only versions 2 and 3)");
  if (version != 2 && version != 3) {
    fail(f, "unknown GGUF version " + std::to_string(version) + " (only versions 2 and 3)");
  }
  f.version = version;
  n_tensors = c.read<uint64_t>(Where{"tensor count"});
  n_kv = c.read<uint64_t>(Where{"metadata count"});
}

void parse_metadata(FileImpl& f, Cursor& c, uint64_t n_kv) {
  // Smallest entry: 8-byte key length, 1 key byte, 4-byte type, 1-byte value.
  c.check_count(n_kv, 14, Where{"metadata"});
  f.kvs.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t key_at = c.string(Where{"metadata key", i});
    const std::string_view key = f.string_at(key_at);
    if (key.empty()) fail(f, "metadata key " + std::to_string(i) + " is empty");
    const ValueType type = read_value_type(f, c, Where{key});
    f.kvs.push_back(KeyValue{key, parse_value(f, c, type, key)});
  }
  std::vector<std::string_view> keys;
  keys.reserve(f.kvs.size());
  for (const auto& kv : f.kvs) keys.push_back(kv.key);
  std::sort(keys.begin(), keys.end());
  const auto dup = std::adjacent_find(keys.begin(), keys.end());
  if (dup != keys.end()) fail(f, "duplicate metadata key " + std::string(*dup));
}

void read_alignment(FileImpl& f) {
  for (const auto& kv : f.kvs) {
    if (kv.key != "general.alignment") continue;
    if (kv.value.type() != ValueType::u32) {
      fail(f,
           "general.alignment must be a u32, not " + std::string(value_type_name(kv.value.type())));
    }
    const uint64_t a = *kv.value.as_uint();
    if (a == 0 || (a & (a - 1)) != 0) {
      fail(f, "general.alignment " + std::to_string(a) + " is not a power of two");
    }
    f.alignment = a;
  }
}

/// Checks dimensions and computes element and byte counts of one tensor.
void size_tensor(const FileImpl& f, TensorInfo& t, uint32_t type_id) {
  const std::string name(t.name);
  const auto traits = tensor_type_traits(type_id);
  if (!traits) {
    throw Error(ErrorKind::unsupported,
                f.name + ": tensor " + name + " has unknown type id " + std::to_string(type_id));
  }
  t.type = traits->type;
  uint64_t n = 1;
  for (uint32_t d = 0; d < max_dims; ++d) {
    if (t.ne[d] < 0) {
      fail(f, "tensor " + name + " has negative dimension " + std::to_string(t.ne[d]));
    }
    const auto ne = static_cast<uint64_t>(t.ne[d]);
    if (ne != 0 && n > static_cast<uint64_t>(INT64_MAX) / ne) {
      fail(f, "tensor " + name + " has more elements than fit in 63 bits");
    }
    n *= ne;
  }
  if (t.ne[0] % traits->block_elems != 0) {
    fail(f, "tensor " + name + " has rows of " + std::to_string(t.ne[0]) +
                " values, not a multiple of the " + std::string(traits->name) + " block (" +
                std::to_string(traits->block_elems) + ")");
  }
  t.n_elements = n;
  const uint64_t n_blocks = n / traits->block_elems;
  if (n_blocks != 0 && traits->block_bytes > UINT64_MAX / n_blocks) {
    fail(f, "tensor " + name + " is too large");
  }
  t.n_bytes = n_blocks * traits->block_bytes;
}

void parse_tensor_infos(FileImpl& f, Cursor& c, uint64_t n_tensors) {
  // Smallest info: name length 8 + 1 byte, n_dims 4, type 4, offset 8.
  c.check_count(n_tensors, 25, Where{"tensor infos"});
  f.tensors.reserve(n_tensors);
  f.tensor_index.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    t.name = f.string_at(c.string(Where{"tensor info", i, "name"}));
    const std::string label = "tensor " + std::to_string(i);
    if (t.name.empty()) fail(f, label + " has an empty name");
    if (t.name.size() > format::max_tensor_name_bytes) {
      fail(f, label + " has a name of " + std::to_string(t.name.size()) + " bytes (at most " +
                  std::to_string(format::max_tensor_name_bytes) + ")");
    }
    t.n_dims = c.read<uint32_t>(Where{"tensor info", i, "dimension count"});
    if (t.n_dims > max_dims) {
      fail(f, "tensor " + std::string(t.name) + " has " + std::to_string(t.n_dims) +
                  " dimensions (at most " + std::to_string(max_dims) + ")");
    }
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      t.ne[d] = c.read<int64_t>(Where{"tensor info", i, "dimension"});
    }
    const auto type_id = c.read<uint32_t>(Where{"tensor info", i, "type"});
    t.offset = c.read<uint64_t>(Where{"tensor info", i, "offset"});
    size_tensor(f, t, type_id);
    if (!f.tensor_index.emplace(t.name, static_cast<uint32_t>(f.tensors.size())).second) {
      fail(f, "duplicate tensor name " + std::string(t.name));
    }
    f.tensors.push_back(t);
  }
}

/// Places the data section and checks every tensor lies inside it without overlap.
void check_tensor_data(FileImpl& f, uint64_t infos_end) {
  f.data_offset = format::align_up(infos_end, f.alignment);
  if (f.data_offset < infos_end) fail(f, "data section offset overflows");
  if (f.tensors.empty()) return;
  if (f.data_offset > f.size) {
    fail(f, "truncated: the tensor data section starts at offset " + std::to_string(f.data_offset) +
                ", past the end of the file (" + std::to_string(f.size) + " bytes)");
  }
  const uint64_t data_bytes = f.size - f.data_offset;
  std::vector<uint32_t> order(f.tensors.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  for (const auto& t : f.tensors) {
    const std::string name(t.name);
    if (t.offset % f.alignment != 0) {
      fail(f, "tensor " + name + " starts at data offset " + std::to_string(t.offset) +
                  ", not a multiple of the alignment " + std::to_string(f.alignment));
    }
    if (t.offset > data_bytes || t.n_bytes > data_bytes - t.offset) {
      fail(f, "truncated: tensor " + name + " needs bytes " + std::to_string(t.offset) + ".." +
                  std::to_string(t.offset + t.n_bytes) + " of the data section, which has " +
                  std::to_string(data_bytes));
    }
  }
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return f.tensors[a].offset < f.tensors[b].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const TensorInfo& prev = f.tensors[order[k - 1]];
    const TensorInfo& cur = f.tensors[order[k]];
    if (prev.offset + prev.n_bytes > cur.offset) {
      fail(f, "tensors " + std::string(prev.name) + " and " + std::string(cur.name) +
                  " overlap in the data section");
    }
  }
}

void parse(FileImpl& f) {
  Cursor c(f);
  uint64_t n_tensors = 0;
  uint64_t n_kv = 0;
  parse_header(f, c, n_tensors, n_kv);
  parse_metadata(f, c, n_kv);
  read_alignment(f);
  parse_tensor_infos(f, c, n_tensors);
  check_tensor_data(f, c.pos());
}

std::string type_mismatch(const FileImpl& f, std::string_view key, ValueType got,
                          std::string_view wanted) {
  return f.name + ": metadata key " + std::string(key) + " is a " +
         std::string(value_type_name(got)) + ", expected " + std::string(wanted);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// ValueRef / ArrayRef.

namespace {
template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
}  // namespace

std::optional<int64_t> ValueRef::as_int() const noexcept {
  const uint8_t* p = file_->base + offset_;
  switch (type_) {
    case ValueType::u8:
      return load<uint8_t>(p);
    case ValueType::i8:
      return load<int8_t>(p);
    case ValueType::u16:
      return load<uint16_t>(p);
    case ValueType::i16:
      return load<int16_t>(p);
    case ValueType::u32:
      return load<uint32_t>(p);
    case ValueType::i32:
      return load<int32_t>(p);
    case ValueType::i64:
      return load<int64_t>(p);
    case ValueType::u64: {
      const auto v = load<uint64_t>(p);
      if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(v);
    }
    default:
      return std::nullopt;
  }
}

std::optional<uint64_t> ValueRef::as_uint() const noexcept {
  if (type_ == ValueType::u64) return load<uint64_t>(file_->base + offset_);
  const auto v = as_int();
  if (!v || *v < 0) return std::nullopt;
  return static_cast<uint64_t>(*v);
}

std::optional<double> ValueRef::as_float() const noexcept {
  if (type_ == ValueType::f32) return load<float>(file_->base + offset_);
  if (type_ == ValueType::f64) return load<double>(file_->base + offset_);
  if (type_ == ValueType::u64) return static_cast<double>(load<uint64_t>(file_->base + offset_));
  const auto v = as_int();
  if (!v) return std::nullopt;
  return static_cast<double>(*v);
}

std::optional<bool> ValueRef::as_bool() const noexcept {
  if (type_ != ValueType::boolean) return std::nullopt;
  return load<uint8_t>(file_->base + offset_) != 0;
}

std::optional<std::string_view> ValueRef::as_string() const noexcept {
  if (type_ != ValueType::string) return std::nullopt;
  return file_->string_at(offset_);
}

std::optional<ArrayRef> ValueRef::as_array() const noexcept {
  if (type_ != ValueType::array) return std::nullopt;
  return file_->make_array_ref(array_index_);
}

Value ValueRef::to_value() const {
  const uint8_t* p = file_->base + offset_;
  switch (type_) {
    case ValueType::u8:
      return load<uint8_t>(p);
    case ValueType::i8:
      return load<int8_t>(p);
    case ValueType::u16:
      return load<uint16_t>(p);
    case ValueType::i16:
      return load<int16_t>(p);
    case ValueType::u32:
      return load<uint32_t>(p);
    case ValueType::i32:
      return load<int32_t>(p);
    case ValueType::f32:
      return load<float>(p);
    case ValueType::boolean:
      return load<uint8_t>(p) != 0;
    case ValueType::string:
      return std::string(*as_string());
    case ValueType::u64:
      return load<uint64_t>(p);
    case ValueType::i64:
      return load<int64_t>(p);
    case ValueType::f64:
      return load<double>(p);
    case ValueType::array: {
      const ArrayRef a = *as_array();
      Array out;
      out.elem_type = a.elem_type();
      out.items.reserve(a.size());
      for (uint64_t i = 0; i < a.size(); ++i) out.items.push_back(a.at(i).to_value());
      return out;
    }
  }
  return {};
}

ValueType ArrayRef::elem_type() const noexcept {
  return file_->arrays[index_].elem_type;
}
uint64_t ArrayRef::size() const noexcept {
  return file_->arrays[index_].count;
}

ValueRef ArrayRef::at(uint64_t i) const {
  const ArrayEntry& e = file_->arrays[index_];
  if (i >= e.count) throw std::out_of_range("gguf::ArrayRef::at");
  switch (e.elem_type) {
    case ValueType::string:
      return file_->make_ref(ValueType::string, file_->string_offsets[e.first_child + i], 0);
    case ValueType::array: {
      const auto child = static_cast<uint32_t>(e.first_child + i);
      return file_->make_ref(ValueType::array, file_->arrays[child].data_offset, child);
    }
    default:
      return file_->make_ref(e.elem_type, e.data_offset + i * format::scalar_size(e.elem_type), 0);
  }
}

std::optional<std::string_view> ArrayRef::string_at(uint64_t i) const {
  const ArrayEntry& e = file_->arrays[index_];
  if (e.elem_type != ValueType::string) return std::nullopt;
  if (i >= e.count) throw std::out_of_range("gguf::ArrayRef::string_at");
  return file_->string_at(file_->string_offsets[e.first_child + i]);
}

std::span<const uint8_t> ArrayRef::raw() const noexcept {
  const ArrayEntry& e = file_->arrays[index_];
  const uint64_t n = format::scalar_size(e.elem_type);
  if (n == 0) return {};
  return {file_->base + e.data_offset, static_cast<size_t>(e.count * n)};
}

// ---------------------------------------------------------------------------------------
// File.

File::File() : impl_(std::make_unique<FileImpl>()) {}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

File File::open(const std::filesystem::path& path) {
  File file;
  FileImpl& f = *file.impl_;
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
  if (st.st_size == 0) {
    ::close(fd);
    throw Error(ErrorKind::bad_input, f.name + ": the file is empty");
  }
  f.size = static_cast<uint64_t>(st.st_size);
  f.map_len = static_cast<size_t>(st.st_size);
  void* addr = mmap(nullptr, f.map_len, PROT_READ, MAP_PRIVATE, fd, 0);
  const Error map_error = io_error("cannot map");
  ::close(fd);
  if (addr == MAP_FAILED) throw map_error;
  f.map_addr = addr;
  f.base = static_cast<const uint8_t*>(addr);
  parse(f);
  return file;
}

File File::from_memory(std::span<const uint8_t> bytes, std::string name) {
  File file;
  FileImpl& f = *file.impl_;
  f.name = std::move(name);
  f.base = bytes.data();
  f.size = bytes.size();
  parse(f);
  return file;
}

const std::string& File::name() const noexcept {
  return impl_->name;
}
uint32_t File::version() const noexcept {
  return impl_->version;
}
uint64_t File::file_size_bytes() const noexcept {
  return impl_->size;
}
uint64_t File::alignment() const noexcept {
  return impl_->alignment;
}
uint64_t File::data_offset() const noexcept {
  return impl_->data_offset;
}
std::span<const uint8_t> File::header_bytes() const noexcept {
  return {impl_->base, static_cast<size_t>(std::min(impl_->data_offset, impl_->size))};
}
std::span<const KeyValue> File::metadata() const noexcept {
  return impl_->kvs;
}
std::span<const TensorInfo> File::tensors() const noexcept {
  return impl_->tensors;
}

const KeyValue* File::find(std::string_view key) const noexcept {
  for (const auto& kv : impl_->kvs) {
    if (kv.key == key) return &kv;
  }
  return nullptr;
}

const TensorInfo* File::find_tensor(std::string_view name) const noexcept {
  const auto it = impl_->tensor_index.find(name);
  return it == impl_->tensor_index.end() ? nullptr : &impl_->tensors[it->second];
}

std::span<const uint8_t> File::tensor_data(const TensorInfo& tensor) const noexcept {
  return {impl_->base + impl_->data_offset + tensor.offset, static_cast<size_t>(tensor.n_bytes)};
}

namespace {

/// Looks `key` up and converts its value with `as` (one of ValueRef's as_* members):
/// nothing when absent, an es::Error naming the file and key when the type cannot hold
/// the `wanted` kind of value.
template <typename T>
std::optional<T> get_typed(const File& file, const FileImpl& impl, std::string_view key,
                           std::optional<T> (ValueRef::*as)() const noexcept,
                           std::string_view wanted) {
  const KeyValue* kv = file.find(key);
  if (kv == nullptr) return std::nullopt;
  const std::optional<T> v = (kv->value.*as)();
  if (!v) throw Error(ErrorKind::bad_input, type_mismatch(impl, key, kv->value.type(), wanted));
  return v;
}

}  // namespace

std::optional<uint64_t> File::get_uint(std::string_view key) const {
  return get_typed(*this, *impl_, key, &ValueRef::as_uint, "a non-negative integer");
}

std::optional<int64_t> File::get_int(std::string_view key) const {
  return get_typed(*this, *impl_, key, &ValueRef::as_int, "an integer");
}

std::optional<double> File::get_float(std::string_view key) const {
  return get_typed(*this, *impl_, key, &ValueRef::as_float, "a number");
}

std::optional<bool> File::get_bool(std::string_view key) const {
  return get_typed(*this, *impl_, key, &ValueRef::as_bool, "a bool");
}

std::optional<std::string_view> File::get_string(std::string_view key) const {
  return get_typed(*this, *impl_, key, &ValueRef::as_string, "a string");
}

std::optional<ArrayRef> File::get_array(std::string_view key) const {
  return get_typed(*this, *impl_, key, &ValueRef::as_array, "an array");
}

}  // namespace es::gguf
