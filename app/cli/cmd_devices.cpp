// expertscope-cli devices: the compute devices (CPU and every Vulkan device) as JSON.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "expertscope/devices.h"

namespace es::cli {

int cmd_devices(const Args& args) {
  args.reject_unknown_options({"--compact"});
  std::string vulkan_error;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ComputeDevice& d : list_compute_devices(&vulkan_error)) {
    nlohmann::ordered_json j{{"backend", d.backend},
                             {"index", d.index},
                             {"name", d.name},
                             {"type", d.type},
                             {"memory_bytes", d.memory_bytes},
                             {"preferred", d.preferred}};
    if (d.backend == "vulkan") {
      j["api_version"] = d.api_version;
      j["max_storage_buffer"] = d.max_storage_buffer;
      j["subgroup_size"] = d.subgroup_size;
    }
    list.push_back(std::move(j));
  }
  nlohmann::ordered_json out{{"devices", list}};
  if (!vulkan_error.empty()) out["vulkan_error"] = vulkan_error;
  std::printf("%s\n", out.dump(args.has("--compact") ? -1 : 2).c_str());
  return exit_ok;
}

}  // namespace es::cli
