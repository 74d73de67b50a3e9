// The Vulkan backend's first ops against the CPU, on whatever device Vulkan offers (Mesa's
// lavapipe in CI): element-wise add and mul over odd sizes must match the CPU bit for bit
// (one IEEE operation per element). Skips, saying why, where there is no Vulkan device.
#include <QTest>
#include <cmath>
#include <cstring>
#include <random>

#include "backend/vulkan/vk_context.h"
#include "expertscope/devices.h"
#include "expertscope/error.h"
#include "expertscope/quant.h"

using namespace es;
using es::backend::vulkan::Buffer;
using es::backend::vulkan::Context;

namespace {

/// Normalised mean squared error of `got` against `want`.
double nmse(const std::vector<float>& got, const std::vector<double>& want) {
  double err = 0;
  double norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return norm > 0 ? err / norm : err;
}

}  // namespace

class TestVulkanOps : public QObject {
  Q_OBJECT

  std::unique_ptr<Context> vk_;

 private slots:
  void initTestCase() {
    try {
      vk_ = Context::create();
    } catch (const Error& e) {
      QSKIP(e.what());
    }
    qInfo("device: %s (%s, Vulkan %s, subgroup %u)", vk_->device().name.c_str(),
          vk_->device().type.c_str(), vk_->device().api_version.c_str(),
          vk_->device().subgroup_size);
  }

  void devices_are_listed() {
    std::string error;
    const auto devices = list_compute_devices(&error);
    QVERIFY(!devices.empty());
    QCOMPARE(devices[0].backend, std::string("cpu"));
    QVERIFY2(devices.size() >= 2, error.c_str());
    QCOMPARE(devices[1].backend, std::string("vulkan"));
    QVERIFY(devices[1].max_storage_buffer > 0);
  }

  void binary_ops_match_the_cpu_data() {
    QTest::addColumn<QString>("shader");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("local");
    for (const char* op : {"add_f32", "mul_f32"}) {
      for (const int n : {1, 7, 64, 1000, 65537}) {
        for (const int local : {32, 256}) {
          QTest::addRow("%s n=%d wg=%d", op, n, local) << QString::fromLatin1(op) << n << local;
        }
      }
    }
  }

  void binary_ops_match_the_cpu() {
    QFETCH(QString, shader);
    QFETCH(int, n);
    QFETCH(int, local);
    std::mt19937 rng(static_cast<uint32_t>(n * 31 + local));
    std::normal_distribution<float> dist(0.0f, 3.0f);
    std::vector<float> a(static_cast<size_t>(n));
    std::vector<float> b(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = dist(rng);
      b[i] = dist(rng);
    }
    Buffer ba = vk_->make_buffer(a.size() * 4);
    Buffer bb = vk_->make_buffer(b.size() * 4);
    Buffer bd = vk_->make_buffer(a.size() * 4);
    std::memcpy(ba.bytes().data(), a.data(), a.size() * 4);
    std::memcpy(bb.bytes().data(), b.data(), b.size() * 4);
    const uint32_t count = static_cast<uint32_t>(n);
    Buffer* bindings[] = {&ba, &bb, &bd};
    const auto groups = (count + static_cast<uint32_t>(local) - 1) / static_cast<uint32_t>(local);
    vk_->run(shader.toStdString(), bindings,
             std::span(reinterpret_cast<const uint8_t*>(&count), sizeof count), groups,
             static_cast<uint32_t>(local));
    std::vector<float> d(a.size());
    std::memcpy(d.data(), bd.bytes().data(), d.size() * 4);
    const bool add = shader == QLatin1String("add_f32");
    for (size_t i = 0; i < a.size(); ++i) {
      const float want = add ? a[i] + b[i] : a[i] * b[i];
      if (std::memcmp(&want, &d[i], 4) != 0) {
        QFAIL(qPrintable(QStringLiteral("element %1: %2 != %3").arg(i).arg(d[i]).arg(want)));
      }
    }
  }

  void matvec_matches_the_cpu_data() {
    QTest::addColumn<QString>("type");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    for (const char* type : {"f32", "q8_0"}) {
      for (const auto& [rows, cols] :
           {std::pair{1, 32}, std::pair{7, 64}, std::pair{33, 96}, std::pair{300, 4096}}) {
        QTest::addRow("%s %dx%d", type, rows, cols) << QString::fromLatin1(type) << rows << cols;
      }
    }
  }

