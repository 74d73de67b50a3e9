// The inspector's colours: the same expert palette and load scale as the transcript
// exports (engine/include/expertscope/transcript.h), so an exported HTML page and the
// inspector agree, plus a diverging scale for differences and the colour of a token
// under each measure.
#pragma once

#include <QColor>
#include <QPalette>
#include <QString>
#include <cstdint>

namespace es::inspector {

/// How tokens are coloured.
enum class Measure : int {
  dominant_expert = 1,  ///< The rank-0 expert at the chosen layer (categorical).
  entropy = 2,          ///< Router entropy at the chosen layer / log(n_expert), 0..1.
  top1_weight = 3,      ///< The rank-0 weight at the chosen layer / the largest one seen.
};

/// "dominant expert", "router entropy", "top-1 weight".
[[nodiscard]] QString measureName(Measure measure);

/// The colour of expert `expert` (transcript::expert_colour).
[[nodiscard]] QColor expertColor(uint32_t expert);
/// True for a palette whose window is dark: the continuous scales then run from the dark
/// background to bright colours instead of from white to dark.
[[nodiscard]] bool isDark(const QPalette& palette);
/// The load scale, 0 .. 1 (clamped). Light: exactly transcript::heat_colour (white to dark
/// blue, as the HTML export draws it). Dark: the same blues from the dark background up
/// to pale blue, so that more is brighter.
[[nodiscard]] QColor heatColor(double fraction, bool dark = false);
/// A diverging scale for differences in [-1, 1] (clamped): negative blue, positive red
/// (ColorBrewer RdBu); 0 near white, or near the dark background when `dark`.
[[nodiscard]] QColor divergingColor(double value, bool dark = false);
/// Black or white, whichever reads better on `background`.
[[nodiscard]] QColor textColorOn(const QColor& background);
/// `value` (0..1 for the continuous measures, an expert id for dominant_expert) as the
/// measure's colour.
[[nodiscard]] QColor measureColor(Measure measure, double value, bool dark = false);

}  // namespace es::inspector
