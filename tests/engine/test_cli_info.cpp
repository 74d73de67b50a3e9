// expertscope-cli end to end: `info` prints the JSON of the engine's summary, and the
// error contract holds (one `error: ` line naming the file, exit 2 usage, exit 3 input).
#include <QtTest>

#include "cli_runner.h"
#include "expertscope/gguf.h"
#include "expertscope/model_info.h"
#include "tiny_models.h"

namespace {

using Run = es::test::CliRun;
using es::test::run_cli;

}  // namespace

class TestCliInfo : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void info_fixture_data();
  void info_fixture();
  void info_golden();
  void errors_data();
  void errors();
  void help_and_version();

 private:
  QString write_fixture(const QString& name, const es::test::TinyModel& model);
  QTemporaryDir dir_;
};

void TestCliInfo::initTestCase() {
  QVERIFY(dir_.isValid());
}

QString TestCliInfo::write_fixture(const QString& name, const es::test::TinyModel& model) {
  const QString path = dir_.filePath(name);
  model.write(path.toStdString());
  return path;
}

void TestCliInfo::info_fixture_data() {
  QTest::addColumn<int>("index");
  const auto catalog = es::test::tiny_model_catalog();
  for (size_t i = 0; i < catalog.size(); ++i) {
    QTest::newRow(catalog[i].first.c_str()) << static_cast<int>(i);
  }
}

void TestCliInfo::info_fixture() {
  QFETCH(int, index);
  const auto [name, spec] = es::test::tiny_model_catalog()[index];
  const QString path =
      write_fixture(QString::fromStdString(name) + ".gguf", es::test::build_tiny_model(spec));
  const Run r = run_cli({"info", path});
  QCOMPARE(r.exit_code, 0);
  QVERIFY2(r.err.isEmpty(), r.err.constData());
  QJsonParseError perr{};
  const QJsonObject o = QJsonDocument::fromJson(r.out, &perr).object();
  QCOMPARE(perr.error, QJsonParseError::NoError);
  // The same numbers as the engine's summary (itself checked by test_model_info).
  const es::ModelSummary s = es::summarize(es::gguf::File::open(path.toStdString()));
  QCOMPARE(o["arch"].toString(), QString::fromUtf8(es::arch_name(spec.arch).data()));
  QCOMPARE(o["n_layer"].toInteger(), qint64{s.hp.n_layer});
  QCOMPARE(o["n_embd"].toInteger(), qint64{spec.n_embd});
  QCOMPARE(o["n_head"].toInteger(), qint64{spec.n_head});
  QCOMPARE(o["n_head_kv"].toInteger(), qint64{s.hp.n_head_kv});
  QCOMPARE(o["n_ctx_train"].toInteger(), qint64{spec.n_ctx_train});
  QCOMPARE(o["n_vocab"].toInteger(), qint64{288});
  QCOMPARE(o["n_expert"].toInteger(), qint64{spec.n_expert});
  QCOMPARE(o["n_expert_used"].toInteger(), qint64{spec.n_expert_used});
  QCOMPARE(o["n_expert_shared"].toInteger(), qint64{s.hp.n_expert_shared});
  QCOMPARE(o["gating"].toString(), QString::fromUtf8(es::gating_name(s.hp.gating).data()));
  QCOMPARE(o["n_params"].toInteger(), static_cast<qint64>(s.n_params));
  QCOMPARE(o["n_params_active"].toInteger(), static_cast<qint64>(s.n_params_active));
  QVERIFY(o["n_params_active"].toInteger() <= o["n_params"].toInteger());
  QCOMPARE(o["bytes_by_type"].toObject()["F32"].toInteger(), static_cast<qint64>(s.n_params * 4));
  QCOMPARE(o["tokenizer"].toObject()["model"].toString(), QString("gpt2"));
  QCOMPARE(o["tokenizer"].toObject()["has_chat_template"].toBool(), true);
}

