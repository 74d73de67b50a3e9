// Parity of the device backend's RoPE, KV cache writes and attention with the CPU backend
// (the reference for these ops): normal and NeoX RoPE, YaRN, partial rotation, odd head
// counts, positions 0..4095 and past 10^5; f16 and f32 caches, MLA's V-as-prefix-of-K
// layout, rows that share a word with their neighbours; grouped-query attention (1 to 8
// query heads per KV head, 16 for MLA), head dims 64, 128 and 576/512, 1 and 512 tokens
// over a cache that already holds up to 4095 positions, sliding windows, sink logits, a
// cache layer beyond one binding; and the three ops in one submission, as a layer runs
// them. Every case checks that the device ran the op (no CPU fallback).
//
// Bounds (NMSE against the CPU): RoPE 1e-12 (the angle is the CPU's, rounded once; cos and
// sin differ by an ulp or two), attention 1e-10 (summation order and exp; both sides read
// the same cache bytes, so an f16 cache adds no difference), KV writes bit-identical (the
// same round-to-nearest-even f32 -> f16).
#include <QTest>
#include <algorithm>
#include <numeric>

#include "backend/vulkan/vk_backend.h"
#include "backend/vulkan/vk_context.h"
#include "backend_ops_util.h"
#include "core/half.h"

using namespace es;
using namespace es::test;
using backend::KvView;
using backend::Mat;

