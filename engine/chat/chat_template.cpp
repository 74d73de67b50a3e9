// The public chat template API: parse, render, and render with a built-in fallback.
#include "expertscope/chat_template.h"

#include "eval.h"
#include "parser.h"

namespace es::chat {

ChatMessage ChatMessage::text(std::string role, std::string content) {
  ChatMessage m;
  m.role = std::move(role);
  m.content = Value(std::move(content));
  return m;
}

Value ChatMessage::to_value() const {
  Value::Dict d;
  d.emplace_back(Value("role"), Value(role));
  d.emplace_back(Value("content"), content);
  if (reasoning_content) d.emplace_back(Value("reasoning_content"), Value(*reasoning_content));
  if (!tool_calls.is_undefined()) d.emplace_back(Value("tool_calls"), tool_calls);
  for (const auto& [k, v] : extra) d.emplace_back(Value(k), v);
  return Value::dict(std::move(d));
}

ChatTemplate ChatTemplate::parse(std::string_view source) {
  ChatTemplate t;
  t.program_ = detail::parse_program(source);
  return t;
}

std::string ChatTemplate::render(const std::vector<std::pair<std::string, Value>>& variables,
                                 const RenderLimits& limits) const {
  if (!program_) throw Error(ErrorKind::usage, "chat template: render() before parse()");
  detail::Evaluator ev(limits);
  return ev.render(*program_, variables);
}

std::string ChatTemplate::render(const ChatContext& context, const RenderLimits& limits) const {
  Value::List messages;
  messages.reserve(context.messages.size());
  for (const ChatMessage& m : context.messages) messages.push_back(m.to_value());
  std::vector<std::pair<std::string, Value>> vars;
  vars.emplace_back("messages", Value::list(std::move(messages)));
  vars.emplace_back("add_generation_prompt", Value(context.add_generation_prompt));
  vars.emplace_back("bos_token", Value(context.bos_token));
  vars.emplace_back("eos_token", Value(context.eos_token));
  vars.emplace_back("tools", Value(nullptr));  // as Hugging Face passes them when absent
  vars.emplace_back("documents", Value(nullptr));
  for (const auto& [k, v] : context.extra) {
    bool replaced = false;
    for (auto& [name, old] : vars) {
      if (name == k) {
        old = v;
        replaced = true;
      }
    }
    if (!replaced) vars.emplace_back(k, v);
  }
  return render(vars, limits);
}

RenderOutcome render_or_fallback(std::string_view source, const ChatContext& context,
                                 std::string_view fallback, const RenderLimits& limits) {
  std::string reason;
  if (source.empty()) {
    reason = "the model has no chat template";
  } else {
    try {
      return {ChatTemplate::parse(source).render(context, limits), "model", std::nullopt};
    } catch (const TemplateRaised&) {
      throw;
    } catch (const Error& e) {
      reason = std::string("its chat template cannot be used (") + e.what() + ")";
    }
  }
  const std::string_view name = fallback.empty() ? guess_builtin_template(source) : fallback;
  RenderOutcome out;
  out.text = ChatTemplate::parse(builtin_template(name)).render(context, limits);
  out.template_name = std::string(name);
  out.warning = reason + "; using the built-in \"" + std::string(name) + "\" template instead";
  return out;
}

}  // namespace es::chat
