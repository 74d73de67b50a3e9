// expertscope-cli eval, generate and bench end to end: outputs, formats, and the error
// contract (exit 2 usage, 3 bad input, never a partial output file).
#include <QtTest>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "golden.h"
#include "tiny_models.h"

using es::test::run_cli;

class TestCliRun : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    for (const auto& [n, spec] : es::test::tiny_model_catalog()) {
      if (n == "deepseek2") es::test::write_tiny_model(spec, model().toStdString());
    }
  }

  void evalWritesGoldenLogits() {
    es::test::Golden g;
    if (!es::test::load_golden(QString(ES_SHARED_DIR) + "/golden", "qwen3moe-tiny-f32", g)) {
      QSKIP("../shared/golden is not beside this checkout");
    }
    QStringList ids;
    for (int32_t t : g.eval_tokens()) ids << QString::number(t);
    const QString out = dir_.filePath("golden.f32");
    const auto r = run_cli({"eval", "-m", g.gguf_path, "--tokens", ids.join(','), "--logits", out});
    QCOMPARE(r.exit_code, 0);
    QFile f(out);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray bytes = f.readAll();
    QCOMPARE(static_cast<size_t>(bytes.size()), g.logits.size() * sizeof(float));
    const auto* got = reinterpret_cast<const float*>(bytes.constData());
    double num = 0, den = 0;
    for (size_t i = 0; i < g.logits.size(); ++i) {
      num += (got[i] - g.logits[i]) * double(got[i] - g.logits[i]);
      den += double(g.logits[i]) * g.logits[i];
    }
    QVERIFY2(num / den < 1e-10, qPrintable(QString::number(num / den)));
  }

  void evalRoutingJson() {
    const QString out = dir_.filePath("routing.json");
    const auto r = run_cli({"eval", "-m", model(), "--text", "Hello experts", "--routing", out});
    QCOMPARE(r.exit_code, 0);
    QFile f(out);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto j = nlohmann::json::parse(f.readAll().toStdString());
    QCOMPARE(j["top_k"].get<int>(), 2);
    QCOMPARE(j["moe_layers"][0].get<int>(), 1);  // Block 0 is the leading dense layer.
    QVERIFY(j["tokens"].size() >= 2);
    for (const auto& t : j["tokens"]) {
      QCOMPARE(t["modality"].get<std::string>(), std::string("text"));
      for (const auto& l : t["routing"]) {
        const auto w = l["weights"].get<std::vector<double>>();
        QCOMPARE(w.size(), size_t{2});
        QVERIFY(w[0] >= w[1]);  // Descending weight.
      }
    }
  }

  void evalErrorsWriteNothing_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    QTest::newRow("token out of range")
        << QStringList{"--tokens", "1,99999"} << 3 << "outside the vocabulary";
    QTest::newRow("negative token")
        << QStringList{"--tokens", "1,-4"} << 3 << "outside the vocabulary";
    QTest::newRow("context too small")
        << QStringList{"--tokens", "1,2,3", "--ctx", "2"} << 3 << "do not fit";
    QTest::newRow("two inputs") << QStringList{"--tokens", "1", "--text", "a"} << 2
                                << "exactly one";
    QTest::newRow("no input") << QStringList{} << 2 << "exactly one";
    QTest::newRow("bad token list") << QStringList{"--tokens", "1,,2"} << 2 << "not an integer";
    QTest::newRow("unknown backend")
        << QStringList{"--tokens", "1", "--backend", "tpu"} << 2 << "not available";
    QTest::newRow("missing file") << QStringList{"--file", "/nonexistent/x.txt"} << 3
                                  << "/nonexistent/x.txt";
  }

  void evalErrorsWriteNothing() {
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QString, message);
    const QString out = dir_.filePath("never.f32");
    const auto r = run_cli(QStringList{"eval", "-m", model(), "--logits", out} + args);
    QCOMPARE(r.exit_code, code);
    QVERIFY2(r.err.startsWith("error: "), r.err.constData());
    QVERIFY2(QString(r.err).contains(message), r.err.constData());
    QVERIFY(!QFile::exists(out));
  }

  void generateIsReproducibleAndRecordsRouting() {
    const QString out = dir_.filePath("gen.json");
    const QStringList base = {"generate", "-m",     model(), "--prompt", "The experts", "-n",
                              "12",       "--seed", "7",     "--temp",   "0.9"};
    const auto a = run_cli(base + QStringList{"--routing", out});
    const auto b = run_cli(base);
    QCOMPARE(a.exit_code, 0);
    QCOMPARE(a.out, b.out);
    QFile f(out);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto j = nlohmann::json::parse(f.readAll().toStdString());
    // Prompt positions and the generated ones, each with its routing.
    QVERIFY(j["tokens"].size() >= 12);
    int pos = 0;
    for (const auto& t : j["tokens"]) QCOMPARE(t["pos"].get<int>(), pos++);
  }

  void generateChatUsesTheTemplate() {
    const auto r = run_cli({"generate", "-m", model(), "--chat", "hi", "-n", "4", "--temp", "0"});
    QCOMPARE(r.exit_code, 0);
    QVERIFY2(!r.err.contains("warning"), r.err.constData());
  }

  void benchPrintsJson() {
    const auto r = run_cli({"bench", "-m", model(), "-p", "16", "-n", "4", "-r", "1"});
    QCOMPARE(r.exit_code, 0);
    const auto j = nlohmann::json::parse(r.out.toStdString());
    for (const char* k :
         {"pp_tok_s", "tg_tok_s", "backend", "threads", "model_bytes", "peak_rss_bytes"}) {
      QVERIFY2(j.contains(k), k);
    }
    QVERIFY(j["pp_tok_s"].get<double>() > 0);
    QCOMPARE(j["backend"].get<std::string>(), std::string("cpu"));
  }

 private:
  QString model() const { return dir_.filePath("deepseek2.gguf"); }
  QTemporaryDir dir_;
};

QTEST_GUILESS_MAIN(TestCliRun)
#include "test_cli_run.moc"
