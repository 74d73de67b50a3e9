// The routing trace: append and random access, the storage bound (at most 4 bytes per
// token, layer and selected expert), serialisation and its corrupt-blob suite (every
// truncation, every bit flip, hand-made absurd headers), statistics against hand-computed
// values, and the routing JSON read back with nlohmann.
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "alloc_counter.h"
#include "expertscope/error.h"
#include "expertscope/trace.h"

using es::Modality;
using es::RoutingBatch;
using es::RoutingTrace;
using es::Selection;

namespace {

/// Everything one append needs.
struct Batch {
  RoutingBatch routing;
  std::vector<int32_t> ids, pos;
  std::vector<Modality> mods;
};

/// A random batch: distinct experts per (token, layer), descending weights.
Batch random_batch(uint32_t n_tokens, uint32_t n_expert, uint32_t top_k,
                   const std::vector<uint32_t>& layers, uint32_t seed, int32_t full_layer = -1,
                   int32_t first_pos = 0) {
  std::mt19937 rng(seed);
  Batch b;
  b.routing.n_expert = n_expert;
  b.routing.top_k = top_k;
  b.routing.moe_layers = layers;
  b.routing.full_layer = full_layer;
  b.routing.resize(n_tokens);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (uint32_t t = 0; t < n_tokens; ++t) {
    b.ids.push_back(static_cast<int32_t>(rng() % 50000));
    b.pos.push_back(first_pos + static_cast<int32_t>(t));
    b.mods.push_back(static_cast<Modality>(1 + rng() % 3));
    for (uint32_t m = 0; m < layers.size(); ++m) {
      std::vector<float> w(top_k);
      for (auto& x : w) x = unit(rng);
      std::sort(w.rbegin(), w.rend());
      for (uint32_t r = 0; r < top_k; ++r) {
        uint16_t e = 0;
        bool fresh = false;
        while (!fresh) {
          e = static_cast<uint16_t>(rng() % n_expert);
          fresh = true;
          for (uint32_t q = 0; q < r; ++q)
            fresh = fresh && b.routing.experts[b.routing.at(t, m, q)] != e;
        }
        b.routing.experts[b.routing.at(t, m, r)] = e;
        b.routing.weights[b.routing.at(t, m, r)] = w[r] * 2.5f;
      }
      b.routing.entropy[t * layers.size() + m] = unit(rng) * std::log(float(n_expert));
    }
  }
  for (auto& p : b.routing.full_probs) p = unit(rng) / static_cast<float>(n_expert);
  return b;
}

void append(RoutingTrace& trace, const Batch& b) {
  trace.append(b.routing, b.ids, b.pos, b.mods);
}

/// True if `stored` is `original` rounded to half precision (relative 2^-11, or absolute
/// 2^-25 near zero).
bool half_close(float stored, float original) {
  return std::abs(stored - original) <= std::max(std::abs(original) * 0x1p-11f, 0x1p-25f);
}

/// Compares every stored value of trace tokens [offset, offset + n) with a batch.
void compare(const RoutingTrace& trace, uint32_t offset, const Batch& b) {
  const uint32_t k = trace.top_k();
  std::vector<uint16_t> experts(k);
  std::vector<float> weights(k);
  for (uint32_t t = 0; t < b.routing.n_tokens; ++t) {
    const uint32_t i = offset + t;
    QCOMPARE(trace.token_id(i), b.ids[t]);
    QCOMPARE(trace.position(i), b.pos[t]);
    QCOMPARE(trace.modality(i), b.mods[t]);
    for (uint32_t m = 0; m < trace.n_moe_layers(); ++m) {
      trace.routing(i, m, experts, weights);
      for (uint32_t r = 0; r < k; ++r) {
        QCOMPARE(trace.expert(i, m, r), b.routing.experts[b.routing.at(t, m, r)]);
        QCOMPARE(experts[r], trace.expert(i, m, r));
        QVERIFY(half_close(trace.weight(i, m, r), b.routing.weights[b.routing.at(t, m, r)]));
        QCOMPARE(weights[r], trace.weight(i, m, r));
      }
      QVERIFY(half_close(trace.entropy(i, m), b.routing.entropy[t * trace.n_moe_layers() + m]));
    }
    if (trace.has_full_probs()) {
      for (uint32_t e = 0; e < trace.n_expert(); ++e) {
        QVERIFY(half_close(trace.full_prob(i, e),
                           b.routing.full_probs[size_t{t} * trace.n_expert() + e]));
      }
    }
  }
}

/// The checksum of the binary form, as trace_serialize.cpp documents it.
uint64_t doc_checksum(const std::vector<uint8_t>& blob, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w = 0;
    for (size_t b = std::min(n, i + 8); b-- > i;) w = (w << 8) | blob[b];
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 32;
  }
  return h;
}

