// `vecsafe serve`: ties the config, the operation journal, the scheduler, the
// operations pool, statistics, alerts and the HTTP API together.
//
// Config reloads (SIGHUP, PUT /api/v1/config, PUT /api/robust/config,
// template application) are validated first; only a valid config replaces
// the current one (an atomic shared_ptr swap), the change is journaled with
// secrets redacted, and the scheduler re-plans. Running jobs keep the config
// they started with.
#ifndef VECSAFE_SERVICE_DAEMON_H_
#define VECSAFE_SERVICE_DAEMON_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "ops/journal.h"
#include "service/alerts.h"
#include "service/clock.h"
#include "service/config.h"
#include "service/job_history.h"
#include "service/metrics.h"
#include "service/operations.h"
#include "service/scheduler.h"

namespace vecsafe::service {

struct DaemonOptions {
  std::string config_file;      // may be empty: environment only
  std::string env_file;         // .env file (QDRANT_*, GCS_*, ...)
  std::string listen_override;  // --listen HOST:PORT
  std::string state_dir_override;
  double test_clock_scale = 0;  // > 0: ScaledClock (tests only)
};

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> Create(const DaemonOptions& options);
  ~Daemon();

  // Serves until SIGTERM or SIGINT; SIGHUP reloads the config file.
  // REQUIRES: SIGHUP, SIGTERM and SIGINT blocked in every thread (BlockSignals()).
  Status Run();
  static void BlockSignals();

  // Validates `doc`, swaps it in, journals the change, re-plans jobs, and
  // (when persist and a config file is in use) writes the file atomically.
  // Returns the validation errors when invalid (nothing changes then).
  std::vector<ConfigError> ApplyConfig(const nlohmann::json& doc, const std::string& actor,
                                       const std::string& reason, bool persist);
  std::vector<ConfigError> ReloadFromFile(const std::string& actor);

  // Submits an API-initiated piece of work and journals it when it ends.
  Result<std::string> SubmitWork(const std::string& kind, const std::string& target,
                                 const std::string& actor, const std::string& exclusive_key,
                                 nlohmann::json params,
                                 std::function<JobOutcome(const Config&, OpContext&)> work);

  std::shared_ptr<const Config> config() const { return configs_.Get(); }
  const DaemonOptions& options() const { return options_; }
  ops::Journal& journal() { return *journal_; }
  JobHistory& history() { return *history_; }
  OperationManager& operations() { return *ops_; }
  Scheduler& scheduler() { return *scheduler_; }
  ServiceStats& stats() { return stats_; }
  AlertManager& alerts() { return *alerts_; }
  const Clock& clock() const { return *clock_; }
  int64_t started_ms() const { return started_ms_; }
  std::string listen_host() const { return listen_host_; }
  int listen_port() const { return listen_port_; }
  // Last check report per source (for findings routes).
  nlohmann::json LastCheck(const std::string& source) const;
  void CheckDiskAlerts();

 private:
  Daemon() = default;
  void OnJobRun(const Config& cfg, const ScheduleConfig& s, const JobRun& run,
                const JobOutcome& out);
  void RecordOutcome(const Config& cfg, const std::string& kind, const std::string& target, bool ok,
                     int64_t when_ms, double duration_s, const JobOutcome& out);

  DaemonOptions options_;
  EnvMap env_;
  std::unique_ptr<Clock> clock_;
  ConfigHolder configs_{nullptr};
  std::unique_ptr<ops::Journal> journal_;
  std::unique_ptr<JobHistory> history_;
  std::unique_ptr<OperationManager> ops_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<AlertManager> alerts_;
  ServiceStats stats_;
  int64_t started_ms_ = 0;
  std::string listen_host_;
  int listen_port_ = 0;
  std::mutex config_write_mu_;
  mutable std::mutex checks_mu_;
  std::map<std::string, nlohmann::json> last_checks_;  // guarded by checks_mu_
};

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_DAEMON_H_
