// Python methods of template strings, dicts and lists (the read-only ones jinja2's
// immutable sandbox allows), and the global functions Hugging Face's chat template
// environment defines: range, namespace, dict, raise_exception, strftime_now.
#include <algorithm>
#include <ctime>

#include "errors.h"
#include "filters_impl.h"
#include "lexer.h"
#include "utf8.h"

namespace es::chat::detail {

namespace {

constexpr std::string_view string_methods[] = {
    "startswith", "endswith", "strip",        "lstrip",      "rstrip",  "split",      "rsplit",
    "splitlines", "replace",  "upper",        "lower",       "title",   "capitalize", "find",
    "rfind",      "count",    "join",         "isdigit",     "isalpha", "isalnum",    "isspace",
    "isupper",    "islower",  "removeprefix", "removesuffix"};
constexpr std::string_view dict_methods[] = {"get", "items", "keys", "values"};
constexpr std::string_view list_methods[] = {"count", "index"};

template <size_t N>
bool listed(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

const std::string& str_arg(Evaluator& ev, const Args& a, size_t i, const char* name,
                           const char* method) {
  const Value* v = a.get(i, name);
  if (!v || !v->is_string()) ev.fail(std::string(method) + "() needs a string argument");
  return v->as_string();
}

/// Python str.split / rsplit.
Value split(Evaluator& ev, const std::string& s, const Args& a, bool from_right) {
  const Value* sep = a.get(0, "sep");
  const Value* maxv = a.get(1, "maxsplit");
  int64_t max = maxv ? maxv->as_int() : -1;
  std::vector<std::string> parts;
  if (!sep || sep->is_none()) {
    std::vector<std::pair<size_t, size_t>> words;  // whitespace-separated runs
    for (size_t i = 0; i < s.size();) {
      if (size_t n = space_len(s, i)) {
        i += n;
        continue;
      }
      const size_t b = i;
      while (i < s.size() && space_len(s, i) == 0) ++i;
      words.emplace_back(b, i);
    }
    const auto n = static_cast<int64_t>(words.size());
    if (max < 0 || max >= n - 1) {
      for (const auto& [b, e] : words) parts.push_back(s.substr(b, e - b));
    } else if (!from_right) {
      for (int64_t i = 0; i < max; ++i)
        parts.push_back(s.substr(words[i].first, words[i].second - words[i].first));
      parts.push_back(strip_text(std::string_view(s).substr(words[max].first), nullptr, 2));
    } else {
      const size_t first = static_cast<size_t>(n - max);
      parts.push_back(
          strip_text(std::string_view(s).substr(0, words[first - 1].second), nullptr, 1));
      for (size_t i = first; i < words.size(); ++i) {
        parts.push_back(s.substr(words[i].first, words[i].second - words[i].first));
      }
    }
  } else {
    const std::string& d = sep->str();
    if (d.empty()) ev.fail("split(): empty separator");
    if (!from_right) {
      size_t pos = 0;
      for (size_t hit; (max < 0 || static_cast<int64_t>(parts.size()) < max) &&
                       (hit = s.find(d, pos)) != std::string::npos;) {
        parts.push_back(s.substr(pos, hit - pos));
        pos = hit + d.size();
      }
      parts.push_back(s.substr(pos));
    } else {
      size_t end = s.size();
      std::vector<std::string> rev;
      while (max < 0 || static_cast<int64_t>(rev.size()) < max) {
        if (end < d.size()) break;
        const size_t hit = s.rfind(d, end - d.size());
        if (hit == std::string::npos) break;
        rev.push_back(s.substr(hit + d.size(), end - hit - d.size()));
        end = hit;
      }
      rev.push_back(s.substr(0, end));
      parts.assign(rev.rbegin(), rev.rend());
    }
  }
  Value::List items;
  items.reserve(parts.size());
  ev.charge(parts.size() * 64 + s.size());
  for (auto& p : parts) items.emplace_back(std::move(p));
  return ev.make_list(std::move(items));
}

Value splitlines(Evaluator& ev, const std::string& s, const Args& a) {
  const Value* keep = a.get(0, "keepends");
  Value::List items;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\n' && s[i] != '\r') continue;
    size_t end = i + 1;
    if (s[i] == '\r' && end < s.size() && s[end] == '\n') ++end;
    items.emplace_back(s.substr(start, (keep && keep->truthy() ? end : i) - start));
    start = end;
    i = end - 1;
  }
  if (start < s.size()) items.emplace_back(s.substr(start));
  ev.charge(items.size() * 64 + s.size());
  return ev.make_list(std::move(items));
}

bool affix(Evaluator& ev, const std::string& s, const Args& a, bool prefix) {
  const Value* v = a.get(0, prefix ? "prefix" : "suffix");
  if (a.pos.size() > 1)
    ev.unsupported(prefix ? "startswith() with start/end" : "endswith() with start/end");
  const auto one = [&](const Value& x) {
    if (!x.is_string())
      ev.fail(prefix ? "startswith() needs a string" : "endswith() needs a string");
    const std::string& p = x.as_string();
    if (p.size() > s.size()) return false;
    return prefix ? s.compare(0, p.size(), p) == 0
                  : s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  if (!v) ev.fail("startswith()/endswith() needs an argument");
  if (v->is_list()) {
    return std::any_of(v->as_list().begin(), v->as_list().end(), one);
  }
  return one(*v);
}

bool char_class(const std::string& s, int (*pred)(int)) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return pred(static_cast<unsigned char>(c)) != 0; });
}

