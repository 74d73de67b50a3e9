// What the Routing Inspector looks at: a list of segments (one per message that has a
// routing trace), each an immutable, shared RoutingTrace and the text of its tokens, and
// selections over them (one message, the whole session, a token range, one modality).
//
// Everything here is immutable once built and handed around as std::shared_ptr<const ...>,
// so the inspector's worker threads read it while the UI thread builds the next version
// (a streaming answer: a new InspectorData sharing every segment but the last).
#pragma once

#include <QString>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "expertscope/session.h"
#include "expertscope/trace.h"

namespace es::inspector {

/// One message's routing: its trace and token texts.
struct InspectorSegment {
  int message_index = -1;  ///< Index of the message in its session (-1: not from a session).
  QString role;            ///< "user", "assistant", "system" (shown in labels).
  std::shared_ptr<const RoutingTrace> trace;  ///< Never null in an InspectorData.
  /// The text of each token (same count as the trace has tokens), or empty when unknown
  /// (tokens are then shown by id).
  std::vector<std::string> token_texts;

  /// "#3 assistant" (or "segment" without a message index).
  [[nodiscard]] QString label() const;
};

/// Which tokens a view looks at.
struct InspectorSelection {
  /// The segment the range refers to; -1: every segment, `range` then in global token
  /// indices (segment after segment, as InspectorData::globalIndex counts).
  int segment = -1;
  TokenRange range;                     ///< Token indices, end clamped to what exists.
  Modality modality = Modality::unset;  ///< Only tokens of this modality (unset: all).

  /// Same segment, range and modality.
  bool operator==(const InspectorSelection& o) const {
    return segment == o.segment && range.begin == o.range.begin && range.end == o.range.end &&
           modality == o.modality;
  }
};

/// A selection resolved to one segment: the segment's index and the engine Selection of
/// its tokens.
struct SegmentPart {
  size_t segment = 0;   ///< Index into the InspectorData's segments.
  Selection selection;  ///< Segment-local tokens and the modality filter.
};

/// The segments of one session (or any list of traces) and their global token numbering.
/// Segments whose trace has no shape, or a shape other than the first shaped one's (another
/// model), are dropped when the data is built: every segment of an InspectorData has
/// shape().
class InspectorData {
 public:
  /// An empty data set (no segments, no shape).
  InspectorData() = default;
  /// Takes the segments (dropping null, shapeless and foreign-shaped ones) and numbers
  /// their tokens globally.
  explicit InspectorData(std::vector<std::shared_ptr<const InspectorSegment>> segments,
                         QString title = {});

  /// Every message of `session` that has a non-empty routing trace, in order. Copies the
  /// traces.
  [[nodiscard]] static std::shared_ptr<const InspectorData> fromSession(const Session& session);
  /// The same for a shared session: the segments share its traces (no copy), so showing
  /// a loaded session on the UI thread costs no more than its token texts.
  [[nodiscard]] static std::shared_ptr<const InspectorData> fromSession(
      const std::shared_ptr<const Session>& session);
  /// One segment made of `trace` (copied) and its token texts.
  [[nodiscard]] static std::shared_ptr<const InspectorSegment> makeSegment(
      const RoutingTrace& trace, std::vector<std::string> token_texts, QString role = {},
      int message_index = -1);
  /// `base` with segment `index` replaced by `segment` (appended when index is
  /// base->segmentCount()), every other segment shared — cheap enough to call for every
  /// streamed batch of an answer.
  [[nodiscard]] static std::shared_ptr<const InspectorData> withSegment(
      const std::shared_ptr<const InspectorData>& base, size_t index,
      std::shared_ptr<const InspectorSegment> segment);

