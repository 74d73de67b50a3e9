// The tokenizer on synthetic vocabularies built with the GGUF writer: BPE merge order
// (against a naive reference, on the scan and the heap paths), each pre-tokenizer's word
// splits, special tokens, byte fallback, normalisation, invalid UTF-8, decoding and
// streaming decoding with split characters, and every load error. The converter and the
// CLI are tested in test_tokenizer_cli.cpp; parity with Hugging Face on real
// vocabularies in test_tokenizer_hf.cpp.
#include <QtTest>
#include <climits>
#include <random>

#include "expertscope/error.h"
#include "expertscope/tokenizer.h"
#include "pretokenize.h"
#include "tokenizer_pre_splits.h"
#include "tokenizer_vocab.h"

using es::TokenId;
using es::TokenType;
using es::test::bpe_vocab;
using es::test::byte_level;
using es::test::load;
using es::test::VocabSpec;

namespace {

using Ids = std::vector<TokenId>;

/// Textbook BPE on one word: repeatedly merge the lowest-rank adjacent pair (leftmost on
/// ties) until none applies. Ranks by raw-byte pair.
std::vector<std::string> naive_bpe(const std::string& word,
                                   const std::vector<std::pair<std::string, std::string>>& merges) {
  std::vector<std::string> parts;
  for (char c : word) parts.emplace_back(1, c);
  for (;;) {
    int best = -1, best_rank = INT_MAX;
    for (int i = 0; i + 1 < static_cast<int>(parts.size()); ++i) {
      for (int r = 0; r < static_cast<int>(merges.size()) && r < best_rank; ++r) {
        if (merges[r].first == parts[i] && merges[r].second == parts[i + 1]) {
          best = i;
          best_rank = r;
        }
      }
    }
    if (best < 0) return parts;
    parts[best] += parts[best + 1];
    parts.erase(parts.begin() + best + 1);
  }
}

Ids ids_of(const VocabSpec& spec, const std::vector<std::string>& raw_parts) {
  Ids ids;
  for (const std::string& p : raw_parts) ids.push_back(spec.id(byte_level(p)));
  return ids;
}

std::string streamed(const es::Tokenizer& tok, const Ids& ids) {
  es::StreamingDecoder d(tok);
  std::string out;
  for (TokenId id : ids) out += d.push(id);
  return out + d.flush();
}

}  // namespace

class TestTokenizer : public QObject {
  Q_OBJECT

 private slots:
  void bpe_merge_order();
  void bpe_matches_naive_reference();
  void pre_tokenizer_splits();
  void pre_tokenizer_keeps_words_apart();
  void special_tokens();
  void add_special_tokens();
  void decode_round_trip();
  void invalid_utf8_input();
  void nfc_normalizer();
  void spm_encode_decode();
  void spm_scores_decide();
  void streaming_split_characters();
  void streaming_equals_decode_random();
  void load_errors_data();
  void load_errors();
};

void TestTokenizer::bpe_merge_order() {
  {
    const VocabSpec s = bpe_vocab({{"a", "b"}, {"b", "c"}});
    QCOMPARE(load(s).encode("abc"), ids_of(s, {"ab", "c"}));
  }
  {
    const VocabSpec s = bpe_vocab({{"b", "c"}, {"a", "b"}});
    QCOMPARE(load(s).encode("abc"), ids_of(s, {"a", "bc"}));
  }
  {
    const VocabSpec s = bpe_vocab({{"a", "a"}});  // Ties go to the leftmost pair.
    QCOMPARE(load(s).encode("aaa"), ids_of(s, {"aa", "a"}));
  }
  {
    const VocabSpec s = bpe_vocab({{"a", "b"}, {"ab", "c"}, {"c", "d"}, {"abc", "d"}});
    QCOMPARE(load(s).encode("abcd"), ids_of(s, {"abcd"}));
    QCOMPARE(load(s).encode("cdab"), ids_of(s, {"cd", "ab"}));
  }
}

