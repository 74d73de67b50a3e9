// The CPU forward pass on quantized weights, against the double reference run on the same
// weights dequantized by the reference dequantizer. The engine multiplies 8-bit-quantized
// activations (as llama.cpp does), so the two differ by that rounding, not more.
#include <QtTest>

#include "expertscope/context.h"
#include "expertscope/model.h"
#include "expertscope/quant.h"
#include "reference_forward.h"
#include "tiny_models.h"

namespace {

/// Weight matrices get `type` where their rows fit its blocks; norms, routers, biases and
/// the selection bias stay F32 (as in real quantized files).
bool quantizable(const es::test::TinyTensor& t, es::TensorType type) {
  if (t.shape.size() < 2) return false;
  // attn_k_b / attn_v_b: the engine absorbs them into queries and outputs (MLA), which
  // rounds different vectors than the reference's plain form; they stay F32 here.
  for (const char* keep :
       {"norm", "ffn_gate_inp", "exp_probs_b", "sinks", ".bias", "attn_k_b", "attn_v_b"}) {
    if (t.name.find(keep) != std::string::npos) return false;
  }
  return t.shape[0] % es::tensor_type_traits(type).block_elems == 0;
}

std::string write_quantized(const es::test::TinyModelSpec& spec, es::TensorType type,
                            const QString& path, int* n_quantized) {
  const es::test::TinyModel tiny = es::test::build_tiny_model(spec);
  es::gguf::Writer w;
  for (const auto& [k, v] : tiny.metadata) w.set(k, v);
  *n_quantized = 0;
  for (const auto& t : tiny.tensors) {
    if (!quantizable(t, type)) {
      w.add_tensor_f32(t.name, t.shape, t.data);
      continue;
    }
    const size_t row_bytes = es::quant::row_bytes(type, t.shape[0]);
    const size_t n_rows = t.data.size() / static_cast<size_t>(t.shape[0]);
    std::vector<uint8_t> bytes(row_bytes * n_rows);
    for (size_t r = 0; r < n_rows; ++r) {
      es::quant::quantize_row_ref(type, t.data.data() + r * t.shape[0],
                                  bytes.data() + r * row_bytes, t.shape[0]);
    }
    w.add_tensor(t.name, type, t.shape, std::move(bytes));
    ++*n_quantized;
  }
  w.write(path.toStdString());
  return path.toStdString();
}

}  // namespace

class TestForwardQuant : public QObject {
  Q_OBJECT

 private slots:
  void matchesReferenceOnDequantizedWeights_data() {
    QTest::addColumn<int>("arch");
    QTest::addColumn<int>("type");
    QTest::addColumn<int>("width");
    QTest::addColumn<double>("max_nmse");
    using T = es::TensorType;
    const auto row = [](const char* name, es::Arch a, T t, int width, double bound) {
      QTest::newRow(name) << static_cast<int>(a) << static_cast<int>(t) << width << bound;
    };
    // The reference rounds activations as the engine does, so the bound is the F32 one.
    row("qwen3moe F16", es::Arch::qwen3moe, T::F16, 64, 1e-6);
    row("qwen3moe BF16", es::Arch::qwen3moe, T::BF16, 64, 1e-6);
    row("qwen3moe Q8_0", es::Arch::qwen3moe, T::Q8_0, 64, 1e-6);
    row("deepseek2 Q8_0", es::Arch::deepseek2, T::Q8_0, 64, 1e-6);
    row("olmoe Q4_0", es::Arch::olmoe, T::Q4_0, 64, 1e-6);
    row("mixtral Q4_1", es::Arch::llama, T::Q4_1, 64, 1e-6);
    row("qwen2moe Q5_0", es::Arch::qwen2moe, T::Q5_0, 64, 1e-6);
    row("gpt-oss Q5_1", es::Arch::gpt_oss, T::Q5_1, 64, 1e-6);
    row("gpt-oss Q8_0", es::Arch::gpt_oss, T::Q8_0, 64, 1e-6);
    row("gpt-oss F16", es::Arch::gpt_oss, T::F16, 64, 1e-6);
    row("mixtral Q8_0", es::Arch::llama, T::Q8_0, 64, 1e-6);
    row("qwen3moe Q4_1", es::Arch::qwen3moe, T::Q4_1, 64, 1e-6);
    row("qwen3moe Q5_1", es::Arch::qwen3moe, T::Q5_1, 64, 1e-6);
    row("qwen3moe Q2_K", es::Arch::qwen3moe, T::Q2_K, 256, 1e-6);
    row("qwen3moe Q3_K", es::Arch::qwen3moe, T::Q3_K, 256, 1e-6);
    row("deepseek2 Q4_K", es::Arch::deepseek2, T::Q4_K, 256, 1e-6);
    row("olmoe Q5_K", es::Arch::olmoe, T::Q5_K, 256, 1e-6);
    row("qwen3moe Q6_K", es::Arch::qwen3moe, T::Q6_K, 256, 1e-6);
  }

  void matchesReferenceOnDequantizedWeights() {
    QFETCH(int, arch);
    QFETCH(int, type);
    QFETCH(int, width);
    QFETCH(double, max_nmse);
    es::test::TinyModelSpec spec = es::test::tiny_spec(static_cast<es::Arch>(arch));
    if (width != 64) {
      spec.n_embd = static_cast<uint32_t>(width);
      spec.head_dim = static_cast<uint32_t>(width / spec.n_head);
      spec.n_ff = spec.n_ff_exp = spec.n_ff_shexp = static_cast<uint32_t>(width);
    }
    QTemporaryDir dir;
    int n_quantized = 0;
    const auto path = write_quantized(spec, static_cast<es::TensorType>(type),
                                      dir.filePath("q.gguf"), &n_quantized);
    QVERIFY(n_quantized >= 4);
    const auto model = es::Model::load(path);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 16; ++i)
      tokens.push_back((i * 37 + 5) % static_cast<int>(model->hparams().n_vocab));
    es::test::RefOptions options;
    options.round_activations = true;
    const auto ref = es::test::reference_forward(model->file(), model->hparams(), tokens, options);
    es::ContextParams p;
    p.n_ctx = 32;
    p.kv_f16 = false;
    es::Context ctx(model, p);
    QVERIFY(ctx.decode(tokens, es::LogitsRows::all));
    double num = 0, den = 0;
    for (uint32_t r = 0; r < ctx.n_logit_rows(); ++r) {
      for (size_t i = 0; i < ctx.logits(r).size(); ++i) {
        const double d = ctx.logits(r)[i] - ref.logits[r][i];
        num += d * d;
        den += ref.logits[r][i] * ref.logits[r][i];
      }
    }
    qInfo("%s: %d tensors quantized, logits NMSE %.3g", QTest::currentDataTag(), n_quantized,
          num / den);
    QVERIFY(num / den <= max_nmse);
  }
};

QTEST_GUILESS_MAIN(TestForwardQuant)
#include "test_forward_quant.moc"
