// The backend parity suite (after llama.cpp's test-backend-ops): every op of the device
// backend against a reference — the CPU backend for element-wise ops and reductions, and a
// double-precision product of the reference dequantizer's weights for the matrix products
// (the CPU backend quantizes activations to 8 bits, the device does not, so neither is
// the other's reference there). Shapes include odd sizes, 1 and 512 tokens, 8 to 256
// experts, top-k 1 to 8 with experts that receive no token. Runs on whatever Vulkan device
// there is (Mesa's lavapipe in CI); skips, saying why, where there is none.
#include <QTest>
#include <algorithm>
#include <numeric>

#include "backend/vulkan/vk_context.h"
#include "backend_ops_util.h"
#include "expertscope/devices.h"
#include "quant_test_types.h"

using namespace es;
using namespace es::test;
using backend::Mat;

namespace {

/// The matrix-product shader variants: one output row per invocation, or the columns split
/// across the lanes of a subgroup (vk_matmul.cpp; plain both where subgroups are not 8 wide).
constexpr const char* kVariants[] = {"plain", "lanes"};

/// Selects a variant for the lifetime of the object.
struct MatmulVariant {
  explicit MatmulVariant(const QString& v) { qputenv("EXPERTSCOPE_VULKAN_MATMUL", v.toLatin1()); }
  ~MatmulVariant() { qunsetenv("EXPERTSCOPE_VULKAN_MATMUL"); }
  MatmulVariant(const MatmulVariant&) = delete;
  MatmulVariant& operator=(const MatmulVariant&) = delete;
};

}  // namespace

class TestBackendOps : public QObject {
  Q_OBJECT

