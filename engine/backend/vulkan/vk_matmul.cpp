// The Vulkan backend's matrix products and embedding gather, per weight type
// (shaders/ops/matmul.comp, get_rows.comp, mm_decode.glsl; variants in shaders/matmul.cmake).
//
// Variants: one invocation per output row (matmul.comp), or on a CPU-backed device whose
// subgroups are 8 wide (lavapipe: the subgroup is the driver's SIMD vector) the _lanes
// variants (mm_lanes.comp: the lanes of a subgroup split the columns, each unit of
// activations serves kLaneRows rows); each with a tile of 4 token rows where there are
// several tokens per weight matrix (prefill), else one (decode).
// EXPERTSCOPE_VULKAN_MATMUL=plain|lanes overrides the choice (the parity suite checks
// both).
//
// mul_mat is split by output rows where a weight matrix exceeds the device's binding range.
// mul_mat_id gathers the token rows per expert on the host (the ids are host memory): work
// items {expert, first, count} over the slot list sorted by expert are staged, and one
// dispatch per group of experts runs them (experts without tokens cost nothing); the groups
// keep each dispatch's weights within one binding.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "expertscope/error.h"
#include "vk_backend.h"

namespace es::backend::vulkan {

namespace {

constexpr uint32_t kLocal = 64;
constexpr uint32_t kTile = 4;           ///< Token rows per invocation of the _t4 variants.
constexpr uint32_t kLaneRows = 16;      ///< Rows per subgroup of the _lanes variants (ROWS).
constexpr uint32_t kMaxGroups = 65535;  ///< Workgroups per dimension every device allows.

/// The shader-name suffix of a weight type, or nullptr when there is no shader for it.
const char* type_suffix(TensorType t) noexcept {
  switch (t) {
    case TensorType::F32:
      return "f32";
    case TensorType::F16:
      return "f16";
    case TensorType::BF16:
      return "bf16";
    case TensorType::Q4_0:
      return "q4_0";
    case TensorType::Q4_1:
      return "q4_1";
    case TensorType::Q5_0:
      return "q5_0";
    case TensorType::Q5_1:
      return "q5_1";
    case TensorType::Q8_0:
      return "q8_0";
    case TensorType::Q2_K:
      return "q2_k";
    case TensorType::Q3_K:
      return "q3_k";
    case TensorType::Q4_K:
      return "q4_k";
    case TensorType::Q5_K:
      return "q5_k";
    case TensorType::Q6_K:
      return "q6_k";
    default:
      return nullptr;
  }
}

uint32_t u32(size_t v) {
  return static_cast<uint32_t>(v);
}

struct MatPush {
  uint32_t n_out, n_in, n_tokens, w_off, row_bytes, off_x, stride_x, off_y, stride_y;
  uint32_t matrix_bytes, top_k, broadcast, off_bias, item0, e0;
};

/// Whether to use the mm_lanes.comp variants on this device: a CPU-backed device whose
/// subgroups are exactly 8 wide (EXPERTSCOPE_VULKAN_MATMUL=plain|lanes overrides the type).
bool use_lanes(const ComputeDevice& dev) {
  if (dev.subgroup_size != 8) return false;
  if (const char* env = std::getenv("EXPERTSCOPE_VULKAN_MATMUL")) {
    if (std::strcmp(env, "plain") == 0) return false;
    if (std::strcmp(env, "lanes") == 0) return true;
  }
  return dev.type == "cpu";
}

std::string shader_name(const char* op, TensorType type, bool lanes, bool tile) {
  std::string s = std::string(op) + "_" + type_suffix(type);
  if (lanes) s += "_lanes";
  if (tile) s += "_t4";
  return s;
}

/// Output rows per workgroup of kLocal invocations.
uint32_t rows_per_group(bool lanes) {
  return lanes ? kLocal / 8 * kLaneRows : kLocal;
}

}  // namespace

bool VulkanBackend::has_matmul_shader(Op op, TensorType type) noexcept {
  switch (op) {
    case Op::get_rows:
    case Op::mul_mat:
    case Op::mul_mat_id:
      return type_suffix(type) != nullptr;
    default:
      return false;
  }
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
  const uint32_t units = (out.cols + 31) / 32;
  const uint64_t slack = std::max<uint64_t>(64, context().binding_alignment());
  const std::string shader = std::string("get_rows_") + type_suffix(table.type);
  if (table.matrix_bytes() + slack <= max_binding()) {
    const Operand w = weight_operand(table, 0, table.matrix_bytes());
    for (size_t t0 = 0; t0 < ids.size(); t0 += kMaxGroups) {
      const auto n = u32(std::min<size_t>(kMaxGroups, ids.size() - t0));
      const Operand o = operand(out.rows_view(u32(t0), n));
      const Operand i = stage(ids.data() + t0, n * sizeof(int32_t));
      const Push push{n, out.cols, w.offset, u32(table.row_bytes), o.offset, u32(out.stride)};
      dispatch(shader, {w, i, o}, push, Groups{(units + kLocal - 1) / kLocal, n, 1}, kLocal,
               Tag::get_rows);
    }
    return;
  }
  // A table beyond one binding: one dispatch per row, each binding just that row.
  const int32_t zero = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    const Operand w =
        weight_operand(table, static_cast<size_t>(ids[t]) * table.row_bytes, table.row_bytes);
    const Operand o = operand(out.rows_view(u32(t), 1));
    const Operand i = stage(&zero, sizeof zero);
    const Push push{1, out.cols, w.offset, u32(table.row_bytes), o.offset, u32(out.stride)};
    dispatch(shader, {w, i, o}, push, Groups{(units + kLocal - 1) / kLocal, 1, 1}, kLocal,
             Tag::get_rows);
  }
}

