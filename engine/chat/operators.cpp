// Chat template operators with Python's semantics: arithmetic on ints (overflow is an
// error, not wrap-around), floats, strings and lists; ordering; `in`; slicing; and
// printf-style `%` formatting.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "eval.h"
#include "utf8.h"

namespace es::chat::detail {

std::string_view type_name(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::undefined:
      return "undefined";
    case Value::Kind::none:
      return "NoneType";
    case Value::Kind::boolean:
      return "bool";
    case Value::Kind::integer:
      return "int";
    case Value::Kind::floating:
      return "float";
    case Value::Kind::string:
      return "str";
    case Value::Kind::list:
      return "list";
    case Value::Kind::dict:
      return v.is_namespace() ? "namespace" : "dict";
    case Value::Kind::callable:
      return "function";
  }
  return "?";
}

namespace {

bool is_numeric(const Value& v) {
  return v.kind() == Value::Kind::integer || v.kind() == Value::Kind::boolean ||
         v.kind() == Value::Kind::floating;
}
bool is_int(const Value& v) {
  return v.kind() == Value::Kind::integer || v.kind() == Value::Kind::boolean;
}

[[noreturn]] void bad_operands(Evaluator& ev, std::string_view op, const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) {
    ev.fail("an undefined value in '" + std::string(op) + "'");
  }
  ev.fail("unsupported operand types for " + std::string(op) + ": '" + std::string(type_name(a)) +
          "' and '" + std::string(type_name(b)) + "'");
}

std::string_view op_text(BinOp op) {
  switch (op) {
    case BinOp::add:
      return "+";
    case BinOp::sub:
      return "-";
    case BinOp::mul:
      return "*";
    case BinOp::div:
      return "/";
    case BinOp::floordiv:
      return "//";
    case BinOp::mod:
      return "%";
    case BinOp::pow:
      return "**";
    default:
      return "?";
  }
}

Value int_arith(Evaluator& ev, BinOp op, int64_t a, int64_t b) {
  int64_t r = 0;
  bool overflow = false;
  switch (op) {
    case BinOp::add:
      overflow = __builtin_add_overflow(a, b, &r);
      break;
    case BinOp::sub:
      overflow = __builtin_sub_overflow(a, b, &r);
      break;
    case BinOp::mul:
      overflow = __builtin_mul_overflow(a, b, &r);
      break;
    case BinOp::div:
      if (b == 0) ev.fail("division by zero");
      return Value(static_cast<double>(a) / static_cast<double>(b));
    case BinOp::floordiv:
    case BinOp::mod: {
      if (b == 0) ev.fail("integer division or modulo by zero");
      if (a == INT64_MIN && b == -1) {
        if (op == BinOp::mod) return Value(int64_t{0});
        ev.fail("integer overflow");
      }
      int64_t q = a / b, m = a % b;
      if (m != 0 && ((m < 0) != (b < 0))) {
        --q;
        m += b;
      }
      return Value(op == BinOp::mod ? m : q);
    }
    case BinOp::pow: {
      if (b < 0) return Value(std::pow(static_cast<double>(a), static_cast<double>(b)));
      r = 1;
      for (int64_t base = a, e = b; e > 0 && !overflow; e >>= 1) {
        if (e & 1) overflow = __builtin_mul_overflow(r, base, &r);
        if (e > 1 && !overflow) overflow = __builtin_mul_overflow(base, base, &base);
      }
      break;
    }
    default:
      break;
  }
  if (overflow) ev.fail("integer overflow in '" + std::string(op_text(op)) + "'");
  return Value(r);
}

Value float_arith(Evaluator& ev, BinOp op, double a, double b) {
  switch (op) {
    case BinOp::add:
      return Value(a + b);
    case BinOp::sub:
      return Value(a - b);
    case BinOp::mul:
      return Value(a * b);
    case BinOp::div:
      if (b == 0) ev.fail("float division by zero");
      return Value(a / b);
    case BinOp::floordiv:
      if (b == 0) ev.fail("float floor division by zero");
      return Value(std::floor(a / b));
    case BinOp::mod: {
      if (b == 0) ev.fail("float modulo by zero");
      double m = std::fmod(a, b);
      if (m != 0 && ((m < 0) != (b < 0))) m += b;
      return Value(m);
    }
    case BinOp::pow:
      return Value(std::pow(a, b));
    default:
      return Value();
  }
}

