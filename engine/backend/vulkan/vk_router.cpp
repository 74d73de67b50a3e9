// The Vulkan backend's router (shaders/ops/router.comp): the fused selection on the device,
// its routing record (experts, weights, entropy, optionally the distribution) written to
// host-visible memory and read back at the flush the host needs anyway — the trace and the
// expert products' ids are host data.
#include <algorithm>
#include <cstring>

#include "expertscope/error.h"
#include "expertscope/routing.h"
#include "vk_backend.h"

namespace es::backend::vulkan {

namespace {

constexpr uint32_t kLocal = 16;
constexpr uint32_t kMaxGroups = 64;

}  // namespace

void VulkanBackend::route(Mat logits, const float* selection_bias, const RouterParams& p,
                          const RouterOut& out) {
  if (p.top_k == 0 || p.top_k > max_experts_used || p.n_groups > kMaxGroups ||
      (p.n_groups > 1 && p.n_expert % p.n_groups != 0)) {
    fallback().route(logits, selection_bias, p, out);
    return;
  }
  const uint32_t T = logits.rows, n = p.n_expert;
  const bool full = out.full_probs != nullptr;
  const uint32_t words = 2 * p.top_k + 1 + (full ? n : 0);
  const size_t scratch_bytes = size_t{T} * 2 * n * sizeof(float);
  const size_t record_bytes = size_t{T} * words * sizeof(uint32_t);
  if (!router_scratch_ || router_scratch_->n_bytes() < scratch_bytes) {
    router_scratch_ =
        std::make_unique<VkBuf>(ctx_->make_buffer(scratch_bytes, Memory::device_local));
  }
  if (!router_record_ || router_record_->n_bytes() < record_bytes) {
    router_record_ = std::make_unique<VkBuf>(ctx_->make_buffer(record_bytes, Memory::host_visible));
  }
  struct Push {
    uint32_t rows, n_expert, top_k, off_l, stride_l, gating, has_bias, n_groups, n_group_used,
        norm_weights;
    float weights_scale;
    uint32_t full, record_words;
  };
  const Operand l = operand(logits);
  const Operand b = selection_bias != nullptr ? stage(selection_bias, n * sizeof(float)) : l;
  const Operand s = operand(*router_scratch_, 0, scratch_bytes);
  const Operand r = operand(*router_record_, 0, record_bytes);
  const Push push{T,
                  n,
                  p.top_k,
                  l.offset,
                  static_cast<uint32_t>(logits.stride),
                  static_cast<uint32_t>(p.gating == Gating::unset ? Gating::softmax : p.gating),
                  selection_bias != nullptr ? 1u : 0u,
                  p.n_groups,
                  p.n_group_used,
                  p.norm_weights ? 1u : 0u,
                  p.weights_scale,
                  full ? 1u : 0u,
                  words};
  dispatch("router", {l, b, s, r}, push, Groups{(T + kLocal - 1) / kLocal, 1, 1}, kLocal,
           Tag::router);
  synchronize();  // The record is host data.
  const auto* rec = reinterpret_cast<const uint32_t*>(router_record_->host());
  for (uint32_t t = 0; t < T; ++t) {
    const uint32_t* row = rec + size_t{t} * words;
    for (uint32_t k = 0; k < p.top_k; ++k) {
      out.experts[t * out.row_stride + k] = static_cast<uint16_t>(row[k]);
      std::memcpy(&out.weights[t * out.row_stride + k], &row[p.top_k + k], sizeof(float));
    }
    std::memcpy(&out.entropy[t * out.entropy_stride], &row[2 * p.top_k], sizeof(float));
    if (full) std::memcpy(out.full_probs + size_t{t} * n, &row[2 * p.top_k + 1], n * sizeof(float));
  }
}

}  // namespace es::backend::vulkan
