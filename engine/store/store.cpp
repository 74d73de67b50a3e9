// The session store (store.h) over SQLite: opening with checks and migrations, crash
// recovery, and every read and write of sessions.
#include "expertscope/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "expertscope/error.h"
#include "store/store_schema.h"
#include "store/trace_codec.h"

namespace es {

namespace fs = std::filesystem;

namespace {

/// The user-facing hint appended to errors about a damaged database.
std::string move_aside_hint(const fs::path& path) {
  return "; nothing was changed — move it aside (expertscope-cli sessions --db '" + path.string() +
         "' --move-aside) to start a new one";
}

uint32_t be32(const uint8_t* p) noexcept {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

/// Checks the 100-byte SQLite header of an existing, non-empty file and that the file
/// holds every page the header promises: what a truncated copy or a foreign file fails.
void check_database_file(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec) throw Error(ErrorKind::io, path.string() + ": " + ec.message());
  if (!fs::is_regular_file(status)) {
    throw Error(ErrorKind::bad_input, path.string() + ": not a regular file");
  }
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw Error(ErrorKind::io, path.string() + ": " + ec.message());
  if (size == 0) return;  // SQLite treats an empty file as an empty database.
  std::ifstream in(path, std::ios::binary);
  std::array<uint8_t, 100> h{};
  if (!in) throw Error(ErrorKind::io, path.string() + ": cannot be read");
  in.read(reinterpret_cast<char*>(h.data()), h.size());
  const auto got = static_cast<size_t>(in.gcount());
  static constexpr char kMagic[] = "SQLite format 3";  // 16 bytes with its NUL
  if (got < 16 || std::memcmp(h.data(), kMagic, 16) != 0) {
    throw Error(
        ErrorKind::bad_input,
        path.string() + ": not an SQLite database (no SQLite header)" + move_aside_hint(path));
  }
  if (got < h.size()) {
    throw Error(ErrorKind::bad_input, path.string() + ": truncated (" + std::to_string(size) +
                                          " bytes, shorter than the SQLite header)" +
                                          move_aside_hint(path));
  }
  uint32_t page = uint32_t{h[16]} << 8 | h[17];
  if (page == 1) page = 65536;
  if (page < 512 || page > 65536 || (page & (page - 1)) != 0) {
    throw Error(ErrorKind::bad_input, path.string() + ": corrupt SQLite header (page size " +
                                          std::to_string(page) + ")" + move_aside_hint(path));
  }
  if (size % page != 0) {
    throw Error(ErrorKind::bad_input, path.string() + ": truncated (" + std::to_string(size) +
                                          " bytes is not a whole number of " +
                                          std::to_string(page) + "-byte pages)" +
                                          move_aside_hint(path));
  }
  // The page count at offset 28 is valid when the change counter (24) equals the
  // "version valid for" number (92), as every SQLite since 3.7.0 writes it.
  const uint32_t pages = be32(h.data() + 28);
  if (pages != 0 && be32(h.data() + 24) == be32(h.data() + 92) && uint64_t{pages} * page > size) {
    throw Error(ErrorKind::bad_input, path.string() + ": truncated (the header counts " +
                                          std::to_string(pages) + " pages, the file holds " +
                                          std::to_string(size / page) + ")" +
                                          move_aside_hint(path));
  }
}

bool valid_json_object(std::string_view text) {
  if (!nlohmann::json::accept(text)) return false;
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

std::string_view or_empty_object(std::string_view settings) {
  return settings.empty() ? std::string_view("{}") : settings;
}

}  // namespace

fs::path default_database_path() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  fs::path base;
  if (xdg != nullptr && *xdg != '\0' && fs::path(xdg).is_absolute()) {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = fs::path(home != nullptr && *home != '\0' ? home : ".") / ".local" / "share";
  }
  return base / "expertscope" / "sessions.db";
}

// ---------------------------------------------------------------------------------------

struct Store::Impl {
  fs::path path;
  sqlite3* db = nullptr;
  int lock_fd = -1;
  uint32_t recovered = 0;
  int opened_version = 0;

  ~Impl() {
    if (db != nullptr) sqlite3_close_v2(db);
    if (lock_fd >= 0) ::close(lock_fd);
  }

