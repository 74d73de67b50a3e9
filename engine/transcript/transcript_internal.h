// Pieces the exporters share: UTF-8 decoding and sanitising, HTML / YAML / CSV escaping,
// base64, the shortest text of a half-precision value, colours, attachment file names.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/session.h"
#include "expertscope/transcript.h"

namespace es::transcript::detail {

// ---------------------------------------------------------------------------------------
// UTF-8.

/// The replacement character U+FFFD that stands for every invalid UTF-8 sequence.
inline constexpr char32_t replacement_char = 0xfffd;

/// Decodes the code point at `text[i]`, advancing `i` past it. An invalid sequence (a
/// stray continuation byte, a truncated or overlong sequence, a surrogate, a value above
/// U+10FFFF) gives U+FFFD and advances by its maximal valid prefix (at least one byte), as
/// the Unicode standard recommends.
[[nodiscard]] char32_t next_code_point(std::string_view text, size_t& i) noexcept;

/// Appends the UTF-8 encoding of a code point (< U+110000, not a surrogate).
void append_utf8(std::string& out, char32_t c);

/// `text` with every invalid sequence replaced by U+FFFD (valid UTF-8 comes back as is).
[[nodiscard]] std::string valid_utf8(std::string_view text);

/// True for code points that must never take effect unseen in an export: C0 controls
/// other than tab and line feed, DEL, C1 controls, and the bidirectional formatting
/// characters (U+061C, U+200E/F, U+202A..U+202E, U+2066..U+2069).
[[nodiscard]] bool is_hidden_control(char32_t c) noexcept;

/// The visible mark that stands for a hidden control: "⟨U+202E⟩".
[[nodiscard]] std::string control_mark(char32_t c);

// ---------------------------------------------------------------------------------------
// Escaping.

/// How HTML escaping shows hidden controls.
enum class Marks : uint8_t {
  text = 1,  ///< As the plain text "⟨U+202E⟩" (inside attributes).
  span = 2,  ///< As <span class="cc">⟨U+202E⟩</span> (element content of the browser page).
};

/// Appends `text` escaped for HTML element content or a quoted attribute value: & < > " '
/// as character references, invalid UTF-8 as U+FFFD, hidden controls as marks, a carriage
/// return before a line feed dropped, and (when `newline_ref`) a line feed as "&#10;".
void append_html(std::string& out, std::string_view text, Marks marks, bool newline_ref = false);
/// append_html into a new string, marks as text.
[[nodiscard]] std::string html_escape(std::string_view text);

/// A YAML double-quoted scalar (also a JSON string literal): valid UTF-8, " and \ escaped,
/// every control and bidirectional formatting character as \uXXXX, and '<' as \u003C (a
/// viewer that shows front matter as Markdown must not meet a tag in it).
[[nodiscard]] std::string yaml_quote(std::string_view text);

/// A CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; a leading = + - @
/// tab or CR prefixed with ' so that spreadsheets do not take it for a formula; invalid
/// UTF-8 as U+FFFD.
[[nodiscard]] std::string csv_field(std::string_view text);

// ---------------------------------------------------------------------------------------
// Base64 (standard alphabet, padded, no line breaks) via OpenSSL.

[[nodiscard]] std::string base64_encode(std::span<const uint8_t> bytes);
/// Nothing when `text` is not canonical padded base64 (whitespace is not accepted).
[[nodiscard]] std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

// ---------------------------------------------------------------------------------------
// Numbers.

/// The fewest significant digits (locale-independent, like "0.3125" or "1e-05") that read
/// back, as a float or as a double narrowed to float, to the IEEE half `h`; "nan", "inf"
/// or "-inf" for the non-finite halves.
[[nodiscard]] std::string_view half_text(uint16_t h);
/// The double that half_text(h) reads as, so that a JSON writer printing the shortest
/// round-trip form of a double prints half_text(h). NaN for the non-finite halves.
[[nodiscard]] double half_json_value(uint16_t h);
/// The IEEE half nearest to `value` (the rounding RoutingTrace applies when storing).
[[nodiscard]] uint16_t to_half(float value) noexcept;

/// "1.5 KiB", "12 bytes", "3.2 MiB".
[[nodiscard]] std::string human_bytes(uint64_t bytes);
/// For a document cut to fit the context (Attachment::kept_units), what reached the model:
/// "only its first 12 pages reached the model" (a PDF) or "... 1234 lines ..." (text);
/// "" for a whole attachment.
[[nodiscard]] std::string kept_note(const Attachment& a);
/// "#rrggbb" for 0xRRGGBB.
[[nodiscard]] std::string hex_colour(uint32_t rgb);

// ---------------------------------------------------------------------------------------
// Sessions.

/// The image type of `bytes` judged by their signature (never by a claimed MIME type):
/// "image/png", "image/jpeg", "image/gif" or "image/webp"; "" for anything else.
[[nodiscard]] std::string_view sniff_image_type(std::span<const uint8_t> bytes) noexcept;

/// True when the message's token texts can be shown token by token: it has a trace with
/// tokens and as many token texts.
[[nodiscard]] bool has_token_texts(const Message& message) noexcept;

/// The file name each attachment of a session gets in a Markdown export's attachment
/// folder, [message][attachment]: the user's base name made safe on every common file
/// system (no directories, controls, bidirectional marks, reserved characters or names,
/// leading dots; at most 120 bytes with the extension kept), made unique ignoring case;
/// an attachment with the same content and name as an earlier one shares its file.
[[nodiscard]] std::vector<std::vector<std::string>> attachment_file_names(const Session& session);

/// Pixel dimensions of an image.
struct ImageSize {
  uint32_t width = 0;
  uint32_t height = 0;
};
/// The dimensions in the header of a PNG, GIF, JPEG or WebP image; nothing when the bytes
/// are none of these or the header is cut short.
[[nodiscard]] std::optional<ImageSize> image_size(std::span<const uint8_t> bytes) noexcept;

/// "2026-11-29 06:40:19 UTC" for Unix milliseconds.
[[nodiscard]] std::string human_time(int64_t unix_ms);

/// The MoE index whose colouring an export shows by default: the middle MoE layer.
[[nodiscard]] inline uint32_t default_moe_index(const RoutingTrace& trace) noexcept {
  return trace.n_moe_layers() / 2;
}

// ---------------------------------------------------------------------------------------
// HTML routing views (transcript_html_routing.cpp).

/// The CSS rules that make the layer switches of a session's browser page work: the
/// checked layer's label, legend and heatmap row, and per (MoE index m, expert e) that is
/// some shown token's rank-0 choice, the colour of tokens of class "k<m>-<e>".
[[nodiscard]] std::string layer_switch_css(const Session& session);

/// Appends the routing view of message `index` (which has a trace with a shape): for the
/// browser the layer switch, the text coloured token by token (when `with_tokens`; the
/// message's token texts), the top experts of each layer and the SVG heatmap; for Qt the
/// tokens coloured at the default layer and the heatmap as an "es-heatmap:<index>" image.
void append_routing_view(std::string& out, const Message& message, size_t index, bool with_tokens,
                         HtmlFlavor flavor);

}  // namespace es::transcript::detail
