// The compute devices this machine offers the engine: the CPU and every Vulkan physical
// device (a GPU, or Mesa's lavapipe on a CPU-only machine).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace es {

/// One device, as `expertscope-cli devices` and the Model panel list it.
struct ComputeDevice {
  std::string backend;  ///< "cpu", "vulkan" or a plugin's name (then type is "plugin").
  uint32_t index = 0;   ///< Position among the backend's devices.
  std::string name;     ///< e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
  /// "cpu", "discrete", "integrated", "virtual" or "other".
  std::string type;
  std::string api_version;          ///< Vulkan "1.3.230"; "" for the CPU.
  uint64_t memory_bytes = 0;        ///< Device-local memory (system memory for the CPU).
  uint64_t max_storage_buffer = 0;  ///< Largest storage-buffer binding (Vulkan).
  uint32_t subgroup_size = 0;       ///< Vulkan subgroup width (0: unknown).
  bool preferred = false;           ///< What `--backend auto` would choose.
};

/// The CPU and every Vulkan device. When Vulkan is missing (no loader, no driver) the list
/// holds the CPU only and `vulkan_error` (if given) says why.
[[nodiscard]] std::vector<ComputeDevice> list_compute_devices(std::string* vulkan_error = nullptr);

}  // namespace es