namespace {

constexpr double kRopeBound = 1e-12;
constexpr double kAttentionBound = 1e-10;

/// One layer's cache in a buffer of its own: K rows from `k_offset` bytes, V rows after
/// them (unless MLA), `n_ctx` positions.
KvView cache_layout(bool f16, uint32_t n_head_kv, uint32_t dk, uint32_t dv, bool mla,
                    uint32_t n_ctx, size_t k_offset) {
  const size_t elem = f16 ? 2 : 4;
  KvView kv;
  kv.f16 = f16;
  kv.n_head_kv = n_head_kv;
  kv.head_dim_k = dk;
  kv.head_dim_v = dv;
  kv.v_is_k_prefix = mla;
  kv.k_row_bytes = size_t{n_head_kv} * dk * elem;
  kv.v_row_bytes = mla ? 0 : size_t{n_head_kv} * dv * elem;
  kv.k_offset_bytes = k_offset;
  kv.v_offset_bytes = k_offset + kv.k_row_bytes * n_ctx + 3 * elem;  // not binding-aligned
  return kv;
}

size_t cache_bytes(const KvView& kv, uint32_t n_ctx) {
  return kv.v_offset_bytes + kv.v_row_bytes * n_ctx + 64;
}

/// Random cache contents for positions [0, n) of K and V (as the cache type stores them).
std::vector<uint8_t> random_cache(const KvView& kv, size_t bytes, uint32_t n, uint32_t seed) {
  std::vector<uint8_t> img(bytes);
  auto fill = [&](size_t offset, size_t row_bytes, uint32_t s) {
    const size_t count = row_bytes * n / (kv.f16 ? 2 : 4);
    const std::vector<float> v = randn(count, s);
    uint8_t* dst = img.data() + offset;
    for (size_t i = 0; i < count; ++i) {
      if (kv.f16) {
        const uint16_t h = float_to_half(v[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      } else {
        std::memcpy(dst + 4 * i, &v[i], 4);
      }
    }
  };
  fill(kv.k_offset_bytes, kv.k_row_bytes, seed);
  if (!kv.v_is_k_prefix) fill(kv.v_offset_bytes, kv.v_row_bytes, seed + 1);
  return img;
}

/// A backend buffer holding `img` at byte `at` (the rest zero).
std::unique_ptr<backend::Buffer> cache_buffer(backend::Backend& be, size_t bytes,
                                              std::span<const uint8_t> img, size_t at = 0) {
  auto buf = be.alloc(bytes);
  std::memcpy(reinterpret_cast<uint8_t*>(buf->host()) + at, img.data(), img.size());
  return buf;
}

uint64_t fallbacks(backend::Backend& be) {
  return static_cast<backend::vulkan::VulkanBackend&>(be).n_fallbacks();
}

}  // namespace

class TestBackendAttention : public QObject {
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

  void the_ops_run_on_the_device() {
    if (!dev_) QSKIP("no Vulkan device");
    for (const auto op : {backend::Op::rope, backend::Op::kv_store, backend::Op::attention}) {
      QVERIFY(dev_->supports(op, TensorType::F32));
    }
  }

  void rope_data() {
    QTest::addColumn<bool>("neox");
    QTest::addColumn<bool>("yarn");
    QTest::addColumn<int>("n_heads");
    QTest::addColumn<int>("head_stride");
    QTest::addColumn<int>("rot_offset");
    QTest::addColumn<int>("n_rot");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("pos0");
    QTest::addColumn<int>("pos_step");
    QTest::addColumn<float>("base");
    // clang-format off
    QTest::newRow("normal 8x128 t=7")    << false << false << 8 << 128 << 0 << 128 << 7 << 0 << 1 << 10000.0f;
    QTest::newRow("neox 8x128 t=7")      << true << false << 8 << 128 << 0 << 128 << 7 << 0 << 1 << 1e6f;
    QTest::newRow("normal yarn 4x64")    << false << true << 4 << 64 << 0 << 64 << 33 << 0 << 1 << 10000.0f;
    QTest::newRow("neox yarn 4x128")     << true << true << 4 << 128 << 0 << 128 << 33 << 5 << 3 << 1e6f;
    QTest::newRow("odd heads 5 neox")    << true << false << 5 << 64 << 0 << 64 << 9 << 0 << 1 << 10000.0f;
    QTest::newRow("odd heads 7 normal")  << false << false << 7 << 96 << 0 << 96 << 9 << 2 << 1 << 10000.0f;
    QTest::newRow("partial q 3x192@128") << false << true << 3 << 192 << 128 << 64 << 17 << 0 << 1 << 10000.0f;
    QTest::newRow("partial kva 1x576@512") << false << true << 1 << 576 << 512 << 64 << 17 << 0 << 1 << 10000.0f;
    QTest::newRow("partial neox 2x64@0/32") << true << false << 2 << 64 << 0 << 32 << 5 << 0 << 1 << 10000.0f;
    QTest::newRow("pos 0..4095 neox")    << true << false << 2 << 64 << 0 << 64 << 4096 << 0 << 1 << 10000.0f;
    QTest::newRow("pos 0..4095 yarn")    << false << true << 1 << 128 << 0 << 128 << 4096 << 0 << 1 << 10000.0f;
    QTest::newRow("pos 10^5.. neox")     << true << false << 2 << 128 << 0 << 128 << 64 << 100000 << 997 << 1e6f;
    QTest::newRow("pos 10^6.. normal")   << false << false << 2 << 64 << 0 << 64 << 64 << 1000000 << 9973 << 10000.0f;
    // clang-format on
  }

  void rope() {
    if (!dev_) QSKIP("no Vulkan device");
    QFETCH(bool, neox);
    QFETCH(bool, yarn);
    QFETCH(int, n_heads);
    QFETCH(int, head_stride);
    QFETCH(int, rot_offset);
    QFETCH(int, n_rot);
    QFETCH(int, rows);
    QFETCH(int, pos0);
    QFETCH(int, pos_step);
    QFETCH(float, base);
    backend::RopeParams p;
    p.style = neox ? RopeStyle::neox : RopeStyle::normal;
    p.n_rot = static_cast<uint32_t>(n_rot);
    p.freq_base = base;
    if (yarn) {  // DeepSeek-V2's: factor 40 over 4096 positions
      p.freq_scale = 1.0f / 40;
      p.ext_factor = 1.0f;
      p.attn_factor = 0.8f;
      p.beta_fast = 32;
      p.beta_slow = 1;
      p.n_ctx_orig = 4096;
    }
    const auto R = static_cast<uint32_t>(rows);
    const uint32_t C = static_cast<uint32_t>(n_heads * head_stride);
    std::vector<int32_t> pos(R);
    for (uint32_t r = 0; r < R; ++r) pos[r] = pos0 + static_cast<int32_t>(r) * pos_step;
    const std::vector<float> x = randn(size_t{R} * C, 11);
    std::vector<float> results[2];
    backend::Backend* bes[2] = {cpu_.get(), dev_.get()};
    const uint64_t before = fallbacks(*dev_);
    for (int i = 0; i < 2; ++i) {
      DevMat X = upload(*bes[i], R, C, x);
      bes[i]->rope(X.m, static_cast<uint32_t>(n_heads), static_cast<uint32_t>(head_stride),
                   static_cast<uint32_t>(rot_offset), p, pos);
      results[i] = download(*bes[i], X.m);
      QCOMPARE(X.buf->host()[X.m.offset + C], -1234.5f);  // the padding is untouched
    }
    QCOMPARE(fallbacks(*dev_), before);
    const double e = nmse(results[1], results[0]);
    qInfo("rope NMSE %.3g", e);
    QVERIFY2(e <= kRopeBound, qPrintable(QString("NMSE %1").arg(e)));
    // Columns outside the rotated dims are copied through exactly.
    for (uint32_t r = 0; r < R; ++r) {
      for (uint32_t c = 0; c < C; ++c) {
        const uint32_t d = c % static_cast<uint32_t>(head_stride);
        if (d >= static_cast<uint32_t>(rot_offset) &&
            d < static_cast<uint32_t>(rot_offset + n_rot)) {
          continue;
        }
        QCOMPARE(results[1][size_t{r} * C + c], x[size_t{r} * C + c]);
      }
    }
  }

  void kv_store_data() {
    QTest::addColumn<bool>("f16");
    QTest::addColumn<bool>("mla");
    QTest::addColumn<int>("n_head_kv");
    QTest::addColumn<int>("dk");
    QTest::addColumn<int>("dv");
    QTest::addColumn<int>("tokens");
    QTest::addColumn<int>("pos0");
    QTest::addColumn<bool>("shuffled");
    QTest::addColumn<qulonglong>("k_offset");
    // clang-format off
    QTest::newRow("f16 2x64 t=1")       << true << false << 2 << 64 << 64 << 1 << 0 << false << 0ull;
    QTest::newRow("f16 2x64 t=512")     << true << false << 2 << 64 << 64 << 512 << 100 << false << 0ull;
    QTest::newRow("f32 2x64 t=512")     << false << false << 2 << 64 << 64 << 512 << 100 << false << 4096ull;
    QTest::newRow("f16 4x128 shuffled") << true << false << 4 << 128 << 128 << 33 << 7 << true << 4096ull;
    QTest::newRow("f32 1x80/64 t=9")    << false << false << 1 << 80 << 64 << 9 << 3 << false << 0ull;
    QTest::newRow("mla f16 576 t=7")    << true << true << 1 << 576 << 512 << 7 << 3 << false << 0ull;
    QTest::newRow("mla f32 576 t=7")    << false << true << 1 << 576 << 512 << 7 << 3 << false << 0ull;
    // Rows of 5 halves (10 bytes): words shared between neighbouring rows, written by
    // different invocations or not at all.
    QTest::newRow("f16 odd rows t=9")   << true << false << 1 << 5 << 3 << 9 << 1 << true << 2ull;
    QTest::newRow("f16 odd rows t=1")   << true << false << 1 << 5 << 3 << 1 << 6 << false << 6ull;
    // A layer that starts past one binding (128 MiB on lavapipe).
    QTest::newRow("f16 beyond a binding") << true << false << 2 << 64 << 64 << 7 << 40 << false << (136ull << 20);
    // clang-format on
  }

  void kv_store() {
    if (!dev_) QSKIP("no Vulkan device");
    QFETCH(bool, f16);
    QFETCH(bool, mla);
    QFETCH(int, n_head_kv);
    QFETCH(int, dk);
    QFETCH(int, dv);
    QFETCH(int, tokens);
    QFETCH(int, pos0);
    QFETCH(bool, shuffled);
    QFETCH(qulonglong, k_offset);
    const uint32_t T = static_cast<uint32_t>(tokens), n_ctx = static_cast<uint32_t>(pos0) + T + 4;
    const KvView layout =
        cache_layout(f16, static_cast<uint32_t>(n_head_kv), static_cast<uint32_t>(dk),
                     static_cast<uint32_t>(dv), mla, n_ctx, static_cast<size_t>(k_offset));
    const size_t bytes = cache_bytes(layout, n_ctx);
    // The layer's part of the buffer starts with random bytes: what is not written stays.
    std::vector<uint8_t> img(bytes - layout.k_offset_bytes);
    {
      std::mt19937 rng(5);
      for (uint8_t& b : img) b = static_cast<uint8_t>(rng() >> 24);
    }
    std::vector<int32_t> pos(T);
    std::iota(pos.begin(), pos.end(), pos0);
    if (shuffled) std::shuffle(pos.begin(), pos.end(), std::mt19937(3));
    const uint32_t k_cols = layout.n_head_kv * layout.head_dim_k;
    const uint32_t v_cols = layout.n_head_kv * layout.head_dim_v;
    std::vector<float> k = randn(size_t{T} * k_cols, 21, 3.0f);
    const std::vector<float> v = randn(size_t{T} * v_cols, 22, 3.0f);
    // Values where the rounding to half matters: ties to even, the largest half and
    // beyond, subnormals, the smallest subnormal's half, signed zero, infinity.
    const float special[] = {
        1.0f + 0x1p-11f, 1.0f + 0x3p-11f, 65504.0f,   65519.0f, 65520.0f,        1e5f,
        0x1p-14f,        0x1p-20f,        0x1.8p-24f, 0x1p-25f, 0x1.000002p-25f, -0.0f,
        -0x1p-26f,       1e-30f,          -INFINITY,  2049.0f,  -4097.0f,        0.1f};
    for (size_t i = 0; i < std::size(special) && i < k.size(); ++i) k[i] = special[i];
    std::vector<uint8_t> results[2];
    backend::Backend* bes[2] = {cpu_.get(), dev_.get()};
    const uint64_t before = fallbacks(*dev_);
    for (int i = 0; i < 2; ++i) {
      backend::Backend& be = *bes[i];
      auto buf = cache_buffer(be, bytes, img, layout.k_offset_bytes);
      KvView kv = layout;
      kv.buf = buf.get();
      DevMat K = upload(be, T, k_cols, k), V = upload(be, T, v_cols, v);
      be.kv_store(kv, K.m, V.m, pos);
      be.synchronize();
      // The layer's part, and a guard before it (the rest of the buffer is zeros).
      const size_t from = layout.k_offset_bytes - std::min<size_t>(layout.k_offset_bytes, 64);
      const auto* h = reinterpret_cast<const uint8_t*>(buf->host());
      results[i].assign(h + from, h + bytes);
    }
    QCOMPARE(fallbacks(*dev_), before);
    QCOMPARE(results[1].size(), results[0].size());
    if (results[1] != results[0]) {
      const auto diff = std::mismatch(results[0].begin(), results[0].end(), results[1].begin());
      QFAIL(qPrintable(QString("first difference at byte %1 of the compared part")
                           .arg(static_cast<qlonglong>(diff.first - results[0].begin()))));
    }
  }

  void attention_data() {
    QTest::addColumn<bool>("f16");
    QTest::addColumn<int>("n_head_kv");
    QTest::addColumn<int>("ratio");
    QTest::addColumn<int>("dk");
    QTest::addColumn<int>("dv");
    QTest::addColumn<bool>("mla");
    QTest::addColumn<int>("tokens");
    QTest::addColumn<int>("cached");  // positions in the cache before the tokens
    QTest::addColumn<int>("window");
    QTest::addColumn<bool>("sinks");
    QTest::addColumn<qulonglong>("k_offset");
    // clang-format off
    for (const int ratio : {1, 2, 4, 8}) {
      for (const bool f16 : {true, false}) {
        QTest::addRow("%s gqa %d d128 t=1 cached 4095", f16 ? "f16" : "f32", ratio)
            << f16 << 2 << ratio << 128 << 128 << false << 1 << 4095 << 0 << false << 0ull;
      }
    }
    QTest::newRow("f16 gqa 4 d64 t=512")          << true << 1 << 4 << 64 << 64 << false << 512 << 0 << 0 << false << 0ull;
    QTest::newRow("f32 gqa 2 d64 t=512 cached 37") << false << 1 << 2 << 64 << 64 << false << 512 << 37 << 0 << false << 64ull;
    QTest::newRow("f16 gqa 1 d128 t=7 cached 1")  << true << 3 << 1 << 128 << 128 << false << 7 << 1 << 0 << false << 0ull;
    QTest::newRow("f16 t=1 cached 0")             << true << 2 << 2 << 64 << 64 << false << 1 << 0 << 0 << false << 0ull;
    QTest::newRow("f16 window 128 t=1")           << true << 2 << 4 << 128 << 128 << false << 1 << 4095 << 128 << false << 0ull;
    QTest::newRow("f16 window 128 t=512")         << true << 1 << 4 << 64 << 64 << false << 512 << 300 << 128 << false << 0ull;
    QTest::newRow("f16 sinks gqa 8 t=1")          << true << 1 << 8 << 64 << 64 << false << 1 << 700 << 0 << true << 0ull;
    QTest::newRow("f32 window+sinks t=512")       << false << 1 << 4 << 64 << 64 << false << 512 << 100 << 128 << true << 0ull;
    QTest::newRow("f16 sinks t=1 cached 0")       << true << 1 << 2 << 64 << 64 << false << 1 << 0 << 0 << true << 0ull;
    QTest::newRow("f16 dk 80 dv 64 t=7")          << true << 2 << 2 << 80 << 64 << false << 7 << 11 << 0 << false << 0ull;
    QTest::newRow("mla f16 576/512 h16 t=1 cached 4095") << true << 1 << 16 << 576 << 512 << true << 1 << 4095 << 0 << false << 0ull;
    QTest::newRow("mla f32 576/512 h16 t=1 cached 300")  << false << 1 << 16 << 576 << 512 << true << 1 << 300 << 0 << false << 0ull;
    QTest::newRow("mla f16 576/512 h1 t=512")     << true << 1 << 1 << 576 << 512 << true << 512 << 0 << 0 << false << 0ull;
    // Windows and sinks over several chunks of positions (a dispatch each).
    QTest::newRow("f16 window 2000 sinks t=3")    << true << 1 << 2 << 128 << 128 << false << 3 << 4093 << 2000 << true << 0ull;
    QTest::newRow("f16 beyond a binding t=7")     << true << 2 << 2 << 64 << 64 << false << 7 << 33 << 0 << false << (136ull << 20);
    // clang-format on
  }

  void attention() {
    if (!dev_) QSKIP("no Vulkan device");
    QFETCH(bool, f16);
    QFETCH(int, n_head_kv);
    QFETCH(int, ratio);
    QFETCH(int, dk);
    QFETCH(int, dv);
    QFETCH(bool, mla);
    QFETCH(int, tokens);
    QFETCH(int, cached);
    QFETCH(int, window);
    QFETCH(bool, sinks);
    QFETCH(qulonglong, k_offset);
    const auto T = static_cast<uint32_t>(tokens), G = static_cast<uint32_t>(n_head_kv);
    const uint32_t H = G * static_cast<uint32_t>(ratio);
    const uint32_t n_ctx = static_cast<uint32_t>(cached) + T;
    const KvView layout = cache_layout(f16, G, static_cast<uint32_t>(dk), static_cast<uint32_t>(dv),
                                       mla, n_ctx, static_cast<size_t>(k_offset));
    const size_t bytes = cache_bytes(layout, n_ctx);
    const std::vector<uint8_t> img = random_cache(layout, bytes, n_ctx, 31);
    std::vector<int32_t> pos(T);
    std::iota(pos.begin(), pos.end(), cached);
    const std::vector<float> q = randn(size_t{T} * H * layout.head_dim_k, 32);
    const std::vector<float> sink_values = randn(H, 33, 2.0f);
    backend::AttentionParams ap;
    ap.n_head = H;
    ap.scale = 1.0f / std::sqrt(static_cast<float>(dk));
    ap.window = static_cast<uint32_t>(window);
    ap.sinks = sinks ? sink_values.data() : nullptr;
    std::vector<float> results[2];
    backend::Backend* bes[2] = {cpu_.get(), dev_.get()};
    const uint64_t before = fallbacks(*dev_);
    for (int i = 0; i < 2; ++i) {
      backend::Backend& be = *bes[i];
      auto buf = cache_buffer(be, bytes, img);
      KvView kv = layout;
      kv.buf = buf.get();
      DevMat Q = upload(be, T, H * layout.head_dim_k, q);
      DevMat O = upload(be, T, H * layout.head_dim_v, std::vector<float>(size_t{T} * H * dv));
      be.attention(O.m, Q.m, kv, ap, pos);
      results[i] = download(be, O.m);
      QCOMPARE(O.buf->host()[O.m.offset + O.m.cols], -1234.5f);  // the padding is untouched
    }
    QCOMPARE(fallbacks(*dev_), before);
    const double e = nmse(results[1], results[0]);
    qInfo("attention NMSE %.3g", e);
    QVERIFY2(e <= kAttentionBound, qPrintable(QString("NMSE %1").arg(e)));
  }

  /// RoPE, KV writes and attention recorded back to back (one submission, as a layer runs
  /// them), a prompt and then two decode steps, against the CPU doing the same.
  void a_layer_in_one_submission_data() {
    QTest::addColumn<bool>("f16");
    QTest::newRow("f16") << true;
    QTest::newRow("f32") << false;
  }

  void a_layer_in_one_submission() {
    if (!dev_) QSKIP("no Vulkan device");
    QFETCH(bool, f16);
    const uint32_t G = 2, H = 8, D = 64, n_ctx = 64;
    const KvView layout = cache_layout(f16, G, D, D, false, n_ctx, 0);
    const size_t bytes = cache_bytes(layout, n_ctx);
    backend::RopeParams rp;
    rp.style = RopeStyle::neox;
    rp.n_rot = D;
    backend::AttentionParams ap;
    ap.n_head = H;
    ap.scale = 0.125f;
    std::vector<float> results[2];
    backend::Backend* bes[2] = {cpu_.get(), dev_.get()};
    const uint64_t before = fallbacks(*dev_);
    for (int i = 0; i < 2; ++i) {
      backend::Backend& be = *bes[i];
      auto buf = be.alloc(bytes);
      KvView kv = layout;
      kv.buf = buf.get();
      uint32_t at = 0;
      for (const uint32_t T : {13u, 1u, 1u}) {
        std::vector<int32_t> pos(T);
        std::iota(pos.begin(), pos.end(), static_cast<int32_t>(at));
        DevMat Q = upload(be, T, H * D, randn(size_t{T} * H * D, 40 + at));
        DevMat K = upload(be, T, G * D, randn(size_t{T} * G * D, 50 + at));
        DevMat V = upload(be, T, G * D, randn(size_t{T} * G * D, 60 + at));
        DevMat O = upload(be, T, H * D, std::vector<float>(size_t{T} * H * D));
        be.rope(Q.m, H, D, 0, rp, pos);
        be.rope(K.m, G, D, 0, rp, pos);
        be.kv_store(kv, K.m, V.m, pos);
        be.attention(O.m, Q.m, kv, ap, pos);
        const std::vector<float> o = download(be, O.m);
        results[i].insert(results[i].end(), o.begin(), o.end());
        at += T;
      }
    }
    QCOMPARE(fallbacks(*dev_), before);
    const double e = nmse(results[1], results[0]);
    QVERIFY2(e <= kAttentionBound, qPrintable(QString("NMSE %1").arg(e)));
  }
};

QTEST_GUILESS_MAIN(TestBackendAttention)
#include "test_backend_attention.moc"