  /// Throws the es::Error for SQLite result `rc` while doing `what`.
  [[noreturn]] void fail(int rc, std::string_view what) const {
    const std::string detail =
        db != nullptr ? std::string(sqlite3_errmsg(db)) : std::string(sqlite3_errstr(rc));
    const std::string head = path.string() + ": " + std::string(what) + ": " + detail;
    switch (rc & 0xff) {
      case SQLITE_CORRUPT:
      case SQLITE_NOTADB:
        throw Error(ErrorKind::bad_input, path.string() + ": the database is corrupt (" + detail +
                                              ")" + move_aside_hint(path));
      case SQLITE_CONSTRAINT:
      case SQLITE_MISMATCH:
      case SQLITE_TOOBIG:
        throw Error(ErrorKind::bad_input, head);
      case SQLITE_ERROR:
        throw Error(ErrorKind::usage, head);
      default:
        throw Error(ErrorKind::io, head);
    }
  }

  void exec(std::string_view sql, std::string_view what) const {
    char* message = nullptr;
    const int rc = sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
      const std::string text = message != nullptr ? message : sqlite3_errstr(rc);
      sqlite3_free(message);
      if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) fail(rc, what);
      throw Error((rc & 0xff) == SQLITE_ERROR ? ErrorKind::bad_input : ErrorKind::io,
                  path.string() + ": " + std::string(what) + ": " + text);
    }
  }
};

namespace {

/// A prepared statement; binds by 1-based index, steps, reads columns.
class Stmt {
 public:
  Stmt(const Store::Impl& store, std::string_view sql) : store_(store) {
    const int rc =
        sqlite3_prepare_v2(store.db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) store.fail(rc, "preparing a statement");
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
  Stmt& bind(int i, double v) { return check(sqlite3_bind_double(stmt_, i, v)); }
  Stmt& bind(int i, std::string_view v) {
    return check(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  Stmt& bind(int i, std::span<const uint8_t> v) {
    // A zero-length blob must still be a blob, not NULL.
    return v.empty() ? check(sqlite3_bind_zeroblob(stmt_, i, 0))
                     : check(sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT));
  }
  Stmt& bind_null(int i) { return check(sqlite3_bind_null(stmt_, i)); }

  /// Steps once: true when a row is ready, false when done.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    store_.fail(rc, "running a statement");
  }
  /// Steps to completion (a statement that returns no rows).
  void run() {
    while (step()) {
    }
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  [[nodiscard]] bool is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  [[nodiscard]] int64_t i64(int i) const { return sqlite3_column_int64(stmt_, i); }
  [[nodiscard]] double f64(int i) const { return sqlite3_column_double(stmt_, i); }
  [[nodiscard]] std::string text(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    return p != nullptr ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, i)))
                        : std::string();
  }
  [[nodiscard]] std::vector<uint8_t> blob(int i) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, i));
    const auto n = static_cast<size_t>(sqlite3_column_bytes(stmt_, i));
    return p != nullptr ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
  }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK) store_.fail(rc, "binding a value");
    return *this;
  }
  const Store::Impl& store_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// BEGIN IMMEDIATE … COMMIT; rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(const Store::Impl& store) : store_(store) {
    store_.exec("BEGIN IMMEDIATE", "starting a transaction");
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(store_.db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    store_.exec("COMMIT", "committing");
    done_ = true;
  }

 private:
  const Store::Impl& store_;
  bool done_ = false;
};

int64_t select_int(const Store::Impl& store, std::string_view sql) {
  Stmt s(store, sql);
  return s.step() ? s.i64(0) : 0;
}

void check_role(std::string_view role) {
  if (role != "system" && role != "user" && role != "assistant") {
    throw Error(ErrorKind::usage,
                "message role \"" + std::string(role) + "\": expected system, user or assistant");
  }
}

void check_settings(std::string_view settings, std::string_view what) {
  if (!valid_json_object(or_empty_object(settings))) {
    throw Error(ErrorKind::usage, std::string(what) + ": settings are not a JSON object");
  }
}

