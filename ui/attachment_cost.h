// What an attachment costs the model before it is sent: tokens (an image or video through
// the vision projector, a text file or PDF through the tokenizer), a detail line (size,
// duration, frames sampled, pages) and a thumbnail (a video's poster frame); for a text
// file or PDF too long for the context, the most whole pages or lines that fit.
//
// Everything here is a plain function of immutable inputs (Tokenizer and Projector are
// shared, read-only, with the engine thread) that touches no widget, so the composer runs
// it on a worker thread (a long video or a 2000-page PDF must not freeze the window) and
// takes the result back on the UI thread. A file that cannot be read gives its error.
#pragma once

#include <QImage>
#include <QString>
#include <memory>

#include "expertscope/document.h"
#include "expertscope/projector.h"
#include "expertscope/session.h"
#include "expertscope/tokenizer.h"

namespace es::ui {

struct AttachmentCost {
  uint32_t tokens = 0;
  QString detail;    ///< "640 × 480", "12.0 s · 12 frames sampled", "3 pages".
  QImage thumbnail;  ///< Pictures and videos; null otherwise.
  QString error;     ///< Why it cannot be used (then tokens is 0).
  /// Text files and PDFs: the units the whole document has (pages of a PDF, lines of a
  /// text file: media::document_units); 0 for pictures and videos.
  uint32_t units = 0;
  /// What the Attachment's kept_units keeps, as the chip says it: "pages 1–12 of 40 kept",
  /// "first 1,234 of 5,678 lines kept"; empty when the whole document is sent.
  QString kept;
  /// The whole document's text (text files and PDFs), kept for fit_document so that
  /// truncating does not extract a PDF's text again; null otherwise.
  std::shared_ptr<const media::Document> document;
  /// Tokens of the whole document's text block (equal to `tokens` when nothing is cut).
  uint32_t whole_tokens = 0;
};

/// The cost of `a` (its kept_units honoured) for a model with `tokenizer` and (optionally)
/// `projector`; pictures and videos get a thumbnail fitting `thumbnail_px` square. Any
/// thread.
[[nodiscard]] AttachmentCost attachment_cost(const Attachment& a, const Tokenizer& tokenizer,
                                             const Projector* projector, int thumbnail_px = 40);

/// `whole` (the cost of a whole text file or PDF, its document kept) with only its first
/// `kept_units` units sent: tokens counted again, `kept` filled. `whole` unchanged for 0,
/// for a count not less than its units, or without a document. Any thread.
[[nodiscard]] AttachmentCost with_kept_units(AttachmentCost whole, uint32_t kept_units,
                                             const Tokenizer& tokenizer);

/// "pages 1–12 of 40 kept" / "first 1,234 of 5,678 lines kept" for `kept` of `units` of a
/// PDF (`pages`) or a text file; empty when kept is 0 or not less than units.
[[nodiscard]] QString kept_text(bool pages, uint32_t kept, uint32_t units);

/// The truncation fit_document found.
struct DocumentFit {
  uint32_t kept_units = 0;  ///< 0: the whole document fits.
  uint32_t tokens = 0;      ///< Tokens of the text block with that many units.
  QString error;            ///< Not even the first page or line fits (or nothing to cut).
};

/// The most whole pages (a PDF) or lines (a text file) of `document` — the whole one
/// measured at `whole_tokens` — whose text block, truncation note included, takes at most
/// `budget` tokens: an estimate from the characters kept, then exact token counts
/// (galloping from the estimate, then bisecting), so only texts near the budget are
/// tokenized. Any thread.
[[nodiscard]] DocumentFit fit_document(const media::Document& document, uint32_t whole_tokens,
                                       const Tokenizer& tokenizer, uint32_t budget);

}  // namespace es::ui
