// The Hugging Face converter on small tokenizer.json texts (each pre-tokenizer recognised,
// every refusal named), and expertscope-cli tokenize / detokenize / convert-tokenizer end to
// end with the error contract (one `error: ` line naming the file, exit 2 usage, 3 input,
// no output file left behind).
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <nlohmann/json.hpp>

#include "expertscope/error.h"
#include "expertscope/hf_tokenizer.h"
#include "expertscope/tokenizer.h"
#include "pretokenize.h"
#include "tokenizer_vocab.h"

using nlohmann::json;

namespace {

struct Run {
  int exit_code = -1;
  QByteArray out;
  QByteArray err;
};

Run run_cli(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(ES_CLI_PATH), args);
  Run r;
  if (!p.waitForFinished(120000)) return r;
  r.exit_code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
  r.out = p.readAllStandardOutput();
  r.err = p.readAllStandardError();
  return r;
}

/// A tiny byte-level tokenizer.json: the 256 byte tokens, merges "a b" and "ab c", two
/// added tokens; `pre` is the pre_tokenizer object.
json tiny_tokenizer_json(const json& pre) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[es::test::byte_level(std::string(1, char(b)))] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  return {{"version", "1.0"},
          {"added_tokens",
           {{{"id", 258}, {"content", "<|end|>"}, {"special", true}},
            {{"id", 260}, {"content", "<tool>"}, {"special", false}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer", pre},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model",
           {{"type", "BPE"},
            {"vocab", vocab},
            {"merges", json::array({json::array({"a", "b"}), "ab c"})}}}};
}

json split_then_byte_level(const std::vector<std::string>& regexes) {
  json steps = json::array();
  for (const std::string& r : regexes) {
    steps.push_back({{"type", "Split"},
                     {"pattern", {{"Regex", r}}},
                     {"behavior", "Isolated"},
                     {"invert", false}});
  }
  steps.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}});
  return {{"type", "Sequence"}, {"pretokenizers", steps}};
}

es::MetadataEntries convert(const json& tokenizer, const json& config = nullptr) {
  return es::convert_hf_tokenizer(tokenizer.dump(), config.is_null() ? "" : config.dump(),
                                  "tokenizer.json", "tokenizer_config.json");
}

const es::gguf::Value* find(const es::MetadataEntries& entries, const std::string& key) {
  for (const auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace

class TestTokenizerCli : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }
  void converter_recognises_pre_tokenizers();
  void converter_writes_tokens_and_config();
  void converter_errors_data();
  void converter_errors();
  void cli_round_trip();
  void cli_errors_data();
  void cli_errors();

 private:
  QTemporaryDir tmp_;
};

void TestTokenizerCli::converter_recognises_pre_tokenizers() {
  using es::PreTokenizerKind;
  const std::pair<PreTokenizerKind, std::string> kinds[] = {
      {PreTokenizerKind::llama_bpe, "llama-bpe"},
      {PreTokenizerKind::qwen2, "qwen2"},
      {PreTokenizerKind::deepseek_v3, "deepseek-v3"},
      {PreTokenizerKind::deepseek_llm, "deepseek-llm"}};
  for (const auto& [kind, name] : kinds) {
    std::vector<std::string> regexes;
    for (std::string_view p : es::detail::pre_tokenizer_patterns(kind)) regexes.emplace_back(p);
    const auto entries = convert(tiny_tokenizer_json(split_then_byte_level(regexes)));
    QCOMPARE(std::get<std::string>(find(entries, "tokenizer.ggml.pre")->data), name);
  }
  // Hugging Face's spelling of the contractions, and GPT-2's ByteLevel-only pipeline.
  const std::string qwen_hf =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
      "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  auto entries = convert(tiny_tokenizer_json(split_then_byte_level({qwen_hf})));
  QCOMPARE(std::get<std::string>(find(entries, "tokenizer.ggml.pre")->data), std::string("qwen2"));
  entries = convert(tiny_tokenizer_json({{"type", "ByteLevel"}, {"add_prefix_space", false}}));
  QCOMPARE(std::get<std::string>(find(entries, "tokenizer.ggml.pre")->data), std::string("gpt-2"));
}

