// InspectorData: segments, global token numbering, selections and token axes.
#include "inspector_data.h"

#include <QStringList>
#include <algorithm>

namespace es::inspector {

namespace {

/// The token range [begin, end) of a segment of `n` tokens that a range in global
/// indices [gb, ge) covers, given the segment starts at global index `offset`.
std::pair<uint32_t, uint32_t> clip(uint64_t gb, uint64_t ge, uint64_t offset, uint32_t n) {
  const uint64_t b = std::clamp<uint64_t>(gb, offset, offset + n);
  const uint64_t e = std::clamp<uint64_t>(ge, offset, offset + n);
  return {static_cast<uint32_t>(b - offset), static_cast<uint32_t>(std::max(b, e) - offset)};
}

QString modalityWord(Modality modality) {
  switch (modality) {
    case Modality::text:
      return QStringLiteral("text");
    case Modality::image:
      return QStringLiteral("image");
    case Modality::video:
      return QStringLiteral("video");
    case Modality::unset:
      break;
  }
  return {};
}

}  // namespace

QString InspectorSegment::label() const {
  if (message_index < 0) return role.isEmpty() ? QStringLiteral("segment") : role;
  return QStringLiteral("#%1 %2").arg(message_index).arg(role);
}

InspectorData::InspectorData(std::vector<std::shared_ptr<const InspectorSegment>> segments,
                             QString title)
    : title_(std::move(title)) {
  for (auto& seg : segments) {
    if (!seg || !seg->trace || !seg->trace->has_shape()) continue;
    if (!segments_.empty() && !(seg->trace->shape() == shape())) continue;
    segments_.push_back(std::move(seg));
    const RoutingTrace& trace = *segments_.back()->trace;
    total_tokens_ += trace.n_tokens();
    offsets_.push_back(total_tokens_);
    for (const Modality m : trace.modalities()) modality_mask_ |= 1u << static_cast<unsigned>(m);
  }
}

std::shared_ptr<const InspectorData> InspectorData::fromSession(const Session& session) {
  std::vector<std::shared_ptr<const InspectorSegment>> segments;
  for (size_t i = 0; i < session.messages.size(); ++i) {
    const Message& msg = session.messages[i];
    if (!msg.trace || msg.trace->empty()) continue;
    segments.push_back(makeSegment(*msg.trace, msg.token_texts, QString::fromStdString(msg.role),
                                   static_cast<int>(i)));
  }
  return std::make_shared<const InspectorData>(std::move(segments),
                                               QString::fromStdString(session.title));
}

std::shared_ptr<const InspectorData> InspectorData::fromSession(
    const std::shared_ptr<const Session>& session) {
  if (!session) return std::make_shared<const InspectorData>();
  std::vector<std::shared_ptr<const InspectorSegment>> segments;
  for (size_t i = 0; i < session->messages.size(); ++i) {
    const Message& msg = session->messages[i];
    if (!msg.trace || msg.trace->empty()) continue;
    auto seg = std::make_shared<InspectorSegment>();
    seg->message_index = static_cast<int>(i);
    seg->role = QString::fromStdString(msg.role);
    // Aliasing: the trace lives as long as the session does.
    seg->trace = std::shared_ptr<const RoutingTrace>(session, &*msg.trace);
    if (msg.token_texts.size() == msg.trace->n_tokens()) seg->token_texts = msg.token_texts;
    segments.push_back(std::move(seg));
  }
  return std::make_shared<const InspectorData>(std::move(segments),
                                               QString::fromStdString(session->title));
}

std::shared_ptr<const InspectorSegment> InspectorData::makeSegment(
    const RoutingTrace& trace, std::vector<std::string> token_texts, QString role,
    int message_index) {
  auto seg = std::make_shared<InspectorSegment>();
  seg->message_index = message_index;
  seg->role = std::move(role);
  seg->trace = std::make_shared<const RoutingTrace>(trace);
  if (token_texts.size() == trace.n_tokens()) seg->token_texts = std::move(token_texts);
  return seg;
}

std::shared_ptr<const InspectorData> InspectorData::withSegment(
    const std::shared_ptr<const InspectorData>& base, size_t index,
    std::shared_ptr<const InspectorSegment> segment) {
  std::vector<std::shared_ptr<const InspectorSegment>> segments;
  QString title;
  if (base) {
    segments = base->segments_;
    title = base->title_;
  }
  if (index < segments.size())
    segments[index] = std::move(segment);
  else
    segments.push_back(std::move(segment));
  return std::make_shared<const InspectorData>(std::move(segments), std::move(title));
}

uint32_t InspectorData::nExpert() const noexcept {
  return segments_.empty() ? 0 : segments_.front()->trace->n_expert();
}
uint32_t InspectorData::topK() const noexcept {
  return segments_.empty() ? 0 : segments_.front()->trace->top_k();
}
uint32_t InspectorData::nLayers() const noexcept {
  return segments_.empty() ? 0 : segments_.front()->trace->n_moe_layers();
}

bool InspectorData::hasModality(Modality modality) const noexcept {
  return (modality_mask_ >> static_cast<unsigned>(modality)) & 1u;
}

std::string InspectorData::rawText(size_t segment, uint32_t token) const {
  const InspectorSegment& seg = *segments_.at(segment);
  return token < seg.token_texts.size() ? seg.token_texts[token] : std::string();
}

QString InspectorData::displayText(size_t segment, uint32_t token) const {
  const InspectorSegment& seg = *segments_.at(segment);
  const Modality modality = seg.trace->modality(token);
  if (seg.token_texts.size() != seg.trace->n_tokens()) {
    if (modality == Modality::image) return QStringLiteral("[image]");
    if (modality == Modality::video) return QStringLiteral("[video]");
    return QStringLiteral("#%1").arg(seg.trace->token_id(token));
  }
  const std::string& raw = seg.token_texts[token];
  if (raw.empty()) {
    if (modality == Modality::image) return QStringLiteral("[image]");
    if (modality == Modality::video) return QStringLiteral("[video]");
    return QStringLiteral("\u25cc");
  }
  QString out;
  const QString text = QString::fromUtf8(raw.data(), static_cast<qsizetype>(raw.size()));
  out.reserve(text.size());
  bool only_spaces = true;
  for (const QChar c : text) {
    const char16_t u = c.unicode();
    if (u != u' ') only_spaces = false;
    if (u == u'\n')
      out += QChar(0x21b5);
    else if (u == u'\t')
      out += QChar(0x21e5);
    else if (u == u'\r')
      out += QChar(0x240d);
    else if (u < 0x20)
      out += QChar(0x2400 + u);
    else if (u == 0x7f)
      out += QChar(0x2421);
    else if ((u >= 0x202a && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069) || u == 0x200e ||
             u == 0x200f)
      out += QChar(0xfffd);  // bidirectional controls: never applied
    else
      out += c;
  }
  if (only_spaces) out = QString(text.size(), QChar(0x00b7));
  return out;
}

std::optional<size_t> InspectorData::segmentOfMessage(int message_index) const {
  for (size_t s = 0; s < segments_.size(); ++s)
    if (segments_[s]->message_index == message_index) return s;
  return std::nullopt;
}

QString InspectorData::textOfId(int32_t token_id) const {
  for (size_t s = 0; s < segments_.size(); ++s) {
    const auto ids = segments_[s]->trace->token_ids();
    const auto it = std::find(ids.begin(), ids.end(), token_id);
    if (it != ids.end() && segments_[s]->token_texts.size() == ids.size())
      return displayText(s, static_cast<uint32_t>(it - ids.begin()));
  }
  return QStringLiteral("#%1").arg(token_id);
}

std::vector<SegmentPart> InspectorData::resolve(const InspectorSelection& selection) const {
  std::vector<SegmentPart> parts;
  if (selection.segment >= 0) {
    const auto s = static_cast<size_t>(selection.segment);
    if (s >= segments_.size()) return parts;
    const uint32_t n = segments_[s]->trace->n_tokens();
    const uint32_t b = std::min(selection.range.begin, n);
    const uint32_t e = std::min(selection.range.end, n);
    if (b < e) parts.push_back({s, Selection{{b, e}, selection.modality}});
    return parts;
  }
  for (size_t s = 0; s < segments_.size(); ++s) {
    const uint32_t n = segments_[s]->trace->n_tokens();
    const auto [b, e] = clip(selection.range.begin, selection.range.end, offsets_[s], n);
    if (b < e) parts.push_back({s, Selection{{b, e}, selection.modality}});
  }
  return parts;
}

QString InspectorData::describe(const InspectorSelection& selection) const {
  QString what;
  const bool whole = selection.range.begin == 0 && selection.range.end == TokenRange{}.end;
  if (selection.segment < 0) {
    what = whole ? QStringLiteral("whole session")
                 : QStringLiteral("tokens %1\u2013%2 of the session")
                       .arg(selection.range.begin)
                       .arg(std::min<uint64_t>(selection.range.end, total_tokens_) - 1);
  } else if (static_cast<size_t>(selection.segment) < segments_.size()) {
    const InspectorSegment& seg = *segments_[static_cast<size_t>(selection.segment)];
    what = whole ? seg.label()
                 : QStringLiteral("tokens %1\u2013%2 of %3")
                       .arg(selection.range.begin)
                       .arg(std::min(selection.range.end, seg.trace->n_tokens()) - 1)
                       .arg(seg.label());
  } else {
    what = QStringLiteral("nothing");
  }
  if (selection.modality != Modality::unset)
    what += QStringLiteral(", %1 tokens").arg(modalityWord(selection.modality));
  return what;
}

TokenAxis::TokenAxis(const InspectorData& data, const InspectorSelection& selection) {
  for (const SegmentPart& part : data.resolve(selection)) {
    const RoutingTrace& trace = *data.segment(part.segment).trace;
    const uint32_t b = part.selection.range.begin, e = part.selection.range.end;
    if (part.selection.modality == Modality::unset) {
      runs_.push_back({part.segment, b, e, size_});
      size_ += e - b;
      continue;
    }
    const auto modalities = trace.modalities();
    uint32_t t = b;
    while (t < e) {
      while (t < e && modalities[t] != part.selection.modality) ++t;
      const uint32_t start = t;
      while (t < e && modalities[t] == part.selection.modality) ++t;
      if (t > start) {
        runs_.push_back({part.segment, start, t, size_});
        size_ += t - start;
      }
    }
  }
}

size_t TokenAxis::runOf(uint64_t i) const {
  const auto it = std::upper_bound(runs_.begin(), runs_.end(), i,
                                   [](uint64_t v, const Run& r) { return v < r.axis_begin; });
  return static_cast<size_t>(it - runs_.begin()) - 1;
}

TokenAxis::Token TokenAxis::at(uint64_t i) const {
  const Run& r = runs_[runOf(i)];
  return {r.segment, static_cast<uint32_t>(r.begin + (i - r.axis_begin))};
}

std::optional<uint64_t> TokenAxis::indexOf(size_t segment, uint32_t token) const {
  for (const Run& r : runs_) {
    if (r.segment == segment && token >= r.begin && token < r.end)
      return r.axis_begin + (token - r.begin);
  }
  return std::nullopt;
}

}  // namespace es::inspector
