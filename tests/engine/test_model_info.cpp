// Model hyper-parameters, the per-architecture tensor check and the info numbers, on the
// tiny fixtures of every architecture and on the llama.cpp-written golden files. The
// expected numbers are computed here from the fixture specs (parameter counts by formula
// per architecture), independently of engine/model.
#include <QtTest>
#include <functional>

#include "expertscope/error.h"
#include "expertscope/gguf.h"
#include "expertscope/model_info.h"
#include "tiny_models.h"

using es::Arch;
using es::Gating;
using es::test::TinyModelSpec;

namespace {

/// Parameter counts of a spec, by formula.
struct Counts {
  uint64_t total = 0;
  uint64_t expert = 0;  ///< Routed experts, all MoE layers.
  uint64_t active = 0;
};

uint64_t attn_params(const TinyModelSpec& s, uint64_t q_dim) {
  const uint64_t e = s.n_embd, kv = uint64_t{s.n_head_kv} * s.head_dim;
  return e * q_dim + 2 * e * kv + q_dim * e;  // q, k, v, output
}

uint64_t deepseek2_attn_params(const TinyModelSpec& s) {
  const uint64_t e = s.n_embd, h = s.n_head, hk = s.head_dim_nope + s.n_rot;
  const uint64_t hv = s.head_dim_v_mla, ql = s.q_lora_rank, kvl = s.kv_lora_rank;
  uint64_t n = e + kvl;  // attn_norm, attn_kv_a_norm
  n += ql > 0 ? ql + e * ql + ql * h * hk : e * h * hk;
  n += e * (kvl + s.n_rot);  // attn_kv_a_mqa
  n += s.mla_legacy_kv_b ? kvl * h * (s.head_dim_nope + hv)
                         : s.head_dim_nope * kvl * h + kvl * hv * h;
  return n + h * hv * e;  // attn_output
}

/// Non-expert parameters of one layer and its routed-expert parameters.
std::pair<uint64_t, uint64_t> layer_params(const TinyModelSpec& s, uint32_t il) {
  const uint64_t e = s.n_embd, x = s.n_expert, hd = s.head_dim, h = s.n_head;
  const uint64_t kv = uint64_t{s.n_head_kv} * hd, router = e * x;
  switch (s.arch) {
    case Arch::deepseek2: {
      const uint64_t base = deepseek2_attn_params(s) + e;  // + ffn_norm
      if (il < s.n_leading_dense) return {base + 3 * e * s.n_ff, 0};
      const uint64_t shexp = 3 * e * s.n_ff_exp * s.n_expert_shared;
      return {base + router + (s.exp_probs_b ? x : 0) + shexp, 3 * e * s.n_ff_exp * x};
    }
    case Arch::qwen3moe:
      return {e + attn_params(s, h * hd) + 2 * hd + e + router, 3 * e * s.n_ff_exp * x};
    case Arch::qwen2moe: {
      const uint64_t biases = s.attn_biases ? e + 2 * kv : 0;
      const uint64_t shexp = e + 3 * e * s.n_ff_shexp;  // ffn_gate_inp_shexp + FFN
      return {e + attn_params(s, e) + biases + e + router + shexp, 3 * e * s.n_ff_exp * x};
    }
    case Arch::olmoe:
      return {e + attn_params(s, e) + 2 * e + e + router, 3 * e * s.n_ff * x};
    case Arch::llama:
    case Arch::granitemoe: {
      const uint64_t base = e + attn_params(s, h * hd) + e;
      if (x == 0) return {base + 3 * e * s.n_ff, 0};
      const uint64_t shexp = s.arch == Arch::granitemoe ? 3 * e * s.n_ff_shexp : 0;
      return {base + router + shexp, 3 * e * s.n_ff * x};
    }
    case Arch::gpt_oss: {
      const uint64_t q = h * hd;
      const uint64_t base = 2 * e + attn_params(s, q) + q + 2 * kv + e + h + router + x;
      return {base, 3 * e * s.n_ff_exp * x + (2 * s.n_ff_exp + e) * x};
    }
    case Arch::unset:
      break;
  }
  return {0, 0};
}

Counts count_params(const TinyModelSpec& s, uint64_t n_vocab) {
  Counts c;
  c.total = n_vocab * s.n_embd * (s.tie_embeddings ? 1 : 2) + s.n_embd;  // embd, output, norm
  for (uint32_t il = 0; il < s.n_layer; ++il) {
    const auto [dense, expert] = layer_params(s, il);
    c.total += dense + expert;
    c.expert += expert;
  }
  c.active = c.total - c.expert + (s.n_expert == 0 ? 0 : c.expert / s.n_expert * s.n_expert_used);
  return c;
}

/// The fixture spec of a golden file, from /work/shared/golden/README.md.
TinyModelSpec golden_spec(Arch arch) {
  TinyModelSpec s = es::test::tiny_spec(arch);
  s.n_embd = 128;
  s.n_head = 4;
  s.n_expert = 16;
  s.n_expert_used = 4;
  s.n_ff_exp = 64;
  if (arch == Arch::qwen3moe) {
    s.n_layer = 3, s.n_head_kv = 2, s.head_dim = 48;
  } else if (arch == Arch::olmoe) {
    s.n_layer = 3, s.n_head_kv = 4, s.head_dim = 32, s.n_ff = 64;
  } else {
    s.n_layer = 4, s.n_ff = 256, s.q_lora_rank = 64, s.kv_lora_rank = 64, s.head_dim_nope = 32;
    s.n_rot = 16, s.head_dim_v_mla = 24, s.n_leading_dense = 1, s.n_expert_shared = 1;
  }
  return s;
}

Gating expected_gating(const TinyModelSpec& s) {
  switch (s.arch) {
    case Arch::deepseek2:
      return s.gating;
    case Arch::qwen3moe:
    case Arch::qwen2moe:
    case Arch::olmoe:
      return Gating::softmax;
    default:
      return s.n_expert == 0 ? Gating::unset : Gating::softmax_selected;
  }
}

uint32_t expected_n_ff_exp(const TinyModelSpec& s) {
  if (s.n_expert == 0) return 0;
  const bool by_n_ff = s.arch == Arch::llama || s.arch == Arch::olmoe || s.arch == Arch::granitemoe;
  return by_n_ff ? s.n_ff : s.n_ff_exp;
}

uint32_t expected_n_shared(const TinyModelSpec& s) {
  if (s.arch == Arch::deepseek2) return s.n_expert_shared;
  if (s.arch == Arch::qwen2moe) return 1;
  return s.arch == Arch::granitemoe && s.n_ff_shexp > 0 ? 1 : 0;
}

/// Runs `fn` and returns the es::Error it throws (QFAIL if none).
std::optional<es::Error> error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const es::Error& e) {
    return e;
  }
  return std::nullopt;
}

