// Crash safety of `generate --db`: the CLI is killed with SIGKILL at random moments (50
// seeded runs); after each, the database must pass `PRAGMA integrity_check`, every user
// message the child had committed must be there, and no answer may have lost text it had
// flushed. The child logs each commit (--flush-log) after it returns, so the log is a
// lower bound of what the database must hold.
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "cli_runner.h"
#include "expertscope/store.h"
#include "tiny_models.h"

namespace fs = std::filesystem;
using namespace es;

namespace {

constexpr int kRuns = 50;
const QString kPrompt = QStringLiteral("Tell me which experts you use.");

/// What the child's flush log says it committed.
struct Logged {
  std::vector<int64_t> users;
  std::vector<int64_t> answers;
  std::map<int64_t, size_t> flushed;        ///< answer → bytes of its last flush
  std::map<int64_t, std::string> finished;  ///< answer → final state
};

Logged read_log(const fs::path& path) {
  Logged log;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string what;
    int64_t id = 0;
    s >> what >> id;
    if (!s) continue;  // a line cut by the kill
    if (what == "user") log.users.push_back(id);
    if (what == "answer") log.answers.push_back(id);
    if (what == "flush") {
      size_t bytes = 0;
      if (s >> bytes) log.flushed[id] = bytes;
    }
    if (what == "finish") {
      std::string state;
      if (s >> state) log.finished[id] = state;
    }
  }
  return log;
}

const Message* find_message(const std::vector<Session>& sessions, int64_t id) {
  for (const Session& s : sessions) {
    for (const Message& m : s.messages) {
      if (m.id == id) return &m;
    }
  }
  return nullptr;
}

}  // namespace

class TestStoreCrash : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString model_;

  QStringList generate_args(const QString& db, const QString& log) const {
    return {"generate",  "-m",     model_,       "--chat",  kPrompt,       "-n",
            "200",       "--temp", "0",          "--quiet", "--db",        db,
            "--session", "new",    "--flush-ms", "0",       "--flush-log", log};
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    model_ = dir_.filePath("tiny.gguf");
    test::TinyModelSpec spec = test::tiny_spec(Arch::qwen3moe);
    spec.n_layer = 4;
    test::write_tiny_model(spec, model_.toStdString());
  }

  void kill9_never_loses_a_committed_message() {
    // A run to the end gives the answer every killed run must be a prefix of (greedy
    // sampling: every run writes the same text) and how long a run takes.
    const QString ref_db = dir_.filePath("reference.db");
    const auto t0 = std::chrono::steady_clock::now();
    const test::CliRun ref = test::run_cli(generate_args(ref_db, dir_.filePath("ref.log")));
    const auto run_time = std::chrono::steady_clock::now() - t0;
    QVERIFY2(ref.exit_code == 0, ref.err.constData());
    std::string answer;
    {
      Store store(ref_db.toStdString());
      const Session s = store.load_session(store.list_sessions().at(0).id);
      QCOMPARE(s.messages.size(), size_t{2});
      QCOMPARE(s.messages[1].state, MessageState::complete);
      answer = s.messages[1].content;
      QVERIFY(!answer.empty());
      QVERIFY(s.messages[0].trace.has_value());
      QVERIFY(s.messages[1].trace.has_value());
    }

    const fs::path db = dir_.filePath("crash.db").toStdString();
    const QString log_path = dir_.filePath("crash.log");
    std::mt19937 rng(20261129);
    const auto span_us = std::chrono::duration_cast<std::chrono::microseconds>(run_time).count();
    int killed_while_running = 0;
    size_t users_checked = 0;
    size_t flushes_checked = 0;
    size_t finished = 0;
    for (int run = 0; run < kRuns; ++run) {
      fs::remove(log_path.toStdString());
      QProcess child;
      child.start(QStringLiteral(ES_CLI_PATH),
                  generate_args(QString::fromStdString(db.string()), log_path));
      QVERIFY(child.waitForStarted(-1));
      // Kill anywhere from start-up to just past the end of a normal run.
      const auto delay = std::chrono::microseconds(
          std::uniform_int_distribution<int64_t>(0, span_us + span_us / 10)(rng));
      std::this_thread::sleep_for(delay);
      if (child.state() == QProcess::Running) ++killed_while_running;
      child.kill();  // SIGKILL
      QVERIFY(child.waitForFinished(-1));

      const Logged log = read_log(log_path.toStdString());
      Store store(db);  // recovery runs here
      const std::vector<std::string> problems = store.integrity_problems();
      QVERIFY2(problems.empty(), problems.empty() ? "" : problems[0].c_str());
      std::vector<Session> sessions;
      for (const SessionSummary& s : store.list_sessions()) {
        sessions.push_back(store.load_session(s.id));
      }
      for (const Session& s : sessions) {
        for (const Message& m : s.messages) {
          QVERIFY2(m.state != MessageState::streaming, "a streaming message survived an open");
        }
      }
      for (const int64_t id : log.users) {
        const Message* m = find_message(sessions, id);
        QVERIFY2(m != nullptr, ("run " + std::to_string(run) + ": user message lost").c_str());
        QCOMPARE(m->role, std::string("user"));
        QCOMPARE(QString::fromStdString(m->content), kPrompt);
        ++users_checked;
      }
      for (const int64_t id : log.answers) {
        const Message* m = find_message(sessions, id);
        QVERIFY2(m != nullptr, ("run " + std::to_string(run) + ": answer lost").c_str());
        // Whatever survived is the start of the one answer greedy sampling writes.
        QVERIFY2(answer.compare(0, m->content.size(), m->content) == 0,
                 ("run " + std::to_string(run) + ": answer text is not a prefix").c_str());
        if (const auto f = log.flushed.find(id); f != log.flushed.end()) {
          QVERIFY2(m->content.size() >= f->second,
                   ("run " + std::to_string(run) + ": flushed text lost").c_str());
          ++flushes_checked;
        }
        if (const auto f = log.finished.find(id); f != log.finished.end()) {
          QCOMPARE(std::string(message_state_name(m->state)), f->second);
          QCOMPARE(m->content, answer);
          ++finished;
        } else {
          // Killed before its end was logged: interrupted, or complete if the final
          // commit landed just before the kill.
          QVERIFY(m->state == MessageState::interrupted || m->state == MessageState::complete);
        }
      }
    }
    qInfo(
        "%d of %d runs killed while running; %zu user messages, %zu flushed answers and %zu "
        "finished answers checked (the answer: %zu bytes)",
        killed_while_running, kRuns, users_checked, flushes_checked, finished, answer.size());
    // The delays are spread over a whole run, so many kills land mid-answer (a run may be
    // faster than the reference run was, so not every kill finds the child alive).
    QVERIFY(killed_while_running >= kRuns / 5);
    QVERIFY(flushes_checked >= 5);
  }
};

QTEST_GUILESS_MAIN(TestStoreCrash)
#include "test_store_crash.moc"
