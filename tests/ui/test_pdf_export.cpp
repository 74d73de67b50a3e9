// PDF export (ui/pdf): a session printed through QTextDocument and QPdfWriter is a PDF
// whose text (pdftotext) holds the title and the messages, hostile text shown as text,
// whose heatmaps are drawn and whose one image (pdfimages) is the attached picture,
// written atomically.
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "../engine/transcript_samples.h"
#include "expertscope/error.h"
#include "pdf_export.h"

namespace {

/// Output of a poppler tool on a file, or a null string when the tool is missing.
QString poppler(const QString& tool, const QStringList& args) {
  const QString exe = QStandardPaths::findExecutable(tool);
  if (exe.isEmpty()) return {};
  QProcess p;
  p.start(exe, args);
  if (!p.waitForFinished(60000) || p.exitCode() != 0)
    return QString("failed: ") + p.readAllStandardError();
  return QString::fromUtf8(p.readAllStandardOutput());
}

QByteArray read(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

}  // namespace

class TestPdfExport : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { QVERIFY(dir_.isValid()); }

  void writesAReadablePdf() {
    const QString path = dir_.filePath("sample.pdf");
    QElapsedTimer timer;
    timer.start();
    es::pdf::write_pdf(es::test::sample_session(), path.toStdString());
    qInfo("sample session (7 messages, 4 traces) to PDF in %lld ms", timer.elapsed());
    const QByteArray pdf = read(path);
    QVERIFY(pdf.startsWith("%PDF-"));
    QVERIFY(pdf.trimmed().endsWith("%%EOF"));
    const QString text = poppler("pdftotext", {path, "-"});
    if (text.isNull()) QSKIP("pdftotext (poppler-utils) is not installed");
    QVERIFY2(!text.startsWith("failed"), qPrintable(text));
    for (const char* want :
         {"Harbour photo", "What is in this picture?", "You are a careful assistant.",
          "OLMoE 1B-7B Instruct", "notes.txt", "Taken at 19:40 from the north pier.", "cancelled",
          "Tokens coloured by their top expert at layer 8"}) {
      QVERIFY2(text.contains(QString::fromUtf8(want)), want);
    }
    // The answer's text survives being split into coloured token spans.
    QVERIFY(text.contains("lighthouse on the") || text.contains("lighthouse"));
    // Four heatmaps, drawn as vectors with their colour-scale caption as text.
    QCOMPARE(text.count("of the tokens chose the expert"), 4);
    // The attached PNG (a data: URI in the HTML) is the one image.
    const QString images = poppler("pdfimages", {"-list", path});
    if (!images.isNull()) {
      QVERIFY2(images.contains(QRegularExpression(" 160 +96 ")), qPrintable(images));
      QCOMPARE(images.count('\n') - 2, 1);  // two header lines, one image
    }
    if (const char* keep = std::getenv("ES_KEEP_EXPORTS"))
      QFile::copy(path, QString(keep) + "/sample.pdf");
  }

  void longAnswerTime() {  // printed, never asserted
    std::string text;      // 2,000 pieces of four bytes: one token each
    for (int i = 0; i < 2000; ++i) text += i % 23 == 22 ? "\nthe" : (i % 3 ? " cat" : " sat");
    es::Session s = es::test::sample_session();
    s.messages = {s.messages[1],
                  es::test::traced_answer(
                      text, 64, 8, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 5)};
    const QString path = dir_.filePath("long.pdf");
    QElapsedTimer timer;
    timer.start();
    es::pdf::write_pdf(s, path.toStdString());
    qInfo("2,000-token answer (16 layers x top-8 of 64) to PDF: %lld ms, %lld bytes",
          timer.elapsed(), static_cast<long long>(QFileInfo(path).size()));
    QVERIFY(read(path).startsWith("%PDF-"));
  }

  void hostileTextIsPrintedAsText() {
    const QString path = dir_.filePath("hostile.pdf");
    es::pdf::write_pdf(es::test::hostile_session(), path.toStdString());
    QVERIFY(read(path).startsWith("%PDF-"));
    const QString text = poppler("pdftotext", {path, "-"});
    if (text.isNull()) QSKIP("pdftotext (poppler-utils) is not installed");
    QVERIFY(text.contains("<script>alert(1)</script>"));
    QVERIFY(text.contains("U+202E"));
    QVERIFY(!text.contains(QChar(0x202e)));
  }

  void failureLeavesTheOldFile() {
    const QString path = dir_.filePath("keep.pdf");
    {
      QFile f(path);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("old content");
    }
    const std::string missing = dir_.filePath("no/such/dir/x.pdf").toStdString();
    try {
      es::pdf::write_pdf(es::test::sample_session(), missing);
      QFAIL("no error for a missing folder");
    } catch (const es::Error& e) {
      QCOMPARE(e.kind(), es::ErrorKind::io);
      QVERIFY(std::string(e.what()).find(missing) != std::string::npos);
    }
    QCOMPARE(read(path), QByteArray("old content"));
    es::pdf::write_pdf(es::test::sample_session(), path.toStdString());
    QVERIFY(read(path).startsWith("%PDF-"));
    QStringList names = QDir(dir_.path()).entryList(QDir::Files | QDir::Hidden);
    for (const QString& n : names) QVERIFY2(n.endsWith(".pdf"), qPrintable(n));  // no leftovers
  }

 private:
  QTemporaryDir dir_;
};

QTEST_MAIN(TestPdfExport)
#include "test_pdf_export.moc"
