// The router's parity: the device's fused router against the CPU's for every gating
// (softmax, sigmoid, softmax over the selected), selection bias, group-limited top-k,
// normalisation and scaling, 8 to 256 experts, top-k 1 to 8, 1 and 512 tokens, and the
// full distribution. Experts must be the same; weights, entropy and distribution within
// rounding (the device computes in float, the CPU's entropy in double).
#include <QTest>

#include "backend/vulkan/vk_context.h"
#include "backend_ops_util.h"
#include "expertscope/routing.h"

using namespace es;
using namespace es::test;

Q_DECLARE_METATYPE(es::Gating)

class TestBackendRouter : public QObject {
  Q_OBJECT

  std::unique_ptr<backend::Backend> cpu_;
  std::unique_ptr<backend::Backend> dev_;

 private slots:
  void initTestCase() {
    cpu_ = backend::make_cpu_backend(2);
    std::string why;
    dev_ = device_backend(&why);
    if (!dev_) qWarning("no Vulkan device: %s", why.c_str());
  }

  void cleanupTestCase() {
    dev_.reset();
    QCOMPARE(backend::vulkan::validation_messages(), uint64_t{0});
  }

  void route_data() {
    QTest::addColumn<Gating>("gating");
    QTest::addColumn<int>("experts");
    QTest::addColumn<int>("top_k");
    QTest::addColumn<int>("groups");
    QTest::addColumn<bool>("bias");
    QTest::addColumn<int>("tokens");
    struct Row {
      const char* name;
      Gating g;
      int e, k, groups;
      bool bias;
    };
    const Row rows[] = {
        {"softmax 8/1", Gating::softmax, 8, 1, 0, false},
        {"softmax 8/2 (mixtral-like)", Gating::softmax, 8, 2, 0, false},
        {"softmax 64/8 (olmoe)", Gating::softmax, 64, 8, 0, false},
        {"softmax 128/8 (qwen3moe)", Gating::softmax, 128, 8, 0, false},
        {"sigmoid 256/8 groups 8/4 bias (deepseek-v3)", Gating::sigmoid, 256, 8, 8, true},
        {"sigmoid 64/6 bias", Gating::sigmoid, 64, 6, 0, true},
        {"softmax-selected 32/4 (gpt-oss)", Gating::softmax_selected, 32, 4, 0, false},
        {"softmax-selected 8/2 (mixtral)", Gating::softmax_selected, 8, 2, 0, false},
    };
    for (const Row& r : rows) {
      for (const int t : {1, 512}) {
        QTest::addRow("%s t=%d", r.name, t) << r.g << r.e << r.k << r.groups << r.bias << t;
      }
    }
  }

  void route() {
    if (!dev_) QSKIP("no Vulkan device");
    QFETCH(Gating, gating);
    QFETCH(int, experts);
    QFETCH(int, top_k);
    QFETCH(int, groups);
    QFETCH(bool, bias);
    QFETCH(int, tokens);
    const auto E = static_cast<uint32_t>(experts), K = static_cast<uint32_t>(top_k),
               T = static_cast<uint32_t>(tokens);
    backend::RouterParams p;
    p.gating = gating;
    p.n_expert = E;
    p.top_k = K;
    p.n_groups = static_cast<uint32_t>(groups);
    p.n_group_used = groups > 0 ? static_cast<uint32_t>(groups) / 2 : 0;
    p.norm_weights = gating == Gating::sigmoid;
    p.weights_scale = gating == Gating::sigmoid ? 2.5f : 0.0f;
    const auto logits = randn(size_t{T} * E, 51, 2.0f);
    const auto sel_bias = randn(E, 52, 0.05f);
    struct Out {
      std::vector<uint16_t> ids;
      std::vector<float> w, h, full;
    } out[2];
    backend::Backend* bes[2] = {cpu_.get(), dev_.get()};
    for (int i = 0; i < 2; ++i) {
      Out& o = out[i];
      o.ids.assign(size_t{T} * K, 0);
      o.w.assign(size_t{T} * K, 0);
      o.h.assign(T, 0);
      o.full.assign(size_t{T} * E, 0);
      DevMat L = upload(*bes[i], T, E, logits);
      const backend::RouterOut ro{o.ids.data(), o.w.data(), o.h.data(), o.full.data(), K, 1};
      bes[i]->route(L.m, bias ? sel_bias.data() : nullptr, p, ro);
      bes[i]->synchronize();
    }
    QVERIFY(out[1].ids == out[0].ids);
    const double ew = nmse(out[1].w, out[0].w), eh = nmse(out[1].h, out[0].h),
                 ef = nmse(out[1].full, out[0].full);
    qInfo("NMSE weights %.3g entropy %.3g distribution %.3g", ew, eh, ef);
    QVERIFY(ew <= 1e-12);
    QVERIFY(eh <= 1e-12);
    QVERIFY(ef <= 1e-12);
  }
};

QTEST_GUILESS_MAIN(TestBackendRouter)
#include "test_backend_router.moc"
