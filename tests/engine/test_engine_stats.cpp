// Context::stats(): expert-hit counters agree with the routing records, op times are
// present for the ops that ran, the KV fill, memory by kind and the bounded decode
// history. No time value is asserted beyond being non-negative.
#include <QtTest>
#include <set>

#include "expertscope/context.h"
#include "expertscope/engine_stats.h"
#include "expertscope/model.h"
#include "tiny_models.h"

namespace {

std::shared_ptr<const es::Model> load_fixture(const QTemporaryDir& dir, const QString& name) {
  const std::string path = dir.filePath(name + ".gguf").toStdString();
  for (const auto& [n, spec] : es::test::tiny_model_catalog()) {
    if (QString::fromStdString(n) == name) es::test::write_tiny_model(spec, path);
  }
  return es::Model::load(path);
}

/// Adds the routing of the last decode to `hits` ([moe layer][expert]).
void tally(const es::RoutingBatch& r, std::vector<uint64_t>& hits) {
  for (uint32_t t = 0; t < r.n_tokens; ++t) {
    for (uint32_t m = 0; m < r.n_moe_layers(); ++m) {
      for (uint32_t k = 0; k < r.top_k; ++k) ++hits[m * r.n_expert + r.experts[r.at(t, m, k)]];
    }
  }
}

}  // namespace

class TestEngineStats : public QObject {
  Q_OBJECT

 private slots:
  void opNamesAreDistinct() {
    std::set<std::string_view> names;
    for (size_t i = 1; i < es::n_engine_op_slots; ++i) {
      const std::string_view n = es::engine_op_name(static_cast<es::EngineOp>(i));
      QVERIFY(n != "unset");
      QVERIFY(names.insert(n).second);
    }
    QCOMPARE(es::engine_op_name(es::EngineOp::unset), std::string_view("unset"));
    QCOMPARE(es::engine_op_name(es::EngineOp::count), std::string_view("unset"));
  }

