#include "ops/journal.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <thread>

namespace vecsafe::ops {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vecsafe_journal_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(JournalTest, AppendsAndQueriesNewestFirst) {
  auto j = Journal::Open(dir_);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  JournalEntry a;
  a.actor = "cli:alice";
  a.kind = "backup";
  a.target = "/data/chroma";
  a.result = "ok";
  a.backup_id = "snap1";
  a.duration_ms = 1200;
  auto ra = (*j)->Append(a);
  ASSERT_TRUE(ra.ok());
  EXPECT_GT(ra->id, 0);
  EXPECT_GT(ra->time_ms, 0);
  EXPECT_EQ(ra->op_id.rfind("op-", 0), 0u);
  JournalEntry b = a;
  b.kind = "collection.delete";
  b.result = "rolled_back";
  b.error = "chroma went away";
  ASSERT_TRUE((*j)->Append(b).ok());

  auto rows = (*j)->Query({});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].kind, "collection.delete");
  EXPECT_EQ((*rows)[0].error, "chroma went away");
  EXPECT_EQ((*rows)[1].backup_id, "snap1");
  EXPECT_EQ((*rows)[1].duration_ms, 1200);

  JournalQuery q;
  q.kind = "backup";
  auto only = (*j)->Query(q);
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->size(), 1u);
  EXPECT_EQ((*only)[0].actor, "cli:alice");
}

TEST_F(JournalTest, SurvivesReopen) {
  {
    auto j = Journal::Open(dir_);
    ASSERT_TRUE(j.ok());
    JournalEntry e;
    e.kind = "restore";
    e.result = "ok";
    ASSERT_TRUE((*j)->Append(e).ok());
  }
  auto j = Journal::Open(dir_);
  ASSERT_TRUE(j.ok());
  auto rows = (*j)->Query({});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].kind, "restore");
}

TEST_F(JournalTest, RedactsSecretsInParams) {
  auto j = Journal::Open(dir_);
  ASSERT_TRUE(j.ok());
  JournalEntry e;
  e.kind = "config.update";
  e.params = {{"qdrant", {{"url", "http://q:6333"}, {"api_key", "s3cr3t"}}},
              {"VECSAFE_PASSWORD", "hunter2"},
              {"tokens", {{{"name", "ops"}, {"token", "abc"}}}},
              {"auto_repair_enabled", true}};
  ASSERT_TRUE((*j)->Append(e).ok());
  auto rows = (*j)->Query({});
  ASSERT_TRUE(rows.ok());
  const std::string dumped = (*rows)[0].params.dump();
  EXPECT_EQ(dumped.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(dumped.find("hunter2"), std::string::npos);
  EXPECT_EQ(dumped.find("abc"), std::string::npos);
  EXPECT_EQ((*rows)[0].params["qdrant"]["url"], "http://q:6333");
  EXPECT_EQ((*rows)[0].params["auto_repair_enabled"], true);
}

TEST_F(JournalTest, RefusesUpdateAndDelete) {
  auto j = Journal::Open(dir_);
  ASSERT_TRUE(j.ok());
  JournalEntry e;
  e.kind = "backup";
  ASSERT_TRUE((*j)->Append(e).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "journal.sqlite3").c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE journal SET result='forged'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM journal", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto rows = (*j)->Query({});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].result, "");
}

TEST_F(JournalTest, ConcurrentAppendsAreAllKept) {
  auto j = Journal::Open(dir_);
  ASSERT_TRUE(j.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        JournalEntry e;
        e.kind = "check";
        EXPECT_TRUE((*j)->Append(e).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  JournalQuery q;
  q.limit = 1000;
  auto rows = (*j)->Query(q);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 100u);
}

TEST_F(JournalTest, RejectsBadLimit) {
  auto j = Journal::Open(dir_);
  ASSERT_TRUE(j.ok());
  JournalQuery q;
  q.limit = 0;
  EXPECT_EQ((*j)->Query(q).status().code(), ErrorCode::kInvalidArgument);
}

TEST(SecretKeyTest, Classifies) {
  EXPECT_TRUE(IsSecretKey("QDRANT_API_KEY"));
  EXPECT_TRUE(IsSecretKey("password"));
  EXPECT_TRUE(IsSecretKey("Authorization"));
  EXPECT_FALSE(IsSecretKey("collection"));
  EXPECT_FALSE(IsSecretKey("chroma_data_path"));
}

}  // namespace
}  // namespace vecsafe::ops
