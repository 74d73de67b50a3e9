// The stored form of a message's routing trace and token texts (Store::trace_encoding).
//
// Encoding 1 is one zstd frame (with its content checksum) of a column-split payload, laid
// out so that zstd's entropy coder sees bytes of like meaning together:
//
//   "ESTC" u32 version(1) u32 N u32 E u32 K u32 L i32 full_layer u32 moe_layers[L]
//   i32 token_ids[N]
//   i32 position deltas[N]     positions[i] - positions[i-1] - 1 (first: positions[0])
//   u8  modality[N]
//   expert ids [N][L][K]       u8 each when E <= 256, else u16 as two planes (low, high)
//   weights [N][L][K]          binary16 bit patterns, each rank after the first stored as
//                              (previous rank - this rank) mod 2^16 — weights descend, so
//                              the differences are small — then split into a low-byte
//                              plane and a high-byte plane
//   entropy [N][L]             binary16, (this - same layer of the previous token)
//                              mod 2^16, two planes
//   full distribution [N][E]   binary16, two planes (only when kept)
//   u32 n_texts, u32 lengths[n_texts], text bytes
//
// Decoding checks every count against the bytes and rebuilds the trace through
// RoutingTrace::append, which validates every value; anything wrong is an es::Error
// (bad_input) naming `what`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/trace.h"

namespace es::store_detail {

/// A decoded trace with its token texts.
struct DecodedTrace {
  RoutingTrace trace;
  std::vector<std::string> token_texts;
};

/// The zstd level encoding 1 uses (fast, and within a few percent of level 19 on traces).
inline constexpr int trace_zstd_level = 6;

/// Encodes a trace and its token texts (empty, or one per token).
[[nodiscard]] std::vector<uint8_t> encode_trace(const RoutingTrace& trace,
                                                std::span<const std::string> token_texts);
/// Decodes what encode_trace wrote. `what` names the thing in errors ("message 12").
[[nodiscard]] DecodedTrace decode_trace(std::span<const uint8_t> bytes, uint32_t encoding,
                                        std::string_view what);

}  // namespace es::store_detail
