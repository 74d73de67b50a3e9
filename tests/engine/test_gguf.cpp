// GGUF writer -> reader round trips: every value type, nested arrays, tensors of several
// types and shapes, both format versions, custom alignment, typed look-ups, and the real
// llama.cpp-written files in ../shared/golden.
#include <QtTest>
#include <cmath>
#include <cstring>
#include <random>

#include "expertscope/error.h"
#include "expertscope/gguf.h"

using es::gguf::Array;
using es::gguf::File;
using es::gguf::Value;
using es::gguf::ValueType;
using es::gguf::Writer;

Q_DECLARE_METATYPE(es::gguf::Value)

namespace {

Array array_of(ValueType type, std::vector<Value> items) {
  Array a;
  a.elem_type = type;
  a.items = std::move(items);
  return a;
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

}  // namespace

class TestGguf : public QObject {
  Q_OBJECT

 private slots:
  void roundTripValue_data() {
    QTest::addColumn<int>("version");
    QTest::addColumn<Value>("value");
    const std::vector<std::pair<const char*, Value>> values = {
        {"u8 max", Value(uint8_t{255})},
        {"i8 min", Value(int8_t{-128})},
        {"u16 max", Value(uint16_t{65535})},
        {"i16 min", Value(int16_t{-32768})},
        {"u32 max", Value(uint32_t{4294967295u})},
        {"i32 min", Value(int32_t{INT32_MIN})},
        {"f32", Value(1.5e-7f)},
        {"f32 -inf", Value(-std::numeric_limits<float>::infinity())},
        {"bool true", Value(true)},
        {"bool false", Value(false)},
        {"string", Value("DeepSeek-V3 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80")},
        {"string empty", Value(std::string())},
        {"string with NUL", Value(std::string("a\0b", 3))},
        {"u64 max", Value(uint64_t{UINT64_MAX})},
        {"i64 min", Value(int64_t{INT64_MIN})},
        {"f64", Value(3.141592653589793)},
        {"array empty", Value(array_of(ValueType::i32, {}))},
        {"array u8", es::gguf::number_array<uint8_t>({0, 1, 255})},
        {"array i16", es::gguf::number_array<int16_t>({-1, 2, -3})},
        {"array f32", es::gguf::number_array<float>({0.5f, -2.0f, 1e30f})},
        {"array f64", es::gguf::number_array<double>({1e-300, 2.0})},
        {"array u64", es::gguf::number_array<uint64_t>({UINT64_MAX, 0})},
        {"array bool", Value(array_of(ValueType::boolean, {Value(true), Value(false)}))},
        {"array string", es::gguf::string_array({"", "a", "\xc4\xa0the", "<|endoftext|>"})},
        {"array of arrays",
         Value(array_of(ValueType::array,
                        {es::gguf::number_array<int32_t>({1, 2}), es::gguf::string_array({"x"}),
                         Value(array_of(ValueType::u8, {}))}))},
        {"array of arrays of arrays",
         Value(array_of(
             ValueType::array,
             {Value(array_of(ValueType::array, {es::gguf::string_array({"deep", "er"})}))}))},
    };
    for (int version : {2, 3}) {
      for (const auto& [name, value] : values) {
        QTest::newRow(qPrintable(QString("v%1 %2").arg(version).arg(name))) << version << value;
      }
    }
  }

  void roundTripValue() {
    QFETCH(int, version);
    QFETCH(Value, value);
    Writer w(static_cast<uint32_t>(version));
    w.set("general.architecture", "test");
    w.set("test.value", value);
    w.set("test.after", uint32_t{7});  // Checks the reader advanced past the value exactly.
    const auto bytes = w.to_bytes();
    const File f = File::from_memory(bytes, "roundtrip.gguf");
    QCOMPARE(f.version(), static_cast<uint32_t>(version));
    QCOMPARE(f.metadata().size(), size_t{3});
    const auto* kv = f.find("test.value");
    QVERIFY(kv != nullptr);
    QCOMPARE(kv->value.type(), value.type());
    QVERIFY(kv->value.to_value() == value);
    QCOMPARE(f.get_uint("test.after"), std::optional<uint64_t>(7));
  }

  void roundTripTensors_data() {
    QTest::addColumn<int>("alignment");
    QTest::newRow("default alignment") << 0;
    QTest::newRow("alignment 64") << 64;
    QTest::newRow("alignment 4096") << 4096;
  }

