// The session commands end to end: generate --db over two turns with an attachment,
// sessions, search, export in every format, import of a JSON export (identical session),
// and the errors bad input gets (exit 3, nothing in the database changed).
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <filesystem>
#include <fstream>

#include "cli_runner.h"
#include "expertscope/store.h"
#include "expertscope/transcript.h"
#include "tiny_models.h"

namespace fs = std::filesystem;
using es::test::run_cli;

namespace {

QByteArray read_all(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

}  // namespace

class TestCliSessions : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString model_;
  QString db_;

  QString path(const char* name) const { return dir_.filePath(QString::fromUtf8(name)); }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    model_ = path("tiny.gguf");
    db_ = path("sessions.db");
    es::test::write_tiny_model(es::test::tiny_spec(es::Arch::olmoe), model_.toStdString());
    QFile notes(path("notes.txt"));
    QVERIFY(notes.open(QIODevice::WriteOnly));
    notes.write("Expert notes: <b>bold</b> & more\n");
  }

  void two_turns_are_recorded() {
    auto r = run_cli({"generate", "-m", model_, "--chat", "Which experts route commas?", "-n", "12",
                      "--seed", "1", "--db", db_, "--attach", path("notes.txt"), "--title",
                      "Routing questions", "--quiet"});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    QVERIFY(r.err.contains("recorded in session 1"));
    r = run_cli({"generate", "-m", model_, "--chat", "And periods?", "-n", "8", "--seed", "2",
                 "--db", db_, "--session", "1", "--quiet"});
    QVERIFY2(r.exit_code == 0, r.err.constData());

    es::Store store(db_.toStdString());
    const es::Session s = store.load_session(1);
    QCOMPARE(s.title, std::string("Routing questions"));
    QCOMPARE(s.messages.size(), size_t{4});
    QCOMPARE(s.messages[0].attachments.size(), size_t{1});
    QCOMPARE(s.messages[0].attachments[0].file_name, std::string("notes.txt"));
    QVERIFY(s.model.has_value());
    QCOMPARE(s.model->arch, std::string("olmoe"));
    for (const es::Message& m : s.messages) {
      QVERIFY(m.state == es::MessageState::complete);
      QVERIFY(m.trace.has_value());
      QCOMPARE(m.token_texts.size(), size_t{m.trace->n_tokens()});
    }
    QCOMPARE(s.messages[1].n_tokens, 12u);
    // A question counts the tokens its turn added to the context: those its trace holds.
    QCOMPARE(s.messages[0].n_tokens, s.messages[0].trace->n_tokens());
    QCOMPARE(s.messages[2].n_tokens, s.messages[2].trace->n_tokens());
    QVERIFY(s.messages[1].settings_json.find("\"seed\":1") != std::string::npos);
    // The second question's trace starts where the first exchange's tokens stop matching:
    // the earlier turn is not stored twice.
    const es::RoutingTrace& second_prompt = *s.messages[2].trace;
    QVERIFY(second_prompt.position(0) > 0);
    QVERIFY(second_prompt.position(0) <= s.messages[1].trace->position(0) + 12);
    std::string second_text;
    for (const std::string& t : s.messages[2].token_texts) second_text += t;
    QVERIFY(second_text.find("And periods?") != std::string::npos);
    QVERIFY(second_text.find("commas") == std::string::npos);
  }

  void sessions_and_search() {
    auto r = run_cli({"sessions", "--db", db_});
    QCOMPARE(r.exit_code, 0);
    const QJsonArray list = QJsonDocument::fromJson(r.out).array();
    QCOMPARE(list.size(), 1);
    QCOMPARE(list[0]["title"].toString(), QStringLiteral("Routing questions"));
    QCOMPARE(list[0]["n_messages"].toInt(), 4);
    QCOMPARE(list[0]["model"]["arch"].toString(), QStringLiteral("olmoe"));

    r = run_cli({"search", "--db", db_, "commas"});
    QCOMPARE(r.exit_code, 0);
    const QJsonArray hits = QJsonDocument::fromJson(r.out).array();
    QCOMPARE(hits.size(), 1);
    QCOMPARE(hits[0]["role"].toString(), QStringLiteral("user"));
    QVERIFY(hits[0]["snippet"].toString().contains(QStringLiteral("[commas]")));
    r = run_cli({"search", "--db", db_, "NEAR(", "--raw"});
    QCOMPARE(r.exit_code, 2);
    QVERIFY(r.err.startsWith("error: "));
    r = run_cli({"sessions", "--db", db_, "--check"});
    QCOMPARE(r.exit_code, 0);
    QVERIFY(QJsonDocument::fromJson(r.out).object()["ok"].toBool());
  }

  void exports_in_every_format() {
    for (const char* format : {"md", "html", "json", "csv", "npy"}) {
      const QString out = path("export.") + format;
      const auto r = run_cli({"export", "--db", db_, "--session", "1", "--out", out});
      QVERIFY2(r.exit_code == 0, r.err.constData());
      QVERIFY2(QFileInfo(out).size() > 100, format);
    }
    QVERIFY(read_all(path("export.md")).contains("Which experts route commas?"));
    QVERIFY(QFileInfo::exists(path("export.files/notes.txt")));
    const QByteArray html = read_all(path("export.html"));
    QVERIFY(html.contains("&lt;b&gt;bold&lt;/b&gt;") || !html.contains("<b>bold</b>"));
    QVERIFY(!html.contains("<script"));
    QVERIFY(read_all(path("export.csv")).startsWith("message,"));
    QVERIFY(read_all(path("export.npy")).startsWith("\x93NUMPY"));
#ifdef ES_HAVE_PDF
    const auto r = run_cli(
        {"export", "--db", db_, "--session", "1", "--format", "pdf", "--out", path("export.pdf")});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    QVERIFY(read_all(path("export.pdf")).startsWith("%PDF"));
#endif
  }

  void json_export_imports_identically() {
    const QString exported = path("export.json");
    auto r = run_cli({"import", "--db", db_, exported});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    const int64_t id = QJsonDocument::fromJson(r.out).object()["session"].toInteger();
    QCOMPARE(id, 2);
    r = run_cli({"export", "--db", db_, "--session", "2", "--out", path("again.json")});
    QCOMPARE(r.exit_code, 0);
    QCOMPARE(read_all(path("again.json")), read_all(exported));
    es::Store store(db_.toStdString());
    QVERIFY(es::same_session(store.load_session(1), store.load_session(2),
                             /*compare_ids=*/false));
  }

  void bad_input_changes_nothing() {
    const QByteArray before = run_cli({"sessions", "--db", db_}).out;
    // A broken export is refused before the store is touched.
    QByteArray json = read_all(path("export.json"));
    json.chop(json.size() / 3);
    QFile broken(path("broken.json"));
    QVERIFY(broken.open(QIODevice::WriteOnly));
    broken.write(json);
    broken.close();
    auto r = run_cli({"import", "--db", db_, path("broken.json")});
    QCOMPARE(r.exit_code, 3);
    QVERIFY(r.err.startsWith("error: "));
    QVERIFY(r.err.contains("broken.json"));
    r = run_cli({"export", "--db", db_, "--session", "99", "--out", path("x.json")});
    QCOMPARE(r.exit_code, 3);
    QVERIFY(r.err.contains("no session 99"));
    QVERIFY(!QFileInfo::exists(path("x.json")));
    r = run_cli({"export", "--db", db_, "--session", "1", "--out", path("no/such/dir/x.json")});
    QCOMPARE(r.exit_code, 3);
    r = run_cli(
        {"export", "--db", db_, "--session", "1", "--format", "docx", "--out", path("x.docx")});
    QCOMPARE(r.exit_code, 2);
    r = run_cli({"generate", "-m", model_, "--prompt", "raw", "--db", db_, "--session", "1"});
    QCOMPARE(r.exit_code, 2);
    r = run_cli({"generate", "-m", model_, "--chat", "x", "--session", "1"});
    QCOMPARE(r.exit_code, 2);  // --session needs --db
    r = run_cli({"generate", "-m", model_, "--chat", "x", "--db", db_, "--session", "42"});
    QCOMPARE(r.exit_code, 3);
    r = run_cli({"generate", "-m", model_, "--chat", "x", "--db", db_, "--attach", model_});
    QCOMPARE(r.exit_code, 3);  // not a text file
    QVERIFY(r.err.contains("tiny.gguf"));
    r = run_cli({"sessions", "--db", path("missing.db")});
    QCOMPARE(r.exit_code, 3);
    QVERIFY(!QFileInfo::exists(path("missing.db")));  // reading never creates a database
    QCOMPARE(run_cli({"sessions", "--db", db_}).out, before);
  }
};

QTEST_GUILESS_MAIN(TestCliSessions)
#include "test_cli_sessions.moc"