/// Rewrites the trailing checksum so that only the edited content is wrong.
void reseal(std::vector<uint8_t>& blob) {
  const size_t n = blob.size() - 8;
  const uint64_t h = doc_checksum(blob, n);
  for (int i = 0; i < 8; ++i) blob[n + i] = static_cast<uint8_t>(h >> (8 * i));
}

void put_u32(std::vector<uint8_t>& blob, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) blob[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

enum class Outcome { ok, error };

/// Deserialises `blob`: es::Error of the expected kinds, or success; and the allocation
/// stays within a bound proportional to the blob.
Outcome load(const std::vector<uint8_t>& blob) {
  es::test::reset_peak_allocation();
  Outcome outcome = Outcome::ok;
  try {
    const RoutingTrace t = RoutingTrace::deserialize(blob);
    (void)t.serialize();
  } catch (const es::Error& e) {
    outcome = Outcome::error;
    if (e.kind() != es::ErrorKind::bad_input && e.kind() != es::ErrorKind::unsupported) {
      qWarning() << e.what();
      return Outcome::ok;  // makes the caller's check fail
    }
    if (std::string(e.what()).rfind("routing trace: ", 0) != 0) return Outcome::ok;
  }
  if (es::test::peak_allocation_bytes() > 8 * blob.size() + 64 * 1024) {
    qWarning() << "allocation" << es::test::peak_allocation_bytes() << "for" << blob.size();
    return Outcome::ok;
  }
  return outcome;
}

/// A small trace with a full distribution: 3 tokens, 2 layers, top 2 of 5 experts (3
/// bits per id, so the last packed byte has unused bits).
RoutingTrace small_trace() {
  RoutingTrace trace;
  append(trace, random_batch(3, 5, 2, {1, 4}, 77, 4));
  return trace;
}

/// The hand-made trace of the statistics tests (see stats_* for the table).
RoutingTrace stats_trace() {
  RoutingBatch b;
  b.n_expert = 4;
  b.top_k = 2;
  b.moe_layers = {1, 3};
  b.resize(4);
  b.experts = {0, 1, 2, 3,  //
               0, 2, 2, 3,  //
               1, 0, 3, 2,  //
               3, 2, 0, 1};
  b.weights = {0.75f,  0.25f,  0.5f,  0.5f,  //
               0.5f,   0.5f,   0.5f,  0.5f,  //
               0.625f, 0.375f, 0.5f,  0.5f,  //
               0.875f, 0.125f, 0.75f, 0.25f};
  b.entropy = {0.5f, 1.0f, 1.0f, 1.0f, 0.25f, 1.0f, 0.75f, 0.5f};
  const std::vector<int32_t> ids = {10, 11, 10, 12}, pos = {0, 1, 2, 3};
  const std::vector<Modality> mods = {Modality::text, Modality::text, Modality::image,
                                      Modality::text};
  RoutingTrace trace;
  trace.append(b, ids, pos, mods);
  return trace;
}

Selection text_only() {
  Selection s;
  s.modality = Modality::text;
  return s;
}

}  // namespace

class TestTrace : public QObject {
  Q_OBJECT

