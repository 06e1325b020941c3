#include "service/metrics.h"

#include <sys/statvfs.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace vecsafe::service {

bool PromWriter::ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string PromWriter::EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PromWriter::EscapeHelp(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PromWriter::FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

void PromWriter::Family(const std::string& name, const std::string& help, const std::string& type) {
  if (!ValidName(name)) throw std::invalid_argument("bad metric name " + name);
  out_ += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  out_ += "# TYPE " + name + " " + type + "\n";
}

void PromWriter::Sample(const std::string& name, const Labels& labels, double value) {
  if (!ValidName(name)) throw std::invalid_argument("bad metric name " + name);
  out_ += name;
  if (!labels.empty()) {
    out_ += "{";
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ",";
      out_ += labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
    }
    out_ += "}";
  }
  out_ += " " + FormatValue(value) + "\n";
}

int64_t ServiceStats::RecordBackup(const std::string& source, bool ok, int64_t when_ms,
                                   double duration_s, int64_t bytes_read, int64_t bytes_added) {
  std::lock_guard lock(mu_);
  SourceStats& s = sources_[source];
  s.last_attempt_ms = when_ms;
  s.last_duration_seconds = duration_s;
  if (ok) {
    ++s.successes;
    s.consecutive_failures = 0;
    s.last_success_ms = when_ms;
    s.last_bytes_read = bytes_read;
    s.last_bytes_added = bytes_added;
    s.total_bytes_read += bytes_read;
    s.total_bytes_added += bytes_added;
  } else {
    ++s.failures;
    ++s.consecutive_failures;
  }
  return s.consecutive_failures;
}

void ServiceStats::RecordCheck(const std::string& source, int consistency, int64_t findings,
                               int64_t orphans, int64_t when_ms) {
  std::lock_guard lock(mu_);
  SourceStats& s = sources_[source];
  s.consistency = consistency;
  s.findings = findings;
  s.orphans = orphans;
  s.last_check_ms = when_ms;
}

std::map<std::string, SourceStats> ServiceStats::Sources() const {
  std::lock_guard lock(mu_);
  return sources_;
}

std::optional<DiskUsage> MeasureDisk(const std::string& path) {
  if (path.empty() || path.find("://") != std::string::npos) return std::nullopt;
  std::filesystem::path p = path;
  std::error_code ec;
  while (!p.empty() && !std::filesystem::exists(p, ec)) {
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  if (p.empty()) p = ".";
  struct statvfs st {};
  if (statvfs(p.c_str(), &st) != 0) return std::nullopt;
  DiskUsage d;
  d.path = path;
  d.total_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  d.free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  const uint64_t free_all = static_cast<uint64_t>(st.f_bfree) * st.f_frsize;
  d.used_bytes = d.total_bytes > free_all ? d.total_bytes - free_all : 0;
  return d;
}

uint64_t FolderBytes(const std::string& path) {
  std::error_code ec;
  uint64_t total = 0;
  if (path.empty() || path.find("://") != std::string::npos) return 0;
  for (auto it = std::filesystem::recursive_directory_iterator(
           path, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2)) total += it->file_size(e2);
  }
  return total;
}

std::string RenderMetrics(const Config& config, const MetricsSnapshot& m) {
  PromWriter w;
  const auto& stats = m.sources;
  const Config* cfg = &config;
  auto per_source = [&](const std::string& name, const std::string& help, const std::string& type,
                        auto value) {
    w.Family(name, help, type);
    for (const auto& src : cfg->sources) {
      auto it = stats.find(src.name);
      const SourceStats st = it == stats.end() ? SourceStats{} : it->second;
      w.Sample(name, {{"source", src.name}, {"type", std::string(ToString(src.type))}}, value(st));
    }
  };
  per_source("vecsafe_consistency_status",
             "Last consistency check: 0 healthy, 1 findings, 2 could not check, -1 unknown",
             "gauge", [](const SourceStats& st) { return double(st.consistency); });
  per_source("vecsafe_orphan_collections", "Orphaned collections found by the last check", "gauge",
             [](const SourceStats& st) { return double(st.orphans); });
  per_source("vecsafe_last_successful_backup_timestamp_seconds",
             "Unix time of the last successful backup (0: none since start)", "gauge",
             [](const SourceStats& st) { return double(st.last_success_ms) / 1000.0; });
  per_source("vecsafe_backup_success_total", "Successful backups since start", "counter",
             [](const SourceStats& st) { return double(st.successes); });
  per_source("vecsafe_backup_failure_total", "Failed backups since start", "counter",
             [](const SourceStats& st) { return double(st.failures); });
  per_source("vecsafe_backup_consecutive_failures", "Backups failed in a row", "gauge",
             [](const SourceStats& st) { return double(st.consecutive_failures); });
  per_source("vecsafe_backup_duration_seconds", "Duration of the last backup", "gauge",
             [](const SourceStats& st) { return st.last_duration_seconds; });
  per_source("vecsafe_backup_bytes_read", "Bytes read by the last successful backup", "gauge",
             [](const SourceStats& st) { return double(st.last_bytes_read); });
  per_source("vecsafe_backup_bytes_added",
             "Bytes added to the repository by the last successful backup", "gauge",
             [](const SourceStats& st) { return double(st.last_bytes_added); });
  per_source("vecsafe_backup_dedup_ratio",
             "Bytes read / bytes added over all backups since start (1 when nothing read)", "gauge",
             [](const SourceStats& st) {
               return st.total_bytes_added > 0
                          ? double(st.total_bytes_read) / double(st.total_bytes_added)
                          : 1.0;
             });
  w.Family("vecsafe_repository_size_bytes", "Bytes stored in each local repository", "gauge");
  for (const auto& r : cfg->repositories) {
    if (r.url.find("://") == std::string::npos) {
      w.Sample("vecsafe_repository_size_bytes", {{"repository", r.name}},
               double(FolderBytes(r.url)));
    }
  }
  w.Family("vecsafe_disk_used_ratio", "Used share of the file system holding each path", "gauge");
  for (const auto& src : cfg->sources) {
    if (auto du = MeasureDisk(src.path)) {
      w.Sample("vecsafe_disk_used_ratio", {{"name", src.name}, {"kind", "data"}}, du->used_ratio());
    }
  }
  for (const auto& r : cfg->repositories) {
    if (auto du = MeasureDisk(r.url)) {
      w.Sample("vecsafe_disk_used_ratio", {{"name", r.name}, {"kind", "backup"}}, du->used_ratio());
    }
  }
  w.Family("vecsafe_job_queue", "Operations queued or running", "gauge");
  w.Sample("vecsafe_job_queue", {{"state", "queued"}}, double(m.ops_queued));
  w.Sample("vecsafe_job_queue", {{"state", "running"}}, double(m.ops_running));
  w.Family("vecsafe_alerts_total", "Alert deliveries since start", "counter");
  w.Sample("vecsafe_alerts_total", {{"result", "sent"}}, double(m.alerts_sent));
  w.Sample("vecsafe_alerts_total", {{"result", "failed"}}, double(m.alerts_failed));
  w.Sample("vecsafe_alerts_total", {{"result", "suppressed"}}, double(m.alerts_suppressed));
  w.Family("vecsafe_up", "1 while the daemon runs", "gauge");
  w.Sample("vecsafe_up", {}, 1);
  return w.text();
}

}  // namespace vecsafe::service
