#include "repo/retention.h"

#include <algorithm>
#include <ctime>
#include <map>

namespace vecsafe::repo {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

struct Civil {
  int year;
  int month;  // 1..12
  int day;    // 1..31
  int hour;
  int minute;
  int second;
  int yday;     // 0-based day of the year
  int weekday;  // 0 = Sunday
};

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

Civil ToCivil(int64_t unix_nanos, RetentionTimeZone zone) {
  const time_t secs = static_cast<time_t>(FloorDiv(unix_nanos, kNanosPerSecond));
  std::tm tm{};
  if (zone == RetentionTimeZone::kLocal) {
    localtime_r(&secs, &tm);
  } else {
    gmtime_r(&secs, &tm);
  }
  return Civil{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
               tm.tm_min,         tm.tm_sec,     tm.tm_yday, tm.tm_wday};
}

// ISO 8601 week: the week (Monday first) belongs to the year of its Thursday.
int IsoYearWeek(const Civil& c) {
  const int wd = c.weekday == 0 ? 7 : c.weekday;  // Monday=1 .. Sunday=7
  const int64_t thursday =
      DaysFromCivil(c.year, c.month, c.day) + (4 - wd);  // the Thursday of this week
  const int64_t jan1 = DaysFromCivil(c.year, 1, 1);
  int iso_year = c.year;
  int64_t year_start = jan1;
  if (thursday < jan1) {
    iso_year = c.year - 1;
    year_start = DaysFromCivil(iso_year, 1, 1);
  } else if (thursday >= DaysFromCivil(c.year + 1, 1, 1)) {
    iso_year = c.year + 1;
    year_start = DaysFromCivil(iso_year, 1, 1);
  }
  const int week = static_cast<int>((thursday - year_start) / 7) + 1;
  return iso_year * 100 + week;
}

// The instant `d` before `t`: calendar years, months and days first (with
// overflowing days rolling over, e.g. Mar 31 - 1 month = Mar 3 or 2), then
// hours as absolute time.
int64_t PastTime(int64_t t, const RetentionDuration& d, RetentionTimeZone zone) {
  const Civil c = ToCivil(t, zone);
  const int64_t sub_second = t - FloorDiv(t, kNanosPerSecond) * kNanosPerSecond;
  int64_t secs;
  if (zone == RetentionTimeZone::kLocal) {
    std::tm tm{};
    tm.tm_year = c.year - d.years - 1900;
    tm.tm_mon = c.month - 1 - d.months;
    tm.tm_mday = c.day - d.days;
    tm.tm_hour = c.hour;
    tm.tm_min = c.minute;
    tm.tm_sec = c.second;
    tm.tm_isdst = -1;
    secs = static_cast<int64_t>(std::mktime(&tm));
  } else {
    int64_t month0 = static_cast<int64_t>(c.month) - 1 - d.months;
    int64_t year = static_cast<int64_t>(c.year) - d.years + FloorDiv(month0, 12);
    month0 -= FloorDiv(month0, 12) * 12;
    const int64_t days = DaysFromCivil(year, month0 + 1, 1) + (c.day - 1) - d.days;
    secs = days * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
  }
  return (secs - static_cast<int64_t>(d.hours) * 3600) * kNanosPerSecond + sub_second;
}

std::vector<std::string> SplitTags(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string tag = list.substr(start, end - start);
    const size_t b = tag.find_first_not_of(' ');
    const size_t e = tag.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(tag.substr(b, e - b + 1));
    start = end + 1;
  }
  return out;
}

std::string TagListString(const std::vector<std::string>& tags) {
  std::string s = "[";
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) s += ", ";
    s += tags[i];
  }
  return s + "]";
}

bool HasTags(const RetentionSnapshot& s, const std::vector<std::string>& want) {
  for (const auto& t : want) {
    if (std::find(s.tags.begin(), s.tags.end(), t) == s.tags.end()) return false;
  }
  return true;
}

enum class Bucket : uint8_t { kAlways, kHour, kDay, kWeek, kMonth, kYear };

int64_t BucketValue(Bucket b, const Civil& c, size_t nr) {
  switch (b) {
    case Bucket::kAlways:
      return static_cast<int64_t>(nr);
    case Bucket::kHour:
      return int64_t{c.year} * 1000000 + c.month * 10000 + c.day * 100 + c.hour;
    case Bucket::kDay:
      return int64_t{c.year} * 10000 + c.month * 100 + c.day;
    case Bucket::kWeek:
      return IsoYearWeek(c);
    case Bucket::kMonth:
      return int64_t{c.year} * 100 + c.month;
    case Bucket::kYear:
      return c.year;
  }
  return 0;
}

Status CheckDuration(const RetentionDuration& d, std::string_view name) {
  if (d.years < 0 || d.months < 0 || d.days < 0 || d.hours < 0) {
    return InvalidArgument(std::string(name) + " has a negative part", "Use e.g. 7d or 1y6m.");
  }
  return Status::OK();
}

}  // namespace