/// Inserts a blob once per content; returns its hash.
std::string put_blob(const Store::Impl& store, const Attachment& a) {
  if (a.data.empty() && !a.sha256.empty() && a.size != 0) {
    // A reference to content already stored.
    Stmt s(store, "SELECT 1 FROM blobs WHERE sha256 = ?");
    s.bind(1, std::string_view(a.sha256));
    if (!s.step()) {
      throw Error(ErrorKind::bad_input, "attachment \"" + a.file_name + "\": no stored blob " +
                                            a.sha256 + " and no data given");
    }
    return a.sha256;
  }
  const std::string hash = sha256_hex(a.data);
  if (!a.sha256.empty() && a.sha256 != hash) {
    throw Error(ErrorKind::bad_input,
                "attachment \"" + a.file_name + "\": its data does not match its SHA-256");
  }
  Stmt s(store, "INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
  s.bind(1, std::string_view(hash))
      .bind(2, static_cast<int64_t>(a.data.size()))
      .bind(3, std::span<const uint8_t>(a.data));
  s.run();
  return hash;
}

/// Writes a message's attachments and trace (inside the caller's transaction).
void put_children(const Store::Impl& store, int64_t message_id, const Message& m) {
  int64_t seq = 0;
  for (const Attachment& a : m.attachments) {
    const std::string hash = put_blob(store, a);
    Stmt s(store,
           "INSERT INTO attachments (message_id, seq, kind, file_name, mime_type, blob_sha256, "
           "kept_units) VALUES (?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, message_id)
        .bind(2, seq++)
        .bind(3, std::string_view(a.kind))
        .bind(4, std::string_view(a.file_name))
        .bind(5, std::string_view(a.mime_type))
        .bind(6, std::string_view(hash))
        .bind(7, int64_t{a.kept_units});
    s.run();
  }
  if (m.trace && m.trace->has_shape()) {
    const std::vector<uint8_t> data = store_detail::encode_trace(*m.trace, m.token_texts);
    Stmt s(store,
           "INSERT OR REPLACE INTO traces (message_id, encoding, n_tokens, raw_bytes, data) "
           "VALUES (?, ?, ?, ?, ?)");
    s.bind(1, message_id)
        .bind(2, int64_t{Store::trace_encoding})
        .bind(3, int64_t{m.trace->n_tokens()})
        .bind(4, static_cast<int64_t>(m.trace->serialize().size()))
        .bind(5, std::span<const uint8_t>(data));
    s.run();
  }
}

int64_t insert_message(const Store::Impl& store, int64_t session_id, const Message& m,
                       int64_t now) {
  check_role(m.role);
  check_settings(m.settings_json, "message");
  if (m.state == MessageState::unset) throw Error(ErrorKind::usage, "message state unset");
  Stmt s(store,
         "INSERT INTO messages (session_id, seq, role, content, state, n_tokens, prompt_ms, "
         "generate_ms, first_token_ms, stop_reason, settings, created_ms, updated_ms) "
         "VALUES (?1, (SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE session_id = ?1), "
         "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id");
  const int64_t created = m.created_ms != 0 ? m.created_ms : now;
  s.bind(1, session_id)
      .bind(2, std::string_view(m.role))
      .bind(3, std::string_view(m.content))
      .bind(4, message_state_name(m.state))
      .bind(5, int64_t{m.n_tokens})
      .bind(6, m.timings.prompt_ms)
      .bind(7, m.timings.generate_ms)
      .bind(8, m.timings.first_token_ms)
      .bind(9, std::string_view(m.stop_reason))
      .bind(10, or_empty_object(m.settings_json))
      .bind(11, created)
      .bind(12, m.updated_ms != 0 ? m.updated_ms : created);
  if (!s.step()) store.fail(SQLITE_ERROR, "inserting a message");
  return s.i64(0);
}

void require_session(const Store::Impl& store, int64_t session_id) {
  Stmt s(store, "SELECT 1 FROM sessions WHERE id = ?");
  s.bind(1, session_id);
  if (!s.step()) {
    throw Error(ErrorKind::bad_input,
                store.path.string() + ": no session " + std::to_string(session_id));
  }
}

std::optional<ModelIdentity> read_model(const Stmt& s, int first) {
  if (s.is_null(first)) return std::nullopt;
  ModelIdentity m;
  m.path = s.text(first);
  m.file_size = static_cast<uint64_t>(s.i64(first + 1));
  m.content_hash = s.text(first + 2);
  m.arch = s.text(first + 3);
  m.name = s.text(first + 4);
  return m;
}

/// Builds an FTS5 query in which every word of `text` must occur (each quoted, so no
/// word is read as FTS5 syntax).
std::string fts_all_words(std::string_view text) {
  std::string q;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) != 0) ++i;
    const size_t start = i;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) == 0) ++i;
    if (i == start) break;
    if (!q.empty()) q += ' ';
    q += '"';
    for (const char c : text.substr(start, i - start)) {
      if (c == '"') q += '"';
      q += c;
    }
    q += '"';
  }
  return q;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Opening.

