// Routing traces: the routing of every token of a session at every MoE layer, kept
// compactly in memory, with random access, a versioned binary form (the store compresses
// and saves it), statistics over any selection of tokens, and the routing JSON of
// DESIGN.md's command-line contract.
//
// Storage, per trace of N tokens, L MoE layers, top-k K, E experts (B = bits for an
// expert id = max(1, ceil(log2 E)): 6 for 64 experts, 8 for 256, 9 for Kimi-K2's 384):
//
//   token ids, positions   int32 each              8 bytes per token
//   modality               uint8                   1 byte per token
//   expert ids             B bits, bit-packed      B/8 bytes per (token, layer, rank)
//   weights                IEEE binary16 (half)    2 bytes per (token, layer, rank)
//   router entropy         IEEE binary16           2 bytes per (token, layer)
//   full distribution      IEEE binary16           2 bytes per (token, expert), optional
//
// so a (token, layer, selected expert) costs B/8 + 2 + 2/K + 9/(L*K) bytes: 3.07 for
// OLMoE's 16 layers of 8-of-64, 3.39 for Kimi-K2's 61 layers of 8-of-384, 3.52 for
// Mixtral's 32 layers of 2-of-8 — under 4 for every model DESIGN.md lists (a top-1
// router would cost more: its entropy alone is 2 bytes). Halves keep weights to a
// relative 2^-11.
//
// Layers are addressed by their MoE index m (0 .. n_moe_layers()-1); moe_layers()[m] is
// the block index the JSON and the UI show. Every accessor checks its arguments and
// throws es::Error (ErrorKind::usage) when one is out of range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/routing.h"

namespace es {

/// "text", "image", "video", or "unset" for anything else.
[[nodiscard]] std::string_view modality_name(Modality modality) noexcept;

/// What every batch of one trace shares.
struct TraceShape {
  uint32_t n_expert = 0;             ///< Experts per MoE layer, 1 .. 65536.
  uint32_t top_k = 0;                ///< Experts selected per token and layer, 1 .. 16.
  std::vector<uint32_t> moe_layers;  ///< Block indices of the MoE layers, strictly ascending.
  /// Block index (one of moe_layers) whose full router distribution is kept; -1: none.
  int32_t full_layer = -1;

  bool operator==(const TraceShape&) const = default;
};

/// A half-open range [begin, end) of token indices of a trace. `end` is clamped to the
/// trace's length, so the default range is the whole trace.
struct TokenRange {
  uint32_t begin = 0;
  uint32_t end = std::numeric_limits<uint32_t>::max();
};

/// The tokens a statistic looks at: those of `range` whose modality is `modality`
/// (Modality::unset: every modality).
struct Selection {
  TokenRange range;
  Modality modality = Modality::unset;
};

/// The routing of a whole session. Append batches as the forward pass produces them;
/// read any token back; serialise; compute statistics with the free functions below.
/// Not thread-safe for writing; const members may be called from several threads.
class RoutingTrace {
 public:
  /// An empty trace whose shape is taken from the first batch appended (which then keeps
  /// its full distribution, if it carries one).
  RoutingTrace() = default;
  /// An empty trace of the given shape. Throws es::Error (usage) for an invalid shape.
  explicit RoutingTrace(TraceShape shape);

  /// Appends one batch: its routing, and per token its id, position and modality. The
  /// spans must all hold batch.n_tokens entries. The batch must have the trace's
  /// n_expert, top_k and moe_layers; when the trace keeps a full distribution the batch
  /// must carry it for the same layer (a batch's distribution the trace does not keep is
  /// ignored). Expert ids must be < n_expert and distinct per (token, layer), token ids
  /// and positions >= 0, modalities text/image/video. Everything is checked before
  /// anything is stored: on es::Error the trace is unchanged.
  void append(const RoutingBatch& batch, std::span<const int32_t> token_ids,
              std::span<const int32_t> positions, std::span<const Modality> modalities);
  /// The same, with one modality for every token of the batch.
  void append(const RoutingBatch& batch, std::span<const int32_t> token_ids,
              std::span<const int32_t> positions, Modality modality);
  /// Makes room for `n_tokens` tokens in all (a trace with a shape), so that appending up
  /// to that many allocates nothing, e.g. before a generation of known maximum length.
  void reserve(uint32_t n_tokens);
  /// Keeps the first `n_tokens` tokens (no-op if the trace is not longer), e.g. when a
  /// generation is rolled back.
  void truncate(uint32_t n_tokens);
  /// Removes every token; the shape stays.
  void clear() { truncate(0); }

