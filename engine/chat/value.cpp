// es::chat::Value: construction, Python equality, truthiness, str()/repr() and JSON.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "expertscope/chat_template.h"
#include "value_access.h"

namespace es::chat {

namespace {

const std::string& empty_string() {
  static const std::string s;
  return s;
}

uint32_t max_depth_of(const Value::List& items, bool* ns) {
  uint32_t d = 0;
  for (const Value& v : items) {
    d = std::max(d, v.depth());
    *ns = *ns || v.holds_namespace();
  }
  return d;
}

}  // namespace

Value::Value(std::string v)
    : kind_(Kind::string), str_(std::make_shared<const std::string>(std::move(v))) {}

Value ValueAccess::string(std::shared_ptr<const std::string> s) {
  Value v;
  v.kind_ = Value::Kind::string;
  v.str_ = std::move(s);
  return v;
}

Value ValueAccess::list(std::shared_ptr<const Value::List> items) {
  Value v;
  v.kind_ = Value::Kind::list;
  bool ns = false;
  v.depth_ = max_depth_of(*items, &ns) + 1;
  v.holds_namespace_ = ns;
  v.list_ = std::move(items);
  return v;
}

Value ValueAccess::dict_unique(Value::Dict entries, bool is_namespace) {
  Value v;
  v.kind_ = Value::Kind::dict;
  v.is_namespace_ = is_namespace;
  uint32_t d = 0;
  bool ns = is_namespace;
  for (const auto& [k, val] : entries) {
    d = std::max({d, k.depth(), val.depth()});
    ns = ns || val.holds_namespace();
  }
  v.depth_ = d + 1;
  v.holds_namespace_ = ns;
  v.dict_ = std::make_shared<Value::Dict>(std::move(entries));
  return v;
}

void ValueAccess::namespace_set(const Value& ns, const std::string& key, Value value) {
  for (auto& [k, v] : *ns.dict_) {
    if (k.is_string() && k.as_string() == key) {
      v = std::move(value);
      return;
    }
  }
  ns.dict_->emplace_back(Value(key), std::move(value));
}

Value Value::list(List items) {
  return ValueAccess::list(std::make_shared<const List>(std::move(items)));
}

Value Value::dict(Dict entries) {
  Dict unique;
  unique.reserve(entries.size());
  for (auto& entry : entries) {
    const Value& k = entry.first;
    auto it =
        std::find_if(unique.begin(), unique.end(), [&](const auto& e) { return e.first == k; });
    if (it != unique.end()) {
      it->second = std::move(entry.second);
    } else {
      unique.push_back(std::move(entry));
    }
  }
  return ValueAccess::dict_unique(std::move(unique), false);
}

Value Value::dict(std::vector<std::pair<std::string, Value>> entries) {
  Dict d;
  d.reserve(entries.size());
  for (auto& [k, v] : entries) d.emplace_back(Value(std::move(k)), std::move(v));
  return dict(std::move(d));
}

Value Value::make_namespace(Dict entries) {
  Value v = dict(std::move(entries));
  return ValueAccess::dict_unique(std::move(*v.dict_), true);
}

Value Value::callable(std::shared_ptr<const detail::Callable> fn) {
  Value v;
  v.kind_ = Kind::callable;
  if (fn) {
    v.depth_ = fn->self.depth();
    v.holds_namespace_ = fn->self.holds_namespace();
  }
  v.fn_ = std::move(fn);
  return v;
}

int64_t Value::as_int() const noexcept {
  return kind_ == Kind::integer || kind_ == Kind::boolean ? int_ : 0;
}

double Value::as_double() const noexcept {
  if (kind_ == Kind::floating) return float_;
  return kind_ == Kind::integer || kind_ == Kind::boolean ? static_cast<double>(int_) : 0.0;
}

const std::string& Value::as_string() const noexcept {
  return kind_ == Kind::string ? *str_ : empty_string();
}

const Value::List& Value::as_list() const noexcept {
  static const List empty;
  return kind_ == Kind::list ? *list_ : empty;
}

const Value::Dict& Value::as_dict() const noexcept {
  static const Dict empty;
  return kind_ == Kind::dict ? *dict_ : empty;
}

uint32_t Value::depth() const noexcept {
  return depth_;
}
bool Value::holds_namespace() const noexcept {
  return holds_namespace_;
}

Value Value::get(std::string_view key) const {
  if (kind_ != Kind::dict) return Value();
  for (const auto& [k, v] : *dict_) {
    if (k.is_string() && k.as_string() == key) return v;
  }
  return Value();
}

void Value::set(Value key, Value value) {
  if (kind_ == Kind::undefined) *this = dict(Dict{});
  if (kind_ != Kind::dict)
    throw Error(ErrorKind::usage, "Value::set on a value that is not a dict");
  if (!is_namespace_ && dict_.use_count() > 1) dict_ = std::make_shared<Dict>(*dict_);
  depth_ = std::max({depth_, key.depth() + 1, value.depth() + 1});
  holds_namespace_ = holds_namespace_ || value.holds_namespace();
  for (auto& [k, v] : *dict_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  dict_->emplace_back(std::move(key), std::move(value));
}

void Value::push_back(Value item) {
  if (kind_ == Kind::undefined) *this = list({});
  if (kind_ != Kind::list) {
    throw Error(ErrorKind::usage, "Value::push_back on a value that is not a list");
  }
  depth_ = std::max(depth_, item.depth() + 1);
  holds_namespace_ = holds_namespace_ || item.holds_namespace();
  auto copy = std::make_shared<List>(*list_);
  copy->push_back(std::move(item));
  list_ = std::move(copy);
}

bool Value::truthy() const noexcept {
  switch (kind_) {
    case Kind::undefined:
    case Kind::none:
      return false;
    case Kind::boolean:
    case Kind::integer:
      return int_ != 0;
    case Kind::floating:
      return float_ != 0.0;
    case Kind::string:
      return !str_->empty();
    case Kind::list:
      return !list_->empty();
    case Kind::dict:
      return is_namespace_ || !dict_->empty();
    case Kind::callable:
      return true;
  }
  return false;
}

bool Value::operator==(const Value& o) const {
  const auto numeric = [](Kind k) {
    return k == Kind::boolean || k == Kind::integer || k == Kind::floating;
  };
  if (numeric(kind_) && numeric(o.kind_)) {
    if (kind_ != Kind::floating && o.kind_ != Kind::floating) return int_ == o.int_;
    return as_double() == o.as_double();
  }
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::undefined:
    case Kind::none:
      return true;
    case Kind::string:
      return *str_ == *o.str_;
    case Kind::list:
      return list_ == o.list_ || *list_ == *o.list_;
    case Kind::dict: {
      if (dict_ == o.dict_) return true;
      if (dict_->size() != o.dict_->size()) return false;
      for (const auto& entry : *dict_) {
        const auto it = std::find_if(o.dict_->begin(), o.dict_->end(),
                                     [&](const auto& e) { return e.first == entry.first; });
        if (it == o.dict_->end() || !(it->second == entry.second)) return false;
      }
      return true;
    }
    case Kind::callable:
      return fn_ == o.fn_;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------
// Text.

namespace {

/// Python's repr() of a float: shortest round trip, fixed between 1e-4 and 1e16.
std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  const size_t e = sci.find('e');
  const int exp = std::atoi(sci.c_str() + e + 1);
  std::string digits;
  bool neg = false;
  for (size_t i = 0; i < e; ++i) {
    if (sci[i] == '-') neg = true;
    if (std::isdigit(static_cast<unsigned char>(sci[i]))) digits += sci[i];
  }
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else {
      const size_t int_len = static_cast<size_t>(exp) + 1;
      if (digits.size() <= int_len) {
        out += digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char eb[16];
  std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  return out + eb;
}

std::string string_repr(const std::string& s) {
  const bool dq = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char q = dq ? '"' : '\'';
  std::string out(1, q);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == q || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out += ch;
    }
  }
  return out + q;
}

void json_string(std::string* out, const std::string& s) {
  *out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          *out += b;
        } else {
          *out += ch;
        }
    }
  }
  *out += '"';
}

