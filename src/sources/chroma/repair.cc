#include "sources/chroma/repair.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <set>

#include "io/atomic_file.h"
#include "ops/journal.h"
#include "sources/chroma/checker.h"
#include "sources/chroma/chroma_model.h"
#include "sources/chroma/hot_backup.h"

namespace vecsafe::chroma {
namespace {

namespace fs = std::filesystem;

std::string UtcStamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Status Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return IoError("repair statement failed: " + msg + " (" + sql.substr(0, 120) + ")");
  }
  return Status::OK();
}

std::string Q(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// Applies the SQLite fixes in one transaction.
Status ApplySqlFixes(const std::string& db_file, const ChromaDirectory& d,
                     const std::vector<RepairAction*>& actions) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db);
    sqlite3_close(db);
    return IoError("cannot open " + db_file + " for repair: " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  Status s = Exec(db, "BEGIN IMMEDIATE");
  for (RepairAction* a : actions) {
    if (!s.ok()) break;
    if (a->code == "WAL_BELOW_PURGE_POINT") {
      for (const auto& c : d.collections) {
        if (c.name != a->target || c.segments.empty()) continue;
        int64_t point = INT64_MAX;
        for (size_t i : c.segments) point = std::min(point, d.segments[i].max_seq_id.value_or(0));
        s = Exec(db, fmt::format("DELETE FROM embeddings_queue WHERE seq_id < {} AND (topic = {} "
                                 "OR topic LIKE {})",
                                 point, Q(c.id), Q("%/" + c.id)));
      }
    } else if (a->code == "WAL_ORPHAN_ROWS") {
      std::string ids;
      for (const auto& c : d.collections) {
        ids += (ids.empty() ? "" : " AND ") +
               fmt::format("topic <> {} AND topic NOT LIKE {}", Q(c.id), Q("%/" + c.id));
      }
      s = Exec(db, "DELETE FROM embeddings_queue" + (ids.empty() ? "" : " WHERE " + ids));
    } else if (a->code == "PURGE_DISABLED") {
      s = Exec(db,
               "UPDATE embeddings_queue_config SET config_json_str = json_set(config_json_str, "
               "'$.automatically_purge', json('true'))");
    } else if (a->code == "FTS_DRIFT") {
      s = Exec(db,
               "DELETE FROM embedding_fulltext_search; INSERT INTO "
               "embedding_fulltext_search(rowid, string_value) SELECT id, string_value FROM "
               "embedding_metadata WHERE key = 'chroma:document' AND string_value IS NOT NULL");
    }
    if (s.ok()) a->done = true;
  }
  if (s.ok()) {
    s = Exec(db, "COMMIT");
  } else {
    Exec(db, "ROLLBACK").IgnoreError();
    for (RepairAction* a : actions) {
      a->done = false;
      a->error = s.message();
    }
  }
  sqlite3_close(db);
  return s;
}

