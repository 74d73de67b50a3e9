// Chat template filters (`x | name(args)`), with jinja2's names, arguments and defaults,
// and tojson as Hugging Face defines it (json.dumps, ensure_ascii=False, keys in order).
// Case mapping (upper, lower, title, capitalize) is ASCII-only.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "eval.h"
#include "filters_impl.h"
#include "parser.h"
#include "utf8.h"

namespace es::chat::detail {

namespace {

using FilterFn = Value (*)(Evaluator&, const Value&, Args&);

Value f_abs(Evaluator& ev, const Value& v, Args&) {
  if (v.kind() == Value::Kind::floating) return Value(std::fabs(v.as_double()));
  if (v.kind() == Value::Kind::integer || v.kind() == Value::Kind::boolean) {
    if (v.as_int() == INT64_MIN) ev.fail("integer overflow in abs");
    return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  ev.fail("bad operand type for abs(): '" + std::string(type_name(v)) + "'");
}

Value f_attr(Evaluator& ev, const Value& v, Args& a) {
  const Value* name = a.get(0, "name");
  if (!name || !name->is_string()) ev.fail("attr needs an attribute name");
  return ev.attribute(v, name->as_string());
}

Value f_capitalize(Evaluator& ev, const Value& v, Args&) {
  std::string s = ascii_lower(v.str());
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return ev.make_string(std::move(s));
}

Value f_length(Evaluator& ev, const Value& v, Args&) {
  switch (v.kind()) {
    case Value::Kind::undefined:
      return Value(0);
    case Value::Kind::string:
      return Value(static_cast<int64_t>(utf8_length(v.as_string())));
    case Value::Kind::list:
      return Value(static_cast<int64_t>(v.as_list().size()));
    case Value::Kind::dict:
      return Value(static_cast<int64_t>(v.as_dict().size()));
    default:
      ev.fail("object of type '" + std::string(type_name(v)) + "' has no length");
  }
}

Value f_default(Evaluator&, const Value& v, Args& a) {
  const Value* d = a.get(0, "default_value");
  const Value* boolean = a.get(1, "boolean");
  const bool use = v.is_undefined() || (boolean && boolean->truthy() && !v.truthy());
  if (!use) return v;
  return d ? *d : Value(std::string());
}

Value f_dictsort(Evaluator& ev, const Value& v, Args& a) {
  if (!v.is_dict()) ev.fail("dictsort needs a dict");
  const Value* cs = a.get(0, "case_sensitive");
  const Value* by = a.get(1, "by");
  const Value* rev = a.get(2, "reverse");
  const bool by_value = by && by->is_string() && by->as_string() == "value";
  if (by && !(by->is_string() && (by->as_string() == "key" || by_value))) {
    ev.fail("dictsort: 'by' must be \"key\" or \"value\"");
  }
  Value::List pairs;
  for (const auto& [k, val] : v.as_dict()) pairs.push_back(ev.make_list({k, val}));
  const size_t pos = by_value ? 1 : 0;
  sort_values(ev, &pairs, cs && cs->truthy(), rev && rev->truthy(),
              [pos](const Value& p) { return p.as_list()[pos]; });
  return ev.make_list(std::move(pairs));
}

Value f_escape(Evaluator& ev, const Value& v, Args&) {
  std::string out;
  for (const char c : v.str()) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return ev.make_string(std::move(out));
}

Value f_first(Evaluator& ev, const Value& v, Args&) {
  if (v.is_list()) return v.as_list().empty() ? Value() : v.as_list().front();
  const Value::List items = ev.iterate(v);
  return items.empty() ? Value() : items.front();
}

Value f_last(Evaluator& ev, const Value& v, Args&) {
  if (v.is_list()) return v.as_list().empty() ? Value() : v.as_list().back();
  const Value::List items = ev.iterate(v);
  return items.empty() ? Value() : items.back();
}

Value f_float(Evaluator&, const Value& v, Args& a) {
  const Value* d = a.get(0, "default");
  if (v.is_number() || v.kind() == Value::Kind::boolean) return Value(v.as_double());
  if (v.is_string()) {
    const std::string s = strip_spaces(v.as_string());
    char* end = nullptr;
    const double x = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) return Value(x);
  }
  return d ? *d : Value(0.0);
}

Value f_int(Evaluator&, const Value& v, Args& a) {
  const Value* d = a.get(0, "default");
  const Value* base = a.get(1, "base");
  if (v.kind() == Value::Kind::integer || v.kind() == Value::Kind::boolean) {
    return Value(v.as_int());
  }
  if (v.kind() == Value::Kind::floating && std::isfinite(v.as_double()) &&
      std::fabs(v.as_double()) < 9.2e18) {
    return Value(static_cast<int64_t>(v.as_double()));
  }
  if (v.is_string()) {
    const std::string s = strip_spaces(v.as_string());
    const int b =
        base && base->kind() == Value::Kind::integer ? static_cast<int>(base->as_int()) : 10;
    errno = 0;
    char* end = nullptr;
    if (b >= 2 && b <= 36 && !s.empty()) {
      const long long x = std::strtoll(s.c_str(), &end, b);
      if (errno == 0 && end == s.c_str() + s.size()) return Value(static_cast<int64_t>(x));
      const double f = std::strtod(s.c_str(), &end);
      if (end == s.c_str() + s.size() && std::isfinite(f) && std::fabs(f) < 9.2e18) {
        return Value(static_cast<int64_t>(f));
      }
    }
  }
  return d ? *d : Value(0);
}

Value f_format(Evaluator& ev, const Value& v, Args& a) {
  if (!a.kw.empty()) ev.unsupported("format with keyword arguments");
  return ev.make_string(percent_format(ev, v.str(), ev.make_list(a.pos)));
}

Value f_indent(Evaluator& ev, const Value& v, Args& a) {
  const Value* width = a.get(0, "width");
  const Value* first = a.get(1, "first");
  const Value* blank = a.get(2, "blank");
  std::string pad = "    ";
  if (width && width->is_string()) pad = width->as_string();
  if (width && width->kind() == Value::Kind::integer) {
    if (width->as_int() < 0 || width->as_int() > 1000) ev.fail("indent width out of range");
    pad.assign(static_cast<size_t>(width->as_int()), ' ');
  }
  const std::string s = v.str();
  std::string out;
  size_t start = 0;
  bool first_line = true;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    const std::string_view line(s.data() + start, nl - start);
    const bool indent_it =
        first_line ? (first && first->truthy()) : (!line.empty() || (blank && blank->truthy()));
    if (indent_it) out += pad;
    out += line;
    if (nl < s.size()) out += '\n';
    ev.check_size(out.size());
    start = nl + 1;
    first_line = false;
  }
  return ev.make_string(std::move(out));
}

Value f_items(Evaluator& ev, const Value& v, Args&) {
  if (v.is_undefined()) return ev.make_list({});
  if (!v.is_dict()) ev.fail("items needs a dict, got '" + std::string(type_name(v)) + "'");
  Value::List pairs;
  for (const auto& [k, val] : v.as_dict()) pairs.push_back(ev.make_list({k, val}));
  return ev.make_list(std::move(pairs));
}

Value f_join(Evaluator& ev, const Value& v, Args& a) {
  const Value* sep = a.get(0, "d");
  const Value* attr = a.get(1, "attribute");
  const std::string d = sep ? sep->str() : std::string();
  std::string out;
  bool first = true;
  for (const Value& item : ev.iterate(v)) {
    if (!first) out += d;
    first = false;
    out += attr ? ev.attribute(item, attr->str()).str() : item.str();
    ev.check_size(out.size());
  }
  return Value(std::move(out));
}

Value f_list(Evaluator& ev, const Value& v, Args&) {
  if (v.is_list()) return v;
  return ev.make_list(ev.iterate(v));
}

Value f_lower(Evaluator& ev, const Value& v, Args&) {
  return ev.make_string(ascii_lower(v.str()));
}

Value f_upper(Evaluator& ev, const Value& v, Args&) {
  std::string s = v.str();
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return ev.make_string(std::move(s));
}

Value f_title(Evaluator& ev, const Value& v, Args&) {
  std::string s = v.str();
  bool prev_cased = false;
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    c = static_cast<char>(prev_cased ? std::tolower(u) : std::toupper(u));
    prev_cased = std::isalpha(u) || u >= 0x80 || std::isdigit(u) || c == '\'';
  }
  return ev.make_string(std::move(s));
}

