// GGUF v2/v3: a memory-mapped reader and a writer.
//
// The reader maps the file read-only and validates all of it at open: every count,
// string length, offset and tensor extent is checked against the bytes that are really
// there before it is used, so a truncated or hostile file is refused with an es::Error
// naming the file and the problem, and nothing is ever allocated for a count the file
// cannot hold. After a successful open every accessor is bounds-safe and zero-copy
// (string_views and spans point into the mapping, which lives as long as the File).
//
// The writer builds a file from owned values (tests make fixtures with it, the demo
// model recipe and `convert` write models with it) and writes it atomically.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "expertscope/ggml_types.h"

namespace es::gguf {

/// Metadata value types by their on-disk id (gguf_type).
enum class ValueType : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

/// "u8", "string", "array", ...
[[nodiscard]] std::string_view value_type_name(ValueType type) noexcept;

/// The most dimensions a tensor may have (ggml's GGML_MAX_DIMS).
inline constexpr uint32_t max_dims = 4;
/// Alignment of tensor data when `general.alignment` is absent.
inline constexpr uint64_t default_alignment = 32;

// ---------------------------------------------------------------------------------------
// Owned values: what the writer takes and what ValueRef::to_value() gives back.

struct Value;

/// An owned array: its element type and its items (all of that type).
struct Array {
  ValueType elem_type = ValueType::u8;
  std::vector<Value> items;
  bool operator==(const Array&) const;
};

/// An owned metadata value of any GGUF type. The variant's alternatives follow the
/// ValueType numbering (index = id + 1), so type() is derived, never stored twice.
struct Value {
  using Storage = std::variant<std::monostate, uint8_t, int8_t, uint16_t, int16_t, uint32_t,
                               int32_t, float, bool, std::string, Array, uint64_t, int64_t, double>;
  Storage data;

  Value() = default;
  Value(uint8_t v) : data(v) {}
  Value(int8_t v) : data(v) {}
  Value(uint16_t v) : data(v) {}
  Value(int16_t v) : data(v) {}
  Value(uint32_t v) : data(v) {}
  Value(int32_t v) : data(v) {}
  Value(float v) : data(v) {}
  Value(bool v) : data(v) {}
  Value(std::string v) : data(std::move(v)) {}
  Value(const char* v) : data(std::string(v)) {}
  Value(Array v) : data(std::move(v)) {}
  Value(uint64_t v) : data(v) {}
  Value(int64_t v) : data(v) {}
  Value(double v) : data(v) {}

  /// The GGUF type; the value must not be empty (default-constructed).
  [[nodiscard]] ValueType type() const;
  bool operator==(const Value&) const = default;
};

/// Convenience: an array of strings.
[[nodiscard]] Value string_array(const std::vector<std::string>& items);
/// Convenience: an array of numbers of one type (T picks the GGUF element type).
template <typename T>
[[nodiscard]] Value number_array(const std::vector<T>& items) {
  Array a;
  a.elem_type = Value(T{}).type();
  a.items.reserve(items.size());
  for (const T& v : items) a.items.emplace_back(v);
  return Value(std::move(a));
}

// ---------------------------------------------------------------------------------------
// Reader.

namespace detail {
struct FileImpl;
}

class ArrayRef;

/// A view of one metadata value inside a mapped file. Cheap to copy; valid while the
/// File that produced it lives.
class ValueRef {
 public:
  [[nodiscard]] ValueType type() const noexcept { return type_; }
  /// Any integer type whose value fits (signed values must be >= 0), or nothing.
  [[nodiscard]] std::optional<uint64_t> as_uint() const noexcept;
  /// Any integer type whose value fits in int64, or nothing.
  [[nodiscard]] std::optional<int64_t> as_int() const noexcept;
  /// f32, f64 or any integer type, or nothing.
  [[nodiscard]] std::optional<double> as_float() const noexcept;
  /// A boolean, or nothing.
  [[nodiscard]] std::optional<bool> as_bool() const noexcept;
  /// A string, or nothing. The bytes are as stored (GGUF does not promise UTF-8).
  [[nodiscard]] std::optional<std::string_view> as_string() const noexcept;
  /// An array, or nothing.
  [[nodiscard]] std::optional<ArrayRef> as_array() const noexcept;
  /// A deep, owned copy.
  [[nodiscard]] Value to_value() const;

 private:
  friend struct detail::FileImpl;
  friend class ArrayRef;
  const detail::FileImpl* file_ = nullptr;
  ValueType type_ = ValueType::u8;
  uint64_t offset_ = 0;       ///< Of the payload (after the type tag), in the file.
  uint32_t array_index_ = 0;  ///< For arrays: index into the file's array table.
};

/// A view of an array inside a mapped file, with random access to its items.
class ArrayRef {
 public:
  [[nodiscard]] ValueType elem_type() const noexcept;
  [[nodiscard]] uint64_t size() const noexcept;
  /// Item i (i < size()).
  [[nodiscard]] ValueRef at(uint64_t i) const;
  /// Item i as a string; nothing if the items are not strings.
  [[nodiscard]] std::optional<std::string_view> string_at(uint64_t i) const;
  /// The raw little-endian bytes of a numeric or boolean array (empty otherwise).
  [[nodiscard]] std::span<const uint8_t> raw() const noexcept;