void TestTokenizerCli::converter_writes_tokens_and_config() {
  const json config = {{"bos_token", nullptr},
                       {"eos_token", {{"__type", "AddedToken"}, {"content", "<|end|>"}}},
                       {"add_bos_token", false},
                       {"clean_up_tokenization_spaces", false},
                       {"chat_template", "{{ messages }}"}};
  const auto entries =
      convert(tiny_tokenizer_json({{"type", "ByteLevel"}, {"add_prefix_space", false}}), config);
  es::gguf::Writer w;
  for (const auto& [k, v] : entries) w.set(k, v);
  const std::vector<uint8_t> bytes = w.to_bytes();
  const auto file = es::gguf::File::from_memory(bytes, "converted.gguf");
  const es::Tokenizer tok = es::Tokenizer::from_gguf(file);
  QCOMPARE(tok.n_tokens(), 261u);  // Id 259 is a gap: "[PAD259]", unused.
  QCOMPARE(tok.token_type(259), es::TokenType::unused);
  QCOMPARE(tok.token_type(258), es::TokenType::control);
  QCOMPARE(tok.token_type(260), es::TokenType::user_defined);
  QCOMPARE(tok.eos(), 258);
  QCOMPARE(tok.encode("abc<|end|> <tool>"), (std::vector<es::TokenId>{257, 258, 32, 260}));
  QCOMPARE(file.get_string("tokenizer.chat_template").value_or(""), "{{ messages }}");
}

void TestTokenizerCli::converter_errors_data() {
  QTest::addColumn<QByteArray>("tokenizer");
  QTest::addColumn<QByteArray>("config");
  QTest::addColumn<int>("kind");
  QTest::addColumn<QString>("message");
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}};
  const auto row = [](const char* name, const json& t, const json& c, es::ErrorKind k,
                      const char* msg) {
    QTest::newRow(name) << QByteArray::fromStdString(t.is_null() ? "{not json" : t.dump())
                        << QByteArray::fromStdString(c.is_null() ? "" : c.dump())
                        << static_cast<int>(k) << QString(msg);
  };
  using K = es::ErrorKind;
  row("not json", nullptr, nullptr, K::bad_input, "tokenizer.json: not valid JSON");
  json t = tiny_tokenizer_json(byte_level);
  t["model"]["type"] = "Unigram";
  row("unigram", t, nullptr, K::unsupported, "model type Unigram");
  t = tiny_tokenizer_json(split_then_byte_level({"\\p{L}+|\\p{N}"}));
  row("unknown regexes", t, nullptr, K::unsupported, "not recognised");
  t = tiny_tokenizer_json(byte_level);
  t["normalizer"] = {{"type", "Lowercase"}};
  row("lowercase normalizer", t, nullptr, K::unsupported, "normalizer Lowercase");
  t = tiny_tokenizer_json({{"type", "Metaspace"}});
  row("metaspace", t, nullptr, K::unsupported, "pre_tokenizer");
  t = tiny_tokenizer_json(byte_level);
  t["model"]["vocab"]["again"] = 5;
  row("two tokens one id", t, nullptr, K::bad_input, "id 5 is given to two tokens");
  t = tiny_tokenizer_json(byte_level);
  t["model"]["vocab"]["huge"] = 4000000000LL;
  row("id too large", t, nullptr, K::bad_input, "model.vocab 'huge'");
  t = tiny_tokenizer_json(byte_level);
  t["added_tokens"][0]["content"] = "ab";
  row("added token duplicates vocab", t, nullptr, K::bad_input, "'ab' has two ids");
  row("bos not a token", tiny_tokenizer_json(byte_level), json{{"bos_token", "<s>"}}, K::bad_input,
      "tokenizer_config.json: bos_token '<s>' is not a token");
}

void TestTokenizerCli::converter_errors() {
  QFETCH(QByteArray, tokenizer);
  QFETCH(QByteArray, config);
  QFETCH(int, kind);
  QFETCH(QString, message);
  try {
    (void)es::convert_hf_tokenizer(tokenizer.toStdString(), config.toStdString(), "tokenizer.json",
                                   "tokenizer_config.json");
    QFAIL("converted");
  } catch (const es::Error& e) {
    QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
    QCOMPARE(static_cast<int>(e.kind()), kind);
  }
}

