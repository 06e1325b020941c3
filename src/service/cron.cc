#include "service/cron.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace vecsafe::service {

// ---------------------------------------------------------------- civil dates
// Howard Hinnant's days_from_civil / civil_from_days.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}
int WeekdayOfDays(int64_t days) { return static_cast<int>(((days % 7) + 11) % 7); }  // 0=Sunday

}  // namespace

// ----------------------------------------------------------- POSIX TZ rules
struct TimeZone::Rule {
  struct When {
    char kind = 'M';  // 'M' (Mm.w.d), 'J' (Jn, no Feb 29), 'N' (zero-based day)
    int month = 0, week = 0, wday = 0, day = 0;
    int time = 7200;  // seconds after local midnight
  };
  int std_offset = 0;  // east positive
  int dst_offset = 0;
  bool has_dst = false;
  When start, end;

  int64_t LocalDayOf(const When& w, int64_t year) const {
    if (w.kind == 'J') {
      int n = w.day - 1;
      if (IsLeap(year) && w.day >= 60) ++n;
      return DaysFromCivil(year, 1, 1) + n;
    }
    if (w.kind == 'N') return DaysFromCivil(year, 1, 1) + w.day;
    const int64_t first = DaysFromCivil(year, static_cast<unsigned>(w.month), 1);
    int64_t day = first + ((w.wday - WeekdayOfDays(first) + 7) % 7) + (w.week - 1) * 7;
    const int64_t last = first + DaysInMonth(year, static_cast<unsigned>(w.month)) - 1;
    while (day > last) day -= 7;
    return day;
  }

  int OffsetAt(int64_t utc) const {
    if (!has_dst) return std_offset;
    int64_t y;
    unsigned m, d;
    CivilFromDays(FloorDiv(utc + std_offset, 86400), &y, &m, &d);
    const int64_t start_utc = LocalDayOf(start, y) * 86400 + start.time - std_offset;
    const int64_t end_utc = LocalDayOf(end, y) * 86400 + end.time - dst_offset;
    if (start_utc < end_utc) return (utc >= start_utc && utc < end_utc) ? dst_offset : std_offset;
    return (utc >= end_utc && utc < start_utc) ? std_offset : dst_offset;
  }
};

namespace {

// Parses [+-]hh[:mm[:ss]] into seconds; returns false when malformed.
bool ParseHms(std::string_view& s, int* out, int max_hours) {
  int sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    if (s[0] == '-') sign = -1;
    s.remove_prefix(1);
  }
  int parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (s.empty() || s[0] != ':') break;
      s.remove_prefix(1);
    }
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    int v = 0, digits = 0;
    while (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0])) && digits < 3) {
      v = v * 10 + (s[0] - '0');
      s.remove_prefix(1);
      ++digits;
    }
    parts[i] = v;
  }
  if (parts[0] > max_hours || parts[1] > 59 || parts[2] > 59) return false;
  *out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

bool ParseTzName(std::string_view& s) {
  if (!s.empty() && s[0] == '<') {
    const size_t end = s.find('>');
    if (end == std::string_view::npos || end < 4) return false;
    s.remove_prefix(end + 1);
    return true;
  }
  size_t n = 0;
  while (n < s.size() && std::isalpha(static_cast<unsigned char>(s[n]))) ++n;
  if (n < 3) return false;
  s.remove_prefix(n);
  return true;
}

