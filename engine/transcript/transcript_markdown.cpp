// The Markdown export: YAML front matter, a section per message, attachments linked.
// Message text stays Markdown, with raw HTML and script links neutralised.
#include <nlohmann/json.hpp>
#include <string>

#include "expertscope/transcript.h"
#include "transcript_internal.h"

namespace es::transcript {

namespace {

using detail::human_time;
using detail::next_code_point;

/// Text with invalid UTF-8 replaced, controls other than tab and newline dropped (a CR
/// too) and bidirectional formatting characters shown as marks.
std::string clean_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const char32_t c = next_code_point(text, i);
    if (c == '\t' || c == '\n') {
      out += static_cast<char>(c);
    } else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      continue;
    } else if (detail::is_hidden_control(c)) {
      out += detail::control_mark(c);
    } else if (c == detail::replacement_char) {
      detail::append_utf8(out, c);
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  return out;
}

/// Inline text (names, roles) with every Markdown-active ASCII character escaped.
std::string inline_text(std::string_view text) {
  std::string out;
  for (const char c : clean_text(text)) {
    if (c == '\n' || c == '\t') {
      out += ' ';
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '&') {
      out += "&amp;";
    } else {
      if (std::string_view("\\`*_[]{}()#+-.!|~>\"'").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
  }
  return out;
}

/// A link destination: every byte outside the unreserved set and '/' percent-encoded.
std::string url_path(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : path) {
    const auto b = static_cast<uint8_t>(ch);
    if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' ||
        b == '.' || b == '_' || b == '~' || b == '/') {
      out += ch;
    } else {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

/// True when a link destination starting at `dest` is safe to leave a link: a relative
/// path, an anchor, or an http(s) / mailto URL. A scheme is letters, digits, + - . then ':'.
bool safe_destination(std::string_view dest) {
  size_t i = 0;
  while (i < dest.size() && (dest[i] == ' ' || dest[i] == '<')) ++i;
  dest.remove_prefix(i);
  size_t n = 0;
  while (n < dest.size() && (std::isalnum(static_cast<unsigned char>(dest[n])) != 0 ||
                             dest[n] == '+' || dest[n] == '-' || dest[n] == '.')) {
    ++n;
  }
  if (n == dest.size() || dest[n] != ':' || n == 0) return true;  // no scheme
  std::string scheme(dest.substr(0, n));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme == "http" || scheme == "https" || scheme == "mailto";
}

/// Length of the run of `c` at line[i].
size_t run_length(std::string_view line, size_t i, char c) {
  size_t n = 0;
  while (i + n < line.size() && line[i + n] == c) ++n;
  return n;
}

/// One line outside fenced code: code spans kept, `<` outside them as &lt;, inline links
/// with unsafe destinations broken (`](` → `]\(`), headings moved two levels down.
std::string neutralise_line(std::string_view line) {
  std::string out;
  size_t i = 0;
  // Headings: "# x" → "### x" (the message sections are level 2); at most level 6.
  const size_t indent = std::min(run_length(line, 0, ' '), size_t{4});
  if (indent < 4) {
    const size_t hashes = run_length(line, indent, '#');
    if (hashes >= 1 && hashes <= 6 &&
        (indent + hashes == line.size() || line[indent + hashes] == ' ' ||
         line[indent + hashes] == '\t')) {
      out.append(line.substr(0, indent));
      out.append(std::min<size_t>(hashes + 2, 6), '#');
      i = indent + hashes;
    }
    // A reference definition "[x]: javascript:..." becomes text.
    if (indent < line.size() && line[indent] == '[') {
      const size_t close = line.find("]:", indent);
      if (close != std::string_view::npos && !safe_destination(line.substr(close + 2))) {
        out.append(line.substr(0, indent));
        out += '\\';
        i = indent;
      }
    }
  }
  while (i < line.size()) {
    const char c = line[i];
    if (c == '`') {
      const size_t n = run_length(line, i, '`');
      // The closing run: exactly n backticks.
      size_t j = i + n;
      size_t close = std::string_view::npos;
      while ((j = line.find('`', j)) != std::string_view::npos) {
        const size_t m = run_length(line, j, '`');
        if (m == n) {
          close = j;
          break;
        }
        j += m;
      }
      if (close != std::string_view::npos) {
        out.append(line.substr(i, close + n - i));
        i = close + n;
      } else {
        out.append(line.substr(i, n));
        i += n;
      }
    } else if (c == '<') {
      out += "&lt;";
      ++i;
    } else if (c == '\\' && i + 1 < line.size()) {
      out.append(line.substr(i, 2));  // an escape stays an escape ("\<" is already inert)
      i += 2;
    } else if (c == ']' && i + 1 < line.size() && line[i + 1] == '(' &&
               !safe_destination(line.substr(i + 2))) {
      out += "]\\(";
      i += 2;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

/// Message text as Markdown: fenced code kept verbatim, everything else neutralised.
std::string neutralise(std::string_view text) {
  const std::string clean = clean_text(text);
  std::string out;
  char fence_char = 0;
  size_t fence_len = 0;
  size_t at = 0;
  while (at <= clean.size()) {
    size_t end = clean.find('\n', at);
    if (end == std::string::npos) end = clean.size();
    const std::string_view line(clean.data() + at, end - at);
    const size_t indent = run_length(line, 0, ' ');
    if (fence_char != 0) {
      out.append(line);
      if (indent < 4 && run_length(line, indent, fence_char) >= fence_len &&
          line.find_first_not_of(" \t", indent + run_length(line, indent, fence_char)) ==
              std::string_view::npos) {
        fence_char = 0;
      }
    } else if (indent < 4 && indent < line.size() && (line[indent] == '`' || line[indent] == '~') &&
               run_length(line, indent, line[indent]) >= 3 &&
               (line[indent] == '~' ||
                line.find('`', indent + run_length(line, indent, '`')) == std::string_view::npos)) {
      fence_char = line[indent];
      fence_len = run_length(line, indent, fence_char);
      out.append(line);
    } else {
      out += neutralise_line(line);
    }
    if (end == clean.size()) break;
    out += '\n';
    at = end + 1;
  }
  if (fence_char != 0) {  // close a fence left open, or it would swallow what follows
    out += '\n';
    out.append(fence_len, fence_char);
  }
  return out;
}

/// A JSON value as a YAML 1.1 flow value (JSON itself, with ", " and ": " separators that
/// every YAML reader accepts; non-ASCII escaped).
std::string yaml_flow(const nlohmann::ordered_json& j) {
  if (j.is_object()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      if (!first) out += ", ";
      first = false;
      out += detail::yaml_quote(key) + ": " + yaml_flow(value);
    }
    return out + "}";
  }
  if (j.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < j.size(); ++i) out += (i ? ", " : "") + yaml_flow(j[i]);
    return out + "]";
  }
  if (j.is_string()) return detail::yaml_quote(j.get<std::string>());
  return j.dump(-1, ' ', true);
}

/// A settings text as YAML: its members indented under the key, or the text quoted.
std::string yaml_settings(const std::string& text, const std::string& indent) {
  const auto j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (!j.is_object()) return " " + detail::yaml_quote(text) + "\n";
  if (j.empty()) return " {}\n";
  std::string out = "\n";
  for (const auto& [key, value] : j.items())
    out += indent + detail::yaml_quote(key) + ": " + yaml_flow(value) + "\n";
  return out;
}

std::string role_label(std::string_view role) {
  if (role == "user") return "User";
  if (role == "assistant") return "Assistant";
  if (role == "system") return "System";
  if (role == "tool") return "Tool";
  return inline_text(role);
}

std::string front_matter(const Session& s) {
  std::string out = "---\n";
  out += "title: " + detail::yaml_quote(s.title) + "\n";
  if (s.model) {
    out += "model:\n";
    out += "  name: " + detail::yaml_quote(s.model->name) + "\n";
    out += "  arch: " + detail::yaml_quote(s.model->arch) + "\n";
    out += "  path: " + detail::yaml_quote(s.model->path) + "\n";
    out += "  file_size: " + std::to_string(s.model->file_size) + "\n";
    out += "  content_hash: " + detail::yaml_quote(s.model->content_hash) + "\n";
  }
  out += "settings:" + yaml_settings(s.settings_json, "  ");
  out += "created: " + format_iso8601_ms(s.created_ms) + "\n";
  out += "updated: " + format_iso8601_ms(s.updated_ms) + "\n";
  out += "messages: " + std::to_string(s.messages.size()) + "\n";
  out += "generator: Expertscope\n";
  out += "---\n";
  return out;
}

void message_section(std::string& out, const Message& m, const std::vector<std::string>& files,
                     std::string_view dir) {
  out += "\n## " + role_label(m.role) + " \xc2\xb7 " + human_time(m.created_ms);
  if (m.state != MessageState::complete)
    out += " \xc2\xb7 *" + std::string(message_state_name(m.state)) + "*";
  out += "\n\n";
  const std::string body = neutralise(m.content);
  out += body.empty() ? "*(empty)*" : body;
  out += "\n";
  if (!m.attachments.empty()) {
    out += "\n**Attachments**\n\n";
    for (size_t a = 0; a < m.attachments.size(); ++a) {
      const Attachment& att = m.attachments[a];
      const std::string name = inline_text(files[a]);  // the name it has on disk
      const std::string info = " (" +
                               inline_text(att.mime_type.empty() ? att.kind : att.mime_type) +
                               ", " + detail::human_bytes(att.size) +
                               (att.kept_units != 0 ? "; " + detail::kept_note(att) : "") + ")";
      if (att.data.empty() && att.size != 0) {
        out += "- " + name + info + ", not stored\n";
        continue;
      }
      const std::string target = url_path(std::string(dir) + "/" + files[a]);
      const bool image = !detail::sniff_image_type(att.data).empty();
      out += "- " + std::string(image ? "!" : "") + "[" + name + "](" + target + ")" + info + "\n";
    }
  }
  std::string facts;
  const auto fact = [&](const std::string& f) { facts += (facts.empty() ? "" : " \xc2\xb7 ") + f; };
  if (m.n_tokens != 0) fact(std::to_string(m.n_tokens) + " tokens");
  if (m.timings.generate_ms > 0 && m.n_tokens > 0) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.1f tokens/s", m.n_tokens * 1000.0 / m.timings.generate_ms);
    fact(buf);
  }
  if (!m.stop_reason.empty()) fact("stopped: " + inline_text(m.stop_reason));
  if (m.trace && m.trace->has_shape() && !m.trace->empty()) {
    fact("routing: " + std::to_string(m.trace->n_moe_layers()) + " MoE layers, top-" +
         std::to_string(m.trace->top_k()) + " of " + std::to_string(m.trace->n_expert()) +
         " experts");
  }
  if (!facts.empty()) out += "\n*" + facts + "*\n";
}

}  // namespace

std::string to_markdown(const Session& session, std::string_view attachments_dir) {
  const auto files = detail::attachment_file_names(session);
  std::string out = front_matter(session);
  out += "\n# " + inline_text(session.title.empty() ? "Session" : session.title) + "\n";
  if (session.model) {
    out +=
        "\n*" + inline_text(session.model->name) + " (" + inline_text(session.model->arch) + ")*\n";
  }
  for (size_t i = 0; i < session.messages.size(); ++i)
    message_section(out, session.messages[i], files[i], attachments_dir);
  return out;
}

}  // namespace es::transcript
