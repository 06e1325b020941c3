#include "repo/retention.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <utility>
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

// The snapshot history restic's own policy tests use (times UTC; ties and
// the fractional seconds are deliberate).
struct InputRow {
  const char* time;
  std::vector<std::string> tags;
};
const std::vector<InputRow>& PolicyInput() {
  static const std::vector<InputRow> rows = {
      {"2014-09-01 10:20:30", {}},
      {"2014-09-02 10:20:30", {}},
      {"2014-09-05 10:20:30", {}},
      {"2014-09-06 10:20:30", {}},
      {"2014-09-08 10:20:30", {}},
      {"2014-09-09 10:20:30", {}},
      {"2014-09-10 10:20:30", {}},
      {"2014-09-11 10:20:30", {}},
      {"2014-09-20 10:20:30", {}},
      {"2014-09-22 10:20:30", {}},
      {"2014-08-08 10:20:30", {}},
      {"2014-08-10 10:20:30", {}},
      {"2014-08-12 10:20:30", {}},
      {"2014-08-13 10:20:30", {}},
      {"2014-08-13 10:20:30.1", {}},
      {"2014-08-15 10:20:30", {}},
      {"2014-08-18 10:20:30", {}},
      {"2014-08-20 10:20:30", {}},
      {"2014-08-21 10:20:30", {}},
      {"2014-08-22 10:20:30", {}},
      {"2014-10-01 10:20:30", {"foo"}},
      {"2014-10-02 10:20:30", {"foo"}},
      {"2014-10-05 10:20:30", {"foo"}},
      {"2014-10-06 10:20:30", {"foo"}},
      {"2014-10-08 10:20:30", {"foo"}},
      {"2014-10-09 10:20:30", {"foo"}},
      {"2014-10-10 10:20:30", {"foo"}},
      {"2014-10-11 10:20:30", {"foo"}},
      {"2014-10-20 10:20:30", {"foo"}},
      {"2014-10-22 10:20:30", {"foo"}},
      {"2014-11-08 10:20:30", {"foo"}},
      {"2014-11-10 10:20:30", {"foo"}},
      {"2014-11-12 10:20:30", {"foo"}},
      {"2014-11-13 10:20:30", {"foo"}},
      {"2014-11-13 10:20:30.1", {"bar"}},
      {"2014-11-15 10:20:30", {"foo", "bar"}},
      {"2014-11-18 10:20:30", {}},
      {"2014-11-20 10:20:30", {}},
      {"2014-11-21 10:20:30", {}},
      {"2014-11-22 10:20:30", {}},
      {"2015-09-01 10:20:30", {}},
      {"2015-09-02 10:20:30", {}},
      {"2015-09-05 10:20:30", {}},
      {"2015-09-06 10:20:30", {}},
      {"2015-09-08 10:20:30", {}},
      {"2015-09-09 10:20:30", {}},
      {"2015-09-10 10:20:30", {}},
      {"2015-09-11 10:20:30", {}},
      {"2015-09-20 10:20:30", {}},
      {"2015-09-22 10:20:30", {}},
      {"2015-08-08 10:20:30", {}},
      {"2015-08-10 10:20:30", {}},
      {"2015-08-12 10:20:30", {}},
      {"2015-08-13 10:20:30", {}},
      {"2015-08-13 10:20:30.1", {}},
      {"2015-08-15 10:20:30", {}},
      {"2015-08-18 10:20:30", {}},
      {"2015-08-20 10:20:30", {}},
      {"2015-08-21 10:20:30", {}},
      {"2015-08-22 10:20:30", {}},
      {"2015-10-01 10:20:30", {}},
      {"2015-10-02 10:20:30", {}},
      {"2015-10-05 10:20:30", {}},
      {"2015-10-06 10:20:30", {}},
      {"2015-10-08 10:20:30", {}},
      {"2015-10-09 10:20:30", {}},
      {"2015-10-10 10:20:30", {}},
      {"2015-10-11 10:20:30", {}},
      {"2015-10-20 10:20:30", {}},
      {"2015-10-22 10:20:30", {}},
      {"2015-10-22 10:20:30", {}},
      {"2015-10-22 10:20:30", {"foo", "bar"}},
      {"2015-10-22 10:20:30", {"foo", "bar"}},
      {"2015-10-22 10:20:30", {"foo", "bar"}},
      {"2015-11-08 10:20:30", {}},
      {"2015-11-10 10:20:30", {}},
      {"2015-11-12 10:20:30", {}},
      {"2015-11-13 10:20:30", {}},
      {"2015-11-13 10:20:30.1", {}},
      {"2015-11-15 10:20:30", {}},
      {"2015-11-18 10:20:30", {}},
      {"2015-11-20 10:20:30", {}},
      {"2015-11-21 10:20:30", {}},
      {"2015-11-22 10:20:30", {}},
      {"2016-01-01 01:02:03", {}},
      {"2016-01-01 01:03:03", {}},
      {"2016-01-01 07:08:03", {}},
      {"2016-01-03 07:02:03", {}},
      {"2016-01-04 10:23:03", {}},
      {"2016-01-04 11:23:03", {}},
      {"2016-01-04 12:23:03", {}},
      {"2016-01-04 12:24:03", {}},
      {"2016-01-04 12:28:03", {}},
      {"2016-01-04 12:30:03", {}},
      {"2016-01-04 16:23:03", {}},
      {"2016-01-05 09:02:03", {}},
      {"2016-01-06 08:02:03", {}},
      {"2016-01-07 10:02:03", {}},
      {"2016-01-08 20:02:03", {}},
      {"2016-01-09 21:02:03", {}},
      {"2016-01-12 21:02:03", {}},
      {"2016-01-12 21:08:03", {}},
      {"2016-01-18 12:02:03", {}},
  };
  return rows;
}

int64_t ParseUtc(const std::string& s) {
  int y, mo, d, h, mi, sec;
  EXPECT_EQ(std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &sec), 6);
  int64_t ns = Utc(y, mo, d, h, mi, sec);
  const size_t dot = s.find('.');
  if (dot != std::string::npos) {
    std::string frac = s.substr(dot + 1);
    frac.resize(9, '0');
    ns += std::stoll(frac);
  }
  return ns;
}

RetentionDuration D(const char* text) { return ParseRetentionDuration(text).value(); }

struct Kept {
  size_t index;         // into PolicyInput()
  std::string reasons;  // joined with '|'
};
struct PolicyCase {
  RetentionPolicy policy;
  std::vector<Kept> kept;  // newest first
};

