// engine/quant: every weight format's reference round trip within its error bound,
// hand-built blocks decoded to hand-computed values (so a wrong bit layout cannot hide
// behind a quantizer with the same mistake), and the SIMD dot products, matvec and
// dequantizers equal to the double-precision reference on every Highway target compiled
// into this build, for odd block counts and unaligned rows.
#include <QtTest>
#include <bit>
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

int64_t block_elems(TensorType t) {
  return es::tensor_type_traits(t).block_elems;
}

/// n Gaussian values; with `varied`, each 32-value stretch gets its own scale (1e-3 .. 30)
/// and offset, as real weight rows have.
std::vector<float> random_row(int64_t n, uint32_t seed, bool varied) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> log_scale(-3.f, 1.5f);
  std::vector<float> x(static_cast<size_t>(n));
  float scale = 1.f, offset = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    if (varied && i % 32 == 0) {
      scale = std::pow(10.f, log_scale(rng));
      offset = 0.3f * scale * normal(rng);
    }
    x[static_cast<size_t>(i)] = offset + scale * normal(rng);
  }
  return x;
}

std::vector<uint8_t> quantize(TensorType t, const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(quant::row_bytes(t, n));
  quant::quantize_row_ref(t, x.data(), q.data(), n);
  return q;
}

std::vector<float> dequantize_ref(TensorType t, const uint8_t* q, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  quant::dequantize_row_ref(t, q, y.data(), n);
  return y;
}

/// Bytes copied `offset` bytes into an allocation that ends exactly where they end, so
/// kernels meet unaligned rows and AddressSanitizer catches any read past the row.
struct Unaligned {
  std::vector<uint8_t> storage;
  size_t offset;
  Unaligned(const std::vector<uint8_t>& bytes, size_t off)
      : storage(bytes.size() + off), offset(off) {
    std::memcpy(storage.data() + offset, bytes.data(), bytes.size());
  }
  const uint8_t* data() const { return storage.data() + offset; }
};

/// Runs f once per SIMD target this build has and this CPU runs, forcing each in turn.
template <typename F>
void for_each_target(F&& f) {
  const auto targets = quant::simd_targets();
  QVERIFY(!targets.empty());
  for (const auto& t : targets) {
    quant::force_simd_target(t.id);
    QCOMPARE(quant::current_simd_target().id, t.id);
    f(t);
    if (QTest::currentTestFailed()) {
      qWarning("failed on SIMD target %s", std::string(t.name).c_str());
      break;
    }
  }
  quant::force_simd_target(0);
}

/// Bytes of a hand-built block: little-endian fp16 and raw bytes appended in order.
struct BlockBuilder {
  std::vector<uint8_t> bytes;
  BlockBuilder& half(uint16_t h) {
    bytes.push_back(static_cast<uint8_t>(h & 0xFF));
    bytes.push_back(static_cast<uint8_t>(h >> 8));
    return *this;
  }
  BlockBuilder& raw(std::initializer_list<uint8_t> b) {
    bytes.insert(bytes.end(), b.begin(), b.end());
    return *this;
  }
  BlockBuilder& fill(size_t n, uint8_t v) {
    bytes.insert(bytes.end(), n, v);
    return *this;
  }
  template <typename F>
  BlockBuilder& each(size_t n, F&& f) {
    for (size_t i = 0; i < n; ++i) bytes.push_back(static_cast<uint8_t>(f(i)));
    return *this;
  }
};

constexpr uint16_t kHalfOne = 0x3C00, kHalfHalf = 0x3800, kHalfQuarter = 0x3400;

/// Decodes `block` with both dequantizers (every target for the fast one) and compares
/// with `expected`, value by value.
void check_decodes_to(TensorType t, const std::vector<uint8_t>& block,
                      const std::vector<float>& expected) {
  const auto n = static_cast<int64_t>(expected.size());
  QCOMPARE(block.size(), quant::row_bytes(t, n));
  const auto ref = dequantize_ref(t, block.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    if (ref[i] != expected[i]) {
      QFAIL(qPrintable(
          QString("reference value %1: got %2, expected %3").arg(i).arg(ref[i]).arg(expected[i])));
    }
  }
  for_each_target([&](const quant::SimdTarget&) {
    std::vector<float> fast(static_cast<size_t>(n));
    quant::dequantize_row(t, block.data(), fast.data(), n);
    for (int64_t i = 0; i < n; ++i) QCOMPARE(fast[i], expected[i]);
  });
}

}  // namespace

