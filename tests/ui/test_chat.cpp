// The workbench's chat on a tiny fixture model (offscreen): a message streams tokens into
// the view and into the store; Stop mid-answer leaves a `cancelled` message; switching
// sessions restores the transcript and its traces; every export writes its file; the UI
// thread never stalls long while a model loads and an answer streams (a heartbeat timer
// measures the longest gap; the figure is printed, not asserted: a test never asserts a
// time).
#include <QClipboard>
#include <QComboBox>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QGuiApplication>
#include <QLabel>
#include <QListWidget>
#include <QMimeData>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "chat_controller.h"
#include "composer.h"
#include "conversation_view.h"
#include "device_picker.h"
#include "expertscope/store.h"
#include "expertscope/trace.h"
#include "main_window.h"
#include "model_panel.h"
#include "path_view.h"
#include "routing_inspector.h"
#include "sampling_panel.h"
#include "sessions_sidebar.h"
#include "tiny_models.h"
#include "tiny_projector.h"

using es::ui::MainWindow;

namespace {

constexpr int kTimeoutMs = 120000;

/// Measures the longest interval between ticks of a 5 ms timer on the UI thread.
class Heartbeat : public QObject {
 public:
  Heartbeat() {
    timer_.setInterval(5);
    connect(&timer_, &QTimer::timeout, this, [this] {
      const qint64 now = clock_.nsecsElapsed();
      if (last_ != 0) worst_ = std::max(worst_, now - last_);
      last_ = now;
    });
    clock_.start();
    timer_.start();
  }
  [[nodiscard]] double worst_ms() const { return static_cast<double>(worst_) / 1e6; }

 private:
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 last_ = 0;
  qint64 worst_ = 0;
};

}  // namespace

