// The sampler: greedy and its ties, the distribution of temperature sampling (chi-square
// over many seeded draws), the exact sets top-k / top-p / min-p keep (against a plain
// sort-everything reference written here), penalties, seeds, the log-probability, errors,
// and that sample() allocates nothing.
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "alloc_counter.h"
#include "expertscope/error.h"
#include "expertscope/sampler.h"

using es::SamplerParams;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

/// Parameters with every filter off: plain temperature sampling.
SamplerParams plain(float temperature = 1.0f, uint64_t seed = 1) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

/// log-softmax of `logits` at `id`, in double.
double log_softmax(const std::vector<float>& logits, int id) {
  double max = -kInf;
  for (const float l : logits) max = std::max<double>(max, l);
  double sum = 0.0;
  for (const float l : logits) sum += std::exp(l - max);
  return logits[static_cast<size_t>(id)] - max - std::log(sum);
}

std::vector<float> random_logits(size_t n, uint32_t seed, float scale = 3.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

/// The surviving ids by the obvious method: penalise, sort everything, cut.
std::vector<int32_t> reference_set(const std::vector<float>& logits,
                                   const std::vector<int32_t>& history, const SamplerParams& p) {
  std::vector<float> adj = logits;
  std::vector<int> counts(logits.size(), 0);
  size_t n_hist = history.size();
  if (p.penalty_last_n >= 0) n_hist = std::min(n_hist, static_cast<size_t>(p.penalty_last_n));
  for (size_t i = history.size() - n_hist; i < history.size(); ++i) ++counts[history[i]];
  for (size_t i = 0; i < adj.size(); ++i) {
    if (counts[i] == 0) continue;
    adj[i] = adj[i] <= 0 ? adj[i] * p.repetition_penalty : adj[i] / p.repetition_penalty;
    adj[i] -= static_cast<float>(counts[i]) * p.frequency_penalty + p.presence_penalty;
  }
  std::vector<std::pair<float, int32_t>> v;
  for (size_t i = 0; i < adj.size(); ++i) v.emplace_back(adj[i], static_cast<int32_t>(i));
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < v.size()) v.resize(p.top_k);
  if (p.top_p < 1.0f) {
    double sum = 0.0;
    for (const auto& [l, id] : v) sum += std::exp(static_cast<double>(l) - v[0].first);
    double cum = 0.0;
    for (size_t i = 0; i < v.size(); ++i) {
      cum += std::exp(static_cast<double>(v[i].first) - v[0].first) / sum;
      if (cum >= p.top_p) {
        v.resize(i + 1);
        break;
      }
    }
  }
  if (p.min_p > 0.0f) {
    const float threshold = v[0].first + std::log(p.min_p);
    std::erase_if(v, [&](const auto& e) { return e.first < threshold; });
  }
  std::vector<int32_t> ids;
  for (const auto& e : v) ids.push_back(e.second);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<int32_t> candidate_ids(const es::Sampler& s) {
  std::vector<int32_t> ids;
  for (const auto& c : s.candidates()) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

class TestSampler : public QObject {
  Q_OBJECT

 private slots:
  void greedy_picks_max_and_logprob() {
    const auto logits = random_logits(1000, 7);
    es::Sampler s(1000, plain(0.0f));
    const auto r = s.sample(logits, {});
    const auto expected = std::max_element(logits.begin(), logits.end()) - logits.begin();
    QCOMPARE(r.token, static_cast<int32_t>(expected));
    QVERIFY(std::abs(r.logprob - log_softmax(logits, r.token)) < 1e-5);
    QCOMPARE(s.candidates().size(), size_t{1});
  }

  void greedy_ties_lowest_id_data() {
    QTest::addColumn<std::vector<float>>("logits");
    QTest::addColumn<int>("expected");
    QTest::newRow("two-way") << std::vector<float>{1, 3, 3, 2} << 1;
    QTest::newRow("all-equal") << std::vector<float>{0, 0, 0, 0} << 0;
    QTest::newRow("last-two") << std::vector<float>{-1, -2, 5, 5} << 2;
    QTest::newRow("nan-ignored") << std::vector<float>{kNaN, 1, 0, 1} << 1;
    QTest::newRow("plus-inf") << std::vector<float>{0, kInf, 1, kInf} << 1;
  }
  void greedy_ties_lowest_id() {
    QFETCH(std::vector<float>, logits);
    QFETCH(int, expected);
    es::Sampler s(static_cast<uint32_t>(logits.size()), plain(0.0f));
    QCOMPARE(s.sample(logits, {}).token, expected);
    // Top-k 1 keeps the same token, whatever the temperature.
    SamplerParams p = plain(1.0f);
    p.top_k = 1;
    s.set_params(p);
    QCOMPARE(s.sample(logits, {}).token, expected);
  }

  void temperature_matches_softmax_data() {
    QTest::addColumn<float>("temperature");
    QTest::newRow("T=1") << 1.0f;
    QTest::newRow("T=0.5") << 0.5f;
    QTest::newRow("T=2") << 2.0f;
    QTest::newRow("T=0.7") << 0.7f;
  }
  void temperature_matches_softmax() {
    QFETCH(float, temperature);
    const std::vector<float> logits = {1.0f, 0.5f, 0.0f, -0.5f, 2.0f, 1.5f, -1.0f, 0.25f};
    const int n_draws = 40000;
    es::Sampler s(8, plain(temperature, 12345));
    std::vector<int> counts(8, 0);
    for (int i = 0; i < n_draws; ++i) ++counts[static_cast<size_t>(s.sample(logits, {}).token)];
    std::vector<double> scaled;
    for (const float l : logits) scaled.push_back(l / temperature);
    double max = *std::max_element(scaled.begin(), scaled.end()), sum = 0.0;
    for (const double l : scaled) sum += std::exp(l - max);
    double chi2 = 0.0;
    for (size_t i = 0; i < 8; ++i) {
      const double expected = n_draws * std::exp(scaled[i] - max) / sum;
      chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
    }
    // 7 degrees of freedom: P(chi2 > 24.32) = 0.001.
    QVERIFY2(chi2 < 24.32, qPrintable(QString("chi2 = %1").arg(chi2)));
  }

  void top_k_keeps_exact_set_data() {
    QTest::addColumn<std::vector<float>>("logits");
    QTest::addColumn<int>("k");
    QTest::addColumn<std::vector<int32_t>>("expected");
    const std::vector<float> l = {0.1f, 2.0f, -1.0f, 2.0f, 0.5f, 1.0f, 1.0f, -3.0f};
    QTest::newRow("k=1") << l << 1 << std::vector<int32_t>{1};
    QTest::newRow("k=2") << l << 2 << std::vector<int32_t>{1, 3};
    QTest::newRow("k=3 tie at boundary") << l << 3 << std::vector<int32_t>{1, 3, 5};
    QTest::newRow("k=4") << l << 4 << std::vector<int32_t>{1, 3, 5, 6};
    QTest::newRow("k=8") << l << 8 << std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7};
    QTest::newRow("k=100") << l << 100 << std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7};
  }
  void top_k_keeps_exact_set() {
    QFETCH(std::vector<float>, logits);
    QFETCH(int, k);
    QFETCH(std::vector<int32_t>, expected);
    SamplerParams p = plain();
    p.top_k = k;
    es::Sampler s(static_cast<uint32_t>(logits.size()), p);
    const auto r = s.sample(logits, {});
    QCOMPARE(candidate_ids(s), expected);
    QVERIFY(std::binary_search(expected.begin(), expected.end(), r.token));
    // When top-k cuts, the draw's candidates come sorted by logit, ties by id.
    if (static_cast<size_t>(k) >= logits.size()) return;
    for (size_t i = 1; i < s.candidates().size(); ++i) {
      const auto& a = s.candidates()[i - 1];
      const auto& b = s.candidates()[i];
      QVERIFY(a.logit > b.logit || (a.logit == b.logit && a.id < b.id));
    }
  }

  void top_p_keeps_exact_set_data() {
    QTest::addColumn<float>("p");
    QTest::addColumn<std::vector<int32_t>>("expected");
    // Probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 (in a shuffled id order).
    QTest::newRow("0.4") << 0.4f << std::vector<int32_t>{3};
    QTest::newRow("0.6") << 0.6f << std::vector<int32_t>{0, 3};
    QTest::newRow("0.8") << 0.8f << std::vector<int32_t>{0, 3, 4};
    QTest::newRow("0.9") << 0.9f << std::vector<int32_t>{0, 1, 3, 4};
    QTest::newRow("0.99") << 0.99f << std::vector<int32_t>{0, 1, 2, 3, 4};
  }
  void top_p_keeps_exact_set() {
    QFETCH(float, p);
    QFETCH(std::vector<int32_t>, expected);
    const std::vector<float> logits = {std::log(0.25f), std::log(0.0625f), std::log(0.0625f),
                                       std::log(0.5f), std::log(0.125f)};
    SamplerParams params = plain();
    params.top_p = p;
    es::Sampler s(5, params);
    s.sample(logits, {});
    QCOMPARE(candidate_ids(s), expected);
  }

  void top_p_ties_keep_lowest_ids() {
    // Ten equal logits: each 0.1 of the mass; 0.45 needs five, the five lowest ids.
    const std::vector<float> logits(10, 0.0f);
    SamplerParams p = plain();
    p.top_p = 0.45f;
    es::Sampler s(10, p);
    s.sample(logits, {});
    QCOMPARE(candidate_ids(s), (std::vector<int32_t>{0, 1, 2, 3, 4}));
    // Through the sorted path: top-k 9 keeps ids 0..8, whose mass 0.45 covers with five.
    p.top_k = 9;
    s.set_params(p);
    s.sample(logits, {});
    QCOMPARE(candidate_ids(s), (std::vector<int32_t>{0, 1, 2, 3, 4}));
    // Top-k 8: top-p applies to what top-k kept (renormalised), so four suffice.
    p.top_k = 8;
    s.set_params(p);
    s.sample(logits, {});
    QCOMPARE(candidate_ids(s), (std::vector<int32_t>{0, 1, 2, 3}));
  }

  void min_p_keeps_exact_set_data() {
    QTest::addColumn<float>("min_p");
    QTest::addColumn<std::vector<int32_t>>("expected");
    // Logits 0, -1, -2, -3 at ids 2, 0, 3, 1: kept when logit >= log(min_p).
    QTest::newRow("0.5") << 0.5f << std::vector<int32_t>{2};
    QTest::newRow("0.3") << 0.3f << std::vector<int32_t>{0, 2};
    QTest::newRow("0.1") << 0.1f << std::vector<int32_t>{0, 2, 3};
    QTest::newRow("0.01") << 0.01f << std::vector<int32_t>{0, 1, 2, 3};
  }
  void min_p_keeps_exact_set() {
    QFETCH(float, min_p);
    QFETCH(std::vector<int32_t>, expected);
    const std::vector<float> logits = {-1.0f, -3.0f, 0.0f, -2.0f};
    SamplerParams p = plain();
    p.min_p = min_p;
    es::Sampler s(4, p);
    s.sample(logits, {});
    QCOMPARE(candidate_ids(s), expected);
  }

  /// Every filter combination on larger vocabularies, against the reference.
  void filters_match_reference_data() {
    QTest::addColumn<int>("n_vocab");
    QTest::addColumn<int>("top_k");
    QTest::addColumn<float>("top_p");
    QTest::addColumn<float>("min_p");
    QTest::addColumn<float>("rep");
    for (const int n : {50, 5000, 262144}) {
      for (const int k : {0, 1, 40, 1000}) {
        for (const float tp : {1.0f, 0.9f, 0.5f}) {
          for (const float mp : {0.0f, 0.05f}) {
            const float rep = (k + n) % 3 == 0 ? 1.3f : 1.0f;
            QTest::addRow("V%d k%d p%.2f m%.2f r%.1f", n, k, tp, mp, rep)
                << n << k << tp << mp << rep;
          }
        }
      }
    }
  }
  void filters_match_reference() {
    QFETCH(int, n_vocab);
    QFETCH(int, top_k);
    QFETCH(float, top_p);
    QFETCH(float, min_p);
    QFETCH(float, rep);
    const auto logits = random_logits(static_cast<size_t>(n_vocab), 99u + n_vocab, 2.0f);
    std::vector<int32_t> history;
    for (int i = 0; i < 80; ++i) history.push_back((i * 7919) % n_vocab);
    SamplerParams p = plain(0.9f);
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.repetition_penalty = rep;
    p.frequency_penalty = rep != 1.0f ? 0.1f : 0.0f;
    es::Sampler s(static_cast<uint32_t>(n_vocab), p);
    const auto r = s.sample(logits, history);
    const auto expected = reference_set(logits, history, p);
    QCOMPARE(candidate_ids(s), expected);
    QVERIFY(std::binary_search(expected.begin(), expected.end(), r.token));
    QVERIFY(std::abs(r.logprob - log_softmax(logits, r.token)) < 1e-4);
    double sum = 0.0;
    for (const auto& c : s.candidates()) sum += c.p;
    QVERIFY(std::abs(sum - 1.0) < 1e-4);
  }

  void penalties_change_logits() {
    const std::vector<float> logits = {2.0f, 1.0f, -1.0f, 0.5f, 3.0f};
    const std::vector<int32_t> history = {0, 2, 2, 4, 77, -5};  // out-of-vocabulary ids ignored
    SamplerParams p = plain();
    p.repetition_penalty = 2.0f;
    p.frequency_penalty = 0.5f;
    p.presence_penalty = 0.25f;
    p.penalty_last_n = -1;
    es::Sampler s(5, p);
    s.sample(logits, history);
    const std::vector<float> expected = {0.25f, 1.0f, -3.25f, 0.5f, 0.75f};
    QCOMPARE(s.candidates().size(), size_t{5});  // no filter: id order
    for (size_t i = 0; i < 5; ++i) {
      QCOMPARE(s.candidates()[i].id, static_cast<int32_t>(i));
      QCOMPARE(s.candidates()[i].logit, expected[i]);
    }
    // A window of 3 sees 4, 77, -5: only token 4 is penalised.
    p.penalty_last_n = 3;
    s.set_params(p);
    s.sample(logits, history);
    const std::vector<float> window3 = {2.0f, 1.0f, -1.0f, 0.5f, 0.75f};
    for (size_t i = 0; i < 5; ++i) QCOMPARE(s.candidates()[i].logit, window3[i]);
    // Off: nothing changes; and the counts from the previous call do not linger.
    p.penalty_last_n = 0;
    s.set_params(p);
    s.sample(logits, history);
    for (size_t i = 0; i < 5; ++i) QCOMPARE(s.candidates()[i].logit, logits[i]);
  }

  void repetition_penalty_changes_greedy() {
    const std::vector<float> logits = {3.0f, 2.9f, -1.0f};
    SamplerParams p = plain(0.0f);
    p.repetition_penalty = 1.1f;
    es::Sampler s(3, p);
    QCOMPARE(s.sample(logits, {}).token, 0);
    const std::vector<int32_t> history = {0};
    const auto r = s.sample(logits, history);
    QCOMPARE(r.token, 1);
    // The log-probability ignores the penalty.
    QVERIFY(std::abs(r.logprob - log_softmax(logits, 1)) < 1e-6);
  }

  void seed_reproducible() {
    const auto logits = random_logits(3000, 5, 1.5f);
    SamplerParams p;  // llama.cpp defaults
    p.seed = 42;
    const auto run = [&](es::Sampler& s) {
      std::vector<int32_t> out;
      for (int i = 0; i < 300; ++i) out.push_back(s.sample(logits, out).token);
      return out;
    };
    es::Sampler a(3000, p), b(3000, p);
    const auto first = run(a);
    QCOMPARE(run(b), first);
    a.reseed(42);
    QCOMPARE(run(a), first);
    p.seed = 43;
    es::Sampler c(3000, p);
    QVERIFY(run(c) != first);
  }

  void generator_is_pinned() {
    // xoshiro256** seeded by splitmix64(0): fixed across compilers and libraries.
    es::Sampler s(1, plain(1.0f, 0));
    const double u0 = s.next_uniform(), u1 = s.next_uniform();
    QVERIFY(u0 >= 0.0 && u0 < 1.0 && u1 >= 0.0 && u1 < 1.0);
    es::Sampler t(1, plain(1.0f, 0));
    QCOMPARE(t.next_uniform(), u0);
    QCOMPARE(QString::number(u0, 'g', 17), QString("0.60126299941790484"));
  }

  void logprob_is_of_raw_logits() {
    const auto logits = random_logits(500, 11);
    SamplerParams p;
    p.temperature = 0.3f;
    p.repetition_penalty = 1.5f;
    es::Sampler s(500, p);
    const std::vector<int32_t> history = {1, 2, 3, 4, 5};
    for (int i = 0; i < 20; ++i) {
      const auto r = s.sample(logits, history);
      QVERIFY(std::abs(r.logprob - log_softmax(logits, r.token)) < 1e-5);
    }
  }

  void tiny_temperature_is_greedy() {
    const std::vector<float> logits = {1.0f, 80.0f, 79.9f, -50.0f};
    es::Sampler s(4, plain(1e-20f));
    for (int i = 0; i < 50; ++i) QCOMPARE(s.sample(logits, {}).token, 1);
  }

  void errors() {
    es::Sampler s(4, plain());
    const std::vector<float> three = {1, 2, 3};
    QVERIFY_THROWS_EXCEPTION(es::Error, s.sample(three, {}));
    const std::vector<float> dead = {-kInf, kNaN, -kInf, kNaN};
    try {
      s.sample(dead, {});
      QFAIL("no error");
    } catch (const es::Error& e) {
      QCOMPARE(e.kind(), es::ErrorKind::bad_input);
    }
    SamplerParams bad = plain();
    bad.repetition_penalty = 0.0f;
    QVERIFY_THROWS_EXCEPTION(es::Error, es::Sampler(4, bad));
    bad = plain(kNaN);
    QVERIFY_THROWS_EXCEPTION(es::Error, s.set_params(bad));
    bad = plain();
    bad.penalty_last_n = -2;
    QVERIFY_THROWS_EXCEPTION(es::Error, s.set_params(bad));
    QVERIFY_THROWS_EXCEPTION(es::Error, es::Sampler(0, plain()));
  }

  void sample_allocates_nothing_data() {
    QTest::addColumn<int>("top_k");
    QTest::addColumn<float>("temperature");
    QTest::newRow("defaults") << 40 << 0.8f;
    QTest::newRow("no top-k") << 0 << 0.8f;
    QTest::newRow("greedy") << 40 << 0.0f;
  }
  void sample_allocates_nothing() {
    QFETCH(int, top_k);
    QFETCH(float, temperature);
    const uint32_t n_vocab = 151936;
    const auto logits = random_logits(n_vocab, 3);
    SamplerParams p;
    p.top_k = top_k;
    p.temperature = temperature;
    p.repetition_penalty = 1.1f;
    p.penalty_last_n = -1;
    es::Sampler s(n_vocab, p);
    std::vector<int32_t> history(4096);
    for (size_t i = 0; i < history.size(); ++i) history[i] = static_cast<int32_t>(i * 37 % n_vocab);
    es::test::reset_peak_allocation();
    for (int i = 0; i < 5; ++i) (void)s.sample(logits, history);
    QCOMPARE(es::test::peak_allocation_bytes(), size_t{0});
  }
};

QTEST_GUILESS_MAIN(TestSampler)
#include "test_sampler.moc"
