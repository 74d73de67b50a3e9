// Private: typed look-ups of GGUF metadata with the engine's error messages.
//
// Every error names the file and the full key: "model.gguf: missing metadata key
// qwen3moe.expert_count", "model.gguf: metadata key qwen3moe.expert_count has type string,
// expected an unsigned integer". Keys under the architecture's prefix are given without
// it ("expert_count") and the reader adds "<arch>.".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "expertscope/error.h"
#include "expertscope/gguf.h"

namespace es::model {

/// Largest value accepted for a width, a count of heads or experts, and similar sizes:
/// products of two stay far below 2^63, and no real model comes near it.
inline constexpr uint32_t max_dim = 1u << 24;

/// Reads typed metadata from one file, for one architecture prefix.
class MetaReader {
 public:
  MetaReader(const gguf::File& file, std::string prefix)
      : file_(file), prefix_(std::move(prefix)) {}

  /// "<prefix>.<key>".
  [[nodiscard]] std::string arch_key(std::string_view key) const;
  [[nodiscard]] const gguf::File& file() const noexcept { return file_; }

  // Keys under the architecture prefix. opt_* return nothing when the key is absent;
  // req_* throw "missing metadata key". Both throw for a wrong type or range.
  [[nodiscard]] std::optional<uint32_t> opt_u32(std::string_view key) const;
  [[nodiscard]] uint32_t req_u32(std::string_view key) const;
  [[nodiscard]] std::optional<float> opt_f32(std::string_view key) const;
  [[nodiscard]] float req_f32(std::string_view key) const;
  [[nodiscard]] std::optional<bool> opt_bool(std::string_view key) const;
  [[nodiscard]] std::optional<std::string> opt_string(std::string_view key) const;
  /// A u32 or an array of one u32 per layer (llama.cpp's get_key_or_arr). An array must
  /// have n_layer items; items that differ are refused as unsupported.
  [[nodiscard]] std::optional<uint32_t> opt_u32_or_layers(std::string_view key,
                                                          uint32_t n_layer) const;

  // The same for full key names (no prefix added): general.*, tokenizer.*.
  [[nodiscard]] std::optional<uint32_t> opt_u32_full(const std::string& full_key) const;
  [[nodiscard]] std::optional<int64_t> opt_i64_full(const std::string& full_key) const;
  [[nodiscard]] std::optional<bool> opt_bool_full(const std::string& full_key) const;
  [[nodiscard]] std::optional<std::string> opt_string_full(const std::string& full_key) const;
  /// The number of items of an array key, or nothing when absent; throws if not an array.
  [[nodiscard]] std::optional<uint64_t> opt_array_size_full(const std::string& full_key) const;

  /// An es::Error of `kind` whose message is "<file>: <what>".
  [[nodiscard]] Error error(ErrorKind kind, const std::string& what) const;

 private:
  [[nodiscard]] uint32_t to_u32(const std::string& full_key, const gguf::ValueRef& v) const;
  [[nodiscard]] Error wrong_type(const std::string& full_key, gguf::ValueType found,
                                 std::string_view expected) const;

  const gguf::File& file_;
  std::string prefix_;
};

}  // namespace es::model
