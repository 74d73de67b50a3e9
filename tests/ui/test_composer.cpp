// The composer's costs, context line and fit (offscreen, a tiny model whose chat context
// is 512 positions): a text file and a PDF too long for the context offer "Truncate to
// fit", which keeps whole lines / pages from the start, and the text the model receives
// says so; ✕ removes; the conversation so far and the typed text count in the context
// line; costs arrive asynchronously (the chip says "measuring…" and Send waits); a sent
// video shows its poster frame, duration and frames sampled in the conversation. Waits
// are QTRY_* / QSignalSpy with generous limits, never fixed sleeps.
#include <QFile>
#include <QLabel>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

#include "chat_controller.h"
#include "composer.h"
#include "conversation_view.h"
#include "expertscope/chat_session.h"
#include "expertscope/document.h"
#include "expertscope/model.h"
#include "main_window.h"
#include "sampling_panel.h"
#include "test_pdf.h"
#include "tiny_models.h"
#include "tiny_projector.h"

using es::ui::Composer;
using es::ui::MainWindow;

namespace {

constexpr int kTimeoutMs = 120000;
constexpr uint32_t kContext = 512;

/// The visible button `name` of chip `i`, or null.
QToolButton* chip_button(Composer* c, int i, const char* name) {
  const auto chips = c->findChildren<QFrame*>(QStringLiteral("attachmentChip"));
  if (i >= chips.size()) return nullptr;
  auto* b = chips[i]->findChild<QToolButton*>(QLatin1String(name));
  return b != nullptr && !b->isHidden() ? b : nullptr;  // the chip may not be shown yet
}

QString chip_label(Composer* c, int i) {
  const auto chips = c->findChildren<QFrame*>(QStringLiteral("attachmentChip"));
  if (i >= chips.size()) return {};
  return chips[i]->findChild<QLabel*>(QStringLiteral("attachmentLabel"))->text();
}

QPushButton* send_button(Composer* c) {
  return c->findChild<QPushButton*>(QStringLiteral("sendButton"));
}

/// The message the composer would send, as the model reads it (chat_session.h).
std::string model_text(const Composer* c) {
  es::Message m;
  m.role = "user";
  m.content = c->text().toStdString();
  m.attachments = c->attachments();
  return es::message_model_text(m, true);
}

}  // namespace

