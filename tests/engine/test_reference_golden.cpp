// The double-precision reference forward against llama.cpp's logits for the golden models:
// proof that the reference reads each architecture as llama.cpp does, so it can judge the
// engine's optimised path on every other fixture.
#include <QtTest>
#include <cmath>
#include <cstring>

#include "expertscope/model_info.h"
#include "golden.h"
#include "reference_forward.h"

class TestReferenceGolden : public QObject {
  Q_OBJECT

 private slots:
  void matchesLlamaCpp_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("qwen3moe") << "qwen3moe-tiny-f32";
    QTest::newRow("olmoe") << "olmoe-tiny-f32";
    QTest::newRow("deepseek2") << "deepseek2-tiny-f32";
  }

  void matchesLlamaCpp() {
    QFETCH(QString, name);
    es::test::Golden g;
    if (!es::test::load_golden(QString(ES_SHARED_DIR) + "/golden", name, g)) {
      QSKIP("../shared/golden is not beside this checkout");
    }
    const auto file = es::gguf::File::open(g.gguf_path.toStdString());
    const es::HParams hp = es::read_hparams(file);
    const auto tokens = g.eval_tokens();
    const auto out = es::test::reference_forward(file, hp, tokens);
    QCOMPARE(out.logits.size(), tokens.size());
    double num = 0, den = 0, max_abs = 0;
    for (size_t t = 0; t < tokens.size(); ++t) {
      QCOMPARE(static_cast<int>(out.logits[t].size()), g.n_vocab);
      for (int i = 0; i < g.n_vocab; ++i) {
        const double ref = g.logits[t * g.n_vocab + i];
        const double d = out.logits[t][i] - ref;
        num += d * d;
        den += ref * ref;
        max_abs = std::max(max_abs, std::abs(d));
      }
    }
    const double nmse = num / den;
    qInfo("%s: NMSE %.3g, max |diff| %.3g", qPrintable(name), nmse, max_abs);
    QVERIFY2(nmse < 1e-9, qPrintable(QString::number(nmse)));
    // Greedy: the argmax after the last prompt token and after each generated token.
    for (size_t i = 0; i < g.greedy.size(); ++i) {
      const auto& row = out.logits[g.prompt.size() - 1 + i];
      const int argmax = static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
      QCOMPARE(argmax, g.greedy[i]);
    }
  }
};

QTEST_GUILESS_MAIN(TestReferenceGolden)
#include "test_reference_golden.moc"
