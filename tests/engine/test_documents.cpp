// Documents: UTF-8 / UTF-16 text and Markdown, invalid UTF-8 replaced (U+FFFD), binary
// refused; PDFs written by hand (tests/fixtures/test_pdf.h: one and several pages, a
// correct xref table) read page by page with Poppler; damaged and encrypted PDFs (qpdf
// --encrypt, skipped without qpdf) refused by name; the attachment text block, and cut to
// whole lines or pages with the note the model reads; `media-info` on documents.
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "expertscope/document.h"
#include "expertscope/error.h"
#include "test_pdf.h"

namespace md = es::media;
using es::test::make_pdf;

namespace {

std::vector<uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

template <typename Fn>
QString error_of(Fn fn, es::ErrorKind* kind = nullptr) {
  try {
    fn();
  } catch (const es::Error& e) {
    if (kind != nullptr) *kind = e.kind();
    return QString::fromStdString(e.what());
  }
  return {};
}

}  // namespace

class TestDocuments : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { QVERIFY(dir_.isValid()); }
  void utf8_text();
  void boms_and_utf16();
  void invalid_utf8_replaced();
  void binary_refused();
  void text_files_on_disk();
  void markdown_attachment();
  void source_attachment_fenced();
  void pdf_one_page();
  void pdf_pages();
  void pdf_attachment();
  void text_truncated_to_whole_lines();
  void pdf_truncated_to_whole_pages();
  void pdf_damaged_data();
  void pdf_damaged();
  void pdf_encrypted();
  void claimed_kinds();
  void media_kinds_refused();
  void cli_documents();

 private:
  QString write(const QString& name, std::string_view bytes);
  QTemporaryDir dir_;
};

QString TestDocuments::write(const QString& name, std::string_view bytes) {
  const QString path = dir_.filePath(name);
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return {};
  f.write(bytes.data(), static_cast<qint64>(bytes.size()));
  return path;
}

void TestDocuments::utf8_text() {
  const std::string text = "héllo wörld — 日本語 😀\nline two\r\n";
  const md::Document d = md::read_text_memory(bytes_of(text), "notes.txt");
  QCOMPARE(d.kind, md::Kind::text);
  QCOMPARE(d.pages.size(), size_t{1});
  QCOMPARE(d.pages[0], text);  // line ends kept
  QCOMPARE(d.n_replaced, int64_t{0});
  QCOMPARE(d.n_chars, int64_t{QString::fromStdString(text).toUcs4().size()});
  QCOMPARE(md::read_text_memory({}, "empty.txt").pages[0], std::string());
}

void TestDocuments::boms_and_utf16() {
  QCOMPARE(md::read_text_memory(bytes_of("\xEF\xBB\xBF"
                                         "abc"),
                                "bom.txt")
               .pages[0],
           std::string("abc"));
  // "aé😀" in UTF-16LE and UTF-16BE with their byte-order marks.
  const std::string le(
      "\xFF\xFE"
      "a\0\xE9\0\x3D\xD8\x00\xDE",
      10);
  const std::string be(
      "\xFE\xFF"
      "\0a\0\xE9\xD8\x3D\xDE\x00",
      10);
  QCOMPARE(md::read_text_memory(bytes_of(le), "le.txt").pages[0], std::string("aé😀"));
  QCOMPARE(md::read_text_memory(bytes_of(be), "be.txt").pages[0], std::string("aé😀"));
  const md::Document lone =
      md::read_text_memory(bytes_of(std::string("\xFF\xFE\x00\xD8", 4)), "lone.txt");
  QCOMPARE(lone.pages[0], std::string("\xEF\xBF\xBD"));
  QCOMPARE(lone.n_replaced, int64_t{1});
}

