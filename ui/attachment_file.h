// Files attached to a message: what can be told at once from a file's name, size and
// first bytes (on the UI thread, when the file is dropped), and reading it whole and
// checking its content (off the UI thread: a 512 MiB video or a PDF must not freeze the
// window). Pictures and videos need a model that can see them; text must be UTF-8; what
// only FFmpeg can tell (a video without an extension) is probed.
#pragma once

#include <QString>

#include "expertscope/session.h"

namespace es::ui {

/// The checks addFile makes on the UI thread from a file's name, size and first bytes:
/// fills `*out` with its kind ("image", "video", "pdf", "text", or "file" when only its
/// content can tell), name, MIME type and size, without its data; false with `*error`
/// naming the file when it cannot be used.
bool check_attachment_file(const QString& path, bool accept_images, const QString& images_why_not,
                           Attachment* out, QString* error);
/// Reads the file `check_attachment_file` accepted into `*a` (its data), checks its
/// content (UTF-8 text; a picture, video or PDF that FFmpeg or Poppler reads) and settles
/// its kind. Any thread: false with `*error` naming the file otherwise.
bool load_attachment_file(const QString& path, bool accept_images, const QString& images_why_not,
                          Attachment* a, QString* error);

}  // namespace es::ui
