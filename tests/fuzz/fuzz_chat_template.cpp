// libFuzzer target for the chat template interpreter: any bytes are a template, parsed and
// rendered with a fixed conversation (system, user, assistant with reasoning and a tool
// call, tool result; tools given) under tight limits. Every input must give text or an
// es::Error: never a crash, a hang, unbounded recursion or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "expertscope/chat_template.h"
#include "expertscope/error.h"

namespace {

es::chat::ChatContext make_context() {
  using es::chat::ChatMessage;
  using es::chat::Value;
  es::chat::ChatContext ctx;
  ctx.messages.push_back(ChatMessage::text("system", "You are terse."));
  ctx.messages.push_back(ChatMessage::text("user", "Weather in Paris?\n<tool_response>x"));
  ChatMessage call = ChatMessage::text("assistant", "");
  call.content = Value(nullptr);
  call.reasoning_content = "Need the tool.";
  call.tool_calls = Value::from_json(
      R"([{"id":"call_1","type":"function","function":{"name":"weather","arguments":{"city":"Paris"}}}])");
  ctx.messages.push_back(call);
  ChatMessage result = ChatMessage::text("tool", "{\"temp\": 21}");
  result.extra.emplace_back("tool_call_id", Value("call_1"));
  ctx.messages.push_back(result);
  ctx.messages.push_back(ChatMessage::text("assistant", "<think>\nok\n</think>\n\n21 °C."));
  ctx.add_generation_prompt = true;
  ctx.bos_token = "<s>";
  ctx.eos_token = "</s>";
  ctx.extra.emplace_back(
      "tools",
      Value::from_json(R"([{"type":"function","function":{"name":"weather","parameters":{}}}])"));
  ctx.extra.emplace_back("enable_thinking", Value(false));
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const es::chat::ChatContext ctx = make_context();
  es::chat::RenderLimits limits;
  limits.max_output_bytes = size_t{1} << 20;
  limits.max_steps = 200'000;
  limits.max_depth = 64;
  limits.max_alloc_bytes = uint64_t{64} << 20;
  try {
    const auto t =
        es::chat::ChatTemplate::parse(std::string_view(reinterpret_cast<const char*>(data), size));
    const std::string text = t.render(ctx, limits);
    if (text.size() > limits.max_output_bytes) __builtin_trap();
  } catch (const es::Error&) {
  }
  return 0;
}
