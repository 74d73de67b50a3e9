// Decoding allocates nothing per token once the context is warm (DESIGN: decode must not
// allocate per token), measured by counting operator new calls.
#include <QtTest>

#include "alloc_counter.h"
#include "expertscope/context.h"
#include "expertscope/model.h"
#include "tiny_models.h"

class TestDecodeAlloc : public QObject {
  Q_OBJECT

 private slots:
  void steadyStateDecodeAllocatesNothing_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"deepseek2", "deepseek2-kv-b", "qwen2moe", "gpt-oss", "granitemoe"}) {
      QTest::newRow(n) << n;
    }
  }

  void steadyStateDecodeAllocatesNothing() {
    QFETCH(QString, name);
    QTemporaryDir dir;
    const std::string path = dir.filePath("m.gguf").toStdString();
    for (const auto& [n, spec] : es::test::tiny_model_catalog()) {
      if (QString::fromStdString(n) == name) es::test::write_tiny_model(spec, path);
    }
    const auto model = es::Model::load(path);
    es::ContextParams p;
    p.n_ctx = 64;
    p.n_threads = 2;
    es::Context ctx(model, p);
    const std::vector<int32_t> prompt = {1, 2, 3, 4};
    QVERIFY(ctx.decode(prompt, es::LogitsRows::last));
    int32_t token = 5;
    for (int i = 0; i < 2; ++i) QVERIFY(ctx.decode(std::span(&token, 1), es::LogitsRows::last));
    const size_t before = es::test::allocation_count();
    for (int i = 0; i < 8; ++i) QVERIFY(ctx.decode(std::span(&token, 1), es::LogitsRows::last));
    QCOMPARE(es::test::allocation_count() - before, size_t{0});
  }
};

QTEST_GUILESS_MAIN(TestDecodeAlloc)
#include "test_decode_alloc.moc"
