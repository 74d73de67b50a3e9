// The corrupt-file suite: a GGUF truncated at every byte, seeded random bit flips, and
// hand-made files with absurd counts, lengths, offsets and types. Every case must end in
// an es::Error that names the file (or in a valid parse, for harmless flips), never in a
// crash, a leak (the asan preset runs this suite) or an allocation out of proportion to
// the file's size.
#include <QtTest>
#include <cstring>
#include <random>

#include "alloc_counter.h"
#include "expertscope/error.h"
#include "expertscope/gguf.h"

using es::gguf::File;
using es::gguf::Value;
using es::gguf::ValueType;
using es::gguf::Writer;

namespace {

/// Whatever the file, parsing may allocate at most this much (the reader's tables cost a
/// few times the bytes of the items they index; they are never sized by a claimed count).
size_t allocation_bound(size_t file_bytes) {
  return 8 * file_bytes + 64 * 1024;
}

/// A small file that uses every part of the format.
std::vector<uint8_t> rich_file() {
  Writer w;
  w.set("general.architecture", "qwen3moe");
  w.set("general.name", "corrupt-suite base");
  w.set("qwen3moe.block_count", uint32_t{2});
  w.set("qwen3moe.rope.freq_base", 1e6f);
  w.set("qwen3moe.expert_weights_norm", true);
  w.set("test.i64", int64_t{-3});
  w.set("test.f64", 0.125);
  std::vector<std::string> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back("tok" + std::to_string(i));
  w.set("tokenizer.ggml.tokens", es::gguf::string_array(tokens));
  w.set("tokenizer.ggml.scores", es::gguf::number_array<float>(std::vector<float>(40, -1.0f)));
  es::gguf::Array nested;
  nested.elem_type = ValueType::array;
  nested.items = {es::gguf::number_array<int32_t>({1, 2, 3}), es::gguf::string_array({"a", "b"})};
  w.set("test.nested", Value(nested));
  std::mt19937 rng(1);
  const auto bytes = [&](size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
  };
  w.add_tensor("token_embd.weight", es::TensorType::F32, {8, 40}, bytes(8 * 40 * 4));
  w.add_tensor("blk.0.ffn_up_exps.weight", es::TensorType::Q8_0, {32, 4, 2}, bytes(34 * 8));
  w.add_tensor("blk.0.ffn_down_exps.weight", es::TensorType::Q4_K, {256, 1, 2}, bytes(144 * 2));
  w.add_tensor("output_norm.weight", es::TensorType::F32, {8}, bytes(32));
  return w.to_bytes();
}

/// Reads everything a successful parse exposes, so ASan sees any out-of-bounds view.
size_t touch_everything(const File& f) {
  size_t sum = 0;
  for (const auto& kv : f.metadata()) {
    sum += kv.key.size();
    const Value v = kv.value.to_value();
    sum += static_cast<size_t>(v.type());
  }
  for (const auto& t : f.tensors()) {
    const auto data = f.tensor_data(t);
    if (!data.empty()) sum += data.front() + data.back();
  }
  return sum;
}

enum class Outcome { ok, error };

/// Parses `bytes`, checks the allocation bound, and reports how it ended. Anything but an
/// es::Error naming the file aborts the test.
Outcome parse(std::span<const uint8_t> bytes, const char* name = "corrupt.gguf") {
  es::test::reset_peak_allocation();
  Outcome outcome = Outcome::ok;
  try {
    const File f = File::from_memory(bytes, name);
    (void)touch_everything(f);
  } catch (const es::Error& e) {
    outcome = Outcome::error;
    if (std::strstr(e.what(), name) == nullptr)
      qFatal("error does not name the file: %s", e.what());
  }
  const size_t peak = es::test::peak_allocation_bytes();
  if (peak > allocation_bound(bytes.size())) {
    qFatal("parsing %zu bytes allocated %zu bytes", bytes.size(), peak);
  }
  return outcome;
}

/// Builds GGUF bytes by hand, field by field.
class Bytes {
 public:
  Bytes& magic(const char* m = "GGUF") { return raw(m, 4); }
  Bytes& u32(uint32_t v) { return raw(&v, 4); }
  Bytes& u64(uint64_t v) { return raw(&v, 8); }
  Bytes& i64(int64_t v) { return raw(&v, 8); }
  Bytes& str(std::string_view s) {
    u64(s.size());
    return raw(s.data(), s.size());
  }
  Bytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return magic().u32(version).u64(n_tensors).u64(n_kv);
  }
  Bytes& kv_u32(std::string_view key, uint32_t v) {
    return str(key).u32(static_cast<uint32_t>(ValueType::u32)).u32(v);
  }
  Bytes& tensor(std::string_view name, std::vector<int64_t> ne, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (const int64_t d : ne) i64(d);
    return u32(type).u64(offset);
  }
  Bytes& pad(size_t alignment = 32) {
    bytes_.resize((bytes_.size() + alignment - 1) / alignment * alignment, 0);
    return *this;
  }
  Bytes& zeros(size_t n) {
    bytes_.resize(bytes_.size() + n, 0);
    return *this;
  }
  [[nodiscard]] const std::vector<uint8_t>& get() const { return bytes_; }