Store::Store(const fs::path& path) : Store(path, Options{}) {}

Store::Store(const fs::path& path, const Options& options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.path = path;
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  if (exists) {
    check_database_file(path);
  } else if (!options.create) {
    throw Error(ErrorKind::io, path.string() + ": no such database");
  } else if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw Error(ErrorKind::io, path.parent_path().string() + ": " + ec.message());
  }

  const int flags = SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(path.c_str(), &s.db, flags, nullptr);
  if (rc != SQLITE_OK) s.fail(rc, "opening");
  sqlite3_extended_result_codes(s.db, 1);
  sqlite3_busy_timeout(s.db, options.busy_timeout_ms);

  // Read the version before anything writes: a newer database is never altered.
  s.opened_version = static_cast<int>(select_int(s, "PRAGMA user_version"));
  if (s.opened_version > schema_version) {
    throw Error(ErrorKind::unsupported,
                path.string() + ": written by a newer Expertscope (schema version " +
                    std::to_string(s.opened_version) + "; this program knows up to " +
                    std::to_string(schema_version) + "); it was not changed");
  }
  if (s.opened_version < 0) {
    throw Error(ErrorKind::bad_input, path.string() +
                                          ": not an Expertscope session database "
                                          "(negative schema version)");
  }
  if (s.opened_version > 0) {
    // An existing database must be ours: the tables of its version are there.
    Stmt t(s,
           "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
           "('models', 'sessions', 'messages', 'blobs', 'attachments')");
    if (!t.step() || t.i64(0) != 5) {
      throw Error(ErrorKind::bad_input,
                  path.string() + ": not an Expertscope session database (user_version " +
                      std::to_string(s.opened_version) + " without its tables)");
    }
  } else if (exists && select_int(s, "SELECT count(*) FROM sqlite_schema") != 0) {
    throw Error(ErrorKind::bad_input,
                path.string() +
                    ": an SQLite database of another program (it has tables but no "
                    "Expertscope schema version); it was not changed");
  }

  {
    Stmt wal(s, "PRAGMA journal_mode = WAL");
    if (!wal.step() || wal.text(0) != "wal") {
      throw Error(ErrorKind::io, path.string() + ": cannot switch to WAL journaling");
    }
  }
  // FULL: a commit survives power loss, not only a crash of the process.
  s.exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "configuring");
  if (options.max_pages != 0) {
    s.exec("PRAGMA max_page_count = " + std::to_string(options.max_pages), "capping the size");
  }

  if (s.opened_version < schema_version) {
    Transaction txn(s);
    // Another process may have migrated it while this one waited for the lock.
    const auto version = static_cast<size_t>(select_int(s, "PRAGMA user_version"));
    const auto steps = store_detail::migrations();
    for (size_t v = version; v < steps.size(); ++v) {
      s.exec(steps[v], "migrating to schema version " + std::to_string(v + 1));
    }
    s.exec("PRAGMA user_version = " + std::to_string(schema_version), "setting the version");
    txn.commit();
  }

  // Recovery: only a store that is alone on the database may decide that a `streaming`
  // message has no writer any more. Every open store holds a shared lock on "<db>-lock";
  // one that gets the exclusive lock first is alone. The kernel drops the locks of a
  // killed process.
  const std::string lock_path = path.string() + "-lock";
  s.lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (s.lock_fd < 0) {
    throw Error(ErrorKind::io, lock_path + ": " + std::strerror(errno));
  }
  if (::flock(s.lock_fd, LOCK_EX | LOCK_NB) == 0) {
    Stmt fix(s, "UPDATE messages SET state = 'interrupted' WHERE state = 'streaming' RETURNING id");
    while (fix.step()) ++s.recovered;
  }
  ::flock(s.lock_fd, LOCK_SH);  // converts an exclusive lock, or waits out a converting one
}

Store::~Store() = default;
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;

const fs::path& Store::path() const noexcept {
  return impl_->path;
}
uint32_t Store::recovered_on_open() const noexcept {
  return impl_->recovered;
}
int Store::opened_at_version() const noexcept {
  return impl_->opened_version;
}