  /// Shown above the views (e.g. the session's title).
  [[nodiscard]] const QString& title() const noexcept { return title_; }
  /// Number of segments.
  [[nodiscard]] size_t segmentCount() const noexcept { return segments_.size(); }
  /// Segment `i` (< segmentCount()).
  [[nodiscard]] const InspectorSegment& segment(size_t i) const { return *segments_.at(i); }
  /// The shared pointer of segment `i` (its identity keys caches).
  [[nodiscard]] const std::shared_ptr<const InspectorSegment>& segmentPtr(size_t i) const {
    return segments_.at(i);
  }
  /// True when there is at least one segment (and so a shape).
  [[nodiscard]] bool hasShape() const noexcept { return !segments_.empty(); }
  /// The routing shape every segment shares. Only valid when hasShape().
  [[nodiscard]] const TraceShape& shape() const { return segments_.front()->trace->shape(); }
  /// Experts per MoE layer (0 without a shape).
  [[nodiscard]] uint32_t nExpert() const noexcept;
  /// Experts selected per token and layer (0 without a shape).
  [[nodiscard]] uint32_t topK() const noexcept;
  /// MoE layers (0 without a shape).
  [[nodiscard]] uint32_t nLayers() const noexcept;
  /// Tokens of every segment together.
  [[nodiscard]] uint64_t totalTokens() const noexcept { return total_tokens_; }
  /// The global index of the first token of segment `i` (totalTokens() for i == count).
  [[nodiscard]] uint64_t segmentOffset(size_t i) const { return offsets_.at(i); }
  /// The global index of (segment, token).
  [[nodiscard]] uint64_t globalIndex(size_t segment, uint32_t token) const {
    return offsets_.at(segment) + token;
  }
  /// Which modalities occur at all.
  [[nodiscard]] bool hasModality(Modality modality) const noexcept;

  /// The text of a token as the views show it: whitespace and control characters made
  /// visible (newline ↵, tab ⇥, other controls as U+2400 pictures), "#id" when the
  /// segment has no texts, "◌" for an empty text (a token ending inside a character),
  /// "[image]" / "[video]" for media tokens without text.
  [[nodiscard]] QString displayText(size_t segment, uint32_t token) const;
  /// The raw text of a token (empty when unknown).
  [[nodiscard]] std::string rawText(size_t segment, uint32_t token) const;
  /// The index of the segment of message `message_index` (as InspectorSegment keeps it),
  /// if there is one: the chat knows messages, showTokenPath() takes segments.
  [[nodiscard]] std::optional<size_t> segmentOfMessage(int message_index) const;
  /// A text for a token id: the first token of any segment with that id, or "#id".
  [[nodiscard]] QString textOfId(int32_t token_id) const;

  /// The parts of `selection`, one per segment it touches (segments without a token in
  /// its range are left out; a modality filter is carried into each part). An empty
  /// vector for a selection that selects nothing.
  [[nodiscard]] std::vector<SegmentPart> resolve(const InspectorSelection& selection) const;
  /// A short description: "#3 assistant", "whole session", "tokens 10–20 of #3 assistant",
  /// with ", image tokens" for a modality filter.
  [[nodiscard]] QString describe(const InspectorSelection& selection) const;

 private:
  std::vector<std::shared_ptr<const InspectorSegment>> segments_;
  std::vector<uint64_t> offsets_{0};  ///< segment count + 1 entries.
  uint64_t total_tokens_ = 0;
  uint32_t modality_mask_ = 0;  ///< Bit (1 << modality) for each modality present.
  QString title_;
};

/// The tokens of a selection laid end to end: the x axis of the token views. Runs of
/// consecutive selected tokens of one segment; index i of the axis is token
/// runs[r].begin + (i - runs[r].axis_begin) of segment runs[r].segment.
class TokenAxis {
 public:
  /// One run of consecutive selected tokens.
  struct Run {
    size_t segment = 0;       ///< Index into the data's segments.
    uint32_t begin = 0;       ///< First token (segment-local).
    uint32_t end = 0;         ///< One past the last.
    uint64_t axis_begin = 0;  ///< Axis index of `begin`.
  };
  /// A token of the axis.
  struct Token {
    size_t segment = 0;  ///< Index into the data's segments.
    uint32_t token = 0;  ///< Segment-local token index.
  };

  /// An empty axis.
  TokenAxis() = default;
  /// The axis of `selection` over `data`.
  TokenAxis(const InspectorData& data, const InspectorSelection& selection);

  /// Tokens on the axis.
  [[nodiscard]] uint64_t size() const noexcept { return size_; }
  /// True when the selection selects nothing.
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// The runs, in axis order.
  [[nodiscard]] const std::vector<Run>& runs() const noexcept { return runs_; }
  /// The token at axis index `i` (< size()).
  [[nodiscard]] Token at(uint64_t i) const;
  /// The index of the run holding axis index `i` (< size()).
  [[nodiscard]] size_t runOf(uint64_t i) const;
  /// The axis index of (segment, token), or nothing when it is not on the axis.
  [[nodiscard]] std::optional<uint64_t> indexOf(size_t segment, uint32_t token) const;

 private:
  std::vector<Run> runs_;
  uint64_t size_ = 0;
};

}  // namespace es::inspector