// Expected results follow restic's rules step by step: newest first; tags
// and keep-within are not counted; each count bucket keeps the first
// (newest) snapshot of every new period until its count is used up; ISO
// weeks; keep-within is measured from the newest snapshot with calendar
// arithmetic (months roll over as in Go's AddDate).
// Designated initializers name only the rules a case uses.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const std::vector<PolicyCase>& PolicyCases() {
  static const std::vector<PolicyCase> cases = {
      {{}, {{102, "policy is empty"}, {101, "policy is empty"}, {100, "policy is empty"},
            {99, "policy is empty"},  {98, "policy is empty"},  {97, "policy is empty"},
            {96, "policy is empty"},  {95, "policy is empty"},  {94, "policy is empty"},
            {93, "policy is empty"},  {92, "policy is empty"},  {91, "policy is empty"},
            {90, "policy is empty"},  {89, "policy is empty"},  {88, "policy is empty"},
            {87, "policy is empty"},  {86, "policy is empty"},  {85, "policy is empty"},
            {84, "policy is empty"},  {83, "policy is empty"},  {82, "policy is empty"},
            {81, "policy is empty"},  {80, "policy is empty"},  {79, "policy is empty"},
            {78, "policy is empty"},  {77, "policy is empty"},  {76, "policy is empty"},
            {75, "policy is empty"},  {74, "policy is empty"},  {69, "policy is empty"},
            {70, "policy is empty"},  {71, "policy is empty"},  {72, "policy is empty"},
            {73, "policy is empty"},  {68, "policy is empty"},  {67, "policy is empty"},
            {66, "policy is empty"},  {65, "policy is empty"},  {64, "policy is empty"},
            {63, "policy is empty"},  {62, "policy is empty"},  {61, "policy is empty"},
            {60, "policy is empty"},  {49, "policy is empty"},  {48, "policy is empty"},
            {47, "policy is empty"},  {46, "policy is empty"},  {45, "policy is empty"},
            {44, "policy is empty"},  {43, "policy is empty"},  {42, "policy is empty"},
            {41, "policy is empty"},  {40, "policy is empty"},  {59, "policy is empty"},
            {58, "policy is empty"},  {57, "policy is empty"},  {56, "policy is empty"},
            {55, "policy is empty"},  {54, "policy is empty"},  {53, "policy is empty"},
            {52, "policy is empty"},  {51, "policy is empty"},  {50, "policy is empty"},
            {39, "policy is empty"},  {38, "policy is empty"},  {37, "policy is empty"},
            {36, "policy is empty"},  {35, "policy is empty"},  {34, "policy is empty"},
            {33, "policy is empty"},  {32, "policy is empty"},  {31, "policy is empty"},
            {30, "policy is empty"},  {29, "policy is empty"},  {28, "policy is empty"},
            {27, "policy is empty"},  {26, "policy is empty"},  {25, "policy is empty"},
            {24, "policy is empty"},  {23, "policy is empty"},  {22, "policy is empty"},
            {21, "policy is empty"},  {20, "policy is empty"},  {9, "policy is empty"},
            {8, "policy is empty"},   {7, "policy is empty"},   {6, "policy is empty"},
            {5, "policy is empty"},   {4, "policy is empty"},   {3, "policy is empty"},
            {2, "policy is empty"},   {1, "policy is empty"},   {0, "policy is empty"},
            {19, "policy is empty"},  {18, "policy is empty"},  {17, "policy is empty"},
            {16, "policy is empty"},  {15, "policy is empty"},  {14, "policy is empty"},
            {13, "policy is empty"},  {12, "policy is empty"},  {11, "policy is empty"},
            {10, "policy is empty"}}},
      {{.keep_last = 10},
       {{102, "last snapshot"},
        {101, "last snapshot"},
        {100, "last snapshot"},
        {99, "last snapshot"},
        {98, "last snapshot"},
        {97, "last snapshot"},
        {96, "last snapshot"},
        {95, "last snapshot"},
        {94, "last snapshot"},
        {93, "last snapshot"}}},
      {{.keep_last = 15},
       {{102, "last snapshot"},
        {101, "last snapshot"},
        {100, "last snapshot"},
        {99, "last snapshot"},
        {98, "last snapshot"},
        {97, "last snapshot"},
        {96, "last snapshot"},
        {95, "last snapshot"},
        {94, "last snapshot"},
        {93, "last snapshot"},
        {92, "last snapshot"},
        {91, "last snapshot"},
        {90, "last snapshot"},
        {89, "last snapshot"},
        {88, "last snapshot"}}},
      {{.keep_last = 99}, {{102, "last snapshot"}, {101, "last snapshot"}, {100, "last snapshot"},
                           {99, "last snapshot"},  {98, "last snapshot"},  {97, "last snapshot"},
                           {96, "last snapshot"},  {95, "last snapshot"},  {94, "last snapshot"},
                           {93, "last snapshot"},  {92, "last snapshot"},  {91, "last snapshot"},
                           {90, "last snapshot"},  {89, "last snapshot"},  {88, "last snapshot"},
                           {87, "last snapshot"},  {86, "last snapshot"},  {85, "last snapshot"},
                           {84, "last snapshot"},  {83, "last snapshot"},  {82, "last snapshot"},
                           {81, "last snapshot"},  {80, "last snapshot"},  {79, "last snapshot"},
                           {78, "last snapshot"},  {77, "last snapshot"},  {76, "last snapshot"},
                           {75, "last snapshot"},  {74, "last snapshot"},  {69, "last snapshot"},
                           {70, "last snapshot"},  {71, "last snapshot"},  {72, "last snapshot"},
                           {73, "last snapshot"},  {68, "last snapshot"},  {67, "last snapshot"},
                           {66, "last snapshot"},  {65, "last snapshot"},  {64, "last snapshot"},
                           {63, "last snapshot"},  {62, "last snapshot"},  {61, "last snapshot"},
                           {60, "last snapshot"},  {49, "last snapshot"},  {48, "last snapshot"},
                           {47, "last snapshot"},  {46, "last snapshot"},  {45, "last snapshot"},
                           {44, "last snapshot"},  {43, "last snapshot"},  {42, "last snapshot"},
                           {41, "last snapshot"},  {40, "last snapshot"},  {59, "last snapshot"},
                           {58, "last snapshot"},  {57, "last snapshot"},  {56, "last snapshot"},
                           {55, "last snapshot"},  {54, "last snapshot"},  {53, "last snapshot"},
                           {52, "last snapshot"},  {51, "last snapshot"},  {50, "last snapshot"},
                           {39, "last snapshot"},  {38, "last snapshot"},  {37, "last snapshot"},
                           {36, "last snapshot"},  {35, "last snapshot"},  {34, "last snapshot"},
                           {33, "last snapshot"},  {32, "last snapshot"},  {31, "last snapshot"},
                           {30, "last snapshot"},  {29, "last snapshot"},  {28, "last snapshot"},
                           {27, "last snapshot"},  {26, "last snapshot"},  {25, "last snapshot"},
                           {24, "last snapshot"},  {23, "last snapshot"},  {22, "last snapshot"},
                           {21, "last snapshot"},  {20, "last snapshot"},  {9, "last snapshot"},
                           {8, "last snapshot"},   {7, "last snapshot"},   {6, "last snapshot"},
                           {5, "last snapshot"},   {4, "last snapshot"},   {3, "last snapshot"},
                           {2, "last snapshot"},   {1, "last snapshot"},   {0, "last snapshot"},
                           {19, "last snapshot"},  {18, "last snapshot"},  {17, "last snapshot"},
                           {16, "last snapshot"},  {15, "last snapshot"},  {14, "last snapshot"}}},
      {{.keep_last = 200}, {{102, "last snapshot"}, {101, "last snapshot"}, {100, "last snapshot"},
                            {99, "last snapshot"},  {98, "last snapshot"},  {97, "last snapshot"},
                            {96, "last snapshot"},  {95, "last snapshot"},  {94, "last snapshot"},
                            {93, "last snapshot"},  {92, "last snapshot"},  {91, "last snapshot"},
                            {90, "last snapshot"},  {89, "last snapshot"},  {88, "last snapshot"},
                            {87, "last snapshot"},  {86, "last snapshot"},  {85, "last snapshot"},
                            {84, "last snapshot"},  {83, "last snapshot"},  {82, "last snapshot"},
                            {81, "last snapshot"},  {80, "last snapshot"},  {79, "last snapshot"},
                            {78, "last snapshot"},  {77, "last snapshot"},  {76, "last snapshot"},
                            {75, "last snapshot"},  {74, "last snapshot"},  {69, "last snapshot"},
                            {70, "last snapshot"},  {71, "last snapshot"},  {72, "last snapshot"},
                            {73, "last snapshot"},  {68, "last snapshot"},  {67, "last snapshot"},
                            {66, "last snapshot"},  {65, "last snapshot"},  {64, "last snapshot"},
                            {63, "last snapshot"},  {62, "last snapshot"},  {61, "last snapshot"},
                            {60, "last snapshot"},  {49, "last snapshot"},  {48, "last snapshot"},
                            {47, "last snapshot"},  {46, "last snapshot"},  {45, "last snapshot"},
                            {44, "last snapshot"},  {43, "last snapshot"},  {42, "last snapshot"},
                            {41, "last snapshot"},  {40, "last snapshot"},  {59, "last snapshot"},
                            {58, "last snapshot"},  {57, "last snapshot"},  {56, "last snapshot"},
                            {55, "last snapshot"},  {54, "last snapshot"},  {53, "last snapshot"},
                            {52, "last snapshot"},  {51, "last snapshot"},  {50, "last snapshot"},
                            {39, "last snapshot"},  {38, "last snapshot"},  {37, "last snapshot"},
                            {36, "last snapshot"},  {35, "last snapshot"},  {34, "last snapshot"},
                            {33, "last snapshot"},  {32, "last snapshot"},  {31, "last snapshot"},
                            {30, "last snapshot"},  {29, "last snapshot"},  {28, "last snapshot"},
                            {27, "last snapshot"},  {26, "last snapshot"},  {25, "last snapshot"},
                            {24, "last snapshot"},  {23, "last snapshot"},  {22, "last snapshot"},
                            {21, "last snapshot"},  {20, "last snapshot"},  {9, "last snapshot"},
                            {8, "last snapshot"},   {7, "last snapshot"},   {6, "last snapshot"},
                            {5, "last snapshot"},   {4, "last snapshot"},   {3, "last snapshot"},
                            {2, "last snapshot"},   {1, "last snapshot"},   {0, "last snapshot"},
                            {19, "last snapshot"},  {18, "last snapshot"},  {17, "last snapshot"},
                            {16, "last snapshot"},  {15, "last snapshot"},  {14, "last snapshot"},
                            {13, "last snapshot"},  {12, "last snapshot"},  {11, "last snapshot"},
                            {10, "last snapshot"}}},
      {{.keep_hourly = 20},
       {{102, "hourly snapshot"}, {101, "hourly snapshot"}, {99, "hourly snapshot"},
        {98, "hourly snapshot"},  {97, "hourly snapshot"},  {96, "hourly snapshot"},
        {95, "hourly snapshot"},  {94, "hourly snapshot"},  {93, "hourly snapshot"},
        {89, "hourly snapshot"},  {88, "hourly snapshot"},  {87, "hourly snapshot"},
        {86, "hourly snapshot"},  {85, "hourly snapshot"},  {83, "hourly snapshot"},
        {82, "hourly snapshot"},  {81, "hourly snapshot"},  {80, "hourly snapshot"},
        {79, "hourly snapshot"},  {78, "hourly snapshot"}}},
      {{.keep_daily = 3},
       {{102, "daily snapshot"}, {101, "daily snapshot"}, {99, "daily snapshot"}}},
      {{.keep_daily = 10},
       {{102, "daily snapshot"},
        {101, "daily snapshot"},
        {99, "daily snapshot"},
        {98, "daily snapshot"},
        {97, "daily snapshot"},
        {96, "daily snapshot"},
        {95, "daily snapshot"},
        {94, "daily snapshot"},
        {87, "daily snapshot"},
        {86, "daily snapshot"}}},
      {{.keep_daily = 30},
       {{102, "daily snapshot"}, {101, "daily snapshot"}, {99, "daily snapshot"},
        {98, "daily snapshot"},  {97, "daily snapshot"},  {96, "daily snapshot"},
        {95, "daily snapshot"},  {94, "daily snapshot"},  {87, "daily snapshot"},
        {86, "daily snapshot"},  {83, "daily snapshot"},  {82, "daily snapshot"},
        {81, "daily snapshot"},  {80, "daily snapshot"},  {79, "daily snapshot"},
        {78, "daily snapshot"},  {76, "daily snapshot"},  {75, "daily snapshot"},
        {74, "daily snapshot"},  {69, "daily snapshot"},  {68, "daily snapshot"},
        {67, "daily snapshot"},  {66, "daily snapshot"},  {65, "daily snapshot"},
        {64, "daily snapshot"},  {63, "daily snapshot"},  {62, "daily snapshot"},
        {61, "daily snapshot"},  {60, "daily snapshot"},  {49, "daily snapshot"}}},
      {{.keep_last = 5, .keep_daily = 5},
       {{102, "last snapshot|daily snapshot"},
        {101, "last snapshot|daily snapshot"},
        {100, "last snapshot"},
        {99, "last snapshot|daily snapshot"},
        {98, "last snapshot|daily snapshot"},
        {97, "daily snapshot"}}},
      {{.keep_last = 2, .keep_daily = 10},
       {{102, "last snapshot|daily snapshot"},
        {101, "last snapshot|daily snapshot"},
        {99, "daily snapshot"},
        {98, "daily snapshot"},
        {97, "daily snapshot"},
        {96, "daily snapshot"},
        {95, "daily snapshot"},
        {94, "daily snapshot"},
        {87, "daily snapshot"},
        {86, "daily snapshot"}}},
      {{.keep_weekly = 2}, {{102, "weekly snapshot"}, {101, "weekly snapshot"}}},
      {{.keep_weekly = 4},
       {{102, "weekly snapshot"},
        {101, "weekly snapshot"},
        {99, "weekly snapshot"},
        {87, "weekly snapshot"}}},
      {{.keep_daily = 3, .keep_weekly = 4},
       {{102, "daily snapshot|weekly snapshot"},
        {101, "daily snapshot|weekly snapshot"},
        {99, "daily snapshot|weekly snapshot"},
        {87, "weekly snapshot"}}},
      {{.keep_monthly = 6},
       {{102, "monthly snapshot"},
        {83, "monthly snapshot"},
        {69, "monthly snapshot"},
        {49, "monthly snapshot"},
        {59, "monthly snapshot"},
        {39, "monthly snapshot"}}},
      {{.keep_daily = 2, .keep_weekly = 2, .keep_monthly = 6},
       {{102, "daily snapshot|weekly snapshot|monthly snapshot"},
        {101, "daily snapshot|weekly snapshot"},
        {83, "monthly snapshot"},
        {69, "monthly snapshot"},
        {49, "monthly snapshot"},
        {59, "monthly snapshot"},
        {39, "monthly snapshot"}}},
      {{.keep_yearly = 10},
       {{102, "yearly snapshot"}, {83, "yearly snapshot"}, {39, "yearly snapshot"}}},
      {{.keep_daily = 7, .keep_weekly = 2, .keep_monthly = 3, .keep_yearly = 10},
       {{102, "daily snapshot|weekly snapshot|monthly snapshot|yearly snapshot"},
        {101, "daily snapshot|weekly snapshot"},
        {99, "daily snapshot"},
        {98, "daily snapshot"},
        {97, "daily snapshot"},
        {96, "daily snapshot"},
        {95, "daily snapshot"},
        {83, "monthly snapshot|yearly snapshot"},
        {69, "monthly snapshot"},
        {39, "yearly snapshot"}}},
      {{.keep_tags = {"foo"}},
       {{71, "has tags [foo]"},
        {72, "has tags [foo]"},
        {73, "has tags [foo]"},
        {35, "has tags [foo]"},
        {33, "has tags [foo]"},
        {32, "has tags [foo]"},
        {31, "has tags [foo]"},
        {30, "has tags [foo]"},
        {29, "has tags [foo]"},
        {28, "has tags [foo]"},
        {27, "has tags [foo]"},
        {26, "has tags [foo]"},
        {25, "has tags [foo]"},
        {24, "has tags [foo]"},
        {23, "has tags [foo]"},
        {22, "has tags [foo]"},
        {21, "has tags [foo]"},
        {20, "has tags [foo]"}}},
      {{.keep_tags = {"foo,bar"}},
       {{71, "has tags [foo, bar]"},
        {72, "has tags [foo, bar]"},
        {73, "has tags [foo, bar]"},
        {35, "has tags [foo, bar]"}}},
      {{.keep_tags = {"foo", "bar"}},
       {{71, "has tags [foo]|has tags [bar]"},
        {72, "has tags [foo]|has tags [bar]"},
        {73, "has tags [foo]|has tags [bar]"},
        {35, "has tags [foo]|has tags [bar]"},
        {34, "has tags [bar]"},
        {33, "has tags [foo]"},
        {32, "has tags [foo]"},
        {31, "has tags [foo]"},
        {30, "has tags [foo]"},
        {29, "has tags [foo]"},
        {28, "has tags [foo]"},
        {27, "has tags [foo]"},
        {26, "has tags [foo]"},
        {25, "has tags [foo]"},
        {24, "has tags [foo]"},
        {23, "has tags [foo]"},
        {22, "has tags [foo]"},
        {21, "has tags [foo]"},
        {20, "has tags [foo]"}}},
      {{.keep_within = D("1d")}, {{102, "within 1d"}}},
      {{.keep_within = D("2d")}, {{102, "within 2d"}}},
      {{.keep_within = D("7d")}, {{102, "within 7d"}, {101, "within 7d"}, {100, "within 7d"}}},
      {{.keep_within = D("1m")},
       {{102, "within 1m"},
        {101, "within 1m"},
        {100, "within 1m"},
        {99, "within 1m"},
        {98, "within 1m"},
        {97, "within 1m"},
        {96, "within 1m"},
        {95, "within 1m"},
        {94, "within 1m"},
        {93, "within 1m"},
        {92, "within 1m"},
        {91, "within 1m"},
        {90, "within 1m"},
        {89, "within 1m"},
        {88, "within 1m"},
        {87, "within 1m"},
        {86, "within 1m"},
        {85, "within 1m"},
        {84, "within 1m"}}},
      {{.keep_within = D("1m14d")},
       {{102, "within 1m14d"},
        {101, "within 1m14d"},
        {100, "within 1m14d"},
        {99, "within 1m14d"},
        {98, "within 1m14d"},
        {97, "within 1m14d"},
        {96, "within 1m14d"},
        {95, "within 1m14d"},
        {94, "within 1m14d"},
        {93, "within 1m14d"},
        {92, "within 1m14d"},
        {91, "within 1m14d"},
        {90, "within 1m14d"},
        {89, "within 1m14d"},
        {88, "within 1m14d"},
        {87, "within 1m14d"},
        {86, "within 1m14d"},
        {85, "within 1m14d"},
        {84, "within 1m14d"}}},
      {{.keep_within = D("1y1d1m")},
       {{102, "within 1y1m1d"}, {101, "within 1y1m1d"}, {100, "within 1y1m1d"},
        {99, "within 1y1m1d"},  {98, "within 1y1m1d"},  {97, "within 1y1m1d"},
        {96, "within 1y1m1d"},  {95, "within 1y1m1d"},  {94, "within 1y1m1d"},
        {93, "within 1y1m1d"},  {92, "within 1y1m1d"},  {91, "within 1y1m1d"},
        {90, "within 1y1m1d"},  {89, "within 1y1m1d"},  {88, "within 1y1m1d"},
        {87, "within 1y1m1d"},  {86, "within 1y1m1d"},  {85, "within 1y1m1d"},
        {84, "within 1y1m1d"},  {83, "within 1y1m1d"},  {82, "within 1y1m1d"},
        {81, "within 1y1m1d"},  {80, "within 1y1m1d"},  {79, "within 1y1m1d"},
        {78, "within 1y1m1d"},  {77, "within 1y1m1d"},  {76, "within 1y1m1d"},
        {75, "within 1y1m1d"},  {74, "within 1y1m1d"},  {69, "within 1y1m1d"},
        {70, "within 1y1m1d"},  {71, "within 1y1m1d"},  {72, "within 1y1m1d"},
        {73, "within 1y1m1d"},  {68, "within 1y1m1d"},  {67, "within 1y1m1d"},
        {66, "within 1y1m1d"},  {65, "within 1y1m1d"},  {64, "within 1y1m1d"},
        {63, "within 1y1m1d"},  {62, "within 1y1m1d"},  {61, "within 1y1m1d"},
        {60, "within 1y1m1d"},  {49, "within 1y1m1d"},  {48, "within 1y1m1d"},
        {47, "within 1y1m1d"},  {46, "within 1y1m1d"},  {45, "within 1y1m1d"},
        {44, "within 1y1m1d"},  {43, "within 1y1m1d"},  {42, "within 1y1m1d"},
        {41, "within 1y1m1d"},  {40, "within 1y1m1d"},  {59, "within 1y1m1d"},
        {58, "within 1y1m1d"},  {57, "within 1y1m1d"},  {56, "within 1y1m1d"},
        {55, "within 1y1m1d"},  {54, "within 1y1m1d"},  {53, "within 1y1m1d"},
        {52, "within 1y1m1d"},  {51, "within 1y1m1d"},  {50, "within 1y1m1d"}}},
      {{.keep_within = D("13d23h")},
       {{102, "within 13d23h"},
        {101, "within 13d23h"},
        {100, "within 13d23h"},
        {99, "within 13d23h"},
        {98, "within 13d23h"},
        {97, "within 13d23h"},
        {96, "within 13d23h"},
        {95, "within 13d23h"},
        {94, "within 13d23h"}}},
      {{.keep_within = D("2m2h")},
       {{102, "within 2m2h"}, {101, "within 2m2h"}, {100, "within 2m2h"}, {99, "within 2m2h"},
        {98, "within 2m2h"},  {97, "within 2m2h"},  {96, "within 2m2h"},  {95, "within 2m2h"},
        {94, "within 2m2h"},  {93, "within 2m2h"},  {92, "within 2m2h"},  {91, "within 2m2h"},
        {90, "within 2m2h"},  {89, "within 2m2h"},  {88, "within 2m2h"},  {87, "within 2m2h"},
        {86, "within 2m2h"},  {85, "within 2m2h"},  {84, "within 2m2h"},  {83, "within 2m2h"},
        {82, "within 2m2h"},  {81, "within 2m2h"},  {80, "within 2m2h"}}},
      {{.keep_within = D("1y2m3d3h")},
       {{102, "within 1y2m3d3h"}, {101, "within 1y2m3d3h"}, {100, "within 1y2m3d3h"},
        {99, "within 1y2m3d3h"},  {98, "within 1y2m3d3h"},  {97, "within 1y2m3d3h"},
        {96, "within 1y2m3d3h"},  {95, "within 1y2m3d3h"},  {94, "within 1y2m3d3h"},
        {93, "within 1y2m3d3h"},  {92, "within 1y2m3d3h"},  {91, "within 1y2m3d3h"},
        {90, "within 1y2m3d3h"},  {89, "within 1y2m3d3h"},  {88, "within 1y2m3d3h"},
        {87, "within 1y2m3d3h"},  {86, "within 1y2m3d3h"},  {85, "within 1y2m3d3h"},
        {84, "within 1y2m3d3h"},  {83, "within 1y2m3d3h"},  {82, "within 1y2m3d3h"},
        {81, "within 1y2m3d3h"},  {80, "within 1y2m3d3h"},  {79, "within 1y2m3d3h"},
        {78, "within 1y2m3d3h"},  {77, "within 1y2m3d3h"},  {76, "within 1y2m3d3h"},
        {75, "within 1y2m3d3h"},  {74, "within 1y2m3d3h"},  {69, "within 1y2m3d3h"},
        {70, "within 1y2m3d3h"},  {71, "within 1y2m3d3h"},  {72, "within 1y2m3d3h"},
        {73, "within 1y2m3d3h"},  {68, "within 1y2m3d3h"},  {67, "within 1y2m3d3h"},
        {66, "within 1y2m3d3h"},  {65, "within 1y2m3d3h"},  {64, "within 1y2m3d3h"},
        {63, "within 1y2m3d3h"},  {62, "within 1y2m3d3h"},  {61, "within 1y2m3d3h"},
        {60, "within 1y2m3d3h"},  {49, "within 1y2m3d3h"},  {48, "within 1y2m3d3h"},
        {47, "within 1y2m3d3h"},  {46, "within 1y2m3d3h"},  {45, "within 1y2m3d3h"},
        {44, "within 1y2m3d3h"},  {43, "within 1y2m3d3h"},  {42, "within 1y2m3d3h"},
        {41, "within 1y2m3d3h"},  {40, "within 1y2m3d3h"},  {59, "within 1y2m3d3h"},
        {58, "within 1y2m3d3h"},  {57, "within 1y2m3d3h"},  {56, "within 1y2m3d3h"},
        {55, "within 1y2m3d3h"},  {54, "within 1y2m3d3h"},  {53, "within 1y2m3d3h"},
        {52, "within 1y2m3d3h"},  {51, "within 1y2m3d3h"},  {50, "within 1y2m3d3h"},
        {39, "within 1y2m3d3h"},  {38, "within 1y2m3d3h"},  {37, "within 1y2m3d3h"},
        {36, "within 1y2m3d3h"},  {35, "within 1y2m3d3h"}}},
      {{.keep_within_hourly = D("1y2m3d3h")},
       {{102, "hourly within 1y2m3d3h"}, {101, "hourly within 1y2m3d3h"},
        {99, "hourly within 1y2m3d3h"},  {98, "hourly within 1y2m3d3h"},
        {97, "hourly within 1y2m3d3h"},  {96, "hourly within 1y2m3d3h"},
        {95, "hourly within 1y2m3d3h"},  {94, "hourly within 1y2m3d3h"},
        {93, "hourly within 1y2m3d3h"},  {89, "hourly within 1y2m3d3h"},
        {88, "hourly within 1y2m3d3h"},  {87, "hourly within 1y2m3d3h"},
        {86, "hourly within 1y2m3d3h"},  {85, "hourly within 1y2m3d3h"},
        {83, "hourly within 1y2m3d3h"},  {82, "hourly within 1y2m3d3h"},
        {81, "hourly within 1y2m3d3h"},  {80, "hourly within 1y2m3d3h"},
        {79, "hourly within 1y2m3d3h"},  {78, "hourly within 1y2m3d3h"},
        {76, "hourly within 1y2m3d3h"},  {75, "hourly within 1y2m3d3h"},
        {74, "hourly within 1y2m3d3h"},  {69, "hourly within 1y2m3d3h"},
        {68, "hourly within 1y2m3d3h"},  {67, "hourly within 1y2m3d3h"},
        {66, "hourly within 1y2m3d3h"},  {65, "hourly within 1y2m3d3h"},
        {64, "hourly within 1y2m3d3h"},  {63, "hourly within 1y2m3d3h"},
        {62, "hourly within 1y2m3d3h"},  {61, "hourly within 1y2m3d3h"},
        {60, "hourly within 1y2m3d3h"},  {49, "hourly within 1y2m3d3h"},
        {48, "hourly within 1y2m3d3h"},  {47, "hourly within 1y2m3d3h"},
        {46, "hourly within 1y2m3d3h"},  {45, "hourly within 1y2m3d3h"},
        {44, "hourly within 1y2m3d3h"},  {43, "hourly within 1y2m3d3h"},
        {42, "hourly within 1y2m3d3h"},  {41, "hourly within 1y2m3d3h"},
        {40, "hourly within 1y2m3d3h"},  {59, "hourly within 1y2m3d3h"},
        {58, "hourly within 1y2m3d3h"},  {57, "hourly within 1y2m3d3h"},
        {56, "hourly within 1y2m3d3h"},  {55, "hourly within 1y2m3d3h"},
        {54, "hourly within 1y2m3d3h"},  {52, "hourly within 1y2m3d3h"},
        {51, "hourly within 1y2m3d3h"},  {50, "hourly within 1y2m3d3h"},
        {39, "hourly within 1y2m3d3h"},  {38, "hourly within 1y2m3d3h"},
        {37, "hourly within 1y2m3d3h"},  {36, "hourly within 1y2m3d3h"},
        {35, "hourly within 1y2m3d3h"}}},
      {{.keep_within_daily = D("1y2m3d3h")},
       {{102, "daily within 1y2m3d3h"}, {101, "daily within 1y2m3d3h"},
        {99, "daily within 1y2m3d3h"},  {98, "daily within 1y2m3d3h"},
        {97, "daily within 1y2m3d3h"},  {96, "daily within 1y2m3d3h"},
        {95, "daily within 1y2m3d3h"},  {94, "daily within 1y2m3d3h"},
        {87, "daily within 1y2m3d3h"},  {86, "daily within 1y2m3d3h"},
        {83, "daily within 1y2m3d3h"},  {82, "daily within 1y2m3d3h"},
        {81, "daily within 1y2m3d3h"},  {80, "daily within 1y2m3d3h"},
        {79, "daily within 1y2m3d3h"},  {78, "daily within 1y2m3d3h"},
        {76, "daily within 1y2m3d3h"},  {75, "daily within 1y2m3d3h"},
        {74, "daily within 1y2m3d3h"},  {69, "daily within 1y2m3d3h"},
        {68, "daily within 1y2m3d3h"},  {67, "daily within 1y2m3d3h"},
        {66, "daily within 1y2m3d3h"},  {65, "daily within 1y2m3d3h"},
        {64, "daily within 1y2m3d3h"},  {63, "daily within 1y2m3d3h"},
        {62, "daily within 1y2m3d3h"},  {61, "daily within 1y2m3d3h"},
        {60, "daily within 1y2m3d3h"},  {49, "daily within 1y2m3d3h"},
        {48, "daily within 1y2m3d3h"},  {47, "daily within 1y2m3d3h"},
        {46, "daily within 1y2m3d3h"},  {45, "daily within 1y2m3d3h"},
        {44, "daily within 1y2m3d3h"},  {43, "daily within 1y2m3d3h"},
        {42, "daily within 1y2m3d3h"},  {41, "daily within 1y2m3d3h"},
        {40, "daily within 1y2m3d3h"},  {59, "daily within 1y2m3d3h"},
        {58, "daily within 1y2m3d3h"},  {57, "daily within 1y2m3d3h"},
        {56, "daily within 1y2m3d3h"},  {55, "daily within 1y2m3d3h"},
        {54, "daily within 1y2m3d3h"},  {52, "daily within 1y2m3d3h"},
        {51, "daily within 1y2m3d3h"},  {50, "daily within 1y2m3d3h"},
        {39, "daily within 1y2m3d3h"},  {38, "daily within 1y2m3d3h"},
        {37, "daily within 1y2m3d3h"},  {36, "daily within 1y2m3d3h"},
        {35, "daily within 1y2m3d3h"}}},
      {{.keep_within_weekly = D("1y2m3d3h")},
       {{102, "weekly within 1y2m3d3h"},
        {101, "weekly within 1y2m3d3h"},
        {99, "weekly within 1y2m3d3h"},
        {87, "weekly within 1y2m3d3h"},
        {83, "weekly within 1y2m3d3h"},
        {79, "weekly within 1y2m3d3h"},
        {74, "weekly within 1y2m3d3h"},
        {69, "weekly within 1y2m3d3h"},
        {67, "weekly within 1y2m3d3h"},
        {61, "weekly within 1y2m3d3h"},
        {49, "weekly within 1y2m3d3h"},
        {48, "weekly within 1y2m3d3h"},
        {47, "weekly within 1y2m3d3h"},
        {43, "weekly within 1y2m3d3h"},
        {59, "weekly within 1y2m3d3h"},
        {55, "weekly within 1y2m3d3h"},
        {50, "weekly within 1y2m3d3h"},
        {39, "weekly within 1y2m3d3h"},
        {35, "weekly within 1y2m3d3h"}}},
      {{.keep_within_monthly = D("1y2m3d3h")},
       {{102, "monthly within 1y2m3d3h"},
        {83, "monthly within 1y2m3d3h"},
        {69, "monthly within 1y2m3d3h"},
        {49, "monthly within 1y2m3d3h"},
        {59, "monthly within 1y2m3d3h"},
        {39, "monthly within 1y2m3d3h"}}},
      {{.keep_within_yearly = D("1y2m3d3h")},
       {{102, "yearly within 1y2m3d3h"},
        {83, "yearly within 1y2m3d3h"},
        {39, "yearly within 1y2m3d3h"}}},
      {{.keep_within_hourly = D("2d"),
        .keep_within_daily = D("8d"),
        .keep_within_weekly = D("1m"),
        .keep_within_monthly = D("1y"),
        .keep_within_yearly = D("9y")},
       {{102,
         "hourly within 2d|daily within 8d|weekly within 1m|monthly within 1y|yearly within 9y"},
        {101, "daily within 8d|weekly within 1m"},
        {99, "weekly within 1m"},
        {87, "weekly within 1m"},
        {83, "monthly within 1y|yearly within 9y"},
        {69, "monthly within 1y"},
        {49, "monthly within 1y"},
        {59, "monthly within 1y"},
        {39, "yearly within 9y"}}},
      {{.keep_last = -1}, {{102, "last snapshot"}, {101, "last snapshot"}, {100, "last snapshot"},
                           {99, "last snapshot"},  {98, "last snapshot"},  {97, "last snapshot"},
                           {96, "last snapshot"},  {95, "last snapshot"},  {94, "last snapshot"},
                           {93, "last snapshot"},  {92, "last snapshot"},  {91, "last snapshot"},
                           {90, "last snapshot"},  {89, "last snapshot"},  {88, "last snapshot"},
                           {87, "last snapshot"},  {86, "last snapshot"},  {85, "last snapshot"},
                           {84, "last snapshot"},  {83, "last snapshot"},  {82, "last snapshot"},
                           {81, "last snapshot"},  {80, "last snapshot"},  {79, "last snapshot"},
                           {78, "last snapshot"},  {77, "last snapshot"},  {76, "last snapshot"},
                           {75, "last snapshot"},  {74, "last snapshot"},  {69, "last snapshot"},
                           {70, "last snapshot"},  {71, "last snapshot"},  {72, "last snapshot"},
                           {73, "last snapshot"},  {68, "last snapshot"},  {67, "last snapshot"},
                           {66, "last snapshot"},  {65, "last snapshot"},  {64, "last snapshot"},
                           {63, "last snapshot"},  {62, "last snapshot"},  {61, "last snapshot"},
                           {60, "last snapshot"},  {49, "last snapshot"},  {48, "last snapshot"},
                           {47, "last snapshot"},  {46, "last snapshot"},  {45, "last snapshot"},
                           {44, "last snapshot"},  {43, "last snapshot"},  {42, "last snapshot"},
                           {41, "last snapshot"},  {40, "last snapshot"},  {59, "last snapshot"},
                           {58, "last snapshot"},  {57, "last snapshot"},  {56, "last snapshot"},
                           {55, "last snapshot"},  {54, "last snapshot"},  {53, "last snapshot"},
                           {52, "last snapshot"},  {51, "last snapshot"},  {50, "last snapshot"},
                           {39, "last snapshot"},  {38, "last snapshot"},  {37, "last snapshot"},
                           {36, "last snapshot"},  {35, "last snapshot"},  {34, "last snapshot"},
                           {33, "last snapshot"},  {32, "last snapshot"},  {31, "last snapshot"},
                           {30, "last snapshot"},  {29, "last snapshot"},  {28, "last snapshot"},
                           {27, "last snapshot"},  {26, "last snapshot"},  {25, "last snapshot"},
                           {24, "last snapshot"},  {23, "last snapshot"},  {22, "last snapshot"},
                           {21, "last snapshot"},  {20, "last snapshot"},  {9, "last snapshot"},
                           {8, "last snapshot"},   {7, "last snapshot"},   {6, "last snapshot"},
                           {5, "last snapshot"},   {4, "last snapshot"},   {3, "last snapshot"},
                           {2, "last snapshot"},   {1, "last snapshot"},   {0, "last snapshot"},
                           {19, "last snapshot"},  {18, "last snapshot"},  {17, "last snapshot"},
                           {16, "last snapshot"},  {15, "last snapshot"},  {14, "last snapshot"},
                           {13, "last snapshot"},  {12, "last snapshot"},  {11, "last snapshot"},
                           {10, "last snapshot"}}},
      {{.keep_last = 1, .keep_hourly = -1},
       {{102, "last snapshot|hourly snapshot"},
        {101, "hourly snapshot"},
        {99, "hourly snapshot"},
        {98, "hourly snapshot"},
        {97, "hourly snapshot"},
        {96, "hourly snapshot"},
        {95, "hourly snapshot"},
        {94, "hourly snapshot"},
        {93, "hourly snapshot"},
        {89, "hourly snapshot"},
        {88, "hourly snapshot"},
        {87, "hourly snapshot"},
        {86, "hourly snapshot"},
        {85, "hourly snapshot"},
        {83, "hourly snapshot"},
        {82, "hourly snapshot"},
        {81, "hourly snapshot"},
        {80, "hourly snapshot"},
        {79, "hourly snapshot"},
        {78, "hourly snapshot"},
        {76, "hourly snapshot"},
        {75, "hourly snapshot"},
        {74, "hourly snapshot"},
        {69, "hourly snapshot"},
        {68, "hourly snapshot"},
        {67, "hourly snapshot"},
        {66, "hourly snapshot"},
        {65, "hourly snapshot"},
        {64, "hourly snapshot"},
        {63, "hourly snapshot"},
        {62, "hourly snapshot"},
        {61, "hourly snapshot"},
        {60, "hourly snapshot"},
        {49, "hourly snapshot"},
        {48, "hourly snapshot"},
        {47, "hourly snapshot"},
        {46, "hourly snapshot"},
        {45, "hourly snapshot"},
        {44, "hourly snapshot"},
        {43, "hourly snapshot"},
        {42, "hourly snapshot"},
        {41, "hourly snapshot"},
        {40, "hourly snapshot"},
        {59, "hourly snapshot"},
        {58, "hourly snapshot"},
        {57, "hourly snapshot"},
        {56, "hourly snapshot"},
        {55, "hourly snapshot"},
        {54, "hourly snapshot"},
        {52, "hourly snapshot"},
        {51, "hourly snapshot"},
        {50, "hourly snapshot"},
        {39, "hourly snapshot"},
        {38, "hourly snapshot"},
        {37, "hourly snapshot"},
        {36, "hourly snapshot"},
        {35, "hourly snapshot"},
        {34, "hourly snapshot"},
        {32, "hourly snapshot"},
        {31, "hourly snapshot"},
        {30, "hourly snapshot"},
        {29, "hourly snapshot"},
        {28, "hourly snapshot"},
        {27, "hourly snapshot"},
        {26, "hourly snapshot"},
        {25, "hourly snapshot"},
        {24, "hourly snapshot"},
        {23, "hourly snapshot"},
        {22, "hourly snapshot"},
        {21, "hourly snapshot"},
        {20, "hourly snapshot"},
        {9, "hourly snapshot"},
        {8, "hourly snapshot"},
        {7, "hourly snapshot"},
        {6, "hourly snapshot"},
        {5, "hourly snapshot"},
        {4, "hourly snapshot"},
        {3, "hourly snapshot"},
        {2, "hourly snapshot"},
        {1, "hourly snapshot"},
        {0, "hourly snapshot"},
        {19, "hourly snapshot"},
        {18, "hourly snapshot"},
        {17, "hourly snapshot"},
        {16, "hourly snapshot"},
        {15, "hourly snapshot"},
        {14, "hourly snapshot"},
        {12, "hourly snapshot"},
        {11, "hourly snapshot"},
        {10, "hourly snapshot"}}},
      {{.keep_last = 1, .keep_daily = -1},
       {{102, "last snapshot|daily snapshot"},
        {101, "daily snapshot"},
        {99, "daily snapshot"},
        {98, "daily snapshot"},
        {97, "daily snapshot"},
        {96, "daily snapshot"},
        {95, "daily snapshot"},
        {94, "daily snapshot"},
        {87, "daily snapshot"},
        {86, "daily snapshot"},
        {83, "daily snapshot"},
        {82, "daily snapshot"},
        {81, "daily snapshot"},
        {80, "daily snapshot"},
        {79, "daily snapshot"},
        {78, "daily snapshot"},
        {76, "daily snapshot"},
        {75, "daily snapshot"},
        {74, "daily snapshot"},
        {69, "daily snapshot"},
        {68, "daily snapshot"},
        {67, "daily snapshot"},
        {66, "daily snapshot"},
        {65, "daily snapshot"},
        {64, "daily snapshot"},
        {63, "daily snapshot"},
        {62, "daily snapshot"},
        {61, "daily snapshot"},
        {60, "daily snapshot"},
        {49, "daily snapshot"},
        {48, "daily snapshot"},
        {47, "daily snapshot"},
        {46, "daily snapshot"},
        {45, "daily snapshot"},
        {44, "daily snapshot"},
        {43, "daily snapshot"},
        {42, "daily snapshot"},
        {41, "daily snapshot"},
        {40, "daily snapshot"},
        {59, "daily snapshot"},
        {58, "daily snapshot"},
        {57, "daily snapshot"},
        {56, "daily snapshot"},
        {55, "daily snapshot"},
        {54, "daily snapshot"},
        {52, "daily snapshot"},
        {51, "daily snapshot"},
        {50, "daily snapshot"},
        {39, "daily snapshot"},
        {38, "daily snapshot"},
        {37, "daily snapshot"},
        {36, "daily snapshot"},
        {35, "daily snapshot"},
        {34, "daily snapshot"},
        {32, "daily snapshot"},
        {31, "daily snapshot"},
        {30, "daily snapshot"},
        {29, "daily snapshot"},
        {28, "daily snapshot"},
        {27, "daily snapshot"},
        {26, "daily snapshot"},
        {25, "daily snapshot"},
        {24, "daily snapshot"},
        {23, "daily snapshot"},
        {22, "daily snapshot"},
        {21, "daily snapshot"},
        {20, "daily snapshot"},
        {9, "daily snapshot"},
        {8, "daily snapshot"},
        {7, "daily snapshot"},
        {6, "daily snapshot"},
        {5, "daily snapshot"},
        {4, "daily snapshot"},
        {3, "daily snapshot"},
        {2, "daily snapshot"},
        {1, "daily snapshot"},
        {0, "daily snapshot"},
        {19, "daily snapshot"},
        {18, "daily snapshot"},
        {17, "daily snapshot"},
        {16, "daily snapshot"},
        {15, "daily snapshot"},
        {14, "daily snapshot"},
        {12, "daily snapshot"},
        {11, "daily snapshot"},
        {10, "daily snapshot"}}},
      {{.keep_last = 1, .keep_weekly = -1},
       {{102, "last snapshot|weekly snapshot"},
        {101, "weekly snapshot"},
        {99, "weekly snapshot"},
        {87, "weekly snapshot"},
        {83, "weekly snapshot"},
        {79, "weekly snapshot"},
        {74, "weekly snapshot"},
        {69, "weekly snapshot"},
        {67, "weekly snapshot"},
        {61, "weekly snapshot"},
        {49, "weekly snapshot"},
        {48, "weekly snapshot"},
        {47, "weekly snapshot"},
        {43, "weekly snapshot"},
        {59, "weekly snapshot"},
        {55, "weekly snapshot"},
        {50, "weekly snapshot"},
        {39, "weekly snapshot"},
        {35, "weekly snapshot"},
        {30, "weekly snapshot"},
        {29, "weekly snapshot"},
        {27, "weekly snapshot"},
        {22, "weekly snapshot"},
        {9, "weekly snapshot"},
        {8, "weekly snapshot"},
        {7, "weekly snapshot"},
        {3, "weekly snapshot"},
        {19, "weekly snapshot"},
        {15, "weekly snapshot"},
        {11, "weekly snapshot"}}},
      {{.keep_last = 1, .keep_monthly = -1},
       {{102, "last snapshot|monthly snapshot"},
        {83, "monthly snapshot"},
        {69, "monthly snapshot"},
        {49, "monthly snapshot"},
        {59, "monthly snapshot"},
        {39, "monthly snapshot"},
        {29, "monthly snapshot"},
        {9, "monthly snapshot"},
        {19, "monthly snapshot"}}},
      {{.keep_last = 1, .keep_yearly = -1},
       {{102, "last snapshot|yearly snapshot"}, {83, "yearly snapshot"}, {39, "yearly snapshot"}}},
      {{.keep_last = 3, .keep_within = D("3d"), .keep_tags = {"bar"}},
       {{102, "within 3d|last snapshot"},
        {101, "last snapshot"},
        {100, "last snapshot"},
        {71, "has tags [bar]"},
        {72, "has tags [bar]"},
        {73, "has tags [bar]"},
        {35, "has tags [bar]"},
        {34, "has tags [bar]"}}},

  };
  return cases;
}
#pragma GCC diagnostic pop

