// Transcript exports: JSON round trip (same session, same bytes) and a suite of broken
// documents the import must refuse by name; HTML of hostile content checked inert here and
// by Python's html.parser (check_html_inert.py); Markdown front matter, links and
// neutralised HTML; CSV and .npy rows (the .npy read back by numpy.load); write_export's
// atomic replacement and attachment folder; sizes and times of a 2,000-token answer.
#include <sys/resource.h>
#include <unistd.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "expertscope/error.h"
#include "expertscope/transcript.h"
#include "transcript_samples.h"

namespace tr = es::transcript;
using Json = nlohmann::ordered_json;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Runs /usr/bin/python3 with arguments; the exit code and what it printed.
std::pair<int, QString> run_python(const QStringList& args) {
  QProcess p;
  p.setProcessChannelMode(QProcess::MergedChannels);
  p.start(kPython, args);
  if (!p.waitForFinished(120000)) return {-1, "python did not finish"};
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAll())};
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Problems of HTML whose text is all escaped: every '<' opens a real tag, so looking at
/// each tag finds any script element, event handler or script URL the page holds.
QStringList tag_problems(const std::string& html) {
  QStringList problems;
  const std::string low = lower(html);
  for (const char* bad : {"<script", "<iframe", "<object", "<embed", "<link"}) {
    if (low.find(bad) != std::string::npos) problems << QString("found %1").arg(bad);
  }
  for (size_t at = low.find('<'); at != std::string::npos; at = low.find('<', at + 1)) {
    const size_t end = low.find('>', at);
    if (end == std::string::npos) {
      problems << "unterminated tag";
      break;
    }
    const std::string tag = low.substr(at, end - at);
    if (tag.starts_with("<!--")) continue;
    // Attribute names: a word preceded by whitespace and followed by '=' outside quotes.
    bool quoted = false;
    for (size_t i = 1; i < tag.size(); ++i) {
      if (tag[i] == '"') quoted = !quoted;
      if (quoted || !std::isspace(static_cast<unsigned char>(tag[i - 1]))) continue;
      if (tag.compare(i, 2, "on") == 0) {
        const size_t eq = tag.find_first_of("= ", i);
        if (eq != std::string::npos && tag[eq] == '=')
          problems << QString::fromStdString("event attribute in " + tag.substr(0, 80));
      }
    }
    if (tag.find("javascript:") != std::string::npos)
      problems << QString::fromStdString("javascript: in " + tag.substr(0, 80));
  }
  return problems;
}

/// True if the bytes are valid UTF-8 (Qt's decoder agrees byte for byte).
bool valid_utf8(const std::string& s) {
  const QByteArray in(s.data(), static_cast<qsizetype>(s.size()));
  return QString::fromUtf8(in).toUtf8() == in;
}

template <typename F>
es::ErrorKind error_kind(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const es::Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  return es::ErrorKind::unset;
}

size_t count(const std::string& haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

}  // namespace