QString golden_path(const char* file) {
  return QString(ES_SHARED_DIR) + "/golden/" + file;
}

}  // namespace

class TestModelInfo : public QObject {
  Q_OBJECT

 private slots:
  void fixture_hparams_data();
  void fixture_hparams();
  void fixture_counts_data() { fixture_hparams_data(); }
  void fixture_counts();
  void fixture_json_data() { fixture_hparams_data(); }
  void fixture_json();
  void deepseek2_variants();
  void vocab_size_fallbacks();
  void per_layer_arrays();
  void quantized_weight_accepted();
  void golden_data();
  void golden();
  void errors_data();
  void errors();
};

void TestModelInfo::fixture_hparams_data() {
  QTest::addColumn<int>("index");
  const auto catalog = es::test::tiny_model_catalog();
  for (size_t i = 0; i < catalog.size(); ++i) {
    QTest::newRow(catalog[i].first.c_str()) << static_cast<int>(i);
  }
}

void TestModelInfo::fixture_hparams() {
  QFETCH(int, index);
  const TinyModelSpec s = es::test::tiny_model_catalog()[index].second;
  const std::vector<uint8_t> bytes = es::test::make_tiny_model(s);
  QVERIFY2(bytes.size() < 1024 * 1024, "fixtures stay under 1 MB");
  const auto file = es::gguf::File::from_memory(bytes, "tiny.gguf");
  const es::HParams hp = es::read_hparams(file);
  QCOMPARE(hp.arch, s.arch);
  QCOMPARE(hp.n_layer, s.n_layer);
  QCOMPARE(hp.n_embd, s.n_embd);
  QCOMPARE(hp.n_head, s.n_head);
  const bool mla = s.arch == Arch::deepseek2 && !s.mla_legacy_kv_b;
  QCOMPARE(hp.n_head_kv, mla ? 1u : s.arch == Arch::deepseek2 ? s.n_head : s.n_head_kv);
  QCOMPARE(hp.n_ctx_train, s.n_ctx_train);
  QCOMPARE(hp.n_vocab, static_cast<uint32_t>(es::test::tiny_vocab_tokens().size()));
  QCOMPARE(hp.n_expert, s.n_expert);
  QCOMPARE(hp.n_expert_used, s.n_expert_used);
  QCOMPARE(hp.n_expert_shared, expected_n_shared(s));
  QCOMPARE(hp.n_ff_exp, expected_n_ff_exp(s));
  QCOMPARE(hp.gating, expected_gating(s));
  QCOMPARE(hp.norm_rms_eps, s.rms_eps);
  QCOMPARE(hp.expert_weights_norm,
           s.arch == Arch::qwen3moe || (s.arch == Arch::deepseek2 && s.expert_weights_norm));
  const bool neox = s.arch == Arch::qwen3moe || s.arch == Arch::qwen2moe || s.arch == Arch::olmoe ||
                    s.arch == Arch::gpt_oss;
  QCOMPARE(hp.rope_style, neox ? es::RopeStyle::neox : es::RopeStyle::normal);
  if (s.arch == Arch::deepseek2) {
    QCOMPARE(hp.n_leading_dense, s.n_leading_dense);
    QCOMPARE(hp.q_lora_rank, s.q_lora_rank);
    QCOMPARE(hp.kv_lora_rank, s.kv_lora_rank);
    QCOMPARE(hp.n_rot, s.n_rot);
    QCOMPARE(hp.mla_split_kv_b(), mla);
    QCOMPARE(hp.head_dim_k_mla, mla ? s.head_dim_nope + s.n_rot : 0u);
    QCOMPARE(hp.expert_weights_scale, s.expert_weights_scale);
    QCOMPARE(hp.n_expert_groups, s.n_expert_groups);
    QCOMPARE(hp.n_group_used, s.n_group_used);
    QVERIFY(!hp.is_moe_layer(0) && hp.is_moe_layer(1));
  } else {
    QCOMPARE(hp.head_dim_k, s.head_dim);
    QCOMPARE(hp.n_leading_dense, 0u);
  }
  if (s.arch == Arch::gpt_oss) {
    QCOMPARE(hp.sliding_window, s.sliding_window);
    QVERIFY(hp.is_swa_layer(0) && !hp.is_swa_layer(1));
    QCOMPARE(hp.rope_scaling, es::RopeScaling::yarn);
  }
  if (s.arch == Arch::granitemoe) QCOMPARE(hp.embedding_scale, 12.0f);
  es::check_tensors(file, hp);  // must not throw
}

