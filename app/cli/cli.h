// Private to expertscope-cli: the command table's types and the helpers commands share.
//
// Each subcommand lives in its own file (cmd_<name>.cpp) as one function
// `int cmd_<name>(const Args&)` and one row in main.cpp's command table. Commands report
// problems by throwing es::Error: ErrorKind::usage exits 2 (with the command's usage),
// every other kind exits 3. main() prints the one `error: ` line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/context.h"
#include "expertscope/error.h"

namespace es::cli {

/// Exit statuses of DESIGN.md's command-line contract.
inline constexpr int exit_ok = 0;
inline constexpr int exit_internal = 1;   ///< A bug: an exception the engine did not expect.
inline constexpr int exit_usage = 2;      ///< Unknown command, missing or malformed argument.
inline constexpr int exit_bad_input = 3;  ///< A file that is missing, corrupt or unsupported.

/// A subcommand's arguments (everything after the command name), with small helpers.
class Args {
 public:
  Args(std::string command, std::vector<std::string> items)
      : command_(std::move(command)), items_(std::move(items)) {}

  [[nodiscard]] const std::string& command() const noexcept { return command_; }
  [[nodiscard]] const std::vector<std::string>& items() const noexcept { return items_; }
  /// True if `flag` (e.g. "--compact") appears.
  [[nodiscard]] bool has(std::string_view flag) const;
  /// The value after `option` (e.g. "-m"), nothing if the option is absent; a usage error
  /// if the option is the last argument.
  [[nodiscard]] std::optional<std::string> value(std::string_view option) const;
  /// Arguments that are neither options nor option values. `value_options` lists the
  /// options that take a value.
  [[nodiscard]] std::vector<std::string> positionals(
      const std::vector<std::string_view>& value_options) const;
  /// Throws a usage error if an argument starting with '-' is not in `known`.
  void reject_unknown_options(const std::vector<std::string_view>& known) const;

 private:
  std::string command_;
  std::vector<std::string> items_;
};

/// An es::Error of kind usage.
[[nodiscard]] Error usage_error(const std::string& what);

/// Throws an io error naming `path` if it does not exist or is a directory, so commands
/// report a missing model the same way before the engine opens it.
void require_readable_file(const std::filesystem::path& path);
/// Prints a warning when the context runs on another backend than asked for (no device,
/// out of memory, a lost device: the engine carried on on the CPU).
void report_backend(const es::Context& ctx);

/// Writes `bytes` to `path` through a temporary file and a rename: never half-written.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
/// Parses a whole decimal integer; a usage error naming `what` otherwise.
[[nodiscard]] int64_t parse_int(std::string_view text, std::string_view what);
/// Parses a whole decimal number; a usage error naming `what` otherwise.
[[nodiscard]] double parse_number(std::string_view text, std::string_view what);
/// True if `text` is well-formed UTF-8 (no overlong forms, surrogates or values past
/// U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;
/// Parses "1,2,3" into token ids (range-checked against the vocabulary later).
[[nodiscard]] std::vector<int32_t> parse_token_list(std::string_view text);

// The commands (one file each).
int cmd_info(const Args& args);
int cmd_eval(const Args& args);
int cmd_tokenize(const Args& args);
int cmd_detokenize(const Args& args);
int cmd_convert_tokenizer(const Args& args);
int cmd_convert(const Args& args);
int cmd_bench(const Args& args);
int cmd_generate(const Args& args);
int cmd_sessions(const Args& args);
int cmd_search(const Args& args);
int cmd_export(const Args& args);
int cmd_import(const Args& args);
int cmd_devices(const Args& args);
int cmd_media_info(const Args& args);

}  // namespace es::cli