// The choice: invalid UTF-8 becomes U+FFFD, counted, not an error.
void TestDocuments::invalid_utf8_replaced() {
  const std::string latin1 = "caf\xE9 au lait";  // Latin-1 é
  md::Document d = md::read_text_memory(bytes_of(latin1), "latin1.txt");
  QCOMPARE(d.pages[0], std::string("caf\xEF\xBF\xBD au lait"));
  QCOMPARE(d.n_replaced, int64_t{1});
  // Overlong, surrogate, truncated at the end, stray continuation.
  d = md::read_text_memory(bytes_of("a\xC0\xAF"
                                    "b\xED\xA0\x80"
                                    "c\x80"
                                    "d\xE2\x82"),
                           "bad.txt");
  QCOMPARE(QString::fromStdString(d.pages[0]).toUcs4().count(0xFFFD), d.n_replaced);
  QVERIFY(d.n_replaced >= 4);
  QVERIFY(QString::fromStdString(d.pages[0]).startsWith("a"));
  QVERIFY(QString::fromUtf8(d.pages[0].c_str()).contains("b"));
}

void TestDocuments::binary_refused() {
  es::ErrorKind kind{};
  const QString msg = error_of(
      [] { (void)md::read_text_memory(bytes_of(std::string("ab\0cd", 5)), "data.txt"); }, &kind);
  QCOMPARE(msg, QString("data.txt: binary data, not text (a NUL byte at offset 2)"));
  QCOMPARE(kind, es::ErrorKind::bad_input);
  md::DocumentLimits small;
  small.max_chars = 3;
  QVERIFY(error_of([&] {
            (void)md::read_text_memory(bytes_of("abcdef"), "long.txt", small);
          }).contains("long.txt: 6 characters, more than the 3-character limit"));
  small.max_file_bytes = 2;
  QVERIFY(error_of([&] {
            (void)md::read_text_memory(bytes_of("abcdef"), "big.txt", small);
          }).contains("big.txt: 6 bytes is more than the 2 bytes file limit"));
}

void TestDocuments::text_files_on_disk() {
  const QString path = write("readme.md", "# Title\n\nSome *text*.\n");
  const md::Document d = md::read_text(path.toStdString());
  QCOMPARE(d.pages[0], std::string("# Title\n\nSome *text*.\n"));
  es::ErrorKind kind{};
  QString msg =
      error_of([&] { (void)md::read_text(dir_.filePath("nope.md").toStdString()); }, &kind);
  QVERIFY2(msg.endsWith("nope.md: no such file"), qPrintable(msg));
  QCOMPARE(kind, es::ErrorKind::io);
  QVERIFY(QDir(dir_.path()).mkpath("folder.md"));
  msg = error_of([&] { (void)md::read_text(dir_.filePath("folder.md").toStdString()); });
  QVERIFY2(msg.endsWith("folder.md: is a directory"), qPrintable(msg));
}

void TestDocuments::markdown_attachment() {
  const std::string text =
      md::attachment_text(bytes_of("# Plan\n- one\n- two\n"), "/home/me/plan.md", "text/markdown");
  QCOMPARE(text, std::string("### plan.md\n\n# Plan\n- one\n- two\n"));
  QCOMPARE(md::attachment_text(bytes_of("no newline"), "a.txt"),
           std::string("### a.txt\n\nno newline\n"));
}

void TestDocuments::source_attachment_fenced() {
  const std::string code = "int main() { return 0; }\n// ```` inside\n";
  const std::string text = md::attachment_text(bytes_of(code), "main.cpp", "");
  QCOMPARE(text, "### main.cpp\n\n`````cpp\n" + code + "`````\n");
  const QString path = write("tool.py", "print('hi')");
  QCOMPARE(md::attachment_text(std::filesystem::path(path.toStdString())),
           std::string("### tool.py\n\n```python\nprint('hi')\n```\n"));
}

