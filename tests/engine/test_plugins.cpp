// Backend plugins through the C ABI: the loader accepts the reference plugin, rejects the
// broken ones with the reason (another API version, score 0, not a library); ops run
// through the raw vtable (start, alloc, upload, run, download); and the whole forward pass
// runs through a plugin (make_plugin_backend: the reference plugin wraps the CPU kernels),
// its logits and routing bit-identical to the CPU backend's over a prompt and decode steps
// through the KV cache. An unknown plugin name and a failing plugin op are es::Errors
// that say what happened.
#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <fstream>
#include <random>

#include "backend/plugin_backend.h"
#include "backend/plugin_loader.h"
#include "expertscope/error.h"
#include "expertscope/model.h"
#include "model/forward.h"
#include "tiny_models.h"

using es::backend::scan_plugins;

namespace {

bool has_line(const std::vector<std::string>& log, const std::string& a, const std::string& b) {
  for (const std::string& line : log) {
    if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
  }
  return false;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// Points the plugin search at the test plugins for as long as it lives.
struct PluginPath {
  PluginPath() { qputenv("EXPERTSCOPE_PLUGIN_PATH", ES_PLUGIN_DIR); }
  ~PluginPath() { qunsetenv("EXPERTSCOPE_PLUGIN_PATH"); }
};

std::shared_ptr<const es::Model> load_fixture(const std::string& name, QTemporaryDir& dir) {
  for (const auto& [n, spec] : es::test::tiny_model_catalog()) {
    if (n != name) continue;
    const std::string path = dir.filePath(QString::fromStdString(name) + ".gguf").toStdString();
    es::test::write_tiny_model(spec, path);
    return es::Model::load(path);
  }
  return nullptr;
}

/// Whether two float arrays hold the same bits.
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

/// The message of the es::Error `f` throws (empty if it throws none), and its kind.
template <typename F>
std::pair<std::string, es::ErrorKind> error_of(F&& f) {
  try {
    f();
  } catch (const es::Error& e) {
    return {e.what(), e.kind()};
  }
  return {"", es::ErrorKind::unset};
}

}  // namespace

class TestPlugins : public QObject {
  Q_OBJECT

 private slots:
  void the_loader_accepts_and_rejects_with_reasons() {
    QTemporaryDir junk;
    std::ofstream(junk.filePath("not_a_library.so").toStdString()) << "this is text";
    const auto scan = scan_plugins({ES_PLUGIN_DIR, junk.path().toStdString()});
    for (const std::string& line : scan.log) qInfo("%s", line.c_str());
    QCOMPARE(scan.accepted.size(), size_t{1});
    QCOMPARE(scan.accepted[0]->name(), std::string("reference"));
    QVERIFY(has_line(scan.log, "expertscope_test_wrong_version", "built for backend API 99"));
    QVERIFY(has_line(scan.log, "expertscope_test_cannot_run", "score 0"));
    QVERIFY(has_line(scan.log, "not_a_library.so", "cannot be loaded"));
  }

  void the_plugin_path_variable_is_scanned_first() {
    qputenv("EXPERTSCOPE_PLUGIN_PATH", "/nonexistent/a:/nonexistent/b");
    const auto dirs = es::backend::plugin_dirs();
    QVERIFY(dirs.size() >= 2);
    QCOMPARE(dirs[0], std::filesystem::path("/nonexistent/a"));
    QCOMPARE(dirs[1], std::filesystem::path("/nonexistent/b"));
    qunsetenv("EXPERTSCOPE_PLUGIN_PATH");
  }