class TestChat : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString model_;

  MainWindow::Options options(const char* db) const {
    return MainWindow::Options{.use_settings = false, .store_path = dir_.filePath(db)};
  }

  static bool open_model(MainWindow& w, const QString& path) {
    QSignalSpy opened(&w, &MainWindow::modelOpened);
    w.openModel(path);
    return opened.wait(kTimeoutMs);
  }

  static void send(MainWindow& w, const QString& text) {
    w.composer()->editor()->setPlainText(text);
    QTest::keyClick(w.composer()->editor(), Qt::Key_Return);
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    model_ = dir_.filePath("tiny.gguf");
    es::test::TinyModelSpec spec = es::test::tiny_spec(es::Arch::qwen3moe);
    spec.n_layer = 4;
    es::test::write_tiny_model(spec, model_.toStdString());
  }

  void a_message_streams_into_the_view_and_the_store() {
    Heartbeat heart;
    MainWindow w(options("stream.db"));
    w.show();
    QVERIFY(open_model(w, model_));
    w.sampling()->setTemperature(0);
    w.sampling()->setMaxTokens(40);
    QSignalSpy tokens(w.chat(), &es::ui::ChatController::tokenArrived);
    QSignalSpy finished(w.chat(), &es::ui::ChatController::turnFinished);
    QSignalSpy loaded(w.chat(), &es::ui::ChatController::sessionLoaded);
    send(w, QStringLiteral("Which experts see commas?"));
    QVERIFY(w.composer()->text().isEmpty());
    // The question shows at once, the answer grows as tokens arrive.
    QCOMPARE(w.conversation()->cards().size(), size_t{2});
    QTRY_VERIFY_WITH_TIMEOUT(tokens.count() >= 3, kTimeoutMs);
    // Counted, not waited for: a fast build may finish while the tokens are checked.
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, kTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), kTimeoutMs);
    const auto stats = finished.at(0).at(0).value<es::ui::TurnStats>();
    QCOMPARE(static_cast<int>(stats.n_tokens), tokens.count());
    const auto session = loaded.last().at(0).value<es::ui::SessionPtr>();
    QCOMPARE(session->messages.size(), size_t{2});
    QCOMPARE(session->messages[1].state, es::MessageState::complete);
    QVERIFY(session->messages[1].trace.has_value());
    // The view shows the stored answer with its footer.
    QCOMPARE(w.conversation()->cards().size(), size_t{2});
    QCOMPARE(w.conversation()->cards()[1]->content(),
             QString::fromStdString(session->messages[1].content));
    // And the store has it (read back independently).
    es::Store store(dir_.filePath("stream.db").toStdString());
    const es::Session s = store.load_session(session->id);
    QCOMPARE(s.messages[1].content, session->messages[1].content);
    QTRY_COMPARE_WITH_TIMEOUT(w.sessions()->list()->count(), 1, kTimeoutMs);
    // Hovering a token of the answer (its Tokens view) shows that token's path in the
    // Routing Inspector: message 1 is the inspector's segment 1.
    es::ui::MessageCard* answer = w.conversation()->cards()[1];
    answer->setTokensShown(true);
    QVERIFY(answer->tokensShown());
    QVERIFY(answer->textLabel()->text().contains(QStringLiteral("href='t:2'")));
    emit answer->textLabel()->linkHovered(QStringLiteral("t:2"));
    es::inspector::PathView* path = w.routingInspector()->pathView();
    // The inspector may still be analysing the streaming data: the hover waits for it.
    QTRY_COMPARE_WITH_TIMEOUT(path->token().first, size_t{1}, kTimeoutMs);
    QCOMPARE(path->token().second, 2u);
    qInfo("longest UI-thread stall during load and generation: %.1f ms", heart.worst_ms());
  }

  /// The Model panel lists the devices; a chat run on the chosen Vulkan device answers
  /// exactly as on the CPU (greedy), and the panel says where it ran — or, when the device
  /// cannot hold the model, why it ran on the CPU instead.
  void the_chosen_device_runs_the_chat() {
    std::vector<QString> answers;
    for (const char* choice : {"cpu", "vulkan:0", "vulkan:0 oom"}) {
      const bool oom = QByteArray(choice).endsWith("oom");
      if (oom) qputenv("EXPERTSCOPE_VULKAN_FAULT", "oom@100000");
      MainWindow w(options(QByteArray(choice).replace(':', '_').replace(' ', '_') + ".db"));
      w.show();
      QVERIFY(open_model(w, model_));
      es::ui::DevicePicker* picker = w.modelPanel()->devicePicker();
      QVERIFY(picker->combo()->count() >= 2);  // automatic, the CPU, ...
      QVERIFY(picker->combo()->itemText(1).startsWith(QStringLiteral("CPU")));
      const QString backend = QString::fromLatin1(choice).section(' ', 0, 0);
      if (!picker->setBackend(backend)) {
        qunsetenv("EXPERTSCOPE_VULKAN_FAULT");
        QSKIP("no Vulkan device");
      }
      w.sampling()->setTemperature(0);
      w.sampling()->setMaxTokens(12);
      QSignalSpy loaded(w.chat(), &es::ui::ChatController::sessionLoaded);
      send(w, QStringLiteral("Where do you run?"));
      QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), kTimeoutMs);
      qunsetenv("EXPERTSCOPE_VULKAN_FAULT");
      const auto session = loaded.last().at(0).value<es::ui::SessionPtr>();
      answers.push_back(QString::fromStdString(session->messages.back().content));
      const QString status = picker->statusText();
      if (oom) {
        QVERIFY2(status.startsWith(QStringLiteral("Running on cpu: ")), qPrintable(status));
        QVERIFY2(status.contains(QStringLiteral("out of device memory")), qPrintable(status));
      } else {
        QCOMPARE(status, QStringLiteral("Running on %1.").arg(backend.section(':', 0, 0)));
      }
    }
    QCOMPARE(answers[1], answers[0]);
    QCOMPARE(answers[2], answers[0]);
  }

  void stop_leaves_a_cancelled_message() {
    MainWindow w(options("stop.db"));
    w.show();
    QVERIFY(open_model(w, model_));
    w.sampling()->setMaxTokens(100000);
    QSignalSpy tokens(w.chat(), &es::ui::ChatController::tokenArrived);
    QSignalSpy loaded(w.chat(), &es::ui::ChatController::sessionLoaded);
    send(w, QStringLiteral("Keep going"));
    QTRY_VERIFY_WITH_TIMEOUT(tokens.count() >= 2, kTimeoutMs);
    QTest::keyClick(w.composer()->editor(), Qt::Key_Escape);  // Esc stops
    QTRY_VERIFY_WITH_TIMEOUT(!w.chat()->busy(), kTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), kTimeoutMs);
    const auto session = loaded.last().at(0).value<es::ui::SessionPtr>();
    QCOMPARE(session->messages[1].state, es::MessageState::cancelled);
    // Stop takes effect within one token of the request.
    QVERIFY(session->messages[1].n_tokens <= static_cast<uint32_t>(tokens.count()) + 1);
  }

  void switching_sessions_restores_them() {
    MainWindow w(options("switch.db"));
    w.show();
    QVERIFY(open_model(w, model_));
    w.sampling()->setMaxTokens(8);
    QSignalSpy finished(w.chat(), &es::ui::ChatController::turnFinished);
    send(w, QStringLiteral("First session"));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
    const int64_t first = w.chat()->currentSession();
    w.chat()->newSession();
    QCOMPARE(w.conversation()->cards().size(), size_t{0});
    send(w, QStringLiteral("Second session"));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kTimeoutMs);
    const int64_t second = w.chat()->currentSession();
    QVERIFY(first != second);
    QSignalSpy loaded(w.chat(), &es::ui::ChatController::sessionLoaded);
    w.chat()->loadSession(first);
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), kTimeoutMs);
    const auto s = loaded.last().at(0).value<es::ui::SessionPtr>();
    QCOMPARE(s->id, first);
    QCOMPARE(w.conversation()->cards()[0]->content(), QStringLiteral("First session"));
    QVERIFY(s->messages[0].trace.has_value());
    QVERIFY(s->messages[1].trace.has_value());
    // Search finds the other one; duplicate and delete go through the store.
    QSignalSpy hits(w.chat(), &es::ui::ChatController::searchResults);
    w.chat()->search(QStringLiteral("second"));
    QTRY_VERIFY_WITH_TIMEOUT(!hits.isEmpty(), kTimeoutMs);
    QCOMPARE(hits.at(0).at(1).value<QVector<es::SearchHit>>().size(), 1);
    QSignalSpy listed(w.chat(), &es::ui::ChatController::sessionsChanged);
    w.chat()->duplicateSession(first);
    QTRY_VERIFY_WITH_TIMEOUT(
        !listed.isEmpty() && listed.last().at(0).value<QVector<es::SessionSummary>>().size() == 3,
        kTimeoutMs);
    w.chat()->deleteSession(second);
    QTRY_VERIFY_WITH_TIMEOUT(listed.last().at(0).value<QVector<es::SessionSummary>>().size() == 2,
                             kTimeoutMs);
  }

  void every_export_writes_its_file() {
    MainWindow w(options("export.db"));
    w.show();
    QVERIFY(open_model(w, model_));
    w.sampling()->setMaxTokens(6);
    QSignalSpy finished(w.chat(), &es::ui::ChatController::turnFinished);
    send(w, QStringLiteral("Export me"));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
    const int64_t id = w.chat()->currentSession();
    QSignalSpy exported(w.chat(), &es::ui::ChatController::exportFinished);
    int n = 0;
    for (const char* ext : {"md", "html", "json", "csv", "npy", "pdf"}) {
      const QString path = dir_.filePath(QStringLiteral("out.") + QLatin1String(ext));
      w.chat()->exportSession(id, *es::transcript::parse_format(ext), path);
      ++n;
      QTRY_COMPARE_WITH_TIMEOUT(exported.count(), n, kTimeoutMs);
      QVERIFY2(exported.last().at(1).toString().isEmpty(),
               qPrintable(exported.last().at(1).toString()));
      QVERIFY2(QFileInfo(path).size() > 0, ext);
    }
  }

  /// A model with a vision projector beside it: a pasted picture is attached, sent, and
  /// reaches the model — the stored user message's trace has image positions.
  void a_pasted_image_reaches_a_model_with_a_projector() {
    const QString seeing = dir_.filePath("seeing.gguf");
    es::test::TinyModelSpec spec = es::test::tiny_spec(es::Arch::olmoe);
    es::test::write_tiny_model(spec, seeing.toStdString());
    es::test::TinyProjectorSpec ps;
    ps.n_embd = spec.n_embd;
    es::test::write_tiny_projector(ps, dir_.filePath("seeing.mmproj.gguf").toStdString());
    MainWindow w(options("seeing.db"));
    w.show();
    QVERIFY(open_model(w, seeing));
    QImage image(40, 30, QImage::Format_RGB32);
    image.fill(Qt::darkGreen);
    QGuiApplication::clipboard()->setImage(image);
    w.composer()->editor()->setFocus();
    w.composer()->editor()->paste();
    QTRY_COMPARE_WITH_TIMEOUT(w.composer()->attachments().size(), size_t{1}, kTimeoutMs);
    // Its cost is shown before sending (measured off the UI thread): 16 patches + 2
    // markers, with a thumbnail.
    QTRY_VERIFY_WITH_TIMEOUT(w.composer()->settled(), kTimeoutMs);
    QCOMPARE(w.composer()->costs().size(), size_t{1});
    QCOMPARE(w.composer()->costs()[0].tokens, 18u);
    QVERIFY(!w.composer()->costs()[0].thumbnail.isNull());
    QVERIFY2(w.composer()->costText().contains(QStringLiteral("attachments 18")),
             qPrintable(w.composer()->costText()));
    QVERIFY(w.composer()->fits());
    w.sampling()->setTemperature(0);
    w.sampling()->setMaxTokens(4);
    QSignalSpy loaded(w.chat(), &es::ui::ChatController::sessionLoaded);
    send(w, QStringLiteral("What is in the picture?"));
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), kTimeoutMs);
    const auto session = loaded.last().at(0).value<es::ui::SessionPtr>();
    QCOMPARE(session->messages[0].attachments.size(), size_t{1});
    const es::RoutingTrace& trace = *session->messages[0].trace;
    uint32_t n_image = 0;
    for (uint32_t t = 0; t < trace.n_tokens(); ++t) {
      n_image += trace.modality(t) == es::Modality::image ? 1 : 0;
    }
    QCOMPARE(n_image, 16u);  // the tiny projector's 4 x 4 patches
  }

  void pasting_an_image_the_model_cannot_see_is_explained() {
    MainWindow w(options("paste.db"));
    w.show();
    QVERIFY(open_model(w, model_));
    QSignalSpy problems(&w, &MainWindow::problemShown);
    QImage image(32, 32, QImage::Format_RGB32);
    image.fill(Qt::red);
    // A real paste through the clipboard.
    QGuiApplication::clipboard()->setImage(image);
    w.composer()->editor()->setFocus();
    w.composer()->editor()->paste();
    QTRY_VERIFY_WITH_TIMEOUT(!problems.isEmpty(), kTimeoutMs);
    QVERIFY2(problems.last().at(0).toString().contains(QStringLiteral("vision projector")),
             qPrintable(problems.last().at(0).toString()));
    QVERIFY(w.composer()->attachments().empty());
    // A text file pasted as a URL is attached.
    const QString notes = dir_.filePath("pasted.txt");
    QFile f(notes);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("pasted notes\n");
    f.close();
    auto* mime = new QMimeData;
    mime->setUrls({QUrl::fromLocalFile(notes)});
    QGuiApplication::clipboard()->setMimeData(mime);
    w.composer()->editor()->paste();
    QCOMPARE(w.composer()->attachments().size(), size_t{1});
  }

  void a_damaged_session_database_is_reported_and_left_alone() {
    const QString db = dir_.filePath("damaged.db");
    QFile f(db);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QByteArray(5000, 'x'));
    f.close();
    MainWindow w(options("damaged.db"));
    QSignalSpy problems(&w, &MainWindow::problemShown);
    w.show();
    QTRY_VERIFY_WITH_TIMEOUT(!problems.isEmpty(), kTimeoutMs);
    QVERIFY2(problems.at(0).at(0).toString().contains(QStringLiteral("damaged.db")),
             qPrintable(problems.at(0).at(0).toString()));
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray(5000, 'x'));  // never written to
  }

  void a_broken_model_is_reported_in_the_window() {
    MainWindow w(options("broken.db"));
    w.show();
    const QString broken = dir_.filePath("broken.gguf");
    QFile f(broken);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("GGUF\x03\x00\x00\x00 truncated");
    f.close();
    QSignalSpy problems(&w, &MainWindow::problemShown);
    w.openModel(broken);
    QTRY_VERIFY_WITH_TIMEOUT(!problems.isEmpty(), kTimeoutMs);
    QVERIFY(problems.at(0).at(0).toString().contains(QStringLiteral("broken.gguf")));
    // Sending without a model says what to do instead of failing silently.
    send(w, QStringLiteral("hello"));
    QTRY_VERIFY_WITH_TIMEOUT(problems.count() >= 2, kTimeoutMs);
    QVERIFY(problems.last().at(0).toString().contains(QStringLiteral("Open a model")));
  }
};

QTEST_MAIN(TestChat)
#include "test_chat.moc"