void TestTokenizer::bpe_matches_naive_reference() {
  std::mt19937 rng(7);
  const std::string alphabet = "abcd";
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<std::string> known = {"a", "b", "c", "d"};
  for (int i = 0; i < 60; ++i) {
    const std::string l = known[rng() % known.size()], r = known[rng() % known.size()];
    if (l.size() + r.size() > 8) continue;
    if (std::find(merges.begin(), merges.end(), std::make_pair(l, r)) != merges.end()) continue;
    merges.emplace_back(l, r);
    known.push_back(l + r);
  }
  const VocabSpec s = bpe_vocab(merges);
  const es::Tokenizer tok = load(s);
  for (int n = 0; n < 400; ++n) {
    const size_t len = 1 + rng() % (n < 200 ? 40 : 300);  // Scan path, then heap path.
    std::string word;
    for (size_t i = 0; i < len; ++i) word += alphabet[rng() % alphabet.size()];
    const Ids expected = ids_of(s, naive_bpe(word, merges));
    QCOMPARE(tok.encode(word), expected);
    QCOMPARE(tok.encode(word), expected);  // Again, from the word cache.
    QCOMPARE(tok.decode(expected), word);
  }
}

void TestTokenizer::pre_tokenizer_splits() {
  for (const PreSplitCase& c : pre_split_cases()) {
    for (const es::PreTokenizerKind kind : {c.kind, es::PreTokenizerKind::olmo}) {
      if (kind == es::PreTokenizerKind::olmo && c.kind != es::PreTokenizerKind::gpt2) continue;
      const es::detail::PreTokenizer pre(kind);
      std::vector<es::detail::Span> words, scratch;
      pre.split(c.text, words, scratch);
      std::vector<std::string_view> got;
      for (const auto& w : words) got.push_back(c.text.substr(w.begin, w.end - w.begin));
      if (got != c.words) {
        QStringList g, e;
        for (auto w : got) g << QString::fromUtf8(w.data(), static_cast<qsizetype>(w.size()));
        for (auto w : c.words) e << QString::fromUtf8(w.data(), static_cast<qsizetype>(w.size()));
        QFAIL(qPrintable(
            QStringLiteral("pre-tokenizer %1 on '%2': got [%3], expected [%4]")
                .arg(static_cast<int>(kind))
                .arg(QString::fromUtf8(c.text.data(), c.text.size()), g.join("|"), e.join("|"))));
      }
    }
  }
  // JavaScript's \s, not PCRE2's: U+FEFF is a space, U+0085 and U+180E are not.
  QCOMPARE(QString::fromStdString(es::detail::js_pattern_to_pcre2(R"(\s+(?!\S)|[^\s,])")),
           QStringLiteral(R"([\t\n\x0B\f\r\p{Z}\x{FEFF}]+(?![^\t\n\x0B\f\r\p{Z}\x{FEFF}])|)"
                          R"([^\t\n\x0B\f\r\p{Z}\x{FEFF},])"));
  // Letters and symbols newer than PCRE2's Unicode tables are classified as JavaScript does:
  // U+31350 (CJK extension H, Unicode 15) is a letter, U+1FAE8 (an emoji of Unicode 15) a
  // symbol.
  const es::detail::PreTokenizer gpt2(es::PreTokenizerKind::gpt2);
  const es::detail::PreTokenizer deepseek(es::PreTokenizerKind::deepseek_v3);
  std::vector<es::detail::Span> words, scratch;
  gpt2.split("a\U00031350b", words, scratch);
  QCOMPARE(words.size(), size_t{1});
  words.clear();
  deepseek.split("a \U0001FAE8!", words, scratch);
  QCOMPARE(words.size(), size_t{2});  // "a", " 🫨!"
}

