#include "service/cron.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace vecsafe::service {
namespace {

// "2024-03-10T03:00:00-04:00" -> Unix seconds.
int64_t Iso(const std::string& s) {
  int y, mo, d, h, mi, sec, oh = 0, om = 0;
  char sign = 'Z';
  const int n = std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d%c%d:%d", &y, &mo, &d, &h, &mi, &sec,
                            &sign, &oh, &om);
  EXPECT_GE(n, 7) << s;
  int off = 0;
  if (sign == '+') off = oh * 3600 + om * 60;
  if (sign == '-') off = -(oh * 3600 + om * 60);
  return DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
         mi * 60 + sec - off;
}

struct Case {
  const char* expr;
  const char* zone;
  const char* after;
  const char* expect;  // nullptr: never fires
};

// Expected values were worked out by hand from the calendar and the zones'
// published DST rules (US: second Sunday of March / first Sunday of November
// at 02:00; EU: last Sunday of March / October at 01:00 UTC; Sydney: first
// Sunday of April / October at 03:00 / 02:00 local).
const Case kCases[] = {
    {"* * * * *", "UTC", "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"},
    {"*/15 * * * *", "UTC", "2024-01-01T00:07:00Z", "2024-01-01T00:15:00Z"},
    {"5/20 * * * *", "UTC", "2024-01-01T00:06:00Z", "2024-01-01T00:25:00Z"},
    {"0 0 1 1 *", "UTC", "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z"},
    {"@yearly", "UTC", "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z"},
    {"@hourly", "UTC", "2024-01-01T10:30:00Z", "2024-01-01T11:00:00Z"},
    {"@daily", "UTC", "2024-01-01T10:30:00Z", "2024-01-02T00:00:00Z"},
    {"@monthly", "UTC", "2024-01-31T10:30:00Z", "2024-02-01T00:00:00Z"},
    {"@weekly", "UTC", "2024-01-03T00:00:00Z", "2024-01-07T00:00:00Z"},
    {"0 12 * * mon-fri", "UTC", "2024-01-05T12:00:00Z", "2024-01-08T12:00:00Z"},
    {"0 0 * * 7", "UTC", "2024-01-01T00:00:00Z", "2024-01-07T00:00:00Z"},
    {"0 0 1 jan,jul *", "UTC", "2024-02-01T00:00:00Z", "2024-07-01T00:00:00Z"},
    {"0 8-10/2 * * *", "UTC", "2024-01-01T08:00:00Z", "2024-01-01T10:00:00Z"},
    // Day-of-month OR day-of-week when both are restricted (Vixie rule).
    {"0 0 13 * 5", "UTC", "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"},
    {"0 0 13 * 5", "UTC", "2024-01-12T01:00:00Z", "2024-01-13T00:00:00Z"},
    // ... but AND when one of them is '*'.
    {"0 0 */2 * 5", "UTC", "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"},
    {"0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
    {"0 0 31 2 *", "UTC", "2024-01-01T00:00:00Z", nullptr},
    // New York spring-forward (2024-03-10 02:00 EST -> 03:00 EDT): a skipped
    // time fires at the jump.
    {"30 2 * * *", "America/New_York", "2024-03-10T00:00:00-05:00", "2024-03-10T03:00:00-04:00"},
    {"30 2 * * *", "America/New_York", "2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"},
    {"0 3 * * *", "America/New_York", "2024-03-10T01:59:00-05:00", "2024-03-10T03:00:00-04:00"},
    // New York fall-back (2024-11-03 02:00 EDT -> 01:00 EST): a repeated time
    // fires once, unless the hour is '*'.
    {"30 1 * * *", "America/New_York", "2024-11-03T00:00:00-04:00", "2024-11-03T01:30:00-04:00"},
    {"30 1 * * *", "America/New_York", "2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"},
    {"30 * * * *", "America/New_York", "2024-11-03T01:30:00-04:00", "2024-11-03T01:30:00-05:00"},
    // Berlin (2024-03-31 02:00 CET -> 03:00 CEST; 2024-10-27 03:00 CEST -> 02:00 CET).
    {"0 3 * * *", "Europe/Berlin", "2024-03-30T12:00:00+01:00", "2024-03-31T03:00:00+02:00"},
    {"0 2 * * *", "Europe/Berlin", "2024-03-30T12:00:00+01:00", "2024-03-31T03:00:00+02:00"},
    {"0 12 * * *", "Europe/Berlin", "2024-10-26T12:00:00+02:00", "2024-10-27T12:00:00+01:00"},
    // Southern hemisphere: Sydney leaves DST on 2024-04-07 (03:00 -> 02:00).
    {"0 9 * * *", "Australia/Sydney", "2024-04-06T12:00:00+11:00", "2024-04-07T09:00:00+10:00"},
    {"0 9 * * *", "Australia/Sydney", "2024-10-05T12:00:00+10:00", "2024-10-06T09:00:00+11:00"},
    // Past the zone file's last transition: the footer's POSIX rule applies.
    {"0 12 1 7 *", "America/New_York", "2040-01-01T00:00:00Z", "2040-07-01T12:00:00-04:00"},
    {"0 12 1 12 *", "America/New_York", "2040-01-01T00:00:00Z", "2040-12-01T12:00:00-05:00"},
    // A POSIX rule string as the zone.
    {"0 12 * * *", "EST5EDT,M3.2.0,M11.1.0", "2024-07-01T00:00:00Z", "2024-07-01T12:00:00-04:00"},
    {"0 12 * * *", "Asia/Kolkata", "2024-07-01T00:00:00Z", "2024-07-01T12:00:00+05:30"},
};

TEST(CronTest, NextFireTimes) {
  for (const Case& c : kCases) {
    auto expr = CronExpr::Parse(c.expr);
    ASSERT_TRUE(expr.ok()) << c.expr << ": " << expr.status().ToString();
    auto tz = TimeZone::Load(c.zone);
    ASSERT_TRUE(tz.ok()) << c.zone << ": " << tz.status().ToString();
    const auto next = expr->Next(Iso(c.after), **tz);
    if (c.expect == nullptr) {
      EXPECT_FALSE(next.has_value()) << c.expr;
    } else {
      ASSERT_TRUE(next.has_value()) << c.expr << " after " << c.after;
      EXPECT_EQ(*next, Iso(c.expect)) << c.expr << " in " << c.zone << " after " << c.after
                                      << ": got " << *next << " want " << Iso(c.expect);
    }
  }
}

TEST(CronTest, HourlyAcrossFallBackFiresEveryRealHour) {
  auto expr = CronExpr::Parse("0 * * * *");
  ASSERT_TRUE(expr.ok());
  auto tz = TimeZone::Load("America/New_York");
  ASSERT_TRUE(tz.ok());
  int64_t t = Iso("2024-11-03T00:00:00-04:00");
  for (int i = 0; i < 4; ++i) {
    auto next = expr->Next(t, **tz);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(*next - t, 3600) << "step " << i;
    t = *next;
  }
}

TEST(CronTest, RejectsMalformedExpressions) {
  const char* bad[] = {
      "",           "* * * *",      "* * * * * *", "60 * * * *",   "* 24 * * *", "* * 0 * *",
      "* * * 13 *", "* * * * 8",    "5-1 * * * *", "*/0 * * * *",  "@every 5m",  "a * * * *",
      ",1 * * * *", "1,,2 * * * *", "* * * foo *", "1-2-3 * * * *"};
  for (const char* b : bad) {
    auto r = CronExpr::Parse(b);
    EXPECT_FALSE(r.ok()) << "accepted: \"" << b << "\"";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
      EXPECT_FALSE(r.status().hint().empty());
    }
  }
}