// ---------------------------------------------------------------------------------------
// Models and sessions.

namespace {

int64_t upsert_model_row(const Store::Impl& s, const ModelIdentity& m) {
  Stmt find(s,
            "SELECT id FROM models WHERE content_hash = ? AND path = ? AND file_size = ? AND "
            "arch = ? AND name = ?");
  find.bind(1, std::string_view(m.content_hash))
      .bind(2, std::string_view(m.path))
      .bind(3, static_cast<int64_t>(m.file_size))
      .bind(4, std::string_view(m.arch))
      .bind(5, std::string_view(m.name));
  if (find.step()) return find.i64(0);
  Stmt add(s,
           "INSERT INTO models (path, file_size, content_hash, arch, name) VALUES (?, ?, ?, ?, ?) "
           "RETURNING id");
  add.bind(1, std::string_view(m.path))
      .bind(2, static_cast<int64_t>(m.file_size))
      .bind(3, std::string_view(m.content_hash))
      .bind(4, std::string_view(m.arch))
      .bind(5, std::string_view(m.name));
  if (!add.step()) s.fail(SQLITE_ERROR, "adding a model");
  return add.i64(0);
}

int64_t insert_session(const Store::Impl& s, std::string_view title,
                       const std::optional<ModelIdentity>& model, std::string_view settings,
                       int64_t created, int64_t updated) {
  check_settings(settings, "session");
  Stmt add(s,
           "INSERT INTO sessions (title, model_id, settings, created_ms, updated_ms) VALUES (?, "
           "?, ?, ?, ?) RETURNING id");
  add.bind(1, title);
  if (model) {
    add.bind(2, upsert_model_row(s, *model));
  } else {
    add.bind_null(2);
  }
  add.bind(3, or_empty_object(settings)).bind(4, created).bind(5, updated);
  if (!add.step()) s.fail(SQLITE_ERROR, "adding a session");
  return add.i64(0);
}

void touch_session(const Store::Impl& s, int64_t session_id, int64_t when) {
  Stmt u(s, "UPDATE sessions SET updated_ms = MAX(updated_ms, ?) WHERE id = ?");
  u.bind(1, when).bind(2, session_id);
  u.run();
}

}  // namespace

int64_t Store::upsert_model(const ModelIdentity& model) {
  Transaction txn(*impl_);
  const int64_t id = upsert_model_row(*impl_, model);
  txn.commit();
  return id;
}

int64_t Store::create_session(std::string_view title, const std::optional<ModelIdentity>& model,
                              std::string_view settings_json) {
  Transaction txn(*impl_);
  const int64_t now = unix_time_ms();
  const int64_t id = insert_session(*impl_, title, model, settings_json, now, now);
  txn.commit();
  return id;
}

void Store::rename_session(int64_t session_id, std::string_view title) {
  Transaction txn(*impl_);
  require_session(*impl_, session_id);
  Stmt u(*impl_, "UPDATE sessions SET title = ?, updated_ms = ? WHERE id = ?");
  u.bind(1, title).bind(2, unix_time_ms()).bind(3, session_id);
  u.run();
  txn.commit();
}

void Store::delete_session(int64_t session_id) {
  Transaction txn(*impl_);
  require_session(*impl_, session_id);
  Stmt d(*impl_, "DELETE FROM sessions WHERE id = ?");
  d.bind(1, session_id);
  d.run();
  impl_->exec(
      "DELETE FROM blobs WHERE NOT EXISTS "
      "(SELECT 1 FROM attachments WHERE attachments.blob_sha256 = blobs.sha256)",
      "removing unused blobs");
  txn.commit();
}

bool Store::has_session(int64_t session_id) {
  Stmt s(*impl_, "SELECT 1 FROM sessions WHERE id = ?");
  s.bind(1, session_id);
  return s.step();
}

std::vector<SessionSummary> Store::list_sessions() {
  Stmt s(*impl_,
         "SELECT s.id, s.title, s.created_ms, s.updated_ms, "
         "(SELECT count(*) FROM messages m WHERE m.session_id = s.id), "
         "md.path, md.file_size, md.content_hash, md.arch, md.name "
         "FROM sessions s LEFT JOIN models md ON md.id = s.model_id "
         "ORDER BY s.updated_ms DESC, s.id DESC");
  std::vector<SessionSummary> out;
  while (s.step()) {
    SessionSummary r;
    r.id = s.i64(0);
    r.title = s.text(1);
    r.created_ms = s.i64(2);
    r.updated_ms = s.i64(3);
    r.n_messages = static_cast<uint32_t>(s.i64(4));
    r.model = read_model(s, 5);
    out.push_back(std::move(r));
  }
  return out;
}

