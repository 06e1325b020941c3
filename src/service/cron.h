// Cron expressions and time zones for the scheduler.
//
// CronExpr: the 5-field Vixie cron syntax (minute hour day-of-month month
// day-of-week) with lists, ranges, steps, month and weekday names, and the
// macros @yearly @annually @monthly @weekly @daily @midnight @hourly. As in
// Vixie cron, when both day-of-month and day-of-week are restricted (neither
// starts with '*') a day matches if EITHER matches; otherwise both must.
//
// Times are evaluated in a TimeZone read from the system zoneinfo (TZif files,
// with the POSIX rule in the footer for dates past the last transition), since
// libstdc++ 12 has no std::chrono::tzdb.
//
// DST, as Vixie cron does it: a wall-clock time that does not exist (skipped
// by a spring-forward) fires once at the moment of the jump; a time that
// exists twice (fall-back) fires once, at its first occurrence, unless the
// hour field is '*' (then each real hour fires).
#ifndef VECSAFE_SERVICE_CRON_H_
#define VECSAFE_SERVICE_CRON_H_

#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::service {

// A time zone: UTC offsets over time. Immutable and thread-safe.
class TimeZone {
 public:
  // "UTC", "Etc/UTC", an IANA name ("Europe/Berlin") looked up in
  // $TZDIR or /usr/share/zoneinfo, or a POSIX TZ string ("EST5EDT,M3.2.0,M11.1.0").
  // kNotFound for an unknown name, kInvalidArgument for a malformed one.
  static Result<std::shared_ptr<const TimeZone>> Load(std::string_view name);
  static std::shared_ptr<const TimeZone> Utc();

  // Offset from UTC in seconds (east positive) at the instant `utc` (Unix seconds).
  int OffsetAt(int64_t utc) const;
  // Local wall-clock seconds (as if UTC) at instant `utc`.
  int64_t ToLocal(int64_t utc) const { return utc + OffsetAt(utc); }
  const std::string& name() const { return name_; }

  struct Rule;  // POSIX TZ rule (footer); defined in cron.cc
  ~TimeZone();

 private:
  TimeZone() = default;
  std::string name_;
  std::vector<int64_t> transitions_;  // ascending instants
  std::vector<int> offsets_;          // offset in force from transitions_[i]
  int initial_offset_ = 0;            // before the first transition
  std::unique_ptr<Rule> rule_;        // after the last transition, when present
  static Result<std::shared_ptr<const TimeZone>> FromTzif(std::string name, std::string_view data);
  static Result<std::shared_ptr<const TimeZone>> FromPosix(std::string name, std::string_view rule);
};

class CronExpr {
 public:
  // Parses `text`; errors say which field and why.
  static Result<CronExpr> Parse(std::string_view text);

  // The first fire time strictly after `after` (Unix seconds), evaluated in
  // `tz`; nullopt when there is none within 8 years (e.g. "0 0 31 2 *").
  std::optional<int64_t> Next(int64_t after, const TimeZone& tz) const;

  bool Matches(int minute, int hour, int dom, int month, int dow) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> dom_;     // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<8> dow_;      // 0..6 (7 folded to 0)
  bool dom_star_ = false, dow_star_ = false, hour_star_ = false;
};

// Civil date helpers (proleptic Gregorian, days since 1970-01-01).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d);

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_CRON_H_
