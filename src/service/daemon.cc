#include "service/daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>

#include "http/api_server.h"
#include "service/jobs.h"

namespace vecsafe::service {

using json = nlohmann::json;

void Daemon::BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

Result<std::unique_ptr<Daemon>> Daemon::Create(const DaemonOptions& options) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->options_ = options;
  if (!options.env_file.empty()) {
    VS_ASSIGN_OR_RETURN(d->env_, LoadDotEnv(options.env_file));
  }
  for (auto& [k, v] : ProcessEnvironment()) d->env_[k] = v;
  ConfigLoad load = LoadConfigFile(options.config_file, d->env_);
  if (!load.errors.empty()) {
    return ErrorsToStatus(load.errors,
                          options.config_file.empty() ? "the configuration" : options.config_file);
  }
  d->configs_.Set(load.config);
  const Config& cfg = *load.config;
  d->listen_host_ = cfg.listen_host;
  d->listen_port_ = cfg.listen_port;
  if (!options.listen_override.empty()) {
    ConfigLoad probe = BuildConfig(json{{"listen", options.listen_override}}, {});
    if (!probe.errors.empty()) {
      return InvalidArgument("--listen " + options.listen_override + " is not HOST:PORT",
                             "Use e.g. --listen 127.0.0.1:8080.");
    }
    d->listen_host_ = probe.config->listen_host;
    d->listen_port_ = probe.config->listen_port;
  }
  if (options.test_clock_scale > 0) {
    d->clock_ = std::make_unique<ScaledClock>(options.test_clock_scale);
  } else {
    d->clock_ = std::make_unique<RealClock>();
  }
  const std::filesystem::path state =
      !options.state_dir_override.empty() ? std::filesystem::path(options.state_dir_override)
      : cfg.state_dir.empty()             ? ops::DefaultStateDir()
                                          : std::filesystem::path(cfg.state_dir);
  if (!options.state_dir_override.empty() || cfg.state_dir.empty()) {
    // Children journal into the same folder.
    setenv("VECSAFE_STATE_DIR", state.c_str(), 1);
  }
  VS_ASSIGN_OR_RETURN(d->journal_, ops::Journal::Open(state));
  VS_ASSIGN_OR_RETURN(d->history_, JobHistory::Open(state));
  d->ops_ = std::make_unique<OperationManager>(d->clock_.get(), cfg.max_concurrent_jobs);
  d->alerts_ = std::make_unique<AlertManager>(d->clock_.get());
  Daemon* self = d.get();
  d->scheduler_ = std::make_unique<Scheduler>(
      &d->configs_, d->clock_.get(), d->ops_.get(), d->history_.get(), ExecuteJob,
      [self](const Config& c, const ScheduleConfig& s, const JobRun& run, const JobOutcome& out) {
        self->OnJobRun(c, s, run, out);
      });
  d->started_ms_ = d->clock_->NowMs();
  return d;
}

Daemon::~Daemon() {
  if (scheduler_) scheduler_->Stop();
  if (ops_) ops_->Shutdown();
}

json Daemon::LastCheck(const std::string& source) const {
  std::lock_guard lock(checks_mu_);
  auto it = last_checks_.find(source);
  return it == last_checks_.end() ? json(nullptr) : it->second;
}

