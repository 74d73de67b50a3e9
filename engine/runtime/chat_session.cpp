// Chat turns recorded in the session store (chat_session.h).
#include "expertscope/chat_session.h"

#include <algorithm>
#include <chrono>

#include "expertscope/chat_template.h"
#include "expertscope/document.h"
#include "expertscope/error.h"
#include "expertscope/trace.h"

namespace es {

namespace {

/// The token sequence a session's context held after its last turn: every stored trace's
/// token ids written at their positions, in message order (each turn re-evaluates from
/// the first position that differs, so later messages overwrite what they re-evaluated).
std::vector<int32_t> known_context(const Session& session) {
  std::vector<int32_t> ids;
  for (const Message& m : session.messages) {
    if (!m.trace) continue;
    for (uint32_t t = 0; t < m.trace->n_tokens(); ++t) {
      const auto pos = static_cast<size_t>(m.trace->position(t));
      if (pos > ids.size()) break;  // a gap: what follows is not known
      ids.resize(pos);
      ids.push_back(m.trace->token_id(t));
    }
  }
  return ids;
}

template <typename A, typename B>
size_t common_prefix(const A& a, const B& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

/// A session title from the first line of the user's text (at most 60 characters).
std::string default_title(const std::string& text) {
  const std::string line = text.substr(0, text.find('\n'));
  size_t cut = 0;
  size_t chars = 0;
  while (cut < line.size() && chars < 60) {
    const auto c = static_cast<unsigned char>(line[cut]);
    cut += c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    ++chars;
  }
  if (cut < line.size()) return line.substr(0, cut) + "…";
  return line.empty() ? std::string("Untitled") : line;
}

/// Writes the answer as it streams and at its end.
class AnswerRecorder {
 public:
  AnswerRecorder(Store& store, int64_t answer_id, int64_t flush_interval_ms,
                 const ChatTurnEvents& events)
      : store_(store),
        id_(answer_id),
        interval_(flush_interval_ms),
        events_(events),
        last_flush_(std::chrono::steady_clock::now()) {}

  void on_token(const TokenEvent& event) {
    text_.append(event.text);
    ++n_tokens_;
    if (event.routing != nullptr && !event.routing->moe_layers.empty()) {
      const auto pos = static_cast<int32_t>(event.pos);
      trace_.append(*event.routing, std::span(&event.token, 1), std::span(&pos, 1), Modality::text);
      texts_.emplace_back(event.text);
    }
    if (std::chrono::steady_clock::now() - last_flush_ >= std::chrono::milliseconds(interval_)) {
      store_.flush_message(id_, text_, n_tokens_);
      last_flush_ = std::chrono::steady_clock::now();
      log("flush " + std::to_string(id_) + " " + std::to_string(text_.size()));
    }
  }

  void finish(const GenerateResult& r, const std::string& settings) {
    Message m;
    m.role = "assistant";
    m.content = r.text;
    m.state = r.reason == StopReason::cancelled ? MessageState::cancelled : MessageState::complete;
    m.n_tokens = static_cast<uint32_t>(r.tokens.size());
    m.timings = {r.prompt_ms, r.generate_ms, r.first_token_ms};
    m.stop_reason = std::string(stop_reason_name(r.reason));
    m.settings_json = settings;
    if (trace_.has_shape()) {
      m.trace = std::move(trace_);
      m.token_texts = std::move(texts_);
    }
    store_.finish_message(id_, m);
    log("finish " + std::to_string(id_) + " " + std::string(message_state_name(m.state)));
  }

  void log(const std::string& line) const {
    if (events_.on_commit) events_.on_commit(line);
  }

 private:
  Store& store_;
  int64_t id_;
  int64_t interval_;
  const ChatTurnEvents& events_;
  std::chrono::steady_clock::time_point last_flush_;
  std::string text_;
  uint32_t n_tokens_ = 0;
  RoutingTrace trace_;
  std::vector<std::string> texts_;
};

}  // namespace

std::string media_marker(size_t i) {
  return "\x1e"
         "es-media:" +
         std::to_string(i) + "\x1e";
}

std::string message_model_text(const Message& m, bool media_markers) {
  std::string out;
  size_t n_media = 0;
  for (const Attachment& a : m.attachments) {
    if (a.kind == "image" || a.kind == "video") {
      out += media_markers ? media_marker(n_media) + "\n"
                           : "[" + a.kind + ": " + a.file_name + " (not shown to this model)]\n";
      ++n_media;
      continue;
    }
    if (a.data.empty()) continue;  // loaded without data
    out += media::attachment_text_kept(a.data, a.file_name, a.mime_type, a.kept_units);
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += '\n';
  }
  return out + m.content;
}

namespace {

/// render_chat_prompt with a template's source, with media markers when `markers` is set.
std::string render(std::string_view chat_template, const Tokenizer& tokenizer,
                   const std::vector<Message>& history, const Message& user, std::string* warning,
                   bool markers) {
  chat::ChatContext c;
  for (const Message& m : history) {
    if (m.role == "assistant" && m.content.empty()) continue;  // nothing was said
    c.messages.push_back(chat::ChatMessage::text(m.role, message_model_text(m, markers)));
  }
  c.messages.push_back(chat::ChatMessage::text("user", message_model_text(user, markers)));
  c.add_generation_prompt = true;
  if (tokenizer.bos() != no_token) c.bos_token = std::string(tokenizer.token_text(tokenizer.bos()));
  if (tokenizer.eos() != no_token) c.eos_token = std::string(tokenizer.token_text(tokenizer.eos()));
  chat::RenderOutcome r = chat::render_or_fallback(std::string(chat_template), c);
  if (warning != nullptr && r.warning) *warning = *r.warning;
  return std::move(r.text);
}

std::string render(const Model& model, const Tokenizer& tokenizer,
                   const std::vector<Message>& history, const Message& user, std::string* warning,
                   bool markers) {
  return render(chat_template_source(model), tokenizer, history, user, warning, markers);
}

/// Every image and video attachment of a conversation, in order.
std::vector<const Attachment*> conversation_media(const std::vector<Message>& history,
                                                  const Message& user) {
  std::vector<const Attachment*> media;
  const auto add = [&](const Message& m) {
    for (const Attachment& a : m.attachments) {
      if (a.kind == "image" || a.kind == "video") media.push_back(&a);
    }
  };
  for (const Message& h : history) add(h);
  add(user);
  return media;
}

/// Walks a prompt rendered with media markers: `on_text(piece, first)` for each text
/// piece (`first`: the prompt's first, which takes the special tokens), `on_media(i)` for
/// the i-th marker (the line end after a marker is dropped). Markers beyond `n_media` are
/// left as text.
template <typename OnText, typename OnMedia>
void split_on_markers(const std::string& text, size_t n_media, OnText on_text, OnMedia on_media) {
  const std::string head =
      "\x1e"
      "es-media:";
  size_t at = 0;
  size_t next_media = 0;
  bool first = true;
  const auto add_text = [&](std::string_view piece) {
    const bool was_first = first;
    first = false;
    if (!piece.empty()) on_text(piece, was_first);
  };
  while (true) {
    const size_t m = text.find(head, at);
    if (m == std::string::npos) break;
    const size_t end = text.find('\x1e', m + head.size());
    if (end == std::string::npos || next_media >= n_media) break;
    add_text(std::string_view(text).substr(at, m - at));
    on_media(next_media++);
    at = end + 1;
    if (at < text.size() && text[at] == '\n') ++at;
  }
  add_text(std::string_view(text).substr(at));
}

/// A 40-bit key of an attachment's content (the first 10 hex digits of its SHA-256).
int64_t content_key(const std::string& sha256_hex) {
  return static_cast<int64_t>(std::stoull(sha256_hex.substr(0, 10), nullptr, 16));
}

}  // namespace

std::string chat_template_source(const Model& model) {
  return std::string(model.file().get_string("tokenizer.chat_template").value_or(""));
}

std::string render_chat_prompt(const Model& model, const Tokenizer& tokenizer,
                               const std::vector<Message>& history, const Message& user,
                               std::string* warning) {
  return render(model, tokenizer, history, user, warning, false);
}

ChatPrompt build_chat_prompt(const Model& model, const Tokenizer& tokenizer,
                             const Projector* projector, const std::vector<Message>& history,
                             const Message& user, bool raw, std::string* warning,
                             MediaCache* cache) {
  MediaCache local;
  if (cache == nullptr) cache = &local;
  ChatPrompt p;
  EncodeOptions eo;
  eo.add_special = true;  // BOS where the model's metadata asks for it
  if (raw) {
    const std::vector<TokenId> ids = tokenizer.encode(user.content, eo);
    p.tokens.assign(ids.begin(), ids.end());
    p.keys.assign(p.tokens.begin(), p.tokens.end());
    return p;
  }
  const std::vector<const Attachment*> media = conversation_media(history, user);
  if (projector == nullptr) {
    if (!media.empty() && warning != nullptr) {
      *warning += std::string(warning->empty() ? "" : "; ") +
                  "this model has no vision projector: " + media.front()->file_name +
                  (media.size() > 1 ? " and the other pictures are" : " is") +
                  " named to it, not shown";
    }
    const std::string text = render(model, tokenizer, history, user, warning, false);
    const std::vector<TokenId> ids = tokenizer.encode(text, eo);
    p.tokens.assign(ids.begin(), ids.end());
    p.keys.assign(p.tokens.begin(), p.tokens.end());
    return p;
  }
  // Markers in each message count from 0: number them across the conversation instead by
  // rendering each message's markers and mapping them in order of appearance.
  const std::string text = render(model, tokenizer, history, user, warning, true);
  const auto add_text = [&](std::string_view piece, bool first) {
    EncodeOptions o = eo;
    o.add_special = first;
    const std::vector<TokenId> ids = tokenizer.encode(piece, o);
    p.tokens.insert(p.tokens.end(), ids.begin(), ids.end());
    p.keys.insert(p.keys.end(), ids.begin(), ids.end());
  };
  const auto add_media = [&](size_t i) {
    const Attachment& a = *media[i];
    const std::string sha = a.sha256.empty() ? sha256_hex(a.data) : a.sha256;
    auto& cached = (*cache)[sha];
    if (!cached) {
      if (a.data.empty()) {
        throw Error(ErrorKind::usage, a.file_name + ": the attachment's data was not loaded");
      }
      cached = std::make_shared<const EncodedMedia>(encode_media(*projector, a.data, a.file_name));
    }
    const EncodedMedia& e = *cached;
    const auto base = static_cast<uint32_t>(p.tokens.size());
    const int64_t key = content_key(sha);
    uint32_t row = 0;
    uint32_t run_start = UINT32_MAX;
    for (size_t k = 0; k < e.tokens.size(); ++k) {
      const int32_t t = e.tokens[k];
      p.tokens.push_back(t);
      const bool pad = t == projector->tokens().pad;
      p.keys.push_back(pad ? -1 - ((key << 20) ^ row) : t);
      if (pad && run_start == UINT32_MAX) run_start = base + static_cast<uint32_t>(k);
      if (pad) ++row;
    }
    if (run_start != UINT32_MAX) {
      p.spans.push_back(MediaSpan{run_start, row, e.rows.data(), e.modality});
      p.media.push_back(cached);
    }
  };
  split_on_markers(text, media.size(), add_text, add_media);
  return p;
}

uint32_t count_chat_prompt(std::string_view chat_template, const Tokenizer& tokenizer,
                           const Projector* projector, const std::vector<Message>& history,
                           const Message& user, std::string* warning) {
  EncodeOptions eo;
  eo.add_special = true;
  const std::vector<const Attachment*> media = conversation_media(history, user);
  if (projector == nullptr || media.empty()) {
    const std::string text = render(chat_template, tokenizer, history, user, warning, false);
    return static_cast<uint32_t>(tokenizer.encode(text, eo).size());
  }
  const std::string text = render(chat_template, tokenizer, history, user, warning, true);
  uint64_t n = 0;
  const auto add_text = [&](std::string_view piece, bool first) {
    EncodeOptions o = eo;
    o.add_special = first;
    n += tokenizer.encode(piece, o).size();
  };
  const auto add_media = [&](size_t i) {
    const Attachment& a = *media[i];
    if (a.data.empty()) {
      throw Error(ErrorKind::usage, a.file_name + ": the attachment's data was not loaded");
    }
    n += media_token_cost(*projector, media::probe_memory(a.data, a.file_name));
  };
  split_on_markers(text, media.size(), add_text, add_media);
  return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX));
}

