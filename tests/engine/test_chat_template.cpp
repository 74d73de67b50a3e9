// Unit tests of the chat template interpreter: expressions, filters, tests, methods, loops,
// scoping, whitespace control, macros, errors with line numbers, unsupported constructs
// named, render limits, the built-in templates and the fallback. Expected texts are what
// Python's jinja2 (as Hugging Face configures it) prints.
#include <QFile>
#include <QtTest>

#include "expertscope/chat_template.h"
#include "expertscope/error.h"

using es::ErrorKind;
using es::chat::ChatContext;
using es::chat::ChatMessage;
using es::chat::ChatTemplate;
using es::chat::RenderLimits;
using es::chat::Value;

namespace {

ChatContext sample_context() {
  ChatContext ctx;
  ctx.messages.push_back(ChatMessage::text("system", "Sys"));
  ctx.messages.push_back(ChatMessage::text("user", "Hi there"));
  ctx.messages.push_back(ChatMessage::text("assistant", "Hello"));
  ctx.messages.push_back(ChatMessage::text("user", "Bye"));
  ctx.add_generation_prompt = true;
  ctx.bos_token = "<s>";
  ctx.eos_token = "</s>";
  return ctx;
}

std::string render(std::string_view source, const ChatContext& ctx = sample_context(),
                   const RenderLimits& limits = {}) {
  return ChatTemplate::parse(source).render(ctx, limits);
}

/// The es::Error a template gives (parse or render), or a default Error if none.
es::Error error_of(std::string_view source, const RenderLimits& limits = {}) {
  try {
    (void)render(source, sample_context(), limits);
  } catch (const es::Error& e) {
    return e;
  }
  return es::Error(ErrorKind::unset, "no error");
}

std::string read_file(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.readAll().toStdString();
}

void add_rows(std::initializer_list<std::pair<const char*, const char*>> rows) {
  for (const auto& [source, expected] : rows) {
    QTest::newRow(source) << QByteArray(source) << QByteArray(expected);
  }
}

}  // namespace

class TestChatTemplate : public QObject {
  Q_OBJECT

 private slots:
  void expressions_data() {
    QTest::addColumn<QByteArray>("source");
    QTest::addColumn<QByteArray>("expected");
    add_rows({
        {"{{ 1 + 2 * 3 }}", "7"},
        {"{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }}", "3 -4 2 1024"},
        {"{{ 1 / 4 }} {{ 10 / 2 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-7 }}",
         "0.25 5.0 0.30000000000000004 1e+20 1e-07"},
        {"{{ none }} {{ true }} {{ False }} {{ [1, 'a', none] }} {{ {'k': 'v'} }}",
         "None True False [1, 'a', None] {'k': 'v'}"},
        {"{{ 'a' ~ 1 ~ none ~ undefined_name }}", "a1None"},
        {"{{ 'ab' * 3 }} {{ [0] * 2 }} {{ [1] + [2] }} {{ 'x' + 'y' }}", "ababab [0, 0] [1, 2] xy"},
        {"{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1, 2] < [1, 3] }}",
         "True False True True True"},
        {"{{ 'a' in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }}",
         "True True True True"},
        {"{{ 'yes' if messages else 'no' }} {{ 'a' if false }}|{{ none or 'fb' }} {{ 0 and 'x' }}",
         "yes |fb 0"},
        {"{{ not none }} {{ not messages }} {{ -(3) }} {{ +2 }}", "True False -3 2"},
        {"{{ messages[0].content }} {{ messages[1]['role'] }} {{ messages[-1].content }}",
         "Sys user Bye"},
        {"{{ messages[9] }}|{{ messages[0].nope }}|{{ none.x }}", "||"},
        {"{{ 'abc'[::-1] }} {{ [1, 2, 3, 4][1:3] }} {{ [1, 2, 3][-2:] }} {{ 'héllo'[1:3] }}",
         "cba [2, 3] [2, 3] él"},
        {"{{ 'héllo'[1] }} {{ 'héllo' | length }} {{ (1, 2) | length }}", "é 5 2"},
        {"{{ '%s-%03d-%.2f-%x' % ('a', 7, 2.5, 255) }} {{ '%5s|%-3s|' % ('ab', 'c') }}",
         "a-007-2.50-ff    ab|c  |"},
        {"{{ 'a\\tb' }}|{{ \"it's\" }}|{{ 'x\\u00e9y' }}|{{ '\\x41' }}|{{ 'a' 'b' }}",
         "a\tb|it's|xéy|A|ab"},
        {"{{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }} {{ messages[0] == messages[0] }}",
         "True True"},
    });
  }
  void expressions() {
    QFETCH(QByteArray, source);
    QFETCH(QByteArray, expected);
    QCOMPARE(QByteArray::fromStdString(render(source.toStdString())), expected);
  }