Value repeat(Evaluator& ev, const Value& seq, int64_t n) {
  if (n <= 0) return seq.is_string() ? Value(std::string()) : ev.make_list({});
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    const auto times = static_cast<uint64_t>(n);
    if (!s.empty() && times > UINT64_MAX / 2 / s.size()) ev.fail("string repetition too large");
    const uint64_t total = s.size() * times;
    ev.check_size(total);
    std::string out;
    out.reserve(static_cast<size_t>(total));
    for (int64_t i = 0; i < n; ++i) out += s;
    return Value(std::move(out));
  }
  const Value::List& items = seq.as_list();
  const auto times = static_cast<uint64_t>(n);
  const uint64_t cap = ev.limits().max_alloc_bytes / sizeof(Value);
  if (!items.empty() && times > cap / items.size()) ev.fail("list repetition too large");
  const uint64_t total = items.size() * times;
  Value::List out;
  out.reserve(static_cast<size_t>(total));
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return ev.make_list(std::move(out));
}

}  // namespace

Value arithmetic(Evaluator& ev, BinOp op, const Value& a, const Value& b) {
  if (is_int(a) && is_int(b)) return int_arith(ev, op, a.as_int(), b.as_int());
  if (is_numeric(a) && is_numeric(b)) return float_arith(ev, op, a.as_double(), b.as_double());
  if (op == BinOp::add && a.is_string() && b.is_string()) {
    ev.check_size(a.as_string().size() + b.as_string().size());
    return Value(a.as_string() + b.as_string());
  }
  if (op == BinOp::add && a.is_list() && b.is_list()) {
    Value::List items = a.as_list();
    items.insert(items.end(), b.as_list().begin(), b.as_list().end());
    return ev.make_list(std::move(items));
  }
  if (op == BinOp::mul && (a.is_string() || a.is_list()) && is_int(b)) {
    return repeat(ev, a, b.as_int());
  }
  if (op == BinOp::mul && is_int(a) && (b.is_string() || b.is_list())) {
    return repeat(ev, b, a.as_int());
  }
  if (op == BinOp::mod && a.is_string())
    return ev.make_string(percent_format(ev, a.as_string(), b));
  bad_operands(ev, op_text(op), a, b);
}

bool less_than(Evaluator& ev, const Value& a, const Value& b) {
  if (is_numeric(a) && is_numeric(b)) {
    if (is_int(a) && is_int(b)) return a.as_int() < b.as_int();
    return a.as_double() < b.as_double();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  if (a.is_list() && b.is_list()) {
    const auto& x = a.as_list();
    const auto& y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!(x[i] == y[i])) return less_than(ev, x[i], y[i]);
    }
    return x.size() < y.size();
  }
  if (a.is_undefined() || b.is_undefined()) ev.fail("an undefined value in a comparison");
  ev.fail("'<' is not supported between '" + std::string(type_name(a)) + "' and '" +
          std::string(type_name(b)) + "'");
}

bool contains(Evaluator& ev, const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::string:
      if (!item.is_string()) {
        ev.fail("'in <string>' requires a string, not '" + std::string(type_name(item)) + "'");
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::list:
      ev.tick(container.as_list().size() / 16);
      return std::find(container.as_list().begin(), container.as_list().end(), item) !=
             container.as_list().end();
    case Value::Kind::dict:
      ev.tick(container.as_dict().size() / 16);
      return std::any_of(container.as_dict().begin(), container.as_dict().end(),
                         [&](const auto& e) { return e.first == item; });
    case Value::Kind::undefined:
      return false;
    default:
      ev.fail("argument of type '" + std::string(type_name(container)) + "' is not iterable");
  }
}

Value slice_value(Evaluator& ev, const Value& v, const Value& start, const Value& stop,
                  const Value& step) {
  const auto as_index = [&](const Value& x, const char* what) -> std::optional<int64_t> {
    if (x.is_none()) return std::nullopt;
    if (!is_int(x)) ev.fail(std::string("slice ") + what + " must be an integer or none");
    return x.as_int();
  };
  const int64_t st = as_index(step, "step").value_or(1);
  if (st == 0) ev.fail("slice step cannot be zero");
  std::vector<size_t> offs;
  int64_t n = 0;
  if (v.is_string()) {
    offs = utf8_offsets(v.as_string());
    n = static_cast<int64_t>(offs.size()) - 1;
  } else {
    n = static_cast<int64_t>(v.as_list().size());
  }
  const auto clamp = [&](std::optional<int64_t> x, int64_t dflt) {
    if (!x) return dflt;
    int64_t i = *x;
    if (i < 0) i = i < -n ? (st > 0 ? 0 : -1) : i + n;
    if (i >= n) i = st > 0 ? n : n - 1;
    return i;
  };
  const int64_t lo = clamp(as_index(start, "start"), st > 0 ? 0 : n - 1);
  const int64_t hi = clamp(as_index(stop, "stop"), st > 0 ? n : -1);
  std::vector<int64_t> idx;
  for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) {
    idx.push_back(i);
    if ((st > 0 && i > INT64_MAX - st) || (st < 0 && i < INT64_MIN - st)) break;
  }
  ev.tick(idx.size() / 16);
  if (v.is_string()) {
    std::string out;
    for (const int64_t i : idx) {
      const auto u = static_cast<size_t>(i);
      out.append(v.as_string(), offs[u], offs[u + 1] - offs[u]);
    }
    return ev.make_string(std::move(out));
  }
  Value::List out;
  out.reserve(idx.size());
  for (const int64_t i : idx) out.push_back(v.as_list()[static_cast<size_t>(i)]);
  return ev.make_list(std::move(out));
}

