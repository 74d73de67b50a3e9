// The session store: schema and migrations from every earlier version, round trips of
// sessions, messages, attachments and traces, streaming and recovery, search, and damaged
// or foreign database files (clear errors, never written to).
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "expertscope/error.h"
#include "expertscope/store.h"
#include "store/store_schema.h"
#include "store/trace_codec.h"

namespace fs = std::filesystem;
using namespace es;

namespace {

/// A routing trace with a skewed (Zipf-like) choice of experts, as real routers make,
/// normalised descending weights and entropies.
RoutingTrace make_trace(uint32_t n_tokens, uint32_t n_expert, uint32_t top_k,
                        std::vector<uint32_t> layers, uint32_t seed, int32_t full_layer = -1,
                        uint32_t first_pos = 0) {
  std::mt19937 rng(seed);
  std::vector<double> zipf(n_expert);
  for (uint32_t e = 0; e < n_expert; ++e) zipf[e] = 1.0 / (1.0 + e);
  RoutingBatch b;
  b.n_expert = n_expert;
  b.top_k = top_k;
  b.moe_layers = std::move(layers);
  b.full_layer = full_layer;
  b.resize(n_tokens);
  std::vector<int32_t> ids(n_tokens);
  std::vector<int32_t> pos(n_tokens);
  for (uint32_t t = 0; t < n_tokens; ++t) {
    ids[t] = static_cast<int32_t>(rng() % 5000);
    pos[t] = static_cast<int32_t>(first_pos + t);
    for (uint32_t m = 0; m < b.moe_layers.size(); ++m) {
      // Each layer permutes the popularity ranking.
      std::vector<uint32_t> chosen;
      std::discrete_distribution<uint32_t> pick(zipf.begin(), zipf.end());
      while (chosen.size() < top_k) {
        const uint32_t e = (pick(rng) + m * 7) % n_expert;
        if (std::find(chosen.begin(), chosen.end(), e) == chosen.end()) chosen.push_back(e);
      }
      std::vector<float> w(top_k);
      float sum = 0;
      for (float& x : w) sum += x = std::uniform_real_distribution<float>(0.05f, 1.0f)(rng);
      std::sort(w.begin(), w.end(), std::greater<>());
      for (uint32_t r = 0; r < top_k; ++r) {
        b.experts[b.at(t, m, r)] = static_cast<uint16_t>(chosen[r]);
        b.weights[b.at(t, m, r)] = w[r] / sum;
      }
      b.entropy[t * b.moe_layers.size() + m] =
          std::uniform_real_distribution<float>(1.0f, 4.0f)(rng);
    }
    if (full_layer >= 0) {
      float sum = 0;
      for (uint32_t e = 0; e < n_expert; ++e) {
        sum += b.full_probs[size_t{t} * n_expert + e] =
            std::uniform_real_distribution<float>(0, 1)(rng);
      }
      for (uint32_t e = 0; e < n_expert; ++e) b.full_probs[size_t{t} * n_expert + e] /= sum;
    }
  }
  RoutingTrace trace;
  trace.append(b, ids, pos, Modality::text);
  return trace;
}

std::vector<std::string> texts_for(uint32_t n) {
  std::vector<std::string> t;
  for (uint32_t i = 0; i < n; ++i) t.push_back(i % 5 == 4 ? "" : " w" + std::to_string(i) + "é");
  return t;
}

ModelIdentity test_model() {
  return {"/models/olmoe-tiny.gguf", 123456, std::string(64, 'a'), "olmoe", "OLMoE tiny"};
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

std::vector<uint8_t> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, std::span<const uint8_t> b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::string hex_literal(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s = "X'";
  for (const uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s + "'";
}

/// A session of three messages: a user message with two attachments (one content twice),
/// an answer with a trace and token texts, and a system note.
Session sample_session() {
  Session s;
  s.title = "Routing in \"layer 3\" — ünïcode";
  s.model = test_model();
  s.settings_json = R"({"temperature":0.7})";
  s.created_ms = 1'700'000'000'000;
  s.updated_ms = 1'700'000'005'000;
  Message user;
  user.role = "user";
  user.content = "Which experts handle punctuation?";
  user.created_ms = user.updated_ms = 1'700'000'001'000;
  user.attachments.push_back(text_attachment("notes.txt", "expert notes\n"));
  user.attachments.push_back(text_attachment("copy.txt", "expert notes\n"));
  user.trace = make_trace(12, 64, 8, {1, 2, 3}, 7);
  user.token_texts = texts_for(12);
  Message answer;
  answer.role = "assistant";
  answer.content = "Mostly expert 3 at layer 2.";
  answer.state = MessageState::complete;
  answer.n_tokens = 40;
  answer.timings = {12.5, 400.25, 30.0};
  answer.stop_reason = "end_of_generation";
  answer.settings_json = R"({"temperature":0.7,"seed":1})";
  answer.created_ms = 1'700'000'002'000;
  answer.updated_ms = 1'700'000'005'000;
  answer.trace = make_trace(40, 64, 8, {1, 2, 3}, 8, 2, 12);
  answer.token_texts = texts_for(40);
  Message note;
  note.role = "system";
  note.content = "";
  note.created_ms = note.updated_ms = 1'700'000'005'000;
  s.messages = {user, answer, note};
  return s;
}

}  // namespace

class TestStore : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  fs::path path(const char* name) const { return fs::path(dir_.path().toStdString()) / name; }

 private slots:
  void new_database_has_the_current_schema() {
    const fs::path db = path("new.db");
    {
      Store store(db);
      QCOMPARE(store.opened_at_version(), 0);
      QVERIFY(store.list_sessions().empty());
    }
    Store again(db);
    QCOMPARE(again.opened_at_version(), Store::schema_version);
    QVERIFY(again.integrity_problems().empty());
  }

  void default_path_follows_xdg() {
    qputenv("XDG_DATA_HOME", "/tmp/xdg-test");
    QCOMPARE(default_database_path(), fs::path("/tmp/xdg-test/expertscope/sessions.db"));
    qputenv("XDG_DATA_HOME", "relative/ignored");
    qputenv("HOME", "/home/someone");
    QCOMPARE(default_database_path(),
             fs::path("/home/someone/.local/share/expertscope/sessions.db"));
  }

  void session_round_trip() {
    const fs::path db = path("round.db");
    const Session original = sample_session();
    int64_t id = 0;
    {
      Store store(db);
      id = store.create_session(original.title, original.model, original.settings_json);
      for (const Message& m : original.messages) store.add_message(id, m);
    }
    Store store(db);
    const Session back = store.load_session(id);
    QCOMPARE(back.title, original.title);
    QVERIFY(back.model == original.model);
    QCOMPARE(back.settings_json, original.settings_json);
    QCOMPARE(back.messages.size(), original.messages.size());
    for (size_t i = 0; i < back.messages.size(); ++i) {
      Message a = original.messages[i];
      Message b = back.messages[i];
      QVERIFY(b.id > 0);
      a.id = b.id;
      for (Attachment& x : a.attachments) {
        x.sha256 = sha256_hex(x.data);
      }
      QVERIFY2(same_message(a, b), ("message " + std::to_string(i)).c_str());
    }
    // The session was created now, after its (back-dated) messages.
    QVERIFY(back.updated_ms >= back.created_ms);
    // Without data and traces: descriptions only.
    const Session light = store.load_session(id, {.attachment_data = false, .traces = false});
    QVERIFY(light.messages[0].attachments[0].data.empty());
    QCOMPARE(light.messages[0].attachments[0].size, uint64_t{13});
    QVERIFY(!light.messages[1].trace);
    // Both attachments share one blob.
    QCOMPARE(back.messages[0].attachments[0].sha256, back.messages[0].attachments[1].sha256);
    QCOMPARE(store.blob(back.messages[0].attachments[0].sha256).size(), size_t{13});

    const auto storage = store.trace_storage(back.messages[1].id);
    QVERIFY(storage.has_value());
    QCOMPARE(storage->n_tokens, 40u);
    QCOMPARE(storage->encoding, Store::trace_encoding);
    QVERIFY(storage->disk_bytes < storage->raw_bytes);

    const auto list = store.list_sessions();
    QCOMPARE(list.size(), size_t{1});
    QCOMPARE(list[0].n_messages, 3u);
    QCOMPARE(list[0].title, original.title);
  }

  void import_keeps_everything() {
    Store store(path("import.db"));
    Session original = sample_session();
    for (Message& m : original.messages) {
      for (Attachment& a : m.attachments) a.sha256 = sha256_hex(a.data);
    }
    const int64_t a = store.import_session(original);
    const int64_t b = store.import_session(original);
    QVERIFY(a != b);
    const Session back = store.load_session(b);
    QVERIFY(same_session(original, back, /*compare_ids=*/false));
    QCOMPARE(back.created_ms, original.created_ms);
    QCOMPARE(back.updated_ms, original.updated_ms);
  }

  void delete_keeps_shared_blobs() {
    Store store(path("delete.db"));
    Session s = sample_session();
    const int64_t a = store.import_session(s);
    const int64_t b = store.import_session(s);
    const std::string hash = sha256_hex(s.messages[0].attachments[0].data);
    store.delete_session(a);
    QVERIFY(!store.has_session(a));
    QCOMPARE(store.blob(hash).size(), size_t{13});  // b still uses it
    store.delete_session(b);
    QVERIFY_THROWS_EXCEPTION(Error, (void)store.blob(hash));
    QVERIFY(store.search("punctuation").empty());  // the index forgot the messages too
  }

  void a_failed_write_changes_nothing() {
    Store store(path("atomic.db"));
    const int64_t id = store.create_session("t", std::nullopt);
    Message m;
    m.role = "user";
    m.content = "first attachment fine, second broken";
    m.attachments.push_back(text_attachment("ok.txt", "fine"));
    Attachment bad = text_attachment("bad.txt", "data");
    bad.sha256 = std::string(64, '0');  // does not match the data
    m.attachments.push_back(bad);
    QVERIFY_THROWS_EXCEPTION(Error, store.add_message(id, m));
    QCOMPARE(store.load_session(id).messages.size(), size_t{0});
    QVERIFY_THROWS_EXCEPTION(Error, (void)store.blob(sha256_hex(m.attachments[0].data)));
    QVERIFY(store.search("broken").empty());
    // Bad arguments are refused before anything is written.
    Message wrong_role;
    wrong_role.role = "tool";
    QVERIFY_THROWS_EXCEPTION(Error, store.add_message(id, wrong_role));
    QVERIFY_THROWS_EXCEPTION(Error, store.add_message(id + 100, Message{.role = "user"}));
    QVERIFY_THROWS_EXCEPTION(Error, store.create_session("x", std::nullopt, "[1,2]"));
  }

  void streaming_then_finish() {
    Store store(path("stream.db"));
    const int64_t sid = store.create_session("s", test_model());
    const int64_t mid = store.begin_message(sid, R"({"n_predict":8})");
    store.flush_message(mid, "Hel", 2);
    store.flush_message(mid, "Hello wor", 5);
    Session s = store.load_session(sid);
    QCOMPARE(s.messages[0].state, MessageState::streaming);
    QCOMPARE(s.messages[0].content, std::string("Hello wor"));
    QCOMPARE(s.messages[0].n_tokens, 5u);
    Message done;
    done.content = "Hello world";
    done.state = MessageState::cancelled;
    done.n_tokens = 6;
    done.stop_reason = "cancelled";
    done.trace = make_trace(6, 16, 2, {0, 1}, 3);
    done.token_texts = texts_for(6);
    store.finish_message(mid, done);
    s = store.load_session(sid);
    QCOMPARE(s.messages[0].state, MessageState::cancelled);
    QCOMPARE(s.messages[0].content, std::string("Hello world"));
    QVERIFY(s.messages[0].trace.has_value());
    QCOMPARE(s.messages[0].token_texts, texts_for(6));
    // A finished message takes no more flushes.
    QVERIFY_THROWS_EXCEPTION(Error, store.flush_message(mid, "more", 7));
    QVERIFY_THROWS_EXCEPTION(Error, store.finish_message(mid, done));
  }

  void streaming_found_at_open_becomes_interrupted() {
    const fs::path db = path("recover.db");
    int64_t sid = 0;
    int64_t mid = 0;
    {
      Store writer(db);
      sid = writer.create_session("s", std::nullopt);
      mid = writer.begin_message(sid);
      writer.flush_message(mid, "partial answer", 3);
      // A second store while the writer is open must not take the message away from it.
      Store reader(db);
      QCOMPARE(reader.recovered_on_open(), 0u);
      QCOMPARE(reader.load_session(sid).messages[0].state, MessageState::streaming);
      writer.flush_message(mid, "partial answer, longer", 4);
    }  // both closed without finishing: what a crash leaves
    Store after(db);
    QCOMPARE(after.recovered_on_open(), 1u);
    const Message m = after.load_session(sid).messages[0];
    QCOMPARE(m.state, MessageState::interrupted);
    QCOMPARE(m.content, std::string("partial answer, longer"));
    QCOMPARE(m.n_tokens, 4u);
  }

  void search_finds_words() {
    Store store(path("search.db"));
    const int64_t a = store.create_session("Café talk", std::nullopt);
    Message m;
    m.role = "user";
    m.content = "The router sends punctuation to expert three.";
    store.add_message(a, m);
    m.role = "assistant";
    m.content = "Naïve routing \"quoted\" OR tricky NEAR(syntax)";
    const int64_t second = store.add_message(a, m);
    QCOMPARE(store.search("punctuation expert").size(), size_t{1});
    QCOMPARE(store.search("PUNCTUATION").size(), size_t{1});
    QVERIFY(store.search("punctuation missingword").empty());
    const auto hits = store.search("naive");  // diacritics folded
    QCOMPARE(hits.size(), size_t{1});
    QCOMPARE(hits[0].message_id, second);
    QCOMPARE(hits[0].session_title, std::string("Café talk"));
    QVERIFY(hits[0].snippet.find("[Naïve]") != std::string::npos);
    // FTS5 syntax in a plain query is just words.
    QCOMPARE(store.search("\"quoted\" OR NEAR(syntax)").size(), size_t{1});
    QCOMPARE(store.search("rout*", 50, /*raw_fts5=*/true).size(), size_t{2});
    QVERIFY_THROWS_EXCEPTION(Error, (void)store.search("NEAR(", 50, true));
    QVERIFY_THROWS_EXCEPTION(Error, (void)store.search("   "));
  }

  // Fixture databases of every earlier schema version, made with that version's SQL and
  // rows as that version stored them, must open migrated with nothing lost.
  void migrates_from_every_earlier_version() {
    const auto steps = store_detail::migrations();
    QCOMPARE(static_cast<int>(steps.size()), Store::schema_version);
    for (int version = 1; version < Store::schema_version; ++version) {
      const fs::path db = path(("v" + std::to_string(version) + ".db").c_str());
      std::string script = "BEGIN;";
      for (int v = 0; v < version; ++v) script += std::string(steps[static_cast<size_t>(v)]);
      script += "PRAGMA user_version = " + std::to_string(version) + ";";
      const std::string attachment = "attached text";
      const std::string hash = sha256_hex(
          std::span(reinterpret_cast<const uint8_t*>(attachment.data()), attachment.size()));
      script += "INSERT INTO models VALUES (1, '/m.gguf', 10, '" + std::string(64, 'b') +
                "', 'qwen3moe', 'Old model');"
                "INSERT INTO sessions VALUES (1, 'Old session', 1, '{\"temperature\":0}', 1000, "
                "3000);"
                "INSERT INTO messages VALUES (1, 1, 0, 'user', 'an old question about routers', "
                "'complete', 0, 0, 0, 0, '', '{}', 1000, 1000);"
                "INSERT INTO messages VALUES (2, 1, 1, 'assistant', 'an answer cut short', "
                "'streaming', 4, 1.5, 20, 3, '', '{}', 2000, 3000);"
                "INSERT INTO blobs VALUES ('" +
                hash + "', 13, CAST('" + attachment +
                "' AS BLOB));"
                "INSERT INTO attachments VALUES (1, 1, 0, 'text', 'a.txt', 'text/plain', '" +
                hash + "');";
      const RoutingTrace trace = make_trace(4, 8, 2, {0, 1}, 11);
      if (version >= 2) {
        const auto encoded = store_detail::encode_trace(trace, texts_for(4));
        script += "INSERT INTO traces VALUES (2, 1, 4, 0, " + hex_literal(encoded) + ");";
      }
      script += "COMMIT;";
      store_detail::exec_script(db, script);

      Store store(db);
      QCOMPARE(store.opened_at_version(), version);
      QCOMPARE(store.recovered_on_open(), 1u);
      const Session s = store.load_session(1);
      QCOMPARE(s.title, std::string("Old session"));
      QCOMPARE(s.model->name, std::string("Old model"));
      QCOMPARE(s.messages.size(), size_t{2});
      QCOMPARE(s.messages[0].attachments[0].data.size(), size_t{13});
      QCOMPARE(s.messages[1].state, MessageState::interrupted);
      QCOMPARE(s.messages[1].content, std::string("an answer cut short"));
      QCOMPARE(s.messages[1].timings.generate_ms, 20.0);
      if (version >= 2) {
        QVERIFY(s.messages[1].trace.has_value());
        QVERIFY(s.messages[1].trace->serialize() == trace.serialize());
      }
      // The search index was built for the messages that were already there.
      QCOMPARE(store.search("routers").size(), size_t{1});
      QVERIFY(store.integrity_problems().empty());
      Store again(db);
      QCOMPARE(again.opened_at_version(), Store::schema_version);
    }
  }

  void newer_schema_is_refused_untouched() {
    const fs::path db = path("newer.db");
    { Store store(db); }
    store_detail::exec_script(db, "PRAGMA user_version = 99; PRAGMA journal_mode = DELETE;");
    const auto before = file_bytes(db);
    try {
      Store store(db);
      QFAIL("a newer schema was opened");
    } catch (const Error& e) {
      QCOMPARE(e.kind(), ErrorKind::unsupported);
      QVERIFY(std::string(e.what()).find("newer") != std::string::npos);
      QVERIFY(std::string(e.what()).find(db.string()) != std::string::npos);
    }
    QVERIFY(file_bytes(db) == before);
  }

  void damaged_files_give_clear_errors() {
    // A healthy database of a few sessions, checkpointed into one file.
    const fs::path good = path("good.db");
    {
      Store store(good);
      for (int i = 0; i < 4; ++i) {
        const Session s = sample_session();
        store.import_session(s);
      }
    }
    const std::vector<uint8_t> healthy = file_bytes(good);
    QVERIFY(healthy.size() > 8 * 4096);
    QVERIFY(!fs::exists(good.string() + "-wal"));

    struct Case {
      std::string name;
      std::vector<uint8_t> bytes;
    };
    std::vector<Case> cases;
    cases.push_back({"text file", std::vector<uint8_t>(100, 'x')});
    cases.push_back({"short header", std::vector<uint8_t>(healthy.begin(), healthy.begin() + 50)});
    cases.push_back({"header only", std::vector<uint8_t>(healthy.begin(), healthy.begin() + 100)});
    for (const size_t cut :
         {size_t{4096}, healthy.size() / 2, healthy.size() - 4096, healthy.size() - 1}) {
      cases.push_back(
          {"truncated at " + std::to_string(cut),
           std::vector<uint8_t>(healthy.begin(), healthy.begin() + static_cast<long>(cut))});
    }
    std::mt19937 rng(5);
    for (int i = 0; i < 6; ++i) {
      // A page overwritten with garbage (not the first: that is the header, tested above).
      std::vector<uint8_t> b = healthy;
      const size_t page = 1 + rng() % (b.size() / 4096 - 1);
      for (size_t k = 0; k < 4096; ++k) b[page * 4096 + k] = static_cast<uint8_t>(rng());
      cases.push_back({"garbage page " + std::to_string(page), b});
    }
    std::vector<uint8_t> bad_page_size = healthy;
    bad_page_size[16] = 0x03;
    cases.push_back({"bad page size", bad_page_size});

    for (const Case& c : cases) {
      const fs::path db = path("damaged.db");
      write_bytes(db, c.bytes);
      bool refused = false;
      try {
        Store store(db);
        for (const SessionSummary& s : store.list_sessions()) (void)store.load_session(s.id);
        (void)store.search("punctuation");
        refused = !store.integrity_problems().empty();
      } catch (const Error& e) {
        refused = true;
        QVERIFY2(e.kind() == ErrorKind::bad_input, (c.name + ": " + e.what()).c_str());
        QVERIFY2(std::string(e.what()).find(db.string()) != std::string::npos,
                 (c.name + ": " + e.what()).c_str());
      }
      QVERIFY2(refused, (c.name + ": damage not noticed").c_str());
      QVERIFY2(file_bytes(db) == c.bytes, (c.name + ": the file was changed").c_str());
      fs::remove(db.string() + "-wal");
      fs::remove(db.string() + "-shm");
    }
  }

  void another_programs_database_is_not_ours() {
    const fs::path db = path("other.db");
    store_detail::exec_script(db,
                              "CREATE TABLE contacts (name TEXT); INSERT INTO contacts "
                              "VALUES ('x');");
    const auto before = file_bytes(db);
    QVERIFY_THROWS_EXCEPTION(Error, Store{db});
    QVERIFY(file_bytes(db) == before);
  }

  void move_aside_keeps_the_file() {
    const fs::path db = path("aside.db");
    write_bytes(db, std::vector<uint8_t>(4096, 7));
    QVERIFY_THROWS_EXCEPTION(Error, Store{db});
    const fs::path moved = Store::move_aside(db);
    QVERIFY(!fs::exists(db));
    QVERIFY(fs::exists(moved));
    QVERIFY(moved.string().find("aside.db.corrupt-") != std::string::npos);
    QCOMPARE(file_bytes(moved), std::vector<uint8_t>(4096, 7));
    Store fresh(db);  // a new database in its place
    QVERIFY(fresh.list_sessions().empty());
  }

  void trace_codec_round_trips() {
    struct Shape {
      uint32_t n, e, k;
      std::vector<uint32_t> layers;
      int32_t full;
    };
    const std::vector<Shape> shapes = {{1, 2, 1, {0}, -1},       {50, 64, 8, {1, 2, 3, 5}, 3},
                                       {30, 300, 8, {0, 1}, -1}, {20, 384, 16, {3}, 3},
                                       {7, 8, 2, {0, 1, 2}, 0},  {0, 16, 4, {1}, -1}};
    for (const Shape& s : shapes) {
      const RoutingTrace t = s.n == 0 ? RoutingTrace(TraceShape{s.e, s.k, s.layers, s.full})
                                      : make_trace(s.n, s.e, s.k, s.layers, s.n, s.full, 5);
      const auto texts = texts_for(s.n);
      const auto encoded = store_detail::encode_trace(t, texts);
      const auto decoded = store_detail::decode_trace(encoded, 1, "test");
      QVERIFY(decoded.trace.serialize() == t.serialize());
      QCOMPARE(decoded.token_texts, texts);
      const auto no_texts =
          store_detail::decode_trace(store_detail::encode_trace(t, {}), 1, "test");
      QVERIFY(no_texts.token_texts.empty());
    }
  }

  void trace_codec_rejects_damage() {
    const RoutingTrace t = make_trace(30, 64, 8, {1, 2}, 1);
    const auto good = store_detail::encode_trace(t, texts_for(30));
    QVERIFY_THROWS_EXCEPTION(Error, store_detail::decode_trace(good, 2, "m"));
    QVERIFY_THROWS_EXCEPTION(Error, store_detail::decode_trace({}, 1, "m"));
    std::mt19937 rng(3);
    int caught = 0;
    int harmless = 0;
    for (int i = 0; i < 300; ++i) {
      std::vector<uint8_t> b = good;
      if (i % 3 == 0) {
        b.resize(rng() % b.size());
      } else {
        b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
      try {
        const auto d = store_detail::decode_trace(b, 1, "message 9");
        // A flip in a frame-header field that does not change the content (a larger window
        // size) decodes to the same trace; anything else must be caught.
        QVERIFY(d.trace.serialize() == t.serialize());
        QCOMPARE(d.token_texts, texts_for(30));
        ++harmless;
      } catch (const Error& e) {
        QVERIFY(std::string(e.what()).find("message 9") != std::string::npos);
        ++caught;
      }
    }
    QVERIFY(caught >= 290);
    QCOMPARE(caught + harmless, 300);
  }
};

QTEST_GUILESS_MAIN(TestStore)
#include "test_store.moc"
