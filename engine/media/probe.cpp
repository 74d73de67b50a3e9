// probe(): what a file is, its name's claim checked against its content.
#include <algorithm>

#include "av_input.h"
#include "doc_util.h"
#include "expertscope/document.h"

namespace es::media {
namespace {

ProbeResult from_document(const Document& doc) {
  ProbeResult r;
  r.kind = doc.kind;
  r.container = doc.kind == Kind::document ? "pdf" : "text";
  r.pages = static_cast<int>(doc.pages.size());
  r.chars = doc.n_chars;
  return r;
}

ProbeResult from_source(Source& s) {
  ProbeResult r;
  r.kind = s.kind();
  r.width = s.width();
  r.height = s.height();
  r.duration_s = s.duration_s();
  r.rotation_deg = s.rotation_deg();
  r.container = s.container();
  r.codec = s.codec();
  r.frames_sampled =
      s.kind() == Kind::video ? static_cast<int>(sample_times(s.duration_s(), {}).size()) : 1;
  return r;
}

/// Text if the start of the file is UTF-8 without NUL bytes (a character cut at the end
/// of the sample is fine).
bool looks_like_text(std::span<const uint8_t> head) {
  if (std::find(head.begin(), head.end(), uint8_t{0}) != head.end()) return false;
  int64_t replaced = 0;
  int64_t chars = 0;
  const size_t n = head.size() > 4 ? head.size() - 3 : head.size();
  (void)detail::sanitize_utf8(std::string_view(reinterpret_cast<const char*>(head.data()), n),
                              replaced, chars);
  return replaced == 0;
}

template <typename ReadAll, typename OpenMedia>
ProbeResult probe_with(std::span<const uint8_t> head, const std::string& name, ReadAll read_all,
                       OpenMedia open_media) {
  Kind claim = claimed_kind(name);
  if (claim == Kind::unknown) {
    if (looks_like_pdf(head)) {
      claim = Kind::document;
    } else if (!head.empty() && looks_like_text(head)) {
      claim = Kind::text;
    }
  }
  switch (claim) {
    case Kind::document: {
      const std::vector<uint8_t> bytes = read_all();
      return from_document(read_pdf_memory(bytes, name));
    }
    case Kind::text: {
      const std::vector<uint8_t> bytes = read_all();
      return from_document(read_text_memory(bytes, name));
    }
    case Kind::image:
    case Kind::video: {
      Source s = open_media();
      return from_source(s);
    }
    default:
      try {
        Source s = open_media();
        return from_source(s);
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::io) throw;
        ProbeResult r;
        r.kind = Kind::unknown;
        return r;
      }
  }
}

}  // namespace

ProbeResult probe(const std::filesystem::path& path, const Limits& limits) {
  const std::string name = path.string();
  const std::shared_ptr<detail::ByteSource> src =
      detail::file_bytes(path, name, limits.max_file_bytes);  // io errors, the size cap
  const std::vector<uint8_t> head = detail::head_bytes(*src, 4096);
  return probe_with(
      head, name,
      [&] {
        return detail::read_whole_file(
            path, name, std::min(limits.max_file_bytes, DocumentLimits{}.max_file_bytes));
      },
      [&] { return Source::open(path, limits); });
}

ProbeResult probe_memory(std::span<const uint8_t> bytes, std::string_view name,
                         const Limits& limits) {
  const std::string n(name);
  detail::check_file_bytes(static_cast<int64_t>(bytes.size()), n, limits.max_file_bytes);
  const std::span<const uint8_t> head = bytes.first(std::min<size_t>(bytes.size(), 4096));
  return probe_with(
      head, n, [&] { return std::vector<uint8_t>(bytes.begin(), bytes.end()); },
      [&] { return Source::open_memory(bytes, name, limits); });
}

}  // namespace es::media