// Compacts `db_file`: VACUUM INTO a temporary file in the same folder (so the
// final rename is atomic and no other filesystem fills up), checked, given
// the original's mode and owner, then renamed over the original. The caller
// has made a backup copy and made sure Chroma is stopped.
Status Vacuum(const std::string& db_file) {
  std::error_code ec;
  const fs::path file(db_file);
  const std::string dir = file.parent_path().string();
  const std::string tmp = dir + "/" + MakeTemporaryFileName();
  struct stat st {};
  if (::stat(db_file.c_str(), &st) != 0) return ErrnoToStatus(errno, "stat", db_file);
  struct statvfs vfs {};
  // The compacted copy is at most as large as the file.
  if (::statvfs(dir.c_str(), &vfs) == 0 &&
      static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize <
          static_cast<uint64_t>(st.st_size) + (uint64_t{16} << 20)) {
    return Status(
        ErrorCode::kNoSpace,
        fmt::format("not enough free space in {} for VACUUM ({} bytes needed)", dir, st.st_size),
        "Free space on that filesystem, then run the repair again.");
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db);
    sqlite3_close(db);
    return IoError("cannot open " + db_file + " for VACUUM: " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  // Sorter and index temp files of VACUUM go beside the database too
  // (SQLite reads SQLITE_TMPDIR whenever it makes a temporary file).
  const char* old_tmpdir = std::getenv("SQLITE_TMPDIR");
  const std::string saved = old_tmpdir ? old_tmpdir : "";
  ::setenv("SQLITE_TMPDIR", dir.c_str(), 1);
  Status s = Exec(db, "VACUUM INTO " + Q(tmp));
  if (old_tmpdir) {
    ::setenv("SQLITE_TMPDIR", saved.c_str(), 1);
  } else {
    ::unsetenv("SQLITE_TMPDIR");
  }
  sqlite3_close(db);
  if (s.ok()) {
    sqlite3* check = nullptr;
    std::string result;
    if (sqlite3_open_v2(tmp.c_str(), &check, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(check, "PRAGMA quick_check", -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        const unsigned char* t = sqlite3_column_text(stmt, 0);
        result = t ? reinterpret_cast<const char*>(t) : "";
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(check);
    if (result != "ok") s = DataLoss("the VACUUM copy does not pass quick_check: " + result);
  }
  if (s.ok() && (::chmod(tmp.c_str(), st.st_mode & 07777) != 0 ||
                 (::chown(tmp.c_str(), st.st_uid, st.st_gid) != 0 && errno != EPERM))) {
    s = ErrnoToStatus(errno, "chmod/chown", tmp);
  }
  if (s.ok()) {
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) s = ErrnoToStatus(errno, "fsync", tmp);
    if (fd >= 0) ::close(fd);
  }
  if (s.ok()) {
    fs::rename(tmp, db_file, ec);
    if (ec) s = IoError("cannot replace " + db_file + ": " + ec.message());
  }
  if (s.ok()) s = SyncDirectory(dir);
  fs::remove(tmp, ec);
  return s;
}

}  // namespace

nlohmann::json RepairReport::ToJson() const {
  nlohmann::json acts = nlohmann::json::array();
  for (const auto& a : actions) {
    acts.push_back({{"code", a.code},
                    {"what", a.what},
                    {"target", a.target},
                    {"done", a.done},
                    {"error", a.error}});
  }
  return {{"actions", acts},
          {"quarantine", quarantine},
          {"findings_before", findings_before},
          {"findings_after", findings_after},
          {"not_repairable", not_repairable}};
}

Result<RepairReport> RepairChroma(const std::string& path, const RepairOptions& options) {
  VS_ASSIGN_OR_RETURN(CheckReport check, CheckChroma(path));
  VS_ASSIGN_OR_RETURN(ChromaDirectory d, LoadChromaDirectory(path));
  RepairReport report;
  report.findings_before = check.findings.size();
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec).lexically_normal();
  std::string base = abs.string();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const std::string quarantine = base + ".vecsafe-quarantine/" + UtcStamp();
  std::set<std::string> done_codes;
  for (const auto& f : check.findings) {
    if (!f.repairable) {
      report.not_repairable.push_back(f.code);
      continue;
    }
    RepairAction a;
    a.code = f.code;
    if (f.code == "ORPHAN_VECTOR_FOLDER" || f.code == "LEFTOVER_FOLDER") {
      a.target = f.segment;
      a.what = "move folder " + f.segment + " to " + quarantine + "/";
    } else if (f.code == "WAL_BELOW_PURGE_POINT") {
      a.target = f.collection;
      a.what = "purge applied WAL rows of '" + f.collection + "' by Chroma's rule";
    } else if (f.code == "WAL_ORPHAN_ROWS") {
      a.target = "embeddings_queue";
      a.what = "delete WAL rows of collections that no longer exist";
    } else if (f.code == "SQLITE_FREE_PAGES") {
      a.target = kSqliteFile;
      a.what =
          "compact chroma.sqlite3 with VACUUM (free space checked first, temporary file in "
          "the same folder)";
    } else if (f.code == "PURGE_DISABLED") {
      a.target = "embeddings_queue_config";
      a.what = "switch automatic WAL purge on";
    } else if (f.code == "FTS_DRIFT") {
      a.target = "embedding_fulltext_search";
      a.what = "rebuild the full-text index from the documents";
    } else {
      continue;
    }
    report.actions.push_back(std::move(a));
  }
  if (options.dry_run || report.actions.empty()) return report;

  const std::string db_file = base + "/" + kSqliteFile;
  VS_RETURN_IF_ERROR(RefuseWhileChromaRuns(base, "repair")
                         .WithHint("Stop Chroma, run the repair, start Chroma again. `--dry-run` "
                                   "shows the plan meanwhile."));
  report.quarantine = quarantine;
  fs::create_directories(quarantine, ec);
  if (ec) return IoError("cannot create " + quarantine + ": " + ec.message());

  auto journal = ops::Journal::Open(options.state_dir.empty() ? ops::DefaultStateDir()
                                                              : fs::path(options.state_dir));
  ops::JournalEntry start;
  start.actor = ops::CliActor();
  start.kind = "chroma.repair";
  start.target = base;
  start.result = "started";
  nlohmann::json planned = nlohmann::json::array();
  for (const auto& a : report.actions) planned.push_back(a.what);
  start.params = {{"actions", planned}, {"quarantine", quarantine}};
  std::string op_id;
  if (journal.ok()) {
    auto row = (*journal)->Append(start);
    if (row.ok()) op_id = row->op_id;
  }
  const auto t0 = std::chrono::steady_clock::now();

  std::vector<RepairAction*> sql_actions;
  RepairAction* vacuum = nullptr;
  for (auto& a : report.actions) {
    if (a.code == "SQLITE_FREE_PAGES") {
      vacuum = &a;
    } else if (a.code == "ORPHAN_VECTOR_FOLDER" || a.code == "LEFTOVER_FOLDER") {
      fs::rename(base + "/" + a.target, quarantine + "/" + a.target, ec);
      if (ec) {
        a.error = "move failed: " + ec.message();
      } else {
        a.done = true;
      }
    } else {
      sql_actions.push_back(&a);
    }
  }
  Status sql_status;
  if (!sql_actions.empty() || vacuum != nullptr) {
    // Backup of what the SQL fixes touch, on the same filesystem.
    struct statvfs vfs {};
    uint64_t db_size = fs::file_size(db_file, ec);
    if (::statvfs(quarantine.c_str(), &vfs) == 0 &&
        static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize < 2 * db_size) {
      sql_status = Status(ErrorCode::kNoSpace,
                          fmt::format("not enough space beside {} for a copy of chroma.sqlite3 "
                                      "({} bytes)",
                                      base, db_size),
                          "Free space on that filesystem, then run the repair again.");
    } else {
      sql_status = CopySqliteOnline(db_file, quarantine + "/" + kSqliteFile, HotCopyOptions{});
    }
    if (sql_status.ok() && !sql_actions.empty()) {
      sql_status = ApplySqlFixes(db_file, d, sql_actions);
    } else if (!sql_status.ok()) {
      for (RepairAction* a : sql_actions) a->error = sql_status.message();
    }
    // Last, so it also gives back the pages the purges above freed.
    if (vacuum != nullptr) {
      Status v = sql_status.ok() ? Vacuum(db_file) : sql_status;
      if (v.ok()) {
        vacuum->done = true;
      } else {
        vacuum->error = v.message();
        if (sql_status.ok()) sql_status = v;
      }
    }
  }
  bool all_ok = true;
  for (const auto& a : report.actions) all_ok &= a.done;
  auto after = CheckChroma(base);
  if (after.ok()) report.findings_after = after->findings.size();
  if (journal.ok()) {
    ops::JournalEntry end = start;
    end.op_id = op_id;
    end.result = all_ok ? "ok" : "failed";
    end.error = all_ok ? "" : sql_status.ToString();
    end.params = report.ToJson();
    end.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    (*journal)->Append(end).status().IgnoreError();
  }
  return report;
}

}  // namespace vecsafe::chroma
