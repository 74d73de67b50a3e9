// Documents: text files (plain, Markdown, source code) and PDFs as text, and the text
// block an attachment becomes in a chat's user turn.
//
// Text is read as UTF-8 (a UTF-8 byte-order mark is dropped; UTF-16 with a byte-order
// mark is converted). Invalid UTF-8 is not an error: each invalid sequence becomes
// U+FFFD (the replacement character) and Document::n_replaced counts them, so a Latin-1
// file still reads, visibly marked. A file with NUL bytes is binary, not text: an error.
// Line ends are kept as they are.
//
// PDFs are read with Poppler's C++ interface (engine/media/ is the only code that
// includes it), page by page, in the order the page draws its text. A PDF that needs a
// password, or that Poppler cannot read, is an es::Error naming the file. Poppler's own
// messages never reach stderr.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/media.h"

namespace es::media {

/// Caps for documents; each exceeded gives es::Error(bad_input) naming the file.
struct DocumentLimits {
  int64_t max_file_bytes = int64_t{256} << 20;  ///< Size of the file or buffer.
  int max_pages = 2000;                         ///< Pages of a PDF.
  int64_t max_chars = 4'000'000;                ///< Unicode characters of the text.
};

/// A document's text.
struct Document {
  std::string name;                ///< As given (a path or a file name).
  Kind kind = Kind::unset;         ///< Kind::text or Kind::document (a PDF).
  std::vector<std::string> pages;  ///< Valid UTF-8; text files have one page.
  int64_t n_chars = 0;             ///< Unicode characters over all pages.
  int64_t n_replaced = 0;          ///< Invalid UTF-8 sequences replaced by U+FFFD.
  /// When the document was cut to fit a context (truncate_document): the units (pages of
  /// a PDF, lines of a text file) the whole document has. 0: not truncated.
  uint32_t truncated_from = 0;
};

/// Reads text (see the top of this header). Throws es::Error(io) for a missing file or a
/// directory, bad_input for binary data or a cap exceeded.
[[nodiscard]] Document read_text(const std::filesystem::path& path,
                                 const DocumentLimits& limits = {});
[[nodiscard]] Document read_text_memory(std::span<const uint8_t> bytes, std::string_view name,
                                        const DocumentLimits& limits = {});

/// Reads a PDF's text, page by page. Throws es::Error: io (missing file, directory),
/// bad_input (not a PDF, damaged, encrypted with a password, a cap exceeded).
[[nodiscard]] Document read_pdf(const std::filesystem::path& path,
                                const DocumentLimits& limits = {});
[[nodiscard]] Document read_pdf_memory(std::span<const uint8_t> bytes, std::string_view name,
                                       const DocumentLimits& limits = {});

/// True if `bytes` start like a PDF ("%PDF-" within the first 1024 bytes).
[[nodiscard]] bool looks_like_pdf(std::span<const uint8_t> bytes) noexcept;

/// What an attachment's name and MIME type claim it is: image, video, document (PDF),
/// text, or unknown when neither says. The MIME type wins when it names a kind.
[[nodiscard]] Kind claimed_kind(std::string_view file_name, std::string_view mime_type = {});

/// The text block a document or text attachment becomes in the user turn: a header
/// naming the file, then the text. A PDF:
///
///     ### report.pdf (3 pages)
///
///     --- page 1 of 3 ---
///     ...text...
///
///     --- page 2 of 3 ---
///     ...
///
/// A text file: "### notes.md" and its text; source code (by extension) is fenced with
/// its language ("```cpp"), with a fence longer than any run of backticks in it. Only the
/// base name of `file_name` is shown. The kind comes from the content (a PDF by its
/// signature) and from the name and MIME type (claimed_kind). Throws es::Error: an image
/// or video (unsupported: they go to the vision projector), unknown binary data, or
/// anything read_text / read_pdf throws.
[[nodiscard]] std::string attachment_text(std::span<const uint8_t> bytes,
                                          std::string_view file_name,
                                          std::string_view mime_type = {},
                                          const DocumentLimits& limits = {});
/// The same for a file on disk (its name is the path's base name).
[[nodiscard]] std::string attachment_text(const std::filesystem::path& path,
                                          std::string_view mime_type = {},
                                          const DocumentLimits& limits = {});

/// The text block of a Document already read (as attachment_text formats it). A
/// truncated document (truncated_from != 0) says so right under its header, in words the
/// model reads: "[truncated: pages 1–12 of 40 kept]" for a PDF (whose page markers still
/// count "of 40"), "[truncated: first 1,234 of 5,678 lines kept]" for a text file.
[[nodiscard]] std::string format_attachment(const Document& doc);

/// The Document a document or text attachment holds (the kind decided as attachment_text
/// decides it). Throws what attachment_text throws.
[[nodiscard]] Document read_attachment_document(std::span<const uint8_t> bytes,
                                                std::string_view file_name,
                                                std::string_view mime_type = {},
                                                const DocumentLimits& limits = {});

/// The units a document is cut in to fit a context: its pages (a PDF) or its lines (a
/// text file: a last line without a line end counts; an empty text has none).
[[nodiscard]] uint32_t document_units(const Document& doc);

/// The first `keep` units of `doc`, cut on a clean boundary (whole pages, whole lines with
/// their line ends), with truncated_from set to document_units(doc) so that
/// format_attachment says what was kept. `keep` 0, or at least document_units(doc): `doc`
/// unchanged. n_chars counts what is kept.
[[nodiscard]] Document truncate_document(Document doc, uint32_t keep);

/// The text block of a document or text attachment with only its first `keep_units`
/// units (0: all of them): format_attachment(truncate_document(read_attachment_document
/// (...), keep_units)). What a stored Attachment with kept_units becomes in the prompt.
[[nodiscard]] std::string attachment_text_kept(std::span<const uint8_t> bytes,
                                               std::string_view file_name,
                                               std::string_view mime_type, uint32_t keep_units,
                                               const DocumentLimits& limits = {});

}  // namespace es::media
