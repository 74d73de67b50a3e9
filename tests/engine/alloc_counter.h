// Counts heap bytes allocated through operator new in this test process, so a test can
// check that parsing a file never allocates more than a bound derived from its size.
#pragma once

#include <cstddef>

namespace es::test {

/// Starts a new measurement: the peak is reset to what is allocated now.
void reset_peak_allocation() noexcept;
/// Highest number of heap bytes live at once since the last reset, above the level then.
[[nodiscard]] size_t peak_allocation_bytes() noexcept;
/// Calls of operator new since the program started (any thread).
[[nodiscard]] size_t allocation_count() noexcept;

}  // namespace es::test