TEST(RetentionTest, MatchesResticRulesTable) {
  std::vector<RetentionSnapshot> snaps;
  for (size_t i = 0; i < PolicyInput().size(); ++i) {
    snaps.push_back({"s" + std::to_string(i), ParseUtc(PolicyInput()[i].time),
                     PolicyInput()[i].tags, "host:/data"});
  }
  for (size_t c = 0; c < PolicyCases().size(); ++c) {
    const PolicyCase& pc = PolicyCases()[c];
    auto r = ApplyRetention(snaps, pc.policy);
    ASSERT_TRUE(r.ok()) << c;
    ASSERT_EQ(r->size(), snaps.size());
    std::vector<std::pair<size_t, std::string>> got;
    for (const auto& d : *r) {
      if (!d.keep) {
        EXPECT_TRUE(d.reasons.empty());
        continue;
      }
      std::string joined;
      for (const auto& reason : d.reasons) joined += (joined.empty() ? "" : "|") + reason;
      got.emplace_back(d.index, joined);
    }
    std::vector<std::pair<size_t, std::string>> want;
    for (const auto& k : pc.kept) want.emplace_back(k.index, k.reasons);
    EXPECT_EQ(got, want) << "case " << c << ": " << pc.policy.ToString();
  }
}

TEST(RetentionTest, GroupsAreIndependent) {
  std::vector<RetentionSnapshot> s = {
      {"a1", Utc(2024, 3, 1), {}, "a"},
      {"b1", Utc(2024, 3, 2), {}, "b"},
      {"a2", Utc(2024, 3, 3), {}, "a"},
      {"b2", Utc(2024, 3, 4), {}, "b"},
  };
  RetentionPolicy p;
  p.keep_last = 1;
  auto r = ApplyRetention(s, p).value();
  ASSERT_EQ(r.size(), 4u);
  // Group "a" first (first seen), newest first within each group.
  EXPECT_EQ(r[0].index, 2u);
  EXPECT_TRUE(r[0].keep);
  EXPECT_EQ(r[1].index, 0u);
  EXPECT_FALSE(r[1].keep);
  EXPECT_EQ(r[2].index, 3u);
  EXPECT_TRUE(r[2].keep);
  EXPECT_EQ(r[3].index, 1u);
  EXPECT_FALSE(r[3].keep);
}

