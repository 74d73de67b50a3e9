// list_compute_devices (devices.h): the CPU and every Vulkan device.
#include "expertscope/devices.h"

#include <unistd.h>

#include <thread>

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
  cpu.preferred = true;  // the only backend the engine runs on so far
  out.push_back(cpu);
  try {
    for (ComputeDevice& d : backend::vulkan::list_devices()) {
      d.preferred = false;  // listed; not run on yet
      out.push_back(std::move(d));
    }
  } catch (const Error& e) {
    if (vulkan_error != nullptr) *vulkan_error = e.what();
  }
  return out;
}

}  // namespace es
