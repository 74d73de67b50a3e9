// What an attachment costs the model before it is sent: tokens (an image or video through
// the vision projector, a text file or PDF through the tokenizer), a detail line (size,
// duration, frames sampled, pages) and a thumbnail (a video's poster frame). Computed on
// the UI thread from immutable engine objects (Tokenizer, Projector) shared with the
// engine thread; a file that cannot be read gives its error instead.
#pragma once

#include <QImage>
#include <QString>
#include <memory>

#include "expertscope/projector.h"
#include "expertscope/session.h"
#include "expertscope/tokenizer.h"

namespace es::ui {

struct AttachmentCost {
  uint32_t tokens = 0;
  QString detail;    ///< "640 × 480", "12.0 s · 12 frames sampled", "3 pages".
  QImage thumbnail;  ///< Pictures and videos; null otherwise.
  QString error;     ///< Why it cannot be used (then tokens is 0).
};

/// The cost of `a` for a model with `tokenizer` and (optionally) `projector`.
[[nodiscard]] AttachmentCost attachment_cost(const Attachment& a, const Tokenizer& tokenizer,
                                             const Projector* projector);

}  // namespace es::ui