std::string RetentionDuration::ToString() const {
  std::string s;
  if (years != 0) s += std::to_string(years) + "y";
  if (months != 0) s += std::to_string(months) + "m";
  if (days != 0) s += std::to_string(days) + "d";
  if (hours != 0) s += std::to_string(hours) + "h";
  return s;
}

Result<RetentionDuration> ParseRetentionDuration(std::string_view text) {
  const std::string_view hint = "Write a duration like 30d, 12h, 1y6m or 2y3m4d5h (y, m, d, h).";
  const size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) {
    return InvalidArgument("empty duration", std::string(hint));
  }
  const size_t e = text.find_last_not_of(" \t\r\n");
  const std::string_view s = text.substr(b, e - b + 1);
  RetentionDuration d;
  size_t i = 0;
  while (i < s.size()) {
    const size_t num_start = i;
    int64_t num = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (i - num_start >= 9) {
        return InvalidArgument("number too large in duration \"" + std::string(s) + "\"",
                               std::string(hint));
      }
      num = num * 10 + (s[i] - '0');
      ++i;
    }
    if (i == num_start) {
      const std::string what =
          s[i] == '-' ? "negative numbers are not allowed" : "expected a number";
      return InvalidArgument(what + " at position " + std::to_string(i + 1) + " of duration \"" +
                                 std::string(s) + "\"",
                             std::string(hint));
    }
    if (i == s.size()) {
      return InvalidArgument(
          "no unit after number " + std::to_string(num) + " in duration \"" + std::string(s) + "\"",
          std::string(hint));
    }
    const int v = static_cast<int>(num);
    switch (s[i]) {
      case 'y':
        d.years = v;
        break;
      case 'm':
        d.months = v;
        break;
      case 'd':
        d.days = v;
        break;
      case 'h':
        d.hours = v;
        break;
      default:
        return InvalidArgument(std::string("invalid unit '") + s[i] + "' after number " +
                                   std::to_string(num) + " in duration \"" + std::string(s) + "\"",
                               std::string(hint));
    }
    ++i;
  }
  return d;
}

bool RetentionPolicy::Empty() const {
  return keep_last == 0 && keep_hourly == 0 && keep_daily == 0 && keep_weekly == 0 &&
         keep_monthly == 0 && keep_yearly == 0 && keep_within.Zero() && keep_within_hourly.Zero() &&
         keep_within_daily.Zero() && keep_within_weekly.Zero() && keep_within_monthly.Zero() &&
         keep_within_yearly.Zero() && keep_tags.empty();
}

Status RetentionPolicy::Validate() const {
  const std::pair<int, const char*> counts[] = {
      {keep_last, "--keep-last"},       {keep_hourly, "--keep-hourly"},
      {keep_daily, "--keep-daily"},     {keep_weekly, "--keep-weekly"},
      {keep_monthly, "--keep-monthly"}, {keep_yearly, "--keep-yearly"}};
  for (const auto& [n, name] : counts) {
    if (n < -1) {
      return InvalidArgument(std::string(name) + " is " + std::to_string(n),
                             "Give a count of snapshots to keep, or -1 to keep all.");
    }
  }
  VS_RETURN_IF_ERROR(CheckDuration(keep_within, "--keep-within"));
  VS_RETURN_IF_ERROR(CheckDuration(keep_within_hourly, "--keep-within-hourly"));
  VS_RETURN_IF_ERROR(CheckDuration(keep_within_daily, "--keep-within-daily"));
  VS_RETURN_IF_ERROR(CheckDuration(keep_within_weekly, "--keep-within-weekly"));
  VS_RETURN_IF_ERROR(CheckDuration(keep_within_monthly, "--keep-within-monthly"));
  VS_RETURN_IF_ERROR(CheckDuration(keep_within_yearly, "--keep-within-yearly"));
  for (const auto& t : keep_tags) {
    if (SplitTags(t).empty()) {
      return InvalidArgument("--keep-tag \"" + t + "\" names no tag",
                             "Give one tag, or several separated by commas (all must match).");
    }
  }
  return Status::OK();
}

std::string RetentionPolicy::ToString() const {
  std::vector<std::string> keeps;
  const std::pair<int, const char*> counts[] = {{keep_last, "latest"},     {keep_hourly, "hourly"},
                                                {keep_daily, "daily"},     {keep_weekly, "weekly"},
                                                {keep_monthly, "monthly"}, {keep_yearly, "yearly"}};
  for (const auto& [n, what] : counts) {
    if (n > 0) keeps.push_back(std::to_string(n) + " " + what);
    if (n == -1) keeps.push_back(std::string("all ") + what);
  }
  std::vector<std::string> keepw;
  const std::pair<const RetentionDuration*, const char*> within[] = {
      {&keep_within_hourly, "hourly"},
      {&keep_within_daily, "daily"},
      {&keep_within_weekly, "weekly"},
      {&keep_within_monthly, "monthly"},
      {&keep_within_yearly, "yearly"}};
  for (const auto& [d, what] : within) {
    if (!d->Zero()) keepw.push_back(std::string(what) + " snapshots within " + d->ToString());
  }
  const auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i > 0 ? ", " : "") + v[i];
    return s;
  };
  std::string s;
  if (!keeps.empty()) s = join(keeps) + " snapshots";
  if (!keepw.empty()) s += (s.empty() ? "" : ", ") + join(keepw);
  if (!keep_tags.empty()) {
    std::vector<std::string> lists;
    for (const auto& t : keep_tags) lists.push_back(TagListString(SplitTags(t)));
    std::string all = "[";
    for (size_t i = 0; i < lists.size(); ++i) all += (i > 0 ? " " : "") + lists[i];
    s += (s.empty() ? "" : " and ") + std::string("all snapshots with tags ") + all + "]";
  }
  if (!keep_within.Zero()) {
    s += (s.empty() ? "" : " and ") + std::string("all snapshots within ") +
         keep_within.ToString() + " of the newest";
  }
  return "keep " + s;
}

