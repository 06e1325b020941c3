// Fuzzes the cron parser and next-fire computation: the first byte picks a
// time zone, the rest is the expression.
#include <cstddef>
#include <cstdint>
#include <string>

#include "service/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vecsafe::service::CronExpr;
  using vecsafe::service::TimeZone;
  if (size == 0 || size > 256) return 0;
  static const char* kZones[] = {"UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney",
                                 "Asia/Kolkata"};
  const std::string zone = kZones[data[0] % 5];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto expr = CronExpr::Parse(text);
  if (!expr.ok()) return 0;
  auto tz = TimeZone::Load(zone);
  if (!tz.ok()) return 0;
  int64_t t = 1700000000 + static_cast<int64_t>(data[0]) * 86400 * 13;
  for (int i = 0; i < 3; ++i) {
    auto next = expr->Next(t, **tz);
    if (!next) break;
    if (*next <= t) __builtin_trap();  // must move forward
    t = *next;
  }
  // Also fuzz POSIX TZ rules with the same text.
  auto posix = TimeZone::Load(text);
  if (posix.ok()) (void)(*posix)->OffsetAt(t);
  return 0;
}