  // Shape.
  /// True once the trace has a shape (constructed with one, or after the first append).
  [[nodiscard]] bool has_shape() const noexcept { return shape_.n_expert != 0; }
  [[nodiscard]] const TraceShape& shape() const noexcept { return shape_; }
  [[nodiscard]] uint32_t n_expert() const noexcept { return shape_.n_expert; }
  [[nodiscard]] uint32_t top_k() const noexcept { return shape_.top_k; }
  [[nodiscard]] uint32_t n_moe_layers() const noexcept {
    return static_cast<uint32_t>(shape_.moe_layers.size());
  }
  /// Block indices of the MoE layers.
  [[nodiscard]] std::span<const uint32_t> moe_layers() const noexcept { return shape_.moe_layers; }
  /// The MoE index m of block `block`, or nothing if that block is not an MoE layer.
  [[nodiscard]] std::optional<uint32_t> moe_index(uint32_t block) const noexcept;
  /// True when the trace keeps the full router distribution of shape().full_layer.
  [[nodiscard]] bool has_full_probs() const noexcept { return shape_.full_layer >= 0; }
  /// Bits per stored expert id (max(1, ceil(log2 n_expert))).
  [[nodiscard]] uint32_t expert_bits() const noexcept { return expert_bits_; }

  // Tokens.
  [[nodiscard]] uint32_t n_tokens() const noexcept {
    return static_cast<uint32_t>(token_ids_.size());
  }
  [[nodiscard]] bool empty() const noexcept { return token_ids_.empty(); }
  /// Every token id, position and modality, in order (views valid until the next change).
  [[nodiscard]] std::span<const int32_t> token_ids() const noexcept { return token_ids_; }
  [[nodiscard]] std::span<const int32_t> positions() const noexcept { return positions_; }
  [[nodiscard]] std::span<const Modality> modalities() const noexcept { return modalities_; }
  [[nodiscard]] int32_t token_id(uint32_t token) const;
  [[nodiscard]] int32_t position(uint32_t token) const;
  [[nodiscard]] Modality modality(uint32_t token) const;

  // Routing of one token.
  /// The expert of rank `rank` (0 = highest weight) at MoE layer m.
  [[nodiscard]] uint16_t expert(uint32_t token, uint32_t m, uint32_t rank) const;
  /// Its weight as finally applied (rounded to half precision).
  [[nodiscard]] float weight(uint32_t token, uint32_t m, uint32_t rank) const;
  /// Router entropy (nats) of the token at MoE layer m (rounded to half precision).
  [[nodiscard]] float entropy(uint32_t token, uint32_t m) const;
  /// Writes the top_k experts and weights of (token, m) to the spans (each of top_k
  /// entries); allocates nothing.
  void routing(uint32_t token, uint32_t m, std::span<uint16_t> experts,
               std::span<float> weights) const;
  /// The full-distribution probability of `expert` for the token at full_layer. Throws
  /// es::Error (usage) if the trace keeps no distribution.
  [[nodiscard]] float full_prob(uint32_t token, uint32_t expert) const;
  /// Decodes a range of tokens back into a RoutingBatch (weights, entropies and the
  /// distribution as stored, i.e. rounded to half precision).
  [[nodiscard]] RoutingBatch batch(TokenRange range = {}) const;

  /// Bytes the stored arrays occupy (their sizes, not the vectors' spare capacity).
  [[nodiscard]] size_t storage_bytes() const noexcept;

  // Serialisation.
  /// The versioned binary form (layout in trace_serialize.cpp; little-endian, ends with a
  /// 64-bit checksum of everything before it). Not compressed.
  [[nodiscard]] std::vector<uint8_t> serialize() const;
  /// Reads what serialize() wrote. Every count and length is checked against the bytes
  /// before anything is allocated, the checksum and every stored value are verified; a
  /// corrupt, truncated or foreign blob is an es::Error (bad_input) naming the problem,
  /// a newer format version one of kind unsupported.
  [[nodiscard]] static RoutingTrace deserialize(std::span<const uint8_t> bytes);

  /// The serialisation format version this build writes (and the newest it reads).
  static constexpr uint32_t format_version = 1;

 private:
  friend struct TraceAccess;   // internal helpers of engine/trace
  friend struct TraceBuilder;  // deserialisation

  void set_shape(TraceShape shape);
  /// Checks a batch and stores everything but the modalities.
  void append_routing(const RoutingBatch& batch, std::span<const int32_t> token_ids,
                      std::span<const int32_t> positions, size_t n_modalities);
  void check_token(uint32_t token) const;
  void check_layer(uint32_t m) const;
  void check_rank(uint32_t rank) const;
  [[nodiscard]] size_t slot(uint32_t token, uint32_t m, uint32_t rank) const noexcept {
    return (static_cast<size_t>(token) * shape_.moe_layers.size() + m) * shape_.top_k + rank;
  }