  // y = W x with W in a weight type, against the reference dequantizer and a double dot
  // product: only f32 rounding may differ (NMSE bound 1e-9).
  void matvec_matches_the_cpu() {
    QFETCH(QString, type);
    QFETCH(int, rows);
    QFETCH(int, cols);
    const TensorType tt = type == QLatin1String("f32") ? TensorType::F32 : TensorType::Q8_0;
    std::mt19937 rng(static_cast<uint32_t>(rows * 7 + cols));
    std::normal_distribution<float> dist(0.0f, 1.0f);
    const size_t row_bytes = quant::row_bytes(tt, cols);
    std::vector<uint8_t> w((row_bytes * static_cast<size_t>(rows) + 3) / 4 * 4, 0);
    std::vector<float> row(static_cast<size_t>(cols));
    std::vector<float> x(static_cast<size_t>(cols));
    for (float& v : x) v = dist(rng);
    std::vector<double> want(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      for (float& v : row) v = dist(rng);
      uint8_t* dst = w.data() + row_bytes * static_cast<size_t>(r);
      quant::quantize_row_ref(tt, row.data(), dst, cols);
      std::vector<float> decoded(row.size());
      quant::dequantize_row_ref(tt, dst, decoded.data(), cols);
      double sum = 0;
      for (int k = 0; k < cols; ++k)
        sum += double(decoded[static_cast<size_t>(k)]) * x[static_cast<size_t>(k)];
      want[static_cast<size_t>(r)] = sum;
    }
    Buffer bw = vk_->make_buffer(w.size());
    Buffer bx = vk_->make_buffer(x.size() * 4);
    Buffer by = vk_->make_buffer(want.size() * 4);
    std::memcpy(bw.bytes().data(), w.data(), w.size());
    std::memcpy(bx.bytes().data(), x.data(), x.size() * 4);
    const uint32_t push[3] = {static_cast<uint32_t>(rows), static_cast<uint32_t>(cols),
                              static_cast<uint32_t>(row_bytes)};
    Buffer* bindings[] = {&bw, &bx, &by};
    vk_->run(("matvec_" + type).toStdString(), bindings,
             std::span(reinterpret_cast<const uint8_t*>(push), sizeof push),
             (static_cast<uint32_t>(rows) + 63) / 64, 64);
    std::vector<float> got(want.size());
    std::memcpy(got.data(), by.bytes().data(), got.size() * 4);
    const double error = nmse(got, want);
    QVERIFY2(error <= 1e-9, qPrintable(QStringLiteral("NMSE %1").arg(error)));
  }

  void rms_norm_matches_the_cpu_data() {
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    for (const auto& [rows, cols] :
         {std::pair{1, 1}, std::pair{3, 7}, std::pair{16, 2048}, std::pair{5, 7168}}) {
      QTest::addRow("%dx%d", rows, cols) << rows << cols;
    }
  }

  // RMSNorm with a weight vector against a double-precision computation.
  void rms_norm_matches_the_cpu() {
    QFETCH(int, rows);
    QFETCH(int, cols);
    std::mt19937 rng(static_cast<uint32_t>(rows + cols));
    std::normal_distribution<float> dist(0.0f, 2.0f);
    std::vector<float> x(static_cast<size_t>(rows) * static_cast<size_t>(cols));
    std::vector<float> w(static_cast<size_t>(cols));
    for (float& v : x) v = dist(rng);
    for (float& v : w) v = dist(rng);
    const float eps = 1e-6f;
    std::vector<double> want(x.size());
    for (int r = 0; r < rows; ++r) {
      double ss = 0;
      for (int i = 0; i < cols; ++i)
        ss += double(x[size_t(r) * size_t(cols) + size_t(i)]) *
              x[size_t(r) * size_t(cols) + size_t(i)];
      const double scale = 1.0 / std::sqrt(ss / cols + eps);
      for (int i = 0; i < cols; ++i) {
        const size_t at = size_t(r) * size_t(cols) + size_t(i);
        want[at] = x[at] * scale * w[size_t(i)];
      }
    }
    Buffer bx = vk_->make_buffer(x.size() * 4);
    Buffer bw = vk_->make_buffer(w.size() * 4);
    Buffer by = vk_->make_buffer(x.size() * 4);
    std::memcpy(bx.bytes().data(), x.data(), x.size() * 4);
    std::memcpy(bw.bytes().data(), w.data(), w.size() * 4);
    struct {
      uint32_t rows, cols;
      float eps;
    } push{static_cast<uint32_t>(rows), static_cast<uint32_t>(cols), eps};
    Buffer* bindings[] = {&bx, &bw, &by};
    vk_->run("rms_norm_f32", bindings,
             std::span(reinterpret_cast<const uint8_t*>(&push), sizeof push),
             (static_cast<uint32_t>(rows) + 31) / 32, 32);
    std::vector<float> got(x.size());
    std::memcpy(got.data(), by.bytes().data(), got.size() * 4);
    QVERIFY2(nmse(got, want) <= 1e-10, qPrintable(QString::number(nmse(got, want))));
  }