bool ParseInt(std::string_view& s, int* out, int lo, int hi) {
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  int v = 0, digits = 0;
  while (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
    if (++digits > 4) return false;
    v = v * 10 + (s[0] - '0');
    s.remove_prefix(1);
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool ParseWhen(std::string_view& s, TimeZone::Rule::When* w) {
  if (!s.empty() && s[0] == 'M') {
    s.remove_prefix(1);
    w->kind = 'M';
    if (!ParseInt(s, &w->month, 1, 12) || s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    if (!ParseInt(s, &w->week, 1, 5) || s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    if (!ParseInt(s, &w->wday, 0, 6)) return false;
  } else if (!s.empty() && s[0] == 'J') {
    s.remove_prefix(1);
    w->kind = 'J';
    if (!ParseInt(s, &w->day, 1, 365)) return false;
  } else {
    w->kind = 'N';
    if (!ParseInt(s, &w->day, 0, 365)) return false;
  }
  w->time = 7200;
  if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    if (!ParseHms(s, &w->time, 167)) return false;
  }
  return true;
}

Result<std::unique_ptr<TimeZone::Rule>> ParsePosixRule(std::string_view s) {
  const std::string text(s);
  auto bad = [&] {
    return InvalidArgument("malformed POSIX time zone rule \"" + text + "\"",
                           "Use an IANA name such as Europe/Berlin, or a rule like "
                           "EST5EDT,M3.2.0,M11.1.0.");
  };
  auto rule = std::make_unique<TimeZone::Rule>();
  if (!ParseTzName(s)) return bad();
  int off = 0;
  if (!ParseHms(s, &off, 24)) return bad();
  rule->std_offset = -off;
  if (s.empty()) return rule;
  if (!ParseTzName(s)) return bad();
  rule->has_dst = true;
  rule->dst_offset = rule->std_offset + 3600;
  if (!s.empty() && s[0] != ',') {
    if (!ParseHms(s, &off, 24)) return bad();
    rule->dst_offset = -off;
  }
  if (s.empty()) {  // POSIX default rule when none is given (US rules)
    rule->start = {'M', 3, 2, 0, 0, 7200};
    rule->end = {'M', 11, 1, 0, 0, 7200};
    return rule;
  }
  if (s[0] != ',') return bad();
  s.remove_prefix(1);
  if (!ParseWhen(s, &rule->start) || s.empty() || s[0] != ',') return bad();
  s.remove_prefix(1);
  if (!ParseWhen(s, &rule->end) || !s.empty()) return bad();
  return rule;
}

uint32_t Be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
int64_t Be64(const unsigned char* p) {
  return static_cast<int64_t>((uint64_t{Be32(p)} << 32) | Be32(p + 4));
}

}  // namespace

TimeZone::~TimeZone() = default;

std::shared_ptr<const TimeZone> TimeZone::Utc() {
  static const std::shared_ptr<const TimeZone> utc = [] {
    std::shared_ptr<TimeZone> tz(new TimeZone());
    tz->name_ = "UTC";
    return tz;
  }();
  return utc;
}

int TimeZone::OffsetAt(int64_t utc) const {
  if (transitions_.empty() || utc < transitions_.front()) {
    if (transitions_.empty() && rule_) return rule_->OffsetAt(utc);
    return initial_offset_;
  }
  if (utc >= transitions_.back() && rule_) return rule_->OffsetAt(utc);
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc);
  return offsets_[static_cast<size_t>(std::distance(transitions_.begin(), it)) - 1];
}

Result<std::shared_ptr<const TimeZone>> TimeZone::FromPosix(std::string name,
                                                            std::string_view rule) {
  VS_ASSIGN_OR_RETURN(auto r, ParsePosixRule(rule));
  std::shared_ptr<TimeZone> tz(new TimeZone());
  tz->name_ = std::move(name);
  tz->initial_offset_ = r->std_offset;
  tz->rule_ = std::move(r);
  return std::shared_ptr<const TimeZone>(tz);
}

Result<std::shared_ptr<const TimeZone>> TimeZone::FromTzif(std::string name,
                                                           std::string_view data) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("time zone file for " + name + " is not valid TZif: " + std::string(why),
                           "Reinstall the tzdata package or use another zone name.");
  };
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t size = data.size();
  if (size < 44 || data.substr(0, 4) != "TZif") return bad("bad header");
  const char version = data[4];
  auto counts = [&](const unsigned char* h, uint32_t c[6]) {
    for (int i = 0; i < 6; ++i) c[i] = Be32(h + 20 + 4 * i);
  };
  uint32_t c[6];
  counts(p, c);
  // c: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  auto block_size = [&](int time_size) -> uint64_t {
    return uint64_t{c[3]} * time_size + c[3] + uint64_t{c[4]} * 6 + c[5] +
           uint64_t{c[2]} * (time_size + 4) + c[1] + c[0];
  };
  size_t pos = 44;
  int time_size = 4;
  if (version >= '2') {
    const uint64_t skip = block_size(4);
    if (pos + skip + 44 > size) return bad("truncated");
    pos += skip;
    if (data.substr(pos, 4) != "TZif") return bad("bad second header");
    counts(p + pos, c);
    pos += 44;
    time_size = 8;
  }
  if (c[4] == 0 || pos + block_size(time_size) > size) return bad("truncated data");
  std::shared_ptr<TimeZone> tz(new TimeZone());
  tz->name_ = std::move(name);
  const unsigned char* times = p + pos;
  const unsigned char* idx = times + uint64_t{c[3]} * time_size;
  const unsigned char* types = idx + c[3];
  std::vector<int> type_offsets(c[4]);
  for (uint32_t i = 0; i < c[4]; ++i) {
    type_offsets[i] = static_cast<int32_t>(Be32(types + 6 * i));
    if (type_offsets[i] < -26 * 3600 || type_offsets[i] > 26 * 3600) return bad("bad offset");
  }
  tz->initial_offset_ = type_offsets[0];
  for (uint32_t i = 0; i < c[3]; ++i) {
    const int64_t t =
        time_size == 8 ? Be64(times + 8 * i) : static_cast<int32_t>(Be32(times + 4 * i));
    if (idx[i] >= c[4]) return bad("bad type index");
    if (!tz->transitions_.empty() && t <= tz->transitions_.back()) return bad("unsorted");
    tz->transitions_.push_back(t);
    tz->offsets_.push_back(type_offsets[idx[i]]);
  }
  pos += block_size(time_size);
  if (version >= '2' && pos < size && data[pos] == '\n') {
    const size_t end = data.find('\n', pos + 1);
    if (end != std::string_view::npos && end > pos + 1) {
      auto rule = ParsePosixRule(data.substr(pos + 1, end - pos - 1));
      if (rule.ok()) tz->rule_ = std::move(rule).value();
    }
  }
  return std::shared_ptr<const TimeZone>(tz);
}

