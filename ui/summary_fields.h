// The Model panel's summary as plain text fields, grouped into sections. Pure functions
// of a ModelSnapshot, so what the panel shows is easy to test and to reuse (exports).
#pragma once

#include <QString>
#include <vector>

#include "model_snapshot.h"

namespace es::ui {

/// One labelled value, e.g. {"n_layer", "Layers", "27", ""}.
struct SummaryField {
  QString key;       ///< Stable identifier (the `info` JSON key where there is one).
  QString label;     ///< What the user reads.
  QString value;     ///< Formatted for display.
  QString tool_tip;  ///< Exact figures or explanations; may be empty.
};

/// A titled group of fields (one card in the panel).
struct SummarySection {
  QString key;  ///< "architecture", "experts", "mla", "size", "tokenizer", "types".
  QString title;
  std::vector<SummaryField> fields;
};

/// The sections for `snapshot`, in display order. Sections and fields that do not apply
/// (MLA ranks of a model without MLA, expert fields of a dense model) are left out.
[[nodiscard]] std::vector<SummarySection> summary_sections(const ModelSnapshot& snapshot);

/// The model's display name: general.name, or the file name without `.gguf`.
[[nodiscard]] QString model_display_name(const ModelSnapshot& snapshot);

}  // namespace es::ui
