// How the UI writes numbers: counts, parameters, bytes and shapes, in the user's locale.
#pragma once

#include <QString>
#include <array>
#include <cstdint>

namespace es::ui {

/// An exact count with the locale's digit grouping: "2,415,616".
[[nodiscard]] QString format_count(uint64_t n);
/// A parameter count in human units: "950", "2.42 K", "15.7 M", "671 B", "1.03 T".
[[nodiscard]] QString format_params(uint64_t n);
/// A byte size in IEC units: "512 bytes", "1.23 MiB".
[[nodiscard]] QString format_bytes(uint64_t bytes);
/// A tensor shape in ggml order (innermost first): "128 × 64 × 16".
[[nodiscard]] QString format_shape(uint32_t n_dims, const std::array<int64_t, 4>& ne);
/// `part` as a percentage of `whole` with one decimal: "37.5 %" ("–" when whole is 0).
[[nodiscard]] QString format_percent(uint64_t part, uint64_t whole);

}  // namespace es::ui
