#include "ops/journal.h"

#include <pwd.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <random>

namespace vecsafe::ops {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO journal_meta (key, value) VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS journal (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  op_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  params TEXT NOT NULL,
  result TEXT NOT NULL,
  error TEXT NOT NULL,
  backup_id TEXT NOT NULL,
  duration_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_time ON journal (time_ms);
CREATE INDEX IF NOT EXISTS journal_op ON journal (op_id);
CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal
  BEGIN SELECT RAISE(ABORT, 'the operation journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON journal
  BEGIN SELECT RAISE(ABORT, 'the operation journal is append-only'); END;
)sql";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Status SqlError(sqlite3* db, std::string_view what, const std::filesystem::path& path) {
  return IoError(std::string(what) + " on the operation journal " + path.string() + ": " +
                     (db != nullptr ? sqlite3_errmsg(db) : "out of memory"),
                 "Check that the state folder is writable and not on a full disk.");
}

// RAII for prepared statements.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t != nullptr ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace

nlohmann::json JournalEntry::ToJson() const {
  nlohmann::json j = {
      {"id", id},       {"time_ms", time_ms},    {"op_id", op_id},   {"actor", actor},
      {"kind", kind},   {"target", target},      {"params", params}, {"result", result},
      {"error", error}, {"backup_id", backup_id}};
  j["duration_ms"] = duration_ms >= 0 ? nlohmann::json(duration_ms) : nlohmann::json(nullptr);
  return j;
}

bool IsSecretKey(std::string_view key) {
  const std::string k = Lower(key);
  static constexpr std::string_view kWords[] = {
      "password", "passwd",     "secret",        "token",       "api_key",    "api-key",
      "apikey",   "credential", "authorization", "private_key", "access_key", "session_key"};
  for (std::string_view w : kWords) {
    if (k.find(w) != std::string::npos) return true;
  }
  return k == "key" || k == "auth" || k == "qdrant_api_key";
}

nlohmann::json RedactSecrets(const nlohmann::json& value) {
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (IsSecretKey(it.key()) && !it.value().is_null() && !it.value().is_boolean()) {
        out[it.key()] = "***";
      } else {
        out[it.key()] = RedactSecrets(it.value());
      }
    }
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(RedactSecrets(v));
    return out;
  }
  return value;
}

std::string CliActor() {
  // The daemon runs verbs as child processes and passes who asked for them.
  if (const char* a = std::getenv("VECSAFE_ACTOR"); a != nullptr && *a != '\0') return a;
  std::string user;
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &found) == 0 && found != nullptr) {
    user = found->pw_name;
  } else {
    user = "uid" + std::to_string(getuid());
  }
  return "cli:" + user;
}

std::filesystem::path DefaultStateDir() {
  if (const char* s = std::getenv("VECSAFE_STATE_DIR"); s != nullptr && *s != '\0') return s;
  if (const char* s = std::getenv("XDG_STATE_HOME"); s != nullptr && *s != '\0') {
    return std::filesystem::path(s) / "vecsafe";
  }
  if (const char* s = std::getenv("HOME"); s != nullptr && *s != '\0') {
    return std::filesystem::path(s) / ".local" / "state" / "vecsafe";
  }
  return "/var/lib/vecsafe";
}

std::string NewOperationId() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  char buf[24];
  std::snprintf(buf, sizeof(buf), "op-%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

Result<std::unique_ptr<Journal>> Journal::Open(const std::filesystem::path& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    return ErrnoToStatus(ec.value(), "creating the state folder", state_dir.string());
  }
  const std::filesystem::path path = state_dir / "journal.sqlite3";
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqlError(db, "opening", path);
    sqlite3_close(db);
    return st;
  }
  sqlite3_busy_timeout(db, 10000);
  char* err = nullptr;
  std::string setup = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; ";
  setup += kSchema;
  rc = sqlite3_exec(db, setup.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close(db);
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) {
      return DataLoss("the operation journal " + path.string() + " is damaged: " + msg,
                      "Move the file aside; vecsafe starts a new journal.");
    }
    return IoError("cannot set up the operation journal " + path.string() + ": " + msg,
                   "Check that the state folder is writable.");
  }
  return std::unique_ptr<Journal>(new Journal(db, path));
}