Session Store::load_session(int64_t session_id) {
  return load_session(session_id, LoadOptions{});
}

Session Store::load_session(int64_t session_id, const LoadOptions& options) {
  const Impl& s = *impl_;
  // One read transaction: a consistent snapshot even while another process writes.
  s.exec("BEGIN", "starting a read");
  struct EndRead {
    const Impl& s;
    ~EndRead() { sqlite3_exec(s.db, "COMMIT", nullptr, nullptr, nullptr); }
  } end_read{s};

  Session session;
  {
    Stmt q(s,
           "SELECT s.id, s.title, s.settings, s.created_ms, s.updated_ms, md.path, "
           "md.file_size, md.content_hash, md.arch, md.name FROM sessions s "
           "LEFT JOIN models md ON md.id = s.model_id WHERE s.id = ?");
    q.bind(1, session_id);
    if (!q.step()) {
      throw Error(ErrorKind::bad_input,
                  s.path.string() + ": no session " + std::to_string(session_id));
    }
    session.id = q.i64(0);
    session.title = q.text(1);
    session.settings_json = q.text(2);
    session.created_ms = q.i64(3);
    session.updated_ms = q.i64(4);
    session.model = read_model(q, 5);
  }
  Stmt q(s,
         "SELECT id, role, content, state, n_tokens, prompt_ms, generate_ms, first_token_ms, "
         "stop_reason, settings, created_ms, updated_ms FROM messages WHERE session_id = ? "
         "ORDER BY seq");
  q.bind(1, session_id);
  Stmt att(s,
           "SELECT a.kind, a.file_name, a.mime_type, a.blob_sha256, b.size, "
           "CASE WHEN ?2 THEN b.data END, a.kept_units FROM attachments a JOIN blobs b ON "
           "b.sha256 = a.blob_sha256 WHERE a.message_id = ?1 ORDER BY a.seq");
  Stmt tr(s, "SELECT encoding, data FROM traces WHERE message_id = ?");
  while (q.step()) {
    Message m;
    m.id = q.i64(0);
    m.role = q.text(1);
    m.content = q.text(2);
    const std::string state = q.text(3);
    const auto parsed = parse_message_state(state);
    if (!parsed) {
      throw Error(ErrorKind::bad_input, s.path.string() + ": message " + std::to_string(m.id) +
                                            " has an unknown state \"" + state + "\"");
    }
    m.state = *parsed;
    m.n_tokens = static_cast<uint32_t>(q.i64(4));
    m.timings.prompt_ms = q.f64(5);
    m.timings.generate_ms = q.f64(6);
    m.timings.first_token_ms = q.f64(7);
    m.stop_reason = q.text(8);
    m.settings_json = q.text(9);
    m.created_ms = q.i64(10);
    m.updated_ms = q.i64(11);
    att.reset();
    att.bind(1, m.id).bind(2, int64_t{options.attachment_data ? 1 : 0});
    while (att.step()) {
      Attachment a;
      a.kind = att.text(0);
      a.file_name = att.text(1);
      a.mime_type = att.text(2);
      a.sha256 = att.text(3);
      a.size = static_cast<uint64_t>(att.i64(4));
      const int64_t kept = att.i64(6);
      if (kept < 0 || kept > int64_t{UINT32_MAX}) {
        throw Error(ErrorKind::bad_input, s.path.string() + ": attachment \"" + a.file_name +
                                              "\" of message " + std::to_string(m.id) + " keeps " +
                                              std::to_string(kept) + " units");
      }
      a.kept_units = static_cast<uint32_t>(kept);
      if (options.attachment_data) {
        a.data = att.blob(5);
        if (a.data.size() != a.size) {
          throw Error(ErrorKind::bad_input, s.path.string() + ": blob " + a.sha256 + " holds " +
                                                std::to_string(a.data.size()) + " bytes, not " +
                                                std::to_string(a.size));
        }
      }
      m.attachments.push_back(std::move(a));
    }
    if (options.traces) {
      tr.reset();
      tr.bind(1, m.id);
      if (tr.step()) {
        const std::vector<uint8_t> data = tr.blob(1);
        auto decoded =
            store_detail::decode_trace(data, static_cast<uint32_t>(tr.i64(0)),
                                       s.path.string() + ": message " + std::to_string(m.id));
        m.trace = std::move(decoded.trace);
        m.token_texts = std::move(decoded.token_texts);
      }
    }
    session.messages.push_back(std::move(m));
  }
  return session;
}