  void roundTripTensors() {
    QFETCH(int, alignment);
    Writer w;
    if (alignment != 0) w.set("general.alignment", static_cast<uint32_t>(alignment));
    struct Spec {
      const char* name;
      es::TensorType type;
      std::vector<int64_t> shape;
      size_t n_bytes;
    };
    const std::vector<Spec> specs = {
        {"token_embd.weight", es::TensorType::F32, {8, 5}, 8 * 5 * 4},
        {"blk.0.attn_q.weight", es::TensorType::F16, {16, 3}, 16 * 3 * 2},
        {"blk.0.ffn_up_exps.weight", es::TensorType::Q8_0, {64, 3, 4}, 2 * 34 * 3 * 4},
        {"blk.0.ffn_down_exps.weight", es::TensorType::Q4_K, {256, 2, 2, 1}, 144 * 2 * 2},
        {"output_norm.weight", es::TensorType::F32, {7}, 28},
    };
    for (size_t i = 0; i < specs.size(); ++i) {
      w.add_tensor(specs[i].name, specs[i].type, specs[i].shape,
                   random_bytes(specs[i].n_bytes, static_cast<uint32_t>(i)));
    }
    const auto bytes = w.to_bytes();
    const File f = File::from_memory(bytes, "tensors.gguf");
    const uint64_t expected_alignment = alignment == 0 ? 32 : alignment;
    QCOMPARE(f.alignment(), expected_alignment);
    QCOMPARE(f.data_offset() % expected_alignment, uint64_t{0});
    QCOMPARE(f.tensors().size(), specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      const auto* t = f.find_tensor(specs[i].name);
      QVERIFY2(t != nullptr, specs[i].name);
      QCOMPARE(t->type, specs[i].type);
      QCOMPARE(t->n_dims, static_cast<uint32_t>(specs[i].shape.size()));
      for (size_t d = 0; d < specs[i].shape.size(); ++d) QCOMPARE(t->ne[d], specs[i].shape[d]);
      QCOMPARE(t->n_bytes, uint64_t{specs[i].n_bytes});
      QCOMPARE(t->offset % expected_alignment, uint64_t{0});
      const auto data = f.tensor_data(*t);
      const auto want = random_bytes(specs[i].n_bytes, static_cast<uint32_t>(i));
      QVERIFY(std::equal(data.begin(), data.end(), want.begin(), want.end()));
    }
    QVERIFY(f.find_tensor("missing") == nullptr);
  }

  void typedLookups() {
    Writer w;
    w.set("k.neg", int32_t{-5});
    w.set("k.u16", uint16_t{300});
    w.set("k.f32", 0.25f);
    w.set("k.str", "hello");
    w.set("k.flag", true);
    w.set("k.arr", es::gguf::string_array({"a", "b"}));
    const auto bytes = w.to_bytes();
    const File f = File::from_memory(bytes, "lookups.gguf");
    QCOMPARE(f.get_uint("k.u16"), std::optional<uint64_t>(300));
    QCOMPARE(f.get_int("k.neg"), std::optional<int64_t>(-5));
    QCOMPARE(f.get_float("k.f32"), std::optional<double>(0.25));
    QCOMPARE(f.get_float("k.u16"), std::optional<double>(300.0));
    QCOMPARE(f.get_bool("k.flag"), std::optional<bool>(true));
    QCOMPARE(f.get_string("k.str"), std::optional<std::string_view>("hello"));
    QCOMPARE(f.get_array("k.arr")->string_at(1), std::optional<std::string_view>("b"));
    QVERIFY(!f.get_uint("k.absent").has_value());
    // A present key of the wrong type is an error naming the file and the key.
    const auto expect_error = [](const auto& call, const char* needle) {
      try {
        call();
        QFAIL("expected es::Error");
      } catch (const es::Error& e) {
        QVERIFY2(std::strstr(e.what(), needle) != nullptr, e.what());
        QVERIFY2(std::strstr(e.what(), "lookups.gguf") != nullptr, e.what());
      }
    };
    expect_error([&] { (void)f.get_uint("k.neg"); }, "k.neg");
    expect_error([&] { (void)f.get_string("k.u16"); }, "k.u16");
    expect_error([&] { (void)f.get_array("k.str"); }, "k.str");
    expect_error([&] { (void)f.get_bool("k.f32"); }, "k.f32");
  }

  void writerRefusesInconsistentTensors() {
    Writer w;
    QVERIFY_THROWS_EXCEPTION(es::Error,
                             w.add_tensor("t", es::TensorType::F32, {4}, std::vector<uint8_t>(15)));
    QVERIFY_THROWS_EXCEPTION(
        es::Error, w.add_tensor("q", es::TensorType::Q8_0, {33}, std::vector<uint8_t>(34)));
    w.add_tensor("t", es::TensorType::F32, {4}, std::vector<uint8_t>(16));
    QVERIFY_THROWS_EXCEPTION(es::Error,
                             w.add_tensor("t", es::TensorType::F32, {4}, std::vector<uint8_t>(16)));
    QVERIFY_THROWS_EXCEPTION(es::Error, Writer(1));
  }

