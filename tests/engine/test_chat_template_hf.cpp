// Parity with Hugging Face: tests/hf/chat_reference.mjs renders every conversation of
// tests/hf/chat_conversations.json with Qwen3's and DeepSeek-V3's real chat templates and
// with ChatML, Llama 3 and Mistral (tests/hf/chat_templates/), through @lenml/tokenizers'
// apply_chat_template (or the current @huggingface/jinja where that package's bundled
// engine cannot parse a template). Our interpreter must give identical text for every case,
// and raise where the template raises.
#include <QProcess>
#include <QtTest>
#include <map>
#include <set>

#include "expertscope/chat_template.h"

using es::chat::ChatContext;
using es::chat::ChatMessage;
using es::chat::Value;

namespace {

/// A ChatContext from the variables the reference gave the template (a JSON object).
ChatContext context_from_json(const std::string& json) {
  const Value vars = Value::from_json(json, "reference context");
  ChatContext ctx;
  for (const auto& [key, value] : vars.as_dict()) {
    const std::string& name = key.as_string();
    if (name == "messages") {
      for (const Value& m : value.as_list()) {
        ChatMessage msg;
        for (const auto& [k, v] : m.as_dict()) {
          const std::string& field = k.as_string();
          if (field == "role") {
            msg.role = v.as_string();
          } else if (field == "content") {
            msg.content = v;
          } else if (field == "reasoning_content" && v.is_string()) {
            msg.reasoning_content = v.as_string();
          } else if (field == "tool_calls") {
            msg.tool_calls = v;
          } else {
            msg.extra.emplace_back(field, v);
          }
        }
        ctx.messages.push_back(std::move(msg));
      }
    } else if (name == "add_generation_prompt") {
      ctx.add_generation_prompt = value.as_bool();
    } else if (name == "bos_token") {
      ctx.bos_token = value.as_string();
    } else if (name == "eos_token") {
      ctx.eos_token = value.as_string();
    } else {
      ctx.extra.emplace_back(name, value);
    }
  }
  return ctx;
}

/// The first differing byte, for a readable failure.
QString first_difference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const auto around = [i](const std::string& s) {
    const size_t from = i > 40 ? i - 40 : 0;
    return QString::fromStdString(s.substr(from, 120)).toHtmlEscaped();
  };
  return QStringLiteral("at byte %1:\n  ours: %2\n  HF:   %3").arg(i).arg(around(a), around(b));
}

}  // namespace

class TestChatTemplateHf : public QObject {
  Q_OBJECT

 private:
  QJsonArray cases_;
  std::map<QString, std::string> sources_;
  std::set<QString> identical_;  // "template/conversation" pairs that matched
  int n_identical_ = 0;
  int n_raised_ = 0;

 private slots:
  void initTestCase() {
    if (QByteArray(ES_NODE).isEmpty()) QSKIP("node/npm not found: no Hugging Face reference");
    QProcess node;
    node.setWorkingDirectory(ES_HF_NPM_DIR);
    node.start(ES_NODE, {QStringLiteral(ES_HF_NPM_DIR "/chat_reference.mjs"),
                         QStringLiteral(ES_HF_SOURCE_DIR)});
    QVERIFY2(node.waitForFinished(120000), "chat_reference.mjs did not finish");
    QVERIFY2(node.exitCode() == 0, node.readAllStandardError().constData());
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(node.readAllStandardOutput(), &err);
    QVERIFY2(err.error == QJsonParseError::NoError, qPrintable(err.errorString()));
    cases_ = doc.object().value("cases").toArray();
    const QJsonObject sources = doc.object().value("templates").toObject();
    for (auto it = sources.begin(); it != sources.end(); ++it) {
      sources_[it.key()] = it.value().toString().toStdString();
    }
    QVERIFY(sources_.size() >= 5);
    QVERIFY(cases_.size() >= 200);
  }

  /// The built-in templates are the texts the parity test checks.
  void builtins_are_the_checked_templates() {
    for (const auto& [name, source] : sources_) {
      QCOMPARE(std::string(es::chat::builtin_template(name.toStdString())), source);
    }
  }

  void matches_hugging_face_data() {
    QTest::addColumn<int>("index");
    for (qsizetype i = 0; i < cases_.size(); ++i) {
      const QJsonObject c = cases_[i].toObject();
      const QString name = c["template"].toString() + "/" + c["conversation"].toString() +
                           (c["add_generation_prompt"].toBool() ? "/gen" : "/nogen");
      QTest::newRow(qPrintable(name)) << static_cast<int>(i);
    }
  }

  void matches_hugging_face() {
    QFETCH(int, index);
    const QJsonObject c = cases_[index].toObject();
    QVERIFY2(c["lenml"].toString() != "differs",
             "the two Hugging Face references disagree on this case");
    const std::string& source = sources_.at(c["template"].toString());
    const ChatContext ctx = context_from_json(c["context"].toString().toStdString());
    const auto tpl = es::chat::ChatTemplate::parse(source);
    if (c.contains("error")) {
      QVERIFY_THROWS_EXCEPTION(es::chat::TemplateRaised, (void)tpl.render(ctx));
      ++n_raised_;
      return;
    }
    const std::string expected = c["expected"].toString().toStdString();
    const std::string ours = tpl.render(ctx);
    QVERIFY2(ours == expected, qPrintable(first_difference(ours, expected)));
    ++n_identical_;
    identical_.insert(c["template"].toString() + "/" + c["conversation"].toString());
  }

  void cleanupTestCase() {
    if (cases_.isEmpty()) return;
    std::set<QString> templates, conversations;
    for (const auto& v : cases_) {
      templates.insert(v.toObject()["template"].toString());
      conversations.insert(v.toObject()["conversation"].toString());
    }
    qInfo(
        "%d of %d cases identical to Hugging Face (%zu template x conversation pairs; "
        "%zu templates, %zu conversations), %d raised as the reference does",
        n_identical_, static_cast<int>(cases_.size()), identical_.size(), templates.size(),
        conversations.size(), n_raised_);
  }
};

QTEST_GUILESS_MAIN(TestChatTemplateHf)
#include "test_chat_template_hf.moc"
