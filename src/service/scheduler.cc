#include "service/scheduler.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "service/cron.h"

namespace vecsafe::service {

nlohmann::json JobStatus::ToJson() const {
  nlohmann::json j = {{"name", name},
                      {"job", ToString(schedule.job)},
                      {"enabled", schedule.enabled},
                      {"running", running}};
  j["source"] = schedule.source.empty() ? nlohmann::json(nullptr) : nlohmann::json(schedule.source);
  j["repository"] =
      schedule.repository.empty() ? nlohmann::json(nullptr) : nlohmann::json(schedule.repository);
  if (!schedule.cron.empty()) {
    j["schedule"] = schedule.cron;
  } else if (schedule.every_seconds > 0) {
    j["schedule"] = "every " + std::to_string(schedule.every_seconds) + "s";
  } else {
    j["schedule"] = "every " + std::to_string(schedule.every_hours) + "h";
  }
  j["next_fire_ms"] = next_fire_ms ? nlohmann::json(*next_fire_ms) : nlohmann::json(nullptr);
  j["last_fire_ms"] = last_fire_ms ? nlohmann::json(*last_fire_ms) : nlohmann::json(nullptr);
  return j;
}

Scheduler::Scheduler(ConfigHolder* configs, const Clock* clock, OperationManager* ops,
                     JobHistory* history, JobExecutor executor, RunHook hook)
    : configs_(configs),
      clock_(clock),
      ops_(ops),
      history_(history),
      executor_(std::move(executor)),
      hook_(std::move(hook)) {}

Scheduler::~Scheduler() { Stop(); }

namespace {

std::string TimingKey(const Config& c, const ScheduleConfig& s) {
  return s.cron + "|" + std::to_string(s.every_hours) + "|" + std::to_string(s.every_seconds) +
         "|" + (s.time_zone.empty() ? c.time_zone : s.time_zone) + "|" + (s.enabled ? "on" : "off");
}

int64_t IntervalMs(const ScheduleConfig& s) {
  if (s.every_seconds > 0) return int64_t{s.every_seconds} * 1000;
  return static_cast<int64_t>(std::llround(s.every_hours * 3600.0 * 1000.0));
}

}  // namespace

std::optional<int64_t> Scheduler::NextAfter(const Config& c, const ScheduleConfig& s,
                                            int64_t after_ms,
                                            std::optional<int64_t> last_fire_ms) const {
  if (!s.cron.empty()) {
    auto expr = CronExpr::Parse(s.cron);
    auto tz = TimeZone::Load(s.time_zone.empty() ? c.time_zone : s.time_zone);
    if (!expr.ok() || !tz.ok()) return std::nullopt;  // validated at load; defensive
    // Cron has minute resolution: the next minute boundary after `after`.
    auto next = expr->Next(after_ms / 1000, **tz);
    if (!next) return std::nullopt;
    return *next * 1000;
  }
  const int64_t interval = IntervalMs(s);
  if (interval <= 0) return std::nullopt;
  if (!last_fire_ms) return after_ms + interval;
  int64_t next = *last_fire_ms + interval;
  if (next <= after_ms) {
    // Skip whole intervals that passed.
    next += ((after_ms - next) / interval + 1) * interval;
  }
  return next;
}

void Scheduler::Plan(bool at_start) {
  auto cfg = configs_->Get();
  planned_config_ = cfg;
  const int64_t now = clock_->NowMs();
  std::map<std::string, Planned> next;
  std::vector<ScheduleConfig> missed;
  for (const auto& s : cfg->schedules) {
    Planned p;
    p.schedule = s;
    p.timing_key = TimingKey(*cfg, s);
    auto old = planned_.find(s.name);
    if (!at_start && old != planned_.end() && old->second.timing_key == p.timing_key) {
      p.next_ms = old->second.next_ms;
      next[s.name] = std::move(p);
      continue;
    }
    if (!s.enabled) {
      next[s.name] = std::move(p);
      continue;
    }
    const std::optional<int64_t> last = history_->LastFire(s.name);
    if (at_start && last) {
      // Was a run due between the last fire and now?
      auto due = NextAfter(*cfg, s, *last, last);
      if (due && *due <= now) {
        const MissedRunPolicy policy = s.missed.value_or(cfg->missed_runs);
        spdlog::info("job {} missed a run due at {} ms ({})", s.name, *due,
                     ToString(policy) == "skip" ? "skipping it" : "running it once now");
        if (policy == MissedRunPolicy::kRunOnce) missed.push_back(s);
      }
    }
    p.next_ms = NextAfter(*cfg, s, now, last);
    next[s.name] = std::move(p);
  }
  planned_ = std::move(next);
  for (const auto& s : missed) {
    auto id = Fire(cfg, s, "missed", "scheduler");
    if (!id.ok()) spdlog::warn("job {}: {}", s.name, id.status().ToString());
  }
}

void Scheduler::Start(bool thread) {
  {
    std::lock_guard lock(mu_);
    stop_ = false;
    Plan(/*at_start=*/true);
  }
  if (thread) thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Reload() {
  {
    std::lock_guard lock(mu_);
    Plan(/*at_start=*/false);
  }
  cv_.notify_all();
}

Result<std::string> Scheduler::Fire(std::shared_ptr<const Config> cfg, const ScheduleConfig& s,
                                    const std::string& trigger, const std::string& actor) {
  const int64_t fire_ms = clock_->NowMs();
  if (trigger != "manual") history_->SetLastFire(s.name, fire_ms).IgnoreError();
  std::string target = !s.source.empty() ? s.source : s.repository;
  auto work = [this, cfg, s, trigger, actor, target](OpContext& ctx) -> OpOutcome {
    JobRun run;
    run.job = s.name;
    run.kind = std::string(ToString(s.job));
    run.target = target;
    run.trigger = trigger;
    run.started_ms = clock_->NowMs();
    JobOutcome out = executor_(*cfg, s, actor, ctx);
    run.finished_ms = clock_->NowMs();
    run.duration_ms = run.finished_ms - run.started_ms;
    run.result = out.status.ok()                              ? "ok"
                 : out.status.code() == ErrorCode::kCancelled ? "cancelled"
                                                              : "failed";
    run.error = out.status.ok() ? "" : out.status.ToString();
    run.bytes_read = out.bytes_read;
    run.bytes_added = out.bytes_added;
    run.snapshot_id = out.snapshot_id;
    run.details = out.details;
    auto id = history_->Record(run);
    if (id.ok()) run.id = *id;
    if (hook_) hook_(*cfg, s, run, out);
    OpOutcome oo;
    oo.status = out.status;
    oo.result = run.ToJson();
    return oo;
  };
  auto id = ops_->Submit("job." + std::string(ToString(s.job)), target, actor, s.name, work);
  if (!id.ok() && id.status().code() == ErrorCode::kLocked && trigger != "manual") {
    // The previous run is still going: record the skipped firing.
    JobRun skipped;
    skipped.job = s.name;
    skipped.kind = std::string(ToString(s.job));
    skipped.target = target;
    skipped.trigger = trigger;
    skipped.started_ms = skipped.finished_ms = fire_ms;
    skipped.result = "skipped";
    skipped.error = "the previous run was still running";
    history_->Record(skipped).status().IgnoreError();
  }
  return id;
}

std::vector<std::string> Scheduler::Tick() {
  std::vector<std::string> started;
  std::lock_guard lock(mu_);
  if (configs_->Get() != planned_config_) Plan(/*at_start=*/false);
  const int64_t now = clock_->NowMs();
  for (auto& [name, p] : planned_) {
    if (!p.schedule.enabled || !p.next_ms || *p.next_ms > now) continue;
    auto id = Fire(planned_config_, p.schedule, "schedule", "scheduler");
    if (id.ok()) started.push_back(*id);
    p.next_ms = NextAfter(*planned_config_, p.schedule, now, *p.next_ms);
  }
  return started;
}

Result<std::string> Scheduler::RunNow(const std::string& name, const std::string& actor) {
  auto cfg = configs_->Get();
  const ScheduleConfig* s = cfg->FindSchedule(name);
  if (s == nullptr) {
    return NotFound("no job named \"" + name + "\"", "GET /api/v1/jobs lists the jobs.");
  }
  return Fire(cfg, *s, "manual", actor);
}

std::vector<JobStatus> Scheduler::Jobs() const {
  std::vector<JobStatus> out;
  std::lock_guard lock(mu_);
  for (const auto& [name, p] : planned_) {
    JobStatus j;
    j.name = name;
    j.schedule = p.schedule;
    j.next_fire_ms = p.schedule.enabled ? p.next_ms : std::nullopt;
    j.last_fire_ms = history_->LastFire(name);
    j.running = ops_->IsBusy(name);
    out.push_back(std::move(j));
  }
  return out;
}

void Scheduler::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    Tick();
    lock.lock();
    const int64_t now = clock_->NowMs();
    int64_t wait_ms = 1000;
    for (const auto& [name, p] : planned_) {
      if (p.schedule.enabled && p.next_ms)
        wait_ms = std::min(wait_ms, std::max<int64_t>(*p.next_ms - now, 0));
    }
    wait_ms = std::clamp<int64_t>(clock_->RealMsFor(wait_ms), 5, 1000);
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return stop_; });
  }
}

}  // namespace vecsafe::service
