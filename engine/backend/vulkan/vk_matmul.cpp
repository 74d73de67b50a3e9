// The Vulkan backend's matrix products and embedding gather, per weight type
// (shaders/ops/matmul.comp, get_rows.comp): one dispatch per product, split by output rows
// where a weight matrix exceeds the device's binding range.
#include <algorithm>
#include <string>
#include <vector>

#include "expertscope/error.h"
#include "vk_backend.h"

namespace es::backend::vulkan {

namespace {

constexpr uint32_t kLocal = 64;

/// The shader-name suffix of a weight type, or nullptr when there is no shader for it.
const char* type_suffix(TensorType t) noexcept {
  switch (t) {
    case TensorType::F32:
      return "f32";
    case TensorType::F16:
      return "f16";
    case TensorType::Q8_0:
      return "q8_0";
    case TensorType::Q4_0:
      return "q4_0";
    default:
      return nullptr;
  }
}

uint32_t u32(size_t v) {
  return static_cast<uint32_t>(v);
}

struct MatPush {
  uint32_t n_out, n_in, n_tokens, w_off, row_bytes, off_x, stride_x, off_y, stride_y;
  uint32_t matrix_bytes, top_k, broadcast, off_bias;
};

}  // namespace

bool VulkanBackend::has_matmul_shader(Op op, TensorType type) noexcept {
  (void)op;
  return type_suffix(type) != nullptr;
}

void VulkanBackend::get_rows(Mat out, const Weight& table, std::span<const int32_t> ids) {
  if (!has_matmul_shader(Op::get_rows, table.type) || table.device == nullptr) {
    fallback().get_rows(out, table, ids);
    return;
  }
  for (const int32_t id : ids) {
    if (id < 0 || id >= table.ne[1]) {
      throw Error(ErrorKind::bad_input, "vulkan: token id " + std::to_string(id) + " out of range");
    }
  }
  struct Push {
    uint32_t n_ids, n_cols, w_off, row_bytes, off_o, stride_o;
  };
  const Operand w = weight_operand(table, 0, table.matrix_bytes());
  const Operand o = operand(out);
  const Operand i = stage(ids.data(), ids.size_bytes());
  const Push push{u32(ids.size()),      out.cols, w.offset,
                  u32(table.row_bytes), o.offset, u32(out.stride)};
  dispatch(std::string("get_rows_") + type_suffix(table.type), {w, i, o}, push,
           Groups{(out.cols + kLocal - 1) / kLocal, u32(ids.size()), 1}, kLocal, Tag::get_rows);
}

void VulkanBackend::mul_mat(Mat out, const Weight& w, Mat in, uint32_t matrix) {
  if (!has_matmul_shader(Op::mul_mat, w.type) || w.device == nullptr) {
    fallback().mul_mat(out, w, in, matrix);
    return;
  }
  const std::string shader = std::string("mul_mat_") + type_suffix(w.type);
  const Operand x = operand(in);
  const size_t base = size_t{matrix} * w.matrix_bytes();
  // Output rows per dispatch: as many as one binding of weights allows.
  const uint64_t slack = std::max<uint64_t>(64, context().binding_alignment());
  const auto chunk = static_cast<uint32_t>(
      std::max<uint64_t>(1, (max_binding() - slack) / std::max<size_t>(w.row_bytes, 1)));
  for (uint32_t r0 = 0; r0 < out.cols; r0 += chunk) {
    const uint32_t n = std::min(chunk, out.cols - r0);
    const Operand wt = weight_operand(w, base + size_t{r0} * w.row_bytes, size_t{n} * w.row_bytes);
    const Operand y = operand(out.cols_view(r0, n));
    const MatPush push{n,
                       in.cols,
                       in.rows,
                       wt.offset,
                       u32(w.row_bytes),
                       x.offset,
                       u32(in.stride),
                       y.offset,
                       u32(out.stride),
                       0,
                       1,
                       0,
                       0xffffffffu};
    dispatch(shader, {wt, x, y}, push, Groups{(n + kLocal - 1) / kLocal, in.rows, 1}, kLocal,
             Tag::mul_mat);
  }
}

void VulkanBackend::mul_mat_id(Mat out, const Weight& w, Mat in, std::span<const uint16_t> ids,
                               uint32_t top_k, const Weight* bias) {
  const size_t all_bytes = w.matrix_bytes() * static_cast<size_t>(w.ne[2]);
  const bool bias_ok =
      bias == nullptr || (bias->type == TensorType::F32 && bias->device != nullptr);
  if (!has_matmul_shader(Op::mul_mat_id, w.type) || w.device == nullptr || !bias_ok ||
      all_bytes + 256 > max_binding()) {
    fallback().mul_mat_id(out, w, in, ids, top_k, bias);
    return;
  }
  const auto n_tokens = static_cast<uint32_t>(ids.size() / top_k);
  const bool broadcast = in.rows == n_tokens && top_k > 1;
  for (const uint16_t e : ids) {
    if (e >= w.ne[2]) {
      throw Error(ErrorKind::bad_input, "vulkan: expert id " + std::to_string(e) + " out of range");
    }
  }
  std::vector<uint32_t> ids32(ids.begin(), ids.end());
  const Operand wt = weight_operand(w, 0, all_bytes);
  const Operand x = operand(in);
  const Operand y = operand(out);
  const Operand i = stage(ids32.data(), ids32.size() * sizeof(uint32_t));
  Operand b = x;
  uint32_t off_bias = 0xffffffffu;
  if (bias != nullptr) {
    b = weight_operand(*bias, 0, size_t{out.cols} * static_cast<size_t>(w.ne[2]) * sizeof(float));
    off_bias = b.offset / sizeof(float);
  }
  const auto rows = u32(ids.size());
  const MatPush push{out.cols,
                     in.cols,
                     rows,
                     wt.offset,
                     u32(w.row_bytes),
                     x.offset,
                     u32(in.stride),
                     y.offset,
                     u32(out.stride),
                     u32(w.matrix_bytes()),
                     top_k,
                     broadcast ? 1u : 0u,
                     off_bias};
  dispatch(std::string("mul_mat_id_") + type_suffix(w.type), {wt, x, y, i, b}, push,
           Groups{(out.cols + kLocal - 1) / kLocal, rows, 1}, kLocal, Tag::mul_mat_id);
}

}  // namespace es::backend::vulkan