TEST(CronTest, ErrorNamesTheField) {
  auto r = CronExpr::Parse("0 25 * * *");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("hour"), std::string::npos) << r.status().message();
}

TEST(TimeZoneTest, UnknownZoneIsNotFound) {
  EXPECT_EQ(TimeZone::Load("Mars/Olympus_Mons").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(TimeZone::Load("../../etc/passwd").status().code(), ErrorCode::kNotFound);
}

TEST(TimeZoneTest, Offsets) {
  auto tz = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(tz.ok());
  EXPECT_EQ((*tz)->OffsetAt(Iso("2024-01-15T12:00:00Z")), 3600);
  EXPECT_EQ((*tz)->OffsetAt(Iso("2024-07-15T12:00:00Z")), 7200);
  EXPECT_EQ((*tz)->OffsetAt(Iso("2060-07-15T12:00:00Z")), 7200);
  EXPECT_EQ(TimeZone::Utc()->OffsetAt(0), 0);
}

TEST(CivilTest, RoundTrip) {
  for (int64_t d = -800000; d < 800000; d += 997) {
    int64_t y;
    unsigned m, dd;
    CivilFromDays(d, &y, &m, &dd);
    EXPECT_EQ(DaysFromCivil(y, m, dd), d);
  }
}

}  // namespace
}  // namespace vecsafe::service
