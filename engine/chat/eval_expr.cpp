// Chat template evaluator: expressions, attribute and item access with jinja2's fallbacks
// (obj.name tries a method first, then a key; obj[key] a key first, then a method).
#include "errors.h"
#include "eval.h"
#include "utf8.h"

namespace es::chat::detail {

namespace {

class NestExpr {
 public:
  NestExpr(uint32_t* nesting, const Evaluator& ev) : nesting_(nesting) {
    if (++*nesting_ > 600) ev.fail("template nests too deeply");
  }
  ~NestExpr() { --*nesting_; }
  NestExpr(const NestExpr&) = delete;
  NestExpr& operator=(const NestExpr&) = delete;

 private:
  uint32_t* nesting_;
};

Value bound_method(const Value& self, const std::string& name) {
  auto fn = std::make_shared<Callable>();
  fn->type = Callable::Type::bound_method;
  fn->name = name;
  fn->self = self;
  return Value::callable(std::move(fn));
}

}  // namespace

Value Evaluator::eval(const Expr& e) {
  NestExpr nest(&nesting_, *this);
  line_ = e.line;
  tick();
  switch (e.kind) {
    case ExprKind::literal:
      return e.value;
    case ExprKind::name:
      return eval_name(e);
    case ExprKind::list:
    case ExprKind::tuple:
    case ExprKind::dict:
      return eval_collection(e);
    case ExprKind::attr:
      return attribute(eval(*e.args[0]), e.name);
    case ExprKind::index: {
      const Value obj = eval(*e.args[0]);
      const Value key = eval(*e.args[1]);
      line_ = e.line;
      return item(obj, key);
    }
    case ExprKind::slice:
      return eval_slice(e);
    case ExprKind::call:
      return eval_call(e);
    case ExprKind::filter:
      return eval_filter(e, nullptr);
    case ExprKind::test:
      return eval_test(e);
    case ExprKind::not_:
      return Value(!eval(*e.args[0]).truthy());
    case ExprKind::neg:
    case ExprKind::pos: {
      const Value v = eval(*e.args[0]);
      line_ = e.line;
      return arithmetic(*this, e.kind == ExprKind::neg ? BinOp::sub : BinOp::add, Value(0), v);
    }
    case ExprKind::binary: {
      const Value a = eval(*e.args[0]);
      const Value b = eval(*e.args[1]);
      line_ = e.line;
      return binary(e.op, a, b);
    }
    case ExprKind::compare:
      return eval_compare(e);
    case ExprKind::and_: {
      Value a = eval(*e.args[0]);
      return a.truthy() ? eval(*e.args[1]) : a;
    }
    case ExprKind::or_: {
      Value a = eval(*e.args[0]);
      return a.truthy() ? a : eval(*e.args[1]);
    }
    case ExprKind::ternary:
      if (eval(*e.args[1]).truthy()) return eval(*e.args[0]);
      return e.args[2] ? eval(*e.args[2]) : Value();
    case ExprKind::concat:
      return eval_concat(e);
    default:
      fail("unknown expression");
  }
}

Value Evaluator::eval_name(const Expr& e) {
  const Value* v = lookup(e.name);
  return v ? *v : Value();
}

Value Evaluator::eval_collection(const Expr& e) {
  if (e.kind == ExprKind::dict) {
    Value::Dict entries;
    for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
      Value k = eval(*e.args[i]);
      Value v = eval(*e.args[i + 1]);
      line_ = e.line;
      if (k.kind() == Value::Kind::list || k.kind() == Value::Kind::dict || k.is_undefined()) {
        fail("a " + std::string(type_name(k)) + " cannot be a dict key");
      }
      bool replaced = false;
      for (auto& [ek, ev] : entries) {
        if (ek == k) {
          ev = v;
          replaced = true;
        }
      }
      if (!replaced) entries.emplace_back(std::move(k), std::move(v));
    }
    return make_dict(std::move(entries));
  }
  Value::List items;
  items.reserve(e.args.size());
  for (const auto& a : e.args) items.push_back(eval(*a));
  line_ = e.line;
  return make_list(std::move(items));
}

Value Evaluator::eval_concat(const Expr& e) {
  std::string s;
  for (const auto& a : e.args) {
    const Value v = eval(*a);
    line_ = e.line;
    const std::string part = v.str();
    check_size(s.size() + part.size());
    s += part;
  }
  return Value(std::move(s));
}

Value Evaluator::eval_compare(const Expr& e) {
  Value left = eval(*e.args[0]);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.args[i + 1]);
    line_ = e.line;
    if (!binary(e.ops[i], left, right).truthy()) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value Evaluator::binary(BinOp op, const Value& a, const Value& b) {
  switch (op) {
    case BinOp::eq:
      return Value(a == b);
    case BinOp::ne:
      return Value(!(a == b));
    case BinOp::lt:
      return Value(less_than(*this, a, b));
    case BinOp::gt:
      return Value(less_than(*this, b, a));
    case BinOp::le:
      return Value(!less_than(*this, b, a));
    case BinOp::ge:
      return Value(!less_than(*this, a, b));
    case BinOp::in:
      return Value(contains(*this, b, a));
    case BinOp::not_in:
      return Value(!contains(*this, b, a));
    default:
      return arithmetic(*this, op, a, b);
  }
}