Result<std::shared_ptr<const TimeZone>> TimeZone::Load(std::string_view name) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC" || name == "Z" || name == "GMT") {
    return Utc();
  }
  const std::string n(name);
  const bool looks_like_path =
      n.find("..") == std::string::npos && n[0] != '/' &&
      std::all_of(n.begin(), n.end(), [](unsigned char ch) {
        return std::isalnum(ch) || ch == '/' || ch == '_' || ch == '-' || ch == '+';
      });
  if (looks_like_path) {
    const char* dir = std::getenv("TZDIR");
    const std::string path =
        std::string(dir != nullptr && *dir ? dir : "/usr/share/zoneinfo") + "/" + n;
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      return FromTzif(n, data);
    }
  }
  // Not a file: maybe a POSIX rule such as "EST5EDT,M3.2.0,M11.1.0" or "CET-1".
  auto posix = FromPosix(n, n);
  if (posix.ok() &&
      (n.find(',') != std::string::npos ||
       std::any_of(n.begin(), n.end(), [](unsigned char ch) { return std::isdigit(ch); }))) {
    return posix;
  }
  return NotFound("unknown time zone \"" + n + "\"",
                  "Use an IANA name from /usr/share/zoneinfo (e.g. Europe/Berlin, "
                  "America/New_York) or UTC; install the tzdata package if it is missing.");
}