void TestModelInfo::fixture_counts() {
  QFETCH(int, index);
  const TinyModelSpec s = es::test::tiny_model_catalog()[index].second;
  const std::vector<uint8_t> bytes = es::test::make_tiny_model(s);
  const auto file = es::gguf::File::from_memory(bytes, "tiny.gguf");
  const es::ModelSummary sum = es::summarize(file);
  const Counts want = count_params(s, es::test::tiny_vocab_tokens().size());
  QCOMPARE(sum.n_params, want.total);
  QCOMPARE(sum.n_params_expert, want.expert);
  QCOMPARE(sum.n_params_active, want.active);
  QCOMPARE(sum.bytes_by_type.size(), size_t{1});
  QCOMPARE(sum.bytes_by_type.at("F32"), want.total * 4);
  QCOMPARE(sum.n_bytes_tensors, want.total * 4);
  QCOMPARE(sum.file_size_bytes, uint64_t{bytes.size()});
  QCOMPARE(sum.tied_embeddings, s.tie_embeddings);
  QCOMPARE(sum.tokenizer.model, std::string("gpt2"));
  QCOMPARE(sum.tokenizer.n_tokens, static_cast<uint32_t>(es::test::tiny_vocab_tokens().size()));
  QCOMPARE(sum.tokenizer.n_merges, static_cast<uint32_t>(es::test::tiny_vocab_merges().size()));
  QCOMPARE(sum.tokenizer.eos_id, int64_t{es::test::tiny_vocab_eos_id()});
  QCOMPARE(sum.tokenizer.bos_id, int64_t{es::test::tiny_vocab_eos_id()});
  QCOMPARE(sum.tokenizer.add_bos, std::optional<bool>(false));
  QVERIFY(sum.tokenizer.has_chat_template);
}