Value f_replace(Evaluator& ev, const Value& v, Args& a) {
  const Value* from = a.get(0, "old");
  const Value* to = a.get(1, "new");
  const Value* count = a.get(2, "count");
  if (!from || !to) ev.fail("replace needs two arguments");
  return ev.make_string(
      replace_text(ev, v.str(), from->str(), to->str(), count ? count->as_int() : -1));
}

Value f_reverse(Evaluator& ev, const Value& v, Args&) {
  Value::List items = ev.iterate(v);
  std::reverse(items.begin(), items.end());
  if (!v.is_string()) return ev.make_list(std::move(items));
  std::string s;
  for (const Value& c : items) s += c.as_string();
  return ev.make_string(std::move(s));
}

Value f_round(Evaluator& ev, const Value& v, Args& a) {
  const Value* prec = a.get(0, "precision");
  const Value* method = a.get(1, "method");
  if (!v.is_number() && v.kind() != Value::Kind::boolean) ev.fail("round needs a number");
  const int64_t p = prec ? prec->as_int() : 0;
  if (p < -20 || p > 20) ev.fail("round precision out of range");
  const double scale = std::pow(10.0, static_cast<double>(p));
  const double x = v.as_double() * scale;
  const std::string m = method ? method->str() : "common";
  double r = 0;
  if (m == "common") {
    r = std::nearbyint(x);
  } else if (m == "ceil") {
    r = std::ceil(x);
  } else if (m == "floor") {
    r = std::floor(x);
  } else {
    ev.fail("round method must be common, ceil or floor");
  }
  return Value(r / scale);
}

