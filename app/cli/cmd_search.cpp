// expertscope-cli search: full-text search over every message of a store, as JSON.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "expertscope/store.h"

namespace es::cli {

int cmd_search(const Args& args) {
  args.reject_unknown_options({"--db", "--limit", "--raw", "--compact"});
  const auto db = args.value("--db");
  if (!db) throw usage_error("search: no database given (--db FILE)");
  const std::vector<std::string> words = args.positionals({"--db", "--limit"});
  if (words.empty()) throw usage_error("search: no query given");
  std::string query;
  for (const std::string& w : words) query += (query.empty() ? "" : " ") + w;
  size_t limit = 50;
  if (const auto l = args.value("--limit")) {
    const int64_t v = parse_int(*l, "--limit");
    if (v <= 0 || v > 100000) throw usage_error("--limit: expected 1..100000");
    limit = static_cast<size_t>(v);
  }
  Store store(*db, Store::Options{.create = false});
  nlohmann::ordered_json hits = nlohmann::ordered_json::array();
  for (const SearchHit& h : store.search(query, limit, args.has("--raw"))) {
    hits.push_back({{"session", h.session_id},
                    {"title", h.session_title},
                    {"message", h.message_id},
                    {"role", h.role},
                    {"snippet", h.snippet}});
  }
  std::printf("%s\n", hits.dump(args.has("--compact") ? -1 : 2, ' ', false,
                                nlohmann::json::error_handler_t::replace)
                          .c_str());
  return exit_ok;
}

}  // namespace es::cli
