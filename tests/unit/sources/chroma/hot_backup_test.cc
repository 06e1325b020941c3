#include "sources/chroma/hot_backup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "../../io/test_dir.h"

namespace vecsafe::chroma {
namespace {

int64_t Count(const std::string& file) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

std::string IntegrityCheck(const std::string& file) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// A rollback-journal database (as Chroma's) copied while another connection
// commits a row every millisecond: the copy ends, is a valid database with a
// count the writer committed, and not one write fails.
TEST(CopySqliteOnline, EndsAndNeverFailsAWriterUnderConstantWrites) {
  TestDir dir;
  const std::string src = (dir.path() / "src.sqlite3").string();
  const std::string dst = (dir.path() / "dst.sqlite3").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(src.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, b "
                         "BLOB); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c "
                         "WHERE i < 2000) INSERT INTO t(b) SELECT randomblob(2000) FROM c;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> commits{0};
  std::thread writer([&] {
    while (!stop.load()) {
      if (sqlite3_exec(db, "INSERT INTO t(b) VALUES (randomblob(100))", nullptr, nullptr,
                       nullptr) != SQLITE_OK) {
        failures.fetch_add(1);
      } else {
        commits.fetch_add(1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const int64_t before = 2000;
  HotCopyOptions o;
  o.pages_per_step = 4;  // many steps: the writer restarts the copy again and again
  o.sleep_ms = 1;
  const auto t0 = std::chrono::steady_clock::now();
  Status s = CopySqliteOnline(src, dst, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  writer.join();
  sqlite3_close(db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_LT(secs, 60.0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(commits.load(), 0);
  EXPECT_EQ(IntegrityCheck(dst), "ok");
  const int64_t n = Count(dst);
  EXPECT_GE(n, before);
  EXPECT_LE(n, before + commits.load());
}

TEST(CopySqliteOnline, MissingSourceIsNotFound) {
  TestDir dir;
  Status s = CopySqliteOnline((dir.path() / "nope.sqlite3").string(),
                              (dir.path() / "out.sqlite3").string(), HotCopyOptions{});
  EXPECT_EQ(s.code(), ErrorCode::kNotFound) << s.ToString();
}

// Right after a write, a second same-size write can land in the same tick of
// the file-timestamp clock and keep the mtime. A stamp from
// StampFolderForChanges is only returned once that cannot happen: an
// immediate same-size rewrite always changes the stamp.
TEST(StampFolderForChanges, AnyLaterWriteChangesTheStamp) {
  TestDir dir;
  const std::string f = (dir.path() / "data_level0.bin").string();
  for (int i = 0; i < 30; ++i) {
    std::ofstream(f, std::ios::trunc) << "aaaa";
    const FolderStamp s = StampFolderForChanges(dir.path().string());
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s.at("data_level0.bin").size, 4u);
    std::ofstream(f, std::ios::trunc) << "bbbb";  // same size, at once
    EXPECT_NE(StampFolder(dir.path().string()), s) << "round " << i;
  }
}

// A file replaced by rename: same name, size and even mtime can come back,
// the inode cannot.
TEST(StampFolder, SeesAFileReplacedByRename) {
  TestDir dir;
  const std::string f = (dir.path() / "index_metadata.pickle").string();
  const std::string tmp = (dir.path() / "tmp").string();
  std::ofstream(f) << "map1";
  std::ofstream(tmp) << "map2";
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, tmp.c_str(), times, 0), 0);
  const FolderStamp before = StampFolder(dir.path().string());
  ASSERT_EQ(before.size(), 2u);
  ASSERT_EQ(::rename(tmp.c_str(), f.c_str()), 0);
  const FolderStamp after = StampFolder(dir.path().string());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.at("index_metadata.pickle").size, before.at("index_metadata.pickle").size);
  EXPECT_EQ(after.at("index_metadata.pickle").mtime_ns,
            before.at("index_metadata.pickle").mtime_ns);
  EXPECT_NE(after.at("index_metadata.pickle"), before.at("index_metadata.pickle"));
}

// A child process holds `sql` open inside a transaction until told to end.
class LockHolder {
 public:
  LockHolder(const std::string& db, const char* sql) {
    int ready[2];
    int done[2];
    EXPECT_EQ(::pipe(ready), 0);
    EXPECT_EQ(::pipe(done), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(done[1]);
      sqlite3* c = nullptr;
      int rc = sqlite3_open(db.c_str(), &c);
      if (rc == SQLITE_OK) rc = sqlite3_exec(c, sql, nullptr, nullptr, nullptr);
      const char ok = rc == SQLITE_OK ? 'y' : 'n';
      (void)!::write(ready[1], &ok, 1);
      char x;
      (void)!::read(done[0], &x, 1);
      sqlite3_exec(c, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(c);
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(done[0]);
    done_ = done[1];
    char ok = 'n';
    EXPECT_EQ(::read(ready[0], &ok, 1), 1);
    ::close(ready[0]);
    EXPECT_EQ(ok, 'y') << sql;
  }
  void Release() {
    if (pid_ <= 0) return;
    ::close(done_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  ~LockHolder() { Release(); }

 private:
  pid_t pid_ = -1;
  int done_ = -1;
};

TEST(SqliteWriteLockHeld, SeesAnOpenWriteTransactionOfAnotherProcessOnly) {
  TestDir dir;
  const std::string db = (dir.path() / "chroma.sqlite3").string();
  sqlite3* c = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &c), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(c, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr),
      SQLITE_OK);
  EXPECT_FALSE(SqliteWriteLockHeld(db).value());
  {
    // A reader (SHARED lock) is no writer.
    LockHolder reader(db, "BEGIN; SELECT count(*) FROM t;");
    EXPECT_FALSE(SqliteWriteLockHeld(db).value());
    EXPECT_TRUE(WaitForNoSqliteWriter(db, 0).value());
  }
  {
    // A writer between its first write and its commit (RESERVED lock), as
    // Chroma 0.4-0.6 while they flush an HNSW index.
    LockHolder writer(db, "BEGIN; INSERT INTO t VALUES (2);");
    EXPECT_TRUE(SqliteWriteLockHeld(db).value());
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(WaitForNoSqliteWriter(db, 50).value());
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));
    writer.Release();
    EXPECT_TRUE(WaitForNoSqliteWriter(db, 1000).value());
  }
  // This process's own connection does not count (and is not disturbed:
  // the probe never closes a descriptor of the file).
  ASSERT_EQ(sqlite3_exec(c, "BEGIN; INSERT INTO t VALUES (3);", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_FALSE(SqliteWriteLockHeld(db).value());
  EXPECT_EQ(sqlite3_exec(c, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(c);
  EXPECT_EQ(SqliteWriteLockHeld((dir.path() / "none").string()).status().code(),
            ErrorCode::kNotFound);
}

TEST(TempDir, IsRemovedWithItsContent) {
  std::string path;
  {
    auto t = TempDir::Make("");
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    path = t->path();
    std::ofstream(path + "/f") << "data";
    ASSERT_TRUE(std::filesystem::exists(path + "/f"));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(RefuseWhileChromaRuns, OkWhenNobodyHasTheDatabaseOpen) {
  TestDir dir;
  std::ofstream((dir.path() / "chroma.sqlite3").string()) << "";
  EXPECT_TRUE(RefuseWhileChromaRuns(dir.path().string(), "restore").ok());
}

}  // namespace
}  // namespace vecsafe::chroma
