// The HTML export: one self-contained page (inline CSS, data: images, no script) for
// browsers, and the QTextDocument subset the PDF export renders. The routing views (layer
// switch, coloured tokens, heatmap) are in transcript_html_routing.cpp.
#include <nlohmann/json.hpp>
#include <string>

#include "expertscope/transcript.h"
#include "transcript_internal.h"

namespace es::transcript {

namespace {

using detail::append_html;
using detail::html_escape;
using detail::human_bytes;
using detail::human_time;
using detail::kept_note;
using detail::Marks;

constexpr const char* kCss = R"css(
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--card:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
html{background:#eef0f3}
body{margin:0;color:var(--fg);font:15px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Ubuntu,Cantarell,"Helvetica Neue",Arial,sans-serif}
main{max-width:880px;margin:0 auto;padding:36px 20px 72px}
h1{font-size:1.75em;line-height:1.25;margin:0 0 4px;overflow-wrap:anywhere}
.sub{color:var(--muted);font-size:.88em;margin:0 0 22px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(270px,1fr));gap:12px;margin-bottom:26px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}
h2{font-size:.72em;letter-spacing:.07em;text-transform:uppercase;color:var(--muted);margin:0 0 8px}
table.kv{border-collapse:collapse;width:100%;font-size:.87em}
.kv th{text-align:left;font-weight:500;color:var(--muted);padding:2px 14px 2px 0;vertical-align:top;white-space:nowrap}
.kv td{padding:2px 0;overflow-wrap:anywhere}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.88em}
.msg{background:var(--card);border:1px solid var(--line);border-left:4px solid #8c959f;border-radius:10px;padding:14px 20px 16px;margin:16px 0}
.msg.user{border-left-color:#0969da}
.msg.assistant{border-left-color:#8250df}
.msg.system{border-left-color:#bf8700;background:#fffcf3}
.msg>header{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline;margin-bottom:6px}
.role{font-weight:650}
.user .role{color:#0969da}
.assistant .role{color:#8250df}
time,.facts{color:var(--muted);font-size:.82em}
.badge{font-size:.72em;padding:0 8px;border-radius:99px;background:#fff8c5;color:#7d4e00;border:1px solid #eac54f}
.text{white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:isolate}
.empty{color:var(--muted);font-style:italic}
.cc{font:600 10px/1 ui-monospace,monospace;color:#a40e26;background:#ffebe9;border:1px solid #ffcecb;border-radius:3px;padding:1px 2px;margin:0 1px;white-space:nowrap}
.atts{display:flex;flex-wrap:wrap;align-items:flex-start;gap:10px;margin-top:12px}
.att{margin:0;border:1px solid var(--line);border-radius:8px;padding:6px 8px;background:var(--soft);max-width:100%;font-size:.82em}
.att img{display:block;max-width:100%;height:auto;max-height:380px;border-radius:4px;margin-bottom:4px}
.att summary{cursor:pointer}
.att pre{margin:6px 0 0;max-height:320px;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px}
.att .meta{color:var(--muted)}
.facts{margin-top:10px}
.facts span+span::before{content:" \00b7  "}
.routing{margin-top:6px}
details.routing{margin-top:12px;border-top:1px dashed var(--line);padding-top:8px}
details.routing>summary{cursor:pointer;color:var(--muted);font-size:.85em}
.ls{position:absolute;opacity:0;width:1px;height:1px;margin:0}
.bar{display:flex;flex-wrap:wrap;gap:3px;align-items:center;font-size:.75em;color:var(--muted);margin:2px 0 10px}
.bar b{font-weight:500;margin-right:4px}
.bar label{cursor:pointer;min-width:2.2em;text-align:center;padding:0 4px;border:1px solid var(--line);border-radius:4px;background:var(--soft);color:var(--fg);font-variant-numeric:tabular-nums}
.bar label:hover{border-color:#8c959f}
.ls:focus-visible~.bar{outline:2px solid #0969da;outline-offset:2px}
.tokens .t{border-radius:3px;-webkit-box-decoration-break:clone;box-decoration-break:clone}
.legend{display:none;flex-wrap:wrap;gap:4px 12px;font-size:.75em;color:var(--muted);margin:10px 0 0}
.sw{display:inline-block;width:.85em;height:.85em;border-radius:2px;vertical-align:-1px;margin-right:4px;border:1px solid rgba(0,0,0,.18)}
.heat{margin:12px 0 0}
.heat svg{display:block;max-width:100%;height:auto}
.heat text{font:9px system-ui,sans-serif;fill:#57606a}
.heat .rh{fill:none;stroke:none}
.heat figcaption{font-size:.75em;color:var(--muted);margin-top:2px}
footer.page{color:var(--muted);font-size:.75em;text-align:center;margin-top:30px}
)css";

std::string role_label(std::string_view role) {
  if (role == "user") return "User";
  if (role == "assistant") return "Assistant";
  if (role == "system") return "System";
  if (role == "tool") return "Tool";
  return html_escape(role);
}

/// A CSS class for a role: one of the known ones, else "other".
std::string_view role_class(std::string_view role) {
  if (role == "user" || role == "assistant" || role == "system" || role == "tool") return role;
  return "other";
}

/// Rows of a key/value table from a settings JSON text: the object's members (strings
/// bare, anything else as compact JSON), or the text itself when it is not an object.
std::vector<std::pair<std::string, std::string>> settings_rows(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> rows;
  const auto j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (!j.is_object()) {
    if (!text.empty() && text != "{}") rows.emplace_back("settings", text);
    return rows;
  }
  for (const auto& [key, value] : j.items()) {
    rows.emplace_back(key,
                      value.is_string()
                          ? value.get<std::string>()
                          : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return rows;
}

void kv_row(std::string& out, std::string_view key, std::string_view value, bool mono = false) {
  out += "<tr><th>";
  append_html(out, key, Marks::span);
  out += mono ? "</th><td class=\"mono\">" : "</th><td>";
  append_html(out, value, Marks::span);
  out += "</td></tr>\n";
}

/// "12.3 tok/s · first token 240 ms · 512 tokens" facts of a message.
std::vector<std::string> message_facts(const Message& m) {
  std::vector<std::string> facts;
  char buf[64];
  if (m.n_tokens != 0) facts.push_back(std::to_string(m.n_tokens) + " tokens");
  if (m.timings.generate_ms > 0 && m.n_tokens > 0) {
    std::snprintf(buf, sizeof buf, "%.1f tokens/s", m.n_tokens * 1000.0 / m.timings.generate_ms);
    facts.emplace_back(buf);
  }
  if (m.timings.prompt_ms > 0) {
    std::snprintf(buf, sizeof buf, "prompt %.0f ms", m.timings.prompt_ms);
    facts.emplace_back(buf);
  }
  if (m.timings.first_token_ms > 0) {
    std::snprintf(buf, sizeof buf, "first token %.0f ms", m.timings.first_token_ms);
    facts.emplace_back(buf);
  }
  if (!m.stop_reason.empty()) facts.push_back("stopped: " + m.stop_reason);
  for (const auto& [key, value] : settings_rows(m.settings_json))
    facts.push_back(key + " " + value);
  return facts;
}

/// The concatenated token texts equal the message text: the coloured tokens can stand in
/// for it.
bool tokens_are_text(const Message& m) {
  if (!detail::has_token_texts(m)) return false;
  size_t at = 0;
  for (const std::string& t : m.token_texts) {
    if (m.content.compare(at, t.size(), t) != 0) return false;
    at += t.size();
  }
  return at == m.content.size();
}

/// The image element of an attachment whose bytes are a PNG, JPEG, GIF or WebP image; ""
/// for anything else. In the Qt flavor the width is capped so that it fits an A4 page.
std::string image_element(const Attachment& a, HtmlFlavor flavor) {
  const std::string_view type = detail::sniff_image_type(a.data);
  if (type.empty()) return {};
  std::string out = "<img src=\"data:";
  out += type;
  out += ";base64,";
  out += detail::base64_encode(a.data);
  out += "\" alt=\"\"";  // the caption names it: no user text goes into an attribute
  if (const auto size = detail::image_size(a.data); size && size->width > 0 && size->height > 0) {
    uint32_t w = size->width, h = size->height;
    if (flavor == HtmlFlavor::qt_rich_text && w > 420) {
      h = static_cast<uint32_t>(static_cast<uint64_t>(h) * 420 / w);
      w = 420;
    }
    out +=
        " width=\"" + std::to_string(w) + "\" height=\"" + std::to_string(std::max(h, 1u)) + "\"";
  }
  out += '>';
  return out;
}

/// Printable text of an attachment that holds text (kind "text" or a text/ MIME type).
bool is_text_attachment(const Attachment& a) {
  return !a.data.empty() && (a.kind == "text" || a.mime_type.starts_with("text/"));
}

void attachment_meta(std::string& out, const Attachment& a) {
  out += "<span class=\"meta\">";
  append_html(out, a.mime_type.empty() ? a.kind : a.mime_type, Marks::span);
  out += " \xc2\xb7 " + human_bytes(a.size);
  if (a.data.empty() && a.size != 0) out += " \xc2\xb7 not stored";
  if (a.kept_units != 0) out += " \xc2\xb7 " + kept_note(a);
  out += "</span>";
}

void browser_attachments(std::string& out, const Message& m) {
  if (m.attachments.empty()) return;
  out += "<div class=\"atts\">\n";
  for (const Attachment& a : m.attachments) {
    const std::string img = image_element(a, HtmlFlavor::browser);
    if (!img.empty()) {
      out += "<figure class=\"att\">" + img + "<figcaption>";
      append_html(out, a.file_name, Marks::span);
      out += " ";
      attachment_meta(out, a);
      out += "</figcaption></figure>\n";
    } else if (is_text_attachment(a)) {
      out += "<details class=\"att\"><summary>";
      append_html(out, a.file_name, Marks::span);
      out += " ";
      attachment_meta(out, a);
      out += "</summary><pre>";
      append_html(out,
                  std::string_view(reinterpret_cast<const char*>(a.data.data()), a.data.size()),
                  Marks::span);
      out += "</pre></details>\n";
    } else {
      out += "<div class=\"att\">";
      append_html(out, a.file_name, Marks::span);
      out += " ";
      attachment_meta(out, a);
      out += "</div>\n";
    }
  }
  out += "</div>\n";
}

void browser_message(std::string& out, const Message& m, size_t index) {
  out += "<article class=\"msg ";
  out += role_class(m.role);
  out += "\" id=\"m" + std::to_string(index) + "\">\n<header><span class=\"role\">";
  out += role_label(m.role);
  out += "</span><time datetime=\"" + format_iso8601_ms(m.created_ms) + "\">" +
         human_time(m.created_ms) + "</time>";
  if (m.state != MessageState::complete) {
    out += "<span class=\"badge\">";
    out += message_state_name(m.state);
    out += "</span>";
  }
  out += "</header>\n";
  const bool traced = m.trace && m.trace->has_shape();
  const bool inline_tokens = traced && m.role == "assistant" && tokens_are_text(m);
  if (inline_tokens) {
    detail::append_routing_view(out, m, index, true, HtmlFlavor::browser);
  } else if (m.content.empty()) {
    out += "<div class=\"text empty\">(empty)</div>\n";
  } else {
    out += "<div class=\"text\" dir=\"auto\">";
    append_html(out, m.content, Marks::span);
    out += "</div>\n";
  }
  browser_attachments(out, m);
  if (traced && !inline_tokens) {
    out += "<details class=\"routing\"" + std::string(m.role == "assistant" ? " open" : "") +
           "><summary>Routing of " + std::to_string(m.trace->n_tokens()) +
           (m.role == "assistant" ? " answer" : " prompt") + " tokens</summary>\n";
    detail::append_routing_view(out, m, index, detail::has_token_texts(m), HtmlFlavor::browser);
    out += "</details>\n";
  }
  const auto facts = message_facts(m);
  if (!facts.empty()) {
    out += "<div class=\"facts\">";
    for (const std::string& f : facts) {
      out += "<span>";
      append_html(out, f, Marks::span);
      out += "</span>";
    }
    out += "</div>\n";
  }
  out += "</article>\n";
}

void model_rows(std::string& out, const ModelIdentity& model) {
  kv_row(out, "name", model.name);
  kv_row(out, "architecture", model.arch);
  kv_row(out, "file", model.path, true);
  kv_row(out, "size", human_bytes(model.file_size));
  kv_row(out, "SHA-256", model.content_hash, true);
}

std::string session_subtitle(const Session& s) {
  return "Created " + human_time(s.created_ms) + " \xc2\xb7 updated " + human_time(s.updated_ms) +
         " \xc2\xb7 " + std::to_string(s.messages.size()) +
         (s.messages.size() == 1 ? " message" : " messages");
}

std::string browser_page(const Session& s) {
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
      "style-src 'unsafe-inline'\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"generator\" content=\"Expertscope\">\n<title>";
  append_html(out, s.title.empty() ? "Session" : s.title, Marks::text);
  out += " \xe2\x80\x94 Expertscope</title>\n<style>";
  out += kCss;
  out += detail::layer_switch_css(s);
  out += "</style>\n</head>\n<body>\n<main>\n<h1 dir=\"auto\">";
  append_html(out, s.title.empty() ? "Session" : s.title, Marks::span);
  out += "</h1>\n<p class=\"sub\">" + session_subtitle(s) + "</p>\n<div class=\"cards\">\n";
  if (s.model) {
    out += "<section class=\"card\"><h2>Model</h2><table class=\"kv\">\n";
    model_rows(out, *s.model);
    out += "</table></section>\n";
  }
  const auto rows = settings_rows(s.settings_json);
  if (!rows.empty()) {
    out += "<section class=\"card\"><h2>Settings</h2><table class=\"kv\">\n";
    for (const auto& [k, v] : rows) kv_row(out, k, v);
    out += "</table></section>\n";
  }
  out += "</div>\n";
  for (size_t i = 0; i < s.messages.size(); ++i) browser_message(out, s.messages[i], i);
  out += "<footer class=\"page\">Exported by Expertscope \xc2\xb7 " + human_time(s.updated_ms) +
         "</footer>\n</main>\n</body>\n</html>\n";
  return out;
}

// ---------------------------------------------------------------------------------------
// The QTextDocument flavor: inline attributes, no CSS variables, no SVG.

constexpr const char* kMuted = "#656d76";

std::string_view role_colour(std::string_view role) {
  if (role == "user") return "#0969da";
  if (role == "assistant") return "#8250df";
  if (role == "system") return "#9a6700";
  return "#57606a";
}

void qt_message(std::string& out, const Message& m, size_t index) {
  out += "<hr>\n<p style=\"margin-top:8px\"><b style=\"color:";
  out += role_colour(m.role);
  out += "\">" + role_label(m.role) + "</b>&nbsp;&nbsp;<span style=\"color:" + kMuted +
         "; font-size:small\">" + human_time(m.created_ms);
  if (m.state != MessageState::complete) {
    out += " \xc2\xb7 <b>";
    out += message_state_name(m.state);
    out += "</b>";
  }
  out += "</span></p>\n";
  const bool traced = m.trace && m.trace->has_shape();
  const bool inline_tokens = traced && m.role == "assistant" && tokens_are_text(m);
  if (inline_tokens) {
    detail::append_routing_view(out, m, index, true, HtmlFlavor::qt_rich_text);
  } else {
    out += "<p style=\"white-space:pre-wrap\">";
    if (m.content.empty()) {
      out += "<i style=\"color:" + std::string(kMuted) + "\">(empty)</i>";
    } else {
      append_html(out, m.content, Marks::text);
    }
    out += "</p>\n";
  }
  for (const Attachment& a : m.attachments) {
    const std::string img = image_element(a, HtmlFlavor::qt_rich_text);
    out += "<p>";
    if (!img.empty()) out += img + "<br>";
    out += "<span style=\"color:" + std::string(kMuted) + "; font-size:small\">";
    append_html(out, a.file_name, Marks::text);
    out += " \xc2\xb7 ";
    append_html(out, a.mime_type.empty() ? a.kind : a.mime_type, Marks::text);
    out += " \xc2\xb7 " + human_bytes(a.size);
    if (a.kept_units != 0) out += " \xc2\xb7 " + kept_note(a);
    out += "</span></p>\n";
    if (img.empty() && is_text_attachment(a)) {
      out += "<pre style=\"font-size:small; white-space:pre-wrap\">";
      append_html(out,
                  std::string_view(reinterpret_cast<const char*>(a.data.data()), a.data.size()),
                  Marks::text);
      out += "</pre>\n";
    }
  }
  if (traced && !inline_tokens)
    detail::append_routing_view(out, m, index, false, HtmlFlavor::qt_rich_text);
  const auto facts = message_facts(m);
  if (!facts.empty()) {
    out += "<p style=\"color:" + std::string(kMuted) + "; font-size:small\">";
    for (size_t i = 0; i < facts.size(); ++i) {
      if (i != 0) out += " \xc2\xb7 ";
      append_html(out, facts[i], Marks::text);
    }
    out += "</p>\n";
  }
}

std::string qt_page(const Session& s) {
  std::string out = "<html><head><meta charset=\"utf-8\"><title>";
  append_html(out, s.title.empty() ? "Session" : s.title, Marks::text);
  out += "</title></head>\n<body style=\"font-size:10pt\">\n<h1>";
  append_html(out, s.title.empty() ? "Session" : s.title, Marks::text);
  out += "</h1>\n<p style=\"color:" + std::string(kMuted) + "\">" + session_subtitle(s) + "</p>\n";
  const auto table = [&](std::string_view heading, const auto& fill) {
    out += "<p style=\"margin-top:10px; color:" + std::string(kMuted) + "; font-size:small\"><b>" +
           std::string(heading) +
           "</b></p>\n<table cellspacing=\"0\" cellpadding=\"2\" style=\"font-size:small\">\n";
    fill();
    out += "</table>\n";
  };
  const auto row = [&](std::string_view k, std::string_view v) {
    out += "<tr><td style=\"color:" + std::string(kMuted) + "; padding-right:12px\">";
    append_html(out, k, Marks::text);
    out += "</td><td>";
    append_html(out, v, Marks::text);
    out += "</td></tr>\n";
  };
  if (s.model) {
    table("MODEL", [&] {
      row("name", s.model->name);
      row("architecture", s.model->arch);
      row("file", s.model->path);
      row("size", human_bytes(s.model->file_size));
      row("SHA-256", s.model->content_hash);
    });
  }
  const auto rows = settings_rows(s.settings_json);
  if (!rows.empty()) {
    table("SETTINGS", [&] {
      for (const auto& [k, v] : rows) row(k, v);
    });
  }
  for (size_t i = 0; i < s.messages.size(); ++i) qt_message(out, s.messages[i], i);
  out += "</body></html>\n";
  return out;
}

}  // namespace

std::string to_html(const Session& session, HtmlFlavor flavor) {
  return flavor == HtmlFlavor::qt_rich_text ? qt_page(session) : browser_page(session);
}

}  // namespace es::transcript