// ---------------------------------------------------------------------------------------
// Messages.

int64_t Store::add_message(int64_t session_id, const Message& message) {
  Transaction txn(*impl_);
  require_session(*impl_, session_id);
  const int64_t now = unix_time_ms();
  const int64_t id = insert_message(*impl_, session_id, message, now);
  put_children(*impl_, id, message);
  touch_session(*impl_, session_id,
                message.updated_ms != 0 ? message.updated_ms
                                        : (message.created_ms != 0 ? message.created_ms : now));
  txn.commit();
  return id;
}

int64_t Store::begin_message(int64_t session_id, std::string_view settings_json) {
  Transaction txn(*impl_);
  require_session(*impl_, session_id);
  Message m;
  m.role = "assistant";
  m.state = MessageState::streaming;
  m.settings_json = std::string(settings_json);
  const int64_t now = unix_time_ms();
  const int64_t id = insert_message(*impl_, session_id, m, now);
  touch_session(*impl_, session_id, now);
  txn.commit();
  return id;
}

void Store::flush_message(int64_t message_id, std::string_view content, uint32_t n_tokens) {
  Stmt u(*impl_,
         "UPDATE messages SET content = ?, n_tokens = ?, updated_ms = ? "
         "WHERE id = ? AND state = 'streaming'");
  u.bind(1, content).bind(2, int64_t{n_tokens}).bind(3, unix_time_ms()).bind(4, message_id);
  u.run();
  if (sqlite3_changes(impl_->db) != 1) {
    throw Error(ErrorKind::usage,
                impl_->path.string() + ": message " + std::to_string(message_id) +
                    " is not streaming (it was finished, interrupted or deleted)");
  }
}

void Store::finish_message(int64_t message_id, const Message& m) {
  if (m.state == MessageState::streaming || m.state == MessageState::unset) {
    throw Error(ErrorKind::usage,
                "finish_message: the final state must be complete, "
                "cancelled or interrupted");
  }
  check_settings(m.settings_json, "message");
  Transaction txn(*impl_);
  const int64_t now = unix_time_ms();
  Stmt u(*impl_,
         "UPDATE messages SET content = ?, state = ?, n_tokens = ?, prompt_ms = ?, "
         "generate_ms = ?, first_token_ms = ?, stop_reason = ?, settings = ?, updated_ms = ? "
         "WHERE id = ? AND state = 'streaming' RETURNING session_id");
  u.bind(1, std::string_view(m.content))
      .bind(2, message_state_name(m.state))
      .bind(3, int64_t{m.n_tokens})
      .bind(4, m.timings.prompt_ms)
      .bind(5, m.timings.generate_ms)
      .bind(6, m.timings.first_token_ms)
      .bind(7, std::string_view(m.stop_reason))
      .bind(8, or_empty_object(m.settings_json))
      .bind(9, m.updated_ms != 0 ? m.updated_ms : now)
      .bind(10, message_id);
  if (!u.step()) {
    throw Error(ErrorKind::usage,
                impl_->path.string() + ": message " + std::to_string(message_id) +
                    " is not streaming (it was finished, interrupted or deleted)");
  }
  const int64_t session_id = u.i64(0);
  u.run();
  put_children(*impl_, message_id, m);
  touch_session(*impl_, session_id, m.updated_ms != 0 ? m.updated_ms : now);
  txn.commit();
}

void Store::set_trace(int64_t message_id, const RoutingTrace& trace,
                      std::span<const std::string> token_texts) {
  Transaction txn(*impl_);
  {
    Stmt q(*impl_, "SELECT 1 FROM messages WHERE id = ?");
    q.bind(1, message_id);
    if (!q.step()) {
      throw Error(ErrorKind::bad_input,
                  impl_->path.string() + ": no message " + std::to_string(message_id));
    }
  }
  Message m;
  m.trace = trace;
  m.token_texts.assign(token_texts.begin(), token_texts.end());
  put_children(*impl_, message_id, m);
  txn.commit();
}