void TestTokenizer::pre_tokenizer_keeps_words_apart() {
  // "a" + "Ġ" would merge if words were not split first: " b" is a word of its own.
  VocabSpec s = bpe_vocab({{"a", " "}, {" ", "b"}});
  QCOMPARE(load(s).encode("a b"), ids_of(s, {"a", " b"}));
  // qwen2 splits digits one by one; deepseek-v3 in threes; gpt-2 keeps runs.
  s = bpe_vocab({{"3", "4"}, {"1", "2"}, {"12", "3"}, {"4", "5"}});
  s.pre = "qwen2";
  QCOMPARE(load(s).encode("12345"), ids_of(s, {"1", "2", "3", "4", "5"}));
  s.pre = "deepseek-v3";
  QCOMPARE(load(s).encode("12345"), ids_of(s, {"123", "45"}));
  s.pre = "gpt-2";
  QCOMPARE(load(s).encode("12345"), ids_of(s, {"12", "34", "5"}));
}

void TestTokenizer::special_tokens() {
  const VocabSpec s = bpe_vocab({{"a", "b"}}, {{"<|a|>", TokenType::control},
                                               {"<|ab|>", TokenType::control},
                                               {"<x>", TokenType::user_defined}});
  const es::Tokenizer tok = load(s);
  const TokenId a = s.id("<|a|>"), ab = s.id("<|ab|>"), x = s.id("<x>");
  QCOMPARE(tok.encode("q<|ab|>r"), (Ids{s.id("q"), ab, s.id("r")}));
  QCOMPARE(tok.encode("<|a|><|ab|><x>"), (Ids{a, ab, x}));
  Ids plain = tok.encode("<|a");
  QCOMPARE(plain.size(), size_t{3});  // Not a token: bytes.
  es::EncodeOptions no_parse;
  no_parse.parse_special = false;
  QCOMPARE(tok.encode("<x>", no_parse), (Ids{s.id("<"), s.id("x"), s.id(">")}));
  QCOMPARE(tok.decode(Ids{a, s.id("ab"), x}), std::string("<|a|>ab<x>"));
  es::DecodeOptions skip;
  skip.render_special = false;
  QCOMPARE(tok.decode(Ids{a, s.id("ab"), x}, skip), std::string("ab<x>"));
  QCOMPARE(tok.token_type(a), TokenType::control);
  QCOMPARE(tok.find_token("<x>"), x);
}

void TestTokenizer::add_special_tokens() {
  VocabSpec s = bpe_vocab({}, {{"<s>", TokenType::control}, {"</s>", TokenType::control}});
  s.set("tokenizer.ggml.bos_token_id", es::gguf::Value(uint32_t(256)));
  s.set("tokenizer.ggml.eos_token_id", es::gguf::Value(uint32_t(257)));
  s.set("tokenizer.ggml.add_bos_token", es::gguf::Value(true));
  es::EncodeOptions add;
  add.add_special = true;
  QCOMPARE(load(s).encode("a", add), (Ids{256, s.id("a")}));
  QCOMPARE(load(s).encode("a"), (Ids{s.id("a")}));
  s.set("tokenizer.ggml.add_eos_token", es::gguf::Value(true));
  QCOMPARE(load(s).encode("a", add), (Ids{256, s.id("a"), 257}));
  QVERIFY(load(s).is_end_of_generation(257));
  QCOMPARE(load(s).bos(), 256);
}

void TestTokenizer::decode_round_trip() {
  const es::Tokenizer tok = load(bpe_vocab({{"h", "e"}, {"l", "l"}, {" ", "w"}}));
  const std::string texts[] = {"hello world", "  tabs\tand\nlines\r\n", "caf\u00e9 \u4e2d\u6587",
                               "\U0001F468\u200D\U0001F469\u200D\U0001F467 emoji", ""};
  for (const std::string& t : texts) QCOMPARE(tok.decode(tok.encode(t)), t);
}