struct JsonWriter {
  int indent;
  bool sort_keys;
  std::string out;

  void newline(int level) {
    out += '\n';
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(level), ' ');
  }

  std::string key_text(const Value& k) const {
    switch (k.kind()) {
      case Value::Kind::string:
        return k.as_string();
      case Value::Kind::none:
        return "null";
      case Value::Kind::boolean:
        return k.as_bool() ? "true" : "false";
      case Value::Kind::integer:
      case Value::Kind::floating:
        return k.str();
      default:
        throw Error(ErrorKind::bad_input, "tojson: dict keys must be strings or numbers");
    }
  }

  void write(const Value& v, int level) {
    switch (v.kind()) {
      case Value::Kind::undefined:
        throw Error(ErrorKind::bad_input, "tojson: an undefined value is not JSON serializable");
      case Value::Kind::callable:
        throw Error(ErrorKind::bad_input, "tojson: a function is not JSON serializable");
      case Value::Kind::none:
        out += "null";
        return;
      case Value::Kind::boolean:
        out += v.as_bool() ? "true" : "false";
        return;
      case Value::Kind::integer:
        out += std::to_string(v.as_int());
        return;
      case Value::Kind::floating: {
        const double d = v.as_double();
        out += std::isnan(d)   ? "NaN"
               : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity")
                               : float_repr(d);
        return;
      }
      case Value::Kind::string:
        json_string(&out, v.as_string());
        return;
      case Value::Kind::list:
        write_list(v.as_list(), level);
        return;
      case Value::Kind::dict:
        write_dict(v.as_dict(), level);
        return;
    }
  }

  void write_list(const Value::List& items, int level) {
    if (items.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += indent >= 0 ? "," : ", ";
      if (indent >= 0) newline(level + 1);
      write(items[i], level + 1);
    }
    if (indent >= 0) newline(level);
    out += ']';
  }

  void write_dict(const Value::Dict& entries, int level) {
    if (entries.empty()) {
      out += "{}";
      return;
    }
    std::vector<std::pair<std::string, const Value*>> items;
    items.reserve(entries.size());
    for (const auto& [k, v] : entries) items.emplace_back(key_text(k), &v);
    if (sort_keys) {
      std::stable_sort(items.begin(), items.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    out += '{';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += indent >= 0 ? "," : ", ";
      if (indent >= 0) newline(level + 1);
      json_string(&out, items[i].first);
      out += ": ";
      write(*items[i].second, level + 1);
    }
    if (indent >= 0) newline(level);
    out += '}';
  }
};

}  // namespace

