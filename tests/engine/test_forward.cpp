// The CPU forward pass against the double-precision reference for every fixture
// architecture, and against llama.cpp's golden logits: logits, routing decisions, greedy
// continuations, incremental decoding through the KV cache, chunked prefill, threads, and
// the errors decode() owes its callers.
#include <QtTest>
#include <cmath>
#include <random>

#include "expertscope/context.h"
#include "expertscope/error.h"
#include "expertscope/model.h"
#include "golden.h"
#include "reference_forward.h"
#include "tiny_models.h"

namespace {

struct Fixture {
  QTemporaryDir dir;
  std::shared_ptr<const es::Model> model;
};

std::shared_ptr<const es::Model> load_fixture(const QString& name, QTemporaryDir& dir) {
  for (const auto& [n, spec] : es::test::tiny_model_catalog()) {
    if (QString::fromStdString(n) != name) continue;
    const std::string path = dir.filePath(name + ".gguf").toStdString();
    es::test::write_tiny_model(spec, path);
    return es::Model::load(path);
  }
  return nullptr;
}

std::vector<int32_t> random_tokens(uint32_t n, uint32_t n_vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& v : t) v = static_cast<int32_t>(rng() % n_vocab);
  return t;
}

es::ContextParams exact_params(uint32_t n_ctx = 128) {
  es::ContextParams p;
  p.n_ctx = n_ctx;
  p.kv_f16 = false;
  p.n_threads = 2;
  return p;
}

/// Normalised mean squared error of `got` against the reference rows.
double nmse(const es::Context& ctx, const std::vector<std::vector<double>>& ref) {
  double num = 0, den = 0;
  for (uint32_t r = 0; r < ctx.n_logit_rows(); ++r) {
    const auto row = ctx.logits(r);
    for (size_t i = 0; i < row.size(); ++i) {
      const double d = row[i] - ref[r][i];
      num += d * d;
      den += ref[r][i] * ref[r][i];
    }
  }
  return num / den;
}

int argmax(std::span<const float> row) {
  return static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
}

int argmax(const std::vector<double>& row) {
  return static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
}

QStringList catalog_names() {
  QStringList names;
  for (const auto& [n, spec] : es::test::tiny_model_catalog()) names << QString::fromStdString(n);
  return names;
}

}  // namespace

class TestForward : public QObject {
  Q_OBJECT

 private slots:
  void matchesReference_data() {
    QTest::addColumn<QString>("name");
    for (const QString& n : catalog_names()) QTest::newRow(qPrintable(n)) << n;
  }

  /// Logits NMSE <= 1e-6 on F32 weights, and the same expert set at every token and MoE
  /// layer where the k-th and (k+1)-th selection scores differ by more than 1e-4.
  void matchesReference() {
    QFETCH(QString, name);
    QTemporaryDir dir;
    const auto model = load_fixture(name, dir);
    QVERIFY(model);
    const es::HParams& hp = model->hparams();
    const auto tokens = random_tokens(40, hp.n_vocab, 7);  // Longer than gpt-oss's window.
    const auto ref = es::test::reference_forward(model->file(), hp, tokens);
    es::Context ctx(model, exact_params());
    QVERIFY(ctx.decode(tokens, es::LogitsRows::all));
    QCOMPARE(ctx.n_logit_rows(), static_cast<uint32_t>(tokens.size()));
    const double e = nmse(ctx, ref.logits);
    qInfo("%s: logits NMSE %.3g", qPrintable(name), e);
    QVERIFY2(e <= 1e-6, qPrintable(QString::number(e)));

    const es::RoutingBatch& rb = ctx.routing();
    QCOMPARE(rb.n_moe_layers(), ref.routing.empty() ? size_t{0} : ref.routing[0].size());
    int n_compared = 0;
    for (uint32_t t = 0; t < tokens.size(); ++t) {
      for (uint32_t m = 0; m < rb.n_moe_layers(); ++m) {
        const es::test::RefRouting& rr = ref.routing[t][m];
        QCOMPARE(rb.moe_layers[m], rr.layer);
        auto scores = rr.selection_scores;
        std::sort(scores.rbegin(), scores.rend());
        if (scores[rb.top_k - 1] - scores[rb.top_k] <= 1e-4) continue;  // A near tie.
        std::vector<int> got, want = rr.experts;
        for (uint32_t r = 0; r < rb.top_k; ++r) got.push_back(rb.experts[rb.at(t, m, r)]);
        std::sort(got.begin(), got.end());
        std::sort(want.begin(), want.end());
        QCOMPARE(got, want);
        for (uint32_t r = 0; r < rb.top_k; ++r) {
          QVERIFY(std::abs(rb.weights[rb.at(t, m, r)] - rr.weights[r]) < 1e-4);
        }
        ++n_compared;
      }
    }
    if (hp.n_expert > 0) QVERIFY(n_compared > 0);
  }

