// The Vulkan backend end to end: every architecture fixture and llama.cpp's golden models
// run on the device give the CPU's logits (NMSE <= 1e-5 on F32 weights), greedy tokens and
// expert choices; and a device that cannot hold the model or fails mid-generation leaves
// the context running on the CPU with a message, giving the CPU's results. Skips, saying
// why, where there is no Vulkan device.
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cstdlib>
#include <random>

#include "backend/vulkan/vk_context.h"
#include "expertscope/context.h"
#include "expertscope/error.h"
#include "expertscope/model.h"
#include "golden.h"
#include "tiny_models.h"

using namespace es;

namespace {

std::vector<int32_t> random_tokens(uint32_t n, uint32_t n_vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& v : t) v = static_cast<int32_t>(rng() % n_vocab);
  return t;
}

int32_t argmax(std::span<const float> row) {
  return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

ContextParams params(const std::string& backend, bool kv_f16, uint32_t n_batch = 512) {
  ContextParams p;
  p.n_ctx = 256;
  p.n_batch = n_batch;
  p.kv_f16 = kv_f16;
  p.n_threads = 2;
  p.backend = backend;
  return p;
}

/// What one run produced: every logit row, the greedy tokens, every expert choice.
struct Run {
  std::vector<float> logits;
  std::vector<int32_t> greedy;
  std::vector<uint16_t> experts;
  std::string backend;
  std::string warning;
};

/// A prompt (all rows' logits), then `steps` greedy tokens one at a time.
Run run(const std::shared_ptr<const Model>& model, const ContextParams& p,
        const std::vector<int32_t>& prompt, int steps) {
  Context ctx(model, p);
  Run r;
  const auto keep = [&] {
    for (uint32_t i = 0; i < ctx.n_logit_rows(); ++i) {
      const auto row = ctx.logits(i);
      r.logits.insert(r.logits.end(), row.begin(), row.end());
    }
    r.experts.insert(r.experts.end(), ctx.routing().experts.begin(), ctx.routing().experts.end());
  };
  if (!ctx.decode(prompt, LogitsRows::all)) throw Error(ErrorKind::io, "decode cancelled");
  keep();
  for (int s = 0; s < steps; ++s) {
    const int32_t next = argmax(ctx.logits(ctx.n_logit_rows() - 1));
    r.greedy.push_back(next);
    ctx.decode(std::span(&next, 1), LogitsRows::last);
    keep();
  }
  r.backend = std::string(ctx.backend_name());
  r.warning = ctx.backend_warning();
  return r;
}

double nmse(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (double{got[i]} - want[i]) * (double{got[i]} - want[i]);
    den += double{want[i]} * want[i];
  }
  return den > 0 ? num / den : num;
}

}  // namespace