  void filters_and_tests_data() {
    QTest::addColumn<QByteArray>("source");
    QTest::addColumn<QByteArray>("expected");
    add_rows({
        {"{{ '  t  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'Ab' | upper }}{{ 'Ab' | lower }}",
         "t|hi|ABab"},
        {"{{ messages | length }} {{ 'héllo' | count }} {{ {} | length }} {{ nope | length }}",
         "4 5 0 0"},
        {"{{ [3, 1, 2] | sort }} {{ [3, 1, 2] | sort(reverse=true) | join(',') }}",
         "[1, 2, 3] 3,2,1"},
        {"{{ ['b', 'A', 'c'] | sort }} {{ messages | sort(attribute='content') | first }}",
         "['A', 'b', 'c'] {'role': 'user', 'content': 'Bye'}"},
        {"{{ [1, 2, 3] | first }}{{ [1, 2, 3] | last }}{{ 'abc' | first }}{{ [] | first }}|",
         "13a|"},
        {"{{ [1, 2, 3] | sum }} {{ [1, 5, 3] | max }} {{ [4, 2] | min }} {{ [1, 1, 2] | unique "
         "| list }}",
         "6 5 2 [1, 2]"},
        {"{{ {'b': 1, 'a': 2} | dictsort }} {{ {'a': 1} | items | list }}",
         "[['a', 2], ['b', 1]] [['a', 1]]"},
        {"{{ x | default('d') }} {{ '' | default('d', true) }} {{ none | default('d') }} {{ x | "
         "d }}|",
         "d d None |"},
        {"{{ 'abc' | list }} {{ [1, 2] | reverse | list }} {{ 'abc' | reverse }}",
         "['a', 'b', 'c'] [2, 1] cba"},
        {"{{ 3.7 | int }} {{ '42' | int }} {{ 'x' | int(7) }} {{ '4.5' | float }} {{ 2 | float }}",
         "3 42 7 4.5 2.0"},
        {"{{ 2.5 | round }} {{ 3.14159 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ -3 | abs }}",
         "2.0 3.14 3.0 3"},
        {"{{ {'b': [1, 2.5, 'é', none, true], 'a': {'q': 'x\"\\n'}} | tojson }}",
         "{\"b\": [1, 2.5, \"é\", null, true], \"a\": {\"q\": \"x\\\"\\n\"}}"},
        {"{{ {'a': [1, {}], 'b': []} | tojson(indent=2) }}",
         "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}"},
        {"{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}", "{\"a\": 2, \"b\": 1}"},
        {"{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | "
         "join('|') }}",
         "Hi there|Bye"},
        {"{{ messages | rejectattr('role', 'equalto', 'user') | list | length }} {{ [1, 2, 3] | "
         "select('odd') | list }} {{ [1, 2, 3] | reject('odd') | list }}",
         "2 [1, 3] [2]"},
        {"{{ ['a', 'b'] | map('upper') | join }} {{ '%s!' | format('hi') }}", "AB hi!"},
        {"{{ 'a b' | replace(' ', '_') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ '<&>' | e }}",
         "a_b bba &lt;&amp;&gt;"},
        {"{{ 'one two' | title }} {{ 'hI there' | capitalize }} {{ 'a\\nb' | indent(2, true) }}",
         "One Two Hi there   a\n  b"},
        {"{{ 1 | string ~ 'x' }} {{ [1] | string }} {{ 'a b  c' | wordcount }}", "1x [1] 3"},
        {"{{ x is defined }} {{ messages is defined }} {{ none is none }} {{ x is undefined }}",
         "False True True True"},
        {"{{ 'a' is string }} {{ {} is mapping }} {{ [] is mapping }} {{ 1 is number }} {{ 1.0 "
         "is float }} {{ true is boolean }} {{ 1 is integer }}",
         "True True False True True True True"},
        {"{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 'abc' is lower }} {{ 'AB' "
         "is upper }} {{ [] is iterable }} {{ 2 is in [1, 2] }} {{ 1 is eq 1 }}",
         "True True True True True True True True"},
        {"{{ messages[0].content is not none }} {{ messages[0].tool_calls is defined }}",
         "True False"},
    });
  }
  void filters_and_tests() { expressions(); }

