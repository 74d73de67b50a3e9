// The patch projector: its file is checked against the model; it encodes an image exactly
// as a naive double-precision reading of its definition does; projected rows injected in
// place of token embeddings change what the model computes, run the same on the CPU and
// on Vulkan, survive a switch to the CPU (the cache is recomputed with them), and are
// tagged image or video in a routing trace.
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <random>

#include "cli_runner.h"
#include "expertscope/context.h"
#include "expertscope/error.h"
#include "expertscope/projector.h"
#include "expertscope/trace.h"
#include "tiny_models.h"
#include "tiny_projector.h"

using namespace es;

namespace {

RgbImage random_image(uint32_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  RgbImage img{size, size, std::vector<uint8_t>(size_t{size} * size * 3)};
  for (uint8_t& v : img.rgb) v = static_cast<uint8_t>(rng() & 0xff);
  return img;
}

ContextParams params(const std::string& backend) {
  ContextParams p;
  p.n_ctx = 128;
  p.kv_f16 = false;
  p.n_threads = 2;
  p.backend = backend;
  return p;
}

double nmse(std::span<const float> got, std::span<const float> want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (double{got[i]} - want[i]) * (double{got[i]} - want[i]);
    den += double{want[i]} * want[i];
  }
  return num / den;
}

}  // namespace

