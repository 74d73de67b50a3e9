// engine/quant's multi-token matmul: for every weight type, on every Highway target this
// build has and this CPU runs, each output equals the double-precision reference dot
// product (dot_ref) within the tolerance of the dot / matvec tests, for token counts that
// leave every kind of tile remainder, odd row ranges, and unaligned row strides; nothing
// outside the requested rows is written; bad arguments are errors.
#include <QtTest>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "expertscope/error.h"
#include "expertscope/quant.h"
#include "quant_test_types.h"

using es::TensorType;
namespace quant = es::quant;

namespace {

using es::test::kWeightTypes;
using es::test::type_name;

/// n Gaussian values, each 32-value stretch with its own scale (1e-3 .. 30) and offset.
std::vector<float> random_row(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> log_scale(-3.f, 1.5f);
  std::vector<float> x(static_cast<size_t>(n));
  float scale = 1.f, offset = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    if (i % 32 == 0) {
      scale = std::pow(10.f, log_scale(rng));
      offset = 0.3f * scale * normal(rng);
    }
    x[static_cast<size_t>(i)] = offset + scale * normal(rng);
  }
  return x;
}

/// `rows` rows of `type` (quantized with `encode`) placed `stride` bytes apart, starting
/// `offset` bytes into an allocation that ends exactly at the last row's end.
struct Matrix {
  std::vector<uint8_t> storage;
  size_t offset = 0, stride = 0;
  const uint8_t* row(int64_t r) const { return storage.data() + offset + r * stride; }
};

template <typename Encode>
Matrix make_matrix(int64_t rows, int64_t n, size_t row_bytes, size_t pad, size_t offset,
                   uint32_t seed, Encode&& encode) {
  Matrix m;
  m.offset = offset;
  m.stride = row_bytes + pad;
  m.storage.assign(offset + (rows - 1) * m.stride + row_bytes, 0xA5);
  for (int64_t r = 0; r < rows; ++r) {
    encode(random_row(n, seed + static_cast<uint32_t>(r)).data(),
           m.storage.data() + offset + r * m.stride);
  }
  return m;
}

template <typename F>
void for_each_target(F&& f) {
  const auto targets = quant::simd_targets();
  QVERIFY(!targets.empty());
  for (const auto& t : targets) {
    quant::force_simd_target(t.id);
    f(t);
    if (QTest::currentTestFailed()) {
      qWarning("failed on SIMD target %s", std::string(t.name).c_str());
      break;
    }
  }
  quant::force_simd_target(0);
}

}  // namespace

class TestQuantGemm : public QObject {
  Q_OBJECT

 private slots:
  void matmulMatchesReference_data() {
    QTest::addColumn<TensorType>("type");
    QTest::addColumn<int>("tokens");
    for (const TensorType t : kWeightTypes) {
      for (const int nt : {1, 3, 5, 17, 70}) {
        QTest::newRow(qPrintable(QString("%1 t%2").arg(type_name(t).constData()).arg(nt)))
            << t << nt;
      }
    }
  }

  void matmulMatchesReference() {
    QFETCH(TensorType, type);
    QFETCH(int, tokens);
    const int64_t block = es::tensor_type_traits(type).block_elems;
    // Float types: a length that leaves vector tails. Others: 3 blocks (super-blocks).
    const int64_t n = block == 1 ? 203 : 3 * block;
    const int64_t rows = 12, r0 = 1, r1 = 11;  // 10 rows: full tiles and remainders.
    const TensorType act = quant::activation_type(type);
    const Matrix w = make_matrix(
        rows, n, quant::row_bytes(type, n), 3, 1, 100,
        [&](const float* v, uint8_t* out) { quant::quantize_row_ref(type, v, out, n); });
    const Matrix x = make_matrix(
        tokens, n, quant::row_bytes(act, n), 5, 3, 7,
        [&](const float* v, uint8_t* out) { quant::quantize_activation(act, v, out, n); });
    // Reference and |w||x| magnitude per (token, row).
    std::vector<double> expected(tokens * rows), magnitude(tokens * rows);
    std::vector<float> wd(n), xd(n);
    for (int t = 0; t < tokens; ++t) {
      quant::dequantize_row_ref(act, x.row(t), xd.data(), n);
      for (int64_t r = r0; r < r1; ++r) {
        quant::dequantize_row_ref(type, w.row(r), wd.data(), n);
        expected[t * rows + r] = quant::dot_ref(type, w.row(r), x.row(t), n);
        for (int64_t i = 0; i < n; ++i) magnitude[t * rows + r] += std::fabs(double(wd[i]) * xd[i]);
      }
    }
    const size_t y_stride = rows + 3;
    for_each_target([&](const quant::SimdTarget& target) {
      std::vector<float> y(tokens * y_stride, -777.f);
      quant::matmul(type, w.row(0), w.stride, x.row(0), x.stride, n, tokens, y.data(), y_stride, r0,
                    r1);
      for (int t = 0; t < tokens; ++t) {
        for (int64_t r = 0; r < static_cast<int64_t>(y_stride); ++r) {
          const float got = y[t * y_stride + r];
          if (r < r0 || r >= r1) {
            QCOMPARE(got, -777.f);  // Only [r0, r1) is written.
            continue;
          }
          const double want = expected[t * rows + r];
          const double tol = 1e-5 * magnitude[t * rows + r] + 1e-30;
          QVERIFY2(std::fabs(got - want) <= tol,
                   qPrintable(QString("%1 token %2 row %3: matmul %4, reference %5, |w.x| %6")
                                  .arg(target.name.data())
                                  .arg(t)
                                  .arg(r)
                                  .arg(got, 0, 'g', 9)
                                  .arg(want, 0, 'g', 9)
                                  .arg(magnitude[t * rows + r])));
        }
      }
    });
  }

  void emptyRangesWriteNothing() {
    float y = -1.f;
    const std::vector<uint8_t> buf(64, 0);
    quant::matmul(TensorType::Q4_0, buf.data(), 18, buf.data(), 34, 32, 0, &y, 1, 0, 1);
    quant::matmul(TensorType::Q4_0, buf.data(), 18, buf.data(), 34, 32, 1, &y, 1, 0, 0);
    QCOMPARE(y, -1.f);
  }

  void badArgumentsThrow() {
    float y[4] = {};
    const std::vector<uint8_t> buf(1024, 0);
    QVERIFY_THROWS_EXCEPTION(es::Error, quant::matmul(TensorType::Q4_0, buf.data(), 18, buf.data(),
                                                      34, 32, -1, y, 1, 0, 1));
    QVERIFY_THROWS_EXCEPTION(es::Error, quant::matmul(TensorType::Q4_0, buf.data(), 18, buf.data(),
                                                      34, 32, 1, y, 1, 2, 1));
    QVERIFY_THROWS_EXCEPTION(es::Error, quant::matmul(TensorType::Q4_0, buf.data(), 18, buf.data(),
                                                      34, 33, 1, y, 1, 0, 1));
    QVERIFY_THROWS_EXCEPTION(es::Error, quant::matmul(TensorType::Q8_K, buf.data(), 292, buf.data(),
                                                      292, 256, 1, y, 1, 0, 1));
  }
};

QTEST_GUILESS_MAIN(TestQuantGemm)
#include "test_quant_gemm.moc"