namespace {

/// One %-conversion: flags, width, precision and type.
std::string format_one(Evaluator& ev, const std::string& spec, char type, const Value& arg) {
  std::string fmt = "%" + spec;
  char buf[512];
  for (size_t i = 0; i < spec.size();) {  // width and precision at most 100 each
    if (!std::isdigit(static_cast<unsigned char>(spec[i]))) {
      ++i;
      continue;
    }
    char* end = nullptr;
    if (std::strtoul(spec.c_str() + i, &end, 10) > 100) ev.fail("format width too large");
    i = static_cast<size_t>(end - spec.c_str());
  }
  switch (type) {
    case 's':
    case 'r':
    case 'a': {
      std::string out = type == 's' ? arg.str() : arg.repr();
      const size_t digit = spec.find_first_of("123456789");
      const size_t dot = spec.find('.');
      const size_t w = digit != std::string::npos && digit < dot
                           ? std::strtoul(spec.c_str() + digit, nullptr, 10)
                           : 0;
      if (dot != std::string::npos) {
        const size_t prec = std::strtoul(spec.c_str() + dot + 1, nullptr, 10);
        const std::vector<size_t> offs = utf8_offsets(out);
        if (prec + 1 < offs.size()) out.resize(offs[prec]);
      }
      const size_t len = utf8_length(out);
      if (len < w) {
        const bool left = spec.find('-') != std::string::npos;
        out = left ? out + std::string(w - len, ' ') : std::string(w - len, ' ') + out;
      }
      return out;
    }
    case 'd':
    case 'i':
    case 'u':
      if (!is_numeric(arg)) ev.fail("%d format: a number is required");
      fmt += "lld";
      std::snprintf(buf, sizeof buf, fmt.c_str(),
                    static_cast<long long>(is_int(arg) ? arg.as_int()
                                                       : static_cast<int64_t>(arg.as_double())));
      return buf;
    case 'x':
    case 'X':
    case 'o':
      if (!is_int(arg)) ev.fail(std::string("%") + type + " format: an integer is required");
      fmt += "ll";
      fmt += type;
      std::snprintf(buf, sizeof buf, fmt.c_str(), static_cast<long long>(arg.as_int()));
      return buf;
    case 'c':
      if (arg.is_string()) return arg.as_string();
      if (!is_int(arg)) ev.fail("%c requires an int or a character");
      {
        std::string out;
        append_utf8(&out, static_cast<uint32_t>(arg.as_int()));
        return out;
      }
    default:  // e E f F g G
      if (!is_numeric(arg)) ev.fail(std::string("%") + type + " format: a number is required");
      fmt += type;
      std::snprintf(buf, sizeof buf, fmt.c_str(), arg.as_double());
      return buf;
  }
}

}  // namespace

std::string percent_format(Evaluator& ev, const std::string& format, const Value& args) {
  const Value::List single{args};
  const Value::List& list = args.is_list() ? args.as_list() : single;
  if (args.is_dict()) ev.unsupported("'%' formatting with a mapping");
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    size_t j = i + 1;
    while (j < format.size() && std::string_view("-+ #0").find(format[j]) != std::string::npos) {
      ++j;
    }
    while (j < format.size() &&
           (std::isdigit(static_cast<unsigned char>(format[j])) || format[j] == '.')) {
      ++j;
    }
    if (j >= format.size()) ev.fail("incomplete format");
    const char type = format[j];
    const std::string spec = format.substr(i + 1, j - i - 1);
    if (spec.size() > 16) ev.fail("format specification too long");
    if (type == '%') {
      out += '%';
    } else if (std::string_view("sradiuxXocfFeEgG").find(type) == std::string_view::npos) {
      ev.fail(std::string("unsupported format character '") + type + "'");
    } else {
      if (next >= list.size()) ev.fail("not enough arguments for format string");
      out += format_one(ev, spec, type, list[next++]);
    }
    ev.check_size(out.size());
    i = j;
  }
  if (next < list.size() && args.is_list()) {
    ev.fail("not all arguments converted during string formatting");
  }
  return out;
}

}  // namespace es::chat::detail
