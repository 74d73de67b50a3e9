// Hugging Face safetensors files: a validated header and memory-mapped tensor data.
//
// The format: an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"k": "v"}}), then the data section, to which the offsets are relative.
// Everything is checked before anything is used: the length against the file, the JSON,
// every dtype, shape and offset pair (the bytes a shape needs must equal end - begin, the
// range must lie inside the data section, and no two tensors may overlap), so a truncated
// or hostile file gets an es::Error (bad_input) naming the file and the problem, and an
// accessor never reads outside the mapping.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace es::safetensors {

/// Element types of the format. Zero means "unset".
enum class DType : int {
  unset = 0,
  BOOL,
  U8,
  I8,
  U16,
  I16,
  F16,
  BF16,
  U32,
  I32,
  F32,
  U64,
  I64,
  F64,
  F8_E4M3,
  F8_E5M2,
};

/// The format's name of a dtype ("BF16", ...); "unset" for unset.
[[nodiscard]] std::string_view dtype_name(DType dtype) noexcept;
/// Bytes per element (0 for unset).
[[nodiscard]] size_t dtype_bytes(DType dtype) noexcept;

/// The most dimensions a tensor may have here (real checkpoints use at most 5).
inline constexpr size_t max_dims = 8;
/// The largest header accepted (the reference implementation's limit, 100 MB).
inline constexpr uint64_t max_header_bytes = 100'000'000;

/// One tensor of a file's header.
struct TensorEntry {
  std::string name;
  DType dtype = DType::unset;
  std::vector<int64_t> shape;  ///< Outermost first, as torch gives it.
  uint64_t begin = 0;          ///< Offset of the first byte, relative to the data section.
  uint64_t end = 0;            ///< One past the last byte.
  /// The product of the shape (1 for a scalar).
  [[nodiscard]] uint64_t n_elements() const noexcept;
};

/// A parsed, validated header.
struct Header {
  std::vector<TensorEntry> tensors;             ///< In the order of their offsets.
  std::map<std::string, std::string> metadata;  ///< "__metadata__", if present.
  uint64_t data_offset = 0;                     ///< 8 + N: where the data section starts.
};

/// Parses and validates the header of the file whose whole contents are `bytes` (only
/// the first 8 + N bytes are read; the rest bounds the offsets). `name` stands for the
/// file in error messages.
[[nodiscard]] Header parse_header(std::span<const uint8_t> bytes, std::string_view name);

namespace detail {
struct FileImpl;
}

/// A memory-mapped, validated safetensors file.
class File {
 public:
  /// Maps and validates `path`. Throws es::Error naming the path (io: cannot open or map;
  /// bad_input: anything wrong with the contents).
  static File open(const std::filesystem::path& path);

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  /// The path given at open.
  [[nodiscard]] const std::string& name() const noexcept;
  [[nodiscard]] const Header& header() const noexcept;
  /// The tensor called `name`, or nullptr.
  [[nodiscard]] const TensorEntry* find(std::string_view name) const noexcept;
  /// The bytes of one of this file's tensors (bounds were checked at open).
  [[nodiscard]] std::span<const uint8_t> data(const TensorEntry& tensor) const noexcept;

 private:
  File();
  std::unique_ptr<detail::FileImpl> impl_;
};

}  // namespace es::safetensors