class TestTranscript : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { QVERIFY(dir_.isValid()); }

  void formatNames() {
    QCOMPARE(tr::parse_format("md"), tr::Format::markdown);
    QCOMPARE(tr::parse_format("markdown"), tr::Format::markdown);
    QCOMPARE(tr::parse_format("npy"), tr::Format::npy);
    QVERIFY(!tr::parse_format("docx"));
    for (const char* name : {"md", "html", "json", "csv", "npy", "pdf"})
      QCOMPARE(tr::extension(*tr::parse_format(name)), std::string_view(name));
    QCOMPARE(tr::extension(tr::Format::unset), std::string_view());
  }

  // -------------------------------------------------------------------------------------
  // JSON.

  void jsonRoundTrip() {
    es::Session s = es::test::sample_session();
    s.id = 7;
    for (size_t i = 0; i < s.messages.size(); ++i) s.messages[i].id = 100 + int64_t(i);
    // A message whose texts do not match its trace, and one with a trace of 0 tokens.
    es::Message odd;
    odd.role = "assistant";
    odd.content = "odd";
    odd.token_texts = {"o", "d"};
    es::Message empty_trace;
    empty_trace.role = "user";
    empty_trace.trace = es::RoutingTrace(es::TraceShape{64, 8, {1, 2}, -1});
    s.messages.push_back(odd);
    s.messages.push_back(empty_trace);
    const std::string a = tr::to_json(s);
    const es::Session back = tr::from_json(a, "a.json");
    QVERIFY(es::same_session(s, back, false));
    QVERIFY(!es::same_session(s, back, true));  // ids are the store's, not the file's
    QCOMPARE(back.id, int64_t{0});
    QCOMPARE(tr::to_json(back), a);

    // OpenAI-style shape.
    const Json j = Json::parse(a);
    QCOMPARE(j["object"].get<std::string>(), std::string("expertscope.session"));
    QCOMPARE(j["version"].get<int>(), tr::json_format_version);
    QCOMPARE(j["messages"].size(), s.messages.size());
    QCOMPARE(j["messages"][2]["role"].get<std::string>(), std::string("assistant"));
    QCOMPARE(j["messages"][2]["content"].get<std::string>(), s.messages[2].content);
    QCOMPARE(j["settings"]["top_k"].get<int>(), 40);  // an object, not a string
    const Json& routing = j["messages"][2]["expertscope"]["routing"];
    QCOMPARE(routing["tokens"].size(), size_t{s.messages[2].trace->n_tokens()});
    QCOMPARE(routing["tokens"][0]["full_probs"].size(), size_t{64});
    QCOMPARE(routing["full_layer"].get<int>(), 8);
    QVERIFY(j["messages"][7]["expertscope"].contains("token_texts"));
    // Weights in the fewest digits: no "0.12345678" noise.
    QVERIFY(a.find("0.0999755859375") == std::string::npos);
    const auto w = routing["tokens"][0]["weights"][0][0].dump();
    QVERIFY2(w.size() <= 8, w.c_str());

    // A trace that never got a shape (same_session cannot compare it: it has no
    // serialised form) comes back without one.
    es::Session u;
    u.messages.push_back(empty_trace);
    u.messages[0].trace = es::RoutingTrace{};
    const es::Session u_back = tr::from_json(tr::to_json(u), "u.json");
    QVERIFY(u_back.messages[0].trace && !u_back.messages[0].trace->has_shape());
  }

  void jsonRoundTripKeepsSettingsTexts() {
    es::Session s = es::test::sample_session();
    s.settings_json = "{ \"spaced\": 1 }";  // not compact: kept as a string
    s.messages[2].settings_json = "not json at all";
    s.messages[0].settings_json = "{}";
    const std::string a = tr::to_json(s);
    const es::Session back = tr::from_json(a, "b.json");
    QCOMPARE(back.settings_json, s.settings_json);
    QCOMPARE(back.messages[2].settings_json, s.messages[2].settings_json);
    QVERIFY(es::same_session(s, back, false));
    QCOMPARE(tr::to_json(back), a);
  }

  void jsonImportsPlainOpenAiMessages() {
    const auto s = tr::from_json(
        R"({"object":"expertscope.session","version":1,"title":"t","model":null,)"
        R"("created":"2026-01-02T03:04:05Z","updated":"2026-01-02T03:04:05.500+00:00",)"
        R"("messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]})",
        "plain.json");
    QCOMPARE(s.messages.size(), size_t{2});
    QCOMPARE(s.messages[1].content, std::string("yo"));
    QCOMPARE(s.updated_ms - s.created_ms, int64_t{500});
    QVERIFY(!s.model);
  }

  void jsonRejectsBrokenDocuments() {
    const std::string good = tr::to_json(es::test::sample_session());
    struct Case {
      const char* name;
      std::function<std::string()> make;
      es::ErrorKind kind;
      const char* needle;  // must appear in the message (after the source name)
    };
    const auto edit = [&](std::function<void(Json&)> f) {
      return [=] {
        Json j = Json::parse(good);
        f(j);
        return j.dump();
      };
    };
    const auto tok = [](Json& j) -> Json& {
      return j["messages"][2]["expertscope"]["routing"]["tokens"][3];
    };
    const auto att = [](Json& j) -> Json& {
      return j["messages"][1]["expertscope"]["attachments"][0];
    };
    const es::ErrorKind bad = es::ErrorKind::bad_input;
    const std::vector<Case> cases = {
        {"empty", [] { return std::string(); }, bad, "not valid JSON"},
        {"truncated", [&] { return good.substr(0, good.size() / 2); }, bad, "not valid JSON"},
        {"truncated at the end", [&] { return good.substr(0, good.size() - 3); }, bad,
         "not valid JSON"},
        {"not an object", [] { return std::string("[1,2]"); }, bad, "expected an object"},
        {"deep nesting", [] { return std::string(200000, '['); }, bad, "nested more than"},
        {"foreign object", edit([](Json& j) { j["object"] = "chat.completion"; }), bad, "object"},
        {"newer version", edit([](Json& j) { j["version"] = 2; }), es::ErrorKind::unsupported,
         "version: version 2 is newer"},
        {"version 0", edit([](Json& j) { j["version"] = 0; }), bad, "version"},
        {"title a number", edit([](Json& j) { j["title"] = 5; }), bad,
         "title: expected a string, found an integer"},
        {"messages not an array", edit([](Json& j) { j["messages"] = "x"; }), bad, "messages:"},
        {"role missing", edit([](Json& j) { j["messages"][0].erase("role"); }), bad,
         "messages[0].role: missing"},
        {"bad time",
         edit([](Json& j) { j["messages"][1]["expertscope"]["created"] = "yesterday"; }), bad,
         "messages[1].expertscope.created"},
        {"bad state", edit([](Json& j) { j["messages"][2]["expertscope"]["state"] = "exploded"; }),
         bad, "messages[2].expertscope.state"},
        {"n_tokens huge", edit([](Json& j) { j["messages"][2]["expertscope"]["n_tokens"] = 1e20; }),
         bad, "n_tokens: expected an integer"},
        {"n_tokens too big",
         edit([](Json& j) { j["messages"][2]["expertscope"]["n_tokens"] = 1ull << 40; }), bad,
         "n_tokens: 1099511627776 is outside"},
        {"bad base64", edit([&](Json& j) { att(j)["data_base64"] = "iVBOR!!w0KGgo="; }), bad,
         "attachments[0].data_base64: not valid base64"},
        {"base64 with bad padding", edit([&](Json& j) { att(j)["data_base64"] = "QQ=A"; }), bad,
         "data_base64"},
        {"sha mismatch", edit([&](Json& j) { att(j)["sha256"] = std::string(64, 'b'); }), bad,
         "attachments[0].sha256: does not match"},
        {"sha not hex", edit([&](Json& j) { att(j)["sha256"] = "xyz"; }), bad, "sha256: not 64"},
        {"size mismatch", edit([&](Json& j) { att(j)["size"] = 18446744073709551615ull; }), bad,
         "attachments[0].size"},
        {"expert out of range", edit([&](Json& j) { tok(j)["experts"][2][1] = 64; }), bad,
         "routing.tokens[3].experts[2][1]: 64 is outside 0..63"},
        {"duplicate experts",
         edit([&](Json& j) { tok(j)["experts"][1][1] = tok(j)["experts"][1][0]; }), bad,
         "tokens[3].experts[1][1]: expert"},
        {"short weights row", edit([&](Json& j) { tok(j)["weights"][4].erase(0); }), bad,
         "tokens[3].weights[4]: holds 7 entries, expected 8"},
        {"short entropy", edit([&](Json& j) { tok(j)["entropy"].erase(0); }), bad,
         "tokens[3].entropy: holds 15 entries, expected 16"},
        {"long full_probs", edit([&](Json& j) { tok(j)["full_probs"].push_back(0.5); }), bad,
         "tokens[3].full_probs: holds 65 entries"},
        {"weight a string", edit([&](Json& j) { tok(j)["weights"][0][0] = "0.5"; }), bad,
         "weights[0][0]: expected a number or null"},
        {"negative token id", edit([&](Json& j) { tok(j)["id"] = -1; }), bad, "tokens[3].id"},
        {"bad modality", edit([&](Json& j) { tok(j)["modality"] = "smell"; }), bad,
         "tokens[3].modality"},
        {"text on some tokens", edit([&](Json& j) { tok(j).erase("text"); }), bad,
         "tokens[3].text"},
        {"huge n_expert",
         edit([](Json& j) { j["messages"][2]["expertscope"]["routing"]["n_expert"] = 1e12; }), bad,
         "routing.n_expert"},
        {"n_expert above 65536",
         edit([](Json& j) { j["messages"][2]["expertscope"]["routing"]["n_expert"] = 70000; }), bad,
         "routing.n_expert: 70000 is outside"},
        {"top_k too big",
         edit([](Json& j) { j["messages"][2]["expertscope"]["routing"]["top_k"] = 17; }), bad,
         "routing.top_k"},
        {"too many layers", edit([](Json& j) {
           Json layers = Json::array();
           for (int i = 0; i < 5000; ++i) layers.push_back(i);
           j["messages"][2]["expertscope"]["routing"]["moe_layers"] = layers;
         }),
         bad, "moe_layers: must hold 1..4096"},
        {"layers not ascending",
         edit([](Json& j) { j["messages"][2]["expertscope"]["routing"]["moe_layers"][3] = 1; }),
         bad, "moe_layers[3]: not ascending"},
        {"full layer not MoE",
         edit([](Json& j) { j["messages"][2]["expertscope"]["routing"]["full_layer"] = 99; }), bad,
         "full_layer: 99 is not one of moe_layers"},
        {"settings a number", edit([](Json& j) { j["settings"] = 3; }), bad, "settings"},
        {"weight overflows",
         [&] {
           Json j = Json::parse(good);
           tok(j)["weights"][0][0] = 0.25;
           std::string t = j.dump();
           const size_t at = t.find("0.25");
           return t.replace(at, 4, "1e999");
         },
         bad, "not valid JSON"},
        {"a huge shape with tiny tokens", edit([](Json& j) {
           Json& r = j["messages"][2]["expertscope"]["routing"];
           Json layers = Json::array();
           for (int i = 0; i < 4096; ++i) layers.push_back(i);
           r["moe_layers"] = layers;
           r["n_expert"] = 65536;
           r["top_k"] = 16;
           r["full_layer"] = 0;
           r["tokens"] = Json::array();
           for (int i = 0; i < 5000; ++i) r["tokens"].push_back(Json::object());
         }),
         bad, "tokens[0].id: missing"},
    };
    for (const Case& c : cases) {
      std::string message;
      const std::string text = c.make();
      const es::ErrorKind kind =
          error_kind([&] { (void)tr::from_json(text, "broken.json"); }, &message);
      QVERIFY2(kind == c.kind, qPrintable(QString("%1: kind %2, message: %3")
                                              .arg(c.name)
                                              .arg(int(kind))
                                              .arg(QString::fromStdString(message))));
      QVERIFY2(message.starts_with("broken.json: "), qPrintable(QString::fromStdString(message)));
      QVERIFY2(message.find(c.needle) != std::string::npos,
               qPrintable(QString("%1: \"%2\" not in: %3")
                              .arg(c.name, c.needle, QString::fromStdString(message))));
    }
  }

  // -------------------------------------------------------------------------------------
  // HTML.

  void htmlHasTheRoutingViews() {
    const es::Session s = es::test::sample_session();
    const std::string html = tr::to_html(s);
    QVERIFY(html.starts_with("<!DOCTYPE html>"));
    QVERIFY(tag_problems(html).isEmpty());
    QVERIFY(valid_utf8(html));
    // A heatmap for each traced message with tokens: user prompt, answer, interrupted, streaming.
    QCOMPARE(count(html, "<svg "), size_t{4});
    // One radio per MoE layer per heatmap, the middle layer (block 8) checked in each.
    QCOMPARE(count(html, "type=\"radio\""), size_t{4 * 16});
    QCOMPARE(count(html, "id=\"m2-l8\" aria-label=\"layer 8\" checked>"), size_t{1});
    QCOMPARE(count(html, " checked>"), size_t{4});
    // The answer's text is its tokens, coloured: a span per non-empty token text.
    const es::Message& answer = s.messages[2];
    size_t pieces = 0;
    for (const auto& t : answer.token_texts) pieces += t.empty() ? 0 : 1;
    const size_t spans = count(html, "<span class=\"t k");
    QVERIFY2(spans >= pieces, qPrintable(QString("%1 < %2").arg(spans).arg(pieces)));
    // Each token carries its rank-0 expert per layer as a class; the CSS colours the
    // class of the checked layer.
    const uint32_t e8 = answer.trace->expert(0, 8, 0);
    const std::string k8 = "k8-" + std::to_string(e8);
    QVERIFY(html.find(" " + k8 + " ") != std::string::npos);
    char colour[8];
    std::snprintf(colour, sizeof colour, "#%06x", tr::expert_colour(e8));
    QVERIFY(html.find(".l8:checked~.tokens ." + k8 + "{background:" + colour + "}") !=
            std::string::npos);
    QVERIFY(html.find("title=\"token 0 \xc2\xb7 id ") != std::string::npos);
    // The image inline, the text attachment shown, states labelled, the model card.
    QVERIFY(html.find("<img src=\"data:image/png;base64,iVBORw0KGgo") != std::string::npos);
    QVERIFY(html.find("width=\"160\" height=\"96\"") != std::string::npos);
    QVERIFY(html.find("Taken at 19:40 from the north pier.") != std::string::npos);
    for (const char* state : {">cancelled<", ">interrupted<", ">streaming<"})
      QVERIFY2(html.find(state) != std::string::npos, state);
    QVERIFY(html.find("OLMoE 1B-7B Instruct") != std::string::npos);
    QVERIFY(html.find("2026-11-29 06:40:19 UTC") != std::string::npos);
    QVERIFY(html.find("(empty)") != std::string::npos);
    // No network resource of any kind.
    QVERIFY(html.find("http:") == std::string::npos && html.find("https:") == std::string::npos);
    check_with_python(html, "sample.html");

    // The Qt flavor: no SVG, no CSS variables, heatmaps as es-heatmap images.
    const std::string qt = tr::to_html(s, tr::HtmlFlavor::qt_rich_text);
    QCOMPARE(count(qt, "<svg"), size_t{0});
    QCOMPARE(count(qt, "var(--"), size_t{0});
    QCOMPARE(count(qt, "src=\"es-heatmap:"), size_t{4});
    QVERIFY(qt.find("src=\"es-heatmap:2\"") != std::string::npos);
    QVERIFY(tag_problems(qt).isEmpty());
    check_with_python(qt, "sample-qt.html", true);
  }

  void htmlOfHostileContentIsInert() {
    const es::Session s = es::test::hostile_session();
    for (const auto flavor : {tr::HtmlFlavor::browser, tr::HtmlFlavor::qt_rich_text}) {
      const std::string html = tr::to_html(s, flavor);
      const QStringList problems = tag_problems(html);
      QVERIFY2(problems.isEmpty(), qPrintable(problems.join('\n')));
      QVERIFY(valid_utf8(html));
      // What the hostile text tried is shown, escaped.
      QVERIFY(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
      QVERIFY(html.find("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
      // Controls and bidi formatting as visible marks, never as themselves.
      for (const char* mark :
           {"\xe2\x9f\xa8U+202E\xe2\x9f\xa9", "\xe2\x9f\xa8U+2066\xe2\x9f\xa9",
            "\xe2\x9f\xa8U+2069\xe2\x9f\xa9", "\xe2\x9f\xa8U+0001\xe2\x9f\xa9",
            "\xe2\x9f\xa8U+001B\xe2\x9f\xa9", "\xe2\x9f\xa8U+0000\xe2\x9f\xa9"}) {
        QVERIFY2(html.find(mark) != std::string::npos, mark);
      }
      for (const char* raw : {"\xe2\x80\xae", "\xe2\x81\xa6", "\xe2\x81\xa9", "\x01", "\x1b"})
        QVERIFY(html.find(raw) == std::string::npos);
      QVERIFY(html.find('\0') == std::string::npos);
      // The fake SVG "image" is not embedded; only sniffed image bytes become data URIs.
      QVERIFY(html.find("data:image/svg") == std::string::npos);
      const bool qt = flavor == tr::HtmlFlavor::qt_rich_text;
      check_with_python(html, qt ? "hostile-qt.html" : "hostile.html", qt);
    }
  }

  void pythonCheckerCatchesWhatItShould() {
    // The checker itself must fail on pages that are not inert.
    const char* bad[] = {
        "<p>x</p><script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<div style=\"background:url(http://evil/x)\">x</div>",
        "<meta http-equiv=\"refresh\" content=\"0;url=http://evil/\">",
        "<img src=\"data:image/svg+xml;base64,AAAA\">",
        "<style>@import 'x.css';</style>",
        "<iframe srcdoc=\"x\"></iframe>",
    };
    for (const char* page : bad) {
      const QString path = dir_.filePath("bad.html");
      write_file(path.toStdString(), page);
      const auto [rc, out] = run_python({checker(), path});
      if (rc == -1 && !QFile::exists(kPython)) QSKIP("/usr/bin/python3 is missing");
      QVERIFY2(rc == 1, page);
    }
  }

  // -------------------------------------------------------------------------------------
  // Markdown.

  void markdownFrontMatterSectionsAndLinks() {
    es::Session s = es::test::sample_session();
    s.messages[2].content =
        "# Heading\n<b>bold</b> and `<code>` and [x](javascript:alert(1)) and "
        "[ok](https://example.org)\n```html\n<div>kept</div>\n```\n[ref]: javascript:alert(2)\n"
        "\x01tab\there\xe2\x80\xae";
    const std::string md = tr::to_markdown(s, "chat.files");
    QVERIFY(md.starts_with("---\ntitle: \"Harbour photo"));
    const size_t end = md.find("\n---\n", 4);
    QVERIFY(end != std::string::npos);
    const std::string front = md.substr(0, end);
    for (const char* key : {"\nmodel:\n  name: \"OLMoE 1B-7B Instruct\"", "\n  arch: \"olmoe\"",
                            "\nsettings:\n  \"temperature\": 0.7",
                            "\ncreated: 2026-11-29T06:40:19.123Z", "\nmessages: 7"}) {
      QVERIFY2(front.find(key) != std::string::npos, key);
    }
    QCOMPARE(count(md, "\n## "), size_t{7});
    QVERIFY(md.find("## Assistant \xc2\xb7 2026-11-29 06:40:22 UTC") != std::string::npos);
    QVERIFY(md.find("*cancelled*") != std::string::npos);
    QVERIFY(md.find("- ![harbour\\.png](chat.files/harbour.png)") != std::string::npos);
    QVERIFY(md.find("- [notes\\.txt](chat.files/notes.txt)") != std::string::npos);
    // Raw HTML neutralised outside code, kept inside; unsafe links broken, safe ones kept.
    QVERIFY(md.find("&lt;b>bold&lt;/b> and `<code>`") != std::string::npos);
    QVERIFY(md.find("[x]\\(javascript:alert(1))") != std::string::npos);
    QVERIFY(md.find("[ok](https://example.org)") != std::string::npos);
    QVERIFY(md.find("```html\n<div>kept</div>\n```") != std::string::npos);
    QVERIFY(md.find("\\[ref]: javascript:alert(2)") != std::string::npos);
    QVERIFY(md.find("\n### Heading") != std::string::npos);  // under the message's level 2
    QVERIFY(md.find("tab\there\xe2\x9f\xa8U+202E\xe2\x9f\xa9") != std::string::npos);
    QVERIFY(md.find('\x01') == std::string::npos);
    // Hostile names stay in their link text.
    const std::string hostile = tr::to_markdown(es::test::hostile_session(), "h.files");
    QVERIFY(hostile.find("<script") == std::string::npos);
    QVERIFY(hostile.find("<img") == std::string::npos);
    QVERIFY(valid_utf8(hostile));
  }

  // -------------------------------------------------------------------------------------
  // CSV and NumPy.

  void routingCsvRows() {
    const es::Session s = es::test::sample_session();
    const std::string csv = tr::routing_csv(s);
    size_t rows = 0;
    for (const es::Message& m : s.messages) {
      if (m.trace) rows += size_t{m.trace->n_tokens()} * m.trace->n_moe_layers() * m.trace->top_k();
    }
    QCOMPARE(count(csv, "\n"), rows + 1);
    QVERIFY(csv.starts_with(
        "message,role,token,token_id,position,modality,layer,rank,expert,weight\n"));
    // The first row of the answer (message 2): token 0, layer 0, rank 0.
    const es::RoutingTrace& t = *s.messages[2].trace;
    const std::string first = "\n2,assistant,0," + std::to_string(t.token_id(0)) + "," +
                              std::to_string(t.position(0)) + ",text,0,0," +
                              std::to_string(t.expert(0, 0, 0)) + ",";
    QVERIFY(csv.find(first) != std::string::npos);
    // A role that looks like a formula is defused and quoted as needed.
    es::Session f = s;
    f.messages[2].role = "=HYPERLINK(\"x\",\"y\")";
    QVERIFY(tr::routing_csv(f).find("\n2,\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\",0,") !=
            std::string::npos);
  }

  void routingNpyHeaderAndValues() {
    const es::Session s = es::test::sample_session();
    const std::vector<uint8_t> npy = tr::routing_npy(s);
    QVERIFY(npy.size() > 10);
    QVERIFY(std::memcmp(npy.data(), "\x93NUMPY\x01\x00", 8) == 0);
    const size_t header_len = npy[8] | size_t{npy[9]} << 8;
    QCOMPARE((10 + header_len) % 64, size_t{0});
    const std::string header(reinterpret_cast<const char*>(npy.data()) + 10, header_len);
    QVERIFY(header.ends_with("\n"));
    QVERIFY(header.find("'descr': [('message', '<i4'), ('token', '<i4'), ('token_id', '<i4'), "
                        "('position', '<i4'), ('modality', '<i4'), ('layer', '<i4'), "
                        "('rank', '<i4'), ('expert', '<i4'), ('weight', '<f4')]") !=
            std::string::npos);
    QVERIFY(header.find("'fortran_order': False") != std::string::npos);
    size_t rows = 0;
    for (const es::Message& m : s.messages)
      if (m.trace) rows += size_t{m.trace->n_tokens()} * m.trace->n_moe_layers() * m.trace->top_k();
    QVERIFY(header.find("'shape': (" + std::to_string(rows) + ",)") != std::string::npos);
    QCOMPARE(npy.size(), 10 + header_len + rows * 36);
    // Row 0 is message 1 (the prompt), token 0, layer 0, rank 0.
    int32_t v[8];
    float w = 0;
    std::memcpy(v, npy.data() + 10 + header_len, sizeof v);
    std::memcpy(&w, npy.data() + 10 + header_len + 32, 4);
    const es::RoutingTrace& t = *s.messages[1].trace;
    QCOMPARE(v[0], 1);
    QCOMPARE(v[1], 0);
    QCOMPARE(v[2], t.token_id(0));
    QCOMPARE(v[3], t.position(0));
    QCOMPARE(v[4], 1);
    QCOMPARE(v[5], 0);
    QCOMPARE(v[6], 0);
    QCOMPARE(v[7], int32_t{t.expert(0, 0, 0)});
    QCOMPARE(w, t.weight(0, 0, 0));
    // A session without traces: an empty array numpy still reads.
    es::Session none;
    const auto empty = tr::routing_npy(none);
    QVERIFY(std::string(reinterpret_cast<const char*>(empty.data()), empty.size())
                .find("'shape': (0,)") != std::string::npos);
  }

  void numpyLoadsWhatTheCsvSays() {
    if (!QFile::exists(kPython)) QSKIP("/usr/bin/python3 is missing");
    const es::Session s = es::test::sample_session();
    const std::filesystem::path npy = dir_.filePath("routing.npy").toStdString();
    const std::filesystem::path csv = dir_.filePath("routing.csv").toStdString();
    tr::write_export(s, tr::Format::npy, npy);
    tr::write_export(s, tr::Format::csv, csv);
    const char* script = R"py(
import csv, sys
import numpy
a = numpy.load(sys.argv[1], allow_pickle=False)
with open(sys.argv[2], newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
assert a.ndim == 1 and a.shape == (len(rows),), (a.shape, len(rows))
assert a.dtype.names == ("message", "token", "token_id", "position", "modality", "layer",
                         "rank", "expert", "weight"), a.dtype
mods = {"text": 1, "image": 2, "video": 3}
for r, row in zip(a, rows):
    for f in ("message", "token", "token_id", "position", "layer", "rank", "expert"):
        assert int(r[f]) == int(row[f]), (f, r, row)
    assert int(r["modality"]) == mods[row["modality"]], (r, row)
    assert numpy.float16(float(row["weight"])) == numpy.float16(r["weight"]), (r, row)
print("ok", len(rows))
)py";
    const auto [rc, out] = run_python(
        {"-c", script, QString::fromStdString(npy.string()), QString::fromStdString(csv.string())});
    if (out.contains("No module named 'numpy'"))
      QSKIP("numpy is not installed for /usr/bin/python3");
    QVERIFY2(rc == 0, qPrintable(out));
    QVERIFY(out.startsWith("ok "));
  }

  // -------------------------------------------------------------------------------------
  // write_export.

  void writeExportEveryFormat() {
    const QString sub = dir_.filePath("every");
    QVERIFY(QDir().mkpath(sub));
    const es::Session s = es::test::sample_session();
    for (const auto f : {tr::Format::markdown, tr::Format::html, tr::Format::json, tr::Format::csv,
                         tr::Format::npy}) {
      const std::filesystem::path out =
          (sub + "/chat." + QString::fromUtf8(tr::extension(f).data())).toStdString();
      tr::write_export(s, f, out);
      QVERIFY(std::filesystem::file_size(out) > 100);
    }
    QCOMPARE(read_file((sub + "/chat.json").toStdString()), tr::to_json(s));
    QCOMPARE(read_file((sub + "/chat.md").toStdString()), tr::to_markdown(s, "chat.files"));
    QCOMPARE(read_file((sub + "/chat.files/harbour.png").toStdString()),
             std::string(s.messages[1].attachments[0].data.begin(),
                         s.messages[1].attachments[0].data.end()));
    std::string message;
    QCOMPARE(
        error_kind([&] { tr::write_export(s, tr::Format::pdf, (sub + "/x.pdf").toStdString()); },
                   &message),
        es::ErrorKind::unsupported);
    QCOMPARE(
        error_kind([&] { tr::write_export(s, tr::Format::unset, (sub + "/x").toStdString()); }),
        es::ErrorKind::usage);
    // Nothing but the exports: no temporary files.
    QStringList names = QDir(sub).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
    names.sort();
    QCOMPARE(names, QStringList({"chat.csv", "chat.files", "chat.html", "chat.json", "chat.md",
                                 "chat.npy"}));
  }

  void markdownAttachmentNamesAreSafeAndUnique() {
    es::Session s;
    es::Message m;
    m.role = "user";
    const auto add = [&](std::string name, std::string content, std::string mime = "text/plain") {
      m.attachments.push_back(es::test::attachment("text", std::move(name), std::move(mime),
                                                   es::test::bytes_of(content)));
    };
    add("../../etc/passwd", "a");
    add("notes.txt", "b");
    add("NOTES.TXT", "c");  // differs only in case: a new name
    add("notes.txt", "b");  // same name and content: shares the file
    add("notes.txt", "d");  // same name, other content
    add(".hidden", "e");
    add("CON.txt", "f");
    add("lpt1.tar.gz", "f2");
    add("a<b>:c|d?*.txt", "g");
    add("\xe2\x80\xaegnp.exe", "h");  // RLO: shows as "exe.png"
    add("", "i");
    add(std::string(300, 'x') + ".txt", "j");
    add("..", "k");
    s.messages.push_back(m);
    const std::filesystem::path out = dir_.filePath("names/n.md").toStdString();
    std::filesystem::create_directories(out.parent_path());
    tr::write_export(s, tr::Format::markdown, out);
    QStringList names = QDir(dir_.filePath("names/n.files")).entryList(QDir::Files | QDir::Hidden);
    names.sort();
    const QStringList want = {QString(120 - 4, 'x') + ".txt",
                              "CON_.txt",
                              "NOTES-2.TXT",
                              "a_b__c_d__.txt",
                              "attachment-11.txt",
                              "attachment-13.txt",
                              "hidden",
                              "lpt1_.tar.gz",
                              "notes-3.txt",
                              "notes.txt",
                              "passwd",
                              "_gnp.exe"};
    QStringList sorted_want = want;
    sorted_want.sort();
    QCOMPARE(names, sorted_want);
    QCOMPARE(read_file(dir_.filePath("names/n.files/notes-3.txt").toStdString()), std::string("d"));
    const std::string md = read_file(out);
    QVERIFY(md.find("(n.files/notes.txt)") != std::string::npos);
    QVERIFY(md.find("(n.files/passwd)") != std::string::npos);
    QVERIFY(md.find("etc/passwd") == std::string::npos);
  }

  void writeExportFailureLeavesTheOldFile() {
    const es::Session s = es::test::sample_session();
    const QString sub = dir_.filePath("atomic");
    QVERIFY(QDir().mkpath(sub));
    const std::filesystem::path out = (sub + "/keep.json").toStdString();
    write_file(out, "old content");
    std::string message;
    // A folder that does not exist.
    const std::filesystem::path missing = (sub + "/no/such/dir/x.json").toStdString();
    QCOMPARE(error_kind([&] { tr::write_export(s, tr::Format::json, missing); }, &message),
             es::ErrorKind::io);
    QVERIFY2(message.find(missing.string()) != std::string::npos, message.c_str());
    // A destination that is a directory: the rename fails, the temporary file goes.
    QVERIFY(QDir().mkpath(sub + "/adir"));
    QCOMPARE(
        error_kind([&] { tr::write_export(s, tr::Format::json, (sub + "/adir").toStdString()); }),
        es::ErrorKind::io);
    // A write that fails half-way (file size limit): the old file stays whole.
    struct rlimit old {};
    QCOMPARE(getrlimit(RLIMIT_FSIZE, &old), 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = 4096;
    QCOMPARE(setrlimit(RLIMIT_FSIZE, &small), 0);
    const es::ErrorKind kind =
        error_kind([&] { tr::write_export(s, tr::Format::json, out); }, &message);
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    QCOMPARE(kind, es::ErrorKind::io);
    QVERIFY2(message.find("keep.json") != std::string::npos, message.c_str());
    QCOMPARE(read_file(out), std::string("old content"));
    // An unwritable folder (meaningless for root, who may write anywhere).
    if (geteuid() != 0) {
      QVERIFY(QFile::setPermissions(sub, QFileDevice::ReadOwner | QFileDevice::ExeOwner));
      const es::ErrorKind k = error_kind([&] { tr::write_export(s, tr::Format::json, out); });
      QVERIFY(QFile::setPermissions(
          sub, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner));
      QCOMPARE(k, es::ErrorKind::io);
      QCOMPARE(read_file(out), std::string("old content"));
    }
    QStringList names = QDir(sub).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
    names.sort();
    QCOMPARE(names, QStringList({"adir", "keep.json"}));
    // And a successful write replaces it, keeping its permissions.
    QVERIFY(QFile::setPermissions(QString::fromStdString(out.string()),
                                  QFileDevice::ReadOwner | QFileDevice::WriteOwner));
    tr::write_export(s, tr::Format::json, out);
    QCOMPARE(read_file(out), tr::to_json(s));
    QCOMPARE(std::filesystem::status(out).permissions() & std::filesystem::perms::all,
             std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }

  // -------------------------------------------------------------------------------------
  // Sizes and times (printed, never asserted): a 2,000-token answer on OLMoE's shape.

  void longAnswerSizes() {
    std::string text;  // 2,000 pieces of four bytes: one token each
    for (int i = 0; i < 2000; ++i) text += i % 23 == 22 ? "\nthe" : (i % 3 ? " cat" : " sat");
    es::Message answer = es::test::traced_answer(
        text, 64, 8, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 5);
    QCOMPARE(answer.trace->n_tokens(), 2000u);
    es::Session s = es::test::sample_session();
    s.messages = {s.messages[1], answer};
    QElapsedTimer timer;
    timer.start();
    const std::string html = tr::to_html(s);
    const qint64 html_ms = timer.restart();
    const std::string json = tr::to_json(s);
    const qint64 json_ms = timer.restart();
    const es::Session back = tr::from_json(json, "long.json");
    const qint64 import_ms = timer.restart();
    const std::string md = tr::to_markdown(s, "x.files");
    const std::string csv = tr::routing_csv(s);
    const auto npy = tr::routing_npy(s);
    const qint64 rest_ms = timer.elapsed();
    QVERIFY(es::same_session(s, back, false));
    QVERIFY(tag_problems(html).isEmpty());
    qInfo(
        "2,000-token answer, 16 layers x top-8 of 64: HTML %zu bytes (%lld ms), JSON %zu bytes "
        "(%lld ms, import %lld ms), CSV %zu bytes, NPY %zu bytes, Markdown %zu bytes (%lld ms "
        "for the last three)",
        html.size(), html_ms, json.size(), json_ms, import_ms, csv.size(), npy.size(), md.size(),
        rest_ms);
    if (const char* keep = std::getenv("ES_KEEP_EXPORTS")) {
      write_file(std::filesystem::path(keep) / "long.html", html);
      write_file(std::filesystem::path(keep) / "sample.html",
                 tr::to_html(es::test::sample_session()));
      write_file(std::filesystem::path(keep) / "hostile.html",
                 tr::to_html(es::test::hostile_session()));
      write_file(std::filesystem::path(keep) / "hostile.md",
                 tr::to_markdown(es::test::hostile_session(), "hostile.files"));
      write_file(std::filesystem::path(keep) / "sample.md",
                 tr::to_markdown(es::test::sample_session(), "sample.files"));
    }
  }

 private:
  static QString checker() { return QString(ES_SOURCE_DIR) + "/tests/engine/check_html_inert.py"; }

  /// Writes the page and runs check_html_inert.py on it (skipped without /usr/bin/python3).
  void check_with_python(const std::string& html, const QString& name, bool qt = false) {
    if (!QFile::exists(kPython)) {
      qWarning("/usr/bin/python3 is missing: the html.parser check is skipped");
      return;
    }
    const QString path = dir_.filePath(name);
    write_file(path.toStdString(), html);
    QStringList args = {checker()};
    if (qt) args << "--qt";
    args << path;
    const auto [rc, out] = run_python(args);
    QVERIFY2(rc == 0, qPrintable(out));
  }

  QTemporaryDir dir_;
};

QTEST_GUILESS_MAIN(TestTranscript)
#include "test_transcript.moc"