class TestProjector : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  std::shared_ptr<const Model> model_;
  std::string projector_path_;

  /// text, [image_begin] image rows [image_end], text: the logits of the last row.
  std::vector<float> run_image(Context& ctx, const Projector& pj, const RgbImage& img,
                               RoutingTrace* trace = nullptr) {
    const std::vector<int32_t> before = {10, 20, 30};
    const std::vector<int32_t> after = {40, 50};
    std::vector<float> rows;
    pj.encode_image(img, rows);
    const std::vector<int32_t> pads(pj.image_tokens(), pj.tokens().pad);
    const auto step = [&](std::span<const int32_t> toks, Modality m, std::span<const float> e) {
      const auto start = static_cast<int32_t>(ctx.n_past());
      if (!ctx.decode(toks, LogitsRows::last, nullptr, e)) throw Error(ErrorKind::io, "cancelled");
      if (trace != nullptr) {
        std::vector<int32_t> pos(toks.size());
        for (size_t i = 0; i < pos.size(); ++i) pos[i] = start + static_cast<int32_t>(i);
        trace->append(ctx.routing(), toks, pos, m);
      }
    };
    step(before, Modality::text, {});
    step(std::vector<int32_t>{pj.tokens().image_begin}, Modality::text, {});
    step(pads, Modality::image, rows);
    step(std::vector<int32_t>{pj.tokens().image_end}, Modality::text, {});
    step(after, Modality::text, {});
    const auto l = ctx.logits(0);
    return {l.begin(), l.end()};
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    const std::string model_path = dir_.filePath("olmoe.gguf").toStdString();
    test::write_tiny_model(test::tiny_spec(Arch::olmoe), model_path);
    model_ = Model::load(model_path);
    projector_path_ = dir_.filePath("olmoe.mmproj.gguf").toStdString();
    test::TinyProjectorSpec ps;
    ps.n_embd = model_->hparams().n_embd;
    test::write_tiny_projector(ps, projector_path_);
  }

  void the_projector_is_found_beside_the_model() {
    QCOMPARE(Projector::find_beside(dir_.filePath("olmoe.gguf").toStdString()).string(),
             projector_path_);
    QVERIFY(Projector::find_beside(dir_.filePath("other.gguf").toStdString()).empty());
  }

  void a_bad_projector_is_refused_by_name_data() {
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("message");
    QTest::newRow("width") << "width"
                           << "made for a model of width 32";
    QTest::newRow("token") << "token"
                           << "outside the model's vocabulary";
    QTest::newRow("tensor") << "tensor"
                            << "missing tensor pos_embd.weight";
    QTest::newRow("arch") << "arch"
                          << "not a projector this version knows";
    QTest::newRow("grid") << "grid"
                          << "not a multiple of patch_size";
    QTest::newRow("stem weight shape") << "stem-shape"
                                       << "tensor conv.0.weight has shape 18 × 4, expected 9 × 3";
    QTest::newRow("stem stride") << "stem-stride"
                                 << "conv.0.stride is not 1 to 4";
  }

  void a_bad_projector_is_refused_by_name() {
    QFETCH(QString, what);
    QFETCH(QString, message);
    test::TinyProjectorSpec ps;
    ps.n_embd = model_->hparams().n_embd;
    if (what == "width") ps.n_embd = 32;
    if (what == "token") ps.pad = 100000;
    if (what == "grid") ps.image_size = 18;
    if (what.startsWith("stem")) {
      ps.conv_channels = {4};
      ps.conv_strides = {what == "stem-stride" ? 5u : 1u};
    }
    test::TinyModel m = test::build_tiny_projector(ps);
    if (what == "stem-shape") {  // 2 input channels' worth of weights where RGB has 3
      std::erase_if(m.tensors, [](auto& t) { return t.name == "conv.0.weight"; });
      m.add_random_tensor("conv.0.weight", {18, 4}, ps.seed);
    }
    if (what == "tensor")
      std::erase_if(m.tensors, [](auto& t) { return t.name == "pos_embd.weight"; });
    if (what == "arch") m.set("general.architecture", gguf::Value(std::string("clip")));
    const std::string path = dir_.filePath("bad-" + what + ".gguf").toStdString();
    try {
      m.writer().write(path);
      (void)Projector::load(path, *model_);
      QFAIL("expected an error");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
      QVERIFY2(std::string(e.what()).find(message.toStdString()) != std::string::npos, e.what());
    }
  }

  /// encode_image against the definition, computed in double from the file's tensors.
  void an_image_encodes_as_defined() {
    const auto pj = Projector::load(projector_path_, *model_);
    QCOMPARE(pj->image_size(), 16u);
    QCOMPARE(pj->image_tokens(), 16u);
    QCOMPARE(pj->frame_tokens(), 4u);
    const RgbImage img = random_image(16, 3);
    std::vector<float> got;
    pj->encode_image(img, got);
    QCOMPARE(got.size(), size_t{16} * pj->n_embd());
    test::TinyProjectorSpec ps;
    ps.n_embd = model_->hparams().n_embd;
    const test::TinyModel t = test::build_tiny_projector(ps);
    const auto tensor = [&](const char* name) -> const std::vector<float>& {
      for (const auto& x : t.tensors)
        if (x.name == name) return x.data;
      throw Error(ErrorKind::usage, name);
    };
    const auto& W = tensor("patch.weight");
    const auto& B = tensor("patch.bias");
    const auto& P = tensor("pos_embd.weight");
    const auto& N = tensor("post_norm.weight");
    const uint32_t E = pj->n_embd();
    std::vector<float> want;
    for (uint32_t gy = 0; gy < 4; ++gy) {
      for (uint32_t gx = 0; gx < 4; ++gx) {
        std::vector<double> row(E);
        for (uint32_t e = 0; e < E; ++e) {
          double s = B[e] + P[(gy * 4 + gx) * E + e];
          for (uint32_t y = 0; y < 4; ++y) {
            for (uint32_t i = 0; i < 12; ++i) {
              const double v = img.rgb[((gy * 4 + y) * 16 + gx * 4) * 3 + i] / 127.5 - 1.0;
              s += W[size_t{e} * 48 + y * 12 + i] * v;
            }
          }
          row[e] = s;
        }
        double ss = 0;
        for (const double v : row) ss += v * v;
        const double inv = 1.0 / std::sqrt(ss / E + 1e-6);
        for (uint32_t e = 0; e < E; ++e) want.push_back(static_cast<float>(row[e] * inv * N[e]));
      }
    }
    QVERIFY(nmse(got, want) <= 1e-12);
    // Wrong sizes are the caller's mistake, said so.
    QVERIFY_THROWS_EXCEPTION(Error, pj->encode_image(random_image(8, 1), got));
    QVERIFY_THROWS_EXCEPTION(Error, pj->encode_frame(img, 8, got));
  }

  /// With a convolutional stem (3 × 3, padding 1, GELU; strides 1 then 2), against the
  /// definition in double: the stem's feature map, then 2 × 2-cell patches of it.
  void a_stem_encodes_as_defined() {
    test::TinyProjectorSpec ps;
    ps.n_embd = model_->hparams().n_embd;
    ps.conv_channels = {4, 5};
    ps.conv_strides = {1, 2};
    const std::string path = dir_.filePath("stem.gguf").toStdString();
    const test::TinyModel t = test::build_tiny_projector(ps);
    t.writer().write(path);
    const auto pj = Projector::load(path, *model_);
    QCOMPARE(pj->image_tokens(), 16u);
    const RgbImage img = random_image(16, 4);
    std::vector<float> got, frame;
    pj->encode_image(img, got);
    pj->encode_frame(img, 1, frame);
    const auto tensor = [&](const std::string& name) -> const std::vector<float>& {
      for (const auto& x : t.tensors)
        if (x.name == name) return x.data;
      throw Error(ErrorKind::usage, name);
    };
    // The feature map [side][side][c], channels innermost.
    uint32_t side = 16, c = 3;
    std::vector<double> map(img.rgb.size());
    for (size_t i = 0; i < map.size(); ++i) map[i] = img.rgb[i] / 127.5 - 1.0;
    for (size_t l = 0; l < 2; ++l) {
      const auto& W = tensor("conv." + std::to_string(l) + ".weight");
      const auto& B = tensor("conv." + std::to_string(l) + ".bias");
      const uint32_t stride = ps.conv_strides[l], co = ps.conv_channels[l], n = side / stride;
      std::vector<double> next(size_t{n} * n * co);
      for (uint32_t oy = 0; oy < n; ++oy)
        for (uint32_t ox = 0; ox < n; ++ox)
          for (uint32_t o = 0; o < co; ++o) {
            double s = B[o];
            for (uint32_t i = 0; i < c; ++i)
              for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx) {
                  const int y = int(oy * stride) + ky - 1, x = int(ox * stride) + kx - 1;
                  if (y < 0 || x < 0 || y >= int(side) || x >= int(side)) continue;
                  s += W[(o * c + i) * 9 + ky * 3 + kx] * map[(size_t(y) * side + x) * c + i];
                }
            next[(size_t{oy} * n + ox) * co + o] = 0.5 * s * (1.0 + std::erf(s / std::sqrt(2.0)));
          }
      map.swap(next);
      side = n;
      c = co;
    }
    QCOMPARE(side, 8u);
    const auto& W = tensor("patch.weight");
    const auto& B = tensor("patch.bias");
    const auto& P = tensor("pos_embd.weight");
    const auto& T = tensor("temporal_embd.weight");
    const auto& N = tensor("post_norm.weight");
    const uint32_t E = pj->n_embd(), in = c * 4;
    std::vector<std::vector<double>> rows(16, std::vector<double>(E));
    for (uint32_t gy = 0; gy < 4; ++gy)
      for (uint32_t gx = 0; gx < 4; ++gx)
        for (uint32_t e = 0; e < E; ++e) {
          double s = B[e] + P[(gy * 4 + gx) * E + e];
          for (uint32_t y = 0; y < 2; ++y)
            for (uint32_t x = 0; x < 2; ++x)
              for (uint32_t i = 0; i < c; ++i)
                s += W[size_t{e} * in + (y * 2 + x) * c + i] *
                     map[((gy * 2 + y) * side + gx * 2 + x) * c + i];
          rows[gy * 4 + gx][e] = s;
        }
    const auto norm = [&](std::vector<double> r, std::vector<float>& out) {
      double ss = 0;
      for (const double v : r) ss += v * v;
      const double inv = 1.0 / std::sqrt(ss / E + 1e-6);
      for (uint32_t e = 0; e < E; ++e) out.push_back(static_cast<float>(r[e] * inv * N[e]));
    };
    std::vector<float> want, want_frame;
    for (const auto& r : rows) norm(r, want);
    for (uint32_t py = 0; py < 2; ++py)  // frames: 2 × 2 rows pooled, temporal embedding added
      for (uint32_t px = 0; px < 2; ++px) {
        std::vector<double> r(E);
        for (uint32_t e = 0; e < E; ++e) {
          for (uint32_t d = 0; d < 4; ++d) r[e] += rows[(py * 2 + d / 2) * 4 + px * 2 + d % 2][e];
          r[e] = r[e] / 4 + T[E + e];
        }
        norm(r, want_frame);
      }
    QVERIFY(nmse(got, want) <= 1e-12);
    QVERIFY(nmse(frame, want_frame) <= 1e-12);
    // A stem whose strides do not divide the patch is refused by name.
    test::TinyModel m = test::build_tiny_projector(ps);
    m.set("es-patch.conv.1.stride", gguf::Value(uint32_t{3}));
    const std::string bad_path = dir_.filePath("bad-stem.gguf").toStdString();
    m.writer().write(bad_path);
    try {
      (void)Projector::load(bad_path, *model_);
      QFAIL("expected an error");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("do not divide") != std::string::npos, e.what());
    }
  }

  /// The image changes what the model computes; the trace tags its rows as image.
  void an_image_reaches_the_model() {
    const auto pj = Projector::load(projector_path_, *model_);
    RoutingTrace trace;
    Context a(model_, params("cpu"));
    const auto red = run_image(a, *pj, random_image(16, 1), &trace);
    Context b(model_, params("cpu"));
    const auto blue = run_image(b, *pj, random_image(16, 2));
    QVERIFY(nmse(red, blue) > 1e-4);
    QCOMPARE(trace.n_tokens(), 3u + 1 + 16 + 1 + 2);
    for (uint32_t t = 0; t < trace.n_tokens(); ++t) {
      const bool image = t >= 4 && t < 20;
      QCOMPARE(trace.modality(t), image ? Modality::image : Modality::text);
    }
    // A context of the same tokens without the image rows computes something else.
    Context c(model_, params("cpu"));
    std::vector<int32_t> plain = {10, 20, 30, pj->tokens().image_begin};
    plain.insert(plain.end(), pj->image_tokens(), pj->tokens().pad);
    plain.push_back(pj->tokens().image_end);
    plain.push_back(40);
    plain.push_back(50);
    QVERIFY(c.decode(plain, LogitsRows::last));
    QVERIFY(nmse(c.logits(0), red) > 1e-4);
  }

  void the_device_sees_the_same_image() {
    const auto pj = Projector::load(projector_path_, *model_);
    Context cpu(model_, params("cpu"));
    const auto want = run_image(cpu, *pj, random_image(16, 5));
    try {
      Context dev(model_, params("vulkan"));
      if (dev.backend_name() != "vulkan") QSKIP("no Vulkan device");
      const auto got = run_image(dev, *pj, random_image(16, 5));
      QVERIFY(nmse(got, want) <= 1e-10);
    } catch (const Error& e) {
      QSKIP(e.what());
    }
    // A device lost after the image: the CPU recomputes the cache with the image's rows.
    qputenv("EXPERTSCOPE_VULKAN_FAULT", "lost@6");
    Context lost(model_, params("vulkan"));
    const auto got = run_image(lost, *pj, random_image(16, 5));
    qunsetenv("EXPERTSCOPE_VULKAN_FAULT");
    QCOMPARE(std::string(lost.backend_name()), std::string("cpu"));
    QVERIFY(nmse(got, want) <= 1e-10);
  }

  // `media-info FILE -m MODEL`: what the file costs this model's projector — an image its
  // grid plus two markers, a video 1 frame a second capped at the projector's 8 frames,
  // 4 rows each; a model without a projector says so; "-m demo" without the demo model is
  // an error naming it.
  void media_info_counts_tokens_for_a_model() {
    const QString pic = dir_.filePath("mi.png");
    const QString clip = dir_.filePath("mi.mp4");
    for (const QStringList& a :
         {QStringList{"-f", "lavfi", "-i", "testsrc=size=40x30", "-frames:v", "1", pic},
          QStringList{"-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=12", "-c:v",
                      "mpeg4", clip}}) {
      QProcess ff;
      ff.start("ffmpeg", QStringList{"-loglevel", "error", "-y"} + a);
      QVERIFY(ff.waitForFinished(-1));
      QCOMPARE(ff.exitCode(), 0);
    }
    const QString model = dir_.filePath("olmoe.gguf");
    es::test::CliRun r = es::test::run_cli({"media-info", "--compact", pic, "-m", model});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["n_tokens"].toInt(), 16 + 2);
    QCOMPARE(o["projector"].toString(), QString::fromStdString(projector_path_));
    r = es::test::run_cli({"media-info", "--compact", clip, "-m", model});
    QVERIFY2(r.exit_code == 0, r.err.constData());
    o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["frames_sampled"].toInt(), 8);
    QCOMPARE(o["n_tokens"].toInt(), 8 * 4 + 2);
    const QString bare = dir_.filePath("bare.gguf");
    QVERIFY(QFile::copy(model, bare));
    r = es::test::run_cli({"media-info", "--compact", pic, "-m", bare});
    QCOMPARE(r.exit_code, 0);
    o = QJsonDocument::fromJson(r.out).object();
    QVERIFY(o.contains("projector") && o["projector"].isNull());
    QVERIFY(!o.contains("n_tokens"));
    qputenv("EXPERTSCOPE_DEMO_MODEL", dir_.filePath("absent.gguf").toUtf8());
    r = es::test::run_cli({"media-info", pic, "-m", "demo"});
    qunsetenv("EXPERTSCOPE_DEMO_MODEL");
    QCOMPARE(r.exit_code, 3);
    QVERIFY2(r.err.startsWith("error: demo: "), r.err.constData());
  }
};

QTEST_GUILESS_MAIN(TestProjector)
#include "test_projector.moc"