void TestModelInfo::fixture_json() {
  QFETCH(int, index);
  const TinyModelSpec s = es::test::tiny_model_catalog()[index].second;
  const std::vector<uint8_t> bytes = es::test::make_tiny_model(s);
  const auto file = es::gguf::File::from_memory(bytes, "tiny.gguf");
  const es::ModelSummary sum = es::summarize(file);
  QJsonParseError err{};
  const QJsonDocument doc =
      QJsonDocument::fromJson(QByteArray::fromStdString(es::summary_json(sum)), &err);
  QCOMPARE(err.error, QJsonParseError::NoError);
  const QJsonObject o = doc.object();
  // DESIGN.md's `info` contract: these keys at least.
  for (const char* key : {"arch", "n_layer", "n_embd", "n_head", "n_head_kv", "n_ctx_train",
                          "n_vocab", "n_expert", "n_expert_used", "n_expert_shared", "gating",
                          "n_params", "n_params_active", "bytes_by_type", "tokenizer"}) {
    QVERIFY2(o.contains(key), key);
  }
  const Counts want = count_params(s, es::test::tiny_vocab_tokens().size());
  QCOMPARE(o["arch"].toString(), QString::fromUtf8(es::arch_name(s.arch).data()));
  QCOMPARE(o["n_layer"].toInteger(), qint64{s.n_layer});
  QCOMPARE(o["n_expert"].toInteger(), qint64{s.n_expert});
  QCOMPARE(o["n_params"].toInteger(), static_cast<qint64>(want.total));
  QCOMPARE(o["n_params_active"].toInteger(), static_cast<qint64>(want.active));
  QCOMPARE(o["bytes_by_type"].toObject()["F32"].toInteger(), static_cast<qint64>(want.total * 4));
  QCOMPARE(o["gating"].toString(), QString::fromUtf8(es::gating_name(expected_gating(s)).data()));
  const QJsonObject tok = o["tokenizer"].toObject();
  QCOMPARE(tok["model"].toString(), QString("gpt2"));
  QCOMPARE(tok["eos_id"].toInteger(), qint64{es::test::tiny_vocab_eos_id()});
  QCOMPARE(tok["has_chat_template"].toBool(), true);
  QVERIFY(o["pad_id"].isUndefined() && tok["pad_id"].isNull());
  QCOMPARE(es::summary_json(sum, -1).find('\n'), std::string::npos);  // compact form
}

void TestModelInfo::deepseek2_variants() {
  // Softmax with no gating key (DeepSeek V2 / V2.5 files): absent means softmax.
  es::test::TinyModel m = es::test::build_tiny_model(es::test::tiny_spec(Arch::deepseek2));
  QVERIFY(m.erase_key("deepseek2.expert_gating_func"));
  QVERIFY(m.erase_key("deepseek2.expert_weights_norm"));
  QVERIFY(m.erase_tensor("blk.1.exp_probs_b.bias"));  // optional per layer
  const auto bytes = m.bytes();
  const auto file = es::gguf::File::from_memory(bytes, "v2.gguf");
  const es::HParams hp = es::read_hparams(file);
  QCOMPARE(hp.gating, Gating::softmax);
  QCOMPARE(hp.expert_weights_norm, false);
  es::check_tensors(file, hp);
}

void TestModelInfo::vocab_size_fallbacks() {
  es::test::TinyModel m = es::test::build_tiny_model(es::test::tiny_spec(Arch::olmoe));
  m.set("olmoe.vocab_size", uint32_t{9999});  // the token list wins, as in llama.cpp
  auto bytes = m.bytes();
  QCOMPARE(es::read_hparams(es::gguf::File::from_memory(bytes, "a.gguf")).n_vocab, 288u);
  QVERIFY(m.erase_key("tokenizer.ggml.tokens"));
  m.set("olmoe.vocab_size", uint32_t{288});
  bytes = m.bytes();
  QCOMPARE(es::read_hparams(es::gguf::File::from_memory(bytes, "b.gguf")).n_vocab, 288u);
  QVERIFY(m.erase_key("olmoe.vocab_size"));
  bytes = m.bytes();
  const auto file = es::gguf::File::from_memory(bytes, "c.gguf");
  QCOMPARE(es::read_hparams(file).n_vocab, 288u);  // token_embd's rows
  QCOMPARE(es::summarize(file).tokenizer.n_tokens, 0u);
}