void TestTokenizer::invalid_utf8_input() {
  const es::Tokenizer tok = load(bpe_vocab({}));
  // Each maximal ill-formed subpart reads as U+FFFD (WHATWG), as JavaScript sees the bytes.
  QCOMPARE(tok.encode("\x80"
                      "abc"),
           tok.encode("\xEF\xBF\xBD"
                      "abc"));
  QCOMPARE(tok.encode("\xE2\x82(x"), tok.encode("\xEF\xBF\xBD(x"));
  QCOMPARE(tok.encode("\xED\xA0\x80"), tok.encode("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"));
  QCOMPARE(tok.encode("a\xF0\x9F\x98"), tok.encode("a\xEF\xBF\xBD"));
  QCOMPARE(tok.decode(tok.encode("\xC0\xAF")), std::string("\xEF\xBF\xBD\xEF\xBF\xBD"));
  // Decoding bytes that are not UTF-8: U+FFFD by default, the bytes with raw_bytes.
  const Ids lone{0xE2};
  QCOMPARE(tok.decode(lone), std::string("\xEF\xBF\xBD"));
  es::DecodeOptions raw;
  raw.raw_bytes = true;
  QCOMPARE(tok.decode(lone, raw), std::string("\xE2"));
}

void TestTokenizer::nfc_normalizer() {
  VocabSpec s = bpe_vocab({{"\xC3", "\xA9"}});  // é composed.
  const std::string composed = "caf\u00e9", decomposed = "cafe\u0301";
  QVERIFY(load(s).encode(composed) != load(s).encode(decomposed));
  s.set(std::string(es::tokenizer_keys::normalizer), es::gguf::Value("nfc"));
  QCOMPARE(load(s).encode(decomposed), load(s).encode(composed));
  QCOMPARE(load(s).decode(load(s).encode(decomposed)), composed);
  QCOMPARE(load(s).normalization(), es::Normalization::nfc);
  // Hangul jamo compose; CJK and emoji pass untouched.
  QCOMPARE(load(s).encode("\u1100\u1161\u11a8"), load(s).encode("\uac01"));
  QCOMPARE(load(s).decode(load(s).encode("\u4e2d\U0001F600")), std::string("\u4e2d\U0001F600"));
}

void TestTokenizer::spm_encode_decode() {
  const VocabSpec s = es::test::spm_vocab({{"\u2581", -1},
                                           {"h", -2},
                                           {"e", -2},
                                           {"l", -2},
                                           {"o", -2},
                                           {"w", -2},
                                           {"r", -2},
                                           {"d", -2},
                                           {"\u2581h", -3},
                                           {"\u2581he", -4},
                                           {"ll", -3},
                                           {"\u2581hell", -5},
                                           {"\u2581hello", -6},
                                           {"\u2581w", -3},
                                           {"or", -3},
                                           {"\u2581wor", -4},
                                           {"\u2581worl", -5},
                                           {"\u2581world", -6}});
  const es::Tokenizer tok = load(s);
  QCOMPARE(tok.kind(), es::TokenizerKind::spm);
  const Ids hello_world{s.id("\u2581hello"), s.id("\u2581world")};
  QCOMPARE(tok.encode("hello world"), hello_world);
  QCOMPARE(tok.decode(hello_world), std::string("hello world"));  // Prefix space removed.
  // é is no token: its bytes fall back to <0xC3> <0xA9>.
  const Ids with_bytes{s.id("\u2581h"), s.id("<0xC3>"), s.id("<0xA9>"), s.id("ll"), s.id("o")};
  QCOMPARE(tok.encode("h\u00e9llo"), with_bytes);
  QCOMPARE(tok.decode(with_bytes), std::string("h\u00e9llo"));
  QCOMPARE(streamed(tok, with_bytes), std::string("h\u00e9llo"));
  es::EncodeOptions add;
  add.add_special = true;  // SentencePiece files add BOS unless they say otherwise.
  QCOMPARE(tok.encode("hello", add), (Ids{1, s.id("\u2581hello")}));
  QCOMPARE(tok.encode("<s>hello"), (Ids{1, s.id("\u2581hello")}));
}

void TestTokenizer::spm_scores_decide() {
  // "abc": "ab" and "bc" are both tokens; the higher score merges first.
  VocabSpec s = es::test::spm_vocab(
      {{"\u2581", -1}, {"a", -1}, {"b", -1}, {"c", -1}, {"ab", -2}, {"bc", -3}});
  s.set("tokenizer.ggml.add_space_prefix", es::gguf::Value(false));
  QCOMPARE(load(s).encode("abc"), (Ids{s.id("ab"), s.id("c")}));
  s.scores[static_cast<size_t>(s.id("bc"))] = -1.5f;
  QCOMPARE(load(s).encode("abc"), (Ids{s.id("a"), s.id("bc")}));
}