  void methods_data() {
    QTest::addColumn<QByteArray>("source");
    QTest::addColumn<QByteArray>("expected");
    add_rows({
        {"{{ 'Hello'.lower() }} {{ 'hi'.upper() }} {{ '  p  '.strip() }}|{{ 'xhix'.strip('x') }}",
         "hello HI p|hi"},
        {"{{ '  l'.lstrip() }}|{{ 'r  '.rstrip() }}|{{ '\\n\\nx\\n'.lstrip('\\n') }}", "l|r|x\n"},
        {"{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a b "
         "c'.rsplit(' ', 1) }}",
         "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c'] ['a b', 'c']"},
        {"{{ 'x</think>y'.split('</think>')[-1] }} {{ 'a\\nb'.splitlines() }}", "y ['a', 'b']"},
        {"{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', "
         "'h')) }}",
         "True True True"},
        {"{{ 'hello'.replace('l', 'L') }} {{ 'hello'.find('l') }} {{ 'hello'.count('l') }} {{ "
         "'-'.join(['a', 'b']) }}",
         "heLLo 2 2 a-b"},
        {"{{ 'abc'.removeprefix('a') }} {{ '12'.isdigit() }} {{ ' '.isspace() }} {{ 'Ab'.title() "
         "}}",
         "bc True True Ab"},
        {"{{ messages[0].get('content') }} {{ messages[0].get('x', 'd') }} {{ messages[0].get('x') "
         "}} {{ messages[0].keys() | list }} {{ {'a': 1}.values() | list }}",
         "Sys d None ['role', 'content'] [1]"},
        {"{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;"},
        {"{{ range(3) | list }} {{ range(1, 10, 3) | list }} {{ range(5, 0, -2) | list }}",
         "[0, 1, 2] [1, 4, 7] [5, 3, 1]"},
        {"{{ dict(a=1, b=2) }} {{ namespace(a=1).a }} {{ [1, 2, 1].count(1) }}",
         "{'a': 1, 'b': 2} 1 2"},
    });
  }
  void methods() { expressions(); }

  void statements_data() {
    QTest::addColumn<QByteArray>("source");
    QTest::addColumn<QByteArray>("expected");
    add_rows({
        {"{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last "
         "}}{{ loop.length }}{{ loop.revindex }};{% endfor %}",
         "10TrueFalse44;21FalseFalse43;32FalseFalse42;43FalseTrue41;"},
        {"{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.role }},{% endfor %}",
         "1:user,2:assistant,3:user,"},
        {"{% for x in [] %}x{% else %}empty{% endfor %}|{% for k in {'a': 1, 'b': 2} %}{{ k "
         "}}{% endfor %}",
         "empty|ab"},
        {"{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break "
         "%}{% endif %}{{ i }}{% endfor %}",
         "0134"},
        {"{% for c in 'héy' %}[{{ c }}]{% endfor %}", "[h][é][y]"},
        {"{% for m in messages %}{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ "
         "loop.cycle('a', 'b') }} {% endfor %}",
         "->a system>b user>a assistant>b "},
        {"{% for a in [1, 2] %}{% for b in [3] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ "
         "loop.index }}{% endfor %}",
         "113 1123 2"},
        {"{% set ns = namespace(n=0, s='') %}{% for i in range(5) %}{% set ns.n = ns.n + i %}{% "
         "set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}",
         "10 01234"},
        {"{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}",
         "12121"},
        {"{% for i in [1, 2, 3] %}{% if i == 1 %}{% set y = 5 %}{% endif %}[{{ y }}]{% endfor %}",
         "[5][][]"},
        {"{% set a, b = [1, 2] %}{{ a }}{{ b }} {% set t = 1, 2 %}{{ t }}", "12 [1, 2]"},
        {"{% if messages[0].role == 'user' %}u{% elif messages[0].role == 'system' %}s{% else "
         "%}o{% endif %}",
         "s"},
        {"{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ "
         "greet('Bob') }} {{ greet('Al', greeting='Hi') }} {{ greet('X', 'Yo') }}",
         "Hello, Bob! Hi, Al! Yo, X!"},
        {"{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}",
         "321"},
        {"{% set content %}block {{ 1 + 1 }}{% endset %}[{{ content }}] {% filter upper %}shout "
         "{{ 'me' }}{% endfilter %}",
         "[block 2] SHOUT ME"},
        {"{% with a = 1 %}{{ a }}{% endwith %}{{ a }}|{% generation %}g{% endgeneration %}", "1|g"},
        {"{% raw %}{{ not rendered }}{% endraw %}", "{{ not rendered }}"},
    });
  }
  void statements() { expressions(); }

