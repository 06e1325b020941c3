#include "cli/common.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace vecsafe::cli {
namespace {

TEST(FormatTest, Bytes) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1024), "1.00 KiB");
  EXPECT_EQ(FormatBytes(1536 * 1024), "1.50 MiB");
  EXPECT_EQ(FormatBytes(uint64_t{300} << 30), "300 GiB");
}

TEST(FormatTest, Duration) {
  EXPECT_EQ(FormatDuration(0), "0:00");
  EXPECT_EQ(FormatDuration(125), "2:05");
  EXPECT_EQ(FormatDuration(3723), "1:02:03");
  EXPECT_EQ(FormatDuration(-1), "?");
}

TEST(ProgressTest, RenderWithTotalsShowsPercentRateAndEta) {
  const std::string line =
      Progress::Render("backup", 50 << 20, 100 << 20, 5, 10, /*elapsed=*/5.0, /*width=*/120);
  EXPECT_NE(line.find("backup ["), std::string::npos) << line;
  EXPECT_NE(line.find(" 50%"), std::string::npos) << line;
  EXPECT_NE(line.find("50.0 MiB / 100 MiB"), std::string::npos) << line;
  EXPECT_NE(line.find("5/10 files"), std::string::npos) << line;
  EXPECT_NE(line.find("10.0 MiB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:05"), std::string::npos) << line;
  EXPECT_LT(line.size(), 120u);
}

TEST(ProgressTest, RenderWithoutTotalsHasNoEtaAndFitsNarrowTerminals) {
  const std::string line = Progress::Render("verify", 3 << 20, 0, 7, 0, 1.0, 40);
  EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
  EXPECT_EQ(line.find('%'), std::string::npos) << line;
  EXPECT_LE(line.size(), 39u);
}

TEST(ProgressTest, InactiveWithJsonOrQuiet) {
  CommonFlags flags;
  flags.json = true;
  Progress p(flags, "x");
  EXPECT_FALSE(p.active());
  p.AddBytes(10);
  EXPECT_EQ(p.bytes(), 10u);
  p.Finish();
}

class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    const char* v = getenv(name);
    if (v != nullptr) old_ = v;
    had_ = v != nullptr;
  }
  ~EnvGuard() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(ResolveTest, RepoFromFlagThenEnv) {
  EnvGuard g("VECSAFE_REPO");
  EnvGuard g2("GCS_BUCKET_NAME");
  EnvGuard g3("BACKUP_LOCAL_PATH");
  unsetenv("VECSAFE_REPO");
  unsetenv("GCS_BUCKET_NAME");
  unsetenv("BACKUP_LOCAL_PATH");
  CommonFlags flags;
  auto none = ResolveRepoUrl(flags);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(none.status().hint().find("VECSAFE_REPO"), std::string::npos);
  setenv("BACKUP_LOCAL_PATH", "/old/deployment", 1);
  EXPECT_EQ(*ResolveRepoUrl(flags), "/old/deployment");
  setenv("VECSAFE_REPO", "/env/repo", 1);
  EXPECT_EQ(*ResolveRepoUrl(flags), "/env/repo");
  flags.repo = "/flag/repo";
  EXPECT_EQ(*ResolveRepoUrl(flags), "/flag/repo");
}

TEST(ErrorJsonTest, Shape) {
  const nlohmann::json j = ErrorJson(NotFound("snapshot abc", "list them"));
  const auto& e = j.at("error");
  EXPECT_EQ(e.at("code"), "VS-2");
  EXPECT_EQ(e.at("number"), 2);
  EXPECT_EQ(e.at("name"), "kNotFound");
  EXPECT_EQ(e.at("kind"), "not found");
  EXPECT_EQ(e.at("message"), "snapshot abc");
  EXPECT_EQ(e.at("hint"), "list them");
  EXPECT_EQ(e.at("exit_status"), 3);
}

}  // namespace
}  // namespace vecsafe::cli
