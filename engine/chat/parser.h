// The chat template parser: tokens to an AST, with jinja2's grammar and operator
// precedence. Unknown filters and tests, and jinja2 statements this interpreter lacks
// (include, extends, call, ...), are refused here, before anything renders.
#pragma once

#include <memory>
#include <string_view>

#include "ast.h"

namespace es::chat::detail {

/// Parses a template. Throws es::Error: bad_input for syntax errors (with line and column),
/// unsupported for constructs the interpreter lacks.
std::unique_ptr<Program> parse_program(std::string_view source);

/// True if the filter / test exists in this interpreter (see filters.cpp).
bool filter_exists(std::string_view name);
bool test_exists(std::string_view name);

}  // namespace es::chat::detail