void TestTokenizer::streaming_split_characters() {
  const es::Tokenizer tok = load(bpe_vocab({}));
  es::StreamingDecoder d(tok);
  QCOMPARE(d.push(0xC3), std::string());  // First byte of é: held back.
  QCOMPARE(d.pending_bytes(), size_t{1});
  QCOMPARE(d.push(0xA9), std::string("\u00e9"));
  for (TokenId b : {0xF0, 0x9F, 0x98}) QCOMPARE(d.push(b), std::string());
  QCOMPARE(d.push(0x80), std::string("\U0001F600"));
  QCOMPARE(d.push(0xFF), std::string("\xEF\xBF\xBD"));  // Can never start a character.
  QCOMPARE(d.push(0xE2), std::string());
  QCOMPARE(d.push(0x82), std::string());
  QCOMPARE(d.push('A'), std::string("\xEF\xBF\xBD"
                                    "A"));  // Cut short by 'A'.
  QCOMPARE(d.push(0xE4), std::string());
  QCOMPARE(d.flush(), std::string("\xEF\xBF\xBD"));  // Unfinished at the end.
  QCOMPARE(d.pending_bytes(), size_t{0});
}

void TestTokenizer::streaming_equals_decode_random() {
  const VocabSpec s = bpe_vocab({{"\xC3", "\xA9"}, {"\xE4", "\xB8"}, {"\xF0", "\x9F"}},
                                {{"<|x|>", TokenType::control}});
  const es::Tokenizer tok = load(s);
  std::mt19937 rng(11);
  for (int n = 0; n < 500; ++n) {
    Ids ids(rng() % 12);
    for (TokenId& id : ids) id = static_cast<TokenId>(rng() % tok.n_tokens());
    const std::string whole = tok.decode(ids);
    QCOMPARE(streamed(tok, ids), whole);
    QCOMPARE(QString::fromUtf8(whole.data(), static_cast<qsizetype>(whole.size())).toStdString(),
             whole);
  }
}