  void whitespace_data() {
    QTest::addColumn<QByteArray>("source");
    QTest::addColumn<QByteArray>("expected");
    add_rows({
        {"  {% if true %}\n    x\n  {% endif %}\nend", "    x\nend"},  // trim + lstrip blocks
        {"a  {%- if true -%}   b   {%- endif -%}  c", "abc"},
        {"a\n  {{- ' y ' -}}  \nz", "a y z"},
        {"{# comment #}a{#- c -#}   b\n  {# own line #}\nc", "ab\nc"},
        {"x\n\t{%+ if true %}p{% endif +%}\ny", "x\n\tp\ny"},
        {"line\n", "line"},                // one trailing newline dropped
        {"line\n\n", "line\n"},            // only one
        {"a\r\nb\r{{ 'c' }}", "a\nb\nc"},  // newlines normalised
        {"{{ 'x' }}\n{{ 'y' }}", "x\ny"},  // no trim after expressions
    });
  }
  void whitespace() { expressions(); }

  void undefined_attribute_is_an_error() {
    const es::Error e = error_of("line1\n{{ nothing.attr }}");
    QCOMPARE(e.kind(), ErrorKind::bad_input);
    QVERIFY2(std::string(e.what()).find("chat template line 2") == 0, e.what());
  }

  void syntax_errors_name_line_and_column_data() {
    QTest::addColumn<QByteArray>("source");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("missing endif") << QByteArray("ok\n\n  {% if x %}never closed")
                                   << QByteArray(
                                          "chat template line 3, column 6: missing '{% "
                                          "endif %}' for this tag");
    QTest::newRow("unknown tag") << QByteArray("{% frobnicate %}")
                                 << QByteArray(
                                        "chat template line 1, column 4: unexpected tag "
                                        "'frobnicate'");
    QTest::newRow("stray endfor") << QByteArray("a\n{% endfor %}")
                                  << QByteArray(
                                         "chat template line 2, column 4: unexpected tag "
                                         "'endfor'");
    QTest::newRow("unclosed expression")
        << QByteArray("x\n{{ 1 + ") << QByteArray("chat template line 2, column 1: missing '}}'");
    QTest::newRow("bad token") << QByteArray("{{ 1 $ 2 }}")
                               << QByteArray(
                                      "chat template line 1, column 6: unexpected "
                                      "character '$'");
    QTest::newRow("unterminated string") << QByteArray("{{ 'abc }}")
                                         << QByteArray(
                                                "chat template line 1, column 4: "
                                                "unterminated string");
    QTest::newRow("break outside loop") << QByteArray("{% break %}")
                                        << QByteArray(
                                               "chat template line 1, column 4: 'break' "
                                               "outside a loop");
    QTest::newRow("too deep") << QByteArray(std::string(300, '-').c_str())
                              << QByteArray("nested too deeply");
  }
  void syntax_errors_name_line_and_column() {
    QFETCH(QByteArray, source);
    QFETCH(QByteArray, message);
    if (QByteArray(QTest::currentDataTag()) == "too deep") source = "{{ " + source + "1 }}";
    try {
      (void)ChatTemplate::parse(source.toStdString());
      QFAIL("no error");
    } catch (const es::Error& e) {
      QCOMPARE(e.kind(), ErrorKind::bad_input);
      QVERIFY2(std::string(e.what()).find(message.toStdString()) != std::string::npos, e.what());
    }
  }

