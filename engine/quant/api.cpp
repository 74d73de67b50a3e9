// The public face of engine/quant (expertscope/quant.h): type validation, routing of each
// call to its format's reference or SIMD implementation, and the SIMD target controls.
// clang-format off
#include "quant/hwy_config.h"  // Before any Highway header.
#include <hwy/targets.h>
// clang-format on

#include <string>
#include <vector>

#include "expertscope/error.h"
#include "expertscope/quant.h"
#include "quant/ref.h"
#include "quant/simd.h"

namespace es::quant {
namespace {

enum class Family { float_types, legacy, kquant, activation_only };

struct TypeInfo {
  TensorType type;
  Family family;
  ref::DequantFn dequant;
  ref::QuantFn quant;
};

constexpr TypeInfo kTypes[] = {
    {TensorType::F32, Family::float_types, ref::dequant_f32, ref::quant_f32},
    {TensorType::F16, Family::float_types, ref::dequant_f16, ref::quant_f16},
    {TensorType::BF16, Family::float_types, ref::dequant_bf16, ref::quant_bf16},
    {TensorType::Q4_0, Family::legacy, ref::dequant_q4_0, ref::quant_q4_0},
    {TensorType::Q4_1, Family::legacy, ref::dequant_q4_1, ref::quant_q4_1},
    {TensorType::Q5_0, Family::legacy, ref::dequant_q5_0, ref::quant_q5_0},
    {TensorType::Q5_1, Family::legacy, ref::dequant_q5_1, ref::quant_q5_1},
    {TensorType::Q8_0, Family::legacy, ref::dequant_q8_0, ref::quant_q8_0},
    {TensorType::Q2_K, Family::kquant, ref::dequant_q2_k, ref::quant_q2_k},
    {TensorType::Q3_K, Family::kquant, ref::dequant_q3_k, ref::quant_q3_k},
    {TensorType::Q4_K, Family::kquant, ref::dequant_q4_k, ref::quant_q4_k},
    {TensorType::Q5_K, Family::kquant, ref::dequant_q5_k, ref::quant_q5_k},
    {TensorType::Q6_K, Family::kquant, ref::dequant_q6_k, ref::quant_q6_k},
    {TensorType::Q8_K, Family::activation_only, ref::dequant_q8_k, ref::quant_q8_k},
};

const TypeInfo* find_type(TensorType type) noexcept {
  for (const auto& t : kTypes) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

std::string type_label(TensorType type) {
  const auto traits = tensor_type_traits(static_cast<uint32_t>(type));
  if (traits) return std::string(traits->name);
  return "type " + std::to_string(static_cast<uint32_t>(type));
}

/// The type's entry, or es::Error(unsupported) naming it.
const TypeInfo& require_type(TensorType type) {
  if (const TypeInfo* t = find_type(type)) return *t;
  throw Error(ErrorKind::unsupported,
              type_label(type) + ": tensor type not supported by the quantized kernels yet");
}

/// The type's entry after checking that `n` is a whole number of its blocks.
const TypeInfo& require_row(TensorType type, int64_t n) {
  const TypeInfo& info = require_type(type);
  const uint32_t block = tensor_type_traits(type).block_elems;
  if (n < 0 || n % block != 0) {
    throw Error(ErrorKind::usage, type_label(type) + ": a row of " + std::to_string(n) +
                                      " values is not a whole number of " + std::to_string(block) +
                                      "-value blocks");
  }
  return info;
}

const TypeInfo& require_weight_row(TensorType type, int64_t n) {
  const TypeInfo& info = require_row(type, n);
  if (info.family == Family::activation_only) {
    throw Error(ErrorKind::unsupported,
                type_label(type) + ": an activation format, not a weight type");
  }
  return info;
}

}  // namespace

bool is_supported(TensorType type) noexcept {
  return find_type(type) != nullptr;
}

bool is_weight_type(TensorType type) noexcept {
  const TypeInfo* t = find_type(type);
  return t != nullptr && t->family != Family::activation_only;
}

size_t row_bytes(TensorType type, int64_t n) {
  require_row(type, n);
  const auto& traits = tensor_type_traits(type);
  return static_cast<size_t>(n / traits.block_elems) * traits.block_bytes;
}

TensorType activation_type(TensorType weight_type) {
  switch (require_weight_row(weight_type, 0).family) {
    case Family::float_types:
      return TensorType::F32;
    case Family::legacy:
      return TensorType::Q8_0;
    default:
      return TensorType::Q8_K;
  }
}

void dequantize_row_ref(TensorType type, const void* src, float* dst, int64_t n) {
  require_row(type, n).dequant(src, dst, n);
}

void quantize_row_ref(TensorType type, const float* src, void* dst, int64_t n) {
  require_row(type, n).quant(src, dst, n);
}

double dot_ref(TensorType weight_type, const void* w_row, const void* x_act, int64_t n) {
  const TensorType act = activation_type(weight_type);
  require_weight_row(weight_type, n);
  std::vector<float> w(static_cast<size_t>(n)), x(static_cast<size_t>(n));
  dequantize_row_ref(weight_type, w_row, w.data(), n);
  dequantize_row_ref(act, x_act, x.data(), n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(w[i]) * static_cast<double>(x[i]);
  return sum;
}

void dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
  switch (require_row(type, n).family) {
    case Family::float_types:
      return simd::dequant_float(type, src, dst, n);
    case Family::legacy:
      return simd::dequant_legacy(type, src, dst, n);
    case Family::kquant:
      return simd::dequant_kquant(type, src, dst, n);
    case Family::activation_only:
      return ref::dequant_q8_k(src, dst, n);
  }
}

void quantize_activation(TensorType act_type, const float* src, void* dst, int64_t n) {
  if (act_type != TensorType::F32 && act_type != TensorType::Q8_0 && act_type != TensorType::Q8_K) {
    throw Error(ErrorKind::usage, type_label(act_type) + ": not an activation format");
  }
  require_row(act_type, n).quant(src, dst, n);
}

float dot(TensorType weight_type, const void* w_row, const void* x_act, int64_t n) {
  switch (require_weight_row(weight_type, n).family) {
    case Family::float_types:
      return simd::dot_float(weight_type, w_row, x_act, n);
    case Family::legacy:
      return simd::dot_legacy(weight_type, w_row, x_act, n);
    default:
      return simd::dot_kquant(weight_type, w_row, x_act, n);
  }
}

void matvec(TensorType weight_type, const void* w, size_t w_row_stride_bytes, const void* x_act,
            int64_t n, float* y, int64_t r0, int64_t r1) {
  const Family family = require_weight_row(weight_type, n).family;
  if (r1 <= r0) return;
  const auto* rows = static_cast<const uint8_t*>(w);
  switch (family) {
    case Family::float_types:
      return simd::matvec_float(weight_type, rows, w_row_stride_bytes, x_act, n, y, r0, r1);
    case Family::legacy:
      return simd::matvec_legacy(weight_type, rows, w_row_stride_bytes, x_act, n, y, r0, r1);
    default:
      return simd::matvec_kquant(weight_type, rows, w_row_stride_bytes, x_act, n, y, r0, r1);
  }
}

void matmul(TensorType weight_type, const void* w, size_t w_row_stride_bytes, const void* x_acts,
            size_t x_row_stride_bytes, int64_t n, int64_t n_tokens, float* y, size_t y_row_stride,
            int64_t r0, int64_t r1) {
  const Family family = require_weight_row(weight_type, n).family;
  if (n_tokens < 0 || r0 < 0 || r1 < r0) {
    throw Error(ErrorKind::usage, type_label(weight_type) + ": matmul over " +
                                      std::to_string(n_tokens) + " tokens and rows [" +
                                      std::to_string(r0) + ", " + std::to_string(r1) + ")");
  }
  if (r1 == r0 || n_tokens == 0) return;
  const auto* rows = static_cast<const uint8_t*>(w);
  const auto* x = static_cast<const uint8_t*>(x_acts);
  switch (family) {
    case Family::float_types:
      return simd::gemm_float(weight_type, rows, w_row_stride_bytes, x, x_row_stride_bytes, n,
                              n_tokens, y, y_row_stride, r0, r1);
    case Family::legacy:
      return simd::gemm_legacy(weight_type, rows, w_row_stride_bytes, x, x_row_stride_bytes, n,
                               n_tokens, y, y_row_stride, r0, r1);
    default:
      return simd::gemm_kquant(weight_type, rows, w_row_stride_bytes, x, x_row_stride_bytes, n,
                               n_tokens, y, y_row_stride, r0, r1);
  }
}

std::vector<SimdTarget> simd_targets() {
  std::vector<SimdTarget> out;
  for (const int64_t t : hwy::SupportedAndGeneratedTargets()) {
    out.push_back(SimdTarget{t, hwy::TargetName(t)});
  }
  return out;  // Highway lists the lowest bit (the best target) first.
}

SimdTarget current_simd_target() {
  const int64_t t = simd::dispatched_target();
  return SimdTarget{t, hwy::TargetName(t)};
}

void force_simd_target(int64_t target_id) {
  hwy::SetSupportedTargetsForTest(0);  // List every target, not just a forced one.
  if (target_id == 0) return;
  for (const SimdTarget& t : simd_targets()) {
    if (t.id == target_id) {
      hwy::SetSupportedTargetsForTest(target_id);
      return;
    }
  }
  throw Error(ErrorKind::usage,
              "SIMD target " + std::to_string(target_id) + " is not compiled in or not supported");
}

}  // namespace es::quant
