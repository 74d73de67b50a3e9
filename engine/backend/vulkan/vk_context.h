// The Vulkan device the engine computes on: instance and device choice (discrete >
// integrated > virtual > CPU, or EXPERTSCOPE_VULKAN_DEVICE=<index or name part>), a
// compute queue, buffers, and compute pipelines made from the embedded SPIR-V.
//
// This is the first slice of the Vulkan backend (issue 7): enough to list devices and to
// run a shader against the CPU in a parity test. Buffers are host-visible and coherent for
// now (right for lavapipe and unified memory; device-local with staging comes with the
// matrix kernels).
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "expertscope/devices.h"

namespace es::backend::vulkan {

/// Every Vulkan physical device (throws es::Error of kind unsupported when there is no
/// Vulkan loader or driver).
[[nodiscard]] std::vector<ComputeDevice> list_devices();

/// A storage buffer in host-visible, coherent memory.
class Buffer {
 public:
  Buffer() = default;
  ~Buffer();
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  [[nodiscard]] size_t size() const noexcept { return size_; }
  /// The mapped bytes.
  [[nodiscard]] std::span<uint8_t> bytes() noexcept {
    return {static_cast<uint8_t*>(mapped_), size_};
  }
  [[nodiscard]] VkBuffer handle() const noexcept { return buffer_; }

 private:
  friend class Context;
  void release() noexcept;

  VkDevice device_ = VK_NULL_HANDLE;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  void* mapped_ = nullptr;
  size_t size_ = 0;
};

/// One device with a compute queue.
class Context {
 public:
  /// Opens the chosen device (see the file comment). Throws es::Error: unsupported when
  /// Vulkan or a device is missing, io when the driver refuses.
  static std::unique_ptr<Context> create();
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  [[nodiscard]] const ComputeDevice& device() const noexcept { return info_; }

  /// A buffer of `bytes` (at least 4). Throws es::Error (io) when memory cannot be had.
  [[nodiscard]] Buffer make_buffer(size_t bytes);

  /// Runs embedded shader `shader` once over `groups` workgroups of `local_size`
  /// invocations, its bindings 0.. the given buffers, `push` its push constants; waits for
  /// it to finish.
  void run(std::string_view shader, std::span<Buffer* const> bindings,
           std::span<const uint8_t> push, uint32_t groups, uint32_t local_size);

 private:
  Context() = default;
  struct Pipeline;
  Pipeline& pipeline(std::string_view shader, size_t n_bindings, size_t push_bytes,
                     uint32_t local_size);

  ComputeDevice info_;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkPhysicalDeviceMemoryProperties memory_{};
  std::vector<std::unique_ptr<Pipeline>> pipelines_;
};

}  // namespace es::backend::vulkan
