// Job history: one row per run of a scheduled (or run-now) job, with its
// timing, bytes and result, plus the last fire time of every schedule (for the
// missed-run policy). Kept in SQLite (WAL) as <state_dir>/jobs.sqlite3 so it
// survives restarts. Thread-safe.
#ifndef VECSAFE_SERVICE_JOB_HISTORY_H_
#define VECSAFE_SERVICE_JOB_HISTORY_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vecsafe/status.h"

struct sqlite3;

namespace vecsafe::service {

struct JobRun {
  int64_t id = 0;
  std::string job;      // schedule name, e.g. "backup:chroma"
  std::string kind;     // backup, retention, check, verify
  std::string target;   // source or repository name
  std::string trigger;  // "schedule", "missed", "manual"
  std::string op_id;
  int64_t started_ms = 0, finished_ms = 0, duration_ms = 0;
  std::string result;  // "ok", "failed", "cancelled", "skipped"
  std::string error;
  int64_t bytes_read = 0, bytes_added = 0;
  std::string snapshot_id;
  nlohmann::json details = nlohmann::json::object();

  nlohmann::json ToJson() const;
};

class JobHistory {
 public:
  static Result<std::unique_ptr<JobHistory>> Open(const std::filesystem::path& state_dir);
  ~JobHistory();
  JobHistory(const JobHistory&) = delete;
  JobHistory& operator=(const JobHistory&) = delete;

  Result<int64_t> Record(const JobRun& run);
  // Newest first; `job` empty means all jobs.
  Result<std::vector<JobRun>> Runs(const std::string& job, int limit);
  Status SetLastFire(const std::string& job, int64_t fire_ms);
  std::optional<int64_t> LastFire(const std::string& job);

 private:
  JobHistory(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  std::mutex mu_;
  sqlite3* db_;
  std::filesystem::path path_;
};

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_JOB_HISTORY_H_
