// The Vulkan backend's RoPE, KV cache writes and attention. Not on the device yet: these
// run on the CPU backend over the same (host-visible) memory.
#include "vk_backend.h"

namespace es::backend::vulkan {

bool VulkanBackend::has_attention_shader(Op op) noexcept {
  (void)op;
  return false;
}

void VulkanBackend::rope(Mat x, uint32_t n_heads, uint32_t head_stride, uint32_t rot_offset,
                         const RopeParams& p, std::span<const int32_t> pos) {
  fallback().rope(x, n_heads, head_stride, rot_offset, p, pos);
}

void VulkanBackend::kv_store(const KvView& kv, Mat k, Mat v, std::span<const int32_t> pos) {
  fallback().kv_store(kv, k, v, pos);
}

void VulkanBackend::attention(Mat out, Mat q, const KvView& kv, const AttentionParams& p,
                              std::span<const int32_t> pos) {
  fallback().attention(out, q, kv, p, pos);
}

}  // namespace es::backend::vulkan
