#include "sources/chroma/safe_ops.h"

#include <gtest/gtest.h>

#include <string>

#include "../../io/test_dir.h"

namespace vecsafe::chroma {
namespace {

// Functions that fail the test when called: validation must stop first.
CollectionBackupFns Untouchable() {
  CollectionBackupFns fns;
  fns.backup = [](const std::string&, const std::string&) -> Result<std::string> {
    ADD_FAILURE() << "backup called";
    return std::string("x");
  };
  fns.restore = [](const std::string&, const std::string&, const std::string&) -> Result<int64_t> {
    ADD_FAILURE() << "restore called";
    return int64_t{0};
  };
  return fns;
}

TEST(SafeOps, BadInputStopsBeforeTheBackup) {
  TestDir dir;
  SafeOpOptions o;
  o.state_dir = (dir.path() / "state").string();
  o.path = dir.path().string();
  o.server_url = "http://127.0.0.1:9";

  auto same = SafeRenameCollection("abc", "abc", o, Untouchable());
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.status().code(), ErrorCode::kInvalidArgument);

  auto bad_name = SafeRenameCollection("abc", "a", o, Untouchable());
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(bad_name.status().hint().empty());

  auto no_name = SafeRenameCollection("abc", "", o, Untouchable());
  ASSERT_FALSE(no_name.ok());

  // An empty folder is not Chroma's: refused before any server is asked.
  auto not_chroma = SafeDeleteCollection("abc", o, Untouchable());
  ASSERT_FALSE(not_chroma.ok());
  EXPECT_EQ(not_chroma.status().code(), ErrorCode::kNotFound);

  SafeOpOptions missing = o;
  missing.path = (dir.path() / "nope").string();
  auto gone = SafeDeleteCollection("abc", missing, Untouchable());
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("not a Chroma folder"), std::string::npos);

  SafeOpOptions no_server = o;
  no_server.server_url.clear();
  auto ns = SafeDeleteCollection("abc", no_server, Untouchable());
  ASSERT_FALSE(ns.ok());
  EXPECT_EQ(ns.status().code(), ErrorCode::kInvalidArgument);

  // Nothing was journaled: no operation started.
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state" / "journal.sqlite3"));
}

TEST(SafeOps, ReportJson) {
  SafeOpReport r;
  r.kind = "collection.rename";
  r.name = "old";
  r.new_name = "new";
  r.result = "rolled_back";
  r.backup_id = "ab";
  r.count = 3;
  const auto j = r.ToJson();
  EXPECT_EQ(j["kind"], "collection.rename");
  EXPECT_EQ(j["collection"], "old");
  EXPECT_EQ(j["new_name"], "new");
  EXPECT_EQ(j["result"], "rolled_back");
  EXPECT_EQ(j["count"], 3);
  r.new_name.clear();
  EXPECT_FALSE(r.ToJson().contains("new_name"));
}

}  // namespace
}  // namespace vecsafe::chroma
