#include "repo/retention.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vecsafe::repo {
namespace {

// Unix nanoseconds of a UTC civil time.
int64_t Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  y -= mo <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return ((days * 86400) + h * 3600 + mi * 60 + s) * 1'000'000'000;
}

TEST(RetentionDurationTest, Parses) {
  auto d = ParseRetentionDuration("1y2m3d4h");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (RetentionDuration{1, 2, 3, 4}));
  EXPECT_EQ(d->ToString(), "1y2m3d4h");
  EXPECT_EQ(ParseRetentionDuration(" 5d ").value(), (RetentionDuration{0, 0, 5, 0}));
  EXPECT_EQ(ParseRetentionDuration("2h1y").value(), (RetentionDuration{1, 0, 0, 2}));
  EXPECT_EQ(ParseRetentionDuration("1d2d").value().days, 2);  // last one wins, as restic
  EXPECT_EQ(ParseRetentionDuration("0d").value().ToString(), "");
  for (const char* bad : {"", " ", "d", "5", "5x", "1y2", "-1d", "1.5d", "1234567890d", "y1"}) {
    const auto r = ParseRetentionDuration(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_FALSE(r.status().hint().empty());
  }
}

TEST(RetentionTest, EmptyPolicyKeepsAll) {
  std::vector<RetentionSnapshot> s = {{"a", Utc(2024, 1, 1), {}, ""},
                                      {"b", Utc(2024, 1, 2), {}, ""}};
  auto r = ApplyRetention(s, RetentionPolicy{});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].index, 1u);  // newest first
  EXPECT_TRUE((*r)[0].keep);
  EXPECT_EQ((*r)[0].reasons, std::vector<std::string>{"policy is empty"});
}

TEST(RetentionTest, LastAndDaily) {
  std::vector<RetentionSnapshot> s = {
      {"a", Utc(2024, 1, 1, 10), {}, ""}, {"b", Utc(2024, 1, 1, 12), {}, ""},
      {"c", Utc(2024, 1, 2, 9), {}, ""},  {"d", Utc(2024, 1, 3, 9), {}, ""},
      {"e", Utc(2024, 1, 3, 8), {}, ""},
  };
  RetentionPolicy p;
  p.keep_last = 1;
  p.keep_daily = 2;
  auto r = ApplyRetention(s, p).value();
  ASSERT_EQ(r.size(), 5u);
  // d (newest): last + daily; e: same day -> removed; c: daily; b, a: removed.
  EXPECT_EQ(r[0].index, 3u);
  EXPECT_EQ(r[0].reasons, (std::vector<std::string>{"last snapshot", "daily snapshot"}));
  EXPECT_EQ(r[1].index, 4u);
  EXPECT_FALSE(r[1].keep);
  EXPECT_EQ(r[2].index, 2u);
  EXPECT_EQ(r[2].reasons, (std::vector<std::string>{"daily snapshot"}));
  EXPECT_FALSE(r[3].keep);
  EXPECT_FALSE(r[4].keep);
}

TEST(RetentionTest, InvalidPolicy) {
  RetentionPolicy p;
  p.keep_daily = -2;
  EXPECT_EQ(ApplyRetention({}, p).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace vecsafe::repo