void Daemon::RecordOutcome(const Config& cfg, const std::string& kind, const std::string& target,
                           bool ok, int64_t when_ms, double duration_s, const JobOutcome& out) {
  if (kind == "backup") {
    const int64_t fails =
        stats_.RecordBackup(target, ok, when_ms, duration_s, out.bytes_read, out.bytes_added);
    if (!ok && fails >= cfg.alerts.backup_failures_in_row) {
      alerts_->Raise(
          cfg.alerts,
          {"backup_failures:" + target,
           "backup_failures",
           "critical",
           "Backups of " + target + " are failing",
           std::to_string(fails) + " backups in a row failed. Last error: " + out.status.ToString(),
           {{"source", target}, {"failures_in_row", fails}}});
    }
  } else if (kind == "check") {
    int consistency = 2;
    int64_t findings = 0, orphans = 0;
    if (ok) {
      const json& d = out.details;
      orphans = d.value("orphans", int64_t{0});
      const json* f = nullptr;
      if (d.contains("check") && d["check"].is_object() && d["check"].contains("findings")) {
        f = &d["check"]["findings"];
      }
      findings = f != nullptr && f->is_array() ? static_cast<int64_t>(f->size()) : 0;
      consistency = findings > 0 ? 1 : 0;
      std::lock_guard lock(checks_mu_);
      last_checks_[target] = {{"time_ms", when_ms}, {"report", d}};
    }
    stats_.RecordCheck(target, consistency, findings, orphans, when_ms);
    if (consistency != 0 && cfg.alerts.on_check_failure) {
      alerts_->Raise(cfg.alerts,
                     {"check_failed:" + target,
                      "check_failed",
                      consistency == 2 ? "critical" : "warning",
                      "Consistency check of " + target + " " +
                          (consistency == 2 ? "could not run" : "found problems"),
                      ok ? std::to_string(findings) + " findings" : out.status.ToString(),
                      {{"source", target}, {"findings", findings}}});
    }
    if (orphans >= cfg.alerts.orphan_threshold) {
      alerts_->Raise(cfg.alerts, {"orphans:" + target,
                                  "orphans",
                                  "warning",
                                  std::to_string(orphans) + " orphaned collections in " + target,
                                  "Run `vecsafe recover chroma PATH --plan` to see what can be "
                                  "recovered.",
                                  {{"source", target}, {"orphans", orphans}}});
    }
  }
}

void Daemon::OnJobRun(const Config& cfg, const ScheduleConfig& s, const JobRun& run,
                      const JobOutcome& out) {
  ops::JournalEntry e;
  e.actor = run.trigger == "manual" ? "api" : "scheduler";
  e.kind = "job." + run.kind;
  e.target = run.target;
  e.op_id = run.op_id;
  e.params = {{"job", run.job}, {"trigger", run.trigger}};
  e.result = run.result;
  e.error = run.error;
  e.backup_id = run.snapshot_id;
  e.duration_ms = run.duration_ms;
  e.time_ms = run.finished_ms;
  journal_->Append(e).status().IgnoreError();
  RecordOutcome(cfg, run.kind, s.source.empty() ? s.repository : s.source, out.status.ok(),
                run.finished_ms, static_cast<double>(run.duration_ms) / 1000.0, out);
  CheckDiskAlerts();
}

void Daemon::CheckDiskAlerts() {
  auto cfg = configs_.Get();
  std::vector<std::pair<std::string, std::string>> paths;
  for (const auto& s : cfg->sources) {
    if (!s.path.empty()) paths.emplace_back(s.name, s.path);
  }
  for (const auto& r : cfg->repositories) paths.emplace_back(r.name, r.url);
  for (const auto& [name, path] : paths) {
    auto d = MeasureDisk(path);
    if (d && d->used_ratio() * 100.0 >= cfg->alerts.disk_usage_percent) {
      alerts_->Raise(cfg->alerts,
                     {"disk_usage:" + name,
                      "disk_usage",
                      "warning",
                      "Disk usage of " + name + " is " +
                          std::to_string(static_cast<int>(d->used_ratio() * 100)) + "%",
                      "The file system holding " + path + " is nearly full.",
                      {{"name", name}, {"used_ratio", d->used_ratio()}}});
    }
  }
}

Result<std::string> Daemon::SubmitWork(const std::string& kind, const std::string& target,
                                       const std::string& actor, const std::string& exclusive_key,
                                       json params,
                                       std::function<JobOutcome(const Config&, OpContext&)> work) {
  auto cfg = configs_.Get();
  Daemon* self = this;
  params = ops::RedactSecrets(params);
  return ops_->Submit(kind, target, actor, exclusive_key,
                      [self, cfg, kind, target, actor, params, work](OpContext& ctx) {
                        const int64_t start = self->clock_->NowMs();
                        JobOutcome out = work(*cfg, ctx);
                        const int64_t end = self->clock_->NowMs();
                        ops::JournalEntry e;
                        e.actor = actor;
                        e.kind = kind;
                        e.target = target;
                        e.op_id = ctx.id();
                        e.params = params;
                        e.result = out.status.ok()                              ? "ok"
                                   : out.status.code() == ErrorCode::kCancelled ? "cancelled"
                                                                                : "failed";
                        e.error = out.status.ok() ? "" : out.status.ToString();
                        e.backup_id = out.snapshot_id;
                        e.duration_ms = end - start;
                        self->journal_->Append(e).status().IgnoreError();
                        self->RecordOutcome(*cfg, kind, target, out.status.ok(), end,
                                            static_cast<double>(end - start) / 1000.0, out);
                        OpOutcome oo;
                        oo.status = out.status;
                        oo.result = {{"snapshot_id", out.snapshot_id},
                                     {"bytes_read", out.bytes_read},
                                     {"bytes_added", out.bytes_added},
                                     {"details", out.details}};
                        return oo;
                      });
}