class TestBackendE2e : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  bool have_device_ = false;

  std::shared_ptr<const Model> fixture(const QString& name) {
    for (const auto& [n, spec] : test::tiny_model_catalog()) {
      if (QString::fromStdString(n) != name) continue;
      const std::string path = dir_.filePath(name + ".gguf").toStdString();
      test::write_tiny_model(spec, path);
      return Model::load(path);
    }
    return nullptr;
  }

 private slots:
  void initTestCase() {
    try {
      (void)backend::vulkan::list_devices();
      have_device_ = !backend::vulkan::list_devices().empty();
    } catch (const Error& e) {
      qWarning("no Vulkan: %s", e.what());
    }
  }

  void cleanupTestCase() {
    // With EXPERTSCOPE_VULKAN_VALIDATION=1 (the _validation CTest), Khronos' validation
    // layer watched every call: it must have had nothing to say.
    QCOMPARE(backend::vulkan::validation_messages(), uint64_t{0});
  }

  void every_fixture_matches_the_cpu_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("kv_f16");
    QTest::addColumn<int>("n_batch");
    for (const auto& [n, spec] : test::tiny_model_catalog()) {
      const QByteArray name = QByteArray::fromStdString(n);
      QTest::addRow("%s f32-kv", name.constData()) << QString(name) << false << 512;
      QTest::addRow("%s f16-kv batch 5", name.constData()) << QString(name) << true << 5;
    }
  }

  void every_fixture_matches_the_cpu() {
    if (!have_device_) QSKIP("no Vulkan device");
    QFETCH(QString, name);
    QFETCH(bool, kv_f16);
    QFETCH(int, n_batch);
    const auto model = fixture(name);
    QVERIFY(model != nullptr);
    const auto prompt = random_tokens(12, model->hparams().n_vocab, 7);
    const Run cpu = run(model, params("cpu", kv_f16), prompt, 6);
    const Run dev = run(model, params("vulkan", kv_f16, static_cast<uint32_t>(n_batch)), prompt, 6);
    QCOMPARE(dev.backend, std::string("vulkan"));
    QCOMPARE(dev.warning, std::string());
    const double e = nmse(dev.logits, cpu.logits);
    qInfo("%s: logits NMSE %.3g", qPrintable(name), e);
    QVERIFY2(e <= 1e-5, qPrintable(QString("NMSE %1").arg(e)));
    QCOMPARE(dev.greedy, cpu.greedy);
    QVERIFY(dev.experts == cpu.experts);
  }

  void golden_models_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("qwen3moe") << "qwen3moe-tiny-f32";
    QTest::newRow("olmoe") << "olmoe-tiny-f32";
    QTest::newRow("deepseek2") << "deepseek2-tiny-f32";
  }

  /// llama.cpp's logits and greedy tokens for the golden models, on the device.
  void golden_models() {
    if (!have_device_) QSKIP("no Vulkan device");
    QFETCH(QString, name);
    test::Golden g;
    if (!test::load_golden(QString(ES_SHARED_DIR) + "/golden", name, g)) {
      QSKIP("../shared/golden is not beside this checkout");
    }
    const auto model = Model::load(g.gguf_path.toStdString());
    const Run dev = run(model, params("vulkan", false), g.prompt, 8);
    QCOMPARE(dev.backend, std::string("vulkan"));
    QCOMPARE(dev.greedy, g.greedy);
    Context ctx(model, params("vulkan", false));
    QVERIFY(ctx.decode(g.eval_tokens(), LogitsRows::all));
    double max_rel = 0;
    for (uint32_t r = 0; r < 16; ++r) {
      const auto row = ctx.logits(r);
      double scale = 0;
      for (int i = 0; i < g.n_vocab; ++i)
        scale = std::max(scale, std::abs(double(g.logits[r * g.n_vocab + i])));
      for (int i = 0; i < g.n_vocab; ++i)
        max_rel = std::max(max_rel, std::abs(row[i] - g.logits[r * g.n_vocab + i]) / scale);
    }
    qInfo("%s on vulkan: max |diff| / max |logit| = %.3g", qPrintable(name), max_rel);
    QVERIFY(max_rel <= 1e-4);
  }

  /// ncnn's test_layer_oom idea: the device runs out of memory while the weights are
  /// uploaded; the context says so and runs on the CPU, with the CPU's results.
  void out_of_device_memory_falls_back_to_the_cpu() {
    if (!have_device_) QSKIP("no Vulkan device");
    const auto model = fixture("qwen3moe");
    const auto prompt = random_tokens(6, model->hparams().n_vocab, 3);
    const Run cpu = run(model, params("cpu", true), prompt, 3);
    qputenv("EXPERTSCOPE_VULKAN_FAULT", "oom@200000");
    const Run dev = run(model, params("vulkan", true), prompt, 3);
    qunsetenv("EXPERTSCOPE_VULKAN_FAULT");
    QCOMPARE(dev.backend, std::string("cpu"));
    QVERIFY2(dev.warning.find("out of device memory") != std::string::npos, dev.warning.c_str());
    QVERIFY2(dev.warning.find("running on the CPU") != std::string::npos, dev.warning.c_str());
    QVERIFY(dev.logits == cpu.logits);
    QCOMPARE(dev.greedy, cpu.greedy);
  }

  /// The device is lost in the middle of a generation: the context recomputes its cache on
  /// the CPU and carries on; every later result is the CPU's.
  void a_lost_device_continues_on_the_cpu() {
    if (!have_device_) QSKIP("no Vulkan device");
    const auto model = fixture("olmoe");
    const auto prompt = random_tokens(6, model->hparams().n_vocab, 4);
    const Run cpu = run(model, params("cpu", true), prompt, 6);
    // Submissions: the weight uploads where memory is not host-visible, then several per
    // forward pass (one per MoE layer and one for the logits): 12 lands mid-generation.
    qputenv("EXPERTSCOPE_VULKAN_FAULT", "lost@12");
    const Run dev = run(model, params("vulkan", true), prompt, 6);
    qunsetenv("EXPERTSCOPE_VULKAN_FAULT");
    QCOMPARE(dev.backend, std::string("cpu"));
    QVERIFY2(dev.warning.find("the device was lost") != std::string::npos, dev.warning.c_str());
    QVERIFY2(dev.warning.find("continuing on the CPU") != std::string::npos, dev.warning.c_str());
    QCOMPARE(dev.greedy, cpu.greedy);
    // The results after the switch are the CPU's (the cache recomputed in one batch rounds
    // a little differently from the token-by-token one); before it, the device's.
    QCOMPARE(dev.logits.size(), cpu.logits.size());
    QVERIFY(nmse(dev.logits, cpu.logits) <= 1e-5);
    const auto n_vocab = static_cast<ptrdiff_t>(model->hparams().n_vocab);
    const std::vector<float> dev_last(dev.logits.end() - n_vocab, dev.logits.end());
    const std::vector<float> cpu_last(cpu.logits.end() - n_vocab, cpu.logits.end());
    QVERIFY(nmse(dev_last, cpu_last) <= 1e-10);
  }

  /// A plugin by name through the public Context (the reference plugin wraps the CPU
  /// kernels behind the C ABI): the CPU's results bit for bit.
  void a_plugin_runs_the_model_by_name() {
    qputenv("EXPERTSCOPE_PLUGIN_PATH", ES_PLUGIN_DIR);
    const auto model = fixture("deepseek2");
    const auto prompt = random_tokens(9, model->hparams().n_vocab, 5);
    const Run cpu = run(model, params("cpu", true), prompt, 4);
    const Run plugin = run(model, params("reference", true), prompt, 4);
    qunsetenv("EXPERTSCOPE_PLUGIN_PATH");
    QCOMPARE(plugin.backend, std::string("reference"));
    QVERIFY(plugin.logits == cpu.logits);
    QVERIFY(plugin.experts == cpu.experts);
    QCOMPARE(plugin.greedy, cpu.greedy);
  }

  void an_unknown_backend_is_a_usage_error() {
    const auto model = fixture("qwen3moe");
    try {
      Context ctx(model, params("no-such-backend", true));
      QFAIL("expected an error");
    } catch (const Error& e) {
      QCOMPARE(e.kind(), ErrorKind::usage);
      QVERIFY2(std::string(e.what()).find("no-such-backend") != std::string::npos, e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestBackendE2e)
#include "test_backend_e2e.moc"