std::string Value::str() const {
  switch (kind_) {
    case Kind::undefined:
      return {};
    case Kind::string:
      return *str_;
    default:
      return repr();
  }
}

std::string Value::repr() const {
  switch (kind_) {
    case Kind::undefined:
      return {};
    case Kind::none:
      return "None";
    case Kind::boolean:
      return int_ ? "True" : "False";
    case Kind::integer:
      return std::to_string(int_);
    case Kind::floating:
      return float_repr(float_);
    case Kind::string:
      return string_repr(*str_);
    case Kind::list: {
      std::string out = "[";
      for (size_t i = 0; i < list_->size(); ++i) out += (i ? ", " : "") + (*list_)[i].repr();
      return out + "]";
    }
    case Kind::dict: {
      std::string out = is_namespace_ ? "<Namespace {" : "{";
      for (size_t i = 0; i < dict_->size(); ++i) {
        out += (i ? ", " : "") + (*dict_)[i].first.repr() + ": " + (*dict_)[i].second.repr();
      }
      return out + (is_namespace_ ? "}>" : "}");
    }
    case Kind::callable:
      return fn_ ? "<function " + fn_->name + ">" : "<function>";
  }
  return {};
}

std::string Value::to_json(int indent, bool sort_keys) const {
  JsonWriter w{indent, sort_keys, {}};
  w.write(*this, 0);
  return std::move(w.out);
}

// ---------------------------------------------------------------------------------------
// JSON in.

namespace {

Value from_json_node(const nlohmann::ordered_json& j, int depth, std::string_view what) {
  if (depth > 256) {
    throw Error(ErrorKind::bad_input, std::string(what) + ": nested more than 256 levels");
  }
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value(nullptr);
    case nlohmann::ordered_json::value_t::boolean:
      return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Value::List items;
      items.reserve(j.size());
      for (const auto& x : j) items.push_back(from_json_node(x, depth + 1, what));
      return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value::Dict entries;
      entries.reserve(j.size());
      for (const auto& [k, x] : j.items()) {
        entries.emplace_back(Value(k), from_json_node(x, depth + 1, what));
      }
      return ValueAccess::dict_unique(std::move(entries), false);
    }
    default:
      throw Error(ErrorKind::bad_input, std::string(what) + ": unsupported JSON value");
  }
}

}  // namespace

Value Value::from_json(std::string_view json, std::string_view what) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::bad_input, std::string(what) + ": " + e.what());
  }
  return from_json_node(j, 0, what);
}

}  // namespace es::chat