void TestCliInfo::info_golden() {
  const QString path = QString(ES_SHARED_DIR) + "/golden/deepseek2-tiny-f32.gguf";
  if (!QFile::exists(path)) QSKIP("../shared/golden is not beside this checkout");
  const Run r = run_cli({"info", "--compact", path});
  QCOMPARE(r.exit_code, 0);
  QCOMPARE(r.out.count('\n'), 1);  // --compact: one line
  const QJsonObject o = QJsonDocument::fromJson(r.out).object();
  QCOMPARE(o["arch"].toString(), QString("deepseek2"));
  QCOMPARE(o["gating"].toString(), QString("sigmoid"));
  QCOMPARE(o["n_expert_shared"].toInteger(), qint64{1});
  QCOMPARE(o["moe"].toObject()["n_leading_dense"].toInteger(), qint64{1});
}

void TestCliInfo::errors_data() {
  QTest::addColumn<QStringList>("args");
  QTest::addColumn<int>("exit_code");
  QTest::addColumn<QStringList>("needles");  // in the error line; "@" stands for the file

  es::test::TinyModel bad = es::test::build_tiny_model(es::test::tiny_spec(es::Arch::olmoe));
  bad.erase_tensor("blk.1.ffn_down_exps.weight");
  const QString missing_tensor = write_fixture("missing-tensor.gguf", bad);
  bad = es::test::build_tiny_model(es::test::tiny_spec(es::Arch::olmoe));
  bad.set("general.architecture", "deepseek4");
  const QString unsupported = write_fixture("deepseek4.gguf", bad);
  const std::vector<uint8_t> good = es::test::make_tiny_model(es::test::tiny_spec(es::Arch::olmoe));
  const QString truncated = dir_.filePath("truncated.gguf");
  QFile f(truncated);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(reinterpret_cast<const char*>(good.data()), static_cast<qint64>(good.size() / 2));
  f.close();
  const QString absent = dir_.filePath("no-such-model.gguf");

  QTest::newRow("missing file") << QStringList{"info", absent} << 3 << QStringList{absent};
  QTest::newRow("directory") << QStringList{"info", dir_.path()} << 3 << QStringList{dir_.path()};
  QTest::newRow("truncated") << QStringList{"info", truncated} << 3 << QStringList{truncated};
  QTest::newRow("missing tensor") << QStringList{"info", missing_tensor} << 3
                                  << QStringList{missing_tensor, "blk.1.ffn_down_exps.weight"};
  QTest::newRow("unsupported arch")
      << QStringList{"info", unsupported} << 3 << QStringList{unsupported, "deepseek4"};
  QTest::newRow("no args") << QStringList{} << 2 << QStringList{"no command"};
  QTest::newRow("unknown command") << QStringList{"frobnicate"} << 2 << QStringList{"frobnicate"};
  QTest::newRow("info without file") << QStringList{"info"} << 2 << QStringList{"info"};
  QTest::newRow("info two files") << QStringList{"info", absent, absent} << 2
                                  << QStringList{"exactly one"};
  QTest::newRow("unknown option") << QStringList{"info", "--bogus", absent} << 2
                                  << QStringList{"--bogus"};
}

void TestCliInfo::errors() {
  QFETCH(QStringList, args);
  QFETCH(int, exit_code);
  QFETCH(QStringList, needles);
  const Run r = run_cli(args);
  QCOMPARE(r.exit_code, exit_code);
  QVERIFY2(r.out.isEmpty(), r.out.constData());  // never a partial output
  const QString err = QString::fromUtf8(r.err);
  QVERIFY2(err.startsWith("error: "), qPrintable(err));
  const QString first_line = err.section('\n', 0, 0);
  for (const QString& n : needles) {
    QVERIFY2(first_line.contains(n), qPrintable(first_line + " lacks " + n));
  }
  if (exit_code == 3) QCOMPARE(err.count('\n'), 1);  // exactly one line
  if (exit_code == 2) QVERIFY2(err.contains("usage: "), qPrintable(err));
}

void TestCliInfo::help_and_version() {
  Run r = run_cli({"--help"});
  QCOMPARE(r.exit_code, 0);
  QVERIFY(r.out.contains("usage: expertscope-cli"));
  QVERIFY(r.out.contains("info"));
  r = run_cli({"info", "--help"});
  QCOMPARE(r.exit_code, 0);
  QVERIFY(r.out.contains("usage: expertscope-cli info"));
  r = run_cli({"--version"});
  QCOMPARE(r.exit_code, 0);
  QVERIFY(r.out.startsWith("expertscope-cli "));
}

QTEST_GUILESS_MAIN(TestCliInfo)
#include "test_cli_info.moc"