namespace {

/// One way to break a valid vocabulary, and what the error must say.
struct BrokenCase {
  const char* name;
  void (*mutate)(VocabSpec&);
  es::ErrorKind kind;
  const char* key;  ///< Must appear in the message (with "test.gguf").
};

void set_id(VocabSpec& s, const char* key, uint32_t id) {
  s.set(key, es::gguf::Value(id));
}

const std::vector<BrokenCase>& broken_cases() {
  using K = es::ErrorKind;
  static const std::vector<BrokenCase> cases = {
      {"no model", [](VocabSpec& s) { s.omit.push_back("tokenizer.ggml.model"); }, K::bad_input,
       "tokenizer.ggml.model"},
      {"unknown model", [](VocabSpec& s) { s.model = "bert"; }, K::unsupported,
       "tokenizer.ggml.model"},
      {"unknown pre", [](VocabSpec& s) { s.pre = "klingon"; }, K::unsupported, "'klingon'"},
      {"no tokens", [](VocabSpec& s) { s.omit.push_back("tokenizer.ggml.tokens"); }, K::bad_input,
       "tokenizer.ggml.tokens"},
      {"tokens not strings",
       [](VocabSpec& s) { s.set("tokenizer.ggml.tokens", es::gguf::number_array<uint32_t>({1})); },
       K::bad_input, "tokenizer.ggml.tokens"},
      {"empty vocabulary",
       [](VocabSpec& s) {
         s.tokens.clear();
         s.types.clear();
         s.merges.clear();
       },
       K::bad_input, "tokenizer.ggml.tokens"},
      {"token_type length", [](VocabSpec& s) { s.types.pop_back(); }, K::bad_input,
       "tokenizer.ggml.token_type"},
      {"token_type value", [](VocabSpec& s) { s.types[5] = 9; }, K::bad_input,
       "tokenizer.ggml.token_type"},
      {"scores length", [](VocabSpec& s) { s.scores.assign(s.tokens.size() + 1, 0.0f); },
       K::bad_input, "tokenizer.ggml.scores"},
      {"duplicate token", [](VocabSpec& s) { s.tokens[257] = s.tokens[65]; }, K::bad_input,
       "duplicates token 65"},
      {"merge of unknown token", [](VocabSpec& s) { s.merges.push_back("zz q"); }, K::bad_input,
       "tokenizer.ggml.merges"},
      {"merge without space", [](VocabSpec& s) { s.merges.push_back("ab"); }, K::bad_input,
       "tokenizer.ggml.merges"},
      {"merge result unknown", [](VocabSpec& s) { s.merges.push_back("x y"); }, K::bad_input,
       "not a token"},
      {"no merges", [](VocabSpec& s) { s.omit.push_back("tokenizer.ggml.merges"); }, K::bad_input,
       "tokenizer.ggml.merges"},
      {"bos out of range", [](VocabSpec& s) { set_id(s, "tokenizer.ggml.bos_token_id", 100000); },
       K::bad_input, "tokenizer.ggml.bos_token_id"},
      {"eos out of range", [](VocabSpec& s) { set_id(s, "tokenizer.ggml.eos_token_id", 302); },
       K::bad_input, "tokenizer.ggml.eos_token_id"},
      {"unk out of range",
       [](VocabSpec& s) { set_id(s, "tokenizer.ggml.unknown_token_id", 1u << 31); }, K::bad_input,
       "tokenizer.ggml.unknown_token_id"},
      {"pad out of range", [](VocabSpec& s) { set_id(s, "tokenizer.ggml.padding_token_id", 999); },
       K::bad_input, "tokenizer.ggml.padding_token_id"},
      {"eot out of range", [](VocabSpec& s) { set_id(s, "tokenizer.ggml.eot_token_id", 4000); },
       K::bad_input, "tokenizer.ggml.eot_token_id"},
      {"bos not an integer",
       [](VocabSpec& s) { s.set("tokenizer.ggml.bos_token_id", es::gguf::Value("one")); },
       K::bad_input, "tokenizer.ggml.bos_token_id"},
      {"add_bos without bos",
       [](VocabSpec& s) { s.set("tokenizer.ggml.add_bos_token", es::gguf::Value(true)); },
       K::bad_input, "tokenizer.ggml.add_bos_token"},
      {"unknown normalizer",
       [](VocabSpec& s) { s.set("tokenizer.expertscope.normalizer", es::gguf::Value("nfd")); },
       K::unsupported, "tokenizer.expertscope.normalizer"},
  };
  return cases;
}

}  // namespace

void TestTokenizer::load_errors_data() {
  QTest::addColumn<int>("index");
  for (size_t i = 0; i < broken_cases().size(); ++i) {
    QTest::newRow(broken_cases()[i].name) << static_cast<int>(i);
  }
  QTest::newRow("spm byte token not <0xHH>") << -1;
}

void TestTokenizer::load_errors() {
  QFETCH(int, index);
  VocabSpec s = bpe_vocab({{"a", "b"}, {"ab", "c"}});
  es::ErrorKind kind = es::ErrorKind::bad_input;
  std::string key = "tokenizer.ggml.tokens";
  if (index >= 0) {
    const BrokenCase& c = broken_cases()[static_cast<size_t>(index)];
    c.mutate(s);
    kind = c.kind;
    key = c.key;
  } else {
    s = es::test::spm_vocab({{"a", -1}});
    s.tokens[3] = "<0xZZ>";
  }
  try {
    (void)load(s);
    QFAIL("the vocabulary was accepted");
  } catch (const es::Error& e) {
    const QString what = QString::fromUtf8(e.what());
    QVERIFY2(what.startsWith("test.gguf: "), qPrintable(what));
    QVERIFY2(what.contains(QString::fromStdString(key)), qPrintable(what));
    QCOMPARE(e.kind(), kind);
  }
}

QTEST_GUILESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"