class TestQuant : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QString names;
    for (const auto& t : quant::simd_targets()) names += QString::fromLatin1(t.name.data()) + " ";
    qInfo("SIMD targets here: %s(dispatching to %s)", qPrintable(names),
          quant::current_simd_target().name.data());
  }

  void targetsIncludePortableAndNative() {
    const auto targets = quant::simd_targets();
    QVERIFY(!targets.empty());
    QCOMPARE(QByteArray(targets.back().name.data()), QByteArray("EMU128"));
    QCOMPARE(quant::current_simd_target().id, targets.front().id);
#if defined(__x86_64__)
    // Every x86-64 CPU this project targets has at least SSE4; name the AVX targets
    // when the CPU has them.
    QVERIFY(targets.size() >= 2);
    QStringList names;
    for (const auto& t : targets) names << QString::fromLatin1(t.name.data());
    QVERIFY(names.contains("SSE4"));
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      QVERIFY(names.contains("AVX2"));
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
      QVERIFY(names.contains("AVX3"));
    }
#endif
    QVERIFY_THROWS_EXCEPTION(es::Error, quant::force_simd_target(1LL << 40));
  }

  void typeQueries() {
    for (const TensorType t : kWeightTypes) {
      QVERIFY(quant::is_supported(t));
      QVERIFY(quant::is_weight_type(t));
    }
    QVERIFY(quant::is_supported(TensorType::Q8_K));
    QVERIFY(!quant::is_weight_type(TensorType::Q8_K));
    QVERIFY(!quant::is_supported(TensorType::IQ2_XXS));
    QCOMPARE(quant::activation_type(TensorType::BF16), TensorType::F32);
    QCOMPARE(quant::activation_type(TensorType::Q5_1), TensorType::Q8_0);
    QCOMPARE(quant::activation_type(TensorType::Q6_K), TensorType::Q8_K);
    QCOMPARE(quant::row_bytes(TensorType::Q4_K, 512), size_t{288});
    QCOMPARE(quant::row_bytes(TensorType::Q8_0, 64), size_t{68});
    QCOMPARE(quant::row_bytes(TensorType::BF16, 3), size_t{6});
  }

  void badCallsAreRefused() {
    float x[256] = {};
    uint8_t buf[1024] = {};
    try {
      (void)quant::dot(TensorType::IQ2_XXS, buf, buf, 256);
      QFAIL("no error for an unsupported type");
    } catch (const es::Error& e) {
      QCOMPARE(e.kind(), es::ErrorKind::unsupported);
      QVERIFY(QString(e.what()).contains("IQ2_XXS"));
    }
    try {
      quant::quantize_row_ref(TensorType::Q4_K, x, buf, 100);
      QFAIL("no error for a partial block");
    } catch (const es::Error& e) {
      QCOMPARE(e.kind(), es::ErrorKind::usage);
      QVERIFY(QString(e.what()).contains("Q4_K"));
    }
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)quant::dot(TensorType::Q8_K, buf, buf, 256));
    QVERIFY_THROWS_EXCEPTION(es::Error, quant::quantize_activation(TensorType::Q4_0, x, buf, 32));
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)quant::row_bytes(TensorType::Q8_0, -32));
  }

  // -------------------------------------------------------------------------------------
  // Round trips on random data.

  void roundTripError_data() {
    QTest::addColumn<TensorType>("type");
    QTest::addColumn<double>("bound");
    // RMSE of quantize -> dequantize relative to the RMS of N(0, 1) data. Bounds are the
    // measured value plus a margin; a uniform step q costs q / sqrt(12), so each extra
    // bit should roughly halve them.
    const std::vector<std::pair<TensorType, double>> rows = {
        {TensorType::F32, 0.0},     {TensorType::F16, 3e-4},    {TensorType::BF16, 2.5e-3},
        {TensorType::Q8_0, 0.0075}, {TensorType::Q5_1, 0.040},  {TensorType::Q5_0, 0.045},
        {TensorType::Q4_1, 0.080},  {TensorType::Q4_0, 0.090},  {TensorType::Q6_K, 0.020},
        {TensorType::Q5_K, 0.040},  {TensorType::Q4_K, 0.080},  {TensorType::Q3_K, 0.18},
        {TensorType::Q2_K, 0.34},   {TensorType::Q8_K, 0.0090},
    };
    for (const auto& [t, bound] : rows) QTest::newRow(type_name(t).constData()) << t << bound;
  }

  void roundTripError() {
    QFETCH(TensorType, type);
    QFETCH(double, bound);
    const int64_t n = 256 * 64;
    const auto x = random_row(n, 1234, false);
    const auto q = quantize(type, x);
    const auto y = dequantize_ref(type, q.data(), n);
    double err2 = 0, sig2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      err2 += (double(y[i]) - x[i]) * (double(y[i]) - x[i]);
      sig2 += double(x[i]) * x[i];
    }
    const double rel = std::sqrt(err2 / sig2);
    qInfo("%s: relative RMSE %.5f (bound %.5f)", type_name(type).constData(), rel, bound);
    QVERIFY2(rel <= bound, qPrintable(QString("relative RMSE %1 > %2").arg(rel).arg(bound)));
  }

  void zerosAndConstantsSurvive_data() {
    QTest::addColumn<TensorType>("type");
    for (const TensorType t : kWeightTypes) QTest::newRow(type_name(t).constData()) << t;
  }

  void zerosAndConstantsSurvive() {
    QFETCH(TensorType, type);
    const int64_t n = 512;
    std::vector<float> x(n, 0.f);
    auto y = dequantize_ref(type, quantize(type, x).data(), n);
    for (const float v : y) QCOMPARE(v, 0.f);
    // A constant row and a row with one outlier stay finite and close where they should.
    for (int64_t i = 0; i < n; ++i) x[i] = 0.75f;
    y = dequantize_ref(type, quantize(type, x).data(), n);
    for (const float v : y)
      QVERIFY2(std::fabs(v - 0.75f) <= 0.75f * 0.35f, qPrintable(QString::number(v)));
    x.assign(n, 0.01f);
    x[100] = 1000.f;
    y = dequantize_ref(type, quantize(type, x).data(), n);
    QVERIFY(std::fabs(y[100] - 1000.f) <= 1000.f * 0.2f);
    for (const float v : y) QVERIFY(std::isfinite(v));
  }

  void halfConversionIsExact() {
    // All 65536 half patterns: half -> float -> half is the identity except NaN payloads.
    std::vector<uint8_t> halves(2 * 65536);
    for (uint32_t h = 0; h < 65536; ++h) {
      halves[2 * h] = static_cast<uint8_t>(h);
      halves[2 * h + 1] = static_cast<uint8_t>(h >> 8);
    }
    const auto f = dequantize_ref(TensorType::F16, halves.data(), 65536);
    const auto back = quantize(TensorType::F16, f);
    for (uint32_t h = 0; h < 65536; ++h) {
      const uint16_t got = static_cast<uint16_t>(back[2 * h] | (back[2 * h + 1] << 8));
      if (std::isnan(f[h])) {
        QVERIFY((got & 0x7C00) == 0x7C00 && (got & 0x3FF) != 0);
      } else if (got != h) {
        QFAIL(qPrintable(QString("half 0x%1 came back as 0x%2").arg(h, 0, 16).arg(got, 0, 16)));
      }
    }
    // Rounding: ties to even, overflow to infinity, underflow to zero or the smallest
    // subnormal.
    const std::vector<std::pair<float, uint16_t>> cases = {
        {65504.f, 0x7BFF},          {65519.f, 0x7BFF},          {65520.f, 0x7C00},
        {1.f + 1.f / 2048, 0x3C00}, {1.f + 3.f / 2048, 0x3C02}, {0x1p-25f, 0x0000},
        {0x1.01p-25f, 0x0001},      {0x1.8p-24f, 0x0002},       {-0x1p-14f, 0x8400},
        {0x1.ffcp-15f, 0x0400},
    };
    for (const auto& [value, bits] : cases) {
      const auto q = quantize(TensorType::F16, std::vector<float>{value});
      QCOMPARE(static_cast<uint16_t>(q[0] | (q[1] << 8)), bits);
    }
  }

  // -------------------------------------------------------------------------------------
  // Hand-built blocks.

  void knownBytesQ4_0() {
    // d = 0.5; qs[j] = j | (15 - j) << 4: value j is (j - 8) / 2, value 16 + j is (7 - j) / 2.
    const auto block =
        BlockBuilder().half(kHalfHalf).each(16, [](size_t j) { return j | ((15 - j) << 4); });
    std::vector<float> expected(32);
    for (int j = 0; j < 16; ++j) {
      expected[j] = (j - 8) * 0.5f;
      expected[16 + j] = (7 - j) * 0.5f;
    }
    check_decodes_to(TensorType::Q4_0, block.bytes, expected);
  }

  void knownBytesQ8_0() {
    // d = 0.25; qs = -128, -127, ..., then 97..127 at the end.
    auto b = BlockBuilder().half(kHalfQuarter).raw({0x80, 0x81}).each(30, [](size_t j) {
      return 98 + j;
    });
    std::vector<float> expected = {-32.f, -31.75f};
    for (int j = 0; j < 30; ++j) expected.push_back((98 + j) * 0.25f);
    check_decodes_to(TensorType::Q8_0, b.bytes, expected);
  }

  void knownBytesQ5_0() {
    // d = 1; nibbles all 3; qh = 0x80000001: bit 0 (value 0) and bit 31 (value 31) set.
    // Values: 3 + 16 - 16 = 3 where the bit is set, 3 - 16 = -13 elsewhere.
    const auto b = BlockBuilder().half(kHalfOne).raw({0x01, 0x00, 0x00, 0x80}).fill(16, 0x33);
    std::vector<float> expected(32, -13.f);
    expected[0] = expected[31] = 3.f;
    check_decodes_to(TensorType::Q5_0, b.bytes, expected);
  }

  void knownBytesQ4_K() {
    // d = 1, dmin = 0.5; sub-block scales 1, 2, 3, 4, 5, 6, 7, 63 and mins 0, 2, 4, 6, 8,
    // 10, 12, 40, packed by hand: bytes 0-3 = scales 0-3 with the top two bits of scale
    // 4+j in bits 6-7 (63 >> 4 = 3 -> byte 3 = 4 | 3 << 6 = 0xC4); bytes 4-7 = mins 0-3
    // likewise (40 >> 4 = 2 -> byte 7 = 6 | 2 << 6 = 0x86); bytes 8-11 = low nibble of
    // scale 4+j | low nibble of min 4+j << 4.
    // qs[32c + l] = (l % 16) | (15 - l % 16) << 4: sub-block 2c takes l % 16, 2c+1 the rest.
    const int sc[8] = {1, 2, 3, 4, 5, 6, 7, 63}, mn[8] = {0, 2, 4, 6, 8, 10, 12, 40};
    const auto b =
        BlockBuilder()
            .half(kHalfOne)
            .half(kHalfHalf)
            .raw({0x01, 0x02, 0x03, 0xC4, 0x00, 0x02, 0x04, 0x86, 0x85, 0xA6, 0xC7, 0x8F})
            .each(128, [](size_t i) { return (i % 16) | ((15 - i % 16) << 4); });
    std::vector<float> expected(256);
    for (int s = 0; s < 8; ++s) {
      for (int l = 0; l < 32; ++l) {
        const int q = s % 2 == 0 ? l % 16 : 15 - l % 16;
        expected[32 * s + l] = 1.f * sc[s] * q - 0.5f * mn[s];
      }
    }
    check_decodes_to(TensorType::Q4_K, b.bytes, expected);
  }

  void knownBytesQ3_K() {
    // hmask = 0x0F everywhere: the high bit is set for groups 0-3 (values 0..127) only.
    // qs = 0xE4 everywhere: group 4n + j has low bits j. So q = j (first half) or j - 4.
    // Scales stored as 4k + 1 (signed 4k - 31), packed by hand: low nibbles of 0-7 in
    // bytes 0-7, of 8-15 in their high nibbles (1, 5, 9, 13 repeating -> 0x11 0x55 0x99
    // 0xDD twice); top two bits of scale k in bits 2(k/4) of byte 8 + k % 4: 0, 1, 2, 3 for
    // k / 4 = 0..3 -> 0 | 1 << 2 | 2 << 4 | 3 << 6 = 0xE4. d = 0.5.
    const auto b =
        BlockBuilder()
            .fill(32, 0x0F)
            .fill(64, 0xE4)
            .raw({0x11, 0x55, 0x99, 0xDD, 0x11, 0x55, 0x99, 0xDD, 0xE4, 0xE4, 0xE4, 0xE4})
            .half(kHalfHalf);
    std::vector<float> expected(256);
    for (int v = 0; v < 256; ++v) {
      const int g = v / 32, j = g % 4;
      const int q = g < 4 ? j : j - 4;
      expected[v] = 0.5f * (4 * (v / 16) - 31) * q;
    }
    check_decodes_to(TensorType::Q3_K, b.bytes, expected);
  }

  void knownBytesQ6_K() {
    // ql = 0x21 for the first 32 bytes of each 64, 0x43 for the second; qh = 0xE4 for the
    // first 128 values (top bits 0, 1, 2, 3 for quarters k = 0..3) and 0x1B for the second
    // (3, 2, 1, 0). Quarter k of half n reads the low nibble (k < 2) or high nibble of
    // ql[64n + 32 (k % 2) + l]:  q - 32 =
    //   n = 0: 1 - 32 = -31, 3 + 16 - 32 = -13, 2 + 32 - 32 = 2, 4 + 48 - 32 = 20
    //   n = 1: 1 + 48 - 32 = 17, 3 + 32 - 32 = 3, 2 + 16 - 32 = -14, 4 - 32 = -28.
    // Scales k - 8 for sub-block k, d = 0.5.
    const auto b =
        BlockBuilder()
            .fill(32, 0x21)
            .fill(32, 0x43)
            .fill(32, 0x21)
            .fill(32, 0x43)
            .fill(32, 0xE4)
            .fill(32, 0x1B)
            .each(16, [](size_t k) { return static_cast<uint8_t>(static_cast<int>(k) - 8); })
            .half(kHalfHalf);
    const int table[2][4] = {{-31, -13, 2, 20}, {17, 3, -14, -28}};
    std::vector<float> expected(256);
    for (int v = 0; v < 256; ++v) {
      expected[v] = 0.5f * (v / 16 - 8) * table[v / 128][(v % 128) / 32];
    }
    check_decodes_to(TensorType::Q6_K, b.bytes, expected);
  }

  void activationBlocks() {
    // Q8_K: |q| <= 127, the largest magnitude lands on +-127, bsums are the group sums.
    const auto x = random_row(512, 77, true);
    std::vector<uint8_t> q(quant::row_bytes(TensorType::Q8_K, 512));
    quant::quantize_activation(TensorType::Q8_K, x.data(), q.data(), 512);
    for (int b = 0; b < 2; ++b) {
      const uint8_t* block = q.data() + 292 * b;
      int8_t qs[256];
      std::memcpy(qs, block + 4, 256);
      int maxabs = 0;
      for (int g = 0; g < 16; ++g) {
        int sum = 0;
        for (int l = 0; l < 16; ++l) {
          sum += qs[16 * g + l];
          maxabs = std::max(maxabs, std::abs(int(qs[16 * g + l])));
        }
        int16_t bsum;
        std::memcpy(&bsum, block + 260 + 2 * g, 2);
        QCOMPARE(int(bsum), sum);
      }
      QCOMPARE(maxabs, 127);
    }
    // Q8_0 activations are ggml's quantize_row_q8_0_ref, byte for byte the weight format.
    std::vector<uint8_t> a(quant::row_bytes(TensorType::Q8_0, 512));
    quant::quantize_activation(TensorType::Q8_0, x.data(), a.data(), 512);
    QCOMPARE(a, quantize(TensorType::Q8_0, x));
  }

  // -------------------------------------------------------------------------------------
  // SIMD kernels against the reference, on every target.

  void dotMatchesReference_data() {
    QTest::addColumn<TensorType>("type");
    QTest::addColumn<int>("blocks");
    for (const TensorType t : kWeightTypes) {
      // Float types have 1-value "blocks": use odd lengths that leave vector tails.
      const std::vector<int> counts =
          block_elems(t) == 1 ? std::vector<int>{1, 3, 7, 33, 1031} : std::vector<int>{1, 3, 7, 33};
      for (const int nb : counts) {
        QTest::newRow(qPrintable(QString("%1 x%2").arg(type_name(t).constData()).arg(nb)))
            << t << nb;
      }
    }
  }

  void dotMatchesReference() {
    QFETCH(TensorType, type);
    QFETCH(int, blocks);
    const int64_t n = blocks * block_elems(type);
    const int64_t rows = 5;
    const TensorType act = quant::activation_type(type);
    const size_t row_bytes = quant::row_bytes(type, n);
    // Five rows of varied data, stored back to back; the matrix and the activation row
    // start at odd offsets.
    std::vector<uint8_t> w_bytes;
    for (int64_t r = 0; r < rows; ++r) {
      const auto q = quantize(type, random_row(n, 100 + static_cast<uint32_t>(r), true));
      w_bytes.insert(w_bytes.end(), q.begin(), q.end());
    }
    const auto x = random_row(n, 7, true);
    std::vector<uint8_t> x_bytes(quant::row_bytes(act, n));
    quant::quantize_activation(act, x.data(), x_bytes.data(), n);
    const Unaligned w(w_bytes, 1), xa(x_bytes, 3);

    std::vector<double> expected(rows), magnitude(rows);
    const auto xd = dequantize_ref(act, x_bytes.data(), n);
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* row = w.data() + r * row_bytes;
      expected[r] = quant::dot_ref(type, row, xa.data(), n);
      const auto wd = dequantize_ref(type, row, n);
      for (int64_t i = 0; i < n; ++i) magnitude[r] += std::fabs(double(wd[i]) * xd[i]);
    }
    for_each_target([&](const quant::SimdTarget& target) {
      std::vector<float> y(rows + 2, -777.f);
      quant::matvec(type, w.data(), row_bytes, xa.data(), n, y.data(), 1, rows);
      QCOMPARE(y[0], -777.f);  // Only [r0, r1) is written.
      QCOMPARE(y[rows], -777.f);
      for (int64_t r = 0; r < rows; ++r) {
        const float d = quant::dot(type, w.data() + r * row_bytes, xa.data(), n);
        const double tol = 1e-5 * magnitude[r] + 1e-30;
        QVERIFY2(std::fabs(d - expected[r]) <= tol,
                 qPrintable(QString("%1 row %2: dot %3, reference %4, |w.x| %5")
                                .arg(target.name.data())
                                .arg(r)
                                .arg(d, 0, 'g', 9)
                                .arg(expected[r], 0, 'g', 9)
                                .arg(magnitude[r])));
        if (r >= 1) QCOMPARE(y[r], d);  // matvec runs the same kernel.
      }
    });
  }

  void dequantizeMatchesReference_data() {
    QTest::addColumn<TensorType>("type");
    for (const TensorType t : kWeightTypes) QTest::newRow(type_name(t).constData()) << t;
  }

  void dequantizeMatchesReference() {
    QFETCH(TensorType, type);
    const int64_t n = 256 * 9 + (block_elems(type) == 1 ? 5 : 0);
    const auto q = quantize(type, random_row(n, 42, true));
    const Unaligned src(q, 5);
    const auto ref = dequantize_ref(type, q.data(), n);
    // Scales and mins may be applied by one fused multiply-add instead of two roundings:
    // allow a few ulps of the largest value of each 32-value group.
    std::vector<float> group_max(static_cast<size_t>((n + 31) / 32));
    for (int64_t i = 0; i < n; ++i) {
      group_max[i / 32] = std::max(group_max[i / 32], std::fabs(ref[i]));
    }
    for_each_target([&](const quant::SimdTarget&) {
      std::vector<float> fast(n);
      quant::dequantize_row(type, src.data(), fast.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        if (std::fabs(fast[i] - ref[i]) > 4e-7f * group_max[i / 32]) {
          QFAIL(qPrintable(
              QString("value %1: %2 vs %3").arg(i).arg(fast[i], 0, 'g', 9).arg(ref[i], 0, 'g', 9)));
        }
      }
    });
  }
};

QTEST_GUILESS_MAIN(TestQuant)
#include "test_quant.moc"
