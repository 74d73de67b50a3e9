// The routing views of the HTML export: the CSS-only layer switch, the text coloured
// token by token by each token's rank-0 expert, the most frequent top experts of each
// layer, and the layer × expert load heatmap (inline SVG; an image resource for Qt).
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>

#include "expertscope/transcript.h"
#include "transcript_internal.h"

namespace es::transcript::detail {

namespace {

/// Heatmaps with more cells than this get no per-cell tooltips (they would dominate the
/// file: Kimi-K2's 61 layers × 384 experts are 23,424 cells).
constexpr size_t kMaxCellTitles = 4096;
/// Experts listed per layer in the legend.
constexpr size_t kLegendExperts = 8;

std::string fmt(const char* format, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string percent(double fraction) {
  return fmt(fraction >= 0.1 || fraction == 0 ? "%.0f%%" : "%.1f%%", fraction * 100.0);
}

/// Colours of the experts met so far, as "#rrggbb".
class Palette {
 public:
  explicit Palette(uint32_t n_expert) : colours_(n_expert) {}
  const std::string& operator[](uint32_t e) {
    if (colours_[e].empty()) colours_[e] = hex_colour(expert_colour(e));
    return colours_[e];
  }

 private:
  std::vector<std::string> colours_;
};

/// Per MoE layer, how often each expert was a token's rank-0 choice.
std::vector<std::vector<uint32_t>> top_counts(const RoutingTrace& t) {
  std::vector<std::vector<uint32_t>> counts(t.n_moe_layers(), std::vector<uint32_t>(t.n_expert()));
  for (uint32_t token = 0; token < t.n_tokens(); ++token)
    for (uint32_t m = 0; m < t.n_moe_layers(); ++m) ++counts[m][t.expert(token, m, 0)];
  return counts;
}

/// The experts of `counts` by descending count (ties: lower id), at most `n`, none at 0.
std::vector<uint32_t> most_frequent(const std::vector<uint32_t>& counts, size_t n) {
  std::vector<uint32_t> ids(counts.size());
  std::iota(ids.begin(), ids.end(), 0u);
  const size_t k = std::min(n, ids.size());
  std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(k), ids.end(),
                    [&](uint32_t a, uint32_t b) {
                      return counts[a] != counts[b] ? counts[a] > counts[b] : a < b;
                    });
  ids.resize(k);
  while (!ids.empty() && counts[ids.back()] == 0) ids.pop_back();
  return ids;
}

/// A token's tooltip: its index, id, position (and modality), then its top expert and
/// weight at every MoE layer, four layers to a line.
std::string token_title(const RoutingTrace& t, uint32_t token) {
  std::string title = "token " + std::to_string(token) + " \xc2\xb7 id " +
                      std::to_string(t.token_ids()[token]) + " \xc2\xb7 pos " +
                      std::to_string(t.positions()[token]);
  if (t.modalities()[token] != Modality::text) {
    title += " \xc2\xb7 ";
    title += modality_name(t.modalities()[token]);
  }
  for (uint32_t m = 0; m < t.n_moe_layers(); ++m) {
    title += m % 4 == 0 ? "&#10;" : "   ";
    char buf[64];
    std::snprintf(buf, sizeof buf, "L%u\xe2\x86\x92%u (%.2f)", t.moe_layers()[m],
                  static_cast<unsigned>(t.expert(token, m, 0)),
                  static_cast<double>(t.weight(token, m, 0)));
    title += buf;
  }
  return title;
}

// ---------------------------------------------------------------------------------------
// Browser.

void layer_bar(std::string& out, const RoutingTrace& t, const std::string& id) {
  const uint32_t def = default_moe_index(t);
  for (uint32_t m = 0; m < t.n_moe_layers(); ++m) {
    const std::string input = id + "-l" + std::to_string(m);
    out += "<input type=\"radio\" class=\"ls l" + std::to_string(m) + "\" name=\"" + id +
           "-layer\" id=\"" + input + "\" aria-label=\"layer " + std::to_string(t.moe_layers()[m]) +
           "\"" + (m == def ? " checked" : "") + ">";
  }
  out += "\n<div class=\"bar\"><b>Colour by the top expert at layer</b>";
  for (uint32_t m = 0; m < t.n_moe_layers(); ++m) {
    out += "<label for=\"" + id + "-l" + std::to_string(m) + "\" class=\"l" + std::to_string(m) +
           "\">" + std::to_string(t.moe_layers()[m]) + "</label>";
  }
  out += "</div>\n";
}

void browser_tokens(std::string& out, const Message& msg) {
  const RoutingTrace& t = *msg.trace;
  out += "<div class=\"text tokens\" dir=\"auto\">";
  for (uint32_t token = 0; token < t.n_tokens(); ++token) {
    const std::string& text = msg.token_texts[token];
    if (text.empty()) continue;  // a piece of a character the next token completes
    out += "<span class=\"t";
    for (uint32_t m = 0; m < t.n_moe_layers(); ++m) {
      out += " k" + std::to_string(m) + "-" + std::to_string(t.expert(token, m, 0));
    }
    out += "\" title=\"" + token_title(t, token) + "\">";
    append_html(out, text, Marks::span);
    out += "</span>";
  }
  out += "</div>\n";
}

void browser_legends(std::string& out, const RoutingTrace& t, Palette& palette) {
  const auto counts = top_counts(t);
  for (uint32_t m = 0; m < t.n_moe_layers(); ++m) {
    out += "<div class=\"legend l" + std::to_string(m) +
           "\"><span>Most frequent top experts at layer " + std::to_string(t.moe_layers()[m]) +
           ":</span>";
    for (const uint32_t e : most_frequent(counts[m], kLegendExperts)) {
      out += "<span><i class=\"sw\" style=\"background:" + palette[e] + "\"></i>" +
             std::to_string(e) + " \xc2\xb7 " +
             percent(static_cast<double>(counts[m][e]) / t.n_tokens()) + "</span>";
    }
    out += "</div>\n";
  }
}

void heatmap_svg(std::string& out, const RoutingTrace& t) {
  const LoadHeatmap map = load_heatmap(t);
  const uint32_t n_e = map.n_expert;
  const auto n_l = static_cast<uint32_t>(map.layers.size());
  const double cw = std::clamp(640.0 / n_e, 2.0, 28.0);
  const double ch = n_l > 40 ? 8.0 : 13.0;
  const double left = 34, top = 22, grid_w = cw * n_e, grid_h = ch * n_l;
  const double width = left + grid_w + 6, height = top + grid_h + 34;
  const auto num = [](double v) { return fmt("%.4g", v); };
  out += "<svg viewBox=\"0 0 " + num(width) + " " + num(height) + "\" width=\"" + num(width) +
         "\" height=\"" + num(height) + "\" role=\"img\" aria-label=\"Expert load heatmap\">";
  out += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(grid_w) +
         "\" height=\"" + num(grid_h) + "\" fill=\"" + hex_colour(heat_colour(0)) + "\"/>";
  const bool titles = size_t{n_e} * n_l <= kMaxCellTitles;
  for (uint32_t m = 0; m < n_l; ++m) {
    for (uint32_t e = 0; e < n_e; ++e) {
      const double f = map.fraction[size_t{m} * n_e + e];
      if (f <= 0) continue;
      out += "<rect x=\"" + num(left + e * cw) + "\" y=\"" + num(top + m * ch) + "\" width=\"" +
             num(cw) + "\" height=\"" + num(ch) + "\" fill=\"" +
             hex_colour(heat_colour(f / map.max_fraction)) + "\">";
      if (titles) {
        out += "<title>layer " + std::to_string(map.layers[m]) + ", expert " + std::to_string(e) +
               ": " + percent(f) + "</title>";
      }
      out += "</rect>";
    }
  }
  // Row highlights (shown by the layer switch), row and column labels.
  for (uint32_t m = 0; m < n_l; ++m) {
    out += "<rect class=\"rh l" + std::to_string(m) + "\" x=\"" + num(left - 1) + "\" y=\"" +
           num(top + m * ch) + "\" width=\"" + num(grid_w + 2) + "\" height=\"" + num(ch) + "\"/>";
    if (n_l <= 40 || m % 2 == 0) {
      out += "<text x=\"" + num(left - 4) + "\" y=\"" + num(top + m * ch + ch * 0.5 + 3) +
             "\" text-anchor=\"end\">" + std::to_string(map.layers[m]) + "</text>";
    }
  }
  uint32_t step = 1;
  while (step * cw < 16) step *= 2;
  for (uint32_t e = 0; e < n_e; e += step) {
    out += "<text x=\"" + num(left + e * cw + cw / 2) + "\" y=\"" + num(top - 5) +
           "\" text-anchor=\"middle\">" + std::to_string(e) + "</text>";
  }
  out += "<text x=\"" + num(left - 4) + "\" y=\"" + num(top - 5) +
         "\" text-anchor=\"end\">layer</text>";
  // Colour scale: 24 steps from 0 to the largest cell.
  const double ly = top + grid_h + 12, lw = 4.0;
  for (int i = 0; i < 24; ++i) {
    out += "<rect x=\"" + num(left + i * lw) + "\" y=\"" + num(ly) + "\" width=\"" + num(lw + 0.3) +
           "\" height=\"8\" fill=\"" + hex_colour(heat_colour((i + 0.5) / 24.0)) + "\"/>";
  }
  out += "<text x=\"" + num(left + 24 * lw + 6) + "\" y=\"" + num(ly + 7.5) + "\">0 \xe2\x80\x93 " +
         percent(map.max_fraction) +
         " of the tokens chose the expert (columns: experts 0\xe2\x80\x93" +
         std::to_string(n_e - 1) + ")</text>";
  out += "</svg>";
}

void browser_view(std::string& out, const Message& msg, size_t index, bool with_tokens) {
  const RoutingTrace& t = *msg.trace;
  out += "<div class=\"routing\">\n";
  if (t.empty()) {
    out += "<div class=\"facts\">No routing recorded (0 tokens).</div>\n</div>\n";
    return;
  }
  Palette palette(t.n_expert());
  layer_bar(out, t, "m" + std::to_string(index));
  if (with_tokens) browser_tokens(out, msg);
  browser_legends(out, t, palette);
  out += "<figure class=\"heat\">";
  heatmap_svg(out, t);
  out += "<figcaption>Expert load over this message's " + std::to_string(t.n_tokens()) +
         " tokens: a row per MoE layer (block index), a column per expert, top-" +
         std::to_string(t.top_k()) + " of " + std::to_string(t.n_expert()) +
         ". The outlined row is the layer the colours show.</figcaption></figure>\n</div>\n";
}

// ---------------------------------------------------------------------------------------
// Qt.

void qt_view(std::string& out, const Message& msg, size_t index, bool with_tokens) {
  const RoutingTrace& t = *msg.trace;
  const std::string small = "<p style=\"color:#656d76; font-size:small\">";
  if (t.empty()) {
    out += small + "No routing recorded (0 tokens).</p>\n";
    return;
  }
  const uint32_t m_def = default_moe_index(t);
  const std::string block = std::to_string(t.moe_layers()[m_def]);
  Palette palette(t.n_expert());
  if (with_tokens) {
    out += "<p style=\"white-space:pre-wrap\">";
    for (uint32_t token = 0; token < t.n_tokens(); ++token) {
      const std::string& text = msg.token_texts[token];
      if (text.empty()) continue;
      out += "<span style=\"background-color:" + palette[t.expert(token, m_def, 0)] + "\">";
      append_html(out, text, Marks::text);
      out += "</span>";
    }
    out += "</p>\n";
  }
  const auto counts = top_counts(t);
  out += small +
         (with_tokens ? "Tokens coloured by their top expert at layer " + block + ". "
                      : std::string()) +
         "Most frequent top experts at layer " + block + ": ";
  for (const uint32_t e : most_frequent(counts[m_def], kLegendExperts)) {
    out += "<span style=\"background-color:" + palette[e] + "\">&nbsp;&nbsp;&nbsp;</span>&nbsp;" +
           std::to_string(e) + " (" +
           percent(static_cast<double>(counts[m_def][e]) / t.n_tokens()) + ")&nbsp;&nbsp; ";
  }
  out += "</p>\n";
  const LoadHeatmap map = load_heatmap(t);
  out += "<p><img src=\"es-heatmap:" + std::to_string(index) + "\" width=\"600\"></p>\n";
  out += small + "Expert load over " + std::to_string(t.n_tokens()) +
         " tokens: a row per MoE layer (block index " + std::to_string(map.layers.front()) +
         "\xe2\x80\x93" + std::to_string(map.layers.back()) +
         "), a column per expert (0\xe2\x80\x93" + std::to_string(map.n_expert - 1) +
         "), white 0 to dark blue " + percent(map.max_fraction) + " of the tokens; top-" +
         std::to_string(t.top_k()) + ".</p>\n";
}

}  // namespace

std::string layer_switch_css(const Session& session) {
  uint32_t n_layers = 0;
  // used[m][e]: expert e is the rank-0 choice of a shown token at MoE index m.
  std::vector<std::vector<bool>> used;
  for (const Message& msg : session.messages) {
    if (!msg.trace || !msg.trace->has_shape()) continue;
    const RoutingTrace& t = *msg.trace;
    n_layers = std::max(n_layers, t.n_moe_layers());
    if (!has_token_texts(msg)) continue;
    if (used.size() < t.n_moe_layers()) used.resize(t.n_moe_layers());
    for (uint32_t m = 0; m < t.n_moe_layers(); ++m) {
      if (used[m].size() < t.n_expert()) used[m].resize(t.n_expert());
      for (uint32_t token = 0; token < t.n_tokens(); ++token) used[m][t.expert(token, m, 0)] = true;
    }
  }
  if (n_layers == 0) return {};
  std::string css, labels, legends, rows;
  for (uint32_t m = 0; m < n_layers; ++m) {
    const std::string l = ".l" + std::to_string(m);
    const std::string sep = m == 0 ? "" : ",";
    labels += sep + l + ":checked~.bar label" + l;
    legends += sep + l + ":checked~.legend" + l;
    rows += sep + l + ":checked~.heat .rh" + l;
  }
  css += labels + "{background:#0969da;border-color:#0969da;color:#fff}\n";
  css += legends + "{display:flex}\n";
  css += rows + "{stroke:#cf222e;stroke-width:1.5}\n";
  for (uint32_t m = 0; m < used.size(); ++m) {
    const std::string l = std::to_string(m);
    for (uint32_t e = 0; e < used[m].size(); ++e) {
      if (!used[m][e]) continue;
      css += ".l" + l + ":checked~.tokens .k" + l + "-" + std::to_string(e) +
             "{background:" + hex_colour(expert_colour(e)) + "}\n";
    }
  }
  return css;
}

void append_routing_view(std::string& out, const Message& message, size_t index, bool with_tokens,
                         HtmlFlavor flavor) {
  if (flavor == HtmlFlavor::qt_rich_text) {
    qt_view(out, message, index, with_tokens);
  } else {
    browser_view(out, message, index, with_tokens);
  }
}

}  // namespace es::transcript::detail
