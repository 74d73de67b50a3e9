// The GridModels of the load view (layer × expert: one selection's load, the compare
// selection's, or their difference) and of the co-activation view (expert × expert at the
// chosen layer: counts, conditional probabilities or lift), built from an Analysis.
#pragma once

#include "grid_view.h"
#include "inspector_analysis.h"

namespace es::inspector {

/// What the load view shows.
enum class LoadMode : int {
  primary = 1,     ///< The selection's load: fraction of its tokens selecting each expert.
  compare = 2,     ///< The compare selection's load.
  difference = 3,  ///< Selection minus compare selection, in fractions of tokens.
};

/// How the co-activation view normalises the counts.
enum class CoactivationNorm : int {
  count = 1,        ///< Tokens that selected both experts.
  conditional = 2,  ///< P(column expert | row expert) = count / tokens selecting the row expert.
  lift = 3,  ///< count × N / (n_row × n_column): above 1 more often together than by chance.
};

/// The load view's model. The cell (m, e) is SelectionStats::fraction(m, e) of the
/// selection, of the compare selection, or the first minus the second; a mode that needs a
/// compare selection the analysis lacks shows the selection's load.
[[nodiscard]] GridModel loadGridModel(const Analysis& analysis, LoadMode mode);

/// The co-activation view's model (the diagonal is neutral: it counts single experts).
/// Lift is shown as log2 on a diverging scale; its read-out gives the plain ratio.
[[nodiscard]] GridModel coactivationGridModel(const Analysis& analysis, CoactivationNorm norm);

}  // namespace es::inspector
