// The Vulkan device the engine computes on: instance and device choice (discrete >
// integrated > virtual > CPU, or EXPERTSCOPE_VULKAN_DEVICE=<index or name part>), a
// compute queue, buffers, and compute pipelines made from the embedded SPIR-V.
//
// Work is recorded: dispatch() appends to one command buffer (with a barrier after each
// dispatch) and flush() submits it and waits, so a forward pass is one submission between
// the points where the host must read (the router, the logits). Buffers are host-visible
// (activations, the KV cache: the host reads and writes them when an op falls back to the
// CPU) or device-local (weights), filled through a staging copy when the host cannot map
// them. A timestamp after each dispatch gives the device time per tag.
#pragma once

#include <vulkan/vulkan.h>

#include <array>
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

/// Where a buffer lives.
enum class Memory : int {
  unset = 0,
  host_visible = 1,  ///< Mapped and coherent (device-local too where the device allows).
  device_local = 2,  ///< The fastest memory for the device; mapped only if also host-visible.
};

/// Warnings and errors Khronos' validation layer reported in this process (enabled by
/// EXPERTSCOPE_VULKAN_VALIDATION=1; each is also printed to stderr).
[[nodiscard]] uint64_t validation_messages() noexcept;

/// A storage buffer.
class Buffer {
 public:
  Buffer() = default;
  ~Buffer();
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  [[nodiscard]] size_t size() const noexcept { return size_; }
  /// The mapped bytes (empty when the memory is not host-visible).
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

/// A range of a buffer bound to a shader's storage binding.
struct Binding {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize range = 0;
};

/// Workgroup counts of a dispatch.
struct Groups {
  uint32_t x = 1, y = 1, z = 1;
};

/// One device with a compute queue.
class Context {
 public:
  /// Opens device `index` (its position in list_devices()), or with -1 the chosen one (see
  /// the file comment). Throws es::Error: unsupported when Vulkan or a device is missing,
  /// usage for an index out of range, io when the driver refuses.
  static std::unique_ptr<Context> create(int index = -1);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  [[nodiscard]] const ComputeDevice& device() const noexcept { return info_; }

  /// A buffer of `bytes` (at least 4). Throws es::Error (io) when memory cannot be had
  /// (an out-of-memory message naming the size and the device).
  [[nodiscard]] Buffer make_buffer(size_t bytes, Memory memory = Memory::host_visible);
  /// Copies host bytes into a buffer: directly when it is mapped, else through a staging
  /// buffer (flushes recorded work first).
  void upload(Buffer& dst, size_t offset, const void* src, size_t n);
  /// Test hook (ncnn's test_layer_oom idea): allocations after `bytes` more bytes fail as
  /// if the device were out of memory. 0 removes the limit. EXPERTSCOPE_VULKAN_FAULT sets
  /// it from outside (see vk_context.cpp).
  void set_allocation_budget(uint64_t bytes) noexcept {
    budget_ = bytes;
    allocated_ = 0;
  }

  /// The largest range one storage binding may have, and the alignment of its offset.
  [[nodiscard]] uint64_t max_binding_bytes() const noexcept { return max_range_; }
  [[nodiscard]] uint64_t binding_alignment() const noexcept { return offset_align_; }

  /// Records a dispatch of `shader` over `groups` workgroups of `local_size` invocations
  /// (specialization constant 0), with `bindings` as its bindings 0.. and `push` as its
  /// push constants; `tag` names the op for the timestamps (< kTags).
  void dispatch(std::string_view shader, std::span<const Binding> bindings,
                std::span<const uint8_t> push, Groups groups, uint32_t local_size, uint32_t tag);
  /// Submits the recorded work and waits for it. Throws es::Error (io) when the device
  /// fails (a lost device is named as such).
  void flush();
  /// Whether work is recorded and not yet submitted.
  [[nodiscard]] bool pending() const noexcept { return recording_ && n_recorded_ > 0; }

  static constexpr uint32_t kTags = 32;
  /// Device nanoseconds per tag since the last take_tag_times(), and dispatch counts.
  struct TagTimes {
    std::array<double, kTags> ns{};
    std::array<uint32_t, kTags> calls{};
  };
  [[nodiscard]] TagTimes take_tag_times() noexcept {
    TagTimes t = tag_times_;
    tag_times_ = {};
    return t;
  }
  [[nodiscard]] bool has_timestamps() const noexcept { return timestamp_period_ > 0.0; }

  /// Runs embedded shader `shader` once over `groups` workgroups of `local_size`
  /// invocations, its bindings 0.. the given (whole) buffers, `push` its push constants;
  /// waits for it to finish.
  void run(std::string_view shader, std::span<Buffer* const> bindings,
           std::span<const uint8_t> push, uint32_t groups, uint32_t local_size);

 private:
  Context() = default;
  struct Pipeline;
  Pipeline& pipeline(std::string_view shader, size_t n_bindings, size_t push_bytes,
                     uint32_t local_size);
  void begin_recording();
  VkDescriptorSet descriptor_set(Pipeline& p);
  [[nodiscard]] uint32_t memory_type(uint32_t bits, VkMemoryPropertyFlags want) const;

  ComputeDevice info_;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkPhysicalDeviceMemoryProperties memory_{};
  std::vector<std::unique_ptr<Pipeline>> pipelines_;
  uint64_t max_range_ = 0;
  uint64_t offset_align_ = 4;
  uint64_t budget_ = 0;
  uint64_t allocated_ = 0;
  uint64_t lost_at_ = 0;  ///< Test hook: the submission that reports a lost device.
  uint64_t n_submits_ = 0;

  // Recording.
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  VkDescriptorPool descriptors_ = VK_NULL_HANDLE;
  bool recording_ = false;
  uint32_t n_recorded_ = 0;
  uint32_t n_sets_ = 0;

  // Timestamps: one before the first dispatch, one after each.
  VkQueryPool queries_ = VK_NULL_HANDLE;
  double timestamp_period_ = 0.0;     ///< ns per tick; 0 when the queue has no timestamps.
  std::vector<uint32_t> query_tags_;  ///< The tag of query i + 1.
  TagTimes tag_times_;
};

}  // namespace es::backend::vulkan