  void greedyMatchesReference_data() { matchesReference_data(); }

  /// 32 greedy tokens, decoded one at a time through the KV cache, equal the reference's
  /// greedy continuation computed by re-running the whole sequence each step.
  void greedyMatchesReference() {
    QFETCH(QString, name);
    QTemporaryDir dir;
    const auto model = load_fixture(name, dir);
    const es::HParams& hp = model->hparams();
    std::vector<int32_t> seq = random_tokens(6, hp.n_vocab, 11);
    std::vector<int32_t> ref_seq = seq;
    for (int i = 0; i < 32; ++i) {
      const auto ref = es::test::reference_forward(model->file(), hp, ref_seq);
      ref_seq.push_back(argmax(ref.logits.back()));
    }
    es::Context ctx(model, exact_params());
    QVERIFY(ctx.decode(seq, es::LogitsRows::last));
    for (int i = 0; i < 32; ++i) {
      const int32_t next = argmax(ctx.logits(0));
      seq.push_back(next);
      QVERIFY(ctx.decode(std::span(&seq.back(), 1), es::LogitsRows::last));
    }
    QCOMPARE(seq, ref_seq);
  }

  /// Chunked prefill, one-token-at-a-time decoding and thread counts all compute the same
  /// function: each row's logits agree with one whole-batch pass.
  void batchingIsInvisible() {
    QTemporaryDir dir;
    const auto model = load_fixture("deepseek2", dir);
    const auto tokens = random_tokens(20, model->hparams().n_vocab, 3);
    es::Context whole(model, exact_params());
    QVERIFY(whole.decode(tokens, es::LogitsRows::all));

    es::ContextParams chunked = exact_params();
    chunked.n_batch = 7;
    chunked.n_threads = 1;
    es::Context c(model, chunked);
    QVERIFY(c.decode(tokens, es::LogitsRows::all));
    QCOMPARE(c.n_logit_rows(), 20u);
    QCOMPARE(c.routing().n_tokens, 20u);
    QCOMPARE(c.routing().experts, whole.routing().experts);

    es::Context step(model, exact_params());
    for (size_t t = 0; t < tokens.size(); ++t) {
      QVERIFY(step.decode(std::span(&tokens[t], 1), es::LogitsRows::all));
      for (size_t i = 0; i < step.logits(0).size(); ++i) {
        QVERIFY(std::abs(step.logits(0)[i] - whole.logits(static_cast<uint32_t>(t))[i]) < 1e-4);
        QVERIFY(std::abs(c.logits(static_cast<uint32_t>(t))[i] -
                         whole.logits(static_cast<uint32_t>(t))[i]) < 1e-4);
      }
    }
    QCOMPARE(step.n_past(), 20u);
  }

