// The scheduler: fires the configured jobs (backup per source, retention and
// prune, consistency check, verify) on cron expressions or intervals, in the
// configured time zone, through the OperationManager.
//
// Rules:
//  - never two runs of the same job at once: each run holds its job name as
//    the operation's exclusive key; a firing that finds the job still running
//    is recorded in the history as "skipped";
//  - missed runs (the daemon was down when a job was due) follow the job's
//    missed_runs policy: "run_once" runs it once at start-up, "skip" waits for
//    the next fire time. Last fire times live in the job history database;
//  - a job runs under the config it was fired with: the work captures the
//    shared_ptr<const Config> of that moment, so a reload never changes a
//    running job;
//  - time comes from an injectable Clock (tests use ManualClock + Tick()).
//
// Thread safety: all public methods may be called from any thread.
#ifndef VECSAFE_SERVICE_SCHEDULER_H_
#define VECSAFE_SERVICE_SCHEDULER_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "service/clock.h"
#include "service/config.h"
#include "service/job_history.h"
#include "service/operations.h"

namespace vecsafe::service {

// Holds the current config; swapped atomically on reload.
class ConfigHolder {
 public:
  explicit ConfigHolder(std::shared_ptr<const Config> c) : config_(std::move(c)) {}
  std::shared_ptr<const Config> Get() const {
    std::lock_guard lock(mu_);
    return config_;
  }
  void Set(std::shared_ptr<const Config> c) {
    std::lock_guard lock(mu_);
    config_ = std::move(c);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Config> config_;
};

// What a job produced.
struct JobOutcome {
  Status status;
  int64_t bytes_read = 0, bytes_added = 0;
  std::string snapshot_id;
  nlohmann::json details = nlohmann::json::object();
};

// Runs one job under `config`. Must honour ctx.cancelled().
using JobExecutor = std::function<JobOutcome(const Config& config, const ScheduleConfig& job,
                                             const std::string& actor, OpContext& ctx)>;

struct JobStatus {
  std::string name;
  ScheduleConfig schedule;
  std::optional<int64_t> next_fire_ms;
  std::optional<int64_t> last_fire_ms;
  bool running = false;
  nlohmann::json ToJson() const;
};

class Scheduler {
 public:
  // Called after every run (history row already written).
  using RunHook =
      std::function<void(const Config&, const ScheduleConfig&, const JobRun&, const JobOutcome&)>;

  Scheduler(ConfigHolder* configs, const Clock* clock, OperationManager* ops, JobHistory* history,
            JobExecutor executor, RunHook hook = nullptr);
  ~Scheduler();

  // Plans every job (applying the missed-run policy) and starts the timer
  // thread. Start(false) plans without a thread (tests drive Tick()).
  void Start(bool thread = true);
  void Stop();

  // Fires every job due at the clock's now. Returns the operation ids started.
  std::vector<std::string> Tick();
  // Re-plans after a config change (jobs whose timing is unchanged keep it).
  void Reload();
  // Runs a job now. kNotFound for an unknown job; kLocked when it is running.
  Result<std::string> RunNow(const std::string& name, const std::string& actor);

  std::vector<JobStatus> Jobs() const;

 private:
  struct Planned {
    ScheduleConfig schedule;
    std::string timing_key;  // cron/interval/zone; re-plan when it changes
    std::optional<int64_t> next_ms;
  };
  std::optional<int64_t> NextAfter(const Config& c, const ScheduleConfig& s, int64_t after_ms,
                                   std::optional<int64_t> last_fire_ms) const;
  void Plan(bool at_start);  // REQUIRES: mu_ held
  Result<std::string> Fire(std::shared_ptr<const Config> cfg, const ScheduleConfig& s,
                           const std::string& trigger, const std::string& actor);
  void Loop();

  ConfigHolder* configs_;
  const Clock* clock_;
  OperationManager* ops_;
  JobHistory* history_;
  JobExecutor executor_;
  RunHook hook_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, Planned> planned_;        // guarded by mu_
  std::shared_ptr<const Config> planned_config_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_SCHEDULER_H_
