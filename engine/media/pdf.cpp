// PDF text with Poppler's C++ interface (poppler-cpp): the only code that includes it.
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include "doc_util.h"
#include "expertscope/error.h"

namespace es::media {
namespace {

/// Poppler's messages, kept (the last one) for the error text instead of printed.
struct PopplerLog {
  std::string last;
};
thread_local PopplerLog* t_log = nullptr;
std::once_flag g_poppler_once;

void quiet_poppler(const std::string& message, void* /*closure*/) {
  if (t_log == nullptr) return;
  std::string line = message;
  std::replace(line.begin(), line.end(), '\n', ' ');
  t_log->last = std::move(line);
}

class PopplerCapture {
 public:
  PopplerCapture() : outer_(t_log) {
    std::call_once(g_poppler_once,
                   [] { poppler::set_debug_error_function(quiet_poppler, nullptr); });
    t_log = &log_;
  }
  ~PopplerCapture() { t_log = outer_; }
  PopplerCapture(const PopplerCapture&) = delete;
  PopplerCapture& operator=(const PopplerCapture&) = delete;
  [[nodiscard]] std::string detail(const char* fallback) const {
    return log_.last.empty() ? fallback : log_.last;
  }

 private:
  PopplerLog log_;
  PopplerLog* outer_;
};

/// A page's text: form feeds dropped, trailing spaces of each line and trailing blank
/// lines removed.
std::string tidy_page(std::string text) {
  std::string out;
  out.reserve(text.size());
  size_t line_start = 0;
  for (char c : text) {
    if (c == '\f') continue;
    if (c == '\r') c = '\n';
    if (c == '\n') {
      while (out.size() > line_start && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
      out += '\n';
      line_start = out.size();
      continue;
    }
    out += c;
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\t')) {
    out.pop_back();
  }
  return out;
}

}  // namespace

bool looks_like_pdf(std::span<const uint8_t> bytes) noexcept {
  const std::string_view head(reinterpret_cast<const char*>(bytes.data()),
                              std::min<size_t>(bytes.size(), 1024));
  return head.find("%PDF-") != std::string_view::npos;
}

Document read_pdf_memory(std::span<const uint8_t> bytes, std::string_view name,
                         const DocumentLimits& limits) {
  Document doc;
  doc.name = std::string(name);
  doc.kind = Kind::document;
  const auto size = static_cast<int64_t>(bytes.size());
  if (size > limits.max_file_bytes) {
    throw Error(ErrorKind::bad_input, doc.name + ": " + detail::size_text(size) +
                                          " is more than the " +
                                          detail::size_text(limits.max_file_bytes) + " file limit");
  }
  if (size == 0) throw Error(ErrorKind::bad_input, doc.name + ": empty file, not a PDF");
  if (!looks_like_pdf(bytes)) throw Error(ErrorKind::bad_input, doc.name + ": not a PDF");
  PopplerCapture log;
  poppler::byte_array data(bytes.begin(), bytes.end());
  std::unique_ptr<poppler::document> pdf(poppler::document::load_from_data(&data));
  if (!pdf) {
    throw Error(ErrorKind::bad_input,
                doc.name + ": a damaged PDF Poppler cannot read (" + log.detail("no detail") + ")");
  }
  if (pdf->is_locked()) {
    throw Error(ErrorKind::bad_input,
                doc.name + ": the PDF is encrypted and needs a password to read");
  }
  const int n_pages = pdf->pages();
  if (n_pages <= 0) {
    throw Error(ErrorKind::bad_input, doc.name + ": a damaged PDF (no pages" +
                                          (log.detail("").empty() ? "" : "; " + log.detail("")) +
                                          ")");
  }
  if (n_pages > limits.max_pages) {
    throw Error(ErrorKind::bad_input, doc.name + ": " + std::to_string(n_pages) +
                                          " pages, more than the " +
                                          std::to_string(limits.max_pages) + "-page limit");
  }
  for (int i = 0; i < n_pages; ++i) {
    std::unique_ptr<poppler::page> page(pdf->create_page(i));
    if (!page) {
      throw Error(ErrorKind::bad_input, doc.name + ": page " + std::to_string(i + 1) +
                                            " is damaged (" + log.detail("no detail") + ")");
    }
    const poppler::byte_array utf8 =
        page->text(poppler::rectf(), poppler::page::raw_order_layout).to_utf8();
    int64_t replaced = 0;
    doc.pages.push_back(tidy_page(
        detail::sanitize_utf8(std::string_view(utf8.data(), utf8.size()), replaced, doc.n_chars)));
    doc.n_replaced += replaced;
    if (doc.n_chars > limits.max_chars) {
      throw Error(ErrorKind::bad_input, doc.name + ": more than the " +
                                            std::to_string(limits.max_chars) +
                                            "-character limit of text");
    }
  }
  // n_chars counted before tidying; count what is kept.
  doc.n_chars = 0;
  for (const std::string& p : doc.pages) {
    for (const char c : p) doc.n_chars += (static_cast<uint8_t>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return doc;
}

Document read_pdf(const std::filesystem::path& path, const DocumentLimits& limits) {
  const std::string name = path.string();
  const std::vector<uint8_t> bytes = detail::read_whole_file(path, name, limits.max_file_bytes);
  return read_pdf_memory(bytes, name, limits);
}

}  // namespace es::media