// ---------------------------------------------------------------------------------------
// Reading and importing.

std::vector<SearchHit> Store::search(std::string_view query, size_t limit, bool raw_fts5) {
  const std::string match = raw_fts5 ? std::string(query) : fts_all_words(query);
  if (match.empty()) throw Error(ErrorKind::usage, "search: the query has no words");
  Stmt s(*impl_,
         "SELECT m.session_id, se.title, m.id, m.role, "
         "snippet(messages_fts, 0, '[', ']', '…', 12) FROM messages_fts "
         "JOIN messages m ON m.id = messages_fts.rowid JOIN sessions se ON se.id = m.session_id "
         "WHERE messages_fts MATCH ? ORDER BY rank, m.id LIMIT ?");
  s.bind(1, std::string_view(match)).bind(2, static_cast<int64_t>(limit == 0 ? 1 : limit));
  std::vector<SearchHit> out;
  try {
    while (s.step()) {
      SearchHit h;
      h.session_id = s.i64(0);
      h.session_title = s.text(1);
      h.message_id = s.i64(2);
      h.role = s.text(3);
      h.snippet = s.text(4);
      out.push_back(std::move(h));
    }
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::usage) throw;
    throw Error(ErrorKind::usage, "search: bad query \"" + std::string(query) + "\" (" +
                                      sqlite3_errmsg(impl_->db) + ")");
  }
  return out;
}

std::vector<uint8_t> Store::blob(std::string_view sha256) {
  Stmt s(*impl_, "SELECT data FROM blobs WHERE sha256 = ?");
  s.bind(1, sha256);
  if (!s.step()) {
    throw Error(ErrorKind::bad_input, impl_->path.string() + ": no blob " + std::string(sha256));
  }
  return s.blob(0);
}

std::optional<TraceStorage> Store::trace_storage(int64_t message_id) {
  Stmt s(*impl_,
         "SELECT n_tokens, encoding, raw_bytes, length(data) FROM traces WHERE message_id = ?");
  s.bind(1, message_id);
  if (!s.step()) return std::nullopt;
  TraceStorage t;
  t.n_tokens = static_cast<uint32_t>(s.i64(0));
  t.encoding = static_cast<uint32_t>(s.i64(1));
  t.raw_bytes = static_cast<uint64_t>(s.i64(2));
  t.disk_bytes = static_cast<uint64_t>(s.i64(3));
  return t;
}

int64_t Store::import_session(const Session& session) {
  Transaction txn(*impl_);
  const int64_t now = unix_time_ms();
  const int64_t created = session.created_ms != 0 ? session.created_ms : now;
  const int64_t id =
      insert_session(*impl_, session.title, session.model, session.settings_json, created,
                     session.updated_ms != 0 ? session.updated_ms : created);
  for (const Message& m : session.messages) {
    if (m.state == MessageState::streaming) {
      throw Error(ErrorKind::bad_input, "import: a message is still streaming");
    }
    const int64_t mid = insert_message(*impl_, id, m, now);
    put_children(*impl_, mid, m);
  }
  txn.commit();
  return id;
}

std::vector<std::string> Store::integrity_problems() {
  Stmt s(*impl_, "PRAGMA integrity_check");
  std::vector<std::string> out;
  while (s.step()) {
    std::string line = s.text(0);
    if (line != "ok") out.push_back(std::move(line));
  }
  return out;
}

fs::path Store::move_aside(const fs::path& path) {
  const std::string stamp = [] {
    std::string t = format_iso8601_ms(unix_time_ms());  // 2026-11-29T06:40:19.123Z
    std::erase(t, ':');
    return t;
  }();
  const fs::path target = path.string() + ".corrupt-" + stamp;
  std::error_code ec;
  if (fs::exists(target, ec)) {
    throw Error(ErrorKind::io, target.string() + ": already exists");
  }
  fs::rename(path, target, ec);
  if (ec) throw Error(ErrorKind::io, path.string() + ": cannot move aside: " + ec.message());
  for (const char* suffix : {"-wal", "-shm"}) {
    const fs::path side = path.string() + suffix;
    if (fs::exists(side, ec)) {
      fs::rename(side, target.string() + suffix, ec);
      if (ec) throw Error(ErrorKind::io, side.string() + ": cannot move aside: " + ec.message());
    }
  }
  return target;
}

}  // namespace es
