// A small read-only SQLite handle for Chroma's chroma.sqlite3.
//
// Opens with a `file:...?mode=ro` URI so nothing can ever be written (no
// migrations, no journal recovery by us). Statements are short: Chroma runs
// the file in rollback-journal mode, where an open read transaction blocks
// its writers, so callers must not hold a statement open across slow work.
#ifndef VECSAFE_SOURCES_CHROMA_SQLITE_READER_H_
#define VECSAFE_SOURCES_CHROMA_SQLITE_READER_H_

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vecsafe/status.h"

namespace vecsafe::chroma {

// One result row; column accessors are valid only inside the row callback.
class SqlRow {
 public:
  explicit SqlRow(sqlite3_stmt* stmt) : stmt_(stmt) {}
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int Type(int col) const { return sqlite3_column_type(stmt_, col); }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const;
  std::string_view Blob(int col) const;

 private:
  sqlite3_stmt* stmt_;
};

class SqliteReader {
 public:
  // Opens `file` read-only. Errors: kNotFound (no file), kPermissionDenied,
  // kDataLoss (not a database).
  static Result<std::unique_ptr<SqliteReader>> Open(const std::string& file,
                                                    int busy_timeout_ms = 2000);
  ~SqliteReader();
  SqliteReader(const SqliteReader&) = delete;
  SqliteReader& operator=(const SqliteReader&) = delete;

  // Runs `sql` and calls `row` for each result row. Errors name the query.
  Status Query(std::string_view sql, const std::function<void(const SqlRow&)>& row);
  // True if a table or view of that name exists.
  Result<bool> HasTable(std::string_view name);
  // True if `table` has a column `column`.
  Result<bool> HasColumn(std::string_view table, std::string_view column);

  sqlite3* handle() { return db_; }
  const std::string& file() const { return file_; }

 private:
  SqliteReader(sqlite3* db, std::string file) : db_(db), file_(std::move(file)) {}
  sqlite3* db_;
  std::string file_;
};

// Escapes a filesystem path for use in a SQLite `file:` URI.
std::string SqliteUriPath(std::string_view path);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_SQLITE_READER_H_
