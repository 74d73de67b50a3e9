// Shared helpers of the filters, tests and methods.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "eval.h"

namespace es::chat::detail {

/// ASCII lower-casing.
std::string ascii_lower(std::string s);
/// Python str.strip() (whitespace) of `s`.
std::string strip_spaces(std::string_view s);
/// Python strip/lstrip/rstrip: `chars` null strips whitespace; sides: 1 left, 2 right, 3 both.
std::string strip_text(std::string_view s, const Value* chars, int sides);
/// Python str.replace(old, new, count).
std::string replace_text(Evaluator& ev, const std::string& s, const std::string& from,
                         const std::string& to, int64_t count);
/// Stable sort by key(item), strings compared case-insensitively unless case_sensitive.
void sort_values(Evaluator& ev, Value::List* items, bool case_sensitive, bool reverse,
                 const std::function<Value(const Value&)>& key);

// Sequence filters (filters_seq.cpp).
Value f_map(Evaluator& ev, const Value& v, Args& a);
Value f_max(Evaluator& ev, const Value& v, Args& a);
Value f_min(Evaluator& ev, const Value& v, Args& a);
Value f_select(Evaluator& ev, const Value& v, Args& a);
Value f_reject(Evaluator& ev, const Value& v, Args& a);
Value f_selectattr(Evaluator& ev, const Value& v, Args& a);
Value f_rejectattr(Evaluator& ev, const Value& v, Args& a);
Value f_sort(Evaluator& ev, const Value& v, Args& a);
Value f_unique(Evaluator& ev, const Value& v, Args& a);

}  // namespace es::chat::detail