void TestModelInfo::per_layer_arrays() {
  es::test::TinyModel m = es::test::build_tiny_model(es::test::tiny_spec(Arch::qwen3moe));
  m.set("qwen3moe.attention.head_count_kv", es::gguf::number_array<uint32_t>({2, 2}));
  auto bytes = m.bytes();
  QCOMPARE(es::read_hparams(es::gguf::File::from_memory(bytes, "a.gguf")).n_head_kv, 2u);
  m.set("qwen3moe.attention.head_count_kv", es::gguf::number_array<uint32_t>({2, 1}));
  bytes = m.bytes();
  const auto file = es::gguf::File::from_memory(bytes, "b.gguf");
  const auto e = error_of([&] { (void)es::read_hparams(file); });
  QVERIFY(e.has_value());
  QCOMPARE(e->kind(), es::ErrorKind::unsupported);
  QVERIFY2(std::string(e->what()).find("qwen3moe.attention.head_count_kv") != std::string::npos,
           e->what());
}

void TestModelInfo::quantized_weight_accepted() {
  // A Q8_0 matrix among F32 tensors: a supported weight type, counted by type.
  es::test::TinyModel m = es::test::build_tiny_model(es::test::tiny_spec(Arch::qwen3moe));
  QVERIFY(m.erase_tensor("blk.0.attn_q.weight"));
  es::gguf::Writer w = m.writer();
  const int64_t rows = 4 * 24, blocks = rows * 64 / 32;
  w.add_tensor("blk.0.attn_q.weight", es::TensorType::Q8_0, {64, rows},
               std::vector<uint8_t>(static_cast<size_t>(blocks * 34), 0));
  const auto bytes = w.to_bytes();
  const es::ModelSummary sum = es::summarize(es::gguf::File::from_memory(bytes, "q.gguf"));
  QCOMPARE(sum.bytes_by_type.at("Q8_0"), static_cast<uint64_t>(blocks * 34));
  QCOMPARE(sum.bytes_by_type.size(), size_t{2});
}

void TestModelInfo::golden_data() {
  QTest::addColumn<QString>("file");
  QTest::addColumn<int>("arch");
  QTest::newRow("deepseek2") << "deepseek2-tiny-f32.gguf" << static_cast<int>(Arch::deepseek2);
  QTest::newRow("qwen3moe") << "qwen3moe-tiny-f32.gguf" << static_cast<int>(Arch::qwen3moe);
  QTest::newRow("olmoe") << "olmoe-tiny-f32.gguf" << static_cast<int>(Arch::olmoe);
}

void TestModelInfo::golden() {
  QFETCH(QString, file);
  QFETCH(int, arch);
  const TinyModelSpec s = golden_spec(static_cast<Arch>(arch));
  const QString path = golden_path(file.toUtf8().constData());
  if (!QFile::exists(path)) QSKIP("../shared/golden is not beside this checkout");
  const auto f = es::gguf::File::open(path.toStdString());
  const es::ModelSummary sum = es::summarize(f);
  const es::HParams& hp = sum.hp;
  QCOMPARE(hp.arch, s.arch);
  QCOMPARE(hp.n_layer, s.n_layer);
  QCOMPARE(hp.n_embd, 128u);
  QCOMPARE(hp.n_head, 4u);
  QCOMPARE(hp.n_vocab, 512u);
  QCOMPARE(hp.n_expert, 16u);
  QCOMPARE(hp.n_expert_used, 4u);
  QCOMPARE(sum.tokenizer.eos_id, int64_t{511});
  const Counts want = count_params(s, 512);
  QCOMPARE(sum.n_params, want.total);
  QCOMPARE(sum.n_params_active, want.active);
  QCOMPARE(sum.bytes_by_type.at("F32"), want.total * 4);
  QCOMPARE(sum.tied_embeddings, false);
  switch (hp.arch) {
    case Arch::deepseek2:
      QCOMPARE(hp.q_lora_rank, 64u);
      QCOMPARE(hp.kv_lora_rank, 64u);
      QCOMPARE(hp.head_dim_k_mla, 48u);  // nope 32 + rope 16
      QCOMPARE(hp.head_dim_v_mla, 24u);
      QCOMPARE(hp.n_rot, 16u);
      QCOMPARE(hp.n_leading_dense, 1u);
      QCOMPARE(hp.n_expert_shared, 1u);
      QCOMPARE(hp.gating, Gating::sigmoid);
      QCOMPARE(hp.n_expert_groups, 4u);
      QCOMPARE(hp.n_group_used, 2u);
      QVERIFY(hp.expert_weights_norm);
      QCOMPARE(hp.expert_weights_scale, 2.5f);
      QVERIFY(hp.mla_split_kv_b());
      QCOMPARE(hp.rope_style, es::RopeStyle::normal);
      break;
    case Arch::qwen3moe:
      QCOMPARE(hp.n_head_kv, 2u);
      QCOMPARE(hp.head_dim_k, 48u);
      QCOMPARE(hp.gating, Gating::softmax);
      QVERIFY(hp.expert_weights_norm);
      QCOMPARE(hp.rope_style, es::RopeStyle::neox);
      break;
    default:
      QCOMPARE(hp.n_head_kv, 4u);
      QCOMPARE(hp.gating, Gating::softmax);
      QVERIFY(!hp.expert_weights_norm);
      QCOMPARE(hp.rope_style, es::RopeStyle::neox);
      break;
  }
}

