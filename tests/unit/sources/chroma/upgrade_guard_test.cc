#include "sources/chroma/upgrade_guard.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "../../io/test_dir.h"

namespace vecsafe::chroma {
namespace {

TEST(UpgradeGuard, SchemaVersionsTakesNewestPerDirectory) {
  ChromaDirectory d;
  d.migrations = {{"sysdb", 1, "a"}, {"sysdb", 9, "b"}, {"metadb", 4, "c"}, {"sysdb", 3, "d"}};
  EXPECT_EQ(SchemaVersions(d), (nlohmann::json{{"sysdb", 9}, {"metadb", 4}}));
}

TEST(UpgradeGuard, RecordPathIsStableAndPerFolder) {
  auto a = DefaultUpgradeRecordPath("/state", "/data/chroma");
  EXPECT_EQ(a, DefaultUpgradeRecordPath("/state", "/data/chroma/"));
  EXPECT_NE(a, DefaultUpgradeRecordPath("/state", "/data/chroma2"));
  EXPECT_EQ(a.parent_path(), std::filesystem::path("/state/upgrades"));
}

TEST(UpgradeGuard, LoadRefusesNonsenseRecords) {
  TestDir dir;
  const auto file = dir.path() / "r.json";
  for (const std::string text :
       {"", "[]", "{{", R"({"vecsafe_upgrade_record": 2})",
        R"({"vecsafe_upgrade_record": 1, "path": "/x", "schema": {}, "collections": [{"name": 1,
            "count": 2}], "snapshot": "ab"})",
        R"({"vecsafe_upgrade_record": 1, "path": "/x", "schema": {}, "collections": [],
            "snapshot": 5})"}) {
    std::ofstream(file) << text;
    auto r = LoadUpgradeRecord(file);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), ErrorCode::kDataLoss) << text;
    EXPECT_FALSE(r.status().hint().empty());
  }
  std::ofstream(file) << R"({"vecsafe_upgrade_record": 1, "path": "/x", "schema": {"sysdb": 9},
      "collections": [{"name": "a", "count": 3}], "snapshot": "ab"})";
  auto ok = LoadUpgradeRecord(file);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)["collections"][0]["count"], 3);
}

TEST(UpgradeGuard, FindRecordExplainsWhatIsMissing) {
  TestDir dir;
  UpgradeOptions o;
  o.state_dir = dir.path().string();
  auto none = FindUpgradeRecord(o, "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kNotFound);
  std::filesystem::create_directories(dir.path() / "upgrades");
  std::ofstream(dir.path() / "upgrades" / "chroma-1.json") << "{}";
  auto one = FindUpgradeRecord(o, "");
  ASSERT_TRUE(one.ok());
  std::ofstream(dir.path() / "upgrades" / "chroma-2.json") << "{}";
  auto two = FindUpgradeRecord(o, "");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().code(), ErrorCode::kInvalidArgument);
  auto by_path = FindUpgradeRecord(o, "/no/such/folder");
  ASSERT_FALSE(by_path.ok());
  EXPECT_EQ(by_path.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vecsafe::chroma