  void expertHitsMatchRouting_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"deepseek2", "qwen3moe", "qwen2moe", "mixtral", "gpt-oss"}) {
      QTest::newRow(n) << n;
    }
  }

  void expertHitsMatchRouting() {
    QFETCH(QString, name);
    QTemporaryDir dir;
    const auto model = load_fixture(dir, name);
    es::ContextParams p;
    p.n_ctx = 64;
    p.n_batch = 4;  // The prompt runs in three chunks.
    p.n_threads = 2;
    es::Context ctx(model, p);
    es::EngineStats st = ctx.stats();
    const size_t n_moe = model->moe_layers().size();
    QVERIFY(n_moe > 0);
    QCOMPARE(st.moe_layers, model->moe_layers());
    QCOMPARE(st.n_expert, model->hparams().n_expert);
    QCOMPARE(st.top_k, model->hparams().n_expert_used);
    QCOMPARE(st.expert_hits.size(), n_moe * st.n_expert);
    QCOMPARE(st.n_routed_tokens, uint64_t{0});
    for (uint64_t h : st.expert_hits) QCOMPARE(h, uint64_t{0});

    std::vector<uint64_t> expected(st.expert_hits.size(), 0);
    const std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    QVERIFY(ctx.decode(prompt, es::LogitsRows::last));
    tally(ctx.routing(), expected);
    for (int32_t token = 11; token < 16; ++token) {
      QVERIFY(ctx.decode(std::span(&token, 1), es::LogitsRows::last));
      tally(ctx.routing(), expected);
    }
    st = ctx.stats();
    const uint64_t n_tokens = prompt.size() + 5;
    QCOMPARE(st.n_routed_tokens, n_tokens);
    QCOMPARE(st.expert_hits, expected);
    for (size_t m = 0; m < n_moe; ++m) {
      uint64_t sum = 0;
      for (size_t e = 0; e < st.n_expert; ++e) sum += st.hits(m, e);
      QCOMPARE(sum, n_tokens * st.top_k);
    }
    QCOMPARE(st.hits(n_moe, 0), uint64_t{0});  // Out of range reads as zero.
    QCOMPARE(st.hits(0, st.n_expert), uint64_t{0});

    // Truncating keeps the counters; reset_stats() clears them.
    ctx.truncate(0);
    QCOMPARE(ctx.stats().n_routed_tokens, n_tokens);
    ctx.reset_stats();
    st = ctx.stats();
    QCOMPARE(st.n_routed_tokens, uint64_t{0});
    for (uint64_t h : st.expert_hits) QCOMPARE(h, uint64_t{0});
    QVERIFY(st.history.empty());
    QCOMPARE(st.last_pass.n_tokens, uint32_t{0});
  }

  void opTimesOfTheLastDecode_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("mla");
    QTest::newRow("qwen3moe") << "qwen3moe" << false;
    QTest::newRow("deepseek2-kv-b") << "deepseek2-kv-b" << true;
  }

  void opTimesOfTheLastDecode() {
    QFETCH(QString, name);
    QFETCH(bool, mla);
    QTemporaryDir dir;
    const auto model = load_fixture(dir, name);
    es::ContextParams p;
    p.n_ctx = 32;
    p.n_threads = 2;
    es::Context ctx(model, p);
    QCOMPARE(ctx.stats().last_pass.n_tokens, uint32_t{0});
    const std::vector<int32_t> prompt = {1, 2, 3};
    QVERIFY(ctx.decode(prompt, es::LogitsRows::last));
    QCOMPARE(ctx.stats().last_pass.n_tokens, uint32_t{3});
    int32_t token = 4;
    QVERIFY(ctx.decode(std::span(&token, 1), es::LogitsRows::last));
    const es::EngineStats st = ctx.stats();
    QCOMPARE(st.last_pass.n_tokens, uint32_t{1});
    QVERIFY(st.last_pass.wall_ms >= 0.0);
    const auto n_layer = model->hparams().n_layer;
    const auto n_moe = static_cast<uint32_t>(model->moe_layers().size());
    using es::EngineOp;
    for (EngineOp op :
         {EngineOp::get_rows, EngineOp::rms_norm, EngineOp::mul_mat, EngineOp::mul_mat_id,
          EngineOp::add, EngineOp::rope, EngineOp::swiglu, EngineOp::router, EngineOp::moe_sum,
          EngineOp::kv_store, EngineOp::attention, EngineOp::synchronize}) {
      QVERIFY2(st.op(op).n_calls > 0, es::engine_op_name(op).data());
    }
    double sum_ms = 0.0;
    for (size_t i = 0; i < es::n_engine_op_slots; ++i) {
      QVERIFY(st.last_pass.ops[i].total_ms >= 0.0);
      if (st.last_pass.ops[i].n_calls == 0) QCOMPARE(st.last_pass.ops[i].total_ms, 0.0);
      sum_ms += st.last_pass.ops[i].total_ms;
    }
    QVERIFY(sum_ms >= 0.0);
    QCOMPARE(st.op(EngineOp::unset).n_calls, uint32_t{0});
    // One token: one embedding look-up, one router call and three expert products per
    // MoE layer, one attention per layer.
    QCOMPARE(st.op(EngineOp::get_rows).n_calls, uint32_t{1});
    QCOMPARE(st.op(EngineOp::router).n_calls, n_moe);
    QCOMPARE(st.op(EngineOp::mul_mat_id).n_calls, 3 * n_moe);
    QCOMPARE(st.op(EngineOp::moe_sum).n_calls, n_moe);
    QCOMPARE(st.op(EngineOp::attention).n_calls, n_layer);
    // Ops this architecture does not use did not run.
    QCOMPARE(st.op(EngineOp::copy).n_calls > 0, mla);
    QCOMPARE(st.op(EngineOp::sigmoid_gate).n_calls, uint32_t{0});
  }

  void kvFillAndMemory() {
    QTemporaryDir dir;
    const auto model = load_fixture(dir, "qwen2moe");
    es::ContextParams p;
    p.n_ctx = 40;
    p.n_threads = 2;
    es::Context ctx(model, p);
    es::EngineStats st = ctx.stats();
    QCOMPARE(st.n_past, uint32_t{0});
    QCOMPARE(st.n_ctx, uint32_t{40});
    QCOMPARE(st.kv_fill(), 0.0);
    QCOMPARE(st.backend, std::string("cpu"));
    QCOMPARE(st.n_threads, uint32_t{2});
    uint64_t tensor_bytes = 0;
    for (const auto& t : model->file().tensors()) tensor_bytes += t.n_bytes;
    QCOMPARE(st.memory.weights_bytes, tensor_bytes);
    QVERIFY(st.memory.kv_cache_bytes > 0);
    QVERIFY(st.memory.scratch_bytes > 0);

    const std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    QVERIFY(ctx.decode(prompt, es::LogitsRows::all));
    st = ctx.stats();
    QCOMPARE(st.n_past, ctx.n_past());
    QCOMPARE(st.kv_fill(), 10.0 / 40.0);
    QVERIFY(st.memory.output_bytes > 0);
    QVERIFY(st.memory.weights_bytes > 0 && st.memory.kv_cache_bytes > 0 &&
            st.memory.scratch_bytes > 0);
    QCOMPARE(st.memory.total_bytes(), st.memory.weights_bytes + st.memory.kv_cache_bytes +
                                          st.memory.scratch_bytes + st.memory.output_bytes);
    ctx.truncate(4);
    QCOMPARE(ctx.stats().kv_fill(), 4.0 / 40.0);
    es::EngineStats empty;
    QCOMPARE(empty.kv_fill(), 0.0);
  }

  void historyGrowsAndIsBounded() {
    QTemporaryDir dir;
    const auto model = load_fixture(dir, "olmoe");
    es::ContextParams p;
    p.n_ctx = 160;
    p.n_threads = 1;
    es::Context ctx(model, p);
    const std::vector<int32_t> prompt = {1, 2, 3, 4, 5};
    QVERIFY(ctx.decode(prompt, es::LogitsRows::last));
    es::EngineStats st = ctx.stats();
    QCOMPARE(st.history.size(), size_t{1});
    QCOMPARE(st.history[0].n_tokens, uint32_t{5});
    QCOMPARE(st.history[0].kind, es::StepKind::prompt);
    QVERIFY(st.history[0].wall_ms >= 0.0);
    QVERIFY(st.history[0].tokens_per_s() >= 0.0);
    QCOMPARE(st.n_prompt_tokens, uint64_t{5});

    const size_t n_steps = es::EngineStats::history_capacity + 10;
    for (size_t i = 0; i < n_steps; ++i) {
      const auto token = static_cast<int32_t>(6 + i % 50);
      QVERIFY(ctx.decode(std::span(&token, 1), es::LogitsRows::last));
      if (i == 0) QCOMPARE(ctx.stats().history.size(), size_t{2});
    }
    st = ctx.stats();
    QCOMPARE(st.history.size(), es::EngineStats::history_capacity);
    QCOMPARE(st.n_prompt_tokens, uint64_t{5});
    QCOMPARE(st.n_generated_tokens, uint64_t{n_steps});
    // The prompt step fell out of the window: only generation steps remain.
    for (const es::DecodeStep& s : st.history) {
      QCOMPARE(s.kind, es::StepKind::generation);
      QCOMPARE(s.n_tokens, uint32_t{1});
      QVERIFY(s.wall_ms >= 0.0);
    }
    // A second prompt lands at the newest end.
    ctx.truncate(0);
    QVERIFY(ctx.decode(prompt, es::LogitsRows::last));
    st = ctx.stats();
    QCOMPARE(st.history.size(), es::EngineStats::history_capacity);
    QCOMPARE(st.history.back().kind, es::StepKind::prompt);
    QCOMPARE(st.history.back().n_tokens, uint32_t{5});
    QCOMPARE(st.history.front().kind, es::StepKind::generation);
  }

  void cancelledDecodeRecordsWhatRan() {
    QTemporaryDir dir;
    const auto model = load_fixture(dir, "qwen3moe");
    es::ContextParams p;
    p.n_ctx = 32;
    p.n_threads = 1;
    es::Context ctx(model, p);
    const std::atomic<bool> cancel{true};
    const std::vector<int32_t> prompt = {1, 2, 3};
    QVERIFY(!ctx.decode(prompt, es::LogitsRows::last, &cancel));
    const es::EngineStats st = ctx.stats();
    QVERIFY(st.history.empty());
    QCOMPARE(st.n_routed_tokens, uint64_t{0});
    QCOMPARE(st.last_pass.n_tokens, uint32_t{0});
  }

  void denseModelHasNoExperts() {
    QTemporaryDir dir;
    const auto model = load_fixture(dir, "llama-dense");
    es::ContextParams p;
    p.n_ctx = 16;
    p.n_threads = 1;
    es::Context ctx(model, p);
    const std::vector<int32_t> prompt = {1, 2, 3};
    QVERIFY(ctx.decode(prompt, es::LogitsRows::last));
    const es::EngineStats st = ctx.stats();
    QCOMPARE(st.n_expert, uint32_t{0});
    QVERIFY(st.expert_hits.empty());
    QCOMPARE(st.op(es::EngineOp::mul_mat_id).n_calls, uint32_t{0});
    QVERIFY(st.op(es::EngineOp::mul_mat).n_calls > 0);
    QCOMPARE(st.history.size(), size_t{1});
  }
};

QTEST_GUILESS_MAIN(TestEngineStats)
#include "test_engine_stats.moc"