void TestTokenizerCli::cli_round_trip() {
  QFile json_file(tmp_.filePath("tokenizer.json"));
  QVERIFY(json_file.open(QIODevice::WriteOnly));
  json_file.write(QByteArray::fromStdString(
      tiny_tokenizer_json({{"type", "ByteLevel"}, {"add_prefix_space", false}}).dump()));
  json_file.close();
  const QString gguf = tmp_.filePath("tok.gguf");
  Run r = run_cli({"convert-tokenizer", json_file.fileName(), "-o", gguf});
  QCOMPARE(r.exit_code, 0);
  QVERIFY(r.out.contains("\"pre\":\"gpt-2\""));
  r = run_cli({"tokenize", "-m", gguf, "--text", "- abc<|end|>"});
  QCOMPARE(r.exit_code, 0);
  QCOMPARE(r.out, QByteArray("[45,32,257,258]\n"));
  r = run_cli({"detokenize", "-m", gguf, "--tokens", "45,32,257,258"});
  QCOMPARE(r.exit_code, 0);
  QCOMPARE(r.out, QByteArray("- abc<|end|>"));
  r = run_cli({"detokenize", "-m", gguf, "--tokens", "257,258", "--no-special"});
  QCOMPARE(r.out, QByteArray("abc"));
  QFile text(tmp_.filePath("input.txt"));
  QVERIFY(text.open(QIODevice::WriteOnly));
  text.write("ab\xff");
  text.close();
  r = run_cli({"tokenize", "-m", gguf, "--file", text.fileName()});
  QCOMPARE(r.out, QByteArray("[256,239,191,189]\n"));  // The stray byte reads as U+FFFD.
}

void TestTokenizerCli::cli_errors_data() {
  QTest::addColumn<QStringList>("args");
  QTest::addColumn<int>("exit_code");
  QTest::addColumn<QString>("message");
  const QString dir = tmp_.path();
  QFile bad(dir + "/bad.json");
  QVERIFY(bad.open(QIODevice::WriteOnly));
  bad.write("{\"model\": ");
  bad.close();
  es::test::VocabSpec no_tok = es::test::bpe_vocab({});
  no_tok.omit = {"tokenizer.ggml.model"};
  no_tok.to_writer().write((dir + "/notok.gguf").toStdString());
  QTest::newRow("tokenize without model")
      << QStringList{"tokenize", "--text", "x"} << 2 << "-m MODEL";
  QTest::newRow("tokenize without text")
      << QStringList{"tokenize", "-m", dir + "/notok.gguf"} << 2 << "exactly one of";
  QTest::newRow("tokenize missing model")
      << QStringList{"tokenize", "-m", dir + "/none.gguf", "--text", "x"} << 3 << "none.gguf";
  QTest::newRow("tokenize no tokenizer")
      << QStringList{"tokenize", "-m", dir + "/notok.gguf", "--text", "x"} << 3
      << "notok.gguf: tokenizer.ggml.model: missing";
  QTest::newRow("tokenize unknown option")
      << QStringList{"tokenize", "-m", dir + "/notok.gguf", "--txt", "x"} << 2 << "--txt";
  QTest::newRow("detokenize bad list")
      << QStringList{"detokenize", "-m", dir + "/notok.gguf", "--tokens", "1,x"} << 2 << "x";
  QTest::newRow("convert bad json")
      << QStringList{"convert-tokenizer", dir + "/bad.json", "-o", dir + "/out.gguf"} << 3
      << "bad.json: not valid JSON";
  QTest::newRow("convert without output")
      << QStringList{"convert-tokenizer", dir + "/bad.json"} << 2 << "-o OUT.gguf";
  QTest::newRow("convert missing config")
      << QStringList{"convert-tokenizer", dir + "/bad.json", dir + "/nope.json", "-o",
                     dir + "/out.gguf"}
      << 3 << "nope.json";
}

void TestTokenizerCli::cli_errors() {
  QFETCH(QStringList, args);
  QFETCH(int, exit_code);
  QFETCH(QString, message);
  const Run r = run_cli(args);
  QCOMPARE(r.exit_code, exit_code);
  QVERIFY2(r.err.startsWith("error: "), r.err.constData());
  const QByteArray first_line = r.err.left(r.err.indexOf('\n'));
  QVERIFY2(first_line.contains(message.toUtf8()), r.err.constData());
  QVERIFY2(r.out.isEmpty(), r.out.constData());
  QVERIFY(!QFile::exists(tmp_.filePath("out.gguf")));  // Never a partial output file.
}

QTEST_GUILESS_MAIN(TestTokenizerCli)
#include "test_tokenizer_cli.moc"
