#include "service/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "service/cron.h"

namespace vecsafe::service {
namespace {

using json = nlohmann::json;

// 2024-01-01T00:00:30Z
constexpr int64_t kStartMs = 1704067230000;

std::shared_ptr<const Config> MakeConfig(const json& schedules, const std::string& path = "/a") {
  json doc = {{"repositories", {{{"name", "main"}, {"url", "/tmp/r"}}}},
              {"sources", {{{"name", "d"}, {"type", "dir"}, {"path", path}}}},
              {"schedules", schedules}};
  ConfigLoad load = BuildConfig(doc, {});
  EXPECT_TRUE(load.errors.empty()) << ErrorsToStatus(load.errors, "config").ToString();
  return load.config;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vecsafe_sched_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto h = JobHistory::Open(dir_);
    ASSERT_TRUE(h.ok());
    history_ = std::move(h).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Waits until no operation is queued or running.
  void Drain(OperationManager& ops) {
    for (int i = 0; i < 500 && (ops.queued() > 0 || ops.running() > 0); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<JobHistory> history_;
};

TEST_F(SchedulerTest, CronJobFiresAtEachDueTimeAndRecordsHistory) {
  ManualClock clock(kStartMs);
  ConfigHolder configs(
      MakeConfig(json::array({{{"job", "backup"}, {"source", "d"}, {"cron", "*/5 * * * *"}}})));
  OperationManager ops(&clock, 2);
  std::atomic<int> calls{0};
  Scheduler sched(&configs, &clock, &ops, history_.get(),
                  [&](const Config&, const ScheduleConfig& s, const std::string&, OpContext&) {
                    ++calls;
                    JobOutcome o;
                    o.bytes_read = 100;
                    o.bytes_added = 10;
                    o.snapshot_id = "snap-" + s.name;
                    return o;
                  });
  sched.Start(false);
  EXPECT_TRUE(sched.Tick().empty());  // 00:00:30: nothing due
  auto jobs = sched.Jobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(*jobs[0].next_fire_ms, kStartMs - 30000 + 5 * 60000);  // 00:05:00
  clock.Advance(4 * 60000);                                        // 00:04:30
  EXPECT_TRUE(sched.Tick().empty());
  clock.Advance(30000);  // 00:05:00
  EXPECT_EQ(sched.Tick().size(), 1u);
  Drain(ops);
  clock.Advance(5 * 60000);  // 00:10:00
  EXPECT_EQ(sched.Tick().size(), 1u);
  Drain(ops);
  EXPECT_EQ(calls.load(), 2);
  auto runs = history_->Runs("backup:d", 10);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].result, "ok");
  EXPECT_EQ((*runs)[0].bytes_added, 10);
  EXPECT_EQ((*runs)[0].snapshot_id, "snap-backup:d");
  EXPECT_EQ((*runs)[0].trigger, "schedule");
}

TEST_F(SchedulerTest, SameJobNeverRunsTwiceAtOnce) {
  ManualClock clock(kStartMs);
  ConfigHolder configs(
      MakeConfig(json::array({{{"job", "backup"}, {"source", "d"}, {"every_seconds", 10}}})));
  OperationManager ops(&clock, 4);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> concurrent{0}, max_concurrent{0}, calls{0};
  Scheduler sched(&configs, &clock, &ops, history_.get(),
                  [&](const Config&, const ScheduleConfig&, const std::string&, OpContext&) {
                    const int c = ++concurrent;
                    max_concurrent = std::max(max_concurrent.load(), c);
                    ++calls;
                    std::unique_lock lock(mu);
                    cv.wait(lock, [&] { return release; });
                    --concurrent;
                    return JobOutcome{};
                  });
  sched.Start(false);
  clock.Advance(10000);
  ASSERT_EQ(sched.Tick().size(), 1u);
  clock.Advance(10000);
  EXPECT_TRUE(sched.Tick().empty());  // still running: skipped
  EXPECT_EQ(sched.RunNow("backup:d", "token:ops").status().code(), ErrorCode::kLocked);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  Drain(ops);
  EXPECT_EQ(max_concurrent.load(), 1);
  EXPECT_EQ(calls.load(), 1);
  auto runs = history_->Runs("backup:d", 10);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[1].result, "skipped");
  EXPECT_EQ((*runs)[0].result, "ok");
  // Free again: run-now works.
  EXPECT_TRUE(sched.RunNow("backup:d", "token:ops").ok());
  Drain(ops);
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(SchedulerTest, MissedRunPolicy) {
  for (const char* policy : {"run_once", "skip"}) {
    ManualClock clock(kStartMs);
    auto name = std::string("backup:d");
    ConfigHolder configs(MakeConfig(json::array(
        {{{"job", "backup"}, {"source", "d"}, {"cron", "@hourly"}, {"missed_runs", policy}}})));
    // Last fired three hours before start: runs were missed while down.
    ASSERT_TRUE(history_->SetLastFire(name, kStartMs - 3 * 3600 * 1000).ok());
    OperationManager ops(&clock, 1);
    std::atomic<int> calls{0};
    Scheduler sched(&configs, &clock, &ops, history_.get(),
                    [&](const Config&, const ScheduleConfig&, const std::string&, OpContext&) {
                      ++calls;
                      return JobOutcome{};
                    });
    sched.Start(false);
    Drain(ops);
    EXPECT_EQ(calls.load(), std::string(policy) == "run_once" ? 1 : 0) << policy;
    // Either way the next run is at the next hour, once.
    clock.Set(kStartMs - 30000 + 3600 * 1000);
    EXPECT_EQ(sched.Tick().size(), 1u);
    Drain(ops);
  }
}

TEST_F(SchedulerTest, NoMissedRunOnFirstStart) {
  ManualClock clock(kStartMs);
  ConfigHolder configs(
      MakeConfig(json::array({{{"job", "backup"}, {"source", "d"}, {"cron", "@hourly"}}})));
  OperationManager ops(&clock, 1);
  std::atomic<int> calls{0};
  Scheduler sched(&configs, &clock, &ops, history_.get(),
                  [&](const Config&, const ScheduleConfig&, const std::string&, OpContext&) {
                    ++calls;
                    return JobOutcome{};
                  });
  sched.Start(false);
  Drain(ops);
  EXPECT_EQ(calls.load(), 0);
}

TEST_F(SchedulerTest, RunningJobKeepsTheConfigItStartedWith) {
  ManualClock clock(kStartMs);
  ConfigHolder configs(MakeConfig(
      json::array({{{"job", "backup"}, {"source", "d"}, {"every_seconds", 10}}}), "/old"));
  OperationManager ops(&clock, 2);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false, started = false;
  std::vector<std::string> seen_paths;
  Scheduler sched(&configs, &clock, &ops, history_.get(),
                  [&](const Config& c, const ScheduleConfig& s, const std::string&, OpContext&) {
                    std::unique_lock lock(mu);
                    started = true;
                    cv.notify_all();
                    cv.wait(lock, [&] { return release; });
                    seen_paths.push_back(c.FindSource(s.source)->path);
                    return JobOutcome{};
                  });
  sched.Start(false);
  clock.Advance(10000);
  ASSERT_EQ(sched.Tick().size(), 1u);
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return started; });
  }
  configs.Set(MakeConfig(json::array({{{"job", "backup"}, {"source", "d"}, {"every_seconds", 10}}}),
                         "/new"));
  sched.Reload();
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  Drain(ops);
  clock.Advance(10000);
  ASSERT_EQ(sched.Tick().size(), 1u);
  Drain(ops);
  ASSERT_EQ(seen_paths.size(), 2u);
  EXPECT_EQ(seen_paths[0], "/old");
  EXPECT_EQ(seen_paths[1], "/new");
}

TEST_F(SchedulerTest, CancelStopsARunningOperation) {
  ManualClock clock(kStartMs);
  OperationManager ops(&clock, 1);
  auto id = ops.Submit("job.backup", "d", "t", "k", [](OpContext& ctx) {
    for (int i = 0; i < 1000 && !ctx.cancelled(); ++i) {
      ctx.SetProgress(i / 1000.0, "working");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return OpOutcome{ctx.cancelled() ? Cancelled("stopped") : Status::OK(), {}};
  });
  ASSERT_TRUE(id.ok());
  for (int i = 0; i < 200 && ops.running() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(ops.Cancel(*id).ok());
  for (int i = 0; i < 500 && ops.running() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto info = ops.Get(*id);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->state, OpState::kCancelled);
  EXPECT_EQ(ops.Cancel(*id).code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ops.Cancel("op-nope").code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vecsafe::service