  void writeIsAtomicAndReadable() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path path = dir.filePath("model.gguf").toStdString();
    Writer w;
    w.set("general.architecture", "test");
    const std::vector<float> values = {1, 2, 3, 4};
    w.add_tensor_f32("x", {4}, values);
    w.write(path);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"model.gguf"});
    const File f = File::open(path);
    QCOMPARE(f.name(), path.string());
    const auto data = f.tensor_data(*f.find_tensor("x"));
    QCOMPARE(data.size(), size_t{16});
    float back[4];
    std::memcpy(back, data.data(), sizeof back);
    QCOMPARE(back[3], 4.0f);
  }

  /// Streamed tensors are filled at write time and give the same file as held ones.
  void streamedTensorsMatchHeldOnes() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto bytes = random_bytes(34 * 6, 42);
    Writer held, streamed;
    for (Writer* w : {&held, &streamed}) {
      w->set("general.architecture", "test");
      w->set("general.alignment", uint32_t{64});
    }
    held.add_tensor("a", es::TensorType::Q8_0, {64, 3}, bytes);
    int calls = 0;
    streamed.add_tensor_streamed("a", es::TensorType::Q8_0, {64, 3}, [&](std::span<uint8_t> dst) {
      ++calls;
      QCOMPARE(dst.size(), bytes.size());
      std::copy(bytes.begin(), bytes.end(), dst.begin());
    });
    const std::filesystem::path path = dir.filePath("s.gguf").toStdString();
    streamed.write(path);
    QCOMPARE(calls, 1);
    QFile f(QString::fromStdString(path.string()));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray on_disk = f.readAll();
    const auto want = held.to_bytes();
    QCOMPARE(static_cast<size_t>(on_disk.size()), want.size());
    QVERIFY(std::memcmp(on_disk.constData(), want.data(), want.size()) == 0);
    QVERIFY(streamed.to_bytes() == want);
  }

  void goldenFilesOpen_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("arch");
    QTest::addColumn<int>("n_tensors");
    QTest::newRow("deepseek2") << "deepseek2-tiny-f32.gguf"
                               << "deepseek2" << 70;
    QTest::newRow("qwen3moe") << "qwen3moe-tiny-f32.gguf"
                              << "qwen3moe" << 3 + 3 * 12;
    QTest::newRow("olmoe") << "olmoe-tiny-f32.gguf"
                           << "olmoe" << 3 + 3 * 12;
  }

  void goldenFilesOpen() {
    QFETCH(QString, file);
    QFETCH(QString, arch);
    QFETCH(int, n_tensors);
    const QString path = QString(ES_SHARED_DIR) + "/golden/" + file;
    if (!QFile::exists(path)) QSKIP("../shared/golden is not beside this checkout");
    const File f = File::open(path.toStdString());
    QCOMPARE(f.version(), 3u);
    QCOMPARE(QString::fromStdString(std::string(*f.get_string("general.architecture"))), arch);
    QCOMPARE(static_cast<int>(f.tensors().size()), n_tensors);
    const auto tokens = f.get_array("tokenizer.ggml.tokens");
    QVERIFY(tokens.has_value());
    QCOMPARE(tokens->size(), uint64_t{512});
    QCOMPARE(tokens->string_at(511), std::optional<std::string_view>("<|endoftext|>"));
    uint64_t last_end = 0;
    for (const auto& t : f.tensors()) {
      QCOMPARE(t.type, es::TensorType::F32);
      last_end = std::max(last_end, f.data_offset() + t.offset + t.n_bytes);
    }
    QVERIFY(last_end <= f.file_size_bytes());
    // Every value converts to an owned copy, and that copy writes back identically.
    Writer w;
    for (const auto& kv : f.metadata()) w.set(std::string(kv.key), kv.value.to_value());
    const auto bytes = w.to_bytes();
    const File again = File::from_memory(bytes, "again.gguf");
    QCOMPARE(again.metadata().size(), f.metadata().size());
    for (const auto& kv : f.metadata()) {
      QVERIFY(again.find(kv.key)->value.to_value() == kv.value.to_value());
    }
  }
};

QTEST_GUILESS_MAIN(TestGguf)
#include "test_gguf.moc"
