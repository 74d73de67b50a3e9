// The schema of the session store as a list of migrations: migration i (1-based) takes a
// database at user_version i-1 to user_version i. A new database runs them all. Tests
// build fixture databases of every earlier version from the same list.
#pragma once

#include <filesystem>
#include <span>
#include <string_view>

namespace es::store_detail {

/// The SQL of each migration, in order: element i takes version i to version i + 1.
[[nodiscard]] std::span<const std::string_view> migrations() noexcept;

/// Runs an SQL script on the database at `path` (created when missing) with plain SQLite:
/// no checks, no migrations, no WAL. For tests that build fixture databases of earlier
/// schema versions, and damaged ones. Throws es::Error (bad_input) with SQLite's message.
void exec_script(const std::filesystem::path& path, std::string_view sql);

}  // namespace es::store_detail