  void unsupported_constructs_are_named_data() {
    QTest::addColumn<QByteArray>("source");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("filter") << QByteArray("a\nb\n{{ x | wordwrap }}")
                            << QByteArray(
                                   "chat template line 3: filter \"wordwrap\" is not "
                                   "supported");
    QTest::newRow("test") << QByteArray("{{ x is prime }}")
                          << QByteArray("chat template line 1: test \"prime\" is not supported");
    QTest::newRow("statement") << QByteArray("{% include 'x.j2' %}")
                               << QByteArray(
                                      "chat template line 1: statement \"include\" is not "
                                      "supported");
    QTest::newRow("method") << QByteArray("\n{{ 'a'.format(1) }}")
                            << QByteArray(
                                   "chat template line 2: method \"format\" of str is not "
                                   "supported");
    QTest::newRow("function") << QByteArray("{{ cycler(1, 2) }}")
                              << QByteArray(
                                     "chat template line 1: function \"cycler\" is not "
                                     "supported");
    QTest::newRow("recursive loop") << QByteArray("{% for x in y recursive %}{% endfor %}")
                                    << QByteArray("recursive loops is not supported");
  }
  void unsupported_constructs_are_named() {
    QFETCH(QByteArray, source);
    QFETCH(QByteArray, message);
    const es::Error e = error_of(source.toStdString());
    QCOMPARE(e.kind(), ErrorKind::unsupported);
    QVERIFY2(std::string(e.what()).find(message.toStdString()) != std::string::npos, e.what());
  }

  void raise_exception_is_template_raised() {
    try {
      (void)render("ok\n{{ raise_exception('Roles must alternate') }}");
      QFAIL("no exception");
    } catch (const es::chat::TemplateRaised& e) {
      QCOMPARE(std::string(e.what()), std::string("chat template line 2: Roles must alternate"));
    }
  }