void TestDocuments::pdf_one_page() {
  const std::string pdf = make_pdf({{"Hello PDF (one) \\ page", "Second line"}});
  const md::Document d = md::read_pdf_memory(bytes_of(pdf), "hello.pdf");
  QCOMPARE(d.kind, md::Kind::document);
  QCOMPARE(d.pages.size(), size_t{1});
  QVERIFY2(QString::fromStdString(d.pages[0]).contains("Hello PDF (one) \\ page"),
           d.pages[0].c_str());
  QVERIFY(QString::fromStdString(d.pages[0]).contains("Second line"));
  QCOMPARE(d.n_chars, int64_t{QString::fromStdString(d.pages[0]).toUcs4().size()});
  QVERIFY(md::looks_like_pdf(bytes_of(pdf)));
}

void TestDocuments::pdf_pages() {
  const std::string pdf = make_pdf({{"Alpha page"}, {"Beta page"}, {"Gamma page"}});
  const QString path = write("three.pdf", pdf);
  const md::Document d = md::read_pdf(path.toStdString());
  QCOMPARE(d.pages.size(), size_t{3});
  QCOMPARE(QString::fromStdString(d.pages[0]).trimmed(), QString("Alpha page"));
  QCOMPARE(QString::fromStdString(d.pages[1]).trimmed(), QString("Beta page"));
  QCOMPARE(QString::fromStdString(d.pages[2]).trimmed(), QString("Gamma page"));
  md::DocumentLimits two;
  two.max_pages = 2;
  QVERIFY(error_of([&] {
            (void)md::read_pdf(path.toStdString(), two);
          }).contains("three.pdf: 3 pages, more than the 2-page limit"));
  const md::ProbeResult p = md::probe(path.toStdString());
  QCOMPARE(p.kind, md::Kind::document);
  QCOMPARE(p.pages, 3);
  QCOMPARE(p.chars, int64_t{29});  // 10 + 9 + 10
}

void TestDocuments::pdf_attachment() {
  const std::string pdf = make_pdf({{"First"}, {}, {"Third"}});
  const std::string text = md::attachment_text(bytes_of(pdf), "report.pdf", "application/pdf");
  QCOMPARE(text, std::string("### report.pdf (3 pages)\n\n--- page 1 of 3 ---\nFirst\n\n"
                             "--- page 2 of 3 ---\n[no text on this page]\n\n"
                             "--- page 3 of 3 ---\nThird\n"));
  // The content decides when the name claims nothing.
  QVERIFY(md::attachment_text(bytes_of(pdf), "download", "").rfind("### download (3 pages)", 0) ==
          0);
}

void TestDocuments::text_truncated_to_whole_lines() {
  std::string text;
  for (int i = 1; i <= 1500; ++i) text += "line " + std::to_string(i) + "\n";
  text += "last line, no end";
  const md::Document whole = md::read_text_memory(bytes_of(text), "/tmp/log.txt");
  QCOMPARE(md::document_units(whole), 1501u);
  QCOMPARE(md::document_units(md::read_text_memory(bytes_of(""), "e.txt")), 0u);
  QCOMPARE(md::document_units(md::read_text_memory(bytes_of("\n"), "n.txt")), 1u);
  // Whole lines from the start, their line ends kept; the note in words the model reads.
  const md::Document cut = md::truncate_document(whole, 1234);
  QCOMPARE(cut.truncated_from, 1501u);
  QVERIFY(cut.pages[0].ends_with("line 1234\n"));
  QCOMPARE(md::document_units(cut), 1234u);
  QCOMPARE(cut.n_chars, int64_t(cut.pages[0].size()));
  const std::string block = md::format_attachment(cut);
  QVERIFY2(block.starts_with("### log.txt\n\n[truncated: first 1,234 of 1,501 lines kept]\n\n"
                             "line 1\n"),
           block.c_str());
  QVERIFY(block.ends_with("line 1234\n"));
  QVERIFY(block.find("line 1235") == std::string::npos);
  // The same through the attachment's bytes; 0 or at least every line: the whole file.
  QCOMPARE(md::attachment_text_kept(bytes_of(text), "log.txt", "text/plain", 1234), block);
  QCOMPARE(md::attachment_text_kept(bytes_of(text), "log.txt", "", 0),
           md::attachment_text(bytes_of(text), "log.txt"));
  QCOMPARE(md::attachment_text_kept(bytes_of(text), "log.txt", "", 1501),
           md::attachment_text(bytes_of(text), "log.txt"));
  QCOMPARE(md::truncate_document(whole, 9999).truncated_from, 0u);
  // Source code: the note sits above the fence, the cut code stays fenced.
  const std::string code = "int a;\nint b;\nint c;\n";
  QCOMPARE(md::attachment_text_kept(bytes_of(code), "x.cpp", "", 2),
           std::string("### x.cpp\n\n[truncated: first 2 of 3 lines kept]\n\n```cpp\n"
                       "int a;\nint b;\n```\n"));
}

