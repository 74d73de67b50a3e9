// config.json look-ups with errors that name the file and the key.
#include <cmath>

#include "convert_internal.h"
#include "core/read_file.h"

namespace es::convert {

Config Config::load(const std::filesystem::path& path) {
  json root = json::parse(read_whole_file(path), nullptr, false);
  if (root.is_discarded()) throw Error(ErrorKind::bad_input, path.string() + ": not valid JSON");
  if (!root.is_object()) throw Error(ErrorKind::bad_input, path.string() + ": not a JSON object");
  return Config(std::move(root), path.string());
}

Config Config::object(std::string_view key) const {
  const json& v = required(key);
  if (!v.is_object()) throw error(ErrorKind::bad_input, key_name(key) + " is not an object");
  return Config(v, file_, key_name(key) + ".");
}

std::string Config::key_name(std::string_view key) const {
  return prefix_ + std::string(key);
}

Error Config::error(ErrorKind kind, const std::string& what) const {
  return Error(kind, file_ + ": " + what);
}

bool Config::has(std::string_view key) const {
  const auto it = root_.find(key);
  return it != root_.end() && !it->is_null();
}

const json& Config::required(std::string_view key) const {
  const auto it = root_.find(key);
  if (it == root_.end() || it->is_null()) {
    throw error(ErrorKind::bad_input, "missing key " + key_name(key));
  }
  return *it;
}

uint32_t Config::u32(std::string_view key) const {
  const json& v = required(key);
  const bool negative = v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0;
  if (!v.is_number_integer() || negative || v.get<uint64_t>() > UINT32_MAX) {
    throw error(ErrorKind::bad_input, key_name(key) + " is " + v.dump().substr(0, 40) +
                                          ", expected a whole number from 0 to " +
                                          std::to_string(UINT32_MAX));
  }
  return static_cast<uint32_t>(v.get<uint64_t>());
}

uint32_t Config::u32_or(std::string_view key, uint32_t fallback) const {
  return has(key) ? u32(key) : fallback;
}

double Config::f64(std::string_view key) const {
  const json& v = required(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) {
    throw error(ErrorKind::bad_input,
                key_name(key) + " is " + v.dump().substr(0, 40) + ", expected a number");
  }
  return v.get<double>();
}

double Config::f64_or(std::string_view key, double fallback) const {
  return has(key) ? f64(key) : fallback;
}

bool Config::bool_or(std::string_view key, bool fallback) const {
  if (!has(key)) return fallback;
  const json& v = root_.at(std::string(key));
  if (!v.is_boolean()) {
    throw error(ErrorKind::bad_input,
                key_name(key) + " is " + v.dump().substr(0, 40) + ", expected true or false");
  }
  return v.get<bool>();
}

std::string Config::str_or(std::string_view key, std::string fallback) const {
  if (!has(key)) return fallback;
  const json& v = root_.at(std::string(key));
  if (!v.is_string()) {
    throw error(ErrorKind::bad_input,
                key_name(key) + " is " + v.dump().substr(0, 40) + ", expected a string");
  }
  return v.get<std::string>();
}

}  // namespace es::convert