// Error cases: each mutates a fixture and expects an es::Error of a kind whose message
// names the file and the key or tensor.
namespace {

enum class Mut {
  missing_key,
  wrong_key_type,
  float_count,
  negative_count,
  missing_arch,
  unsupported_arch,
  heads_not_multiple,
  used_over_count,
  missing_tensor,
  extra_tensor,
  extra_layer,
  wrong_shape,
  untied_required,
  unsupported_type,
  quantized_norm,
  ds_missing_kv_lora,
  ds_bad_groups,
  ds_bad_gating,
  ds_old_layout_with_new_tensors,
};

std::vector<uint8_t> mutated(Mut mut) {
  const bool ds = mut >= Mut::ds_missing_kv_lora;
  es::test::TinyModel m = es::test::build_tiny_model(
      es::test::tiny_spec(ds                            ? Arch::deepseek2
                          : mut == Mut::untied_required ? Arch::olmoe
                                                        : Arch::qwen3moe));
  switch (mut) {
    case Mut::missing_key:
      m.erase_key("qwen3moe.expert_count");
      break;
    case Mut::wrong_key_type:
      m.set("qwen3moe.block_count", "three");
      break;
    case Mut::float_count:
      m.set("qwen3moe.expert_used_count", 2.0f);
      break;
    case Mut::negative_count:
      m.set("qwen3moe.embedding_length", int32_t{-64});
      break;
    case Mut::missing_arch:
      m.erase_key("general.architecture");
      break;
    case Mut::unsupported_arch:
      m.set("general.architecture", "deepseek4");
      break;
    case Mut::heads_not_multiple:
      m.set("qwen3moe.attention.head_count_kv", uint32_t{3});
      break;
    case Mut::used_over_count:
      m.set("qwen3moe.expert_used_count", uint32_t{9});
      break;
    case Mut::missing_tensor:
      m.erase_tensor("blk.1.ffn_up_exps.weight");
      break;
    case Mut::extra_tensor:
      m.add_random_tensor("blk.0.ffn_gate_shexp.weight", {64, 32});
      break;
    case Mut::extra_layer:
      m.add_random_tensor("blk.2.attn_norm.weight", {64});
      break;
    case Mut::wrong_shape:
      m.erase_tensor("blk.0.attn_q.weight");
      m.add_random_tensor("blk.0.attn_q.weight", {64, 48});
      break;
    case Mut::untied_required:
      m.erase_tensor("output.weight");
      break;
    case Mut::unsupported_type: {
      m.erase_tensor("blk.0.attn_q.weight");
      es::gguf::Writer w = m.writer();
      w.add_tensor("blk.0.attn_q.weight", es::TensorType::I8, {64, 96}, std::vector<uint8_t>(6144));
      return w.to_bytes();
    }
    case Mut::quantized_norm: {
      m.erase_tensor("blk.0.ffn_norm.weight");
      es::gguf::Writer w = m.writer();
      w.add_tensor("blk.0.ffn_norm.weight", es::TensorType::Q8_0, {64}, std::vector<uint8_t>(68));
      return w.to_bytes();
    }
    case Mut::ds_missing_kv_lora:
      m.erase_key("deepseek2.attention.kv_lora_rank");
      break;
    case Mut::ds_bad_groups:
      m.set("deepseek2.expert_group_count", uint32_t{3});
      break;
    case Mut::ds_bad_gating:
      m.set("deepseek2.expert_gating_func", uint32_t{7});
      break;
    case Mut::ds_old_layout_with_new_tensors:
      m.erase_key("deepseek2.attention.key_length_mla");
      m.erase_key("deepseek2.attention.value_length_mla");
      m.set("deepseek2.attention.key_length", uint32_t{24});
      m.set("deepseek2.attention.value_length", uint32_t{16});
      break;
  }
  return m.bytes();
}

}  // namespace

