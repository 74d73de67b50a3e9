#include "metadata.h"

#include <cmath>
#include <limits>

namespace es::model {

std::string MetaReader::arch_key(std::string_view key) const {
  std::string full = prefix_;
  full += '.';
  full += key;
  return full;
}

Error MetaReader::error(ErrorKind kind, const std::string& what) const {
  return Error(kind, file_.name() + ": " + what);
}

Error MetaReader::wrong_type(const std::string& full_key, gguf::ValueType found,
                             std::string_view expected) const {
  return error(ErrorKind::bad_input, "metadata key " + full_key + " has type " +
                                         std::string(gguf::value_type_name(found)) + ", expected " +
                                         std::string(expected));
}

uint32_t MetaReader::to_u32(const std::string& full_key, const gguf::ValueRef& v) const {
  if (auto u = v.as_uint()) {
    if (*u > std::numeric_limits<uint32_t>::max()) {
      throw error(ErrorKind::bad_input,
                  "metadata key " + full_key + " is out of range (" + std::to_string(*u) + ")");
    }
    return static_cast<uint32_t>(*u);
  }
  if (auto i = v.as_int()) {
    throw error(ErrorKind::bad_input,
                "metadata key " + full_key + " must not be negative (" + std::to_string(*i) + ")");
  }
  throw wrong_type(full_key, v.type(), "an unsigned integer");
}

std::optional<uint32_t> MetaReader::opt_u32_full(const std::string& full_key) const {
  const gguf::KeyValue* kv = file_.find(full_key);
  if (kv == nullptr) return std::nullopt;
  return to_u32(full_key, kv->value);
}

std::optional<uint32_t> MetaReader::opt_u32(std::string_view key) const {
  return opt_u32_full(arch_key(key));
}

uint32_t MetaReader::req_u32(std::string_view key) const {
  std::string full = arch_key(key);
  auto v = opt_u32_full(full);
  if (!v) throw error(ErrorKind::bad_input, "missing metadata key " + full);
  return *v;
}

std::optional<float> MetaReader::opt_f32(std::string_view key) const {
  std::string full = arch_key(key);
  const gguf::KeyValue* kv = file_.find(full);
  if (kv == nullptr) return std::nullopt;
  auto d = kv->value.as_float();
  if (!d) throw wrong_type(full, kv->value.type(), "a number");
  if (!std::isfinite(*d) || std::fabs(*d) > std::numeric_limits<float>::max()) {
    throw error(ErrorKind::bad_input, "metadata key " + full + " is not a finite number");
  }
  return static_cast<float>(*d);
}

float MetaReader::req_f32(std::string_view key) const {
  auto v = opt_f32(key);
  if (!v) throw error(ErrorKind::bad_input, "missing metadata key " + arch_key(key));
  return *v;
}

std::optional<bool> MetaReader::opt_bool_full(const std::string& full_key) const {
  const gguf::KeyValue* kv = file_.find(full_key);
  if (kv == nullptr) return std::nullopt;
  auto b = kv->value.as_bool();
  if (!b) throw wrong_type(full_key, kv->value.type(), "a bool");
  return b;
}

std::optional<bool> MetaReader::opt_bool(std::string_view key) const {
  return opt_bool_full(arch_key(key));
}

std::optional<std::string> MetaReader::opt_string_full(const std::string& full_key) const {
  const gguf::KeyValue* kv = file_.find(full_key);
  if (kv == nullptr) return std::nullopt;
  auto s = kv->value.as_string();
  if (!s) throw wrong_type(full_key, kv->value.type(), "a string");
  return std::string(*s);
}

std::optional<std::string> MetaReader::opt_string(std::string_view key) const {
  return opt_string_full(arch_key(key));
}

std::optional<int64_t> MetaReader::opt_i64_full(const std::string& full_key) const {
  const gguf::KeyValue* kv = file_.find(full_key);
  if (kv == nullptr) return std::nullopt;
  auto i = kv->value.as_int();
  if (!i) throw wrong_type(full_key, kv->value.type(), "an integer");
  return i;
}

std::optional<uint64_t> MetaReader::opt_array_size_full(const std::string& full_key) const {
  const gguf::KeyValue* kv = file_.find(full_key);
  if (kv == nullptr) return std::nullopt;
  auto a = kv->value.as_array();
  if (!a) throw wrong_type(full_key, kv->value.type(), "an array");
  return a->size();
}

std::optional<uint32_t> MetaReader::opt_u32_or_layers(std::string_view key,
                                                      uint32_t n_layer) const {
  std::string full = arch_key(key);
  const gguf::KeyValue* kv = file_.find(full);
  if (kv == nullptr) return std::nullopt;
  auto arr = kv->value.as_array();
  if (!arr) return to_u32(full, kv->value);
  if (arr->size() != n_layer) {
    throw error(ErrorKind::bad_input, "metadata key " + full + " has " +
                                          std::to_string(arr->size()) + " per-layer values, " +
                                          "expected one per block (" + std::to_string(n_layer) +
                                          ")");
  }
  if (n_layer == 0) return std::nullopt;
  const uint32_t first = to_u32(full, arr->at(0));
  for (uint64_t i = 1; i < arr->size(); ++i) {
    const uint32_t v = to_u32(full, arr->at(i));
    if (v != first) {
      throw error(ErrorKind::unsupported,
                  "metadata key " + full + " differs between layers (layer 0: " +
                      std::to_string(first) + ", layer " + std::to_string(i) + ": " +
                      std::to_string(v) + "); per-layer values are not supported yet");
    }
  }
  return first;
}

}  // namespace es::model
