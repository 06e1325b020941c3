#include "io/http/remote_common.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>

namespace vecsafe::http {

Result<uint64_t> ParseUintOption(std::string_view scheme, const std::string& name,
                                 const std::string& value, uint64_t min, uint64_t max) {
  const std::string what = std::string(scheme) + " option " + name + "=" + value;
  if (value.empty() || value.size() > 19 ||
      value.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument(what + " is not a number",
                           "Give a whole number, e.g. " + name + "=" + std::to_string(min) + ".");
  }
  uint64_t v = std::stoull(value);
  if (v < min || v > max) {
    return InvalidArgument(what + " is out of range", "Use a value from " + std::to_string(min) +
                                                          " to " + std::to_string(max) + ".");
  }
  return v;
}

Result<bool> ApplyConnectionOption(std::string_view scheme, const std::string& name,
                                   const std::string& value, TransportOptions* transport,
                                   RetryPolicy* retry, int* concurrency) {
  if (name == "concurrency") {
    VS_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(scheme, name, value, 1, 64));
    *concurrency = static_cast<int>(n);
  } else if (name == "retries") {
    VS_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(scheme, name, value, 1, 30));
    retry->max_attempts = static_cast<int>(n);
  } else if (name == "connect_timeout_s") {
    VS_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(scheme, name, value, 1, 600));
    transport->connect_timeout_ms = static_cast<long>(n * 1000);
  } else if (name == "low_speed_time_s") {
    VS_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(scheme, name, value, 1, 3600));
    transport->low_speed_time_s = static_cast<long>(n);
  } else {
    return false;
  }
  return true;
}

int64_t ParseUtcTimestamp(std::string_view s) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (std::sscanf(std::string(s).c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) != 6) {
    return 0;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm));
}

Status DeleteResult(const Status& status) {
  if (!status.ok() && status.code() == ErrorCode::kNotFound &&
      status.message().find("bucket") == std::string::npos) {
    return Status::OK();
  }
  return status;
}

std::string TrimSlashes(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  size_t first = prefix.find_first_not_of('/');
  return first == std::string::npos ? std::string() : prefix.substr(first);
}

std::string PrefixedKey(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "/" + std::string(key);
}

void AddRangeHeader(std::vector<std::pair<std::string, std::string>>* headers, uint64_t offset,
                    uint64_t length) {
  if (offset == 0 && length == kToEnd) return;
  std::string range = "bytes=" + std::to_string(offset) + "-";
  if (length != kToEnd && length <= kToEnd - offset) range += std::to_string(offset + length - 1);
  headers->emplace_back("Range", range);
}

std::string RangedBody(HttpResponse resp, uint64_t offset, uint64_t length) {
  if (resp.status == 416) return std::string();  // past the end
  if (resp.status == 200 && (offset != 0 || length != kToEnd)) {
    if (offset >= resp.body.size()) return std::string();
    return resp.body.substr(offset, length == kToEnd ? std::string::npos : length);
  }
  return std::move(resp.body);
}

Status CreateResult(ObjectStore& store, const Status& status, int attempts, std::string_view key,
                    std::string_view data) {
  if (status.code() == ErrorCode::kAlreadyExists && attempts > 1) {
    auto existing = store.Get(key, 0, kToEnd);
    if (existing.ok() && *existing == data) return Status::OK();
  }
  return status;
}

void AppendHttpStats(std::string_view store, const TransportCounters& c, uint64_t retries,
                     std::string_view extra_name, uint64_t extra) {
  const char* path = std::getenv("VECSAFE_HTTP_STATS");  // NOLINT(concurrency-mt-unsafe)
  if (path == nullptr || *path == '\0') return;
  std::ofstream out(path, std::ios::app);
  out << "{\"store\":\"" << store << "\",\"requests\":" << c.requests << ",\"gets\":" << c.gets
      << ",\"puts\":" << c.puts << ",\"posts\":" << c.posts << ",\"deletes\":" << c.deletes
      << ",\"heads\":" << c.heads << ",\"retries\":" << retries
      << ",\"transport_errors\":" << c.transport_errors << ",\"bytes_sent\":" << c.bytes_sent
      << ",\"bytes_received\":" << c.bytes_received << ",\"" << extra_name << "\":" << extra
      << "}\n";
}

}  // namespace vecsafe::http