 private slots:
  void append_and_access_data() {
    QTest::addColumn<uint32_t>("n_expert");
    QTest::addColumn<uint32_t>("top_k");
    QTest::addColumn<std::vector<uint32_t>>("layers");
    QTest::addColumn<int32_t>("full_layer");
    QTest::newRow("olmoe 8 of 64") << 64u << 8u << std::vector<uint32_t>{0, 1, 2, 3} << -1;
    QTest::newRow("mixtral 2 of 8, full") << 8u << 2u << std::vector<uint32_t>{0, 5} << 5;
    QTest::newRow("deepseek 8 of 256") << 256u << 8u << std::vector<uint32_t>{1, 2, 3} << 2;
    QTest::newRow("kimi 8 of 384") << 384u << 8u << std::vector<uint32_t>{1, 2} << -1;
    QTest::newRow("1 of 1") << 1u << 1u << std::vector<uint32_t>{7} << 7;
    QTest::newRow("16 of 65536") << 65536u << 16u << std::vector<uint32_t>{0, 9} << -1;
    QTest::newRow("3 of 5") << 5u << 3u << std::vector<uint32_t>{2, 3, 4} << -1;
  }
  void append_and_access() {
    QFETCH(uint32_t, n_expert);
    QFETCH(uint32_t, top_k);
    QFETCH(std::vector<uint32_t>, layers);
    QFETCH(int32_t, full_layer);
    RoutingTrace trace;
    std::vector<Batch> batches;
    uint32_t offset = 0;
    for (const uint32_t n : {7u, 1u, 1u, 13u, 0u, 5u}) {
      batches.push_back(random_batch(n, n_expert, top_k, layers, n + offset, full_layer,
                                     static_cast<int32_t>(offset)));
      append(trace, batches.back());
      offset += n;
    }
    QCOMPARE(trace.n_tokens(), offset);
    QCOMPARE(trace.n_expert(), n_expert);
    QCOMPARE(trace.has_full_probs(), full_layer >= 0);
    QCOMPARE(trace.moe_index(layers.back()), std::optional<uint32_t>(layers.size() - 1));
    QCOMPARE(trace.moe_index(layers.back() + 1), std::optional<uint32_t>());
    offset = 0;
    for (const auto& b : batches) {
      compare(trace, offset, b);
      // batch(range) decodes the same values.
      const RoutingBatch back = trace.batch({offset, offset + b.routing.n_tokens});
      QCOMPARE(back.experts, b.routing.experts);
      QCOMPARE(back.n_tokens, b.routing.n_tokens);
      for (size_t i = 0; i < back.weights.size(); ++i) {
        QVERIFY(half_close(back.weights[i], b.routing.weights[i]));
      }
      offset += b.routing.n_tokens;
    }
  }

