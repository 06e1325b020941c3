#include "repo/format.h"

#include <chrono>
#include <ctime>

namespace vecsafe::repo {

std::string PackKey(const Hash256& pack_id) {
  std::string hex = HexEncode(pack_id);
  return "data/" + hex.substr(0, 2) + "/" + hex;
}
std::string IndexKey(const Hash256& id) { return "index/" + HexEncode(id); }
std::string SnapshotKey(const Hash256& id) { return "snapshots/" + HexEncode(id); }

Result<Hash256> IdFromKey(std::string_view key) {
  size_t slash = key.rfind('/');
  std::string_view last = slash == std::string_view::npos ? key : key.substr(slash + 1);
  return ParseHash256(last);
}

std::string FormatTimeNs(int64_t unix_ns) {
  int64_t secs = unix_ns / 1000000000;
  int64_t frac = unix_ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  time_t t = static_cast<time_t>(secs);
  tm tm_utc{};
  gmtime_r(&t, &tm_utc);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm_utc);
  char frac_buf[16];
  snprintf(frac_buf, sizeof(frac_buf), ".%09lldZ", static_cast<long long>(frac));
  return std::string(buf, n) + frac_buf;
}

int64_t NowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace vecsafe::repo
