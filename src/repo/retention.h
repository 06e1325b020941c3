// Retention ("forget") policy: which snapshots to keep, and why.
//
// A pure function with the same rules and the same reason strings as restic's
// `forget` (0.14):
//   - snapshots are taken newest first, per group (the caller's group key,
//     e.g. host + source);
//   - keep-last N keeps the N newest; keep-hourly/daily/weekly/monthly/yearly
//     N keep the newest snapshot of each of the N newest calendar periods that
//     have one (ISO weeks; periods in the chosen time zone); N = -1 means no
//     limit; a snapshot counts against every rule it satisfies;
//   - keep-within D keeps every snapshot newer than (newest snapshot - D),
//     where D is calendar years/months/days then hours;
//   - keep-within-hourly/... D keep the newest snapshot of each period among
//     the snapshots within D of the newest;
//   - keep-tag T keeps every snapshot that carries all tags of T (T is a
//     comma-separated list; give several to keep any of them).
// A policy with no rule keeps everything ("policy is empty").
#ifndef VECSAFE_REPO_RETENTION_H_
#define VECSAFE_REPO_RETENTION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::repo {

// A calendar duration as restic writes it: "1y2m3d4h" (any subset, in any
// order; as in restic a repeated unit takes the last value: "1d2d" is 2 days).
struct RetentionDuration {
  int years = 0;
  int months = 0;
  int days = 0;
  int hours = 0;

  bool Zero() const { return years == 0 && months == 0 && days == 0 && hours == 0; }
  // Canonical form, e.g. "1y2m" ("" for zero), as used in reasons.
  std::string ToString() const;
  bool operator==(const RetentionDuration&) const = default;
};

// Parses "<n><unit>..." with unit y (years), m (months), d (days), h (hours).
// Surrounding spaces are ignored. kInvalidArgument with the offending
// position for anything else (empty string, missing number, negative number,
// unknown unit, number without unit, numbers over 999999999).
Result<RetentionDuration> ParseRetentionDuration(std::string_view text);

struct RetentionPolicy {
  // Each count: 0 = rule off (default), N > 0 = keep N, -1 = unlimited.
  int keep_last = 0;
  int keep_hourly = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  int keep_yearly = 0;
  RetentionDuration keep_within;
  RetentionDuration keep_within_hourly;
  RetentionDuration keep_within_daily;
  RetentionDuration keep_within_weekly;
  RetentionDuration keep_within_monthly;
  RetentionDuration keep_within_yearly;
  // Each entry is a tag list "a,b": a snapshot with all of them is kept.
  std::vector<std::string> keep_tags;

  bool Empty() const;
  // kInvalidArgument for counts below -1 or negative durations.
  Status Validate() const;
  // "keep 3 latest, 7 daily snapshots and all snapshots within 1m of the newest" style.
  std::string ToString() const;
};

struct RetentionSnapshot {
  std::string id;
  int64_t time_unix_nanos = 0;  // snapshot time
  std::vector<std::string> tags;
  std::string group;  // snapshots are judged only against their own group
};

enum class RetentionTimeZone : uint8_t { kUtc, kLocal };

struct RetentionOptions {
  // Zone whose calendar defines hours, days, weeks, months, years. Default: UTC.
  RetentionTimeZone zone = RetentionTimeZone::kUtc;
};

struct RetentionDecision {
  size_t index = 0;  // into the input vector
  bool keep = false;
  std::vector<std::string> reasons;  // e.g. {"last snapshot", "daily snapshot"}; empty if removed
};

// One decision per input snapshot, ordered by group (first appearance), then
// newest first (ties keep input order). Errors: kInvalidArgument from Validate().
Result<std::vector<RetentionDecision>> ApplyRetention(const std::vector<RetentionSnapshot>& snaps,
                                                      const RetentionPolicy& policy,
                                                      const RetentionOptions& options = {});

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_RETENTION_H_