  void append_rejects_bad_batches() {
    RoutingTrace trace;
    const Batch good = random_batch(4, 16, 4, {1, 2}, 1);
    append(trace, good);
    const auto rejects = [&](Batch b, es::ErrorKind kind) {
      try {
        append(trace, b);
      } catch (const es::Error& e) {
        QCOMPARE(e.kind(), kind);
        QCOMPARE(trace.n_tokens(), 4u);  // unchanged
        return;
      }
      QFAIL("accepted");
    };
    Batch b = good;
    b.routing.experts[3] = 16;
    rejects(b, es::ErrorKind::bad_input);
    b = good;
    b.routing.experts[1] = b.routing.experts[0];
    rejects(b, es::ErrorKind::bad_input);
    b = good;
    b.ids[2] = -1;
    rejects(b, es::ErrorKind::bad_input);
    b = good;
    b.mods[0] = Modality::unset;
    rejects(b, es::ErrorKind::usage);
    b = good;
    b.pos.pop_back();
    rejects(b, es::ErrorKind::usage);
    b = good;
    b.routing.moe_layers = {1, 3};
    rejects(b, es::ErrorKind::usage);
    b = good;
    b.routing.weights.pop_back();
    rejects(b, es::ErrorKind::usage);
    b = random_batch(2, 32, 4, {1, 2}, 3);
    rejects(b, es::ErrorKind::usage);
    // A first batch with an impossible shape.
    RoutingTrace fresh;
    Batch odd = random_batch(1, 4, 2, {3, 2}, 1);
    QVERIFY_THROWS_EXCEPTION(es::Error, append(fresh, odd));
    QVERIFY(!fresh.has_shape());
    QVERIFY_THROWS_EXCEPTION(es::Error, RoutingTrace(es::TraceShape{8, 9, {0}, -1}));
    QVERIFY_THROWS_EXCEPTION(es::Error, RoutingTrace(es::TraceShape{8, 2, {0}, 3}));
    // Accessors check their arguments.
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)trace.token_id(4));
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)trace.expert(0, 2, 0));
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)trace.weight(0, 0, 4));
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)trace.full_prob(0, 0));
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)trace.batch({3, 2}));
  }

  void one_modality_append_and_truncate() {
    const Batch a = random_batch(9, 64, 8, {0, 1, 2}, 5);
    const Batch b = random_batch(6, 64, 8, {0, 1, 2}, 6);
    RoutingTrace trace;
    trace.append(a.routing, a.ids, a.pos, Modality::image);
    QCOMPARE(trace.modality(8), Modality::image);
    append(trace, a);
    trace.truncate(11);  // mid-batch, mid-byte of the packed ids
    QCOMPARE(trace.n_tokens(), 11u);
    append(trace, b);
    RoutingTrace expected;
    expected.append(a.routing, a.ids, a.pos, Modality::image);
    expected.append(a.routing, a.ids, a.pos, a.mods);
    expected.truncate(11);
    append(expected, b);
    QCOMPARE(trace.serialize(), expected.serialize());
    compare(trace, 11, b);
    trace.clear();
    QCOMPARE(trace.n_tokens(), 0u);
    QVERIFY(trace.has_shape());
    append(trace, b);
    compare(trace, 0, b);
  }

  void reserved_appends_allocate_nothing() {
    RoutingTrace trace(es::TraceShape{128, 8, {1, 2, 3, 4}, 2});
    std::vector<Batch> steps;
    for (uint32_t i = 0; i < 50; ++i) steps.push_back(random_batch(1, 128, 8, {1, 2, 3, 4}, i, 2));
    trace.reserve(50);
    es::test::reset_peak_allocation();
    for (const auto& b : steps) append(trace, b);
    QCOMPARE(es::test::peak_allocation_bytes(), size_t{0});
    compare(trace, 49, steps.back());
    QVERIFY_THROWS_EXCEPTION(es::Error, RoutingTrace().reserve(4));
  }

  void at_most_four_bytes_per_entry() {
    RoutingTrace trace;
    std::vector<uint32_t> layers(16);
    for (uint32_t i = 0; i < 16; ++i) layers[i] = i;
    for (uint32_t start = 0; start < 2000; start += 100) {
      append(trace, random_batch(100, 64, 8, layers, start, -1, static_cast<int32_t>(start)));
    }
    const double entries = 2000.0 * 16 * 8;
    const double in_memory = static_cast<double>(trace.storage_bytes()) / entries;
    const double serialized = static_cast<double>(trace.serialize().size()) / entries;
    qInfo("bytes per (token, layer, expert): %.4f in memory, %.4f serialised", in_memory,
          serialized);
    QVERIFY(in_memory <= 4.0);
    QVERIFY(serialized <= 4.0);
  }

  void serialize_round_trip_data() {
    QTest::addColumn<uint32_t>("n_expert");
    QTest::addColumn<uint32_t>("top_k");
    QTest::addColumn<int32_t>("full_layer");
    QTest::addColumn<uint32_t>("n_tokens");
    QTest::newRow("64/8") << 64u << 8u << -1 << 300u;
    QTest::newRow("5/3 full") << 5u << 3u << 9 << 17u;
    QTest::newRow("384/8 full") << 384u << 8u << 2 << 40u;
    QTest::newRow("empty") << 32u << 4u << -1 << 0u;
  }
  void serialize_round_trip() {
    QFETCH(uint32_t, n_expert);
    QFETCH(uint32_t, top_k);
    QFETCH(int32_t, full_layer);
    QFETCH(uint32_t, n_tokens);
    const Batch b = random_batch(n_tokens, n_expert, top_k, {2, 9, 11}, 4, full_layer);
    RoutingTrace trace(es::TraceShape{n_expert, top_k, {2, 9, 11}, full_layer});
    append(trace, b);
    const auto blob = trace.serialize();
    QCOMPARE(std::string(blob.begin(), blob.begin() + 4), std::string("ESRT"));
    QCOMPARE(doc_checksum(blob, blob.size() - 8) & 0xff, uint64_t{blob[blob.size() - 8]});
    const RoutingTrace back = RoutingTrace::deserialize(blob);
    QVERIFY(back.shape() == trace.shape());
    QCOMPARE(back.n_tokens(), n_tokens);
    compare(back, 0, b);
    QCOMPARE(back.serialize(), blob);
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)RoutingTrace().serialize());
  }

  void corrupt_truncated_everywhere() {
    const auto blob = small_trace().serialize();
    QVERIFY(load(blob) == Outcome::ok);
    for (size_t n = 0; n < blob.size(); ++n) {
      const std::vector<uint8_t> cut(blob.begin(), blob.begin() + static_cast<ptrdiff_t>(n));
      QVERIFY2(load(cut) == Outcome::error, qPrintable(QString("cut at %1").arg(n)));
    }
    auto longer = blob;
    longer.push_back(0);
    QVERIFY(load(longer) == Outcome::error);
  }

  void corrupt_bit_flips() {
    const auto blob = small_trace().serialize();
    for (size_t bit = 0; bit < blob.size() * 8; ++bit) {
      auto flipped = blob;
      flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      QVERIFY2(load(flipped) == Outcome::error, qPrintable(QString("bit %1").arg(bit)));
    }
  }

  void corrupt_absurd_headers_data() {
    QTest::addColumn<size_t>("offset");
    QTest::addColumn<uint32_t>("value");
    QTest::addColumn<bool>("reseal");
    QTest::addColumn<QString>("message");
    // Header offsets: 4 version, 8 n_expert, 12 top_k, 16 layers, 20 full layer, 24 bits,
    // 28 reserved, 32 tokens (u64), 40 layer list.
    QTest::newRow("version 0") << size_t{4} << 0u << true << "version 0";
    QTest::newRow("version 2") << size_t{4} << 2u << true << "newer";
    QTest::newRow("n_expert 0") << size_t{8} << 0u << true << "n_expert";
    QTest::newRow("n_expert 70000") << size_t{8} << 70000u << true << "n_expert";
    QTest::newRow("n_expert 9 (bits)") << size_t{8} << 9u << true << "bits";
    QTest::newRow("top_k 0") << size_t{12} << 0u << true << "top_k";
    QTest::newRow("top_k 17") << size_t{12} << 17u << true << "top_k";
    QTest::newRow("layers 2^31") << size_t{16} << 0x80000000u << true << "need";
    QTest::newRow("layers 0") << size_t{16} << 0u << true << "bytes";
    QTest::newRow("full layer 7") << size_t{20} << 7u << true << "not an MoE layer";
    QTest::newRow("bits 16") << size_t{24} << 16u << true << "bits";
    QTest::newRow("reserved") << size_t{28} << 1u << true << "reserved";
    QTest::newRow("tokens 2^32") << size_t{36} << 1u << true << "absurd";
    QTest::newRow("tokens 2^31") << size_t{32} << 0x80000000u << true << "need";
    QTest::newRow("layers descending") << size_t{40} << 5u << true << "ascending";
    QTest::newRow("checksum") << size_t{41} << 1u << false << "checksum";
  }
  void corrupt_absurd_headers() {
    QFETCH(size_t, offset);
    QFETCH(uint32_t, value);
    QFETCH(bool, reseal);
    QFETCH(QString, message);
    auto blob = small_trace().serialize();
    put_u32(blob, offset, value);
    if (reseal) ::reseal(blob);
    try {
      (void)RoutingTrace::deserialize(blob);
      QFAIL("accepted");
    } catch (const es::Error& e) {
      QVERIFY2(QString(e.what()).contains(message), e.what());
    }
    QVERIFY(load(blob) == Outcome::error);
  }

  /// Valid checksum, invalid values in the arrays.
  void corrupt_values() {
    const RoutingTrace base = small_trace();
    const size_t ids_at = 40 + 4 * 2, mods_at = ids_at + 8 * 3, experts_at = mods_at + 3;
    const auto reject = [](std::vector<uint8_t> blob, const char* what) {
      reseal(blob);
      try {
        (void)RoutingTrace::deserialize(blob);
        QFAIL(what);
      } catch (const es::Error& e) {
        QCOMPARE(e.kind(), es::ErrorKind::bad_input);
      }
    };
    auto blob = base.serialize();
    put_u32(blob, ids_at, 0xffffffffu);  // token id -1
    reject(blob, "negative id");
    blob = base.serialize();
    blob[mods_at + 1] = 9;
    reject(blob, "modality 9");
    blob = base.serialize();
    blob[experts_at] = static_cast<uint8_t>((blob[experts_at] & ~7u) | 7u);  // expert 7 of 5
    reject(blob, "expert out of range");
    blob = base.serialize();
    blob[experts_at] = static_cast<uint8_t>((blob[experts_at] & ~0x3fu) | (1u << 3) | 1u);
    reject(blob, "expert twice");
    blob = base.serialize();
    const size_t last_packed = experts_at + (3 * 2 * 2 * 3 + 7) / 8 - 1;  // 36 bits in 5 bytes
    blob[last_packed] |= 0x80;
    reject(blob, "padding bits");
    blob = base.serialize();
    blob[0] = 'X';
    reject(blob, "magic");
  }

  void stats_expert_load() {
    const RoutingTrace t = stats_trace();
    const auto load = es::expert_load(t);
    QCOMPARE(load.size(), size_t{2});
    QCOMPARE(load[0].layer, 1u);
    QCOMPARE(load[1].layer, 3u);
    QCOMPARE(load[0].n_tokens, uint64_t{4});
    QCOMPARE(load[0].counts, (std::vector<uint64_t>{3, 2, 2, 1}));
    QCOMPARE(load[0].weight_sums, (std::vector<double>{1.625, 0.875, 0.625, 0.875}));
    QCOMPARE(load[1].counts, (std::vector<uint64_t>{1, 1, 3, 3}));
    // Layer 1: mean 2, variance (1 + 0 + 0 + 1) / 4; layer 3: variance 1.
    QVERIFY(std::abs(load[0].cv - std::sqrt(0.5) / 2) < 1e-12);
    QVERIFY(std::abs(load[1].cv - 0.5) < 1e-12);
    const double h0 = -(0.375 * std::log(0.375) + 0.5 * std::log(0.25) + 0.125 * std::log(0.125));
    QVERIFY(std::abs(load[0].normalized_entropy - h0 / std::log(4.0)) < 1e-12);
    const double h1 = -(0.25 * std::log(0.125) + 0.75 * std::log(0.375));
    QVERIFY(std::abs(load[1].normalized_entropy - h1 / std::log(4.0)) < 1e-12);

    const auto text = es::expert_load(t, text_only());
    QCOMPARE(text[0].n_tokens, uint64_t{3});
    QCOMPARE(text[0].counts, (std::vector<uint64_t>{2, 1, 2, 1}));
    const auto middle = es::expert_load(t, Selection{{1, 3}, Modality::unset});
    QCOMPARE(middle[0].counts, (std::vector<uint64_t>{2, 1, 1, 0}));
    const auto none = es::expert_load(t, Selection{{2, 2}, Modality::unset});
    QCOMPARE(none[0].n_tokens, uint64_t{0});
    QCOMPARE(none[0].cv, 0.0);
    QCOMPARE(none[0].normalized_entropy, 0.0);
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)es::expert_load(t, Selection{{5, 9}, {}}));
    // A perfectly balanced layer.
    RoutingBatch b;
    b.n_expert = 2;
    b.top_k = 1;
    b.moe_layers = {0};
    b.resize(2);
    b.experts = {0, 1};
    RoutingTrace even;
    even.append(b, std::vector<int32_t>{1, 2}, std::vector<int32_t>{0, 1}, Modality::text);
    QCOMPARE(es::expert_load(even)[0].cv, 0.0);
    QCOMPARE(es::expert_load(even)[0].normalized_entropy, 1.0);
  }

  void stats_coactivation() {
    const RoutingTrace t = stats_trace();
    const std::vector<uint64_t> expected = {3, 2, 1, 0,  //
                                            2, 2, 0, 0,  //
                                            1, 0, 2, 1,  //
                                            0, 0, 1, 1};
    QCOMPARE(es::coactivation(t, 0), expected);
    const std::vector<uint64_t> layer3_text = {1, 1, 0, 0,  //
                                               1, 1, 0, 0,  //
                                               0, 0, 2, 2,  //
                                               0, 0, 2, 2};
    QCOMPARE(es::coactivation(t, 1, text_only()), layer3_text);
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)es::coactivation(t, 2));
  }

  void stats_overlap_and_entropy() {
    const RoutingTrace t = stats_trace();
    const auto all = es::adjacent_overlap(t);
    QCOMPARE(all.n_pairs, uint64_t{3});
    QVERIFY(std::abs(all.mean_overlap[0] - 1.0 / 3.0) < 1e-12);
    QVERIFY(std::abs(all.mean_overlap[1] - 2.0 / 3.0) < 1e-12);
    const auto text = es::adjacent_overlap(t, text_only());  // only the pair (0, 1)
    QCOMPARE(text.n_pairs, uint64_t{1});
    QCOMPARE(text.mean_overlap, (std::vector<double>{0.5, 1.0}));
    const auto tail = es::adjacent_overlap(t, Selection{{2, 4}, Modality::unset});
    QCOMPARE(tail.n_pairs, uint64_t{1});
    QCOMPARE(tail.mean_overlap, (std::vector<double>{0.0, 0.0}));
    QCOMPARE(es::mean_entropy(t), (std::vector<double>{0.625, 0.875}));
    QCOMPARE(es::mean_entropy(t, text_only()), (std::vector<double>{0.75, 5.0 / 6.0}));
  }

  void stats_vocabulary() {
    const RoutingTrace t = stats_trace();
    const auto v = es::expert_vocabulary(t, 0, 0);
    QCOMPARE(v.size(), size_t{2});
    QCOMPARE(v[0].token_id, 10);
    QCOMPARE(v[0].count, uint64_t{2});
    QCOMPARE(v[0].mean_weight, 0.5625);
    QCOMPARE(v[1].token_id, 11);
    QCOMPARE(v[1].mean_weight, 0.5);
    QCOMPARE(es::expert_vocabulary(t, 0, 0, {}, 1).size(), size_t{1});
    const auto e3 = es::expert_vocabulary(t, 1, 3, text_only());
    QCOMPARE(e3.size(), size_t{2});  // tokens 0 and 1 (ids 10, 11), each once
    QCOMPARE(e3[0].token_id, 10);
    QCOMPARE(e3[1].token_id, 11);
    QVERIFY(es::expert_vocabulary(t, 0, 3, Selection{{0, 3}, {}}).empty());
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)es::expert_vocabulary(t, 0, 4));
  }

  void json_matches_trace() {
    RoutingTrace trace;
    const Batch b = random_batch(40, 64, 6, {1, 2, 5}, 8);
    append(trace, b);
    const auto text = [](int32_t id) -> std::string {
      switch (id % 5) {
        case 0:
          return "say \"hi\"\n";
        case 1:
          return "\xff\xfe broken";
        case 2:
          return "\xf0\x9f\x98\x80 \\ tab\t";
        case 3:
          return std::string("nul\0!", 5);
        default:
          return "plain";
      }
    };
    std::ostringstream out;
    es::write_routing_json(out, trace, text, {{0, 100}, true});
    const auto j = nlohmann::json::parse(out.str());
    QCOMPARE(j["n_expert"].get<int>(), 64);
    QCOMPARE(j["top_k"].get<int>(), 6);
    QCOMPARE(j["moe_layers"].get<std::vector<uint32_t>>(), (std::vector<uint32_t>{1, 2, 5}));
    QCOMPARE(j["tokens"].size(), size_t{40});
    for (uint32_t t = 0; t < 40; ++t) {
      const auto& tok = j["tokens"][t];
      QCOMPARE(tok["pos"].get<int32_t>(), trace.position(t));
      QCOMPARE(tok["id"].get<int32_t>(), trace.token_id(t));
      const std::string expected_text =
          b.ids[t] % 5 == 1 ? "\xef\xbf\xbd\xef\xbf\xbd broken" : text(b.ids[t]);
      QCOMPARE(tok["text"].get<std::string>(), expected_text);
      QCOMPARE(tok["modality"].get<std::string>(), std::string(es::modality_name(b.mods[t])));
      QCOMPARE(tok["routing"].size(), size_t{3});
      for (uint32_t m = 0; m < 3; ++m) {
        const auto& r = tok["routing"][m];
        QCOMPARE(r["layer"].get<uint32_t>(), trace.moe_layers()[m]);
        QVERIFY(half_close(r["entropy"].get<float>(), trace.entropy(t, m)));
        for (uint32_t k = 0; k < 6; ++k) {
          QCOMPARE(r["experts"][k].get<uint16_t>(), trace.expert(t, m, k));
          // Fewest digits, but the same half: within half an ulp of the stored value.
          const double w = r["weights"][k].get<double>();
          QVERIFY(std::abs(w - trace.weight(t, m, k)) <=
                  std::max(trace.weight(t, m, k) * 0x1p-11, 0x1p-25));
        }
      }
    }
  }

  void json_short_weights_and_ranges() {
    RoutingBatch b;
    b.n_expert = 4;
    b.top_k = 2;
    b.moe_layers = {3};
    b.resize(3);
    b.experts = {1, 0, 2, 3, 0, 1};
    b.weights = {0.75f, 0.25f, 0.3f, 0.1f, 1.0f, 0.0f};
    RoutingTrace trace;
    trace.append(b, std::vector<int32_t>{5, 6, 7}, std::vector<int32_t>{0, 1, 2}, Modality::text);
    std::ostringstream out;
    es::write_routing_json(out, trace, {}, {{1, 3}, false});
    const std::string s = out.str();
    QVERIFY2(s.find("\"weights\":[0.3,0.1]") != std::string::npos, s.c_str());
    QVERIFY2(s.find("\"weights\":[1,0]") != std::string::npos, s.c_str());
    QVERIFY(s.find("entropy") == std::string::npos);
    const auto j = nlohmann::json::parse(s);
    QCOMPARE(j["tokens"].size(), size_t{2});
    QCOMPARE(j["tokens"][0]["pos"].get<int>(), 1);
    QCOMPARE(j["tokens"][0]["text"].get<std::string>(), std::string());
    // An empty trace, a bad range, a failing stream.
    std::ostringstream empty;
    es::write_routing_json(empty, RoutingTrace(), {});
    QCOMPARE(nlohmann::json::parse(empty.str())["tokens"].size(), size_t{0});
    std::ostringstream sink;
    QVERIFY_THROWS_EXCEPTION(es::Error, es::write_routing_json(sink, trace, {}, {{3, 1}, false}));
    std::ostringstream broken;
    broken.setstate(std::ios::badbit);
    try {
      es::write_routing_json(broken, trace, {});
      QFAIL("no error");
    } catch (const es::Error& e) {
      QCOMPARE(e.kind(), es::ErrorKind::io);
    }
  }
};

QTEST_GUILESS_MAIN(TestTrace)
#include "test_trace.moc"
