// What an attachment claims to be (name, MIME type) and the text block a document or
// text attachment becomes in the user turn.
#include <algorithm>
#include <cctype>
#include <string>

#include "doc_util.h"
#include "expertscope/error.h"

namespace es::media {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view base_name(std::string_view name) {
  const size_t slash = name.find_last_of("/\\");
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

std::string extension(std::string_view name) {
  const std::string_view base = base_name(name);
  const size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return lower(base.substr(dot + 1));
}

bool one_of(std::string_view x, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

/// The fence language of a source file, "" for prose (plain text, Markdown, CSV, logs).
std::string_view code_language(std::string_view ext) {
  struct Row {
    std::string_view ext;
    std::string_view lang;
  };
  static constexpr Row kRows[] = {
      {"c", "c"},         {"h", "cpp"},         {"cc", "cpp"},         {"cpp", "cpp"},
      {"cxx", "cpp"},     {"hpp", "cpp"},       {"hh", "cpp"},         {"hxx", "cpp"},
      {"py", "python"},   {"js", "javascript"}, {"mjs", "javascript"}, {"ts", "typescript"},
      {"tsx", "tsx"},     {"jsx", "jsx"},       {"rs", "rust"},        {"go", "go"},
      {"java", "java"},   {"kt", "kotlin"},     {"swift", "swift"},    {"rb", "ruby"},
      {"php", "php"},     {"sh", "bash"},       {"bash", "bash"},      {"zsh", "zsh"},
      {"lua", "lua"},     {"cs", "csharp"},     {"scala", "scala"},    {"sql", "sql"},
      {"cmake", "cmake"}, {"glsl", "glsl"},     {"comp", "glsl"},      {"vert", "glsl"},
      {"frag", "glsl"},   {"cu", "cuda"},       {"json", "json"},      {"jsonl", "json"},
      {"yaml", "yaml"},   {"yml", "yaml"},      {"toml", "toml"},      {"xml", "xml"},
      {"html", "html"},   {"htm", "html"},      {"css", "css"},        {"tex", "latex"},
      {"diff", "diff"},   {"patch", "diff"},    {"ini", "ini"},        {"pl", "perl"},
      {"r", "r"},         {"m", "objectivec"},  {"mm", "objectivec"},  {"proto", "protobuf"},
  };
  for (const Row& r : kRows) {
    if (r.ext == ext) return r.lang;
  }
  return {};
}

std::string fence_for(std::string_view text) {
  size_t longest = 0;
  size_t run = 0;
  for (const char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

/// "1,234,567": digits grouped by thousands, as the truncation note writes counts.
std::string grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  for (auto at = static_cast<ptrdiff_t>(digits.size()) - 3; at > 0; at -= 3) {
    digits.insert(static_cast<size_t>(at), 1, ',');
  }
  return digits;
}

/// Lines of a text: line ends, plus a last line without one.
uint32_t count_lines(std::string_view text) {
  const auto ends = static_cast<uint32_t>(std::count(text.begin(), text.end(), '\n'));
  return ends + (!text.empty() && text.back() != '\n' ? 1 : 0);
}

int64_t count_chars(std::string_view text) {
  int64_t n = 0;
  for (const char c : text) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

}  // namespace

Kind claimed_kind(std::string_view file_name, std::string_view mime_type) {
  const std::string mime = lower(mime_type.substr(0, mime_type.find(';')));
  if (mime.rfind("image/", 0) == 0) return Kind::image;
  if (mime.rfind("video/", 0) == 0) return Kind::video;
  if (mime == "application/pdf") return Kind::document;
  if (mime.rfind("text/", 0) == 0 ||
      one_of(mime,
             {"application/json", "application/xml", "application/javascript", "application/x-sh",
              "application/x-yaml", "application/toml", "application/x-tex"})) {
    return Kind::text;
  }
  const std::string ext = extension(file_name);
  if (one_of(ext, {"png", "jpg", "jpeg", "jpe", "jfif", "webp", "bmp", "dib", "tif", "tiff", "gif",
                   "qoi"})) {
    return Kind::image;
  }
  if (one_of(ext, {"mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "m2ts", "flv",
                   "ivf", "3gp", "h264", "264", "hevc", "h265"})) {
    // ".ts" is TypeScript more often than MPEG transport: a MIME type decides above;
    // without one, the content decides (see probe).
    return ext == "ts" ? Kind::unknown : Kind::video;
  }
  if (ext == "pdf") return Kind::document;
  if (one_of(ext, {"txt", "text", "md", "markdown", "rst", "org", "csv", "tsv", "log", "adoc"}) ||
      !code_language(ext).empty()) {
    return Kind::text;
  }
  return Kind::unknown;
}

uint32_t document_units(const Document& doc) {
  if (doc.kind == Kind::document) return static_cast<uint32_t>(doc.pages.size());
  return doc.pages.empty() ? 0 : count_lines(doc.pages.front());
}

Document truncate_document(Document doc, uint32_t keep) {
  const uint32_t units = document_units(doc);
  if (keep == 0 || keep >= units) return doc;
  if (doc.kind == Kind::document) {
    doc.pages.resize(keep);
  } else {
    std::string& text = doc.pages.front();
    size_t end = 0;
    for (uint32_t line = 0; line < keep; ++line) end = text.find('\n', end) + 1;
    text.resize(end);  // keep < units: the kept lines all end in '\n'
  }
  doc.n_chars = 0;
  for (const std::string& p : doc.pages) doc.n_chars += count_chars(p);
  doc.truncated_from = units;
  return doc;
}

std::string format_attachment(const Document& doc) {
  const std::string_view name = base_name(doc.name);
  std::string out = "### ";
  out += name;
  const bool cut = doc.truncated_from != 0;
  if (doc.kind == Kind::document) {
    const size_t n = cut ? doc.truncated_from : doc.pages.size();
    out += " (" + std::to_string(n) + (n == 1 ? " page)" : " pages)");
    if (cut) {
      out += "\n\n[truncated: " +
             (doc.pages.size() == 1 ? "page 1" : "pages 1\u2013" + grouped(doc.pages.size())) +
             " of " + grouped(n) + " kept]";
    }
    for (size_t i = 0; i < doc.pages.size(); ++i) {
      out += "\n\n--- page " + std::to_string(i + 1) + " of " + std::to_string(n) + " ---\n";
      out += doc.pages[i].empty() ? std::string("[no text on this page]") : doc.pages[i];
    }
    out += '\n';
    return out;
  }
  const std::string text = doc.pages.empty() ? std::string() : doc.pages.front();
  out += "\n\n";
  if (cut) {
    const uint32_t kept = count_lines(text);
    out += "[truncated: first " + grouped(kept) + " of " + grouped(doc.truncated_from) +
           (doc.truncated_from == 1 ? " line" : " lines") + " kept]\n\n";
  }
  const std::string_view lang = code_language(extension(name));
  if (!lang.empty()) {
    const std::string fence = fence_for(text);
    out += fence;
    out += lang;
    out += '\n';
    out += text;
    if (!text.empty() && text.back() != '\n') out += '\n';
    out += fence;
    out += '\n';
  } else {
    out += text;
    if (text.empty() || text.back() != '\n') out += '\n';
  }
  return out;
}

Document read_attachment_document(std::span<const uint8_t> bytes, std::string_view file_name,
                                  std::string_view mime_type, const DocumentLimits& limits) {
  Kind kind = claimed_kind(file_name, mime_type);
  if (kind == Kind::unknown && looks_like_pdf(bytes)) kind = Kind::document;
  switch (kind) {
    case Kind::document:
      return read_pdf_memory(bytes, file_name, limits);
    case Kind::image:
    case Kind::video:
      throw Error(ErrorKind::unsupported, std::string(file_name) +
                                              (kind == Kind::image ? ": an image" : ": a video") +
                                              " goes to the vision projector, not into the text");
    default:
      // Text, or nothing claimed: read as text (binary data is refused there).
      return read_text_memory(bytes, file_name, limits);
  }
}

std::string attachment_text(std::span<const uint8_t> bytes, std::string_view file_name,
                            std::string_view mime_type, const DocumentLimits& limits) {
  return format_attachment(read_attachment_document(bytes, file_name, mime_type, limits));
}

std::string attachment_text_kept(std::span<const uint8_t> bytes, std::string_view file_name,
                                 std::string_view mime_type, uint32_t keep_units,
                                 const DocumentLimits& limits) {
  return format_attachment(
      truncate_document(read_attachment_document(bytes, file_name, mime_type, limits), keep_units));
}

std::string attachment_text(const std::filesystem::path& path, std::string_view mime_type,
                            const DocumentLimits& limits) {
  const std::string name = path.string();
  const std::vector<uint8_t> bytes = detail::read_whole_file(path, name, limits.max_file_bytes);
  return attachment_text(bytes, name, mime_type, limits);
}

}  // namespace es::media