Value f_safe(Evaluator&, const Value& v, Args&) {
  return v;
}

Value f_string(Evaluator& ev, const Value& v, Args&) {
  if (v.is_string()) return v;
  return ev.make_string(v.str());
}

Value f_sum(Evaluator& ev, const Value& v, Args& a) {
  const Value* attr = a.get(0, "attribute");
  const Value* start = a.get(1, "start");
  Value total = start ? *start : Value(0);
  for (const Value& item : ev.iterate(v)) {
    total = arithmetic(ev, BinOp::add, total, attr ? ev.attribute(item, attr->str()) : item);
  }
  return total;
}

Value f_tojson(Evaluator& ev, const Value& v, Args& a) {
  const Value* indent = a.get(0, "indent");
  const Value* ascii = a.get(1, "ensure_ascii");
  const Value* seps = a.get(2, "separators");
  const Value* sort = a.get(3, "sort_keys");
  if (ascii && ascii->truthy()) ev.unsupported("tojson with ensure_ascii");
  if (seps && !seps->is_none()) ev.unsupported("tojson with separators");
  int ind = -1;
  if (indent && indent->kind() == Value::Kind::integer) {
    if (indent->as_int() < 0 || indent->as_int() > 64) ev.fail("tojson indent out of range");
    ind = static_cast<int>(indent->as_int());
  }
  if (v.depth() > ev.limits().max_depth) ev.fail("values nest too deeply");
  try {
    return ev.make_string(v.to_json(ind, sort && sort->truthy()));
  } catch (const Error& e) {
    ev.fail(e.what());
  }
}

Value f_trim(Evaluator& ev, const Value& v, Args& a) {
  const Value* chars = a.get(0, "chars");
  return ev.make_string(strip_text(v.str(), chars && !chars->is_none() ? chars : nullptr, 3));
}

Value f_wordcount(Evaluator&, const Value& v, Args&) {
  int64_t n = 0;
  bool in_word = false;
  for (const char c : v.str()) {
    const auto u = static_cast<unsigned char>(c);
    const bool w = std::isalnum(u) || c == '_' || u >= 0x80;
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value(n);
}

struct FilterEntry {
  std::string_view name;
  FilterFn fn;
};

constexpr FilterEntry filter_table[] = {
    {"abs", f_abs},
    {"attr", f_attr},
    {"capitalize", f_capitalize},
    {"count", f_length},
    {"d", f_default},
    {"default", f_default},
    {"dictsort", f_dictsort},
    {"e", f_escape},
    {"escape", f_escape},
    {"first", f_first},
    {"float", f_float},
    {"forceescape", f_escape},
    {"format", f_format},
    {"indent", f_indent},
    {"int", f_int},
    {"items", f_items},
    {"join", f_join},
    {"last", f_last},
    {"length", f_length},
    {"list", f_list},
    {"lower", f_lower},
    {"map", f_map},
    {"max", f_max},
    {"min", f_min},
    {"reject", f_reject},
    {"rejectattr", f_rejectattr},
    {"replace", f_replace},
    {"reverse", f_reverse},
    {"round", f_round},
    {"safe", f_safe},
    {"select", f_select},
    {"selectattr", f_selectattr},
    {"sort", f_sort},
    {"string", f_string},
    {"sum", f_sum},
    {"title", f_title},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"unique", f_unique},
    {"upper", f_upper},
    {"wordcount", f_wordcount},
};

const FilterEntry* find_filter(std::string_view name) {
  for (const auto& f : filter_table) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

bool filter_exists(std::string_view name) {
  return find_filter(name) != nullptr;
}

Value Evaluator::filter(std::string_view name, const Value& input, Args& args) {
  const FilterEntry* f = find_filter(name);
  if (f == nullptr) unsupported("filter \"" + std::string(name) + "\"");
  return f->fn(*this, input, args);
}

}  // namespace es::chat::detail
