// Owned GGUF values: type derivation and comparison helpers.
#include <stdexcept>

#include "expertscope/gguf.h"

namespace es::gguf {

std::string_view value_type_name(ValueType type) noexcept {
  switch (type) {
    case ValueType::u8:
      return "u8";
    case ValueType::i8:
      return "i8";
    case ValueType::u16:
      return "u16";
    case ValueType::i16:
      return "i16";
    case ValueType::u32:
      return "u32";
    case ValueType::i32:
      return "i32";
    case ValueType::f32:
      return "f32";
    case ValueType::boolean:
      return "bool";
    case ValueType::string:
      return "string";
    case ValueType::array:
      return "array";
    case ValueType::u64:
      return "u64";
    case ValueType::i64:
      return "i64";
    case ValueType::f64:
      return "f64";
  }
  return "unknown";
}

ValueType Value::type() const {
  if (data.index() == 0) throw std::logic_error("gguf::Value::type() of an empty value");
  return static_cast<ValueType>(data.index() - 1);
}

bool Array::operator==(const Array& other) const {
  return elem_type == other.elem_type && items == other.items;
}

Value string_array(const std::vector<std::string>& items) {
  Array a;
  a.elem_type = ValueType::string;
  a.items.reserve(items.size());
  for (const auto& s : items) a.items.emplace_back(s);
  return Value(std::move(a));
}

}  // namespace es::gguf