  std::unique_ptr<backend::Backend> cpu_;
  // Null without a Vulkan driver: each device test skips itself with QSKIP, written in
  // the test (QSKIP returns from the function it is in, so a helper would skip only
  // itself and the test would go on to use the null backend).
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
    // With EXPERTSCOPE_VULKAN_VALIDATION=1 (the _validation CTest), Khronos' validation
    // layer watched every call: it must have had nothing to say.
    QCOMPARE(backend::vulkan::validation_messages(), uint64_t{0});
  }

  void devices_are_listed() {
    std::string error;
    const auto devices = list_compute_devices(&error);
    QVERIFY(!devices.empty());
    QCOMPARE(devices[0].backend, std::string("cpu"));
    if (!dev_) QSKIP("no Vulkan device");
    QVERIFY2(devices.size() >= 2, error.c_str());
    QCOMPARE(devices[1].backend, std::string("vulkan"));
    QVERIFY(devices[1].max_storage_buffer > 0);
  }

  void every_weight_type_has_shaders() {
    if (!dev_) QSKIP("no Vulkan device");
    for (const TensorType t : kWeightTypes) {
      QVERIFY2(dev_->supports(backend::Op::mul_mat, t), tensor_type_name(t).data());
      QVERIFY(dev_->supports(backend::Op::mul_mat_id, t));
      QVERIFY(dev_->supports(backend::Op::get_rows, t));
    }
  }

  void elementwise_data() {
    QTest::addColumn<QString>("op");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    for (const char* op : {"add", "copy", "scale", "swiglu", "glu_oai", "sigmoid_gate", "rms_norm",
                           "rms_norm_group", "rms_norm_plain", "add_bias", "moe_sum"}) {
      for (const auto& [r, c] :
           std::vector<std::pair<int, int>>{{1, 1}, {1, 2048}, {7, 33}, {512, 64}}) {
        QTest::addRow("%s %dx%d", op, r, c) << QString::fromLatin1(op) << r << c;
      }
    }
  }

  void elementwise() {
    if (!dev_) QSKIP("no Vulkan device");
    QFETCH(QString, op);
    QFETCH(int, rows);
    QFETCH(int, cols);
    const auto R = static_cast<uint32_t>(rows), C = static_cast<uint32_t>(cols);
    const auto a = randn(size_t{R} * C, 1, 3.0f), b = randn(size_t{R} * C, 2, 3.0f),
               d = randn(size_t{R} * C, 3, 3.0f);
    const auto k = static_cast<uint32_t>(op == "moe_sum" ? 3 : 1);
    const auto xs = randn(size_t{R} * k * C, 4);
    const auto wts = randn(size_t{R} * k, 5);
    const auto bias_values = randn(size_t{C} * 2, 6);
    const TestWeight bias(TensorType::F32, {C, 2}, bias_values);
    const TestWeight norm(TensorType::F32, {C}, randn(C, 7));
    const uint32_t group =
        (op == "rms_norm_group" && C % 11 == 0) ? 11 : (C > 1 && C % 2 == 0 ? C / 2 : C);
    std::vector<float> results[2];
    backend::Backend* bes[2] = {cpu_.get(), dev_.get()};
    for (int i = 0; i < 2; ++i) {
      backend::Backend& be = *bes[i];
      DevMat A = upload(be, R, C, a), B = upload(be, R, C, b), D = upload(be, R, C, d);
      DevMat X = upload(be, R * k, C, xs);
      const backend::Weight bw = bias.bind(be), nw = norm.bind(be);
      if (op == "add") be.add(A.m, B.m, 0.75f);
      if (op == "copy") be.copy(A.m, B.m);
      if (op == "scale") be.scale(A.m, -1.25f);
      if (op == "swiglu") be.swiglu(A.m, B.m, D.m, backend::GluKind::silu);
      if (op == "glu_oai") be.swiglu(A.m, B.m, D.m, backend::GluKind::oai_clamped);
      if (op == "sigmoid_gate") be.sigmoid_gate(A.m, B.m.cols_view(0, 1));
      if (op == "rms_norm") be.rms_norm(A.m, B.m, &nw, 1e-6f, 0);
      if (op == "rms_norm_group") {
        const TestWeight gw(TensorType::F32, {group}, randn(group, 8));
        const backend::Weight g = gw.bind(be);
        be.rms_norm(B.m, B.m, &g, 1e-5f, group);  // in place, per group (per head)
        be.copy(A.m, B.m);
        be.synchronize();
      }
      if (op == "rms_norm_plain") be.rms_norm(A.m, B.m, nullptr, 1e-6f, 0);
      if (op == "add_bias") be.add_bias(A.m, bw, 1);
      if (op == "moe_sum") be.moe_sum(A.m, X.m, wts, k);
      results[i] = download(be, A.m);
      // Nothing outside the view was written.
      const float* h = A.buf->host();
      QCOMPARE(h[A.m.offset - 1], -1234.5f);
      if (C > 0) QCOMPARE(h[A.m.offset + C], -1234.5f);
    }
    const double e = nmse(results[1], results[0]);
    const bool exact = op == "add" || op == "copy" || op == "scale" || op == "add_bias";
    QVERIFY2(exact ? e == 0.0 : e <= 1e-12, qPrintable(QString("NMSE %1").arg(e)));
  }

  void mul_mat_data() {
    QTest::addColumn<TensorType>("type");
    QTest::addColumn<int>("n_in");
    QTest::addColumn<int>("n_out");
    QTest::addColumn<int>("tokens");
    QTest::addColumn<QString>("variant");
    for (const TensorType t : kWeightTypes) {
      const bool k_quant = tensor_type_traits(t).block_elems == 256;
      for (const auto& [in, out] :
           std::vector<std::pair<int, int>>{{256, 1}, {256, 33}, {512, 300}}) {
        for (const int tokens : {1, 7, 512}) {
          if (tokens == 512 && out > 33) continue;  // keeps the suite short on lavapipe
          (void)k_quant;
          for (const char* variant : kVariants) {
            QTest::addRow("%s %dx%d t=%d %s", type_name(t).constData(), in, out, tokens, variant)
                << t << in << out << tokens << QString::fromLatin1(variant);
          }
        }
      }
    }
  }

  void mul_mat() {
    if (!dev_) QSKIP("no Vulkan device");
    QFETCH(TensorType, type);
    QFETCH(int, n_in);
    QFETCH(int, n_out);
    QFETCH(int, tokens);
    QFETCH(QString, variant);
    if (!dev_->supports(backend::Op::mul_mat, type)) QSKIP("no shader for this type yet");
    const MatmulVariant use(variant);
    const auto I = static_cast<uint32_t>(n_in), O = static_cast<uint32_t>(n_out),
               T = static_cast<uint32_t>(tokens);
    // Two matrices: the product takes the second.
    const TestWeight w(type, {I, O, 2}, randn(size_t{I} * O * 2, 11));
    const auto x = randn(size_t{T} * I, 12);
    std::vector<double> want(size_t{T} * O);
    for (uint32_t t = 0; t < T; ++t) {
      for (uint32_t o = 0; o < O; ++o) {
        double s = 0;
        const float* row = w.decoded.data() + (size_t{O} + o) * I;
        for (uint32_t i = 0; i < I; ++i) s += double{row[i]} * x[size_t{t} * I + i];
        want[size_t{t} * O + o] = s;
      }
    }
    const backend::Weight bw = w.bind(*dev_);
    DevMat X = upload(*dev_, T, I, x), Y = upload(*dev_, T, O, std::vector<float>(size_t{T} * O));
    dev_->mul_mat(Y.m, bw, X.m, 1);
    const auto got = download(*dev_, Y.m);
    const double e = nmse(got, want);
    QVERIFY2(e <= 1e-10, qPrintable(QString("NMSE %1").arg(e)));
  }

  void mul_mat_id_data() {
    QTest::addColumn<TensorType>("type");
    QTest::addColumn<int>("experts");
    QTest::addColumn<int>("top_k");
    QTest::addColumn<int>("tokens");
    QTest::addColumn<bool>("bias");
    QTest::addColumn<QString>("variant");
    for (const TensorType t : kWeightTypes) {
      for (const auto& [e, k] :
           std::vector<std::pair<int, int>>{{8, 1}, {8, 2}, {64, 8}, {256, 8}}) {
        for (const int tokens : {1, 5, 512}) {
          if (tokens == 512 && e != 64) continue;
          for (const char* variant : kVariants) {
            QTest::addRow("%s e=%d k=%d t=%d %s", type_name(t).constData(), e, k, tokens, variant)
                << t << e << k << tokens << (e == 8 && k == 2) << QString::fromLatin1(variant);
          }
        }
      }
    }
  }

  void mul_mat_id() {
    if (!dev_) QSKIP("no Vulkan device");
    QFETCH(TensorType, type);
    QFETCH(int, experts);
    QFETCH(int, top_k);
    QFETCH(int, tokens);
    QFETCH(bool, bias);
    QFETCH(QString, variant);
    if (!dev_->supports(backend::Op::mul_mat_id, type)) QSKIP("no shader for this type yet");
    const MatmulVariant use(variant);
    const uint32_t I = 256, O = 24, E = static_cast<uint32_t>(experts),
                   K = static_cast<uint32_t>(top_k), T = static_cast<uint32_t>(tokens);
    const TestWeight w(type, {I, O, E}, randn(size_t{I} * O * E, 21));
    const TestWeight b(TensorType::F32, {O, E}, randn(size_t{O} * E, 22));
    // Ids: distinct per token, drawn from the first half of the experts so that the
    // other half receives no token.
    std::mt19937 rng(23);
    std::vector<uint16_t> ids(size_t{T} * K);
    for (uint32_t t = 0; t < T; ++t) {
      std::vector<uint16_t> pool(std::max(K, E / 2));
      std::iota(pool.begin(), pool.end(), uint16_t{0});
      std::shuffle(pool.begin(), pool.end(), rng);
      std::copy_n(pool.begin(), K, ids.begin() + size_t{t} * K);
    }
    for (const bool broadcast : {true, false}) {
      const uint32_t in_rows = broadcast ? T : T * K;
      const auto x = randn(size_t{in_rows} * I, 24);
      std::vector<double> want(size_t{T} * K * O);
      for (uint32_t s = 0; s < T * K; ++s) {
        const uint32_t row = broadcast ? s / K : s;
        for (uint32_t o = 0; o < O; ++o) {
          double acc = 0;
          const float* wr = w.decoded.data() + (size_t{ids[s]} * O + o) * I;
          for (uint32_t i = 0; i < I; ++i) acc += double{wr[i]} * x[size_t{row} * I + i];
          if (bias) acc += b.decoded[size_t{ids[s]} * O + o];
          want[size_t{s} * O + o] = acc;
        }
      }
      if (broadcast && K == 1) continue;  // in.rows == tokens is not a broadcast then
      const backend::Weight bw = w.bind(*dev_), bb = b.bind(*dev_);
      DevMat X = upload(*dev_, in_rows, I, x);
      DevMat Y = upload(*dev_, T * K, O, std::vector<float>(size_t{T} * K * O));
      dev_->mul_mat_id(Y.m, bw, X.m, ids, K, bias ? &bb : nullptr);
      const auto got = download(*dev_, Y.m);
      const double e = nmse(got, want);
      QVERIFY2(e <= 1e-10, qPrintable(QString("broadcast %1 NMSE %2").arg(broadcast).arg(e)));
    }
  }

  void get_rows_data() {
    QTest::addColumn<TensorType>("type");
    for (const TensorType t : kWeightTypes) QTest::newRow(type_name(t).constData()) << t;
  }

  void get_rows() {
    if (!dev_) QSKIP("no Vulkan device");
    QFETCH(TensorType, type);
    if (!dev_->supports(backend::Op::get_rows, type)) QSKIP("no shader for this type yet");
    const uint32_t C = 512, V = 37;
    const TestWeight w(type, {C, V}, randn(size_t{C} * V, 31));
    const std::vector<int32_t> ids = {0, 36, 5, 5, 17};
    const backend::Weight bw = w.bind(*dev_);
    DevMat O = upload(*dev_, 5, C, std::vector<float>(size_t{5} * C));
    dev_->get_rows(O.m, bw, ids);
    const auto got = download(*dev_, O.m);
    for (size_t t = 0; t < ids.size(); ++t) {
      for (uint32_t c = 0; c < C; ++c) {
        QCOMPARE(got[t * C + c], w.decoded[static_cast<size_t>(ids[t]) * C + c]);
      }
    }
  }

  void a_matrix_beyond_one_binding_is_split() {
    if (!dev_) QSKIP("no Vulkan device");
    // F32 weights of 34000 x 1024 floats = 139 MB > lavapipe's 128 MiB binding: the product
    // is split by output rows.
    const uint32_t I = 1024, O = 34000;
    std::vector<float> values(size_t{I} * O);
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = static_cast<float>((i * 7919) % 17) - 8.0f;
    const TestWeight w(TensorType::F32, {I, O}, values);
    const auto x = randn(I, 41);
    const backend::Weight bw = w.bind(*dev_);
    DevMat X = upload(*dev_, 1, I, x), Y = upload(*dev_, 1, O, std::vector<float>(O));
    dev_->mul_mat(Y.m, bw, X.m, 0);
    const auto got = download(*dev_, Y.m);
    std::vector<double> want(O);
    for (uint32_t o = 0; o < O; ++o) {
      double s = 0;
      for (uint32_t i = 0; i < I; ++i) s += double{values[size_t{o} * I + i]} * x[i];
      want[o] = s;
    }
    QVERIFY(nmse(got, want) <= 1e-10);
  }

  void expert_weights_beyond_one_binding_are_split() {
    if (!dev_) QSKIP("no Vulkan device");
    // F16 experts of 1024 x 1024 (2 MiB each), 72 of them = 151 MB > lavapipe's 128 MiB
    // binding: the expert product runs per group of experts, and tokens reach both groups.
    const uint32_t I = 1024, O = 1024, E = 72, K = 3, T = 2;
    std::vector<float> values(size_t{I} * O * E);
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = static_cast<float>((i * 7919) % 17) - 8.0f;
    const TestWeight w(TensorType::F16, {I, O, E}, values);
    const std::vector<uint16_t> ids = {0, 70, 35, 71, 1, 70};
    const auto x = randn(size_t{T} * I, 42);
    const backend::Weight bw = w.bind(*dev_);
    DevMat X = upload(*dev_, T, I, x), Y = upload(*dev_, T * K, O, std::vector<float>(T * K * O));
    dev_->mul_mat_id(Y.m, bw, X.m, ids, K, nullptr);
    const auto got = download(*dev_, Y.m);
    std::vector<double> want(size_t{T} * K * O);
    for (uint32_t s = 0; s < T * K; ++s) {
      for (uint32_t o = 0; o < O; ++o) {
        double acc = 0;
        const float* wr = w.decoded.data() + (size_t{ids[s]} * O + o) * I;
        for (uint32_t i = 0; i < I; ++i) acc += double{wr[i]} * x[size_t{s / K} * I + i];
        want[size_t{s} * O + o] = acc;
      }
    }
    QVERIFY(nmse(got, want) <= 1e-10);
  }
};

QTEST_GUILESS_MAIN(TestBackendOps)
#include "test_backend_ops.moc"
