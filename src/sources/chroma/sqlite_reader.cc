#include "sources/chroma/sqlite_reader.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>

namespace vecsafe::chroma {

std::string SqlRow::Text(int col) const {
  const unsigned char* t = sqlite3_column_text(stmt_, col);
  if (t == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(t),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string_view SqlRow::Blob(int col) const {
  const void* b = sqlite3_column_blob(stmt_, col);
  if (b == nullptr) return {};
  return std::string_view(static_cast<const char*>(b),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string SqliteUriPath(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::unique_ptr<SqliteReader>> SqliteReader::Open(const std::string& file,
                                                         int busy_timeout_ms) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return ErrnoToStatus(errno, "open", file);
  sqlite3* db = nullptr;
  const std::string uri = "file:" + SqliteUriPath(file) + "?mode=ro";
  const int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    if (rc == SQLITE_PERM || rc == SQLITE_CANTOPEN) {
      return PermissionDenied("cannot open " + file + " read-only: " + msg,
                              "Run vecsafe as a user that can read the Chroma folder.");
    }
    return DataLoss("cannot open " + file + ": " + msg);
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  std::unique_ptr<SqliteReader> r(new SqliteReader(db, file));
  // Touch the schema now so "not a database" is reported at open time.
  Status s = r->Query("SELECT count(*) FROM sqlite_master", [](const SqlRow&) {});
  if (!s.ok()) return s;
  return r;
}

SqliteReader::~SqliteReader() { sqlite3_close(db_); }

Status SqliteReader::Query(std::string_view sql, const std::function<void(const SqlRow&)>& row) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    const int ext = sqlite3_extended_errcode(db_);
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    if (ext == SQLITE_NOTADB || ext == SQLITE_CORRUPT) {
      return DataLoss(fmt::format("{} is not a readable SQLite database: {}", file_, msg),
                      "The file is damaged or not Chroma's; restore chroma.sqlite3 from a backup.");
    }
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      return Unavailable(fmt::format("{} is locked: {}", file_, msg),
                         "Chroma is writing; retry in a moment.");
    }
    return DataLoss(fmt::format("query on {} failed: {} ({})", file_, msg, sql));
  }
  const SqlRow r(stmt);
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) row(r);
  const int ext = sqlite3_extended_errcode(db_);
  std::string msg = sqlite3_errmsg(db_);
  sqlite3_finalize(stmt);
  if (rc == SQLITE_DONE) return Status::OK();
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    return Unavailable(fmt::format("{} is locked: {}", file_, msg),
                       "Chroma is writing; retry in a moment.");
  }
  if ((ext & 0xff) == SQLITE_CORRUPT || ext == SQLITE_NOTADB) {
    return DataLoss(fmt::format("{} is damaged: {} (while running: {})", file_, msg, sql),
                    "Restore chroma.sqlite3 from a backup; `vecsafe check chroma PATH` lists what "
                    "else is affected.");
  }
  return IoError(fmt::format("reading {} failed: {} ({})", file_, msg, sql));
}

Result<bool> SqliteReader::HasTable(std::string_view name) {
  bool found = false;
  const std::string sql = fmt::format(
      "SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = '{}'", name);
  VS_RETURN_IF_ERROR(Query(sql, [&](const SqlRow&) { found = true; }));
  return found;
}

Result<bool> SqliteReader::HasColumn(std::string_view table, std::string_view column) {
  bool found = false;
  const std::string sql = fmt::format("PRAGMA table_info('{}')", table);
  VS_RETURN_IF_ERROR(Query(sql, [&](const SqlRow& r) {
    if (r.Text(1) == column) found = true;
  }));
  return found;
}

}  // namespace vecsafe::chroma