 private:
  Bytes& raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
    return *this;
  }
  std::vector<uint8_t> bytes_;
};

std::vector<uint8_t> nested_arrays(int depth) {
  Bytes b;
  b.header(0, 1).str("deep").u32(static_cast<uint32_t>(ValueType::array));
  for (int i = 0; i < depth; ++i) b.u32(static_cast<uint32_t>(ValueType::array)).u64(1);
  b.u32(static_cast<uint32_t>(ValueType::u8)).u64(0);
  return b.get();
}

}  // namespace

Q_DECLARE_METATYPE(std::vector<uint8_t>)

class TestGgufCorrupt : public QObject {
  Q_OBJECT

 private slots:
  void everyTruncationIsRefused() {
    const auto full = rich_file();
    const File f = File::from_memory(full, "base.gguf");
    uint64_t end_of_data = 0;
    for (const auto& t : f.tensors()) {
      end_of_data = std::max(end_of_data, f.data_offset() + t.offset + t.n_bytes);
    }
    for (size_t n = 0; n <= full.size(); ++n) {
      const Outcome got = parse(std::span(full).first(n));
      const Outcome want = n < end_of_data ? Outcome::error : Outcome::ok;
      if (got != want) QFAIL(qPrintable(QString("truncated at %1 of %2").arg(n).arg(full.size())));
    }
  }