Result<std::vector<RetentionDecision>> ApplyRetention(const std::vector<RetentionSnapshot>& snaps,
                                                      const RetentionPolicy& policy,
                                                      const RetentionOptions& options) {
  VS_RETURN_IF_ERROR(policy.Validate());
  std::vector<std::vector<std::string>> tag_lists;
  for (const auto& t : policy.keep_tags) tag_lists.push_back(SplitTags(t));

  // Groups in order of first appearance.
  std::vector<std::string> group_order;
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < snaps.size(); ++i) {
    auto [it, inserted] = groups.try_emplace(snaps[i].group);
    if (inserted) group_order.push_back(snaps[i].group);
    it->second.push_back(i);
  }

  std::vector<RetentionDecision> out;
  out.reserve(snaps.size());
  for (const auto& g : group_order) {
    std::vector<size_t> list = groups[g];
    std::stable_sort(list.begin(), list.end(), [&](size_t a, size_t b) {
      return snaps[a].time_unix_nanos > snaps[b].time_unix_nanos;
    });
    if (policy.Empty()) {
      for (size_t idx : list) out.push_back({idx, true, {"policy is empty"}});
      continue;
    }
    struct CountBucket {
      int count;
      Bucket bucket;
      int64_t last;
      const char* reason;
    };
    CountBucket buckets[] = {
        {policy.keep_last, Bucket::kAlways, -1, "last snapshot"},
        {policy.keep_hourly, Bucket::kHour, -1, "hourly snapshot"},
        {policy.keep_daily, Bucket::kDay, -1, "daily snapshot"},
        {policy.keep_weekly, Bucket::kWeek, -1, "weekly snapshot"},
        {policy.keep_monthly, Bucket::kMonth, -1, "monthly snapshot"},
        {policy.keep_yearly, Bucket::kYear, -1, "yearly snapshot"},
    };
    struct WithinBucket {
      const RetentionDuration* within;
      Bucket bucket;
      int64_t last;
      const char* reason;
    };
    WithinBucket within_buckets[] = {
        {&policy.keep_within_hourly, Bucket::kHour, -1, "hourly within"},
        {&policy.keep_within_daily, Bucket::kDay, -1, "daily within"},
        {&policy.keep_within_weekly, Bucket::kWeek, -1, "weekly within"},
        {&policy.keep_within_monthly, Bucket::kMonth, -1, "monthly within"},
        {&policy.keep_within_yearly, Bucket::kYear, -1, "yearly within"},
    };
    const int64_t latest = snaps[list[0]].time_unix_nanos;

    for (size_t nr = 0; nr < list.size(); ++nr) {
      const RetentionSnapshot& cur = snaps[list[nr]];
      const Civil civil = ToCivil(cur.time_unix_nanos, options.zone);
      RetentionDecision dec{list[nr], false, {}};

      // Tags are not counted.
      for (const auto& tl : tag_lists) {
        if (HasTags(cur, tl)) {
          dec.keep = true;
          dec.reasons.push_back("has tags " + TagListString(tl));
        }
      }
      if (!policy.keep_within.Zero() &&
          cur.time_unix_nanos > PastTime(latest, policy.keep_within, options.zone)) {
        dec.keep = true;
        dec.reasons.push_back("within " + policy.keep_within.ToString());
      }
      for (auto& b : buckets) {
        if (b.count > 0 || b.count == -1) {
          const int64_t val = BucketValue(b.bucket, civil, nr);
          if (val != b.last) {
            dec.keep = true;
            b.last = val;
            if (b.count > 0) --b.count;
            dec.reasons.push_back(b.reason);
          }
        }
      }
      for (auto& b : within_buckets) {
        if (!b.within->Zero() && cur.time_unix_nanos > PastTime(latest, *b.within, options.zone)) {
          const int64_t val = BucketValue(b.bucket, civil, nr);
          if (val != b.last) {
            dec.keep = true;
            b.last = val;
            dec.reasons.push_back(std::string(b.reason) + " " + b.within->ToString());
          }
        }
      }
      out.push_back(std::move(dec));
    }
  }
  return out;
}

}  // namespace vecsafe::repo