ChatRunner::ChatRunner(Store& store, std::shared_ptr<const Model> model,
                       const ContextParams& params)
    : store_(&store),
      model_(std::move(model)),
      tokenizer_(Tokenizer::from_gguf(model_->file())),
      identity_(identify_model(model_->file())),
      params_(params) {}

ChatRunner::~ChatRunner() = default;

ChatTurnResult ChatRunner::run_turn(std::optional<int64_t> session_id, const Message& user,
                                    const ChatTurnOptions& options, const ChatTurnEvents& events,
                                    const std::atomic<bool>* cancel) {
  ChatTurnResult result;
  // Everything that can fail for a reason other than the store happens before the first
  // write: the session is read, the prompt rendered and tokenized, the context sized.
  Session history;
  if (session_id) {
    history = store_->load_session(*session_id);
    if (options.raw_prompt) {
      throw Error(ErrorKind::usage, "a raw prompt cannot continue a session");
    }
  }
  const ChatPrompt built =
      build_chat_prompt(*model_, tokenizer_, projector_.get(), history.messages, user,
                        options.raw_prompt, &result.prompt_warning, &media_cache_);
  const std::vector<int32_t>& prompt = built.tokens;
  if (prompt.empty()) throw Error(ErrorKind::usage, "the prompt is empty");
  result.n_prompt_tokens = static_cast<uint32_t>(prompt.size());

  const uint64_t need = prompt.size() + uint64_t{options.generate.n_predict} + 1;
  if (!context_ || (params_.n_ctx == 0 && context_->n_ctx() < need)) {
    ContextParams p = params_;
    if (p.n_ctx == 0) p.n_ctx = static_cast<uint32_t>(std::min<uint64_t>(need, uint64_t{1} << 24));
    context_ = std::make_unique<Context>(model_, p);
    context_keys_.clear();
  }
  if (prompt.size() >= context_->n_ctx()) {
    throw Error(ErrorKind::bad_input, "the prompt has " + std::to_string(prompt.size()) +
                                          " tokens, more than the context of " +
                                          std::to_string(context_->n_ctx()) + " can hold");
  }

  // The part of the prompt whose routing is already stored with earlier messages.
  const size_t n_stored = session_id ? common_prefix(known_context(history), prompt) : 0;
  // The part already in the KV cache (at least one token is evaluated for its logits).
  // Only what the session's stored routing covers is reused, so that the session's trace
  // is complete (a new session re-evaluates a template prefix another session cached).
  const size_t n_cached =
      std::min({common_prefix(context_keys_, built.keys), prompt.size() - 1, n_stored});
  context_->truncate(static_cast<uint32_t>(n_cached));
  context_keys_.resize(n_cached);
  // The projected spans of the part evaluated now, relative to it.
  std::vector<MediaSpan> spans;
  for (const MediaSpan& s : built.spans) {
    if (s.offset + s.n <= n_cached) continue;
    const uint32_t skip = s.offset < n_cached ? static_cast<uint32_t>(n_cached) - s.offset : 0;
    spans.push_back(MediaSpan{s.offset + skip - static_cast<uint32_t>(n_cached), s.n - skip,
                              s.rows + size_t{skip} * model_->hparams().n_embd, s.modality});
  }
  const std::vector<Modality> modalities =
      position_modalities(static_cast<uint32_t>(prompt.size()), built.spans);
  result.n_reused_tokens = static_cast<uint32_t>(n_cached);

  // First writes: the session, the user message, the streaming answer.
  if (!session_id) {
    session_id =
        store_->create_session(options.title.empty() ? default_title(user.content) : options.title,
                               identity_, options.settings_json);
  } else if (history.model && history.model->content_hash != identity_.content_hash) {
    result.prompt_warning += (result.prompt_warning.empty() ? "" : "; ") +
                             std::string("the session was recorded with ") + history.model->name +
                             ", continuing with " + identity_.name;
  }
  result.session_id = *session_id;
  Message turn = user;
  turn.role = "user";
  turn.state = MessageState::complete;
  turn.n_tokens = static_cast<uint32_t>(prompt.size() - n_stored);  // what this turn added
  turn.trace.reset();
  turn.token_texts.clear();
  result.user_message_id = store_->add_message(*session_id, turn);
  const auto log = [&](const std::string& line) {
    if (events.on_commit) events.on_commit(line);
  };
  log("user " + std::to_string(result.user_message_id));
  result.answer_message_id = store_->begin_message(*session_id, options.settings_json);
  log("answer " + std::to_string(result.answer_message_id));
  if (events.on_started) {
    events.on_started(*session_id, result.user_message_id, result.answer_message_id);
  }

  AnswerRecorder recorder(*store_, result.answer_message_id, options.flush_interval_ms, events);
  // The prompt's routing: the evaluated part starts at n_cached <= n_stored; the user
  // message keeps the positions from n_stored on.
  const auto on_prompt = [&](const RoutingBatch& routing, std::span<const int32_t> tokens,
                             uint32_t start) {
    const std::span<const Modality> mods(modalities.data() + start, tokens.size());
    if (events.on_prompt_routing) events.on_prompt_routing(routing, tokens, start, mods);
    if (routing.moe_layers.empty() || routing.n_tokens != tokens.size()) return;
    StreamingDecoder decoder(tokenizer_);
    std::vector<std::string> texts;
    texts.reserve(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) {
      // A projected position shows as a picture or film glyph, not its placeholder's text.
      const Modality m = modalities[start + i];
      texts.push_back(m == Modality::image   ? std::string("\u25A3")
                      : m == Modality::video ? std::string("\u25B6")
                                             : decoder.push(tokens[i]));
    }
    const uint32_t first = n_stored > start ? static_cast<uint32_t>(n_stored) - start : 0;
    if (first >= tokens.size()) return;
    std::vector<int32_t> positions(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) positions[i] = static_cast<int32_t>(start + i);
    RoutingTrace all;
    all.append(routing, tokens, positions, mods);
    RoutingTrace kept;
    kept.append(all.batch(TokenRange{first, static_cast<uint32_t>(tokens.size())}),
                tokens.subspan(first), std::span(positions).subspan(first), mods.subspan(first));
    store_->set_trace(result.user_message_id, kept, std::span(texts).subspan(first));
    log("prompt-trace " + std::to_string(result.user_message_id) + " " +
        std::to_string(tokens.size() - first));
  };
  const auto on_token = [&](const TokenEvent& ev) {
    recorder.on_token(ev);
    return events.on_token ? events.on_token(ev) : true;
  };
  result.generation = generate(*context_, tokenizer_, std::span(prompt).subspan(n_cached),
                               options.generate, on_token, on_prompt, cancel, spans);
  // What the context now holds: the prompt and every evaluated answer token (a final
  // end-of-generation token is not evaluated).
  context_keys_ = built.keys;
  for (const int32_t t : result.generation.tokens) {
    if (context_keys_.size() >= context_->n_past()) break;
    context_keys_.push_back(t);
  }
  context_keys_.resize(std::min<size_t>(context_keys_.size(), context_->n_past()));
  recorder.finish(result.generation, options.settings_json);
  return result;
}

}  // namespace es