void VulkanBackend::mul_mat(Mat out, const Weight& w, Mat in, uint32_t matrix) {
  if (!has_matmul_shader(Op::mul_mat, w.type) || w.device == nullptr) {
    fallback().mul_mat(out, w, in, matrix);
    return;
  }
  const bool tile = in.rows >= kTile;
  const uint32_t per_group = tile ? kTile : 1;
  const bool lanes = use_lanes(context().device());
  const uint32_t wg_rows = rows_per_group(lanes);
  const size_t base = size_t{matrix} * w.matrix_bytes();
  // Output rows per dispatch: as many as one binding of weights allows.
  const uint64_t slack = std::max<uint64_t>(64, context().binding_alignment());
  const auto chunk = static_cast<uint32_t>(
      std::max<uint64_t>(1, (max_binding() - slack) / std::max<size_t>(w.row_bytes, 1)));
  // Token rows per dispatch: within the workgroup count limit.
  const uint32_t max_rows = kMaxGroups * per_group;
  for (uint32_t t0 = 0; t0 < in.rows; t0 += max_rows) {
    const uint32_t nt = std::min(max_rows, in.rows - t0);
    const Mat in_t = in.rows_view(t0, nt);
    const Mat out_t = out.rows_view(t0, nt);
    const Operand x = operand(in_t);
    for (uint32_t r0 = 0; r0 < out.cols; r0 += chunk) {
      const uint32_t n = std::min(chunk, out.cols - r0);
      const Operand wt =
          weight_operand(w, base + size_t{r0} * w.row_bytes, size_t{n} * w.row_bytes);
      const Operand y = operand(out_t.cols_view(r0, n));
      const std::string shader = shader_name("mul_mat", w.type, lanes, tile);
      const MatPush push{n,
                         in.cols,
                         nt,
                         wt.offset,
                         u32(w.row_bytes),
                         x.offset,
                         u32(in.stride),
                         y.offset,
                         u32(out.stride),
                         0,
                         1,
                         0,
                         ~0u,
                         0,
                         0};
      dispatch(shader, {wt, x, y}, push,
               Groups{(n + wg_rows - 1) / wg_rows, (nt + per_group - 1) / per_group, 1}, kLocal,
               Tag::mul_mat);
    }
  }
}

