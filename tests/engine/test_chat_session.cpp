// ChatRunner: turns recorded in the store, the KV cache reused across turns without
// changing a single token or routing decision, cancellation stored as `cancelled`.
#include <QTemporaryDir>
#include <QTest>
#include <atomic>
#include <filesystem>

#include "expertscope/chat_session.h"
#include "expertscope/error.h"
#include "expertscope/projector.h"
#include "expertscope/trace.h"
#include "expertscope/transcript.h"
#include "tiny_models.h"
#include "tiny_projector.h"

using namespace es;

namespace {

ChatTurnOptions greedy(uint32_t n) {
  ChatTurnOptions o;
  o.generate.n_predict = n;
  o.generate.sampling.temperature = 0;
  o.generate.stop_at_eog = false;
  o.settings_json = R"({"temperature":0})";
  return o;
}

/// A 24-bit BMP of one colour (what FFmpeg's bmp decoder reads; no encoder needed).
std::vector<uint8_t> solid_bmp(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  const int row = (w * 3 + 3) / 4 * 4;
  const uint32_t size = 54 + static_cast<uint32_t>(row * h);
  std::vector<uint8_t> out(size, 0);
  const auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  out[0] = 'B';
  out[1] = 'M';
  put32(2, size);
  put32(10, 54);
  put32(14, 40);
  put32(18, static_cast<uint32_t>(w));
  put32(22, static_cast<uint32_t>(h));
  out[26] = 1;
  out[28] = 24;
  put32(34, static_cast<uint32_t>(row * h));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = out.data() + 54 + y * row + x * 3;
      p[0] = b;
      p[1] = g;
      p[2] = r;
    }
  }
  return out;
}

Attachment image_attachment(const std::string& name, std::vector<uint8_t> bytes) {
  Attachment a;
  a.kind = "image";
  a.file_name = name;
  a.mime_type = "image/bmp";
  a.size = bytes.size();
  a.data = std::move(bytes);
  return a;
}

Attachment text_attachment(const std::string& name, const std::string& text) {
  Attachment a;
  a.kind = "text";
  a.file_name = name;
  a.mime_type = "text/plain";
  a.data.assign(text.begin(), text.end());
  a.size = a.data.size();
  return a;
}

Message user_message(const std::string& text) {
  Message m;
  m.role = "user";
  m.content = text;
  return m;
}

}  // namespace

