// Backends by name (backend.h make_backend): the built-in CPU and Vulkan backends, "auto",
// and plugins.
#include <string>

#include "backend.h"
#include "expertscope/error.h"
#include "plugin_backend.h"
#include "vulkan/vk_context.h"

namespace es::backend {

namespace {

/// Whether Vulkan's preferred device is a GPU (a CPU-backed device such as lavapipe is
/// slower than the CPU backend, so "auto" does not pick it).
bool vulkan_gpu_present() {
  try {
    for (const ComputeDevice& d : vulkan::list_devices()) {
      if (d.preferred) return d.type == "discrete" || d.type == "integrated";
    }
  } catch (const Error&) {
    return false;
  }
  return false;
}

}  // namespace

std::unique_ptr<Backend> make_backend(std::string_view name, uint32_t n_threads) {
  if (name == "cpu" || name.empty()) return make_cpu_backend(n_threads);
  if (name == "vulkan") return make_vulkan_backend(n_threads);
  if (name.starts_with("vulkan:")) {
    const std::string digits(name.substr(7));
    if (digits.empty() || digits.size() > 4 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      throw Error(ErrorKind::usage,
                  "backend \"" + std::string(name) + "\": expected vulkan:N with N a device index");
    }
    return make_vulkan_backend(n_threads, std::stoi(digits));
  }
  if (name == "auto") {
    if (vulkan_gpu_present()) {
      try {
        return make_vulkan_backend(n_threads);
      } catch (const Error&) {
        // Fall through to the CPU: "auto" never fails for want of a GPU.
      }
    }
    return make_cpu_backend(n_threads);
  }
  // Not a built-in backend: a plugin of that name (the error lists the built-in backends,
  // the plugins accepted and why others were rejected).
  try {
    return make_plugin_backend(name, n_threads);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::usage) throw;
    throw Error(ErrorKind::usage, std::string(e.what()) + "; built-in backends: auto, cpu, vulkan");
  }
}

}  // namespace es::backend
