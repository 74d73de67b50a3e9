// Chat template sequence filters (map, select, sort, ...), the tests (`x is name`), and the
// string helpers they share with the methods.
#include <algorithm>

#include "errors.h"
#include "filters_impl.h"
#include "lexer.h"
#include "parser.h"

namespace es::chat::detail {

std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string strip_spaces(std::string_view s) {
  return strip_text(s, nullptr, 3);
}

std::string strip_text(std::string_view s, const Value* chars, int sides) {
  const auto strippable = [&](size_t pos, size_t* len) {
    if (!chars) {
      *len = space_len(s, pos);
      return *len > 0;
    }
    *len = 1;
    return chars->as_string().find(s[pos]) != std::string::npos;
  };
  size_t begin = 0, end = s.size(), n = 0;
  if (sides & 1) {
    while (begin < end && strippable(begin, &n)) begin += n;
  }
  if (sides & 2) {
    while (end > begin) {
      size_t start = end - 1;
      if (!chars) {
        while (start > begin && end - start < 4 &&
               (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) {
          --start;
        }
      }
      if (!strippable(start, &n) || start + n != end) break;
      end = start;
    }
  }
  return std::string(s.substr(begin, end - begin));
}

std::string replace_text(Evaluator& ev, const std::string& s, const std::string& from,
                         const std::string& to, int64_t count) {
  std::string out;
  size_t pos = 0;
  int64_t done = 0;
  if (from.empty()) {  // Python inserts `to` between characters
    for (size_t i = 0; i <= s.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < s.size()) out += s[i];
      ev.check_size(out.size());
    }
    return out;
  }
  while (count < 0 || done < count) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
    ++done;
    ev.check_size(out.size());
  }
  out.append(s, pos);
  ev.check_size(out.size());
  return out;
}

void sort_values(Evaluator& ev, Value::List* items, bool case_sensitive, bool reverse,
                 const std::function<Value(const Value&)>& key) {
  ev.tick(items->size() * 8);
  std::vector<std::pair<Value, size_t>> keyed;
  keyed.reserve(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    Value k = key((*items)[i]);
    if (!case_sensitive && k.is_string()) k = Value(ascii_lower(k.as_string()));
    keyed.emplace_back(std::move(k), i);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return reverse ? less_than(ev, b.first, a.first) : less_than(ev, a.first, b.first);
  });
  Value::List sorted;
  sorted.reserve(items->size());
  for (const auto& [k, i] : keyed) sorted.push_back((*items)[i]);
  *items = std::move(sorted);
}