// ------------------------------------------------------------------- cron
namespace {

struct FieldSpec {
  const char* name;
  int lo, hi;
  const char* const* names;  // nullptr or hi-lo+1 names
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDowNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

bool ParseValue(std::string_view tok, const FieldSpec& f, int* out) {
  if (tok.empty()) return false;
  if (std::isdigit(static_cast<unsigned char>(tok[0]))) {
    int v = 0;
    for (char ch : tok) {
      if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
      v = v * 10 + (ch - '0');
      if (v > 1000) return false;
    }
    *out = v;
    return true;
  }
  if (f.names == nullptr || tok.size() != 3) return false;
  std::string low(tok);
  for (char& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const int count = f.names == kDowNames ? 7 : 12;
  for (int i = 0; i < count; ++i) {
    if (low == f.names[i]) {
      *out = f.names == kDowNames ? i : i + 1;
      return true;
    }
  }
  return false;
}

Status FieldError(const FieldSpec& f, std::string_view field, std::string_view why) {
  return InvalidArgument(
      "cron " + std::string(f.name) + " field \"" + std::string(field) + "\": " + std::string(why),
      "Use 5 fields: minute (0-59) hour (0-23) day-of-month (1-31) month "
      "(1-12 or jan-dec) day-of-week (0-7 or sun-sat), e.g. \"0 3 * * *\", "
      "or @hourly, @daily, @weekly, @monthly, @yearly.");
}

template <size_t N>
Status ParseField(std::string_view field, const FieldSpec& f, std::bitset<N>* bits) {
  if (field.empty()) return FieldError(f, field, "is empty");
  size_t start = 0;
  while (start <= field.size()) {
    size_t comma = field.find(',', start);
    if (comma == std::string_view::npos) comma = field.size();
    std::string_view item = field.substr(start, comma - start);
    if (item.empty()) return FieldError(f, field, "has an empty list item");
    int step = 1;
    const size_t slash = item.find('/');
    std::string_view range = item.substr(0, slash);
    if (slash != std::string_view::npos) {
      std::string_view st = item.substr(slash + 1);
      int v = 0;
      FieldSpec num{f.name, 1, 1000, nullptr};
      if (!ParseValue(st, num, &v) || v < 1) return FieldError(f, field, "has a bad step");
      step = v;
    }
    int lo, hi;
    if (range == "*") {
      lo = f.lo;
      hi = f.hi;
    } else {
      const size_t dash = range.find('-');
      if (!ParseValue(range.substr(0, dash), f, &lo)) {
        return FieldError(f, field, "has a value that is not a number or name");
      }
      if (dash != std::string_view::npos) {
        if (!ParseValue(range.substr(dash + 1), f, &hi)) {
          return FieldError(f, field, "has a bad range end");
        }
      } else {
        hi = slash != std::string_view::npos ? f.hi : lo;
      }
      const int max = f.names == kDowNames ? 7 : f.hi;
      if (lo < f.lo || hi > max || lo > max) {
        return FieldError(f, field,
                          "is out of range " + std::to_string(f.lo) + "-" + std::to_string(max));
      }
      if (lo > hi) return FieldError(f, field, "has a range that runs backwards");
    }
    for (int v = lo; v <= hi; v += step) {
      const int bit = (f.names == kDowNames && v == 7) ? 0 : v;
      bits->set(static_cast<size_t>(bit));
    }
    start = comma + 1;
  }
  return Status::OK();
}

}  // namespace

Result<CronExpr> CronExpr::Parse(std::string_view text) {
  std::string t(text);
  // Trim.
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  size_t b = 0;
  while (b < t.size() && std::isspace(static_cast<unsigned char>(t[b]))) ++b;
  t = t.substr(b);
  std::string expanded = t;
  if (!t.empty() && t[0] == '@') {
    std::string low = t;
    for (char& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (low == "@yearly" || low == "@annually") {
      expanded = "0 0 1 1 *";
    } else if (low == "@monthly") {
      expanded = "0 0 1 * *";
    } else if (low == "@weekly") {
      expanded = "0 0 * * 0";
    } else if (low == "@daily" || low == "@midnight") {
      expanded = "0 0 * * *";
    } else if (low == "@hourly") {
      expanded = "0 * * * *";
    } else {
      return InvalidArgument("unknown cron macro \"" + t + "\"",
                             "Use @hourly, @daily, @weekly, @monthly or @yearly.");
    }
  }
  std::vector<std::string_view> fields;
  std::string_view rest = expanded;
  while (!rest.empty()) {
    size_t i = 0;
    while (i < rest.size() && std::isspace(static_cast<unsigned char>(rest[i]))) ++i;
    rest.remove_prefix(i);
    if (rest.empty()) break;
    size_t j = 0;
    while (j < rest.size() && !std::isspace(static_cast<unsigned char>(rest[j]))) ++j;
    fields.push_back(rest.substr(0, j));
    rest.remove_prefix(j);
  }
  if (fields.size() != 5) {
    return InvalidArgument(
        "cron expression \"" + t + "\" has " + std::to_string(fields.size()) + " fields, not 5",
        "Use minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\".");
  }
  CronExpr c;
  c.text_ = t;
  static constexpr FieldSpec kMin{"minute", 0, 59, nullptr};
  static constexpr FieldSpec kHour{"hour", 0, 23, nullptr};
  static constexpr FieldSpec kDom{"day-of-month", 1, 31, nullptr};
  static constexpr FieldSpec kMonth{"month", 1, 12, kMonthNames};
  static constexpr FieldSpec kDow{"day-of-week", 0, 6, kDowNames};
  VS_RETURN_IF_ERROR(ParseField(fields[0], kMin, &c.minutes_));
  VS_RETURN_IF_ERROR(ParseField(fields[1], kHour, &c.hours_));
  VS_RETURN_IF_ERROR(ParseField(fields[2], kDom, &c.dom_));
  VS_RETURN_IF_ERROR(ParseField(fields[3], kMonth, &c.months_));
  VS_RETURN_IF_ERROR(ParseField(fields[4], kDow, &c.dow_));
  c.hour_star_ = fields[1][0] == '*';
  c.dom_star_ = fields[2][0] == '*';
  c.dow_star_ = fields[4][0] == '*';
  return c;
}

bool CronExpr::Matches(int minute, int hour, int dom, int month, int dow) const {
  if (!minutes_.test(static_cast<size_t>(minute)) || !hours_.test(static_cast<size_t>(hour)) ||
      !months_.test(static_cast<size_t>(month))) {
    return false;
  }
  const bool dom_ok = dom_.test(static_cast<size_t>(dom));
  const bool dow_ok = dow_.test(static_cast<size_t>(dow));
  if (dom_star_ || dow_star_) return dom_ok && dow_ok;
  return dom_ok || dow_ok;
}

namespace {

// Instants (ascending) whose local time in `tz` is `local`; for a local time
// skipped by a transition, the instant of the transition.
void LocalToUtc(const TimeZone& tz, int64_t local, bool all_repeats, std::vector<int64_t>* out) {
  out->clear();
  const int before = tz.OffsetAt(local - 90000);
  const int after = tz.OffsetAt(local + 90000);
  for (int off : {before, after}) {
    const int64_t u = local - off;
    if (tz.OffsetAt(u) == off && std::find(out->begin(), out->end(), u) == out->end()) {
      out->push_back(u);
    }
  }
  std::sort(out->begin(), out->end());
  if (out->size() > 1 && !all_repeats) out->resize(1);
  if (!out->empty() || before == after) return;
  // Skipped: find the first instant at which `after` is in force.
  int64_t lo = local - std::max(before, after), hi = local - std::min(before, after);
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (tz.OffsetAt(mid) == after) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  out->push_back(lo);
}

}  // namespace

std::optional<int64_t> CronExpr::Next(int64_t after, const TimeZone& tz) const {
  const int64_t local_after = tz.ToLocal(after);
  const int64_t first_day = FloorDiv(local_after, 86400) - 1;
  std::optional<int64_t> best;
  std::optional<int64_t> best_local;
  std::vector<int64_t> instants;
  for (int64_t day = first_day; day < first_day + 366 * 8 + 2; ++day) {
    if (best_local && day * 86400 > *best_local + 3 * 3600) break;
    int64_t y;
    unsigned m, d;
    CivilFromDays(day, &y, &m, &d);
    if (!months_.test(m)) continue;
    const int dow = WeekdayOfDays(day);
    const bool dom_ok = dom_.test(d), dow_ok = dow_.test(static_cast<size_t>(dow));
    if ((dom_star_ || dow_star_) ? !(dom_ok && dow_ok) : !(dom_ok || dow_ok)) continue;
    for (int h = 0; h < 24; ++h) {
      if (!hours_.test(static_cast<size_t>(h))) continue;
      for (int mi = 0; mi < 60; ++mi) {
        if (!minutes_.test(static_cast<size_t>(mi))) continue;
        const int64_t local = day * 86400 + h * 3600 + mi * 60;
        if (local < local_after - 4 * 3600) continue;
        if (best_local && local > *best_local + 3 * 3600) break;
        LocalToUtc(tz, local, hour_star_, &instants);
        for (int64_t u : instants) {
          if (u > after && (!best || u < *best)) {
            best = u;
            if (!best_local) best_local = local;
          }
        }
      }
    }
  }
  return best;
}

}  // namespace vecsafe::service
