// Finds and loads backend plugins (plugins/include/expertscope_plugin.h): every shared
// library in the plugin folders is opened, asked for its score (0: cannot run here) and
// initialised; its vtable's size and API version are checked, and that it has every
// function. Each plugin rejected is logged with the reason (after ggml's
// ggml-backend-reg.cpp::load_backend).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "expertscope_plugin.h"

namespace es::backend {

/// One accepted plugin: the library stays open while this lives.
class LoadedPlugin {
 public:
  LoadedPlugin(std::filesystem::path path, void* handle, int score, const es_backend_vtable& vt)
      : path_(std::move(path)), handle_(handle), score_(score), vt_(vt) {}
  ~LoadedPlugin();
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] int score() const noexcept { return score_; }
  [[nodiscard]] const es_backend_vtable& vtable() const noexcept { return vt_; }
  [[nodiscard]] std::string name() const { return vt_.name != nullptr ? vt_.name : "?"; }

 private:
  std::filesystem::path path_;
  void* handle_;
  int score_;
  es_backend_vtable vt_;
};

/// What a scan found.
struct PluginScan {
  std::vector<std::unique_ptr<LoadedPlugin>> accepted;  ///< Best score first.
  std::vector<std::string> log;                         ///< One line per plugin looked at.
};

/// The folders to scan: each entry of EXPERTSCOPE_PLUGIN_PATH (":"-separated), then
/// <executable's folder>/../lib/expertscope/plugins.
[[nodiscard]] std::vector<std::filesystem::path> plugin_dirs();

/// Loads every acceptable plugin in `dirs` (files ending in .so).
[[nodiscard]] PluginScan scan_plugins(const std::vector<std::filesystem::path>& dirs);

}  // namespace es::backend
