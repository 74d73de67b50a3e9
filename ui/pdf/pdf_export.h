// PDF export of a session (issue 5): the engine's HTML in the subset Qt renders
// (es::transcript::to_html(..., HtmlFlavor::qt_rich_text)), laid out by QTextDocument and
// printed to A4 by QPdfWriter, the load heatmaps painted here as images.
#pragma once

#include <filesystem>

#include "expertscope/session.h"

namespace es::pdf {

/// Writes `session` as a PDF (A4, 16 mm margins, page numbers) to `out` atomically
/// (QSaveFile: a temporary file renamed over `out` only when complete). A QGuiApplication
/// must exist (QTextDocument needs fonts; the offscreen platform will do); without one
/// this is an es::Error (usage). A file the system refuses is an es::Error (io) naming it.
void write_pdf(const Session& session, const std::filesystem::path& out);

}  // namespace es::pdf
