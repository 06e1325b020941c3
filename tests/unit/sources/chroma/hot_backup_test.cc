#include "sources/chroma/hot_backup.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
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

TEST(StampSettledFolder, WaitsUntilTheFolderIsQuiet) {
  TestDir dir;
  std::ofstream((dir.path() / "a.bin").string()) << "x";
  const auto t0 = std::chrono::steady_clock::now();
  FolderStamp s = StampSettledFolder(dir.path().string(), 200, 5000);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(ms, 150.0);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s["a.bin"].size, 1u);
  EXPECT_EQ(StampFolder(dir.path().string()), s);
  // Already quiet: no wait. Bounded: never longer than max_wait_ms.
  const auto t1 = std::chrono::steady_clock::now();
  StampSettledFolder(dir.path().string(), 100, 5000);
  using Ms = std::chrono::duration<double, std::milli>;
  EXPECT_LT(Ms(std::chrono::steady_clock::now() - t1).count(), 100.0);
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