  void goldenFileTruncations() {
    const QString path = QString(ES_SHARED_DIR) + "/golden/deepseek2-tiny-f32.gguf";
    if (!QFile::exists(path)) QSKIP("../shared/golden is not beside this checkout");
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray data = file.readAll();
    const std::span bytes(reinterpret_cast<const uint8_t*>(data.constData()),
                          static_cast<size_t>(data.size()));
    const File f = File::from_memory(bytes, "golden.gguf");
    // Every cut inside the metadata and tensor infos, and a sample inside the data.
    for (size_t n = 0; n < f.data_offset(); ++n) {
      QCOMPARE(parse(bytes.first(n), "golden.gguf"), Outcome::error);
    }
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200; ++i) {
      const size_t n = f.data_offset() + rng() % (bytes.size() - f.data_offset());
      QCOMPARE(parse(bytes.first(n), "golden.gguf"), Outcome::error);
    }
  }

  void seededBitFlips() {
    const auto base = rich_file();
    const File f = File::from_memory(base, "base.gguf");
    const size_t header_bytes = f.data_offset();
    std::mt19937 rng(20261129);
    int n_error = 0;
    constexpr int kRounds = 20000;
    for (int round = 0; round < kRounds; ++round) {
      auto bytes = base;
      const int n_flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < n_flips; ++k) {
        // Mostly the structure (where flips matter), sometimes the tensor data.
        const size_t limit = (rng() % 8 == 0) ? bytes.size() : header_bytes;
        bytes[rng() % limit] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
      if (parse(bytes) == Outcome::error) ++n_error;
    }
    // Most flips in the structure must be caught; a flip inside a string or a float is
    // legitimately still a valid file.
    QVERIFY2(n_error > kRounds / 4, qPrintable(QString::number(n_error)));
  }

  void malformedFiles_data() {
    QTest::addColumn<std::vector<uint8_t>>("bytes");
    QTest::addColumn<QString>("message");
    using VT = ValueType;
    const auto vt = [](VT t) { return static_cast<uint32_t>(t); };
    QTest::newRow("empty") << std::vector<uint8_t>{} << "not a GGUF file";
    QTest::newRow("bad magic") << Bytes().magic("GGUG").u32(3).u64(0).u64(0).get()
                               << "not a GGUF file";
    QTest::newRow("version 1") << Bytes().header(0, 0, 1).get() << "version 1";
    QTest::newRow("version 4") << Bytes().header(0, 0, 4).get() << "unknown GGUF version 4";
    QTest::newRow("big-endian") << Bytes().header(0, 0, 0x03000000u).get() << "big-endian";
    QTest::newRow("kv count 2^63")
        << Bytes().header(0, uint64_t{1} << 63).get() << "implausible count";
    QTest::newRow("tensor count max") << Bytes().header(UINT64_MAX, 0).get() << "implausible count";
    QTest::newRow("key length max")
        << Bytes().header(0, 1).u64(UINT64_MAX).zeros(16).get() << "truncated";
    QTest::newRow("empty key") << Bytes().header(0, 1).str("").u32(vt(VT::u8)).u32(0).get()
                               << "is empty";
    QTest::newRow("value type 13")
        << Bytes().header(0, 1).str("k").u32(13).u64(0).get() << "not a GGUF value type";
    QTest::newRow("string length max")
        << Bytes().header(0, 1).str("k").u32(vt(VT::string)).u64(UINT64_MAX).get() << "truncated";
    QTest::newRow("array count 2^62")
        << Bytes().header(0, 1).str("k").u32(vt(VT::array)).u32(vt(VT::u64)).u64(1ull << 62).get()
        << "implausible count";
    QTest::newRow("string array count huge") << Bytes()
                                                    .header(0, 1)
                                                    .str("k")
                                                    .u32(vt(VT::array))
                                                    .u32(vt(VT::string))
                                                    .u64(1ull << 40)
                                                    .get()
                                             << "implausible count";
    QTest::newRow("array element type 99")
        << Bytes().header(0, 1).str("k").u32(vt(VT::array)).u32(99).u64(0).get()
        << "not a GGUF value type";
    QTest::newRow("arrays nested 20 deep") << nested_arrays(20) << "nested deeper";
    QTest::newRow("duplicate key") << Bytes().header(0, 2).kv_u32("a.b", 1).kv_u32("a.b", 2).get()
                                   << "duplicate metadata key a.b";
    QTest::newRow("alignment 0") << Bytes().header(0, 1).kv_u32("general.alignment", 0).get()
                                 << "power of two";
    QTest::newRow("alignment 48") << Bytes().header(0, 1).kv_u32("general.alignment", 48).get()
                                  << "power of two";
    QTest::newRow("alignment as string")
        << Bytes().header(0, 1).str("general.alignment").u32(vt(VT::string)).str("32").get()
        << "must be a u32";
    QTest::newRow("5 dimensions")
        << Bytes().header(1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).pad().zeros(32).get()
        << "5 dimensions";
    QTest::newRow("negative dimension")
        << Bytes().header(1, 0).tensor("t", {4, -2}, 0, 0).pad().zeros(32).get()
        << "negative dimension";
    QTest::newRow("element count overflow")
        << Bytes().header(1, 0).tensor("t", {1ll << 40, 1ll << 40}, 0, 0).pad().get() << "63 bits";
    QTest::newRow("byte count overflow")
        << Bytes().header(1, 0).tensor("t", {1ll << 31, 1ll << 31}, 0, 0).pad().get()
        << "too large";
    QTest::newRow("unknown tensor type")
        << Bytes().header(1, 0).tensor("t", {4}, 99, 0).pad().zeros(32).get()
        << "unknown type id 99";
    QTest::newRow("row not whole blocks")
        << Bytes().header(1, 0).tensor("t", {33}, 8, 0).pad().zeros(64).get() << "block";
    QTest::newRow("misaligned offset")
        << Bytes().header(1, 0).tensor("t", {4}, 0, 4).pad().zeros(64).get() << "alignment";
    QTest::newRow("offset past end")
        << Bytes().header(1, 0).tensor("t", {4}, 0, 1ull << 40).pad().zeros(32).get()
        << "truncated: tensor t";
    QTest::newRow("offset max")
        << Bytes().header(1, 0).tensor("t", {4}, 0, UINT64_MAX - 31).pad().zeros(32).get()
        << "truncated: tensor t";
    QTest::newRow("overlapping tensors") << Bytes()
                                                .header(2, 0)
                                                .tensor("a", {16}, 0, 0)
                                                .tensor("b", {16}, 0, 32)
                                                .pad()
                                                .zeros(128)
                                                .get()
                                         << "overlap";
    QTest::newRow("duplicate tensor")
        << Bytes().header(2, 0).tensor("a", {8}, 0, 0).tensor("a", {8}, 0, 32).pad().zeros(64).get()
        << "duplicate tensor name a";
    QTest::newRow("empty tensor name")
        << Bytes().header(1, 0).tensor("", {8}, 0, 0).pad().zeros(32).get() << "empty name";
    QTest::newRow("64-byte tensor name")
        << Bytes().header(1, 0).tensor(std::string(64, 'x'), {8}, 0, 0).pad().zeros(32).get()
        << "name of 64 bytes";
    QTest::newRow("data section missing")
        << Bytes().header(1, 0).tensor("t", {8}, 0, 0).get() << "truncated";
  }

  void malformedFiles() {
    QFETCH(std::vector<uint8_t>, bytes);
    QFETCH(QString, message);
    es::test::reset_peak_allocation();
    try {
      const File f = File::from_memory(bytes, "bad.gguf");
      QFAIL("the file was accepted");
    } catch (const es::Error& e) {
      const QString what = QString::fromUtf8(e.what());
      QVERIFY2(what.startsWith("bad.gguf: "), qPrintable(what));
      QVERIFY2(what.contains(message), qPrintable(what));
    }
    QVERIFY(es::test::peak_allocation_bytes() <= allocation_bound(bytes.size()));
  }

  void filesystemErrors() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto expect = [](const std::filesystem::path& path, const char* needle) {
      try {
        (void)File::open(path);
        QFAIL("opened");
      } catch (const es::Error& e) {
        QVERIFY2(std::strstr(e.what(), path.string().c_str()) != nullptr, e.what());
        QVERIFY2(std::strstr(e.what(), needle) != nullptr, e.what());
      }
    };
    expect(dir.filePath("absent.gguf").toStdString(), "cannot open");
    expect(dir.path().toStdString(), "not a regular file");
    QFile empty(dir.filePath("empty.gguf"));
    QVERIFY(empty.open(QIODevice::WriteOnly));
    empty.close();
    expect(empty.fileName().toStdString(), "empty");
  }

  void unknownTypeIsUnsupportedNotCorrupt() {
    const auto bytes = Bytes().header(1, 0).tensor("t", {4}, 99, 0).pad().zeros(32).get();
    try {
      (void)File::from_memory(bytes, "future.gguf");
      QFAIL("accepted");
    } catch (const es::Error& e) {
      QCOMPARE(e.kind(), es::ErrorKind::unsupported);
    }
  }
};

QTEST_GUILESS_MAIN(TestGgufCorrupt)
#include "test_gguf_corrupt.moc"