  // SwiGLU against double precision.
  void swiglu_matches_the_cpu() {
    std::mt19937 rng(9);
    std::normal_distribution<float> dist(0.0f, 4.0f);
    const size_t n = 10007;
    std::vector<float> g(n);
    std::vector<float> u(n);
    for (size_t i = 0; i < n; ++i) {
      g[i] = dist(rng);
      u[i] = dist(rng);
    }
    std::vector<double> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = g[i] / (1.0 + std::exp(-double(g[i]))) * u[i];
    Buffer bg = vk_->make_buffer(n * 4);
    Buffer bu = vk_->make_buffer(n * 4);
    Buffer by = vk_->make_buffer(n * 4);
    std::memcpy(bg.bytes().data(), g.data(), n * 4);
    std::memcpy(bu.bytes().data(), u.data(), n * 4);
    const auto count = static_cast<uint32_t>(n);
    Buffer* bindings[] = {&bg, &bu, &by};
    vk_->run("swiglu_f32", bindings,
             std::span(reinterpret_cast<const uint8_t*>(&count), sizeof count), (count + 63) / 64,
             64);
    std::vector<float> got(n);
    std::memcpy(got.data(), by.bytes().data(), n * 4);
    QVERIFY2(nmse(got, want) <= 1e-10, qPrintable(QString::number(nmse(got, want))));
  }

  void get_rows_matches_the_cpu_data() {
    QTest::addColumn<QString>("type");
    QTest::addColumn<int>("cols");
    for (const char* type : {"f32", "q8_0"}) {
      for (const int cols : {32, 96, 2048}) {
        QTest::addRow("%s cols=%d", type, cols) << QString::fromLatin1(type) << cols;
      }
    }
  }

  // The embedding gather decodes exactly what the reference dequantizer decodes.
  void get_rows_matches_the_cpu() {
    QFETCH(QString, type);
    QFETCH(int, cols);
    const TensorType tt = type == QLatin1String("f32") ? TensorType::F32 : TensorType::Q8_0;
    const int rows = 50;
    const size_t row_bytes = quant::row_bytes(tt, cols);
    std::vector<uint8_t> w((row_bytes * rows + 3) / 4 * 4, 0);
    std::mt19937 rng(static_cast<uint32_t>(cols));
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int r = 0; r < rows; ++r) {
      for (float& v : row) v = dist(rng);
      quant::quantize_row_ref(tt, row.data(), w.data() + row_bytes * static_cast<size_t>(r), cols);
    }
    const std::vector<int32_t> ids = {0, 49, 7, 7, 23, 1, 48};
    Buffer bw = vk_->make_buffer(w.size());
    Buffer bi = vk_->make_buffer(ids.size() * 4);
    Buffer bo = vk_->make_buffer(ids.size() * static_cast<size_t>(cols) * 4);
    std::memcpy(bw.bytes().data(), w.data(), w.size());
    std::memcpy(bi.bytes().data(), ids.data(), ids.size() * 4);
    const uint32_t push[4] = {static_cast<uint32_t>(ids.size()), static_cast<uint32_t>(cols),
                              static_cast<uint32_t>(rows), static_cast<uint32_t>(row_bytes)};
    Buffer* bindings[] = {&bw, &bi, &bo};
    const auto total = static_cast<uint32_t>(ids.size()) * static_cast<uint32_t>(cols);
    vk_->run(("get_rows_" + type).toStdString(), bindings,
             std::span(reinterpret_cast<const uint8_t*>(push), sizeof push), (total + 63) / 64, 64);
    std::vector<float> want(static_cast<size_t>(cols));
    for (size_t t = 0; t < ids.size(); ++t) {
      quant::dequantize_row_ref(tt, w.data() + row_bytes * static_cast<size_t>(ids[t]), want.data(),
                                cols);
      for (int c = 0; c < cols; ++c) {
        const float got =
            reinterpret_cast<const float*>(bo.bytes().data())[t * size_t(cols) + size_t(c)];
        // One f16 scale times one int8: both sides compute the same single product, so the
        // bits must agree (QCOMPARE on floats would allow a relative 1e-5).
        QVERIFY2(std::memcmp(&got, &want[static_cast<size_t>(c)], 4) == 0,
                 qPrintable(QStringLiteral("id %1 col %2: %3 != %4")
                                .arg(ids[t])
                                .arg(c)
                                .arg(got)
                                .arg(want[static_cast<size_t>(c)])));
      }
    }
  }

  void unknown_shader_is_an_error() {
    Buffer b = vk_->make_buffer(16);
    Buffer* bindings[] = {&b};
    QVERIFY_THROWS_EXCEPTION(Error, vk_->run("no_such_shader", bindings, {}, 1, 32));
  }
};

QTEST_GUILESS_MAIN(TestVulkanOps)
#include "test_vulkan_ops.moc"
