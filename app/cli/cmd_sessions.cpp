// expertscope-cli sessions: the sessions of a store as JSON, and the store's maintenance
// (integrity check, renaming, deleting, moving a damaged database aside).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "expertscope/store.h"

namespace es::cli {

nlohmann::ordered_json model_json(const std::optional<ModelIdentity>& model) {
  if (!model) return nullptr;
  return {{"name", model->name},
          {"arch", model->arch},
          {"path", model->path},
          {"file_size", model->file_size},
          {"content_hash", model->content_hash}};
}

int cmd_sessions(const Args& args) {
  args.reject_unknown_options(
      {"--db", "--check", "--move-aside", "--delete", "--rename", "--title", "--compact"});
  const auto db = args.value("--db");
  if (!db) throw usage_error("sessions: no database given (--db FILE)");
  const int indent = args.has("--compact") ? -1 : 2;
  if (args.has("--move-aside")) {
    const auto moved = Store::move_aside(*db);
    std::printf("%s\n", nlohmann::ordered_json{{"moved_to", moved.string()}}.dump(indent).c_str());
    return exit_ok;
  }
  Store store(*db, Store::Options{.create = false});
  if (args.has("--check")) {
    const std::vector<std::string> problems = store.integrity_problems();
    nlohmann::ordered_json j{{"ok", problems.empty()}, {"problems", problems}};
    std::printf("%s\n", j.dump(indent).c_str());
    return problems.empty() ? exit_ok : exit_bad_input;
  }
  if (const auto id = args.value("--delete")) {
    store.delete_session(parse_int(*id, "--delete"));
    return exit_ok;
  }
  if (const auto id = args.value("--rename")) {
    const auto title = args.value("--title");
    if (!title) throw usage_error("--rename needs --title");
    store.rename_session(parse_int(*id, "--rename"), *title);
    return exit_ok;
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const SessionSummary& s : store.list_sessions()) {
    list.push_back({{"id", s.id},
                    {"title", s.title},
                    {"created", format_iso8601_ms(s.created_ms)},
                    {"updated", format_iso8601_ms(s.updated_ms)},
                    {"n_messages", s.n_messages},
                    {"model", model_json(s.model)}});
  }
  std::printf("%s\n",
              list.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return exit_ok;
}

}  // namespace es::cli