void TestDocuments::pdf_truncated_to_whole_pages() {
  std::vector<std::vector<std::string>> pages;
  for (int i = 1; i <= 40; ++i) pages.push_back({"Page text " + std::to_string(i)});
  const std::string pdf = make_pdf(pages);
  const md::Document whole = md::read_attachment_document(bytes_of(pdf), "report.pdf");
  QCOMPARE(whole.kind, md::Kind::document);
  QCOMPARE(md::document_units(whole), 40u);
  const std::string text = md::attachment_text_kept(bytes_of(pdf), "report.pdf", "", 12);
  QVERIFY2(text.starts_with("### report.pdf (40 pages)\n\n[truncated: pages 1\u201312 of 40 "
                            "kept]\n\n--- page 1 of 40 ---\nPage text 1\n"),
           text.c_str());
  QVERIFY(text.find("--- page 12 of 40 ---\nPage text 12\n") != std::string::npos);
  QVERIFY(text.find("page 13") == std::string::npos);
  QVERIFY(text.find("Page text 13") == std::string::npos);
  QVERIFY(md::attachment_text_kept(bytes_of(pdf), "report.pdf", "", 1)
              .find("[truncated: page 1 of 40 kept]") != std::string::npos);
}

void TestDocuments::pdf_damaged_data() {
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QString>("says");
  const std::string good = make_pdf({{"Text"}});
  QTest::newRow("empty") << QByteArray() << "bad.pdf: empty file, not a PDF";
  QTest::newRow("not-pdf") << QByteArray("hello, world\n") << "bad.pdf: not a PDF";
  QTest::newRow("header-only") << QByteArray("%PDF-1.4\n") << "bad.pdf: a damaged PDF";
  QTest::newRow("garbage") << (QByteArray("%PDF-1.7\n") + QByteArray(2000, '\x8f'))
                           << "bad.pdf: a damaged PDF";
  QTest::newRow("no-catalog") << QByteArray(
                                     "%PDF-1.4\n1 0 obj\n<< /Type /Foo >>\nendobj\n"
                                     "trailer\n<< /Root 1 0 R >>\n%%EOF\n")
                              << "bad.pdf: a damaged PDF";
  QTest::newRow("truncated") << QByteArray::fromStdString(good.substr(0, good.size() / 3))
                             << "bad.pdf: a damaged PDF";
}

void TestDocuments::pdf_damaged() {
  QFETCH(QByteArray, bytes);
  QFETCH(QString, says);
  const std::vector<uint8_t> b(bytes.begin(), bytes.end());
  es::ErrorKind kind{};
  const QString msg = error_of([&] { (void)md::read_pdf_memory(b, "bad.pdf"); }, &kind);
  QVERIFY2(msg.startsWith(says), qPrintable(msg));
  QCOMPARE(kind, es::ErrorKind::bad_input);
}