Value Evaluator::eval_slice(const Expr& e) {
  const Value obj = eval(*e.args[0]);
  const Value start = e.args[1] ? eval(*e.args[1]) : Value(nullptr);
  const Value stop = e.args[2] ? eval(*e.args[2]) : Value(nullptr);
  const Value step = e.args[3] ? eval(*e.args[3]) : Value(nullptr);
  line_ = e.line;
  if (obj.is_undefined()) fail("cannot slice an undefined value");
  if (!obj.is_list() && !obj.is_string()) return Value();
  return slice_value(*this, obj, start, stop, step);
}

Args Evaluator::eval_args(const Expr& e, size_t first) {
  Args args;
  for (size_t i = first; i < e.args.size(); ++i) args.pos.push_back(eval(*e.args[i]));
  for (const auto& [k, v] : e.kwargs) args.kw.emplace_back(k, eval(*v));
  line_ = e.line;
  return args;
}

Value Evaluator::eval_call(const Expr& e) {
  const Expr& callee = *e.args[0];
  if (callee.kind == ExprKind::attr) {
    const Value self = eval(*callee.args[0]);
    line_ = e.line;
    if (has_method(self, callee.name)) {
      Args args = eval_args(e, 1);
      return call_method(*this, self, callee.name, args);
    }
    const Value fn = attribute(self, callee.name);
    if (fn.is_undefined()) {
      unsupported("method \"" + callee.name + "\" of " + std::string(type_name(self)));
    }
    Args args = eval_args(e, 1);
    return call(fn, args);
  }
  const Value fn = eval(callee);
  line_ = e.line;
  if (fn.is_undefined()) {
    if (callee.kind == ExprKind::name) unsupported("function \"" + callee.name + "\"");
    fail("calling an undefined value");
  }
  Args args = eval_args(e, 1);
  return call(fn, args);
}

Value Evaluator::eval_filter(const Expr& e, const Value* operand) {
  const Value input = operand ? *operand : eval(*e.args[0]);
  Args args = eval_args(e, 1);
  return filter(e.name, input, args);
}

Value eval_filter_block(Evaluator& ev, const Expr& chain, const Value& body) {
  if (!chain.args[0]) return ev.eval_filter(chain, &body);
  const Value inner = eval_filter_block(ev, *chain.args[0], body);
  return ev.eval_filter(chain, &inner);
}

Value Evaluator::eval_test(const Expr& e) {
  const Value input = eval(*e.args[0]);
  Args args = eval_args(e, 1);
  const bool r = test(e.name, input, args);
  return Value(e.negate ? !r : r);
}

Value Evaluator::attribute(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Value::Kind::undefined:
      fail("cannot read attribute \"" + name + "\" of an undefined value");
    case Value::Kind::dict:
      if (!obj.is_namespace() && has_method(obj, name)) return bound_method(obj, name);
      return obj.get(name);
    case Value::Kind::string:
    case Value::Kind::list:
      if (has_method(obj, name)) return bound_method(obj, name);
      return Value();
    default:
      return Value();
  }
}

Value Evaluator::item(const Value& obj, const Value& key) {
  const bool int_key = key.kind() == Value::Kind::integer || key.kind() == Value::Kind::boolean;
  switch (obj.kind()) {
    case Value::Kind::undefined:
      fail("cannot index an undefined value");
    case Value::Kind::dict:
      for (const auto& [k, v] : obj.as_dict()) {
        if (k == key) return v;
      }
      break;
    case Value::Kind::list:
      if (int_key) {
        const auto n = static_cast<int64_t>(obj.as_list().size());
        int64_t i = key.as_int();
        if (i < 0) i += n;
        if (i >= 0 && i < n) return obj.as_list()[static_cast<size_t>(i)];
        return Value();
      }
      break;
    case Value::Kind::string:
      if (int_key) {
        const std::vector<size_t> offs = utf8_offsets(obj.as_string());
        tick(offs.size() / 64);
        const auto n = static_cast<int64_t>(offs.size()) - 1;
        int64_t i = key.as_int();
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value();
        const auto u = static_cast<size_t>(i);
        return Value(obj.as_string().substr(offs[u], offs[u + 1] - offs[u]));
      }
      break;
    default:
      return Value();
  }
  if (key.is_string()) return attribute(obj, key.as_string());
  return Value();
}

Value::List Evaluator::iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::undefined:
      return {};
    case Value::Kind::list:
      charge(v.as_list().size() * sizeof(Value));
      tick(v.as_list().size() / 64);
      return v.as_list();
    case Value::Kind::dict: {
      Value::List keys;
      for (const auto& [k, val] : v.as_dict()) keys.push_back(k);
      charge(keys.size() * sizeof(Value));
      return keys;
    }
    case Value::Kind::string: {
      const std::string& s = v.as_string();
      const std::vector<size_t> offs = utf8_offsets(s);
      Value::List chars;
      chars.reserve(offs.size());
      for (size_t i = 0; i + 1 < offs.size(); ++i) {
        chars.emplace_back(s.substr(offs[i], offs[i + 1] - offs[i]));
      }
      charge(chars.size() * (sizeof(Value) + 48));
      tick(chars.size() / 16);
      return chars;
    }
    default:
      fail("a " + std::string(type_name(v)) + " value is not iterable");
  }
}

}  // namespace es::chat::detail
