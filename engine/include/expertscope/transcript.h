// Transcripts: a Session (session.h) exported in the forms people use, and a JSON export
// read back. Every function here works on values; write_export() is the one that writes
// files, always through a temporary file and a rename (never half-written). PDF lives in
// the UI layer (ui/pdf), which renders to_html(..., HtmlFlavor::qt_rich_text) with Qt.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/session.h"

namespace es::transcript {

/// The export formats. Zero means "unset".
enum class Format : uint8_t { unset = 0, markdown, html, json, csv, npy, pdf };
/// "md", "html", "json", "csv", "npy", "pdf" (also "markdown") → the format.
[[nodiscard]] std::optional<Format> parse_format(std::string_view name) noexcept;
/// The file name extension of a format, without the dot ("md" for Markdown).
[[nodiscard]] std::string_view extension(Format format) noexcept;

/// The version of the JSON export's "expertscope" object this build writes and reads.
inline constexpr int json_format_version = 1;

/// OpenAI-style JSON: {"object":"expertscope.session","version":1,"title":..,"model":{..},
/// "settings":{..},"created":..,"updated":..,"messages":[{"role":..,"content":..,
/// "expertscope":{"state":..,"n_tokens":..,"timings":{..},"stop_reason":..,"settings":{..},
/// "created":..,"updated":..,"attachments":[{..,"kept_units":..,"data_base64":..}],
/// "routing":{"n_expert":..,"top_k":..,"moe_layers":[..],"full_layer":..,"tokens":[{"id":..,
/// "pos":..,"text":..,"modality":..,"experts":[[..]..],"weights":[[..]..],"entropy":[..],
/// "full_probs":[..]}]}}}]}. "kept_units" (a document cut to fit: Attachment::kept_units)
/// is written only when not 0.
/// Times are ISO 8601 UTC with milliseconds. Settings are written as JSON objects when
/// their text is one in compact form (as nlohmann::json::dump() writes it), otherwise as
/// the text itself, so that both come back unchanged. Weights, entropies and
/// probabilities are written with the fewest digits that read back to the stored half
/// precision (a non-finite one as null, read back as NaN). Token texts go into "text" when
/// there is one per token, else into "expertscope.token_texts". Text that is not valid
/// UTF-8 is written with U+FFFD in place of each invalid sequence. Everything else comes
/// back from from_json() as it was: same_session(s, from_json(to_json(s)), false) holds,
/// and to_json() of that gives the same bytes again.
[[nodiscard]] std::string to_json(const Session& session);
/// Reads what to_json() writes. `source` names the input in errors. Every field is
/// checked (types, ranges, base64, size and SHA-256 of each attachment, the routing's
/// shape and values) before it is used, and nesting is limited to 64 levels; a broken
/// document is an es::Error (bad_input) naming `source` and the field
/// ("x.json: messages[2].expertscope.routing.tokens[5].experts[1][0]: ..."), a newer
/// version one of kind unsupported. Ids of the result are 0.
[[nodiscard]] Session from_json(std::string_view text, std::string_view source);

/// Markdown: YAML front matter (title, model, settings, dates), one section per message,
/// attachments linked as `<attachments_dir>/<file name>` (images as `![name](...)`; the
/// names are those write_export gives the files it copies there: safe on every common
/// file system and unique). Message text is kept as Markdown with raw HTML neutralised
/// (`<` outside code becomes `&lt;`) and links to anything but http(s), mailto, anchors
/// and relative paths made plain text; control characters other than tab and newline are
/// dropped and bidirectional formatting characters shown as marks like ⟨U+202E⟩.
[[nodiscard]] std::string to_markdown(const Session& session, std::string_view attachments_dir);

/// What HTML is for.
enum class HtmlFlavor : uint8_t {
  browser,       ///< Self-contained page: inline CSS, SVG heatmaps, data: URIs, no script.
  qt_rich_text,  ///< The subset QTextDocument renders (no SVG, no CSS variables), for PDF.
};
/// One self-contained HTML page: inline CSS, images as data URIs (only PNG, JPEG, GIF and
/// WebP, recognised by their bytes), no scripts and no network resources (a
/// Content-Security-Policy meta element forbids them too). Each answer with a routing
/// trace gets a layer × expert load heatmap (inline SVG: a row per MoE layer labelled by
/// block index, a column per expert, the colour the fraction of the answer's tokens that
/// selected the expert there) and its text coloured token by token by the rank-0 expert
/// of a chosen MoE layer (radio buttons and CSS only; the middle MoE layer first), each
/// token's tooltip giving its id, position and top expert at every layer. Every piece of
/// user and model text is escaped; control characters and bidirectional formatting
/// characters are shown as visible marks like ⟨U+202E⟩, never applied; invalid UTF-8 as
/// U+FFFD.
///
/// The qt_rich_text flavor is the same content in the HTML subset QTextDocument renders:
/// tokens coloured at the middle MoE layer only, and each heatmap an
/// `<img src="es-heatmap:N">` (N the message's index) that the renderer must supply as an
/// image resource (ui/pdf paints them with heat_colour()).
[[nodiscard]] std::string to_html(const Session& session, HtmlFlavor flavor = HtmlFlavor::browser);

/// The session's routing as CSV (RFC 4180, LF line ends) with a header row:
/// message,role,token,token_id,position,modality,layer,rank,expert,weight — one row per
/// (token, MoE layer, rank) of every message that has a trace: `message` its 0-based
/// index in the session, `token` the token's index in the message's trace, `token_id` its
/// vocabulary id, `layer` the block index, `rank` 0 for the highest weight, `weight` as
/// stored (half precision, shortest digits).
[[nodiscard]] std::string routing_csv(const Session& session);
/// The same rows as a NumPy .npy (format 1.0) one-dimensional structured array of
/// little-endian fields message, token, token_id, position, modality (1 text, 2 image,
/// 3 video), layer, rank, expert (all <i4) and weight (<f4), readable by numpy.load
/// without pickle.
[[nodiscard]] std::vector<uint8_t> routing_npy(const Session& session);

/// The expert load of one message's trace, as its heatmap shows it.
struct LoadHeatmap {
  std::vector<uint32_t> layers;  ///< Block index of each row (the trace's MoE layers).
  uint32_t n_expert = 0;         ///< Columns.
  uint64_t n_tokens = 0;         ///< Tokens counted.
  /// [layer row][expert], row-major: the fraction (0..1) of the tokens that selected the
  /// expert at that layer (each row sums to top_k, or 0 without tokens).
  std::vector<double> fraction;
  double max_fraction = 0.0;  ///< The largest cell, the top of the colour scale.
};
/// The load heatmap of a trace (every token, every modality).
[[nodiscard]] LoadHeatmap load_heatmap(const RoutingTrace& trace);

/// The colour (0xRRGGBB) of a token whose rank-0 expert is `expert`: light enough for
/// dark text, neighbouring ids well apart (the palette repeats only in similarity).
[[nodiscard]] uint32_t expert_colour(uint32_t expert) noexcept;
/// The colour (0xRRGGBB) of a heatmap cell whose load is `fraction` (0..1) of the
/// heatmap's largest: a white-to-dark-blue scale; values outside 0..1 are clamped.
[[nodiscard]] uint32_t heat_colour(double fraction) noexcept;

/// Writes `session` as `format` to `out` atomically: a temporary file in the same folder,
/// flushed to disk (fsync), then renamed over `out`, so that `out` is either the old file
/// or the whole new one; nothing is left behind on failure. Markdown first writes the
/// attachments that have data to "<out stem>.files/" beside it (each atomically; files of
/// an earlier export there are replaced, others left alone). An es::Error (io) names the
/// path the system refused; PDF is an es::Error (unsupported) here: the UI layer
/// (ui/pdf) provides it.
void write_export(const Session& session, Format format, const std::filesystem::path& out);

}  // namespace es::transcript