std::vector<ConfigError> Daemon::ApplyConfig(const json& doc, const std::string& actor,
                                             const std::string& reason, bool persist) {
  std::lock_guard lock(config_write_mu_);
  const std::filesystem::path base =
      options_.config_file.empty() ? std::filesystem::path()
                                   : std::filesystem::path(options_.config_file).parent_path();
  ConfigLoad load = BuildConfig(doc, env_, base);
  ops::JournalEntry e;
  e.actor = actor;
  e.kind = "config.update";
  e.target = options_.config_file.empty() ? "(memory)" : options_.config_file;
  e.params = {{"reason", reason},
              {"config", load.config ? load.config->Redacted() : ops::RedactSecrets(doc)}};
  if (!load.errors.empty()) {
    json errs = json::array();
    for (const auto& er : load.errors) errs.push_back(er.ToJson());
    e.result = "failed";
    e.error = ErrorsToStatus(load.errors, "the new config").ToString();
    journal_->Append(e).status().IgnoreError();
    return load.errors;
  }
  if (persist && !options_.config_file.empty()) {
    const std::string tmp = options_.config_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << doc.dump(2) << "\n";
      out.flush();
      if (!out) {
        e.result = "failed";
        e.error = "cannot write " + tmp;
        journal_->Append(e).status().IgnoreError();
        return {{"", "cannot write the config file " + options_.config_file}};
      }
    }
    std::filesystem::rename(tmp, options_.config_file);
  }
  configs_.Set(load.config);
  scheduler_->Reload();
  e.result = "ok";
  journal_->Append(e).status().IgnoreError();
  spdlog::info("config updated by {} ({})", actor, reason);
  return {};
}

std::vector<ConfigError> Daemon::ReloadFromFile(const std::string& actor) {
  if (options_.config_file.empty()) return {};
  std::ifstream in(options_.config_file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json doc = json::parse(text, nullptr, false, true);
  if (doc.is_discarded()) {
    ConfigLoad load = BuildConfigFromText(text, env_);
    ops::JournalEntry e;
    e.actor = actor;
    e.kind = "config.update";
    e.target = options_.config_file;
    e.result = "failed";
    e.error = ErrorsToStatus(load.errors, options_.config_file).ToString();
    journal_->Append(e).status().IgnoreError();
    return load.errors;
  }
  return ApplyConfig(doc, actor, "SIGHUP", /*persist=*/false);
}

Status Daemon::Run() {
  auto cfg = configs_.Get();
  http::ApiServer server(this);
  VS_RETURN_IF_ERROR(server.Bind(listen_host_, listen_port_));
  listen_port_ = server.port();
  scheduler_->Start(true);
  std::thread http_thread([&server] { server.Serve(); });
  spdlog::info("vecsafe serve listening on {}:{} ({} sources, {} jobs)", listen_host_, listen_port_,
               cfg->sources.size(), cfg->schedules.size());
  // A line tests and wrappers can wait for.
  std::printf("vecsafe serve: listening on http%s://%s:%d\n", cfg->tls_cert_file.empty() ? "" : "s",
              listen_host_.c_str(), listen_port_);
  std::fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int64_t last_disk_check = 0;
  for (;;) {
    timespec ts{1, 0};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGHUP) {
      auto errors = ReloadFromFile("signal:SIGHUP");
      if (!errors.empty()) {
        spdlog::error("SIGHUP: the config file is invalid; keeping the current config:\n{}",
                      ErrorsToStatus(errors, options_.config_file).message());
      } else {
        spdlog::info("SIGHUP: config reloaded from {}", options_.config_file);
      }
    } else if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("stopping on signal {}", sig);
      break;
    }
    const int64_t now = SystemNowMs();
    if (now - last_disk_check > 60000) {
      last_disk_check = now;
      CheckDiskAlerts();
    }
  }
  scheduler_->Stop();
  server.Stop();
  http_thread.join();
  ops_->Shutdown();
  return Status::OK();
}

}  // namespace vecsafe::service
