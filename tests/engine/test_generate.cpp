// The generation loop: reproducible sampling, stop conditions, cancellation, and that each
// token's event carries its own log-probability and routing.
#include <QtTest>
#include <cmath>

#include "expertscope/error.h"
#include "expertscope/generate.h"
#include "expertscope/model.h"
#include "tiny_models.h"

namespace {

struct Setup {
  QTemporaryDir dir;
  std::shared_ptr<const es::Model> model;
  std::unique_ptr<es::Tokenizer> tok;

  explicit Setup(const char* name = "qwen3moe") {
    const std::string path = dir.filePath("m.gguf").toStdString();
    for (const auto& [n, spec] : es::test::tiny_model_catalog()) {
      if (n == name) es::test::write_tiny_model(spec, path);
    }
    model = es::Model::load(path);
    tok = std::make_unique<es::Tokenizer>(es::Tokenizer::from_gguf(model->file()));
  }
  es::Context context(uint32_t n_ctx = 128) const {
    es::ContextParams p;
    p.n_ctx = n_ctx;
    p.kv_f16 = false;
    return es::Context(model, p);
  }
};

const std::vector<int32_t> kPrompt = {5, 17, 99, 3, 250};

}  // namespace

class TestGenerate : public QObject {
  Q_OBJECT

 private slots:
  void seedReproduces() {
    Setup s;
    es::GenerateParams gp;
    gp.n_predict = 24;
    gp.stop_at_eog = false;
    gp.sampling.temperature = 1.0f;
    gp.sampling.seed = 42;
    std::vector<std::vector<int32_t>> runs;
    for (int i = 0; i < 2; ++i) {
      es::Context ctx = s.context();
      runs.push_back(es::generate(ctx, *s.tok, kPrompt, gp, {}).tokens);
    }
    QCOMPARE(runs[0], runs[1]);
    QCOMPARE(runs[0].size(), size_t{24});
    gp.sampling.seed = 43;
    es::Context ctx = s.context();
    QVERIFY(es::generate(ctx, *s.tok, kPrompt, gp, {}).tokens != runs[0]);
  }

  /// Each event's routing and log-probability are those of a plain forward pass over the
  /// same tokens, and its text concatenates to the decode of all generated ids.
  void eventsCarryTheTokensOwnRoutingAndLogprob() {
    Setup s;
    es::GenerateParams gp;
    gp.n_predict = 12;
    gp.stop_at_eog = false;
    gp.sampling.temperature = 0.0f;
    es::Context ctx = s.context();
    std::vector<es::RoutingBatch> routes;
    std::vector<float> logprobs;
    std::string streamed;
    es::RoutingBatch prompt_routing;
    const auto r = es::generate(
        ctx, *s.tok, kPrompt, gp,
        [&](const es::TokenEvent& ev) {
          routes.push_back(*ev.routing);
          logprobs.push_back(ev.logprob);
          streamed.append(ev.text);
          return true;
        },
        [&](const es::RoutingBatch& rb, std::span<const int32_t> toks, uint32_t start) {
          prompt_routing = rb;
          QCOMPARE(toks.size(), kPrompt.size());
          QCOMPARE(start, 0u);
        });
    QCOMPARE(r.reason, es::StopReason::length);
    QCOMPARE(routes.size(), size_t{12});
    QCOMPARE(prompt_routing.n_tokens, static_cast<uint32_t>(kPrompt.size()));
    QCOMPARE(streamed, r.text);
    QCOMPARE(r.text, s.tok->decode(r.tokens));

    std::vector<int32_t> all = kPrompt;
    all.insert(all.end(), r.tokens.begin(), r.tokens.end());
    es::Context batch = s.context();
    QVERIFY(batch.decode(all, es::LogitsRows::all));
    const es::RoutingBatch& rb = batch.routing();
    for (size_t i = 0; i < routes.size(); ++i) {
      const uint32_t t = static_cast<uint32_t>(kPrompt.size() + i);
      for (uint32_t m = 0; m < rb.n_moe_layers(); ++m) {
        for (uint32_t k = 0; k < rb.top_k; ++k) {
          QCOMPARE(routes[i].experts[routes[i].at(0, m, k)], rb.experts[rb.at(t, m, k)]);
        }
      }
      // log p(token i) from the logits of the row before it.
      const auto row = batch.logits(t - 1);
      double mx = -1e30, sum = 0;
      for (float v : row) mx = std::max(mx, double(v));
      for (float v : row) sum += std::exp(v - mx);
      const double want = row[r.tokens[i]] - mx - std::log(sum);
      QVERIFY2(std::abs(logprobs[i] - want) < 1e-3,
               qPrintable(QString::number(logprobs[i] - want)));
    }
  }

  void stopsAtStopTokensAndStrings() {
    Setup s;
    es::GenerateParams gp;
    gp.n_predict = 40;
    gp.stop_at_eog = false;
    gp.sampling.temperature = 0.0f;
    es::Context probe = s.context();
    const auto free_run = es::generate(probe, *s.tok, kPrompt, gp, {});
    QVERIFY(free_run.tokens.size() == 40);

    gp.stop_tokens = {free_run.tokens[5]};
    es::Context c1 = s.context();
    const auto r1 = es::generate(c1, *s.tok, kPrompt, gp, {});
    QCOMPARE(r1.reason, es::StopReason::end_of_generation);
    QVERIFY(r1.tokens.size() <= 6);
    QCOMPARE(r1.tokens.back(), free_run.tokens[5]);

    // A stop string taken from the middle of the free run's text: the text ends before it
    // and nothing after it was streamed.
    gp.stop_tokens.clear();
    const std::string text = free_run.text;
    const std::string stop = text.substr(text.size() / 2, 3);
    gp.stop_strings = {stop};
    es::Context c2 = s.context();
    std::string streamed;
    const auto r2 = es::generate(c2, *s.tok, kPrompt, gp, [&](const es::TokenEvent& ev) {
      streamed.append(ev.text);
      return true;
    });
    QCOMPARE(r2.reason, es::StopReason::stop_string);
    QCOMPARE(r2.text, text.substr(0, text.find(stop)));
    QCOMPARE(streamed, r2.text);
  }

  void cancellationAndContextLimits() {
    Setup s;
    es::GenerateParams gp;
    gp.n_predict = 50;
    gp.stop_at_eog = false;
    es::Context c1 = s.context();
    int n = 0;
    const auto r1 =
        es::generate(c1, *s.tok, kPrompt, gp, [&](const es::TokenEvent&) { return ++n < 3; });
    QCOMPARE(r1.reason, es::StopReason::cancelled);
    QCOMPARE(r1.tokens.size(), size_t{3});

    std::atomic<bool> cancel{true};
    es::Context c2 = s.context();
    QCOMPARE(es::generate(c2, *s.tok, kPrompt, gp, {}, {}, &cancel).reason,
             es::StopReason::cancelled);

    es::Context small = s.context(10);
    const auto r3 = es::generate(small, *s.tok, kPrompt, gp, {});
    QCOMPARE(r3.reason, es::StopReason::context_full);
    QCOMPARE(small.n_past(), 10u);

    es::Context tiny = s.context(4);
    QVERIFY_THROWS_EXCEPTION(es::Error, es::generate(tiny, *s.tok, kPrompt, gp, {}));
  }
};

QTEST_GUILESS_MAIN(TestGenerate)
#include "test_generate.moc"