namespace {

/// Follows a dotted attribute path ("function.name") or an integer index.
Value attr_path(Evaluator& ev, const Value& item, const Value& attr) {
  if (attr.kind() == Value::Kind::integer) return ev.item(item, attr);
  Value v = item;
  const std::string& path = attr.as_string();
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (v.is_undefined()) return v;
    v = ev.item(v, Value(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

/// select / reject / selectattr / rejectattr.
Value select_impl(Evaluator& ev, const Value& v, Args& a, bool by_attr, bool keep) {
  size_t next = 0;
  Value attr;
  if (by_attr) {
    if (a.pos.empty()) ev.fail("selectattr needs an attribute name");
    attr = a.pos[next++];
  }
  std::string test_name;
  if (next < a.pos.size()) test_name = a.pos[next++].str();
  if (!test_name.empty() && !test_exists(test_name)) {
    ev.unsupported("test \"" + test_name + "\"");
  }
  Args test_args;
  test_args.pos.assign(a.pos.begin() + static_cast<std::ptrdiff_t>(next), a.pos.end());
  Value::List out;
  for (const Value& item : ev.iterate(v)) {
    const Value x = by_attr ? attr_path(ev, item, attr) : item;
    const bool ok = test_name.empty() ? x.truthy() : ev.test(test_name, x, test_args);
    if (ok == keep) out.push_back(item);
  }
  return ev.make_list(std::move(out));
}

Value min_max(Evaluator& ev, const Value& v, Args& a, bool want_max) {
  const Value* cs = a.get(0, "case_sensitive");
  const Value* attr = a.get(1, "attribute");
  Value::List items = ev.iterate(v);
  if (items.empty()) return Value();
  sort_values(ev, &items, cs && cs->truthy(), false,
              [&](const Value& x) { return attr ? attr_path(ev, x, *attr) : x; });
  return want_max ? items.back() : items.front();
}

}  // namespace

Value f_map(Evaluator& ev, const Value& v, Args& a) {
  Value::List out;
  const Value* attr = nullptr;
  for (const auto& [k, val] : a.kw) {
    if (k == "attribute") attr = &val;
  }
  const Value* dflt = nullptr;
  for (const auto& [k, val] : a.kw) {
    if (k == "default") dflt = &val;
  }
  if (attr) {
    for (const Value& item : ev.iterate(v)) {
      Value x = attr_path(ev, item, *attr);
      out.push_back(x.is_undefined() && dflt ? *dflt : x);
    }
    return ev.make_list(std::move(out));
  }
  if (a.pos.empty()) ev.fail("map needs a filter name or attribute=");
  const std::string name = a.pos[0].str();
  if (!filter_exists(name)) ev.unsupported("filter \"" + name + "\"");
  Args rest;
  rest.pos.assign(a.pos.begin() + 1, a.pos.end());
  rest.kw = a.kw;
  for (const Value& item : ev.iterate(v)) out.push_back(ev.filter(name, item, rest));
  return ev.make_list(std::move(out));
}

Value f_max(Evaluator& ev, const Value& v, Args& a) {
  return min_max(ev, v, a, true);
}
Value f_min(Evaluator& ev, const Value& v, Args& a) {
  return min_max(ev, v, a, false);
}
Value f_select(Evaluator& ev, const Value& v, Args& a) {
  return select_impl(ev, v, a, false, true);
}
Value f_reject(Evaluator& ev, const Value& v, Args& a) {
  return select_impl(ev, v, a, false, false);
}
Value f_selectattr(Evaluator& ev, const Value& v, Args& a) {
  return select_impl(ev, v, a, true, true);
}
Value f_rejectattr(Evaluator& ev, const Value& v, Args& a) {
  return select_impl(ev, v, a, true, false);
}

Value f_sort(Evaluator& ev, const Value& v, Args& a) {
  const Value* rev = a.get(0, "reverse");
  const Value* cs = a.get(1, "case_sensitive");
  const Value* attr = a.get(2, "attribute");
  Value::List items = ev.iterate(v);
  sort_values(ev, &items, cs && cs->truthy(), rev && rev->truthy(),
              [&](const Value& x) { return attr ? attr_path(ev, x, *attr) : x; });
  return ev.make_list(std::move(items));
}

Value f_unique(Evaluator& ev, const Value& v, Args& a) {
  const Value* cs = a.get(0, "case_sensitive");
  const Value* attr = a.get(1, "attribute");
  Value::List out, seen;
  for (const Value& item : ev.iterate(v)) {
    Value k = attr ? attr_path(ev, item, *attr) : item;
    if (!(cs && cs->truthy()) && k.is_string()) k = Value(ascii_lower(k.as_string()));
    ev.tick(seen.size() / 16);
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
    seen.push_back(std::move(k));
    out.push_back(item);
  }
  return ev.make_list(std::move(out));
}

// ---------------------------------------------------------------------------------------
// Tests.

namespace {

using TestFn = bool (*)(Evaluator&, const Value&, const Args&);

const Value& arg0(Evaluator& ev, const Args& a, const char* test) {
  if (a.pos.empty()) ev.fail(std::string("test \"") + test + "\" needs an argument");
  return a.pos[0];
}

bool cased(const Value& v, bool upper) {
  if (!v.is_string()) return false;
  bool any = false;
  for (const char c : v.as_string()) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalpha(u)) {
      any = true;
      if ((std::isupper(u) != 0) != upper) return false;
    }
  }
  return any;
}

bool is_int_kind(const Value& v) {
  return v.kind() == Value::Kind::integer;
}

struct TestEntry {
  std::string_view name;
  TestFn fn;
};

const TestEntry test_table[] = {
    {"boolean",
     [](Evaluator&, const Value& v, const Args&) { return v.kind() == Value::Kind::boolean; }},
    {"callable",
     [](Evaluator&, const Value& v, const Args&) { return v.kind() == Value::Kind::callable; }},
    {"defined", [](Evaluator&, const Value& v, const Args&) { return !v.is_undefined(); }},
    {"undefined", [](Evaluator&, const Value& v, const Args&) { return v.is_undefined(); }},
    {"none", [](Evaluator&, const Value& v, const Args&) { return v.is_none(); }},
    {"false", [](Evaluator&, const Value& v,
                 const Args&) { return v.kind() == Value::Kind::boolean && !v.as_bool(); }},
    {"true", [](Evaluator&, const Value& v,
                const Args&) { return v.kind() == Value::Kind::boolean && v.as_bool(); }},
    {"integer", [](Evaluator&, const Value& v, const Args&) { return is_int_kind(v); }},
    {"float",
     [](Evaluator&, const Value& v, const Args&) { return v.kind() == Value::Kind::floating; }},
    {"number", [](Evaluator&, const Value& v,
                  const Args&) { return v.is_number() || v.kind() == Value::Kind::boolean; }},
    {"string", [](Evaluator&, const Value& v, const Args&) { return v.is_string(); }},
    {"mapping",
     [](Evaluator&, const Value& v, const Args&) { return v.is_dict() && !v.is_namespace(); }},
    {"iterable",
     [](Evaluator&, const Value& v, const Args&) {
       return v.is_list() || v.is_string() || v.is_undefined() ||
              (v.is_dict() && !v.is_namespace());
     }},
    {"sequence",
     [](Evaluator&, const Value& v, const Args&) {
       return v.is_list() || v.is_string() || (v.is_dict() && !v.is_namespace());
     }},
    {"escaped", [](Evaluator&, const Value&, const Args&) { return false; }},
    {"lower", [](Evaluator&, const Value& v, const Args&) { return cased(v, false); }},
    {"upper", [](Evaluator&, const Value& v, const Args&) { return cased(v, true); }},
    {"even",
     [](Evaluator& ev, const Value& v, const Args&) {
       if (!is_int_kind(v)) ev.fail("test \"even\" needs an integer");
       return v.as_int() % 2 == 0;
     }},
    {"odd",
     [](Evaluator& ev, const Value& v, const Args&) {
       if (!is_int_kind(v)) ev.fail("test \"odd\" needs an integer");
       return v.as_int() % 2 != 0;
     }},
    {"divisibleby",
     [](Evaluator& ev, const Value& v, const Args& a) {
       const Value& n = arg0(ev, a, "divisibleby");
       if (!is_int_kind(v) || !is_int_kind(n) || n.as_int() == 0) {
         ev.fail("test \"divisibleby\" needs non-zero integers");
       }
       return n.as_int() == -1 || v.as_int() % n.as_int() == 0;
     }},
    {"eq", [](Evaluator& ev, const Value& v, const Args& a) { return v == arg0(ev, a, "eq"); }},
    {"equalto",
     [](Evaluator& ev, const Value& v, const Args& a) { return v == arg0(ev, a, "equalto"); }},
    {"sameas",
     [](Evaluator& ev, const Value& v, const Args& a) {
       const Value& o = arg0(ev, a, "sameas");
       return v.kind() == o.kind() && v == o;
     }},
    {"ne", [](Evaluator& ev, const Value& v, const Args& a) { return !(v == arg0(ev, a, "ne")); }},
    {"lt", [](Evaluator& ev, const Value& v,
              const Args& a) { return less_than(ev, v, arg0(ev, a, "lt")); }},
    {"gt", [](Evaluator& ev, const Value& v,
              const Args& a) { return less_than(ev, arg0(ev, a, "gt"), v); }},
    {"le", [](Evaluator& ev, const Value& v,
              const Args& a) { return !less_than(ev, arg0(ev, a, "le"), v); }},
    {"ge", [](Evaluator& ev, const Value& v,
              const Args& a) { return !less_than(ev, v, arg0(ev, a, "ge")); }},
    {"in", [](Evaluator& ev, const Value& v,
              const Args& a) { return contains(ev, arg0(ev, a, "in"), v); }},
    {"filter", [](Evaluator&, const Value& v,
                  const Args&) { return v.is_string() && filter_exists(v.as_string()); }},
    {"test", [](Evaluator&, const Value& v,
                const Args&) { return v.is_string() && test_exists(v.as_string()); }},
};

const TestEntry* find_test(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> aliases[] = {
      {"==", "eq"}, {"!=", "ne"}, {"<", "lt"},           {">", "gt"},
      {"<=", "le"}, {">=", "ge"}, {"greaterthan", "gt"}, {"lessthan", "lt"}};
  for (const auto& [from, to] : aliases) {
    if (name == from) name = to;
  }
  for (const auto& t : test_table) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace

bool test_exists(std::string_view name) {
  return find_test(name) != nullptr;
}

bool Evaluator::test(std::string_view name, const Value& input, Args& args) {
  const TestEntry* t = find_test(name);
  if (t == nullptr) unsupported("test \"" + std::string(name) + "\"");
  return t->fn(*this, input, args);
}

}  // namespace es::chat::detail