class TestComposer : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString model_;
  std::shared_ptr<const es::Model> loaded_;
  std::shared_ptr<const es::Tokenizer> tokenizer_;

  MainWindow::Options options(const char* db) const {
    return MainWindow::Options{.use_settings = false, .store_path = dir_.filePath(db)};
  }

  static bool open_model(MainWindow& w, const QString& path) {
    QSignalSpy opened(&w, &MainWindow::modelOpened);
    w.openModel(path);
    return opened.wait(kTimeoutMs);
  }

  QString write(const QString& name, const QByteArray& bytes) const {
    const QString path = dir_.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return {};
    f.write(bytes);
    return path;
  }

  /// A composer measuring with the tiny model's tokenizer and template.
  void set_model(Composer& c) const {
    c.setModelInput(tokenizer_, nullptr, kContext, es::chat_template_source(*loaded_));
  }

  uint32_t tokens(const std::string& text) const {
    return static_cast<uint32_t>(tokenizer_->encode(text).size());
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    model_ = dir_.filePath("tiny.gguf");
    es::test::TinyModelSpec spec = es::test::tiny_spec(es::Arch::qwen3moe);
    spec.n_ctx_train = kContext;  // the chat context: 512 positions
    es::test::write_tiny_model(spec, model_.toStdString());
    loaded_ = es::Model::load(model_.toStdString());
    tokenizer_ = std::make_shared<const es::Tokenizer>(es::Tokenizer::from_gguf(loaded_->file()));
  }

  /// A text file longer than the context: Send is disabled and the chip offers Truncate
  /// to fit beside ✕; truncating keeps whole lines from the start — as many as fit, one
  /// more would not — and the model reads a note saying so; the turn is sent and stored.
  void a_too_long_text_file_is_truncated_to_fit() {
    QByteArray log;
    for (int i = 1; i <= 400; ++i) log += "event " + QByteArray::number(i) + " happened\n";
    const QString path = write(QStringLiteral("events.log"), log);
    MainWindow w(options("text.db"));
    w.show();
    QVERIFY(open_model(w, model_));
    Composer* c = w.composer();
    QString error;
    QVERIFY2(c->addFile(path, &error), qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(c->settled(), kTimeoutMs);
    QVERIFY(c->costs()[0].tokens > c->promptBudget());
    QVERIFY(!c->fits());
    QVERIFY(!send_button(c)->isEnabled());
    QVERIFY2(c->costText().contains(QStringLiteral("Truncate a document")),
             qPrintable(c->costText()));
    QToolButton* truncate = chip_button(c, 0, "truncateButton");
    QVERIFY(truncate != nullptr);
    QVERIFY(chip_button(c, 0, "removeButton") != nullptr);
    // Enter does not send what does not fit.
    QSignalSpy sends(c, &Composer::sendRequested);
    c->editor()->setPlainText(QStringLiteral("What happened?"));
    QTest::keyClick(c->editor(), Qt::Key_Return);
    QCOMPARE(sends.count(), 0);
    QTRY_VERIFY_WITH_TIMEOUT(c->settled(), kTimeoutMs);  // the typed text counted too

    QTest::mouseClick(truncate, Qt::LeftButton);
    QVERIFY(c->measuring(0));  // measured off the UI thread
    QVERIFY(chip_label(c, 0).contains(QStringLiteral("measuring…")));
    QTRY_VERIFY_WITH_TIMEOUT(c->settled(), kTimeoutMs);
    QVERIFY2(c->fits(), qPrintable(c->costText()));
    QVERIFY(send_button(c)->isEnabled());
    const uint32_t kept = c->attachments()[0].kept_units;
    QVERIFY(kept > 0 && kept < 400);
    QVERIFY2(chip_label(c, 0).contains(QStringLiteral("of 400 lines kept")),
             qPrintable(chip_label(c, 0)));
    // As many lines as fit: one more would not.
    const uint64_t others = c->totalTokens() - c->costs()[0].tokens;
    const auto bytes = std::span(reinterpret_cast<const uint8_t*>(log.constData()),
                                 static_cast<size_t>(log.size()));
    QCOMPARE(c->costs()[0].tokens,
             tokens(es::media::attachment_text_kept(bytes, "events.log", "text/plain", kept)));
    QVERIFY(others + tokens(es::media::attachment_text_kept(bytes, "events.log", "text/plain",
                                                            kept + 1)) >
            c->promptBudget());
    // What the model receives says what was kept, and only that.
    const std::string text = model_text(c);
    const std::string note = "[truncated: first " + std::to_string(kept) + " of 400 lines kept]";
    QVERIFY2(text.find(note) != std::string::npos, text.substr(0, 200).c_str());
    QVERIFY(text.find("event " + std::to_string(kept) + " happened\n") != std::string::npos);
    QVERIFY(text.find("event " + std::to_string(kept + 1) + " ") == std::string::npos);

    // Sent: the stored message keeps the whole file and the count; its prompt tokens
    // (what the model read) carry the note.
    w.sampling()->setMaxTokens(2);
    QSignalSpy loaded(w.chat(), &es::ui::ChatController::sessionLoaded);
    QTest::keyClick(c->editor(), Qt::Key_Return);
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), kTimeoutMs);
    const auto session = loaded.last().at(0).value<es::ui::SessionPtr>();
    const es::Message& user = session->messages.at(0);
    QCOMPARE(user.attachments.at(0).kept_units, kept);
    QCOMPARE(user.attachments.at(0).size, static_cast<uint64_t>(log.size()));
    std::string read;
    for (const std::string& t : user.token_texts) read += t;
    QVERIFY2(read.find(note) != std::string::npos, read.substr(0, 300).c_str());
    // The conversation card says what was kept.
    const auto boxes =
        w.conversation()->cards().at(0)->findChildren<QLabel*>(QStringLiteral("attachmentThumb"));
    QVERIFY(!boxes.isEmpty());
    QVERIFY2(boxes[0]->text().contains(QStringLiteral("first %1 lines kept").arg(kept)),
             qPrintable(boxes[0]->text()));
  }

  /// A PDF longer than the context: whole pages from the start are kept, the model reads
  /// "[truncated: pages 1–N of 60 kept]"; a picture-less model offers no truncation for
  /// what fits; ✕ removes it.
  void a_too_long_pdf_is_truncated_to_whole_pages() {
    std::vector<std::vector<std::string>> pages;
    for (int i = 1; i <= 60; ++i) {
      pages.push_back({"Page " + std::to_string(i) + " of the report", "Experts route tokens",
                       "by their hidden state."});
    }
    const QString path =
        write(QStringLiteral("report.pdf"), QByteArray::fromStdString(es::test::make_pdf(pages)));
    Composer c;
    set_model(c);
    c.show();
    QString error;
    QVERIFY2(c.addFile(path, &error), qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(c.settled(), kTimeoutMs);
    QCOMPARE(c.attachments()[0].kind, std::string("pdf"));
    QCOMPARE(c.costs()[0].units, 60u);
    QVERIFY(!c.fits());
    QVERIFY(c.canTruncate(0));
    c.truncateToFit(0);
    QTRY_VERIFY_WITH_TIMEOUT(c.settled(), kTimeoutMs);
    QVERIFY2(c.fits(), qPrintable(c.costText()));
    const uint32_t kept = c.attachments()[0].kept_units;
    QVERIFY(kept >= 1 && kept < 60);
    QVERIFY2(chip_label(&c, 0).contains(QStringLiteral("of 60 kept")),
             qPrintable(chip_label(&c, 0)));
    const std::string text = model_text(&c);
    const std::string note =
        kept == 1 ? std::string("[truncated: page 1 of 60 kept]")
                  : "[truncated: pages 1\u2013" + std::to_string(kept) + " of 60 kept]";
    QVERIFY2(text.find(note) != std::string::npos, text.substr(0, 200).c_str());
    QVERIFY(text.find("--- page " + std::to_string(kept) + " of 60 ---") != std::string::npos);
    QVERIFY(text.find("--- page " + std::to_string(kept + 1) + " of 60 ---") == std::string::npos);
    QVERIFY(text.find("Page " + std::to_string(kept + 1) + " of the report") == std::string::npos);
    // It fits now: no truncation is offered; ✕ removes it.
    QVERIFY(chip_button(&c, 0, "truncateButton") == nullptr);
    QToolButton* remove = chip_button(&c, 0, "removeButton");
    QVERIFY(remove != nullptr);
    QTest::mouseClick(remove, Qt::LeftButton);
    QVERIFY(c.attachments().empty());
    QTRY_VERIFY_WITH_TIMEOUT(c.settled(), kTimeoutMs);
    QVERIFY(c.fits());
  }

  /// Truncating cannot make room the rest of the message already takes: said, not done.
  /// A picture gets ✕ only.
  void what_cannot_be_truncated_says_so() {
    Composer c;
    set_model(c);
    c.setAcceptsImages(true, QString());
    c.show();
    QSignalSpy rejected(&c, &Composer::attachmentRejected);
    QByteArray one_line(4000, 'x');  // one line: nothing to cut on a line boundary
    QString error;
    QVERIFY(c.addFile(write(QStringLiteral("one-line.txt"), one_line), &error));
    QTRY_VERIFY_WITH_TIMEOUT(c.settled(), kTimeoutMs);
    QVERIFY(!c.fits());
    QVERIFY(!c.canTruncate(0));
    QVERIFY(chip_button(&c, 0, "truncateButton") == nullptr);
    QVERIFY2(c.costText().contains(QStringLiteral("Remove an attachment")),
             qPrintable(c.costText()));
    QImage image(20, 20, QImage::Format_RGB32);
    image.fill(Qt::blue);
    QVERIFY(c.addImage(image, &error));
    QTRY_VERIFY_WITH_TIMEOUT(c.settled(), kTimeoutMs);
    QCOMPARE(c.attachments()[1].kind, std::string("image"));
    QVERIFY(chip_button(&c, 1, "truncateButton") == nullptr);
    QVERIFY(chip_button(&c, 1, "removeButton") != nullptr);
    QCOMPARE(rejected.count(), 0);
  }

  /// The context line counts the conversation (rendered with the template as the next
  /// turn renders it) and the typed text besides the attachments.
  void history_counts_in_the_context_line() {
    MainWindow w(options("history.db"));
    w.show();
    QVERIFY(open_model(w, model_));
    Composer* c = w.composer();
    QTRY_VERIFY_WITH_TIMEOUT(c->settled(), kTimeoutMs);
    const std::string source = es::chat_template_source(*loaded_);
    es::Message empty;
    empty.role = "user";
    QCOMPARE(c->conversationTokens(),
             es::count_chat_prompt(source, *tokenizer_, nullptr, {}, empty));
    const uint32_t template_only = c->conversationTokens();
    w.sampling()->setTemperature(0);
    w.sampling()->setMaxTokens(12);
    QSignalSpy loaded(w.chat(), &es::ui::ChatController::sessionLoaded);
    c->editor()->setPlainText(QStringLiteral("Tell me about the experts of layer one."));
    QTest::keyClick(c->editor(), Qt::Key_Return);
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty() && !w.chat()->busy(), kTimeoutMs);
    const auto session = loaded.last().at(0).value<es::ui::SessionPtr>();
    QCOMPARE(session->messages.size(), size_t{2});
    QTRY_VERIFY_WITH_TIMEOUT(c->settled(), kTimeoutMs);
    const uint32_t history =
        es::count_chat_prompt(source, *tokenizer_, nullptr, session->messages, empty);
    QVERIFY(history > template_only);
    QCOMPARE(c->conversationTokens(), history);
    QVERIFY2(
        c->costText().contains(QStringLiteral("conversation %1").arg(QLocale().toString(history))),
        qPrintable(c->costText()));
    // Typing counts too, shortly after it stops.
    c->editor()->setPlainText(QStringLiteral("And layer two?"));
    QTRY_VERIFY_WITH_TIMEOUT(c->settled(), kTimeoutMs);
    QCOMPARE(c->typedTokens(), tokens("And layer two?"));
    QCOMPARE(c->totalTokens(), uint64_t{history} + tokens("And layer two?"));
    // A new chat has only the template again.
    w.chat()->newSession();
    QTRY_VERIFY_WITH_TIMEOUT(c->settled(), kTimeoutMs);
    QCOMPARE(c->conversationTokens(), template_only);
  }

  /// Costs arrive asynchronously: right after addFile the chip says "measuring…" and Send
  /// waits; the cost arrives as a signal. A file found unusable there is dropped with a
  /// message naming it.
  void the_cost_arrives_asynchronously() {
    Composer c;
    set_model(c);
    c.show();
    QSignalSpy changed(&c, &Composer::costsChanged);
    QSignalSpy rejected(&c, &Composer::attachmentRejected);
    c.editor()->setPlainText(QStringLiteral("Read this."));
    QString error;
    QVERIFY(c.addFile(write(QStringLiteral("short.md"), "# Short\nnotes\n"), &error));
    QCOMPARE(c.attachments().size(), size_t{1});
    // The result can only come back through the event loop: not yet.
    QVERIFY(c.measuring(0));
    QVERIFY(c.measuring());
    QVERIFY(chip_label(&c, 0).endsWith(QStringLiteral("measuring…")));
    QVERIFY(!send_button(&c)->isEnabled());
    QSignalSpy sends(&c, &Composer::sendRequested);
    QTest::keyClick(c.editor(), Qt::Key_Return);
    QCOMPARE(sends.count(), 0);
    QTRY_VERIFY_WITH_TIMEOUT(!c.measuring(), kTimeoutMs);
    QVERIFY(changed.count() >= 1);
    QCOMPARE(c.costs()[0].tokens, tokens("### short.md\n\n# Short\nnotes\n"));
    QVERIFY(chip_label(&c, 0).contains(QStringLiteral("tokens")));
    QTRY_VERIFY_WITH_TIMEOUT(c.settled(), kTimeoutMs);
    QVERIFY(send_button(&c)->isEnabled());
    QTest::keyClick(c.editor(), Qt::Key_Return);
    QCOMPARE(sends.count(), 1);
    // Binary data without a name that says what it is: only FFmpeg can tell — off the UI
    // thread — and it cannot: dropped, with the file named.
    QVERIFY(c.addFile(write(QStringLiteral("blob.bin"), QByteArray("\x00\x01\xff\xfe data", 11)),
                      &error));
    QCOMPARE(c.attachments().size(), size_t{2});
    QTRY_COMPARE_WITH_TIMEOUT(rejected.count(), 1, kTimeoutMs);
    QVERIFY2(rejected.at(0).at(0).toString().contains(QStringLiteral("blob.bin")),
             qPrintable(rejected.at(0).at(0).toString()));
    QCOMPARE(c.attachments().size(), size_t{1});
  }

  /// A sent video shows its poster frame with its duration and the frames sampled (the
  /// clip made by the ffmpeg CLI; skipped without it).
  void a_sent_video_shows_its_poster_frame() {
    const QString ffmpeg = QStandardPaths::findExecutable(QStringLiteral("ffmpeg"));
    if (ffmpeg.isEmpty()) QSKIP("the ffmpeg CLI is not installed: no test clip");
    const QString clip = dir_.filePath(QStringLiteral("clip.mp4"));
    QCOMPARE(QProcess::execute(ffmpeg, {"-loglevel", "error", "-y", "-f", "lavfi", "-i",
                                        "testsrc=s=160x120:r=10:d=4", "-pix_fmt", "yuv420p", clip}),
             0);
    const QString seeing = dir_.filePath(QStringLiteral("seeing.gguf"));
    es::test::TinyModelSpec spec = es::test::tiny_spec(es::Arch::olmoe);
    es::test::write_tiny_model(spec, seeing.toStdString());
    es::test::TinyProjectorSpec ps;
    ps.n_embd = spec.n_embd;
    es::test::write_tiny_projector(
        ps, dir_.filePath(QStringLiteral("seeing.mmproj.gguf")).toStdString());
    MainWindow w(options("video.db"));
    w.show();
    QVERIFY(open_model(w, seeing));
    Composer* c = w.composer();
    QString error;
    QVERIFY2(c->addFile(clip, &error), qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(c->settled(), kTimeoutMs);
    QCOMPARE(c->attachments()[0].kind, std::string("video"));
    QVERIFY(!c->costs()[0].thumbnail.isNull());
    QVERIFY2(c->costs()[0].detail.contains(QStringLiteral("frames sampled")),
             qPrintable(c->costs()[0].detail));
    w.sampling()->setMaxTokens(2);
    QSignalSpy loaded(w.chat(), &es::ui::ChatController::sessionLoaded);
    c->editor()->setPlainText(QStringLiteral("What moves?"));
    QTest::keyClick(c->editor(), Qt::Key_Return);
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty() && !w.chat()->busy(), kTimeoutMs);
    es::ui::MessageCard* card = w.conversation()->cards().at(0);
    // Decoded off the UI thread: the caption says "decoding…" until the poster arrives.
    QLabel* caption = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT(
        (caption = card->findChild<QLabel*>(QStringLiteral("attachmentCaption"))) != nullptr &&
            caption->text().contains(QStringLiteral("frames sampled")),
        kTimeoutMs);
    QVERIFY2(caption->text().startsWith(QStringLiteral("clip.mp4 · 4.0 s · ")),
             qPrintable(caption->text()));
    auto* thumb = card->findChild<QLabel*>(QStringLiteral("attachmentThumb"));
    QVERIFY(!thumb->pixmap().isNull());
    QVERIFY(thumb->pixmap().width() <= 96 && thumb->pixmap().height() <= 96);
  }
};

QTEST_MAIN(TestComposer)
#include "test_composer.moc"
