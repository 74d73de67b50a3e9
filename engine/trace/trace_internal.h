// Pieces the trace's source files share: IEEE half conversion, bit-packed expert ids,
// and unchecked access to a trace's arrays for the statistics loops.
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "expertscope/error.h"
#include "expertscope/trace.h"

namespace es::trace_detail {

/// Rounds a float to the nearest IEEE binary16 (ties to even); overflow gives infinity,
/// NaN a quiet NaN. Integer arithmetic only, so floating-point modes cannot change it.
[[nodiscard]] inline uint16_t float_to_half(float value) noexcept {
  const uint32_t x = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (a >= 0x47800000u) return sign | 0x7c00u;  // >= 65536 or infinity
  if (a >= 0x38800000u) {                       // a normal half: >= 2^-14
    uint32_t h = (a - 0x38000000u) >> 13;       // rebias the exponent by 127 - 15
    const uint32_t rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0)) ++h;  // may carry to infinity
    return sign | static_cast<uint16_t>(h);
  }
  if (a < 0x33000000u) return sign;  // below half the smallest subnormal: zero
  // A subnormal half: the value in units of 2^-24, rounded to nearest even.
  const uint32_t exponent = a >> 23;  // 102 .. 112
  const uint32_t significand = (a & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126 - exponent;  // 14 .. 24
  uint32_t h = significand >> shift;
  const uint32_t rest = significand & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (h & 1u) != 0)) ++h;
  return sign | static_cast<uint16_t>(h);
}

/// The float a binary16 stands for (exact).
[[nodiscard]] inline float half_to_float(uint16_t h) noexcept {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;  // exact
    return std::bit_cast<float>(std::bit_cast<uint32_t>(magnitude) | sign);
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/// Bits an expert id needs: max(1, ceil(log2 n_expert)).
[[nodiscard]] inline uint32_t bits_for_experts(uint32_t n_expert) noexcept {
  return n_expert <= 2 ? 1u : static_cast<uint32_t>(std::bit_width(n_expert - 1));
}

/// Bytes that `n_values` ids of `bits` bits take, bit-packed.
[[nodiscard]] inline size_t packed_bytes(size_t n_values, uint32_t bits) noexcept {
  return (n_values * bits + 7) / 8;
}

/// Reads id number `index` (bits <= 16) from LSB-first packed bytes.
[[nodiscard]] inline uint32_t get_packed(std::span<const uint8_t> data, size_t index,
                                         uint32_t bits) noexcept {
  const size_t bit = index * bits;
  const size_t byte = bit / 8;
  uint32_t window = data[byte];
  if (byte + 1 < data.size()) window |= static_cast<uint32_t>(data[byte + 1]) << 8;
  if (byte + 2 < data.size()) window |= static_cast<uint32_t>(data[byte + 2]) << 16;
  return (window >> (bit % 8)) & ((1u << bits) - 1);
}

/// Writes id number `index` into packed bytes that are already large enough and whose
/// bits at that place are zero.
inline void put_packed(std::span<uint8_t> data, size_t index, uint32_t bits,
                       uint32_t value) noexcept {
  const size_t bit = index * bits;
  const size_t byte = bit / 8;
  const uint32_t shifted = value << (bit % 8);
  data[byte] |= static_cast<uint8_t>(shifted);
  if (byte + 1 < data.size()) data[byte + 1] |= static_cast<uint8_t>(shifted >> 8);
  if (byte + 2 < data.size()) data[byte + 2] |= static_cast<uint8_t>(shifted >> 16);
}

/// A usage error about the trace.
[[noreturn]] inline void fail_usage(const std::string& what) {
  throw Error(ErrorKind::usage, "routing trace: " + what);
}

/// Why `shape` cannot be a trace's shape, or "" if it can.
[[nodiscard]] std::string shape_problem(const TraceShape& shape);

/// The tokens [begin, end) a selection covers, checked against the trace.
struct Span {
  uint32_t begin = 0;
  uint32_t end = 0;
};
[[nodiscard]] Span resolve(const RoutingTrace& trace, const TokenRange& range);

}  // namespace es::trace_detail

namespace es {

/// Unchecked views of a trace's arrays, for the loops of the statistics and the writers.
struct TraceAccess {
  const RoutingTrace& t;

  [[nodiscard]] uint32_t expert(uint32_t token, uint32_t m, uint32_t rank) const noexcept {
    return trace_detail::get_packed(t.expert_bits_data_, t.slot(token, m, rank), t.expert_bits_);
  }
  [[nodiscard]] uint16_t weight_bits(uint32_t token, uint32_t m, uint32_t rank) const noexcept {
    return t.weights_[t.slot(token, m, rank)];
  }
  [[nodiscard]] float weight(uint32_t token, uint32_t m, uint32_t rank) const noexcept {
    return trace_detail::half_to_float(weight_bits(token, m, rank));
  }
  [[nodiscard]] uint16_t entropy_bits(uint32_t token, uint32_t m) const noexcept {
    return t.entropy_[static_cast<size_t>(token) * t.shape_.moe_layers.size() + m];
  }
  [[nodiscard]] bool selected(uint32_t token, Modality filter) const noexcept {
    return filter == Modality::unset || t.modalities_[token] == filter;
  }
  // Raw arrays, for serialisation.
  [[nodiscard]] const std::vector<uint8_t>& packed_experts() const noexcept {
    return t.expert_bits_data_;
  }
  [[nodiscard]] const std::vector<uint16_t>& weights() const noexcept { return t.weights_; }
  [[nodiscard]] const std::vector<uint16_t>& entropies() const noexcept { return t.entropy_; }
  [[nodiscard]] const std::vector<uint16_t>& full_probs() const noexcept { return t.full_probs_; }
};

/// Mutable access for deserialisation, which fills the arrays directly.
struct TraceBuilder {
  RoutingTrace& t;
  void set_shape(TraceShape shape) { t.set_shape(std::move(shape)); }
  std::vector<int32_t>& token_ids() { return t.token_ids_; }
  std::vector<int32_t>& positions() { return t.positions_; }
  std::vector<Modality>& modalities() { return t.modalities_; }
  std::vector<uint8_t>& packed_experts() { return t.expert_bits_data_; }
  std::vector<uint16_t>& weights() { return t.weights_; }
  std::vector<uint16_t>& entropies() { return t.entropy_; }
  std::vector<uint16_t>& full_probs() { return t.full_probs_; }
};

}  // namespace es