  /// YaRN context extension (DeepSeek-V2 and V3 style magnitudes, and plain YaRN) and
  /// linear scaling, against the reference's Hugging Face-style RoPE.
  void ropeScalingMatchesReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("type");
    QTest::addColumn<float>("log_mul");
    // deepseek2 files hold 0.1 * mscale_all_dim (llama.cpp's converter): V3 1.0, V2 0.707.
    QTest::newRow("deepseek2 yarn v3") << "deepseek2"
                                       << "yarn" << 0.1f;
    QTest::newRow("deepseek2 yarn v2") << "deepseek2"
                                       << "yarn" << 0.0707f;
    QTest::newRow("deepseek2-kv-b yarn") << "deepseek2-kv-b"
                                         << "yarn" << 0.0707f;
    QTest::newRow("qwen3moe yarn") << "qwen3moe"
                                   << "yarn" << 0.0f;
    QTest::newRow("mixtral linear") << "mixtral"
                                    << "linear" << 0.0f;
  }

  void ropeScalingMatchesReference() {
    QFETCH(QString, name);
    QFETCH(QString, type);
    QFETCH(float, log_mul);
    QTemporaryDir dir;
    es::test::TinyModel tiny;
    for (const auto& [n, spec] : es::test::tiny_model_catalog()) {
      if (QString::fromStdString(n) == name) tiny = es::test::build_tiny_model(spec);
    }
    const std::string arch(*std::get_if<std::string>(&tiny.find("general.architecture")->data));
    tiny.set(arch + ".rope.scaling.type", type.toStdString());
    tiny.set(arch + ".rope.scaling.factor", 4.0f);
    tiny.set(arch + ".rope.scaling.original_context_length", uint32_t{64});
    if (log_mul != 0.0f) tiny.set(arch + ".rope.scaling.yarn_log_multiplier", log_mul);
    const std::string path = dir.filePath("scaled.gguf").toStdString();
    tiny.write(path);
    const auto model = es::Model::load(path);
    const auto tokens = random_tokens(48, model->hparams().n_vocab, 9);
    const auto ref = es::test::reference_forward(model->file(), model->hparams(), tokens);
    es::ContextParams p = exact_params();
    es::Context ctx(model, p);
    QVERIFY(ctx.decode(tokens, es::LogitsRows::all));
    const double e = nmse(ctx, ref.logits);
    qInfo("%s %s: logits NMSE %.3g", qPrintable(name), qPrintable(type), e);
    QVERIFY(e <= 1e-6);
  }

  /// llama.cpp's logits for the golden models, through the public Context.
  void goldenLogits_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("qwen3moe") << "qwen3moe-tiny-f32";
    QTest::newRow("olmoe") << "olmoe-tiny-f32";
    QTest::newRow("deepseek2") << "deepseek2-tiny-f32";
  }

  void goldenLogits() {
    QFETCH(QString, name);
    es::test::Golden g;
    if (!es::test::load_golden(QString(ES_SHARED_DIR) + "/golden", name, g)) {
      QSKIP("../shared/golden is not beside this checkout");
    }
    const auto model = es::Model::load(g.gguf_path.toStdString());
    es::Context ctx(model, exact_params());
    QVERIFY(ctx.decode(g.eval_tokens(), es::LogitsRows::all));
    double max_rel = 0;
    for (uint32_t r = 0; r < 16; ++r) {
      const auto row = ctx.logits(r);
      double scale = 0;
      for (int i = 0; i < g.n_vocab; ++i)
        scale = std::max(scale, std::abs(double(g.logits[r * g.n_vocab + i])));
      for (int i = 0; i < g.n_vocab; ++i) {
        max_rel = std::max(max_rel, std::abs(row[i] - g.logits[r * g.n_vocab + i]) / scale);
      }
    }
    qInfo("%s: max |diff| / max |logit| = %.3g", qPrintable(name), max_rel);
    QVERIFY(max_rel <= 1e-4);
    // The greedy continuation, decoded token by token.
    es::Context gen(model, exact_params());
    std::vector<int32_t> seq = g.prompt;
    QVERIFY(gen.decode(seq, es::LogitsRows::last));
    std::vector<int32_t> produced;
    for (int i = 0; i < 8; ++i) {
      produced.push_back(argmax(gen.logits(0)));
      QVERIFY(gen.decode(std::span(&produced.back(), 1), es::LogitsRows::last));
    }
    QCOMPARE(produced, g.greedy);
  }

  void badTokensAreRefused() {
    QTemporaryDir dir;
    const auto model = load_fixture("qwen3moe", dir);
    es::Context ctx(model, exact_params(8));
    const std::vector<int32_t> bad = {1, static_cast<int32_t>(model->hparams().n_vocab)};
    QVERIFY_THROWS_EXCEPTION(es::Error, ctx.decode(bad, es::LogitsRows::last));
    const std::vector<int32_t> negative = {-1};
    QVERIFY_THROWS_EXCEPTION(es::Error, ctx.decode(negative, es::LogitsRows::last));
    QCOMPARE(ctx.n_past(), 0u);
    // Longer than the context: refused whole, nothing evaluated, the cache untouched.
    const std::vector<int32_t> five = {1, 2, 3, 4, 5};
    QVERIFY(ctx.decode(five, es::LogitsRows::last));
    try {
      ctx.decode(five, es::LogitsRows::last);
      QFAIL("accepted more tokens than the context holds");
    } catch (const es::Error& e) {
      QVERIFY2(QString(e.what()).contains("do not fit"), e.what());
    }
    QCOMPARE(ctx.n_past(), 5u);
  }

  void cancellationStopsBetweenChunks() {
    QTemporaryDir dir;
    const auto model = load_fixture("olmoe", dir);
    es::ContextParams p = exact_params();
    p.n_batch = 4;
    es::Context ctx(model, p);
    std::atomic<bool> cancel{true};
    const auto tokens = random_tokens(16, model->hparams().n_vocab, 5);
    QVERIFY(!ctx.decode(tokens, es::LogitsRows::last, &cancel));
    QCOMPARE(ctx.n_past(), 0u);
  }
};

QTEST_GUILESS_MAIN(TestForward)
#include "test_forward.moc"
