// list_compute_devices (devices.h): the CPU, every Vulkan device and every backend plugin
// the loader accepts. "preferred" marks what --backend auto runs on.
#include "expertscope/devices.h"

#include <unistd.h>

#include <thread>

#include "backend/plugin_loader.h"
#include "backend/vulkan/vk_context.h"
#include "expertscope/error.h"

namespace es {

std::vector<ComputeDevice> list_compute_devices(std::string* vulkan_error) {
  std::vector<ComputeDevice> out;
  ComputeDevice cpu;
  cpu.backend = "cpu";
  cpu.name =
      "CPU (" + std::to_string(std::max(1u, std::thread::hardware_concurrency())) + " threads)";
  cpu.type = "cpu";
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  cpu.memory_bytes =
      pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
  out.push_back(cpu);
  bool gpu = false;
  try {
    for (ComputeDevice& d : backend::vulkan::list_devices()) {
      // "auto" takes Vulkan's preferred device only when it is a GPU: a CPU-backed one
      // (lavapipe) is slower than the CPU backend.
      d.preferred = d.preferred && (d.type == "discrete" || d.type == "integrated");
      gpu = gpu || d.preferred;
      out.push_back(std::move(d));
    }
  } catch (const Error& e) {
    if (vulkan_error != nullptr) *vulkan_error = e.what();
  }
  out[0].preferred = !gpu;
  const backend::PluginScan scan = backend::scan_plugins(backend::plugin_dirs());
  for (const auto& plugin : scan.accepted) {
    ComputeDevice d;
    d.backend = plugin->name();
    d.name = plugin->path().filename().string();
    d.type = "plugin";
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace es