void TestModelInfo::errors_data() {
  QTest::addColumn<int>("mut");
  QTest::addColumn<int>("kind");
  QTest::addColumn<QStringList>("needles");
  const int bad = static_cast<int>(es::ErrorKind::bad_input);
  const int unsup = static_cast<int>(es::ErrorKind::unsupported);
  auto row = [](const char* name, Mut m, int kind, QStringList needles) {
    QTest::newRow(name) << static_cast<int>(m) << kind << needles;
  };
  row("missing key", Mut::missing_key, bad, {"missing metadata key qwen3moe.expert_count"});
  row("wrong key type", Mut::wrong_key_type, bad, {"qwen3moe.block_count", "string"});
  row("float count", Mut::float_count, bad, {"qwen3moe.expert_used_count", "f32"});
  row("negative count", Mut::negative_count, bad, {"qwen3moe.embedding_length", "negative"});
  row("missing arch", Mut::missing_arch, bad, {"general.architecture"});
  row("unsupported arch", Mut::unsupported_arch, unsup,
      {"architecture \"deepseek4\" is not supported yet", "deepseek2, qwen3moe"});
  row("heads not multiple", Mut::heads_not_multiple, bad,
      {"qwen3moe.attention.head_count", "qwen3moe.attention.head_count_kv", "multiple"});
  row("used over count", Mut::used_over_count, bad,
      {"qwen3moe.expert_used_count", "qwen3moe.expert_count"});
  row("missing tensor", Mut::missing_tensor, bad, {"missing tensor blk.1.ffn_up_exps.weight"});
  row("extra tensor", Mut::extra_tensor, bad, {"unexpected tensor blk.0.ffn_gate_shexp.weight"});
  row("extra layer", Mut::extra_layer, bad, {"unexpected tensor blk.2.attn_norm.weight"});
  row("wrong shape", Mut::wrong_shape, bad, {"blk.0.attn_q.weight", "{64, 48}", "{64, 96}"});
  row("olmoe needs output", Mut::untied_required, bad, {"missing tensor output.weight"});
  row("unsupported type", Mut::unsupported_type, unsup, {"blk.0.attn_q.weight", "I8"});
  row("quantized norm", Mut::quantized_norm, bad, {"blk.0.ffn_norm.weight", "Q8_0"});
  row("deepseek2 missing kv_lora", Mut::ds_missing_kv_lora, bad,
      {"missing metadata key deepseek2.attention.kv_lora_rank"});
  row("deepseek2 bad groups", Mut::ds_bad_groups, bad, {"deepseek2.expert_group_count"});
  row("deepseek2 bad gating", Mut::ds_bad_gating, bad, {"deepseek2.expert_gating_func", "7"});
  row("deepseek2 layout mismatch", Mut::ds_old_layout_with_new_tensors, bad,
      {"missing tensor blk.0.attn_kv_b.weight"});
}

void TestModelInfo::errors() {
  QFETCH(int, mut);
  QFETCH(int, kind);
  QFETCH(QStringList, needles);
  const std::vector<uint8_t> bytes = mutated(static_cast<Mut>(mut));
  const auto file = es::gguf::File::from_memory(bytes, "broken.gguf");
  const auto e = error_of([&] { (void)es::summarize(file); });
  QVERIFY2(e.has_value(), "summarize must throw es::Error");
  const QString what = QString::fromUtf8(e->what());
  QVERIFY2(what.startsWith("broken.gguf: "), qPrintable(what));
  for (const QString& n : needles) QVERIFY2(what.contains(n), qPrintable(what + " lacks " + n));
  QCOMPARE(static_cast<int>(e->kind()), kind);
}

QTEST_GUILESS_MAIN(TestModelInfo)
#include "test_model_info.moc"
