#include <algorithm>
#include <system_error>

#include "cli.h"

namespace es::cli {

bool Args::has(std::string_view flag) const {
  return std::find(items_.begin(), items_.end(), flag) != items_.end();
}

std::optional<std::string> Args::value(std::string_view option) const {
  for (size_t i = 0; i < items_.size(); ++i) {
    if (items_[i] != option) continue;
    if (i + 1 >= items_.size()) {
      throw usage_error(command_ + ": option " + std::string(option) + " needs a value");
    }
    return items_[i + 1];
  }
  return std::nullopt;
}

std::vector<std::string> Args::positionals(
    const std::vector<std::string_view>& value_options) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < items_.size(); ++i) {
    const std::string& a = items_[i];
    const bool takes_value =
        std::find(value_options.begin(), value_options.end(), a) != value_options.end();
    if (takes_value) {
      ++i;  // skip its value
    } else if (a == "-" || a.empty() || a[0] != '-') {
      out.push_back(a);
    }
  }
  return out;
}

void Args::reject_unknown_options(const std::vector<std::string_view>& known) const {
  for (const std::string& a : items_) {
    if (a.size() < 2 || a[0] != '-') continue;
    if (std::find(known.begin(), known.end(), a) == known.end()) {
      throw usage_error(command_ + ": unknown option " + a);
    }
  }
}

Error usage_error(const std::string& what) {
  return Error(ErrorKind::usage, what);
}

void require_readable_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    throw Error(ErrorKind::io, path.string() + ": no such file");
  }
  if (status.type() == std::filesystem::file_type::directory) {
    throw Error(ErrorKind::io, path.string() + ": is a directory, not a model file");
  }
}

}  // namespace es::cli