  TraceShape shape_;
  uint32_t expert_bits_ = 0;
  std::vector<int32_t> token_ids_;
  std::vector<int32_t> positions_;
  std::vector<Modality> modalities_;
  std::vector<uint8_t> expert_bits_data_;  ///< Bit-packed ids, LSB first, expert_bits_ each.
  std::vector<uint16_t> weights_;          ///< Half bits, [token][m][rank].
  std::vector<uint16_t> entropy_;          ///< Half bits, [token][m].
  std::vector<uint16_t> full_probs_;       ///< Half bits, [token][expert]; empty if not kept.
};

// ---------------------------------------------------------------------------------------
// Statistics. Each takes a Selection (default: every token) and throws es::Error (usage)
// for a selection whose begin lies past its end or past the trace, or an MoE index out of
// range. An empty selection gives zero counts and zero means.

/// The load of one MoE layer.
struct LayerLoad {
  uint32_t layer = 0;               ///< Block index.
  uint64_t n_tokens = 0;            ///< Tokens counted.
  std::vector<uint64_t> counts;     ///< [n_expert]: tokens that selected each expert.
  std::vector<double> weight_sums;  ///< [n_expert]: summed weights applied to each expert.
  /// Coefficient of variation of `counts` (population standard deviation / mean); 0 is a
  /// perfect balance. 0 for an empty selection.
  double cv = 0.0;
  /// H(counts / sum) / log(n_expert): 1 is a perfect balance, 0 one expert takes all. 0 for
  /// an empty selection, 1 when n_expert is 1.
  double normalized_entropy = 0.0;
};

/// Per-layer expert load and balance, one entry per MoE layer.
[[nodiscard]] std::vector<LayerLoad> expert_load(const RoutingTrace& trace,
                                                 const Selection& selection = {});

/// Co-activation counts at MoE layer m: an n_expert x n_expert row-major symmetric
/// matrix, entry (i, j) the number of selected tokens for which i and j were both
/// selected; the diagonal (i, i) counts the tokens that selected i. Throws es::Error
/// (usage) above 2048 experts (the matrix would take more than 32 MiB).
[[nodiscard]] std::vector<uint64_t> coactivation(const RoutingTrace& trace, uint32_t m,
                                                 const Selection& selection = {});

/// How much consecutive tokens share experts.
struct AdjacentOverlap {
  /// Per MoE layer: mean over pairs of |S_t ∩ S_t+1| / top_k, in [0, 1].
  std::vector<double> mean_overlap;
  /// Pairs counted: tokens t, t+1 (consecutive in the trace) both in the selection.
  uint64_t n_pairs = 0;
};
[[nodiscard]] AdjacentOverlap adjacent_overlap(const RoutingTrace& trace,
                                               const Selection& selection = {});

/// Mean router entropy (nats) per MoE layer over the selection.
[[nodiscard]] std::vector<double> mean_entropy(const RoutingTrace& trace,
                                               const Selection& selection = {});

/// One token of an expert's vocabulary.
struct VocabEntry {
  int32_t token_id = 0;
  uint64_t count = 0;        ///< Times this token was routed to the expert.
  double mean_weight = 0.0;  ///< Mean weight the expert got for it.
};

/// The token ids routed to `expert` at MoE layer m most often, by descending count (ties:
/// ascending id), at most `max_entries` of them (0: all).
[[nodiscard]] std::vector<VocabEntry> expert_vocabulary(const RoutingTrace& trace, uint32_t m,
                                                        uint32_t expert,
                                                        const Selection& selection = {},
                                                        size_t max_entries = 32);

// ---------------------------------------------------------------------------------------
// Routing JSON.

/// Gives a token's text (the tokenizer lives elsewhere). Any bytes: invalid UTF-8 is
/// written as U+FFFD.
using TokenTextFn = std::function<std::string(int32_t token_id)>;

/// What write_routing_json writes.
struct RoutingJsonOptions {
  TokenRange range;              ///< Tokens to write (default: all).
  bool include_entropy = false;  ///< Add "entropy" (nats) to each routing entry.
};

/// Streams DESIGN.md's routing JSON to `out`, one token object per line:
/// {"n_expert":E,"top_k":K,"moe_layers":[...],"tokens":[{"pos":0,"id":..,"text":"..",
/// "modality":"text","routing":[{"layer":L,"experts":[...],"weights":[...]}]}]}.
/// `layer` is the block index; weights are written with the fewest digits that read back
/// to the stored half (a non-finite weight as null). `text` may be empty: every text is
/// then "". Throws es::Error (usage) for a bad range, (io) if the stream fails.
void write_routing_json(std::ostream& out, const RoutingTrace& trace, const TokenTextFn& text,
                        const RoutingJsonOptions& options = {});

}  // namespace es
