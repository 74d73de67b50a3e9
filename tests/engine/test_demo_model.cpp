// The bundled demo model (resources/demo-model): it is where demo_model_path() says, loads
// with its projector, tokenizes as the recipe's tokenizer did, gives the logits the recipe's
// PyTorch model gives with the weights the F16 file keeps (the reference written by
// evaluate.py --write-reference), and answers about its sample picture and clip.
#include <QFile>
#include <QTest>
#include <cstring>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "expertscope/context.h"
#include "expertscope/demo_model.h"
#include "expertscope/model.h"
#include "expertscope/model_info.h"
#include "expertscope/projector.h"
#include "expertscope/tokenizer.h"

using namespace es;

namespace {

const std::string kDir = ES_SOURCE_DIR "/resources/demo-model";

std::vector<int32_t> reference_tokens() {
  QFile f(QString::fromStdString(kDir + "/reference/verse.tokens"));
  if (!f.open(QIODevice::ReadOnly)) return {};
  std::vector<int32_t> ids;
  for (const QByteArray& t : f.readAll().trimmed().split(',')) ids.push_back(t.toInt());
  return ids;
}

std::vector<float> reference_logits() {
  QFile f(QString::fromStdString(kDir + "/reference/verse.f32"));
  if (!f.open(QIODevice::ReadOnly)) return {};
  const QByteArray b = f.readAll();
  std::vector<float> v(static_cast<size_t>(b.size()) / sizeof(float));
  std::memcpy(v.data(), b.constData(), v.size() * sizeof(float));
  return v;
}

}  // namespace

class TestDemoModel : public QObject {
  Q_OBJECT

  std::shared_ptr<const Model> model_;

  /// NMSE of the engine's logits on `backend` against the reference, or 1 when a
  /// position's argmax differs from the reference's (-1 when it cannot be computed).
  double logits_nmse(const std::string& backend) {
    const std::vector<int32_t> ids = reference_tokens();
    const std::vector<float> want = reference_logits();
    const uint32_t n_vocab = model_->hparams().n_vocab;
    if (want.size() != ids.size() * n_vocab) return -1;
    ContextParams p;
    p.n_ctx = 64;
    p.kv_f16 = false;
    p.backend = backend;
    Context ctx(model_, p);
    if (!ctx.decode(ids, LogitsRows::all)) return -1;
    double num = 0, den = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::span<const float> got = ctx.logits(static_cast<uint32_t>(i));
      const float* w = want.data() + i * n_vocab;
      size_t best_got = 0, best_want = 0;
      for (size_t v = 0; v < n_vocab; ++v) {
        num += (double{got[v]} - w[v]) * (double{got[v]} - w[v]);
        den += double{w[v]} * w[v];
        if (got[v] > got[best_got]) best_got = v;
        if (w[v] > w[best_want]) best_want = v;
      }
      if (best_got != best_want) {
        const double margin = double{w[best_want]} - w[best_got];
        qInfo("%s: position %zu argmax %zu, reference %zu (reference margin %.4f)", backend.c_str(),
              i, best_got, best_want, margin);
        return 1.0;
      }
    }
    return num / den;
  }

 private slots:
  void initTestCase() {
    qunsetenv("EXPERTSCOPE_DEMO_MODEL");
    const auto path = demo_model_path();
    QVERIFY2(!path.empty(), "the bundled demo model is missing");
    model_ = Model::load(path);
    QCOMPARE(std::string(arch_name(model_->hparams().arch)), std::string("deepseek2"));
  }

  void its_projector_is_beside_it() {
    const auto pj = Projector::find_beside(demo_model_path());
    QVERIFY(!pj.empty());
    const auto projector = Projector::load(pj, *model_);
    QCOMPARE(projector->image_tokens(), 36u);
    QCOMPARE(projector->frame_tokens(), 36u);  // frames are read unpooled (video_pool 1)
  }

  void it_tokenizes_as_the_recipe_did() {
    const Tokenizer tok = Tokenizer::from_gguf(model_->file());
    const std::vector<TokenId> got =
        tok.encode("In the beginning God created the heaven and the earth.", EncodeOptions{});
    const std::vector<int32_t> want = reference_tokens();
    QCOMPARE(std::vector<int32_t>(got.begin(), got.end()), want);
  }

  // F16 weights meet f32 activations on both backends, as PyTorch computes with the same
  // rounded weights: only the order of float32 sums separates them (measured on these 11
  // tokens: CPU 1e-13, Vulkan 1.4e-13).
  void its_logits_match_the_pytorch_model() {
    const double vk = logits_nmse("vulkan");
    const double cpu = logits_nmse("cpu");
    qInfo("logits NMSE: Vulkan %.3g, CPU %.3g", vk, cpu);
    QVERIFY2(vk >= 0 && vk <= 1e-10, std::to_string(vk).c_str());
    QVERIFY2(cpu >= 0 && cpu <= 1e-10, std::to_string(cpu).c_str());
  }

  /// The greedy answer of `generate -m demo` (CPU) to `question` about samples/`file`,
  /// attached with `flag` (--image or --video); empty after a failed run.
  static QByteArray answer(const char* question, const char* flag, const char* file) {
    const es::test::CliRun r = es::test::run_cli(
        {"generate", "-m", "demo", "--backend", "cpu", "--chat", question, flag,
         QString::fromStdString(kDir + "/samples/" + file), "--temp", "0", "-n", "40"});
    if (r.exit_code != 0) qWarning("generate failed: %s", r.err.constData());
    return r.exit_code == 0 ? r.out : QByteArray();
  }

  // Greedy: the colours and places of the sample picture's two shapes (samples.json: "A
  // small yellow triangle on the left and a small black cross at the bottom left.").
  void it_answers_about_the_sample_picture() {
    const QByteArray a = answer("Describe the picture.", "--image", "scene.png");
    QVERIFY2(a.contains("yellow") && a.contains("black") && a.contains("left"), a.constData());
  }

  // Greedy, from the MP4 as a user would drop it (six frames, H.264): samples.json says "A
  // purple square moves down."
  void it_answers_about_the_sample_clip() {
    const QByteArray a = answer("What happens?", "--video", "clip.mp4");
    QVERIFY2(a.contains("purple") && a.contains("square") && a.contains("down"), a.constData());
  }
};

QTEST_GUILESS_MAIN(TestDemoModel)
#include "test_demo_model.moc"
