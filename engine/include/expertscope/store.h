// The session store: every session, message, attachment and routing trace in one SQLite
// database (engine/store is the only code that includes sqlite3.h).
//
// - One file, by default in the user's data folder (default_database_path()). WAL
//   journal, foreign keys on, a busy timeout so a second process waits instead of failing.
// - The schema is versioned by `PRAGMA user_version`; opening applies the missing
//   migrations in one transaction. A database from a newer program is refused, never
//   altered. A file that is not a database, or a truncated or corrupt one, is an es::Error
//   (bad_input) naming the file and the problem; the store never writes to it or replaces
//   it (move_aside() renames it out of the way when the user asks).
// - Nothing is lost: a user message and its attachments are committed before the answer
//   is generated (add_message), the answer is created `streaming` (begin_message) and its
//   text flushed as it grows (flush_message, one small transaction each), then finished
//   with its state, timings and trace (finish_message). A message still `streaming` when
//   the database is next opened by a store with no other store open on it becomes
//   `interrupted`, its text kept.
// - Every write of more than one row is one transaction.
//
// A Store is used from one thread at a time (the CLI's main thread, the UI's engine
// thread); it never blocks on anything but SQLite's own locks. Every method throws
// es::Error: bad_input for a corrupt database or a broken argument value (an unknown
// session id), io when the operating system refuses, usage for a call that makes no sense
// (finishing a message that is not streaming).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/session.h"

namespace es {

/// $XDG_DATA_HOME/expertscope/sessions.db, or ~/.local/share/expertscope/sessions.db when
/// XDG_DATA_HOME is unset or not absolute.
[[nodiscard]] std::filesystem::path default_database_path();

/// One row of Store::list_sessions().
struct SessionSummary {
  int64_t id = 0;
  std::string title;
  std::optional<ModelIdentity> model;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  uint32_t n_messages = 0;
};

/// One hit of Store::search().
struct SearchHit {
  int64_t session_id = 0;
  std::string session_title;
  int64_t message_id = 0;
  std::string role;
  /// A few words around the match, the matched terms between "[" and "]".
  std::string snippet;
};

/// Sizes of what the store keeps for one message's routing trace.
struct TraceStorage {
  uint32_t n_tokens = 0;
  uint32_t encoding = 0;    ///< Version of the stored encoding (Store::trace_encoding).
  uint64_t raw_bytes = 0;   ///< RoutingTrace::serialize() size.
  uint64_t disk_bytes = 0;  ///< Bytes of the compressed encoding in the database.
};

class Store {
 public:
  /// The schema version this program writes; databases at any lower version are migrated.
  static constexpr int schema_version = 4;
  /// The routing-trace encoding this program writes (and the newest it reads).
  static constexpr uint32_t trace_encoding = 1;

  struct Options {
    /// Create the file (and its folder) when it does not exist.
    bool create = true;
    /// Milliseconds to wait for another process's lock before giving up.
    int busy_timeout_ms = 5000;
    /// Caps the database at this many pages (0: no cap). A write past it fails as a full
    /// disk does (es::Error of kind io, "database or disk is full"), so the cap is also how
    /// tests check what a full disk leaves behind.
    uint32_t max_pages = 0;
  };

  /// What load_session() reads.
  struct LoadOptions {
    bool attachment_data = true;  ///< Attachment bytes (else only their descriptions).
    bool traces = true;           ///< Routing traces and token texts.
  };

  /// Opens (or creates) the database at `path`, migrating it to schema_version. Throws
  /// es::Error: bad_input for a file that is not a database, is truncated or corrupt;
  /// unsupported for a database written by a newer program; io when it cannot be opened
  /// or created.
  explicit Store(const std::filesystem::path& path);
  Store(const std::filesystem::path& path, const Options& options);
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept;
  /// Messages this open turned from `streaming` into `interrupted`.
  [[nodiscard]] uint32_t recovered_on_open() const noexcept;
  /// The schema version the database had before this open migrated it (0: new file).
  [[nodiscard]] int opened_at_version() const noexcept;

  // Models.
  /// The row of a model (matched by content hash and path), added if new; returns its id.
  int64_t upsert_model(const ModelIdentity& model);

  // Sessions.
  /// A new empty session; returns its id. Empty settings mean "{}".
  int64_t create_session(std::string_view title, const std::optional<ModelIdentity>& model,
                         std::string_view settings_json = "{}");
  void rename_session(int64_t session_id, std::string_view title);
  /// Deletes a session with its messages, attachments and traces, and every blob no
  /// other attachment uses, in one transaction.
  void delete_session(int64_t session_id);
  /// Every session, most recently updated first.
  [[nodiscard]] std::vector<SessionSummary> list_sessions();
  /// A whole session. Throws es::Error (bad_input) for an unknown id.
  [[nodiscard]] Session load_session(int64_t session_id, const LoadOptions& options);
  [[nodiscard]] Session load_session(int64_t session_id);
  /// True if a session of that id exists.
  [[nodiscard]] bool has_session(int64_t session_id);

  // Messages.
  /// Appends a whole message (its attachments, blobs and trace) in one transaction and
  /// returns its id; the session's updated time becomes the message's. Empty created/
  /// updated times mean "now".
  int64_t add_message(int64_t session_id, const Message& message);
  /// Appends an empty answer in state `streaming` (role "assistant") and returns its id.
  int64_t begin_message(int64_t session_id, std::string_view settings_json = "{}");
  /// Replaces a streaming message's text and token count (one small transaction).
  void flush_message(int64_t message_id, std::string_view content, uint32_t n_tokens);
  /// Ends a streaming message: its final content, state (complete / cancelled /
  /// interrupted), token count, timings, stop reason and trace, in one transaction.
  void finish_message(int64_t message_id, const Message& final_message);

  /// Sets (or replaces) the routing trace and token texts (empty, or one per token) of a
  /// stored message, e.g. a user message's prompt routing once the prompt has been
  /// evaluated. Throws es::Error (bad_input) for an unknown message.
  void set_trace(int64_t message_id, const RoutingTrace& trace,
                 std::span<const std::string> token_texts);

  // Reading.
  /// Messages whose text matches `query` (words, all of which must occur; with
  /// `raw_fts5` the query is passed to SQLite FTS5 as written), best first.
  [[nodiscard]] std::vector<SearchHit> search(std::string_view query, size_t limit = 50,
                                              bool raw_fts5 = false);
  /// The bytes of a blob. Throws es::Error (bad_input) when there is none of that hash.
  [[nodiscard]] std::vector<uint8_t> blob(std::string_view sha256);
  /// What the routing trace of a message takes; nothing if it has none.
  [[nodiscard]] std::optional<TraceStorage> trace_storage(int64_t message_id);

  /// Adds a whole session (for example one read back from a JSON export) in one
  /// transaction: its model, messages, attachments and traces, keeping their times and
  /// states. Returns the new session id; the ids in `session` are ignored.
  int64_t import_session(const Session& session);

  /// Runs `PRAGMA integrity_check`; the problems it reports (empty: none).
  [[nodiscard]] std::vector<std::string> integrity_problems();

  /// Renames a database the store cannot open (with its -wal and -shm files) to
  /// "<name>.corrupt-<UTC time>" beside it and returns the new path of the main file.
  /// Nothing is deleted. Throws es::Error (io) if the rename fails.
  static std::filesystem::path move_aside(const std::filesystem::path& path);

  /// The open database (defined in store.cpp).
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace es