class TestChatSession : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  std::shared_ptr<const Model> model_;

 private slots:
  void initTestCase() {
    const std::string path = dir_.filePath("m.gguf").toStdString();
    test::write_tiny_model(test::tiny_spec(Arch::deepseek2), path);
    model_ = Model::load(path);
  }

  /// An image attachment reaches the model through the projector: its placeholder
  /// positions are tagged image in the stored trace, another picture gives another
  /// answer's routing, and a later turn reuses the cache only up to where the pictures
  /// differ. Without a projector the picture is named to the model, with a warning.
  void an_image_attachment_reaches_the_model() {
    const std::string olmoe = dir_.filePath("olmoe.gguf").toStdString();
    test::write_tiny_model(test::tiny_spec(Arch::olmoe), olmoe);
    const auto model = Model::load(olmoe);
    test::TinyProjectorSpec ps;
    ps.n_embd = model->hparams().n_embd;
    const std::string mmproj = dir_.filePath("olmoe.mmproj.gguf").toStdString();
    test::write_tiny_projector(ps, mmproj);
    std::shared_ptr<const Projector> projector = Projector::load(mmproj, *model);

    Store store(dir_.filePath("image.db").toStdString());
    ContextParams cp;
    cp.n_ctx = 512;
    ChatRunner runner(store, model, cp);
    runner.set_projector(projector);
    Message red = user_message("What colour is this?");
    red.attachments.push_back(image_attachment("red.bmp", solid_bmp(20, 12, 220, 10, 10)));
    const auto a = runner.run_turn(std::nullopt, red, greedy(6));
    QVERIFY2(a.prompt_warning.empty(), a.prompt_warning.c_str());
    const Session s = store.load_session(a.session_id);
    const RoutingTrace& trace = *s.messages[0].trace;
    uint32_t n_image = 0;
    for (uint32_t t = 0; t < trace.n_tokens(); ++t) {
      if (trace.modality(t) == Modality::image) {
        ++n_image;
        QCOMPARE(trace.token_id(t), projector->tokens().pad);
      }
    }
    QCOMPARE(n_image, projector->image_tokens());

    // Another picture, same words: the image positions route differently.
    Message blue = user_message("What colour is this?");
    blue.attachments.push_back(image_attachment("blue.bmp", solid_bmp(20, 12, 10, 10, 220)));
    const auto b = runner.run_turn(std::nullopt, blue, greedy(6));
    const Session sb = store.load_session(b.session_id);
    // The cache held the red picture: only the text before it may be reused.
    QVERIFY(b.n_reused_tokens < a.n_prompt_tokens - projector->image_tokens());
    const RoutingTrace& tb = *sb.messages[0].trace;
    QCOMPARE(tb.n_tokens(), trace.n_tokens());
    bool differs = false;
    for (uint32_t t = 0; t < trace.n_tokens() && !differs; ++t) {
      if (trace.modality(t) != Modality::image) continue;
      for (uint32_t m = 0; m < trace.shape().moe_layers.size(); ++m) {
        differs = differs || trace.expert(t, m, 0) != tb.expert(t, m, 0) ||
                  trace.weight(t, m, 0) != tb.weight(t, m, 0);
      }
    }
    QVERIFY(differs);

    // The same again on a fresh runner gives the same answer (nothing stale reused).
    ChatRunner fresh(store, model, cp);
    fresh.set_projector(projector);
    const auto b2 = fresh.run_turn(std::nullopt, blue, greedy(6));
    QCOMPARE(b2.generation.tokens, b.generation.tokens);

    // A damaged picture: an error naming it, before anything is written.
    const size_t n_sessions = store.list_sessions().size();
    Message broken = user_message("And this one?");
    std::vector<uint8_t> cut = solid_bmp(20, 12, 1, 2, 3);
    cut.resize(cut.size() / 3);
    broken.attachments.push_back(image_attachment("cut.bmp", std::move(cut)));
    try {
      (void)runner.run_turn(std::nullopt, broken, greedy(2));
      QFAIL("expected an error");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("cut.bmp") != std::string::npos, e.what());
    }
    QCOMPARE(store.list_sessions().size(), n_sessions);

    // No projector: named, not shown, and said so.
    ChatRunner blind(store, model, cp);
    const auto c = blind.run_turn(std::nullopt, red, greedy(2));
    QVERIFY2(c.prompt_warning.find("no vision projector") != std::string::npos,
             c.prompt_warning.c_str());
    QVERIFY2(c.prompt_warning.find("red.bmp") != std::string::npos, c.prompt_warning.c_str());
  }

  void reusing_the_cache_changes_nothing() {
    Store store(dir_.filePath("a.db").toStdString());
    ContextParams cp;
    cp.n_ctx = 1024;
    ChatRunner warm(store, model_, cp);
    const auto first = warm.run_turn(std::nullopt, user_message("Hello there"), greedy(10));
    QCOMPARE(first.n_reused_tokens, 0u);
    const auto second = warm.run_turn(first.session_id, user_message("Tell me more"), greedy(10));
    QVERIFY2(second.n_reused_tokens > first.n_prompt_tokens / 2,
             std::to_string(second.n_reused_tokens).c_str());

    // The same conversation with a fresh runner for the second turn (nothing cached).
    ChatRunner cold(store, model_, cp);
    Store other(dir_.filePath("b.db").toStdString());
    ChatRunner cold_first(other, model_, cp);
    const auto b1 = cold_first.run_turn(std::nullopt, user_message("Hello there"), greedy(10));
    ChatRunner cold_second(other, model_, cp);
    const auto b2 = cold_second.run_turn(b1.session_id, user_message("Tell me more"), greedy(10));
    QCOMPARE(b2.n_reused_tokens, 0u);
    QCOMPARE(second.generation.tokens, b2.generation.tokens);

    const Session a = store.load_session(first.session_id);
    const Session b = other.load_session(b1.session_id);
    QCOMPARE(a.messages.size(), size_t{4});
    for (size_t i = 0; i < 4; ++i) {
      QCOMPARE(a.messages[i].content, b.messages[i].content);
      QCOMPARE(a.messages[i].n_tokens, b.messages[i].n_tokens);
      QVERIFY(a.messages[i].trace.has_value());
      QCOMPARE(a.messages[i].token_texts, b.messages[i].token_texts);
      // Same tokens, positions and experts; weights agree to rounding of the cached path.
      const RoutingTrace& x = *a.messages[i].trace;
      const RoutingTrace& y = *b.messages[i].trace;
      QCOMPARE(x.n_tokens(), y.n_tokens());
      QVERIFY(std::equal(x.token_ids().begin(), x.token_ids().end(), y.token_ids().begin()));
      QVERIFY(std::equal(x.positions().begin(), x.positions().end(), y.positions().begin()));
      for (uint32_t t = 0; t < x.n_tokens(); ++t) {
        for (uint32_t m = 0; m < x.n_moe_layers(); ++m) {
          for (uint32_t r = 0; r < x.top_k(); ++r) {
            QCOMPARE(x.expert(t, m, r), y.expert(t, m, r));
          }
        }
      }
    }
    // The second question's trace starts where the stored routing of the first exchange
    // stops matching the new prompt, and its token count says so.
    QVERIFY(a.messages[2].trace->position(0) > 0);
    QCOMPARE(a.messages[2].n_tokens, a.messages[2].trace->n_tokens());
  }

  void cancel_is_stored_as_cancelled() {
    Store store(dir_.filePath("c.db").toStdString());
    ChatRunner runner(store, model_, ContextParams{.n_ctx = 512});
    std::atomic<bool> cancel{false};
    ChatTurnEvents events;
    int seen = 0;
    events.on_token = [&](const TokenEvent&) {
      if (++seen == 3) cancel = true;
      return true;
    };
    const auto r =
        runner.run_turn(std::nullopt, user_message("Go on"), greedy(50), events, &cancel);
    QCOMPARE(r.generation.reason, StopReason::cancelled);
    const Session s = store.load_session(r.session_id);
    QCOMPARE(s.messages[1].state, MessageState::cancelled);
    QCOMPARE(s.messages[1].n_tokens, static_cast<uint32_t>(r.generation.tokens.size()));
  }

  // A full disk in the middle of an answer: the turn fails with a clear error, and what
  // was committed before stays (the question, the answer up to its last flush, which the
  // next open marks interrupted); the database stays sound.
  void a_full_disk_keeps_what_was_saved() {
    const std::string path = dir_.filePath("full.db").toStdString();
    { Store warm(path); }  // the schema, checkpointed into the file
    const auto pages = static_cast<uint32_t>(std::filesystem::file_size(path) / 4096);
    // A model with more MoE layers and experts: its answer's trace needs several pages.
    const std::string wide_path = dir_.filePath("wide.gguf").toStdString();
    test::TinyModelSpec spec = test::tiny_spec(Arch::qwen3moe);
    spec.n_layer = 4;
    spec.n_expert = 16;
    spec.n_expert_used = 4;
    test::write_tiny_model(spec, wide_path);
    std::vector<std::string> commits;
    try {
      Store store(path, Store::Options{.max_pages = pages + 1});
      ChatRunner runner(store, Model::load(wide_path), ContextParams{.n_ctx = 4096});
      ChatTurnOptions o = greedy(600);
      o.flush_interval_ms = 0;
      ChatTurnEvents events;
      events.on_commit = [&](const std::string& line) { commits.push_back(line); };
      (void)runner.run_turn(std::nullopt, user_message(std::string(300, 'q') + " question"), o,
                            events);
      QFAIL("the capped database never filled up");
    } catch (const Error& e) {
      QCOMPARE(e.kind(), ErrorKind::io);
      QVERIFY2(std::string(e.what()).find("full") != std::string::npos, e.what());
      QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
    }
    QVERIFY(commits.size() >= 3);  // the question, the answer begun, some flushes
    QCOMPARE(commits[0].substr(0, 5), std::string("user "));
    Store after(path);
    QVERIFY(after.integrity_problems().empty());
    QCOMPARE(after.recovered_on_open(), 1u);
    const Session s = after.load_session(after.list_sessions().at(0).id);
    QCOMPARE(s.messages.size(), size_t{2});
    QVERIFY(s.messages[0].content.ends_with(" question"));
    QCOMPARE(s.messages[1].state, MessageState::interrupted);
    QVERIFY(!s.messages[1].content.empty());
  }

  /// A text attachment the user cut to its first lines: the stored message keeps the
  /// whole file and the count, the model reads only the kept lines under a note, and the
  /// next turn renders the history with the same note (so does a JSON round trip).
  void a_truncated_document_is_stored_and_replayed() {
    std::string log;
    for (int i = 1; i <= 100; ++i) log += "entry " + std::to_string(i) + "\n";
    Message m = user_message("Summarise the log.");
    m.attachments.push_back(text_attachment("run.log", log));
    m.attachments[0].kept_units = 10;
    const std::string model_text = message_model_text(m);
    QVERIFY2(model_text.starts_with("### run.log\n\n[truncated: first 10 of 100 lines kept]\n\n"
                                    "entry 1\n"),
             model_text.c_str());
    QVERIFY(model_text.find("entry 10\n") != std::string::npos);
    QVERIFY(model_text.find("entry 11") == std::string::npos);

    Store store(dir_.filePath("kept.db").toStdString());
    ChatRunner runner(store, model_, ContextParams{.n_ctx = 1024});
    const auto first = runner.run_turn(std::nullopt, m, greedy(3));
    const Session s = store.load_session(first.session_id);
    const Attachment& stored = s.messages[0].attachments[0];
    QCOMPARE(stored.kept_units, 10u);
    QCOMPARE(std::string(stored.data.begin(), stored.data.end()), log);  // the whole file
    QCOMPARE(message_model_text(s.messages[0]), model_text);
    // The next turn's prompt shows the history as the model read it.
    const std::string replay =
        render_chat_prompt(*model_, runner.tokenizer(), s.messages, user_message("And then?"));
    QVERIFY(replay.find("[truncated: first 10 of 100 lines kept]") != std::string::npos);
    QVERIFY(replay.find("entry 11") == std::string::npos);
    // The second turn renders the document as the first did: the cache holding it is
    // reused (were it rendered whole, reuse would stop at the note, near the start).
    const auto second = runner.run_turn(first.session_id, user_message("And then?"), greedy(2));
    QVERIFY2(second.n_reused_tokens > first.n_prompt_tokens / 2,
             std::to_string(second.n_reused_tokens).c_str());
    // Exported and imported, the attachment keeps what reached the model.
    const Session back = transcript::from_json(transcript::to_json(s), "kept.json");
    QCOMPARE(back.messages[0].attachments[0].kept_units, 10u);
    QVERIFY(transcript::to_markdown(s, "att").find("only its first 10 lines reached the model") !=
            std::string::npos);
  }

  /// count_chat_prompt (what the composer shows) counts what build_chat_prompt lays out:
  /// text, a truncated document, pictures through the projector, history and template.
  void the_prompt_count_matches_the_prompt() {
    const std::string olmoe = dir_.filePath("count.gguf").toStdString();
    test::write_tiny_model(test::tiny_spec(Arch::olmoe), olmoe);
    const auto model = Model::load(olmoe);
    test::TinyProjectorSpec ps;
    ps.n_embd = model->hparams().n_embd;
    const std::string mmproj = dir_.filePath("count.mmproj.gguf").toStdString();
    test::write_tiny_projector(ps, mmproj);
    std::shared_ptr<const Projector> projector = Projector::load(mmproj, *model);
    const Tokenizer tokenizer = Tokenizer::from_gguf(model->file());
    const std::string source = chat_template_source(*model);

    std::vector<Message> history;
    Message first = user_message("Look at these.");
    first.attachments.push_back(image_attachment("red.bmp", solid_bmp(20, 12, 220, 10, 10)));
    first.attachments.push_back(text_attachment("notes.md", "# Notes\nA\nB\nC\n"));
    first.attachments[1].kept_units = 2;
    history.push_back(first);
    Message answer;
    answer.role = "assistant";
    answer.content = "I see a red picture.";
    history.push_back(answer);
    Message next = user_message("And this one?");
    next.attachments.push_back(image_attachment("blue.bmp", solid_bmp(8, 8, 10, 10, 220)));
    for (const Projector* pj : {projector.get(), static_cast<const Projector*>(nullptr)}) {
      std::string warning;
      const ChatPrompt built =
          build_chat_prompt(*model, tokenizer, pj, history, next, false, &warning);
      QCOMPARE(count_chat_prompt(source, tokenizer, pj, history, next),
               static_cast<uint32_t>(built.tokens.size()));
    }
    // An empty next message (what the composer counts before anything is typed).
    QCOMPARE(count_chat_prompt(source, tokenizer, projector.get(), {}, user_message("")),
             static_cast<uint32_t>(build_chat_prompt(*model, tokenizer, projector.get(), {},
                                                     user_message(""), false, nullptr)
                                       .tokens.size()));
  }

  void a_prompt_too_long_writes_nothing() {
    Store store(dir_.filePath("d.db").toStdString());
    ChatRunner runner(store, model_, ContextParams{.n_ctx = 16});
    QVERIFY_THROWS_EXCEPTION(
        Error, runner.run_turn(std::nullopt, user_message(std::string(400, 'x')), greedy(4)));
    QVERIFY(store.list_sessions().empty());
    QVERIFY_THROWS_EXCEPTION(Error, runner.run_turn(42, user_message("x"), greedy(4)));
  }
};

QTEST_GUILESS_MAIN(TestChatSession)
#include "test_chat_session.moc"