  void limits_stop_hostile_templates_data() {
    QTest::addColumn<QByteArray>("source");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("output") << QByteArray("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}")
                            << QByteArray("output exceeds the limit");
    QTest::newRow("string") << QByteArray("{{ 'x' * 100000000 }}")
                            << QByteArray("exceeds the limit");
    QTest::newRow("doubling") << QByteArray(
                                     "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% "
                                     "set ns.s = ns.s ~ ns.s %}{% endfor %}")
                              << QByteArray("exceeds the limit");
    QTest::newRow("steps") << QByteArray(
                                  "{% set r = range(3000) %}{% for a in r %}{% for b in r %}{% "
                                  "endfor %}{% endfor %}")
                           << QByteArray("steps");
    QTest::newRow("recursion") << QByteArray("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
                               << QByteArray("too deeply");
    QTest::newRow("range") << QByteArray("{{ range(10**12) | length }}")
                           << QByteArray("range() too large");
    QTest::newRow("overflow") << QByteArray("{{ 2 ** 64 }}") << QByteArray("integer overflow");
    QTest::newRow("cycle") << QByteArray("{% set ns = namespace() %}{% set ns.me = ns %}")
                           << QByteArray("namespace inside a namespace");
  }
  void limits_stop_hostile_templates() {
    QFETCH(QByteArray, source);
    QFETCH(QByteArray, message);
    RenderLimits limits;
    limits.max_output_bytes = 1 << 20;
    limits.max_steps = 300'000;
    const es::Error e = error_of(source.toStdString(), limits);
    QVERIFY2(e.kind() == ErrorKind::bad_input || e.kind() == ErrorKind::unsupported, e.what());
    QVERIFY2(std::string(e.what()).find(message.toStdString()) != std::string::npos, e.what());
  }

  void context_fields_reach_the_template() {
    ChatContext ctx = sample_context();
    ChatMessage m = ChatMessage::text("assistant", "");
    m.content = Value(nullptr);
    m.reasoning_content = "why";
    m.tool_calls =
        Value::from_json(R"([{"function": {"name": "f", "arguments": {"b": 1, "a": 2}}}])");
    m.extra.emplace_back("tool_call_id", Value("id9"));
    ctx.messages.push_back(m);
    ctx.extra.emplace_back("tools", Value::from_json(R"([{"z": 1, "y": [true, null]}])"));
    ctx.extra.emplace_back("bos_token", Value("<B>"));  // extra replaces the field
    const std::string out = render(
        "{% set m = messages[-1] %}{{ m.content is none }} {{ m.reasoning_content }} {{ "
        "m.tool_calls[0].function.arguments | tojson }} {{ m.tool_call_id }} {{ tools | tojson }} "
        "{{ bos_token }}{{ eos_token }}{{ add_generation_prompt }}",
        ctx);
    QCOMPARE(out, std::string("True why {\"b\": 1, \"a\": 2} id9 [{\"z\": 1, \"y\": [true, "
                              "null]}] <B></s>True"));
  }

  void values_behave_like_python() {
    QCOMPARE(Value(1.0).str(), std::string("1.0"));
    QCOMPARE(Value(1e16).str(), std::string("1e+16"));
    QCOMPARE(Value(123456789.0).str(), std::string("123456789.0"));
    QCOMPARE(Value(0.0001).str(), std::string("0.0001"));
    QCOMPARE(Value("it's").repr(), std::string("\"it's\""));
    QVERIFY(Value(1) == Value(1.0));
    QVERIFY(Value(true) == Value(1));
    QVERIFY(!(Value() == Value(nullptr)));
    const Value v = Value::from_json(R"({"b": 1, "a": [1.5, "x", null, false]})");
    QCOMPARE(v.to_json(), std::string(R"({"b": 1, "a": [1.5, "x", null, false]})"));
    QVERIFY(!Value::list({}).truthy());
    QVERIFY(Value::list({Value(0)}).truthy());
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)Value::from_json("{"));
  }

  void builtins_render_and_match_the_test_data() {
    const ChatContext ctx = sample_context();
    for (const auto name : es::chat::builtin_template_names()) {
      const std::string source(es::chat::builtin_template(name));
      const QString file = QStringLiteral(ES_SOURCE_DIR "/tests/hf/chat_templates/%1.jinja")
                               .arg(QString::fromUtf8(name.data(), name.size()));
      if (QFile::exists(file)) QCOMPARE(source, read_file(file));
      QVERIFY(!render(source, ctx).empty());
    }
    QCOMPARE(render(es::chat::builtin_template("chatml"), ctx),
             std::string("<|im_start|>system\nSys<|im_end|>\n<|im_start|>user\nHi "
                         "there<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>"
                         "user\nBye<|im_end|>\n<|im_start|>assistant\n"));
    QVERIFY_THROWS_EXCEPTION(es::Error, (void)es::chat::builtin_template("nope"));
  }

  void fallback_renders_a_builtin_with_a_warning() {
    const ChatContext ctx = sample_context();
    const auto ok = es::chat::render_or_fallback(es::chat::builtin_template("llama3"), ctx);
    QCOMPARE(ok.template_name, std::string("model"));
    QVERIFY(!ok.warning);

    const std::string lacking = "<|start_header_id|>{{ messages | wordwrap }}";
    const auto fb = es::chat::render_or_fallback(lacking, ctx);
    QCOMPARE(fb.template_name, std::string("llama3"));  // guessed from the markers
    QCOMPARE(fb.text, render(es::chat::builtin_template("llama3"), ctx));
    QVERIFY(fb.warning);
    QVERIFY2(fb.warning->find("filter \"wordwrap\" is not supported") != std::string::npos,
             fb.warning->c_str());
    QVERIFY(fb.warning->find("\"llama3\"") != std::string::npos);

    const auto empty = es::chat::render_or_fallback("", ctx, "mistral");
    QCOMPARE(empty.template_name, std::string("mistral"));
    QVERIFY(empty.warning && empty.warning->find("no chat template") != std::string::npos);

    const auto broken = es::chat::render_or_fallback("{% if %}", ctx);
    QCOMPARE(broken.template_name, std::string("chatml"));

    QVERIFY_THROWS_EXCEPTION(es::chat::TemplateRaised, (void)es::chat::render_or_fallback(
                                                           "{{ raise_exception('no') }}", ctx));
  }

  void parsed_template_renders_many_times() {
    const auto t = ChatTemplate::parse(es::chat::builtin_template("qwen3"));
    ChatContext ctx = sample_context();
    const std::string first = t.render(ctx);
    QCOMPARE(t.render(ctx), first);
    ctx.extra.emplace_back("enable_thinking", Value(false));
    QVERIFY(t.render(ctx).size() > first.size());  // adds the empty think block
  }
};

QTEST_GUILESS_MAIN(TestChatTemplate)
#include "test_chat_template.moc"