void TestDocuments::pdf_encrypted() {
  const QString qpdf = QStandardPaths::findExecutable("qpdf");
  if (qpdf.isEmpty()) QSKIP("qpdf is not installed (Debian package qpdf): no encrypted PDF");
  const QString plain = write("plain.pdf", make_pdf({{"Secret text"}}));
  const QString locked = dir_.filePath("locked.pdf");
  QCOMPARE(
      QProcess::execute(qpdf, {"--encrypt", "user-pw", "owner-pw", "256", "--", plain, locked}), 0);
  es::ErrorKind kind{};
  const QString msg = error_of([&] { (void)md::read_pdf(locked.toStdString()); }, &kind);
  QVERIFY2(msg.endsWith("locked.pdf: the PDF is encrypted and needs a password to read"),
           qPrintable(msg));
  QCOMPARE(kind, es::ErrorKind::bad_input);
  // Encrypted with an empty user password (permissions only): readable.
  const QString open = dir_.filePath("open.pdf");
  QCOMPARE(QProcess::execute(qpdf, {"--encrypt", "", "owner-pw", "256", "--", plain, open}), 0);
  QVERIFY(QString::fromStdString(md::read_pdf(open.toStdString()).pages[0]).contains("Secret"));
}

void TestDocuments::claimed_kinds() {
  QCOMPARE(md::claimed_kind("a.PDF"), md::Kind::document);
  QCOMPARE(md::claimed_kind("a.md"), md::Kind::text);
  QCOMPARE(md::claimed_kind("x/y/z.hpp"), md::Kind::text);
  QCOMPARE(md::claimed_kind("photo.JPG"), md::Kind::image);
  QCOMPARE(md::claimed_kind("clip.webm"), md::Kind::video);
  QCOMPARE(md::claimed_kind("blob", "image/png"), md::Kind::image);
  QCOMPARE(md::claimed_kind("blob", "text/plain; charset=utf-8"), md::Kind::text);
  QCOMPARE(md::claimed_kind("blob", "application/octet-stream"), md::Kind::unknown);
  QCOMPARE(md::claimed_kind("x.ts"), md::Kind::unknown);
  QCOMPARE(md::claimed_kind("x.ts", "video/mp2t"), md::Kind::video);
}

void TestDocuments::media_kinds_refused() {
  es::ErrorKind kind{};
  const QString msg = error_of(
      [] { (void)md::attachment_text(bytes_of("\x89PNG"), "photo.png", "image/png"); }, &kind);
  QCOMPARE(msg, QString("photo.png: an image goes to the vision projector, not into the text"));
  QCOMPARE(kind, es::ErrorKind::unsupported);
  QVERIFY(error_of([] {
            (void)md::attachment_text(bytes_of(std::string("\0\1\2", 3)), "x.bin");
          }).contains("binary data"));
}

void TestDocuments::cli_documents() {
  const QString pdf = write("cli.pdf", make_pdf({{"One"}, {"Two two"}}));
  es::test::CliRun r = es::test::run_cli({"media-info", pdf});
  QCOMPARE(r.exit_code, 0);
  QJsonObject o = QJsonDocument::fromJson(r.out).object();
  QCOMPARE(o["kind"].toString(), QString("document"));
  QCOMPARE(o["pages"].toInt(), 2);
  QCOMPARE(o["chars"].toInt(), 10);
  QCOMPARE(o["frames_sampled"].toInt(), 0);
  QCOMPARE(o["width"].toInt(), 0);
  const QString txt = write("cli.txt", "héllo\n");
  r = es::test::run_cli({"media-info", txt});
  QCOMPARE(r.exit_code, 0);
  o = QJsonDocument::fromJson(r.out).object();
  QCOMPARE(o["kind"].toString(), QString("text"));
  QCOMPARE(o["chars"].toInt(), 6);
  const QString bad = write("cli_bad.pdf", "%PDF-1.4\nnothing here\n");
  r = es::test::run_cli({"media-info", bad});
  QCOMPARE(r.exit_code, 3);
  QVERIFY(r.out.isEmpty());
  QVERIFY2(r.err.startsWith("error: " + bad.toUtf8() + ": a damaged PDF"), r.err.constData());
  QCOMPARE(r.err.count('\n'), 1);
}

QTEST_GUILESS_MAIN(TestDocuments)
#include "test_documents.moc"
