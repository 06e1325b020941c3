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

}  // namespace vecsafe::service