Value string_method(Evaluator& ev, const std::string& s, const std::string& name, Args& a) {
  if (name == "startswith" || name == "endswith")
    return Value(affix(ev, s, a, name == "startswith"));
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const Value* chars = a.get(0, "chars");
    const int sides = name == "strip" ? 3 : name == "lstrip" ? 1 : 2;
    return ev.make_string(strip_text(s, chars && !chars->is_none() ? chars : nullptr, sides));
  }
  if (name == "split" || name == "rsplit") return split(ev, s, a, name == "rsplit");
  if (name == "splitlines") return splitlines(ev, s, a);
  if (name == "replace") {
    const Value* count = a.get(2, "count");
    return ev.make_string(replace_text(ev, s, str_arg(ev, a, 0, "old", "replace"),
                                       str_arg(ev, a, 1, "new", "replace"),
                                       count ? count->as_int() : -1));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    Args none;
    return ev.filter(name, Value(s), none);
  }
  if (name == "find" || name == "rfind" || name == "count") {
    const std::string& sub = str_arg(ev, a, 0, "sub", name.c_str());
    if (name == "count") {
      if (sub.empty()) return Value(static_cast<int64_t>(utf8_length(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value(n);
    }
    const size_t p = name == "find" ? s.find(sub) : s.rfind(sub);
    if (p == std::string::npos) return Value(int64_t{-1});
    return Value(static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, p))));
  }
  if (name == "join") {
    const Value* items = a.get(0, "iterable");
    if (!items) ev.fail("join() needs an argument");
    std::string out;
    bool first = true;
    for (const Value& x : ev.iterate(*items)) {
      if (!x.is_string()) ev.fail("join(): items must be strings");
      if (!first) out += s;
      first = false;
      out += x.as_string();
      ev.check_size(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "isdigit") return Value(char_class(s, isdigit));
  if (name == "isalpha") return Value(char_class(s, isalpha));
  if (name == "isalnum") return Value(char_class(s, isalnum));
  if (name == "isspace") return Value(!s.empty() && strip_spaces(s).empty());
  if (name == "isupper" || name == "islower") {
    Args none;
    return Value(ev.test(name == "isupper" ? "upper" : "lower", Value(s), none));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    const std::string& p = str_arg(ev, a, 0, "prefix", name.c_str());
    if (p.size() <= s.size()) {
      if (name == "removeprefix" && s.compare(0, p.size(), p) == 0)
        return Value(s.substr(p.size()));
      if (name == "removesuffix" && s.compare(s.size() - p.size(), p.size(), p) == 0) {
        return Value(s.substr(0, s.size() - p.size()));
      }
    }
    return Value(s);
  }
  ev.unsupported("method \"" + name + "\" of str");
}

Value dict_method(Evaluator& ev, const Value& self, const std::string& name, Args& a) {
  if (name == "get") {
    const Value* key = a.get(0, "key");
    const Value* dflt = a.get(1, "default");
    if (!key) ev.fail("get() needs a key");
    for (const auto& [k, v] : self.as_dict()) {
      if (k == *key) return v;
    }
    return dflt ? *dflt : Value(nullptr);
  }
  Value::List out;
  for (const auto& [k, v] : self.as_dict()) {
    if (name == "keys") {
      out.push_back(k);
    } else if (name == "values") {
      out.push_back(v);
    } else {
      out.push_back(ev.make_list({k, v}));
    }
  }
  return ev.make_list(std::move(out));
}

Value list_method(Evaluator& ev, const Value& self, const std::string& name, Args& a) {
  const Value* x = a.get(0, "value");
  if (!x) ev.fail(name + "() needs an argument");
  const auto& items = self.as_list();
  ev.tick(items.size() / 16);
  if (name == "count")
    return Value(static_cast<int64_t>(std::count(items.begin(), items.end(), *x)));
  const auto it = std::find(items.begin(), items.end(), *x);
  if (it == items.end()) ev.fail("list.index(x): x not in list");
  return Value(static_cast<int64_t>(it - items.begin()));
}

// ---------------------------------------------------------------------------------------
// Globals.

Value g_range(Evaluator& ev, Args& a) {
  if (a.pos.empty() || a.pos.size() > 3 || !a.kw.empty()) ev.fail("range() takes 1 to 3 integers");
  for (const Value& v : a.pos) {
    if (v.kind() != Value::Kind::integer && v.kind() != Value::Kind::boolean) {
      ev.fail("range() takes integers, not '" + std::string(type_name(v)) + "'");
    }
  }
  const int64_t start = a.pos.size() > 1 ? a.pos[0].as_int() : 0;
  const int64_t stop = a.pos.size() > 1 ? a.pos[1].as_int() : a.pos[0].as_int();
  const int64_t step = a.pos.size() > 2 ? a.pos[2].as_int() : 1;
  if (step == 0) ev.fail("range() step must not be zero");
  const bool up = step > 0;
  const uint64_t span =
      up ? (stop > start ? static_cast<uint64_t>(stop) - static_cast<uint64_t>(start) : 0)
         : (start > stop ? static_cast<uint64_t>(start) - static_cast<uint64_t>(stop) : 0);
  const uint64_t mag = up ? static_cast<uint64_t>(step) : 0 - static_cast<uint64_t>(step);
  const uint64_t count = span / mag + (span % mag != 0 ? 1 : 0);
  if (count > ev.limits().max_steps || count > ev.limits().max_alloc_bytes / sizeof(Value)) {
    ev.fail("range() too large");
  }
  ev.tick(count);
  Value::List items;
  items.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    items.emplace_back(
        static_cast<int64_t>(static_cast<uint64_t>(start) + i * static_cast<uint64_t>(step)));
  }
  return ev.make_list(std::move(items));
}

