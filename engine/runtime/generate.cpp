// The generation loop: prompt, then sample → evaluate → stream, until a stop condition.
#include "expertscope/generate.h"

#include <algorithm>
#include <chrono>

#include "expertscope/error.h"

namespace es {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// Where the earliest complete stop string starts in `text`, or npos.
size_t find_stop(std::string_view text, const std::vector<std::string>& stops) {
  size_t best = std::string_view::npos;
  for (const auto& s : stops) {
    if (s.empty()) continue;
    const size_t at = text.find(s);
    if (at != std::string_view::npos) best = std::min(best, at);
  }
  return best;
}

/// Length of the longest suffix of `text` that is a proper prefix of a stop string: text
/// that must be held back because the next token may complete a stop.
size_t partial_stop_suffix(std::string_view text, const std::vector<std::string>& stops) {
  size_t hold = 0;
  for (const auto& s : stops) {
    for (size_t n = std::min(s.size() - (s.empty() ? 0 : 1), text.size()); n > hold; --n) {
      if (text.substr(text.size() - n) == std::string_view(s).substr(0, n)) {
        hold = n;
        break;
      }
    }
  }
  return hold;
}

}  // namespace

std::string_view stop_reason_name(StopReason reason) noexcept {
  switch (reason) {
    case StopReason::length:
      return "length";
    case StopReason::end_of_generation:
      return "end_of_generation";
    case StopReason::stop_string:
      return "stop_string";
    case StopReason::context_full:
      return "context_full";
    case StopReason::cancelled:
      return "cancelled";
    case StopReason::unset:
      break;
  }
  return "unset";
}

GenerateResult generate(Context& ctx, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateParams& params, const TokenCallback& on_token,
                        const PromptRoutingCallback& on_prompt_routing,
                        const std::atomic<bool>* cancel, std::span<const MediaSpan> media) {
  GenerateResult result;
  result.n_prompt = static_cast<uint32_t>(prompt.size());
  const auto t0 = Clock::now();
  const auto cancelled = [&] {
    return cancel != nullptr && cancel->load(std::memory_order_relaxed);
  };
  if (prompt.empty()) throw Error(ErrorKind::usage, "generate: the prompt is empty");
  const uint32_t start = ctx.n_past();
  if (media.empty()) {
    if (!ctx.decode(prompt, LogitsRows::last, cancel)) {
      result.reason = StopReason::cancelled;
      return result;
    }
    if (on_prompt_routing) on_prompt_routing(ctx.routing(), prompt, start);
  } else {
    // Text and projected spans in turn; the routing of the pieces is joined. Checked
    // whole first, so that nothing is evaluated when a piece would be refused.
    const uint32_t n_embd = ctx.model().hparams().n_embd;
    const uint32_t n_vocab = ctx.model().hparams().n_vocab;
    if (prompt.size() > ctx.n_ctx() - ctx.n_past()) {
      throw Error(ErrorKind::bad_input,
                  std::to_string(prompt.size()) +
                      " tokens do not fit in the context: " + std::to_string(ctx.n_past()) +
                      " of " + std::to_string(ctx.n_ctx()) + " positions are used");
    }
    for (const int32_t t : prompt) {
      if (t < 0 || static_cast<uint32_t>(t) >= n_vocab) {
        throw Error(ErrorKind::bad_input,
                    "token id " + std::to_string(t) + " is outside the vocabulary");
      }
    }
    RoutingBatch all;
    const auto piece = [&](uint32_t b, uint32_t e, const float* rows) {
      if (b >= e) return true;
      const std::span<const float> emb = rows != nullptr
                                             ? std::span<const float>(rows, size_t{e - b} * n_embd)
                                             : std::span<const float>();
      if (!ctx.decode(prompt.subspan(b, e - b), LogitsRows::last, cancel, emb)) return false;
      const RoutingBatch& r = ctx.routing();
      if (all.n_tokens == 0) {
        all = r;
      } else {
        all.n_tokens += r.n_tokens;
        all.experts.insert(all.experts.end(), r.experts.begin(), r.experts.end());
        all.weights.insert(all.weights.end(), r.weights.begin(), r.weights.end());
        all.entropy.insert(all.entropy.end(), r.entropy.begin(), r.entropy.end());
        all.full_probs.insert(all.full_probs.end(), r.full_probs.begin(), r.full_probs.end());
      }
      return true;
    };
    uint32_t at = 0;
    bool ok = true;
    for (const MediaSpan& s : media) {
      if (s.offset < at || s.offset + s.n > prompt.size()) {
        throw Error(ErrorKind::usage, "generate: media spans out of order or outside the prompt");
      }
      ok = ok && piece(at, s.offset, nullptr) && piece(s.offset, s.offset + s.n, s.rows);
      at = s.offset + s.n;
    }
    ok = ok && piece(at, static_cast<uint32_t>(prompt.size()), nullptr);
    if (!ok) {
      result.reason = StopReason::cancelled;
      return result;
    }
    if (on_prompt_routing) on_prompt_routing(all, prompt, start);
  }
  result.prompt_ms = ms_since(t0);
  const auto t_gen = Clock::now();

  Sampler sampler(ctx.model().hparams().n_vocab, params.sampling);
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  history.reserve(history.size() + params.n_predict);
  StreamingDecoder detok(tokenizer);
  std::string pending;  // Text decoded but held back (a stop string may be forming).

  const auto finish = [&](StopReason reason) {
    result.reason = reason;
    result.generate_ms = ms_since(t_gen);
    return result;
  };
  for (uint32_t i = 0; i < params.n_predict; ++i) {
    if (cancelled()) return finish(StopReason::cancelled);
    if (ctx.n_past() >= ctx.n_ctx()) return finish(StopReason::context_full);
    const SampleResult pick = sampler.sample(ctx.logits(0), history);
    const int32_t token = pick.token;
    history.push_back(token);
    result.tokens.push_back(token);
    const bool eog = (params.stop_at_eog && tokenizer.is_end_of_generation(token)) ||
                     std::find(params.stop_tokens.begin(), params.stop_tokens.end(), token) !=
                         params.stop_tokens.end();
    TokenEvent ev;
    ev.token = token;
    ev.pos = ctx.n_past();
    ev.logprob = pick.logprob;
    if (eog) {
      if (result.first_token_ms == 0) result.first_token_ms = ms_since(t0);
      if (on_token) on_token(ev);
      return finish(StopReason::end_of_generation);
    }
    ctx.decode(std::span(&token, 1), LogitsRows::last);
    ev.routing = &ctx.routing();

    pending += detok.push(token);
    const bool last = i + 1 == params.n_predict;
    if (last) pending += detok.flush();  // No later token can complete a character.
    const size_t stop_at = find_stop(pending, params.stop_strings);
    const bool stop = stop_at != std::string::npos;
    const size_t held = last ? 0 : partial_stop_suffix(pending, params.stop_strings);
    const size_t release = stop ? stop_at : pending.size() - held;
    const std::string_view out(pending.data(), release);
    ev.text = out;
    result.text.append(out);
    if (result.first_token_ms == 0) result.first_token_ms = ms_since(t0);
    const bool go_on = !on_token || on_token(ev);
    pending.erase(0, release);
    if (stop) return finish(StopReason::stop_string);
    if (!go_on) return finish(StopReason::cancelled);
  }
  return finish(StopReason::length);
}

}  // namespace es