  void an_op_runs_through_the_abi() {
    const auto scan = scan_plugins({ES_PLUGIN_DIR});
    QCOMPARE(scan.accepted.size(), size_t{1});
    const es_backend_vtable& vt = scan.accepted[0]->vtable();
    QCOMPARE(vt.api_version, EXPERTSCOPE_BACKEND_API_VERSION);
    QVERIFY(vt.alloc(vt.state, 64) == nullptr);  // Not started yet: refused, with a reason.
    QVERIFY(contains(vt.last_error(vt.state), "start"));
    QCOMPARE(vt.start(vt.state, 2), 0);
    QVERIFY(vt.supports(vt.state, ES_OP_ADD, 0) != 0);
    QVERIFY(vt.supports(vt.state, ES_OP_MUL_MAT, 8) != 0);   // Q8_0
    QVERIFY(vt.supports(vt.state, ES_OP_MUL_MAT, 4) == 0);   // a retired ggml type id
    QVERIFY(vt.supports(vt.state, ES_OP_ADD_BIAS, 8) == 0);  // biases are f32
    QVERIFY(vt.supports(vt.state, 999, 0) == 0);
    const uint32_t n = 1001;
    std::vector<float> a(n);
    std::vector<float> b(n);
    for (uint32_t i = 0; i < n; ++i) {
      a[i] = 0.5f * static_cast<float>(i) - 7.0f;
      b[i] = 1.0f / static_cast<float>(i + 1);
    }
    es_backend_buffer* ba = vt.alloc(vt.state, n * 4);
    es_backend_buffer* bb = vt.alloc(vt.state, n * 4);
    QVERIFY(ba && bb);
    QVERIFY(vt.buffer_host(vt.state, ba) != nullptr);  // CPU memory: host-visible
    QCOMPARE(vt.upload(vt.state, ba, 0, a.data(), n * 4), 0);
    QCOMPARE(vt.upload(vt.state, bb, 0, b.data(), n * 4), 0);
    // As 7 rows of 143 columns, then the last column of every row scaled again.
    const es_mat ma{ba, 0, 7, 143, 143};
    const es_mat mb{bb, 0, 7, 143, 143};
    QCOMPARE(vt.add(vt.state, &ma, &mb, 2.0f), 0);
    const es_mat last{ba, 142, 7, 1, 143};
    QCOMPARE(vt.scale(vt.state, &last, -1.0f), 0);
    QCOMPARE(vt.synchronize(vt.state), 0);
    std::vector<float> got(n);
    QCOMPARE(vt.download(vt.state, ba, 0, got.data(), n * 4), 0);
    for (uint32_t i = 0; i < n; ++i) {
      const float want = (a[i] + 2.0f * b[i]) * (i % 143 == 142 ? -1.0f : 1.0f);
      QCOMPARE(got[i], want);
    }
    // Bad requests fail with a status and a message, never a crash.
    const es_mat past{ba, 1000, 1, 2, 2};
    QCOMPARE(vt.scale(vt.state, &past, 1.0f), int{ES_BACKEND_ERR_INVALID});
    QVERIFY(contains(vt.last_error(vt.state), "runs past"));
    const es_mat other{bb, 0, 7, 142, 143};
    QCOMPARE(vt.add(vt.state, &ma, &other, 1.0f), int{ES_BACKEND_ERR_INVALID});
    QVERIFY(contains(vt.last_error(vt.state), "shapes differ"));
    QCOMPARE(vt.upload(vt.state, ba, n * 4, a.data(), 4), int{ES_BACKEND_ERR_INVALID});
    QVERIFY(vt.bind_weight(vt.state, 4, nullptr, 0, a.data()) == nullptr);
    QVERIFY(contains(vt.last_error(vt.state), "unknown ggml type 4"));
    vt.free(vt.state, ba);
    vt.free(vt.state, bb);
  }

  void the_forward_pass_runs_through_a_plugin_data() {
    QTest::addColumn<QString>("fixture");
    QTest::addColumn<bool>("kv_f16");
    // Every catalog model; the OLMoE-like ones and DeepSeek's MLA in both cache formats.
    for (const auto& [n, spec] : es::test::tiny_model_catalog()) {
      const QString name = QString::fromStdString(n);
      QTest::newRow(qPrintable(name + "/f32")) << name << false;
      if (n == "olmoe" || n == "qwen3moe" || n == "deepseek2") {
        QTest::newRow(qPrintable(name + "/f16")) << name << true;
      }
    }
  }