Value::Dict kwargs_dict(Evaluator& ev, Args& a, const char* fn) {
  Value::Dict d;
  if (a.pos.size() > 1) ev.fail(std::string(fn) + "() takes at most one positional argument");
  if (!a.pos.empty()) {
    if (!a.pos[0].is_dict()) ev.fail(std::string(fn) + "() needs a dict or keyword arguments");
    d = a.pos[0].as_dict();
  }
  for (auto& [k, v] : a.kw) {
    const Value key(k);
    auto it = std::find_if(d.begin(), d.end(), [&](const auto& e) { return e.first == key; });
    if (it != d.end()) {
      it->second = v;
    } else {
      d.emplace_back(key, v);
    }
  }
  return d;
}

Value g_namespace(Evaluator& ev, Args& a) {
  Value::Dict d = kwargs_dict(ev, a, "namespace");
  for (const auto& [k, v] : d) {
    if (v.holds_namespace()) ev.unsupported("storing a namespace inside a namespace");
  }
  return ev.make_dict(std::move(d), true);
}

Value g_dict(Evaluator& ev, Args& a) {
  return ev.make_dict(kwargs_dict(ev, a, "dict"));
}

Value g_raise_exception(Evaluator& ev, Args& a) {
  const std::string msg = a.pos.empty() ? std::string("raise_exception()") : a.pos[0].str();
  throw TemplateRaised("chat template line " + std::to_string(ev.line()) + ": " + msg);
}

Value g_strftime_now(Evaluator& ev, Args& a) {
  const Value* fmt = a.get(0, "format");
  if (!fmt || !fmt->is_string() || fmt->as_string().size() > 256) {
    ev.fail("strftime_now() needs a format string (at most 256 bytes)");
  }
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[2048];
  const size_t n = std::strftime(buf, sizeof buf, fmt->as_string().c_str(), &tm);
  return Value(std::string(buf, n));
}

Value builtin(const char* name, Callable::BuiltinFn fn) {
  auto c = std::make_shared<Callable>();
  c->type = Callable::Type::builtin;
  c->name = name;
  c->fn = fn;
  return Value::callable(std::move(c));
}

}  // namespace

bool has_method(const Value& self, std::string_view name) {
  switch (self.kind()) {
    case Value::Kind::string:
      return listed(string_methods, name);
    case Value::Kind::dict:
      return !self.is_namespace() && listed(dict_methods, name);
    case Value::Kind::list:
      return listed(list_methods, name);
    default:
      return false;
  }
}

Value call_method(Evaluator& ev, const Value& self, const std::string& name, Args& args) {
  if (name == "cycle" && self.kind() == Value::Kind::integer) {  // loop.cycle(a, b, ...)
    if (args.pos.empty()) ev.fail("loop.cycle() needs arguments");
    const auto n = static_cast<int64_t>(args.pos.size());
    return args.pos[static_cast<size_t>(self.as_int() % n)];
  }
  switch (self.kind()) {
    case Value::Kind::string:
      return string_method(ev, self.as_string(), name, args);
    case Value::Kind::dict:
      return dict_method(ev, self, name, args);
    case Value::Kind::list:
      return list_method(ev, self, name, args);
    default:
      ev.unsupported("method \"" + name + "\" of " + std::string(type_name(self)));
  }
}

void add_globals(std::vector<std::pair<std::string, Value>>* vars) {
  static const Value range = builtin("range", g_range);
  static const Value ns = builtin("namespace", g_namespace);
  static const Value dict = builtin("dict", g_dict);
  static const Value raise = builtin("raise_exception", g_raise_exception);
  static const Value now = builtin("strftime_now", g_strftime_now);
  vars->emplace_back("range", range);
  vars->emplace_back("namespace", ns);
  vars->emplace_back("dict", dict);
  vars->emplace_back("raise_exception", raise);
  vars->emplace_back("strftime_now", now);
}

}  // namespace es::chat::detail