Journal::~Journal() { sqlite3_close(db_); }

Result<JournalEntry> Journal::Append(JournalEntry entry) {
  if (entry.time_ms == 0) entry.time_ms = NowMs();
  if (entry.op_id.empty()) entry.op_id = NewOperationId();
  entry.params = RedactSecrets(entry.params.is_null() ? nlohmann::json::object() : entry.params);
  const std::string params = entry.params.dump();
  std::lock_guard lock(mu_);
  Stmt st;
  const char* sql =
      "INSERT INTO journal (time_ms, op_id, actor, kind, target, params, result, error, "
      "backup_id, duration_ms) VALUES (?,?,?,?,?,?,?,?,?,?)";
  if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) {
    return SqlError(db_, "preparing an append", path_);
  }
  sqlite3_bind_int64(st.s, 1, entry.time_ms);
  sqlite3_bind_text(st.s, 2, entry.op_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 3, entry.actor.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 4, entry.kind.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 5, entry.target.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 6, params.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 7, entry.result.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 8, entry.error.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 9, entry.backup_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.s, 10, entry.duration_ms);
  if (sqlite3_step(st.s) != SQLITE_DONE) return SqlError(db_, "appending", path_);
  entry.id = sqlite3_last_insert_rowid(db_);
  return entry;
}

Result<std::vector<JournalEntry>> Journal::Query(const JournalQuery& q) {
  if (q.limit < 1 || q.limit > 10000) {
    return InvalidArgument("journal query limit " + std::to_string(q.limit) + " is out of range",
                           "Use a limit from 1 to 10000.");
  }
  std::string sql =
      "SELECT id, time_ms, op_id, actor, kind, target, params, result, error, backup_id, "
      "duration_ms FROM journal WHERE id > ?1";
  if (q.since_ms) sql += " AND time_ms >= ?2";
  if (q.until_ms) sql += " AND time_ms < ?3";
  if (!q.kind.empty()) sql += " AND kind = ?4";
  if (!q.target.empty()) sql += " AND target = ?5";
  if (!q.op_id.empty()) sql += " AND op_id = ?6";
  sql += " ORDER BY id DESC LIMIT ?7";
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
    return SqlError(db_, "preparing a query", path_);
  }
  sqlite3_bind_int64(st.s, 1, q.after_id);
  if (q.since_ms) sqlite3_bind_int64(st.s, 2, *q.since_ms);
  if (q.until_ms) sqlite3_bind_int64(st.s, 3, *q.until_ms);
  if (!q.kind.empty()) sqlite3_bind_text(st.s, 4, q.kind.c_str(), -1, SQLITE_TRANSIENT);
  if (!q.target.empty()) sqlite3_bind_text(st.s, 5, q.target.c_str(), -1, SQLITE_TRANSIENT);
  if (!q.op_id.empty()) sqlite3_bind_text(st.s, 6, q.op_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(st.s, 7, q.limit);
  std::vector<JournalEntry> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    JournalEntry e;
    e.id = sqlite3_column_int64(st.s, 0);
    e.time_ms = sqlite3_column_int64(st.s, 1);
    e.op_id = ColumnText(st.s, 2);
    e.actor = ColumnText(st.s, 3);
    e.kind = ColumnText(st.s, 4);
    e.target = ColumnText(st.s, 5);
    e.params = nlohmann::json::parse(ColumnText(st.s, 6), nullptr, /*allow_exceptions=*/false);
    if (e.params.is_discarded()) e.params = nlohmann::json::object();
    e.result = ColumnText(st.s, 7);
    e.error = ColumnText(st.s, 8);
    e.backup_id = ColumnText(st.s, 9);
    e.duration_ms = sqlite3_column_int64(st.s, 10);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "reading", path_);
  return out;
}

}  // namespace vecsafe::ops