  void the_forward_pass_runs_through_a_plugin() {
    QFETCH(QString, fixture);
    QFETCH(bool, kv_f16);
    QTemporaryDir dir;
    const auto model = load_fixture(fixture.toStdString(), dir);
    QVERIFY(model);
    const PluginPath path;
    const auto plugin = es::backend::make_plugin_backend("reference", 2);
    QCOMPARE(plugin->name(), std::string_view("reference"));
    const auto cpu = es::backend::make_cpu_backend(2);

    const uint32_t n_ctx = 64, n_batch = 8;
    const auto& moe = model->moe_layers();
    const int32_t full_layer = moe.empty() ? -1 : static_cast<int32_t>(moe.back());
    es::model::Forward on_cpu(*model, *cpu, n_ctx, n_batch, kv_f16, full_layer);
    es::model::Forward on_plugin(*model, *plugin, n_ctx, n_batch, kv_f16, full_layer);

    std::mt19937 rng(7);
    const uint32_t n_vocab = model->hparams().n_vocab;
    std::vector<int32_t> tokens(13);
    for (auto& t : tokens) t = static_cast<int32_t>(rng() % n_vocab);
    // A prompt of 6 tokens (every row's logits), then 7 decode steps through the cache.
    std::vector<std::pair<uint32_t, uint32_t>> steps{{0, 6}};
    for (uint32_t p = 6; p < tokens.size(); ++p) steps.emplace_back(p, 1);
    size_t n_routed = 0;
    for (const auto& [first, n] : steps) {
      const std::span<const int32_t> tok(tokens.data() + first, n);
      std::vector<int32_t> pos(n);
      for (uint32_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(first + i);
      const bool all_logits = n > 1;
      std::vector<float> logits_cpu, logits_plugin;
      es::RoutingBatch routing_cpu, routing_plugin;
      on_cpu.run(tok, pos, all_logits, logits_cpu, routing_cpu);
      on_plugin.run(tok, pos, all_logits, logits_plugin, routing_plugin);
      QCOMPARE(logits_cpu.size(), size_t{all_logits ? n : 1u} * n_vocab);
      // Bit-identical: the same kernels run behind the ABI.
      QVERIFY2(same_bits(logits_plugin, logits_cpu),
               qPrintable(QString("logits differ at position %1").arg(first)));
      QCOMPARE(routing_plugin.n_tokens, n);
      QCOMPARE(routing_plugin.moe_layers, routing_cpu.moe_layers);
      QCOMPARE(routing_plugin.experts, routing_cpu.experts);
      QVERIFY(same_bits(routing_plugin.weights, routing_cpu.weights));
      QVERIFY(same_bits(routing_plugin.entropy, routing_cpu.entropy));
      QVERIFY(same_bits(routing_plugin.full_probs, routing_cpu.full_probs));
      n_routed += routing_plugin.experts.size();
    }
    // The routing was real: every MoE layer chose top_k experts for every token.
    QCOMPARE(n_routed, tokens.size() * moe.size() * model->hparams().n_expert_used);
  }

  void an_unknown_plugin_name_is_a_usage_error() {
    const PluginPath path;
    const auto [message, kind] =
        error_of([] { (void)es::backend::make_plugin_backend("no-such-backend", 1); });
    qInfo("%s", message.c_str());
    QCOMPARE(kind, es::ErrorKind::usage);
    QVERIFY(contains(message, "\"no-such-backend\""));
    QVERIFY(contains(message, "plugins accepted: reference"));
    QVERIFY(contains(message, "expertscope_test_wrong_version"));
    QVERIFY(contains(message, "built for backend API 99"));
    QVERIFY(contains(message, "score 0"));
  }

  void a_failing_plugin_op_is_an_error_naming_the_plugin() {
    QTemporaryDir dir;
    const auto model = load_fixture("qwen3moe", dir);
    QVERIFY(model);
    const PluginPath path;
    auto be = es::backend::make_plugin_backend("reference", 1);
    const es::gguf::TensorInfo* t = model->file().find_tensor("token_embd.weight");
    QVERIFY(t != nullptr);
    const es::backend::Weight table = be->bind(model->file(), *t);
    QVERIFY(table.valid());
    const uint32_t cols = static_cast<uint32_t>(t->ne[0]);
    auto buf = be->alloc(4 * cols * sizeof(float));
    const es::backend::Mat rows{buf.get(), 0, 2, cols, cols};

    // A row id outside the table: the plugin refuses, and its message comes through.
    const std::vector<int32_t> ids{1, static_cast<int32_t>(t->ne[1]) + 5};
    auto [message, kind] = error_of([&] { be->get_rows(rows, table, ids); });
    qInfo("%s", message.c_str());
    QCOMPARE(kind, es::ErrorKind::bad_input);
    QVERIFY(contains(message, "backend plugin \"reference\""));
    QVERIFY(contains(message, "get_rows failed"));
    QVERIFY(contains(message, "is outside the table"));

    // A view past the end of its buffer.
    const es::backend::Mat past{buf.get(), 3 * size_t{cols}, 2, cols, cols};
    std::tie(message, kind) = error_of([&] { be->scale(past, 2.0f); });
    QVERIFY(contains(message, "backend plugin \"reference\""));
    QVERIFY(contains(message, "scale failed"));
    QVERIFY(contains(message, "runs past"));

    // A matrix product whose shapes do not fit the weight.
    std::tie(message, kind) = error_of([&] { be->mul_mat(rows, table, rows, 0); });
    QVERIFY(contains(message, "mul_mat failed"));
    QCOMPARE(kind, es::ErrorKind::bad_input);

    // The good call works, and the rows read back through download and host().
    const std::vector<int32_t> good{3, 1};
    be->get_rows(rows, table, good);
    be->synchronize();
    auto* plugin = dynamic_cast<es::backend::PluginBackend*>(be.get());
    QVERIFY(plugin != nullptr);
    std::vector<float> back(cols);
    plugin->download(*buf, cols * sizeof(float), back.data(), cols * sizeof(float));
    const auto* want = reinterpret_cast<const float*>(model->file().tensor_data(*t).data());
    for (uint32_t c = 0; c < cols; ++c) QCOMPARE(back[c], want[cols + c]);
    QCOMPARE(buf->host()[0], want[3 * size_t{cols}]);
    plugin->upload(*buf, 0, want, sizeof(float));
    std::tie(message, kind) = error_of([&] { plugin->upload(*buf, buf->n_bytes(), want, 4); });
    QVERIFY(contains(message, "upload failed"));

    // A buffer may outlive its backend: the plugin stays loaded until the buffer goes.
    be.reset();
    QCOMPARE(buf->host()[0], want[0]);
    buf.reset();
  }
};

QTEST_GUILESS_MAIN(TestPlugins)
#include "test_plugins.moc"
