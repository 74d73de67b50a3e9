// Chat template evaluator: statements, scopes, limits and calls.
#include "eval.h"

#include <algorithm>

#include "errors.h"

namespace es::chat::detail {

/// Counts nested evaluation (C++ recursion) and refuses too much.
class Nest {
 public:
  explicit Nest(Evaluator& ev) : ev_(ev) {
    if (++ev_.nesting_ > max_nesting) ev_.fail("template nests too deeply");
  }
  ~Nest() { --ev_.nesting_; }
  Nest(const Nest&) = delete;
  Nest& operator=(const Nest&) = delete;

 private:
  /// Bounds C++ recursion (each level is a few frames), well inside an 8 MiB stack.
  static constexpr uint32_t max_nesting = 600;
  Evaluator& ev_;
};

const Value* Args::get(size_t i, std::string_view name) const {
  if (i < pos.size()) return &pos[i];
  for (const auto& [k, v] : kw) {
    if (k == name) return &v;
  }
  return nullptr;
}

void Evaluator::tick(uint64_t n) {
  steps_ += n;
  if (steps_ > limits_.max_steps) {
    fail("evaluation exceeds the limit of " + std::to_string(limits_.max_steps) +
         " steps (an endless loop?)");
  }
}

void Evaluator::charge(uint64_t bytes) {
  alloc_bytes_ += bytes;
  if (alloc_bytes_ > limits_.max_alloc_bytes) {
    fail("evaluation allocates more than " + std::to_string(limits_.max_alloc_bytes) + " bytes");
  }
}

void Evaluator::check_size(uint64_t n_bytes) {
  if (n_bytes > limits_.max_output_bytes) {
    fail("a string of " + std::to_string(n_bytes) + " bytes exceeds the limit of " +
         std::to_string(limits_.max_output_bytes));
  }
  charge(n_bytes);
  tick(n_bytes / 4096);
}

Value Evaluator::make_string(std::string s) {
  check_size(s.size());
  return Value(std::move(s));
}

Value Evaluator::make_list(Value::List items) {
  charge(items.size() * sizeof(Value) + 64);
  tick(items.size() / 64);
  Value v = Value::list(std::move(items));
  if (v.depth() > limits_.max_depth) fail("values nest too deeply");
  return v;
}

Value Evaluator::make_dict(Value::Dict entries, bool is_namespace) {
  charge(entries.size() * 2 * sizeof(Value) + 64);
  tick(entries.size() / 64);
  Value v = ValueAccess::dict_unique(std::move(entries), is_namespace);
  if (v.depth() > limits_.max_depth) fail("values nest too deeply");
  return v;
}

void Evaluator::fail(const std::string& what) const {
  throw_runtime(line_, what);
}

void Evaluator::unsupported(const std::string& what) const {
  throw_unsupported(line_, what);
}

const Value* Evaluator::lookup(std::string_view name) const {
  for (size_t i = frames_.size(); i-- > base_;) {
    for (const auto& [k, v] : frames_[i].vars) {
      if (k == name) return &v;
    }
  }
  if (base_ > 0) {
    for (const auto& [k, v] : frames_[0].vars) {
      if (k == name) return &v;
    }
  }
  return nullptr;
}

void Evaluator::assign(const std::string& name, Value v) {
  auto& vars = frames_.back().vars;
  for (auto& [k, old] : vars) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  vars.emplace_back(name, std::move(v));
}

std::string Evaluator::render(const Program& program,
                              const std::vector<std::pair<std::string, Value>>& variables) {
  frames_.assign(1, Frame{});
  add_globals(&frames_[0].vars);
  for (const auto& [k, v] : variables) assign(k, v);
  std::string out;
  out_ = &out;
  exec_body(program.body);
  return out;
}

void Evaluator::emit(std::string_view s) {
  if (out_->size() + s.size() > limits_.max_output_bytes) {
    fail("output exceeds the limit of " + std::to_string(limits_.max_output_bytes) + " bytes");
  }
  charge(s.size());
  out_->append(s);
}

Flow Evaluator::exec_body(const Body& body) {
  for (const auto& s : body) {
    const Flow f = exec(*s);
    if (f != Flow::normal) return f;
  }
  return Flow::normal;
}

std::string Evaluator::capture(const Body& body) {
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  try {
    exec_body(body);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return buffer;
}

Flow Evaluator::exec(const Stmt& s) {
  Nest nest(*this);
  line_ = s.line;
  tick();
  switch (s.kind) {
    case StmtKind::text:
      emit(s.text);
      return Flow::normal;
    case StmtKind::output: {
      const Value v = eval(*s.expr);
      if (v.is_string()) {
        emit(v.as_string());
      } else {
        emit(v.str());
      }
      return Flow::normal;
    }
    case StmtKind::if_:
      for (const auto& [cond, body] : s.branches) {
        if (eval(*cond).truthy()) return exec_body(body);
      }
      return exec_body(s.else_body);
    case StmtKind::for_:
      return exec_for(s);
    case StmtKind::set:
      exec_set(s);
      return Flow::normal;
    case StmtKind::set_block:
      assign(s.text, make_string(capture(s.body)));
      return Flow::normal;
    case StmtKind::macro: {
      auto fn = std::make_shared<Callable>();
      fn->type = Callable::Type::macro;
      fn->name = s.text;
      fn->macro = &s;
      assign(s.text, Value::callable(std::move(fn)));
      return Flow::normal;
    }
    case StmtKind::filter_block: {
      const Value body = make_string(capture(s.body));
      emit(eval_filter_block(*this, *s.expr, body).str());
      return Flow::normal;
    }
    case StmtKind::with: {
      Frame frame;
      for (const auto& [name, expr] : s.params) frame.vars.emplace_back(name, eval(*expr));
      frames_.push_back(std::move(frame));
      const Flow f = exec_body(s.body);
      frames_.pop_back();
      return f;
    }
    case StmtKind::break_:
      return Flow::break_;
    case StmtKind::continue_:
      return Flow::continue_;
    default:
      fail("unknown statement");
  }
}

void Evaluator::exec_set(const Stmt& s) {
  Value v = eval(*s.expr);
  line_ = s.line;
  if (!s.attr.empty()) {
    const Value* ns = lookup(s.targets[0]);
    if (ns == nullptr || !ns->is_namespace()) {
      fail("cannot assign attribute \"" + s.attr + "\" of \"" + s.targets[0] +
           "\": it is not a namespace()");
    }
    if (v.holds_namespace()) unsupported("storing a namespace inside a namespace");
    charge(sizeof(Value) * 2);
    ValueAccess::namespace_set(*ns, s.attr, std::move(v));
    return;
  }
  if (s.targets.size() == 1) {
    assign(s.targets[0], std::move(v));
    return;
  }
  const Value::List items = iterate(v);
  if (items.size() != s.targets.size()) {
    fail("cannot unpack " + std::to_string(items.size()) + " values into " +
         std::to_string(s.targets.size()) + " names");
  }
  for (size_t i = 0; i < items.size(); ++i) assign(s.targets[i], items[i]);
}

Value Evaluator::loop_value(const Value::List& items, size_t i) {
  // Keys are made once: a loop builds this dict every iteration.
  static const Value keys[] = {Value("index"),     Value("index0"),   Value("revindex"),
                               Value("revindex0"), Value("first"),    Value("last"),
                               Value("length"),    Value("previtem"), Value("nextitem"),
                               Value("depth"),     Value("depth0"),   Value("cycle")};
  const auto n = static_cast<int64_t>(items.size());
  const auto idx = static_cast<int64_t>(i);
  auto cycle = std::make_shared<Callable>();
  cycle->type = Callable::Type::bound_method;
  cycle->name = "cycle";
  cycle->self = Value(idx);  // loop.cycle(a, b, ...) needs only the index
  const Value values[] = {Value(idx + 1),
                          Value(idx),
                          Value(n - idx),
                          Value(n - idx - 1),
                          Value(i == 0),
                          Value(idx == n - 1),
                          Value(n),
                          i > 0 ? items[i - 1] : Value(),
                          idx + 1 < n ? items[i + 1] : Value(),
                          Value(1),
                          Value(0),
                          Value::callable(std::move(cycle))};
  Value::Dict d;
  d.reserve(std::size(keys));
  for (size_t k = 0; k < std::size(keys); ++k) d.emplace_back(keys[k], values[k]);
  return ValueAccess::dict_unique(std::move(d), false);
}

Flow Evaluator::exec_for(const Stmt& s) {
  Value source = eval(*s.expr);
  if (!source.is_list()) source = make_list(iterate(source));  // lists are used in place
  if (s.cond) {
    Value::List kept;
    for (const Value& item : source.as_list()) {
      tick();
      frames_.push_back(Frame{});
      if (s.targets.size() == 1) {
        assign(s.targets[0], item);
      } else {
        const Value::List parts = iterate(item);
        for (size_t t = 0; t < s.targets.size() && t < parts.size(); ++t) {
          assign(s.targets[t], parts[t]);
        }
      }
      const bool keep = eval(*s.cond).truthy();
      frames_.pop_back();
      if (keep) kept.push_back(item);
    }
    source = make_list(std::move(kept));
  }
  const Value::List& items = source.as_list();
  if (items.empty()) return exec_body(s.else_body);
  for (size_t i = 0; i < items.size(); ++i) {
    line_ = s.line;
    tick();
    frames_.push_back(Frame{});
    assign("loop", loop_value(items, i));
    if (s.targets.size() == 1) {
      assign(s.targets[0], items[i]);
    } else {
      const Value::List parts = iterate(items[i]);
      if (parts.size() != s.targets.size()) {
        fail("cannot unpack " + std::to_string(parts.size()) + " values into " +
             std::to_string(s.targets.size()) + " loop variables");
      }
      for (size_t t = 0; t < parts.size(); ++t) assign(s.targets[t], parts[t]);
    }
    const Flow f = exec_body(s.body);
    frames_.pop_back();
    if (f == Flow::break_) break;
  }
  return Flow::normal;
}

Value Evaluator::call(const Value& fn, Args& args) {
  if (fn.kind() != Value::Kind::callable || !fn.as_callable()) {
    fail("a " + std::string(type_name(fn)) + " value is not callable");
  }
  const Callable& c = *fn.as_callable();
  switch (c.type) {
    case Callable::Type::builtin:
      return c.fn(*this, args);
    case Callable::Type::macro:
      return call_macro(c, args);
    case Callable::Type::bound_method:
      return call_method(*this, c.self, c.name, args);
    default:
      fail("not callable");
  }
}

Value Evaluator::call_macro(const Callable& fn, Args& args) {
  const Stmt& m = *fn.macro;
  if (args.pos.size() > m.params.size()) {
    fail("macro \"" + m.text + "\" takes " + std::to_string(m.params.size()) + " arguments");
  }
  if (++calls_ > limits_.max_depth) fail("macro calls nest too deeply");
  Frame frame;
  for (size_t i = 0; i < m.params.size(); ++i) {
    const Value* a = args.get(i, m.params[i].first);
    frame.vars.emplace_back(m.params[i].first, a ? *a : Value());
  }
  for (const auto& kw : args.kw) {
    const std::string& k = kw.first;
    const bool known =
        std::any_of(m.params.begin(), m.params.end(), [&k](const auto& p) { return p.first == k; });
    if (!known) fail("macro \"" + m.text + "\" has no parameter \"" + k + "\"");
  }
  const size_t saved_base = base_;
  frames_.push_back(std::move(frame));
  base_ = frames_.size() - 1;
  std::string text;
  try {
    for (size_t i = 0; i < m.params.size(); ++i) {
      if (m.params[i].second && !args.get(i, m.params[i].first)) {
        frames_.back().vars[i].second = eval(*m.params[i].second);
      }
    }
    text = capture(m.body);
  } catch (...) {
    frames_.resize(base_);
    base_ = saved_base;
    --calls_;
    throw;
  }
  frames_.resize(base_);
  base_ = saved_base;
  --calls_;
  return make_string(std::move(text));
}

}  // namespace es::chat::detail
