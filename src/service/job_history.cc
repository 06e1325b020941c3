#include "service/job_history.h"

#include <sqlite3.h>

namespace vecsafe::service {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, kind TEXT NOT NULL,
  target TEXT NOT NULL, trigger_ TEXT NOT NULL, op_id TEXT NOT NULL,
  started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
  result TEXT NOT NULL, error TEXT NOT NULL, bytes_read INTEGER NOT NULL,
  bytes_added INTEGER NOT NULL, snapshot_id TEXT NOT NULL, details TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_job ON runs (job, id);
CREATE TABLE IF NOT EXISTS schedule_state (job TEXT PRIMARY KEY, last_fire_ms INTEGER NOT NULL);
)sql";

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

std::string Col(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t != nullptr ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace

nlohmann::json JobRun::ToJson() const {
  return {{"id", id},
          {"job", job},
          {"kind", kind},
          {"target", target},
          {"trigger", trigger},
          {"operation_id", op_id},
          {"started_ms", started_ms},
          {"finished_ms", finished_ms},
          {"duration_ms", duration_ms},
          {"result", result},
          {"error", error},
          {"bytes_read", bytes_read},
          {"bytes_added", bytes_added},
          {"snapshot_id", snapshot_id},
          {"details", details}};
}

Result<std::unique_ptr<JobHistory>> JobHistory::Open(const std::filesystem::path& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return ErrnoToStatus(ec.value(), "creating the state folder", state_dir.string());
  const auto path = state_dir / "jobs.sqlite3";
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return IoError("cannot open the job history " + path.string() + ": " + msg);
  }
  sqlite3_busy_timeout(db, 10000);
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown";
    sqlite3_free(err);
    sqlite3_close(db);
    return IoError("cannot set up the job history " + path.string() + ": " + msg,
                   "Move the damaged file aside; vecsafe starts a new history.");
  }
  return std::unique_ptr<JobHistory>(new JobHistory(db, path));
}

JobHistory::~JobHistory() { sqlite3_close(db_); }

Result<int64_t> JobHistory::Record(const JobRun& r) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO runs (job, kind, target, trigger_, op_id, started_ms, "
                         "finished_ms, duration_ms, result, error, bytes_read, bytes_added, "
                         "snapshot_id, details) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return IoError(std::string("job history: ") + sqlite3_errmsg(db_));
  }
  const std::string details = r.details.dump();
  int i = 1;
  for (const std::string* s : {&r.job, &r.kind, &r.target, &r.trigger, &r.op_id}) {
    sqlite3_bind_text(st.s, i++, s->c_str(), -1, SQLITE_TRANSIENT);
  }
  sqlite3_bind_int64(st.s, i++, r.started_ms);
  sqlite3_bind_int64(st.s, i++, r.finished_ms);
  sqlite3_bind_int64(st.s, i++, r.duration_ms);
  sqlite3_bind_text(st.s, i++, r.result.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, i++, r.error.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.s, i++, r.bytes_read);
  sqlite3_bind_int64(st.s, i++, r.bytes_added);
  sqlite3_bind_text(st.s, i++, r.snapshot_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, i++, details.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_DONE) {
    return IoError(std::string("job history: ") + sqlite3_errmsg(db_));
  }
  return sqlite3_last_insert_rowid(db_);
}

Result<std::vector<JobRun>> JobHistory::Runs(const std::string& job, int limit) {
  std::lock_guard lock(mu_);
  Stmt st;
  std::string sql =
      "SELECT id, job, kind, target, trigger_, op_id, started_ms, finished_ms, duration_ms, "
      "result, error, bytes_read, bytes_added, snapshot_id, details FROM runs";
  if (!job.empty()) sql += " WHERE job = ?1";
  sql += " ORDER BY id DESC LIMIT ?2";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
    return IoError(std::string("job history: ") + sqlite3_errmsg(db_));
  }
  if (!job.empty()) sqlite3_bind_text(st.s, 1, job.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(st.s, 2, limit);
  std::vector<JobRun> out;
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    JobRun r;
    r.id = sqlite3_column_int64(st.s, 0);
    r.job = Col(st.s, 1);
    r.kind = Col(st.s, 2);
    r.target = Col(st.s, 3);
    r.trigger = Col(st.s, 4);
    r.op_id = Col(st.s, 5);
    r.started_ms = sqlite3_column_int64(st.s, 6);
    r.finished_ms = sqlite3_column_int64(st.s, 7);
    r.duration_ms = sqlite3_column_int64(st.s, 8);
    r.result = Col(st.s, 9);
    r.error = Col(st.s, 10);
    r.bytes_read = sqlite3_column_int64(st.s, 11);
    r.bytes_added = sqlite3_column_int64(st.s, 12);
    r.snapshot_id = Col(st.s, 13);
    r.details = nlohmann::json::parse(Col(st.s, 14), nullptr, false);
    if (r.details.is_discarded()) r.details = nlohmann::json::object();
    out.push_back(std::move(r));
  }
  return out;
}

Status JobHistory::SetLastFire(const std::string& job, int64_t fire_ms) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO schedule_state (job, last_fire_ms) VALUES (?1, ?2) "
                         "ON CONFLICT(job) DO UPDATE SET last_fire_ms = excluded.last_fire_ms",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return IoError(std::string("job history: ") + sqlite3_errmsg(db_));
  }
  sqlite3_bind_text(st.s, 1, job.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.s, 2, fire_ms);
  if (sqlite3_step(st.s) != SQLITE_DONE) {
    return IoError(std::string("job history: ") + sqlite3_errmsg(db_));
  }
  return Status::OK();
}

std::optional<int64_t> JobHistory::LastFire(const std::string& job) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT last_fire_ms FROM schedule_state WHERE job = ?1", -1, &st.s,
                         nullptr) != SQLITE_OK) {
    return std::nullopt;
  }
  sqlite3_bind_text(st.s, 1, job.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) == SQLITE_ROW) return sqlite3_column_int64(st.s, 0);
  return std::nullopt;
}

}  // namespace vecsafe::service