TEST(RetentionTest, TimeZoneDecidesTheDay) {
  // 23:30 and 00:30 UTC fall on two UTC days but on one day at UTC-5.
  std::vector<RetentionSnapshot> s = {{"x", Utc(2024, 1, 1, 23, 30), {}, ""},
                                      {"y", Utc(2024, 1, 2, 0, 30), {}, ""}};
  RetentionPolicy p;
  p.keep_daily = 5;
  auto utc = ApplyRetention(s, p).value();
  EXPECT_TRUE(utc[0].keep);
  EXPECT_TRUE(utc[1].keep);

  const char* old_tz = std::getenv("TZ");
  const std::string saved = old_tz ? old_tz : "";
  setenv("TZ", "EST5", 1);
  tzset();
  RetentionOptions local;
  local.zone = RetentionTimeZone::kLocal;
  auto est = ApplyRetention(s, p, local).value();
  if (old_tz) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
  EXPECT_TRUE(est[0].keep);
  EXPECT_FALSE(est[1].keep);
}

TEST(RetentionTest, WithinUsesCalendarMonths) {
  // Newest 2024-03-31: 1m before is "2024-02-31" = 2024-03-02 (Go AddDate),
  // so 2024-03-01 is outside and 2024-03-02 12:00 inside.
  std::vector<RetentionSnapshot> s = {{"new", Utc(2024, 3, 31), {}, ""},
                                      {"in", Utc(2024, 3, 2, 12), {}, ""},
                                      {"edge", Utc(2024, 3, 2), {}, ""},
                                      {"out", Utc(2024, 3, 1), {}, ""}};
  RetentionPolicy p;
  p.keep_within = D("1m");
  auto r = ApplyRetention(s, p).value();
  EXPECT_TRUE(r[0].keep);
  EXPECT_TRUE(r[1].keep);
  EXPECT_FALSE(r[2].keep);  // exactly at the limit: not after it
  EXPECT_FALSE(r[3].keep);
  EXPECT_EQ(r[1].reasons, std::vector<std::string>{"within 1m"});
}

TEST(RetentionTest, PolicyToString) {
  RetentionPolicy p;
  p.keep_last = 3;
  p.keep_daily = -1;
  p.keep_within_daily = D("7d");
  p.keep_tags = {"a,b"};
  p.keep_within = D("1y");
  EXPECT_EQ(p.ToString(),
            "keep 3 latest, all daily snapshots, daily snapshots within 7d and all snapshots "
            "with tags [[a, b]] and all snapshots within 1y of the newest");
}

TEST(RetentionTest, InvalidPolicy) {
  RetentionPolicy p;
  p.keep_daily = -2;
  EXPECT_EQ(ApplyRetention({}, p).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace vecsafe::repo
