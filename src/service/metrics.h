// Service statistics (per source backup and check results) and their
// rendering as Prometheus text exposition format 0.0.4.
#ifndef VECSAFE_SERVICE_METRICS_H_
#define VECSAFE_SERVICE_METRICS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "service/config.h"

namespace vecsafe::service {

// A minimal writer for the Prometheus text format: HELP and TYPE once per
// family, label values escaped (backslash, double quote, newline), HELP text
// escaped (backslash, newline), special floats as +Inf, -Inf, NaN.
class PromWriter {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  // Starts a family. type: "gauge", "counter", "untyped". Names must match
  // [a-zA-Z_:][a-zA-Z0-9_:]* (checked; a bad name is a programmer error).
  void Family(const std::string& name, const std::string& help, const std::string& type);
  void Sample(const std::string& name, const Labels& labels, double value);
  const std::string& text() const { return out_; }

  static std::string EscapeLabelValue(const std::string& v);
  static std::string EscapeHelp(const std::string& v);
  static std::string FormatValue(double v);
  static bool ValidName(const std::string& name);

 private:
  std::string out_;
};

struct SourceStats {
  int64_t last_success_ms = 0;
  int64_t last_attempt_ms = 0;
  int64_t successes = 0, failures = 0, consecutive_failures = 0;
  double last_duration_seconds = 0;
  int64_t last_bytes_read = 0, last_bytes_added = 0;
  int64_t total_bytes_read = 0, total_bytes_added = 0;
  int consistency = -1;  // -1 unknown, 0 healthy, 1 findings, 2 could not check
  int64_t orphans = 0;
  int64_t findings = 0;
  int64_t last_check_ms = 0;
};

class ServiceStats {
 public:
  // Returns the consecutive failure count after recording.
  int64_t RecordBackup(const std::string& source, bool ok, int64_t when_ms, double duration_s,
                       int64_t bytes_read, int64_t bytes_added);
  void RecordCheck(const std::string& source, int consistency, int64_t findings, int64_t orphans,
                   int64_t when_ms);
  std::map<std::string, SourceStats> Sources() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, SourceStats> sources_;
};

struct DiskUsage {
  std::string path;
  std::string kind;  // "data" or "backup"
  std::string name;  // source or repository name
  uint64_t total_bytes = 0, used_bytes = 0, free_bytes = 0;
  double used_ratio() const {
    return total_bytes == 0 ? 0
                            : static_cast<double>(used_bytes) / static_cast<double>(total_bytes);
  }
};

// What /metrics shows besides the config: per-source statistics, the
// operation queue and alert deliveries.
struct MetricsSnapshot {
  std::map<std::string, SourceStats> sources;
  size_t ops_queued = 0, ops_running = 0;
  int64_t alerts_sent = 0, alerts_failed = 0, alerts_suppressed = 0;
};

// The whole /metrics page (Prometheus text format 0.0.4): one family per
// metric with HELP and TYPE, a sample per configured source, repository and
// path. Sources without statistics yet show zeros (consistency -1: unknown).
std::string RenderMetrics(const Config& config, const MetricsSnapshot& m);

// statvfs of `path` (or its nearest existing parent); nullopt when none.
std::optional<DiskUsage> MeasureDisk(const std::string& path);
// Sum of file sizes under a local folder (0 when missing).
uint64_t FolderBytes(const std::string& path);

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_METRICS_H_