 private:
  friend struct detail::FileImpl;
  friend class ValueRef;
  const detail::FileImpl* file_ = nullptr;
  uint32_t index_ = 0;
};

/// One metadata entry.
struct KeyValue {
  std::string_view key;
  ValueRef value;
};

/// One tensor's description; data lives at File::data_offset() + offset.
struct TensorInfo {
  std::string_view name;
  TensorType type = TensorType::F32;
  uint32_t n_dims = 0;
  std::array<int64_t, max_dims> ne{1, 1, 1, 1};  ///< ggml order: ne[0] is innermost.
  uint64_t offset = 0;                           ///< Relative to the data section.
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
};

/// A validated, memory-mapped GGUF file.
class File {
 public:
  /// Maps and validates `path`. Throws es::Error naming the path and the problem.
  static File open(const std::filesystem::path& path);
  /// Validates a buffer the caller keeps alive for the File's lifetime (fuzzing, tests).
  /// `name` stands in for the path in error messages.
  static File from_memory(std::span<const uint8_t> bytes, std::string name);

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  /// The path (or name) given at open.
  [[nodiscard]] const std::string& name() const noexcept;
  [[nodiscard]] uint32_t version() const noexcept;
  [[nodiscard]] uint64_t file_size_bytes() const noexcept;
  [[nodiscard]] uint64_t alignment() const noexcept;
  /// Offset of the tensor data section from the start of the file.
  [[nodiscard]] uint64_t data_offset() const noexcept;
  /// The bytes before the tensor data: the header, every metadata entry and the tensor
  /// table (what identifies a model's content, see identify_model in session.h).
  [[nodiscard]] std::span<const uint8_t> header_bytes() const noexcept;

  [[nodiscard]] std::span<const KeyValue> metadata() const noexcept;
  /// The entry for `key`, or nullptr.
  [[nodiscard]] const KeyValue* find(std::string_view key) const noexcept;

  // Typed look-ups: nothing when the key is absent; es::Error naming the file and the
  // key when it is present with a type that cannot hold the requested kind of value.
  [[nodiscard]] std::optional<uint64_t> get_uint(std::string_view key) const;
  [[nodiscard]] std::optional<int64_t> get_int(std::string_view key) const;
  [[nodiscard]] std::optional<double> get_float(std::string_view key) const;
  [[nodiscard]] std::optional<bool> get_bool(std::string_view key) const;
  [[nodiscard]] std::optional<std::string_view> get_string(std::string_view key) const;
  [[nodiscard]] std::optional<ArrayRef> get_array(std::string_view key) const;

  [[nodiscard]] std::span<const TensorInfo> tensors() const noexcept;
  /// The tensor called `name`, or nullptr.
  [[nodiscard]] const TensorInfo* find_tensor(std::string_view name) const noexcept;
  /// The bytes of a tensor of this file (bounds were checked at open).
  [[nodiscard]] std::span<const uint8_t> tensor_data(const TensorInfo& tensor) const noexcept;

 private:
  File();
  std::unique_ptr<detail::FileImpl> impl_;
};

// ---------------------------------------------------------------------------------------
// Writer.

/// Builds a GGUF file in memory order and writes it. Keys and tensor names must be
/// unique; tensor data must match the type and shape given.
class Writer {
 public:
  /// `version` 2 or 3.
  explicit Writer(uint32_t version = 3);

  /// Sets (or replaces) a metadata entry. `general.alignment` is honoured when writing.
  void set(std::string key, Value value);
  /// Adds a tensor; `shape` in ggml order (innermost first), 1 to 4 dimensions.
  /// Throws es::Error if the shape and type do not match data.size().
  void add_tensor(std::string name, TensorType type, std::vector<int64_t> shape,
                  std::vector<uint8_t> data);
  /// Convenience for F32 tensors.
  void add_tensor_f32(std::string name, std::vector<int64_t> shape, std::span<const float> data);
  /// Fills a tensor's bytes when the file is written: `fill(dst)` must write exactly
  /// dst.size() bytes (the size the type and shape give). Lets multi-gigabyte files be
  /// written without holding their data in memory.
  using FillFn = std::function<void(std::span<uint8_t> dst)>;
  void add_tensor_streamed(std::string name, TensorType type, std::vector<int64_t> shape,
                           FillFn fill);

  /// The whole file as bytes.
  [[nodiscard]] std::vector<uint8_t> to_bytes() const;
  /// Writes to `path` through a temporary file and a rename: never half-written.
  void write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    std::string name;
    TensorType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;
    uint64_t n_bytes = 0;
    FillFn fill;  ///< Set for streamed tensors (data is then empty).
  };
  /// Checks name, shape and type; returns the tensor's byte size.
  uint64_t check_tensor(const std::string& name, TensorType type,
                        const std::vector<int64_t>& shape) const;
  /// Everything before the data section, padded to the alignment.
  [[nodiscard]] std::vector<uint8_t> header_bytes(uint64_t& alignment) const;
  uint32_t version_;
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace es::gguf
