// The session store's schema, one migration per version (store_schema.h). Never edit a
// migration that has shipped: add a new one, and bump Store::schema_version.
#include "store/store_schema.h"

#include <sqlite3.h>

#include <array>
#include <string>

#include "expertscope/error.h"

namespace es::store_detail {

namespace {

// Version 1: models, sessions, messages, attachments and their content-addressed blobs.
// Times are Unix milliseconds (UTC); settings are JSON object texts.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE models (
  id           INTEGER PRIMARY KEY,
  path         TEXT    NOT NULL,
  file_size    INTEGER NOT NULL CHECK (file_size >= 0),
  content_hash TEXT    NOT NULL,
  arch         TEXT    NOT NULL,
  name         TEXT    NOT NULL
);
CREATE INDEX models_by_hash ON models (content_hash);
CREATE TABLE sessions (
  id         INTEGER PRIMARY KEY,
  title      TEXT    NOT NULL,
  model_id   INTEGER REFERENCES models (id) ON DELETE SET NULL,
  settings   TEXT    NOT NULL DEFAULT '{}',
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE messages (
  id             INTEGER PRIMARY KEY,
  session_id     INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  seq            INTEGER NOT NULL,
  role           TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  content        TEXT    NOT NULL,
  state          TEXT    NOT NULL
                 CHECK (state IN ('complete', 'streaming', 'interrupted', 'cancelled')),
  n_tokens       INTEGER NOT NULL DEFAULT 0,
  prompt_ms      REAL    NOT NULL DEFAULT 0,
  generate_ms    REAL    NOT NULL DEFAULT 0,
  first_token_ms REAL    NOT NULL DEFAULT 0,
  stop_reason    TEXT    NOT NULL DEFAULT '',
  settings       TEXT    NOT NULL DEFAULT '{}',
  created_ms     INTEGER NOT NULL,
  updated_ms     INTEGER NOT NULL,
  UNIQUE (session_id, seq)
);
CREATE INDEX messages_by_state ON messages (state);
CREATE TABLE blobs (
  sha256 TEXT    PRIMARY KEY,
  size   INTEGER NOT NULL,
  data   BLOB    NOT NULL
);
CREATE TABLE attachments (
  id          INTEGER PRIMARY KEY,
  message_id  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  kind        TEXT    NOT NULL,
  file_name   TEXT    NOT NULL,
  mime_type   TEXT    NOT NULL,
  blob_sha256 TEXT    NOT NULL REFERENCES blobs (sha256),
  UNIQUE (message_id, seq)
);
CREATE INDEX attachments_by_blob ON attachments (blob_sha256);
)sql";

// Version 2: the routing trace of each message, in a versioned compressed encoding
// (store/trace_codec.h), with the text of each token.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE traces (
  message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  encoding   INTEGER NOT NULL,
  n_tokens   INTEGER NOT NULL,
  raw_bytes  INTEGER NOT NULL,
  data       BLOB    NOT NULL
);
)sql";

// Version 3: full-text search over message text (FTS5, external content: the index holds
// no second copy of the text), kept current by triggers, built for existing messages.
constexpr std::string_view kV3 = R"sql(
CREATE VIRTUAL TABLE messages_fts USING fts5 (
  content, content = 'messages', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
)sql";

// Version 4: a text or PDF attachment cut to fit the context keeps its whole content and
// records how many units (pages of a PDF, lines of text) reached the model; 0: all.
constexpr std::string_view kV4 = R"sql(
ALTER TABLE attachments ADD COLUMN kept_units INTEGER NOT NULL DEFAULT 0 CHECK (kept_units >= 0);
)sql";

constexpr std::array<std::string_view, 4> kMigrations = {kV1, kV2, kV3, kV4};

}  // namespace

std::span<const std::string_view> migrations() noexcept {
  return kMigrations;
}

void exec_script(const std::filesystem::path& path, std::string_view sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::string error;
  if (rc == SQLITE_OK) {
    char* message = nullptr;
    rc = sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) error = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
  } else {
    error = sqlite3_errstr(rc);
  }
  sqlite3_close_v2(db);
  if (rc != SQLITE_OK) throw Error(ErrorKind::bad_input, path.string() + ": " + error);
}

}  // namespace es::store_detail
