// expertscope-cli import: a JSON export read back into a store as a new session.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli.h"
#include "expertscope/store.h"
#include "expertscope/transcript.h"

namespace es::cli {

int cmd_import(const Args& args) {
  args.reject_unknown_options({"--db"});
  const auto db = args.value("--db");
  if (!db) throw usage_error("import: no database given (--db FILE)");
  const std::vector<std::string> files = args.positionals({"--db"});
  if (files.size() != 1) throw usage_error("import: give one JSON export");
  require_readable_file(files[0]);
  std::ifstream in(files[0], std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) throw Error(ErrorKind::io, files[0] + ": cannot be read");
  // Parse and check everything before the store is touched.
  const Session session = transcript::from_json(text.str(), files[0]);
  Store store(*db);
  const int64_t id = store.import_session(session);
  std::printf("{\"session\": %lld, \"messages\": %zu}\n", static_cast<long long>(id),
              session.messages.size());
  return exit_ok;
}

}  // namespace es::cli
