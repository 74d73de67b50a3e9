// expertscope-cli convert end to end: tiny random Hugging Face checkpoints of every
// supported model_type (tests/hf/checkpoints/make_checkpoints.py, run by /usr/bin/python3
// with torch) are converted and run by the engine, whose logits must match the
// checkpoints' own float64 forward (written from the Hugging Face modelling code); the
// demo model's checkpoint against its recipe's PyTorch code; the es-patch projector
// beside it; the metadata and types written; broken checkpoints refused with one error
// line naming the file and nothing written; the safetensors header parser on its own.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cli_runner.h"
#include "expertscope/context.h"
#include "expertscope/error.h"
#include "expertscope/model.h"
#include "expertscope/projector.h"
#include "expertscope/safetensors.h"

using es::test::run_cli;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

QString script_path() {
  return QStringLiteral(ES_SOURCE_DIR "/tests/hf/checkpoints/make_checkpoints.py");
}

bool demo_recipe_exists() {
  return QFile::exists(QStringLiteral(ES_SOURCE_DIR "/resources/demo-model/recipe/model.py"));
}

QByteArray read_all(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.readAll();
}

bool write_all(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
  return f.write(bytes) == bytes.size();
}

std::vector<double> read_f64(const QString& path) {
  const QByteArray b = read_all(path);
  std::vector<double> v(static_cast<size_t>(b.size()) / sizeof(double));
  std::memcpy(v.data(), b.constData(), v.size() * sizeof(double));
  return v;
}

std::vector<int32_t> ints(const QJsonArray& a) {
  std::vector<int32_t> v;
  for (const auto& x : a) v.push_back(x.toInt());
  return v;
}

double nmse(std::span<const float> got, std::span<const double> want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return num / den;
}