void VulkanBackend::mul_mat_id(Mat out, const Weight& w, Mat in, std::span<const uint16_t> ids,
                               uint32_t top_k, const Weight* bias) {
  const auto n_expert = static_cast<uint32_t>(w.ne[2]);
  const uint64_t slack = std::max<uint64_t>(64, context().binding_alignment());
  const bool bias_ok =
      bias == nullptr || (bias->type == TensorType::F32 && bias->device != nullptr);
  if (!has_matmul_shader(Op::mul_mat_id, w.type) || w.device == nullptr || !bias_ok ||
      w.matrix_bytes() + slack > max_binding()) {
    fallback().mul_mat_id(out, w, in, ids, top_k, bias);
    return;
  }
  const auto n_slots = u32(ids.size());
  const auto n_tokens = n_slots / top_k;
  const bool broadcast = in.rows == n_tokens && top_k > 1;
  // Slots sorted by expert (a counting sort: stable, so token order within an expert).
  std::vector<uint32_t> first(size_t{n_expert} + 1, 0);
  for (const uint16_t e : ids) {
    if (e >= n_expert) {
      throw Error(ErrorKind::bad_input, "vulkan: expert id " + std::to_string(e) + " out of range");
    }
    ++first[size_t{e} + 1];
  }
  uint32_t active = 0;
  for (uint32_t e = 0; e < n_expert; ++e) {
    active += first[size_t{e} + 1] > 0 ? 1 : 0;
    first[size_t{e} + 1] += first[e];
  }
  std::vector<uint32_t> slots(n_slots);
  {
    std::vector<uint32_t> at(first.begin(), first.end() - 1);
    for (uint32_t s = 0; s < n_slots; ++s) slots[at[ids[s]]++] = s;
  }
  const bool tile = n_slots >= 2 * active;
  const uint32_t per_item = tile ? kTile : 1;
  const bool lanes = use_lanes(context().device());
  const uint32_t wg_rows = rows_per_group(lanes);

  // Experts per dispatch: as many matrices as one binding holds.
  const auto per_group =
      static_cast<uint32_t>(std::max<uint64_t>(1, (max_binding() - slack) / w.matrix_bytes()));
  // Work items, group after group: {expert within the group, first slot, count}.
  std::vector<uint32_t> items;
  std::vector<uint32_t> group_items;  // items before each group, and the total last
  for (uint32_t e0 = 0; e0 < n_expert; e0 += per_group) {
    group_items.push_back(u32(items.size() / 3));
    for (uint32_t e = e0; e < std::min(n_expert, e0 + per_group); ++e) {
      for (uint32_t s = first[e]; s < first[size_t{e} + 1]; s += per_item) {
        items.insert(items.end(), {e - e0, s, std::min(per_item, first[size_t{e} + 1] - s)});
      }
    }
  }
  group_items.push_back(u32(items.size() / 3));

  const Operand x = operand(in);
  const Operand y = operand(out);
  // Items and slots in one staging (a second stage() could flush the first's arena): the
  // slots from the first binding-aligned offset after the items.
  const size_t align_words = std::max<size_t>(1, context().binding_alignment() / 4);
  const size_t slots_at =
      std::max<size_t>(1, (items.size() + align_words - 1) / align_words) * align_words;
  items.resize(slots_at + slots.size());
  std::copy(slots.begin(), slots.end(), items.begin() + static_cast<ptrdiff_t>(slots_at));
  const Operand it = stage(items.data(), items.size() * sizeof(uint32_t));
  Operand sl = it;
  sl.binding.offset += slots_at * sizeof(uint32_t);
  sl.binding.range -= slots_at * sizeof(uint32_t);
  Operand b = x;
  uint32_t off_bias = ~0u;
  if (bias != nullptr) {
    b = weight_operand(*bias, 0, size_t{out.cols} * n_expert * sizeof(float));
    off_bias = b.offset / sizeof(float);
  }
  for (uint32_t g = 0; g + 1 < group_items.size(); ++g) {
    const uint32_t e0 = g * per_group;
    const uint32_t n_e = std::min(per_group, n_expert - e0);
    if (group_items[g] == group_items[g + 1]) continue;  // no token for these experts
    const Operand wt =
        weight_operand(w, size_t{e0} * w.matrix_bytes(), size_t{n_e} * w.matrix_bytes());
    const std::string shader = shader_name("mul_mat_id", w.type, lanes, tile);
    for (uint32_t i0 = group_items[g]; i0 < group_items[g + 1]; i0 += kMaxGroups) {
      const uint32_t n_items = std::min(kMaxGroups, group_items[g + 1] - i0);
      const MatPush push{out.cols,
                         in.cols,
                         n_slots,
                         wt.offset,
                         u32(w.row_bytes),
                         x.offset,
                         u32(in.stride),
                         y.offset,
                         u32(out.stride),
                         u32(w.matrix_bytes()),
                         top_k,
                         broadcast ? 1u : 0u,
                         off_bias,
                         i0,
                         e0};
      dispatch(shader, {wt, x, y, it, sl, b}, push,
               Groups{(out.cols + wg_rows - 1) / wg_rows, n_items, 1}, kLocal, Tag::mul_mat_id);
    }
  }
}

}  // namespace es::backend::vulkan
