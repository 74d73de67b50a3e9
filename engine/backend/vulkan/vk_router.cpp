// The Vulkan backend's router. The host reads every selection (the routing trace, the
// expert products' ids), so the router runs on the CPU backend over the logits the device
// wrote: one flush per MoE layer.
#include "vk_backend.h"

namespace es::backend::vulkan {

void VulkanBackend::route(Mat logits, const float* selection_bias, const RouterParams& p,
                          const RouterOut& out) {
  fallback().route(logits, selection_bias, p, out);
}

}  // namespace es::backend::vulkan