size_t argmax(std::span<const float> v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

size_t argmax(std::span<const double> v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

es::ContextParams exact_params() {
  es::ContextParams p;
  p.n_ctx = 128;
  p.n_batch = 64;
  p.n_threads = 2;
  p.backend = "cpu";
  p.kv_f16 = false;
  return p;
}

// A safetensors file split into its header JSON and its data section, to damage one part.
struct Safetensors {
  QJsonObject header;
  QByteArray data;

  static Safetensors read(const QString& path) {
    const QByteArray b = read_all(path);
    uint64_t n = 0;
    std::memcpy(&n, b.constData(), 8);
    Safetensors s;
    s.header = QJsonDocument::fromJson(b.mid(8, static_cast<qsizetype>(n))).object();
    s.data = b.mid(static_cast<qsizetype>(8 + n));
    return s;
  }
  [[nodiscard]] QByteArray bytes() const {
    const QByteArray h = QJsonDocument(header).toJson(QJsonDocument::Compact);
    const uint64_t n = static_cast<uint64_t>(h.size());
    QByteArray out(reinterpret_cast<const char*>(&n), 8);
    return out + h + data;
  }
  void set(const QString& tensor, const QString& key, const QJsonValue& value) {
    QJsonObject t = header[tensor].toObject();
    t[key] = value;
    header[tensor] = t;
  }
};

bool copy_dir(const QString& from, const QString& to) {
  QDir().mkpath(to);
  for (const QString& f : QDir(from).entryList(QDir::Files)) {
    if (!QFile::copy(from + "/" + f, to + "/" + f)) return false;
  }
  return true;
}

}  // namespace

class TestConvert : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  bool have_torch_ = false;
  QString skip_reason_;

  [[nodiscard]] QString ckpt(const QString& name) const { return dir_.filePath(name); }
  [[nodiscard]] QString ref(const QString& name) const { return dir_.filePath(name + ".ref"); }
  [[nodiscard]] QJsonObject reference(const QString& name) const {
    return QJsonDocument::fromJson(read_all(ref(name) + "/reference.json")).object();
  }

  /// Converts case `name` to `type`; returns the output path (empty on failure, reported).
  QString convert(const QString& name, const QString& type, es::test::CliRun* run = nullptr) {
    const QString out = dir_.filePath(name + "-" + type + ".gguf");
    const auto r = run_cli({"convert", ckpt(name), "-o", out, "--type", type});
    if (run != nullptr) *run = r;
    if (r.exit_code != 0) {
      qWarning("convert %s: exit %d: %s", qPrintable(name), r.exit_code, r.err.constData());
      return {};
    }
    return out;
  }

  void requireTorch() {
    if (!have_torch_) QSKIP(qPrintable(skip_reason_));
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    QProcess probe;
    probe.start(kPython, {"-c", "import torch, numpy"});
    if (!probe.waitForStarted(-1) || !probe.waitForFinished(-1) || probe.exitCode() != 0) {
      skip_reason_ = QStringLiteral("/usr/bin/python3 cannot import torch and numpy: ") +
                     QString::fromUtf8(probe.readAllStandardError()).left(200);
      return;
    }
    QStringList args{script_path(), dir_.path(), "deepseek_v2", "deepseek_v3",
                     "qwen3_moe",   "qwen2_moe", "olmoe",       "mixtral"};
    if (demo_recipe_exists()) args << "demo";
    QProcess gen;
    gen.start(kPython, args);
    QVERIFY(gen.waitForStarted(-1));
    QVERIFY(gen.waitForFinished(-1));
    QVERIFY2(gen.exitStatus() == QProcess::NormalExit && gen.exitCode() == 0,
             gen.readAllStandardError().constData());
    have_torch_ = true;
  }

  /// The engine's logits on the converted file against the checkpoint's own forward, for
  /// every position of three sequences (the longest runs past YaRN's original context),
  /// and greedy continuations. Bounds by output type:
  ///  - F32: the engine's float32 arithmetic against a float64 reference, nothing else
  ///    (measured 3e-14 to 3e-13); 1e-9 leaves room for summation order only.
  ///  - F16 from F16 or BF16 weights, BF16 from BF16: the same (the values are exact).
  ///  - F16 from F32 weights: every weight rounded to an 11-bit mantissa (2.8e-4
  ///    relative rms) through 2-3 random blocks: measured 2e-7 to 1.8e-6; bound 2e-5.
  ///  - Q8_0: weights in 32-value blocks of 8 bits (0.5 % rms) and 8-bit activations, and
  ///    a routing choice that flips where two experts' scores lie within that rounding:
  ///    the median position's NMSE (measured 2e-4 to 3e-3) must stay under 1e-2 and at
  ///    least 85 % of the positions keep their argmax (measured 91 % to 100 %).
  void logitsMatchReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("type");
    QTest::addColumn<double>("bound");
    QTest::addColumn<bool>("greedy");
    const std::pair<const char*, bool> cases[] = {
        {"deepseek_v2", false}, {"deepseek_v3", true}, {"qwen3_moe", false}, {"qwen2_moe", true},
        {"olmoe", false},       {"mixtral", false},    {"demo", true},
    };
    for (const auto& [name, f32_source] : cases) {
      const QByteArray n(name);
      QTest::newRow(n + " F32") << QString(name) << "F32" << 1e-9 << true;
      QTest::newRow(n + " F16") << QString(name) << "F16" << (f32_source ? 2e-5 : 1e-9) << true;
      QTest::newRow(n + " Q8_0") << QString(name) << "Q8_0" << 1e-2 << false;
    }
    // BF16 out of BF16 weights is exact; a K-quant whose rows (64) are not whole 256-value
    // blocks falls back to F16, exact for F16 weights.
    QTest::newRow("olmoe BF16") << "olmoe"
                                << "BF16" << 1e-9 << true;
    QTest::newRow("mixtral Q4_K (F16 fallback)") << "mixtral"
                                                 << "Q4_K" << 1e-9 << true;
  }

  void logitsMatchReference() {
    QFETCH(QString, name);
    QFETCH(QString, type);
    QFETCH(double, bound);
    QFETCH(bool, greedy);
    requireTorch();
    if (name == "demo" && !demo_recipe_exists()) {
      QSKIP("resources/demo-model/recipe/model.py is not in this checkout yet");
    }
    const QJsonObject info = reference(name);
    const QString path = convert(name, type);
    QVERIFY(!path.isEmpty());
    const auto model = es::Model::load(path.toStdString());
    const uint32_t V = model->hparams().n_vocab;
    QCOMPARE(V, static_cast<uint32_t>(info["n_vocab"].toInt()));
    const std::vector<double> want = read_f64(ref(name) + "/logits.f64");
    size_t at = 0, rows = 0, same_argmax = 0;
    std::vector<double> per_position;
    double worst = 0;
    for (const auto& s : info["sequences"].toArray()) {
      const std::vector<int32_t> tokens = ints(s.toArray());
      es::Context ctx(model, exact_params());
      QVERIFY(ctx.decode(tokens, es::LogitsRows::all));
      QCOMPARE(ctx.n_logit_rows(), static_cast<uint32_t>(tokens.size()));
      std::vector<float> got;
      for (uint32_t t = 0; t < tokens.size(); ++t) {
        const auto row = ctx.logits(t);
        const std::span<const double> w(want.data() + at, V);
        per_position.push_back(nmse(row, w));
        same_argmax += argmax(row) == argmax(w) ? 1 : 0;
        got.insert(got.end(), row.begin(), row.end());
        at += V;
        ++rows;
      }
      const std::span<const double> seq(want.data() + at - got.size(), got.size());
      worst = std::max(worst, nmse(got, seq));
    }
    QCOMPARE(at, want.size());
    std::vector<double> sorted = per_position;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    qInfo("%s %s: logits NMSE %.3g (worst sequence), median position %.3g, argmax %zu/%zu",
          qPrintable(name), qPrintable(type), worst, median, same_argmax, rows);
    if (greedy) {
      QVERIFY2(worst <= bound, qPrintable(QString::number(worst)));
      QCOMPARE(same_argmax, rows);
      es::Context ctx(model, exact_params());
      std::vector<int32_t> step = ints(info["greedy_prompt"].toArray());
      std::vector<int32_t> out;
      for (const auto& g : info["greedy"].toArray()) {
        (void)g;
        QVERIFY(ctx.decode(step, es::LogitsRows::last));
        out.push_back(static_cast<int32_t>(argmax(ctx.logits(0))));
        step = {out.back()};
      }
      QCOMPARE(out, ints(info["greedy"].toArray()));
    } else {
      QVERIFY2(median <= bound, qPrintable(QString::number(median)));
      QVERIFY2(same_argmax * 100 >= rows * 85,
               qPrintable(QString("%1 of %2").arg(same_argmax).arg(rows)));
    }
  }

  /// The es-patch projector written beside the model encodes an image and a video frame as
  /// the checkpoint's projector does (float32 against float64: measured ~1e-15).
  void projectorMatchesReference_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("deepseek_v3") << "deepseek_v3";
    QTest::newRow("demo") << "demo";
  }

  void projectorMatchesReference() {
    QFETCH(QString, name);
    requireTorch();
    if (name == "demo" && !demo_recipe_exists()) QSKIP("no demo model recipe in this checkout");
    const QString path = convert(name, "Q8_0");
    QVERIFY(!path.isEmpty());
    const QString mmproj = dir_.filePath(name + "-Q8_0.mmproj.gguf");
    QVERIFY(QFile::exists(mmproj));
    QCOMPARE(QString::fromStdString(es::Projector::find_beside(path.toStdString()).string()),
             mmproj);
    const auto model = es::Model::load(path.toStdString());
    const auto pj = es::Projector::load(mmproj.toStdString(), *model);
    const QJsonObject p = reference(name)["projector"].toObject();
    const auto size = static_cast<uint32_t>(p["image_size"].toInt());
    QCOMPARE(pj->image_size(), size);
    const QByteArray rgb = read_all(ref(name) + "/image.rgb");
    es::RgbImage img{size, size, std::vector<uint8_t>(rgb.begin(), rgb.end())};
    std::vector<float> rows, frame;
    pj->encode_image(img, rows);
    pj->encode_frame(img, static_cast<uint32_t>(p["frame_index"].toInt()), frame);
    const std::vector<double> want_rows = read_f64(ref(name) + "/image_rows.f64");
    const std::vector<double> want_frame = read_f64(ref(name) + "/frame_rows.f64");
    QCOMPARE(rows.size(), want_rows.size());
    QCOMPARE(frame.size(), want_frame.size());
    const double e_image = nmse(rows, want_rows), e_frame = nmse(frame, want_frame);
    qInfo("%s projector: image NMSE %.3g, frame NMSE %.3g", qPrintable(name), e_image, e_frame);
    QVERIFY(e_image <= 1e-10);
    QVERIFY(e_frame <= 1e-10);
    // The projector's markers come from vision_config.
    QCOMPARE(pj->tokens().pad, 298);
  }

  /// What the file says: the summary line, the types chosen (norms, routers and the
  /// selection bias stay F32, rows that do not fit a block fall back to F16 with a
  /// warning), the padded vocabulary, special tokens and chat template, MLA keys.
  void convertWritesMetadataAndTypes() {
    requireTorch();
    es::test::CliRun r;
    const QString path = convert("deepseek_v3", "Q8_0", &r);
    QVERIFY(!path.isEmpty());
    const QJsonObject sum = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(sum["arch"].toString(), QString("deepseek2"));
    QCOMPARE(sum["model_type"].toString(), QString("deepseek_v3"));
    QCOMPARE(sum["type"].toString(), QString("Q8_0"));
    QCOMPARE(sum["source_dtypes"].toString(), QString("F32"));
    QVERIFY(sum["bytes"].toDouble() > 0);
    QVERIFY(r.err.contains("warning: attn_k_b.weight (3 tensors): rows of 16 values"));
    const auto model = es::Model::load(path.toStdString());
    const es::gguf::File& f = model->file();
    QCOMPARE(sum["n_tensors"].toInt(), static_cast<int>(f.tensors().size()));
    const auto type_of = [&](const char* name) {
      const es::gguf::TensorInfo* t = f.find_tensor(name);
      return t == nullptr ? QString("absent") : QString(es::tensor_type_name(t->type).data());
    };
    QCOMPARE(type_of("token_embd.weight"), QString("Q8_0"));
    QCOMPARE(type_of("blk.1.ffn_gate_exps.weight"), QString("Q8_0"));
    QCOMPARE(type_of("blk.1.attn_kv_a_mqa.weight"), QString("Q8_0"));
    QCOMPARE(type_of("blk.1.attn_k_b.weight"), QString("F16"));  // rows of 16
    QCOMPARE(type_of("blk.1.ffn_gate_inp.weight"), QString("F32"));
    QCOMPARE(type_of("blk.1.exp_probs_b.bias"), QString("F32"));
    QCOMPARE(type_of("blk.1.attn_kv_a_norm.weight"), QString("F32"));
    QCOMPARE(type_of("blk.3.attn_norm.weight"), QString("absent"));  // the MTP layer
    const es::HParams& hp = model->hparams();
    QCOMPARE(hp.n_vocab, 320u);  // vocab_size, past the tokenizer's 300 tokens
    QCOMPARE(hp.q_lora_rank, 48u);
    QCOMPARE(hp.kv_lora_rank, 32u);
    QVERIFY(hp.mla_split_kv_b());
    QCOMPARE(hp.gating, es::Gating::sigmoid);
    QCOMPARE(hp.n_expert_groups, 4u);
    QCOMPARE(hp.n_group_used, 2u);
    QVERIFY(hp.expert_weights_norm);
    QCOMPARE(hp.expert_weights_scale, 2.5f);
    QCOMPARE(hp.rope_scaling, es::RopeScaling::yarn);
    QCOMPARE(hp.rope_yarn_log_mul, 1.0f);  // mscale_all_dim, as llama.cpp reads it back
    QCOMPARE(*f.get_float("deepseek2.rope.scaling.yarn_log_multiplier"), double(0.1f));
    const auto info = run_cli({"info", path, "--compact"});
    QCOMPARE(info.exit_code, 0);
    const QJsonObject tok = QJsonDocument::fromJson(info.out).object()["tokenizer"].toObject();
    QVERIFY(tok["has_chat_template"].toBool());
    QCOMPARE(tok["bos_id"].toInt(), 296);  // <|begin|>
    QCOMPARE(tok["eos_id"].toInt(), 297);  // <|end|>
    QCOMPARE(*f.get_string("tokenizer.ggml.pre"), std::string_view("gpt-2"));
    const auto tokens = f.get_array("tokenizer.ggml.tokens");
    QVERIFY(tokens.has_value());
    QCOMPARE(*tokens->string_at(319), std::string_view("[PAD319]"));
    // Text through the converted tokenizer and the model.
    const auto gen = run_cli({"eval", "-m", path, "--text", "the experts route tokens"});
    QCOMPARE(gen.exit_code, 0);
  }

  /// Broken checkpoints: exit 3, one error line naming the file and the problem, and no
  /// output file (nor a temporary one) left behind.
  void brokenInputIsRefused_data() {
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing config.json") << "no-config"
                                         << "config.json"
                                         << "no such file";
    QTest::newRow("config not JSON") << "config-garbage"
                                     << "config.json"
                                     << "not valid JSON";
    QTest::newRow("unknown model_type") << "model-type"
                                        << "config.json"
                                        << "model_type \"jamba\" is not supported";
    QTest::newRow("missing key") << "no-hidden-size"
                                 << "config.json"
                                 << "missing key hidden_size";
    QTest::newRow("unsupported setting") << "sliding-window"
                                         << "config.json"
                                         << "sliding_window shorter than";
    QTest::newRow("projector stem lengths") << "stem-lengths"
                                            << "config.json"
                                            << "must have the same length";
    QTest::newRow("projector stem not a list")
        << "stem-string"
        << "config.json"
        << "vision_config.conv_strides is \"2\", expected a list";
    QTest::newRow("missing tensor") << "drop-tensor"
                                    << ""
                                    << "missing tensor model.layers.1.block_sparse_moe.experts.2."
                                       "w3.weight";
    QTest::newRow("wrong shape") << "transpose"
                                 << "model.safetensors"
                                 << "has shape [64, 32], expected [32, 64]";
    QTest::newRow("truncated safetensors") << "truncate"
                                           << "model.safetensors"
                                           << "is the file truncated?";
    QTest::newRow("bad header JSON") << "header-garbage"
                                     << "model.safetensors"
                                     << "the header is not valid JSON";
    QTest::newRow("offsets beyond the file") << "far-offsets"
                                             << "model.safetensors"
                                             << "run past the end of the data";
    QTest::newRow("overlapping tensors") << "overlap"
                                         << "model.safetensors"
                                         << "overlap";
    QTest::newRow("unknown dtype") << "dtype-f7"
                                   << "model.safetensors"
                                   << "unknown dtype \"F7\"";
    QTest::newRow("integer dtype") << "dtype-i16"
                                   << "model.safetensors"
                                   << "has dtype I16; the converter reads F32, F16 and BF16";
    QTest::newRow("header length past the end") << "header-length"
                                                << "model.safetensors"
                                                << "runs past the end of the file";
    QTest::newRow("extra tensor") << "extra-tensor"
                                  << ""
                                  << "tensor model.layers.0.self_attn.q_proj.bias has no place";
    QTest::newRow("no tokenizer") << "no-tokenizer"
                                  << "tokenizer.json"
                                  << "no such file";
    // Found while the GGUF is being written: the temporary file goes too.
    QTest::newRow("NaN weight") << "nan"
                                << ""
                                << "the weights of blk.0.attn_v.weight (row 0) hold a NaN";
  }

  void brokenInputIsRefused() {
    QFETCH(QString, damage);
    QFETCH(QString, file);
    QFETCH(QString, message);
    requireTorch();
    const QString dir = dir_.filePath("broken-" + damage);
    QVERIFY(copy_dir(ckpt(damage.startsWith("stem") ? "deepseek_v3" : "mixtral"), dir));
    const QString st = dir + "/model.safetensors", cfg = dir + "/config.json";
    QJsonObject config = QJsonDocument::fromJson(read_all(cfg)).object();
    Safetensors s = Safetensors::read(st);
    const QString v_proj = "model.layers.0.self_attn.v_proj.weight";
    const auto offsets = [&](const QString& t) {
      return s.header.value(t).toObject().value("data_offsets");
    };
    if (damage == "no-config") QVERIFY(QFile::remove(cfg));
    if (damage == "config-garbage") QVERIFY(write_all(cfg, "{\"model_type\": mixtral"));
    if (damage == "model-type") config["model_type"] = "jamba";
    if (damage == "no-hidden-size") config.remove("hidden_size");
    if (damage == "sliding-window") config["sliding_window"] = 16;
    if (damage.startsWith("stem")) {
      QJsonObject vision = config["vision_config"].toObject();
      vision["conv_strides"] =
          damage == "stem-lengths" ? QJsonValue(QJsonArray{1}) : QJsonValue("2");
      config["vision_config"] = vision;
    }
    if (damage == "drop-tensor")
      s.header.remove("model.layers.1.block_sparse_moe.experts.2.w3.weight");
    if (damage == "transpose") s.set(v_proj, "shape", QJsonArray{64, 32});
    if (damage == "far-offsets") {
      const QJsonArray o = offsets(v_proj).toArray();
      const qint64 far = 1'000'000'000;
      s.set(v_proj, "data_offsets", QJsonArray{o[0].toInteger() + far, o[1].toInteger() + far});
    }
    if (damage == "overlap") {
      s.set("model.layers.0.self_attn.o_proj.weight", "data_offsets",
            offsets("model.layers.0.self_attn.q_proj.weight"));
    }
    if (damage == "dtype-f7") s.set(v_proj, "dtype", "F7");
    if (damage == "dtype-i16") s.set(v_proj, "dtype", "I16");
    if (damage == "extra-tensor") {
      // A bias the mixtral mapping has no place for, over bytes of the data section.
      s.header["model.layers.0.self_attn.q_proj.bias"] = QJsonObject{
          {"dtype", "F16"}, {"shape", QJsonArray{0}}, {"data_offsets", QJsonArray{0, 0}}};
    }
    if (damage.startsWith("model-type") || damage.startsWith("no-hidden") ||
        damage.startsWith("sliding") || damage.startsWith("stem")) {
      QVERIFY(write_all(cfg, QJsonDocument(config).toJson()));
    }
    if (damage == "nan") {
      const qsizetype at = offsets(v_proj).toArray()[0].toInteger();
      s.data[at] = 0x00;  // F16 0x7e00: a quiet NaN
      s.data[at + 1] = 0x7e;
    }
    QByteArray bytes = s.bytes();
    if (damage == "truncate") bytes.chop(100);
    if (damage == "header-garbage") bytes[9] = '#';
    if (damage == "header-length") {
      const uint64_t n = static_cast<uint64_t>(bytes.size()) * 2;
      std::memcpy(bytes.data(), &n, 8);
    }
    QVERIFY(write_all(st, bytes));
    if (damage == "no-tokenizer") QVERIFY(QFile::remove(dir + "/tokenizer.json"));

    const QString out = dir_.filePath("broken-" + damage + ".gguf");
    const auto r = run_cli({"convert", dir, "-o", out});
    QCOMPARE(r.exit_code, 3);
    const QString err = QString::fromUtf8(r.err);
    QVERIFY2(err.startsWith("error: ") && err.count('\n') == 1, qPrintable(err));
    QVERIFY2(err.contains(dir + (file.isEmpty() ? QString() : "/" + file)), qPrintable(err));
    QVERIFY2(err.contains(message), qPrintable(err));
    QVERIFY(r.out.isEmpty());
    const QStringList left = QDir(dir_.path()).entryList({"broken-" + damage + ".*"}, QDir::Files);
    QVERIFY2(left.isEmpty(), qPrintable(left.join(", ")));
  }

  /// A shard the index names but the folder lacks, and an index entry in the wrong shard.
  void brokenShardsAreRefused() {
    requireTorch();
    const QString dir = dir_.filePath("broken-index");
    QVERIFY(copy_dir(ckpt("qwen3_moe"), dir));
    const QString index = dir + "/model.safetensors.index.json";
    QJsonObject j = QJsonDocument::fromJson(read_all(index)).object();
    QJsonObject map = j["weight_map"].toObject();
    map["model.norm.weight"] =
        map["model.norm.weight"].toString() == "model-00001-of-00003.safetensors"
            ? "model-00002-of-00003.safetensors"
            : "model-00001-of-00003.safetensors";
    j["weight_map"] = map;
    QVERIFY(write_all(index, QJsonDocument(j).toJson()));
    auto r = run_cli({"convert", dir, "-o", dir_.filePath("broken-index.gguf")});
    QCOMPARE(r.exit_code, 3);
    QVERIFY2(
        r.err.contains("model.safetensors.index.json: tensor model.norm.weight is said to be in"),
        r.err.constData());
    QVERIFY(QFile::remove(dir + "/model-00003-of-00003.safetensors"));
    r = run_cli({"convert", dir, "-o", dir_.filePath("broken-index.gguf")});
    QCOMPARE(r.exit_code, 3);
    QVERIFY2(r.err.contains("the shard model-00003-of-00003.safetensors it names is missing"),
             r.err.constData());
    QVERIFY(!QFile::exists(dir_.filePath("broken-index.gguf")));
  }

  void usageErrors() {
    auto r = run_cli({"convert", dir_.path()});
    QCOMPARE(r.exit_code, 2);
    QVERIFY(r.err.contains("no output given"));
    r = run_cli({"convert", dir_.path(), "-o", dir_.filePath("x.gguf"), "--type", "Q9_9"});
    QCOMPARE(r.exit_code, 2);
    QVERIFY(r.err.contains("unknown --type Q9_9 (one of F32, F16, BF16, Q8_0"));
    r = run_cli({"convert", dir_.filePath("nowhere"), "-o", dir_.filePath("x.gguf")});
    QCOMPARE(r.exit_code, 3);
    QVERIFY(r.err.contains("nowhere: no such folder"));
    r = run_cli({"convert", "a", "b", "-o", dir_.filePath("x.gguf")});
    QCOMPARE(r.exit_code, 2);
    QVERIFY(!QFile::exists(dir_.filePath("x.gguf")));
  }

  /// The header parser on hand-made bytes: a valid file and each kind of damage.
  void safetensorsHeader_data() {
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<int>("data_bytes");
    QTest::addColumn<QString>("error");  // empty: valid
    const QByteArray a = R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
    const QByteArray b = R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]})";
    QTest::newRow("valid") << "{" + a + "," + b + R"(,"__metadata__":{"format":"pt"}})" << 24 << "";
    QTest::newRow("empty object") << QByteArray("{}") << 0 << "";
    QTest::newRow("not JSON") << QByteArray("{\"a\":") << 0 << "not valid JSON";
    QTest::newRow("array") << QByteArray("[1]") << 0 << "not a JSON object";
    QTest::newRow("nesting") << "{\"a\":" + QByteArray(40, '[') + QByteArray(40, ']') + "}" << 0
                             << "nested too deeply";
    QTest::newRow("size mismatch")
        << QByteArray(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})") << 16
        << "data_offsets span 12 bytes, but F32 × 4 elements need 16";
    QTest::newRow("past the end") << "{" + a + "}" << 15 << "run past the end of the data";
    QTest::newRow("reversed") << QByteArray(
                                     R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})")
                              << 8 << "end before they begin";
    QTest::newRow("negative dim")
        << QByteArray(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})") << 4
        << "is negative";
    QTest::newRow("overflow")
        << QByteArray(
               R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})")
        << 4 << "overflows";
    QTest::newRow("overlap") << "{" + a +
                                    R"(,"c":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})"
                             << 16 << "overlap";
    QTest::newRow("metadata") << QByteArray(R"({"__metadata__":{"k":1}})") << 0
                              << "__metadata__ \"k\" is not a string";
    QTest::newRow("no dtype") << QByteArray(R"({"a":{"shape":[1],"data_offsets":[0,4]}})") << 4
                              << "no dtype";
    QTest::newRow("float offset")
        << QByteArray(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0.5,4]}})") << 4
        << "not a non-negative integer";
  }

  void safetensorsHeader() {
    QFETCH(QByteArray, json);
    QFETCH(int, data_bytes);
    QFETCH(QString, error);
    const uint64_t n = static_cast<uint64_t>(json.size());
    QByteArray file(reinterpret_cast<const char*>(&n), 8);
    file += json + QByteArray(data_bytes, '\0');
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(file.constData()),
                                         static_cast<size_t>(file.size()));
    try {
      const es::safetensors::Header h = es::safetensors::parse_header(bytes, "mem.safetensors");
      QVERIFY2(error.isEmpty(), "parsed, but should have failed");
      QCOMPARE(h.data_offset, 8 + n);
      if (QTest::currentDataTag() == QByteArray("valid")) {
        QCOMPARE(h.tensors.size(), size_t{2});
        QCOMPARE(h.tensors[1].dtype, es::safetensors::DType::BF16);
        QCOMPARE(h.tensors[0].n_elements(), uint64_t{4});
        QCOMPARE(h.metadata.at("format"), std::string("pt"));
      }
    } catch (const es::Error& e) {
      QVERIFY2(!error.isEmpty(), e.what());
      QCOMPARE(e.kind(), es::ErrorKind::bad_input);
      const QString what = QString::fromUtf8(e.what());
      QVERIFY2(what.startsWith("mem.safetensors: ") && what.contains(error), e.what());
    }
    // Shorter than the length field, and a length past the end.
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)es::safetensors::parse_header(bytes.first(7), "x"));
    QVERIFY_THROWS_EXCEPTION(es::Error,
                             (void)es::safetensors::parse_header(bytes.first(8 + n - 1), "x"));
  }
};

QTEST_GUILESS_MAIN(TestConvert)
#include "test_convert.moc"
