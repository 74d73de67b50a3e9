// The backend plugin loader (plugin_loader.h).
#include "backend/plugin_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace es::backend {

namespace {

/// The smallest vtable a plugin may have: every field of API version 2, up to and
/// including attention (fields appended later are optional).
constexpr uint32_t kMinVtableSize =
    static_cast<uint32_t>(offsetof(es_backend_vtable, attention) + sizeof(void*));

/// Where destroy ends: a vtable of any version this long can be released.
constexpr uint32_t kDestroyEnd =
    static_cast<uint32_t>(offsetof(es_backend_vtable, destroy) + sizeof(void*));

/// The first function of `vt` that is missing (nullptr), or nullptr when none is.
const char* missing_function(const es_backend_vtable& vt) {
#define ES_REQUIRE(field) \
  if (vt.field == nullptr) return #field
  ES_REQUIRE(destroy);
  ES_REQUIRE(last_error);
  ES_REQUIRE(start);
  ES_REQUIRE(supports);
  ES_REQUIRE(alloc);
  ES_REQUIRE(free);
  ES_REQUIRE(buffer_host);
  ES_REQUIRE(upload);
  ES_REQUIRE(download);
  ES_REQUIRE(bind_weight);
  ES_REQUIRE(free_weight);
  ES_REQUIRE(synchronize);
  ES_REQUIRE(get_rows);
  ES_REQUIRE(rms_norm);
  ES_REQUIRE(mul_mat);
  ES_REQUIRE(add_bias);
  ES_REQUIRE(mul_mat_id);
  ES_REQUIRE(add);
  ES_REQUIRE(copy);
  ES_REQUIRE(scale);
  ES_REQUIRE(sigmoid_gate);
  ES_REQUIRE(rope);
  ES_REQUIRE(swiglu);
  ES_REQUIRE(route);
  ES_REQUIRE(moe_sum);
  ES_REQUIRE(kv_store);
  ES_REQUIRE(attention);
#undef ES_REQUIRE
  return nullptr;
}

std::filesystem::path executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

LoadedPlugin::~LoadedPlugin() {
  if (vt_.destroy != nullptr) vt_.destroy(vt_.state);
  if (handle_ != nullptr) dlclose(handle_);
}

std::vector<std::filesystem::path> plugin_dirs() {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("EXPERTSCOPE_PLUGIN_PATH"); env != nullptr) {
    std::string s(env);
    size_t start = 0;
    while (start <= s.size()) {
      const size_t end = std::min(s.find(':', start), s.size());
      if (end > start) dirs.emplace_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  if (const auto exe = executable_dir(); !exe.empty()) {
    dirs.push_back(exe / ".." / "lib" / "expertscope" / "plugins");
  }
  return dirs;
}

PluginScan scan_plugins(const std::vector<std::filesystem::path>& dirs) {
  PluginScan scan;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".so") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const std::string name = file.string();
      const auto reject = [&](const std::string& why) {
        scan.log.push_back(name + ": rejected: " + why);
      };
      void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) {
        const char* e = dlerror();
        reject(std::string("cannot be loaded (") + (e != nullptr ? e : "?") + ")");
        continue;
      }
      const auto score_fn =
          reinterpret_cast<es_backend_score_fn>(dlsym(handle, "expertscope_backend_score"));
      const auto init_fn =
          reinterpret_cast<es_backend_init_fn>(dlsym(handle, "expertscope_backend_init"));
      if (score_fn == nullptr || init_fn == nullptr) {
        reject("not an Expertscope plugin (no expertscope_backend_score / _init)");
        dlclose(handle);
        continue;
      }
      const int score = score_fn(EXPERTSCOPE_BACKEND_API_VERSION);
      if (score <= 0) {
        reject("score 0: it cannot run on this machine");
        dlclose(handle);
        continue;
      }
      es_backend_vtable vt{};
      if (const int rc = init_fn(EXPERTSCOPE_BACKEND_API_VERSION, &vt, sizeof vt); rc != 0) {
        reject("its init failed (code " + std::to_string(rc) + ")");
        dlclose(handle);
        continue;
      }
      if (vt.api_version != EXPERTSCOPE_BACKEND_API_VERSION || vt.struct_size < kMinVtableSize) {
        reject("built for backend API " + std::to_string(vt.api_version) + " (vtable of " +
               std::to_string(vt.struct_size) + " bytes); this program speaks API " +
               std::to_string(EXPERTSCOPE_BACKEND_API_VERSION));
        // destroy keeps its place in every version (expertscope_plugin.h).
        if (vt.destroy != nullptr && vt.struct_size >= kDestroyEnd) vt.destroy(vt.state);
        dlclose(handle);
        continue;
      }
      if (const char* missing = missing_function(vt); missing != nullptr) {
        reject(std::string("its vtable has no ") + missing + " function");
        if (vt.destroy != nullptr) vt.destroy(vt.state);
        dlclose(handle);
        continue;
      }
      scan.log.push_back(name + ": accepted \"" + (vt.name ? vt.name : "?") + "\", score " +
                         std::to_string(score));
      scan.accepted.push_back(std::make_unique<LoadedPlugin>(file, handle, score, vt));
    }
  }
  std::stable_sort(scan.accepted.begin(), scan.accepted.end(),
                   [](const auto& a, const auto& b) { return a->score() > b->score(); });
  return scan;
}

}  // namespace es::backend
