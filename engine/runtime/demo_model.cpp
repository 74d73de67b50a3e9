// Finding the bundled demo model (demo_model.h).
#include "expertscope/demo_model.h"

#include <cstdlib>
#include <string>
#include <system_error>

#include "expertscope/error.h"

namespace es {

std::filesystem::path demo_model_path() {
  std::error_code ec;
  const auto exists = [&](const std::filesystem::path& p) {
    return !p.empty() && std::filesystem::is_regular_file(p, ec);
  };
  if (const char* env = std::getenv("EXPERTSCOPE_DEMO_MODEL"); env != nullptr && *env != '\0') {
    return exists(env) ? std::filesystem::path(env) : std::filesystem::path();
  }
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed =
        exe.parent_path().parent_path() / "share/expertscope/demo-model" / kDemoModelFile;
    if (exists(installed)) return installed;
  }
#ifdef ES_DEMO_MODEL_SOURCE_DIR
  const auto source = std::filesystem::path(ES_DEMO_MODEL_SOURCE_DIR) / kDemoModelFile;
  if (exists(source)) return source;
#endif
  return {};
}

std::filesystem::path resolve_model_name(std::string_view name) {
  if (name != "demo") return std::filesystem::path(name);
  auto p = demo_model_path();
  if (p.empty()) {
    throw Error(ErrorKind::io,
                std::string("demo: the bundled demo model (") + std::string(kDemoModelFile) +
                    ") is not installed here (set EXPERTSCOPE_DEMO_MODEL to its path)");
  }
  return p;
}

}  // namespace es
