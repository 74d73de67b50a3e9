#include "attachment_cost.h"

#include <QLocale>
#include <QObject>
#include <algorithm>

#include "expertscope/error.h"
#include "expertscope/media.h"
#include "expertscope/multimodal.h"

namespace es::ui {

namespace {

QImage to_qimage(const media::Frame& f) {
  QImage img(f.rgb.data(), f.width, f.height, f.stride_bytes, QImage::Format_RGB888);
  return img.copy();  // Own the pixels.
}

uint32_t count_tokens(const Tokenizer& tokenizer, const std::string& text) {
  return static_cast<uint32_t>(tokenizer.encode(text).size());
}

/// Unicode characters of the first `keep` units (all for 0).
int64_t chars_kept(const media::Document& doc, uint32_t keep) {
  return media::truncate_document(doc, keep).n_chars;
}

}  // namespace

QString kept_text(bool pages, uint32_t kept, uint32_t units) {
  if (kept == 0 || kept >= units) return {};
  const QLocale locale;
  if (pages) {
    return kept == 1 ? QObject::tr("page 1 of %1 kept").arg(locale.toString(units))
                     : QObject::tr("pages 1–%1 of %2 kept")
                           .arg(locale.toString(kept), locale.toString(units));
  }
  return QObject::tr("first %1 of %2 lines kept")
      .arg(locale.toString(kept), locale.toString(units));
}

AttachmentCost attachment_cost(const Attachment& a, const Tokenizer& tokenizer,
                               const Projector* projector, int thumbnail_px) {
  AttachmentCost c;
  try {
    if (a.kind == "image" || a.kind == "video") {
      // One open: the source knows what a probe would say.
      media::Source source = media::Source::open_memory(a.data, a.file_name);
      media::ProbeResult probe;
      probe.kind = source.kind();
      probe.width = source.width();
      probe.height = source.height();
      probe.duration_s = source.duration_s();
      c.thumbnail = to_qimage(media::thumbnail(source.poster(), thumbnail_px));
      if (probe.kind == media::Kind::video) {
        const auto frames =
            projector != nullptr
                ? media::sample_times(probe.duration_s, video_policy(*projector)).size()
                : size_t{0};
        c.detail = QObject::tr("%1 s · %2 frames sampled")
                       .arg(probe.duration_s, 0, 'f', 1)
                       .arg(static_cast<qulonglong>(frames));
      } else {
        c.detail = QStringLiteral("%1 × %2").arg(probe.width).arg(probe.height);
      }
      c.tokens = projector != nullptr ? media_token_cost(*projector, probe) : 0;
      return c;
    }
    auto doc = std::make_shared<const media::Document>(
        media::read_attachment_document(a.data, a.file_name, a.mime_type));
    const bool pdf = doc->kind == media::Kind::document;
    c.units = media::document_units(*doc);
    c.whole_tokens = count_tokens(tokenizer, media::format_attachment(*doc));
    c.tokens = c.whole_tokens;
    const QLocale locale;
    c.detail = pdf ? (c.units == 1 ? QObject::tr("1 page")
                                   : QObject::tr("%1 pages").arg(locale.toString(c.units)))
                   : QObject::tr("%1 lines · %2 bytes")
                         .arg(locale.toString(c.units))
                         .arg(locale.toString(static_cast<qulonglong>(a.data.size())));
    c.document = std::move(doc);
    return with_kept_units(std::move(c), a.kept_units, tokenizer);
  } catch (const Error& e) {
    c.tokens = 0;
    c.error = QString::fromUtf8(e.what());
  }
  return c;
}

AttachmentCost with_kept_units(AttachmentCost whole, uint32_t kept_units,
                               const Tokenizer& tokenizer) {
  AttachmentCost c = std::move(whole);
  if (!c.document) return c;
  c.tokens = c.whole_tokens;
  c.kept.clear();
  if (kept_units == 0 || kept_units >= c.units) return c;
  c.tokens = count_tokens(
      tokenizer, media::format_attachment(media::truncate_document(*c.document, kept_units)));
  c.kept = kept_text(c.document->kind == media::Kind::document, kept_units, c.units);
  return c;
}

DocumentFit fit_document(const media::Document& doc, uint32_t whole_tokens,
                         const Tokenizer& tokenizer, uint32_t budget) {
  DocumentFit fit;
  const uint32_t units = media::document_units(doc);
  const bool pdf = doc.kind == media::Kind::document;
  if (whole_tokens <= budget) {
    fit.tokens = whole_tokens;
    return fit;  // nothing to cut
  }
  const auto tokens = [&](uint32_t keep) {
    return count_tokens(tokenizer, media::format_attachment(media::truncate_document(doc, keep)));
  };
  if (units < 2 || tokens(1) > budget) {
    fit.error = pdf ? QObject::tr("not even its first page fits the %1 tokens left")
                          .arg(QLocale().toString(budget))
                    : QObject::tr("not even its first line fits the %1 tokens left")
                          .arg(QLocale().toString(budget));
    return fit;
  }
  // lo fits, hi does not (the whole document, units, does not).
  uint32_t lo = 1;
  uint32_t hi = units;
  // The estimate: the share of the characters that the budget's share of tokens buys.
  const double share = static_cast<double>(budget) / std::max<uint32_t>(whole_tokens, 1);
  const auto want_chars = static_cast<int64_t>(share * static_cast<double>(doc.n_chars));
  uint32_t guess = 1;
  {
    uint32_t a = 1;
    uint32_t b = units - 1;  // bisect the character count (cheap: no tokenizing)
    while (a < b) {
      const uint32_t mid = a + (b - a + 1) / 2;
      if (chars_kept(doc, mid) <= want_chars) {
        a = mid;
      } else {
        b = mid - 1;
      }
    }
    guess = a;
  }
  // Gallop from the guess to bracket the answer, then bisect with exact counts.
  if (guess > lo) {
    if (tokens(guess) <= budget) {
      lo = guess;
      for (uint32_t step = 1; lo + step < hi; step *= 2) {
        if (tokens(lo + step) <= budget) {
          lo += step;
        } else {
          hi = lo + step;
          break;
        }
      }
    } else {
      hi = guess;
      for (uint32_t step = 1; step < hi - lo; step *= 2) {
        if (tokens(hi - step) <= budget) {
          lo = hi - step;
          break;
        }
        hi -= step;
      }
    }
  }
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (tokens(mid) <= budget) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  fit.kept_units = lo;
  fit.tokens = tokens(lo);
  return fit;
}

}  // namespace es::ui
