#include "io/retry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace vecsafe {
namespace {

using std::chrono::milliseconds;

class FakeClock final : public RetryClock {
 public:
  std::chrono::steady_clock::time_point Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void SleepFor(milliseconds d) override {
    std::lock_guard<std::mutex> lock(mu_);
    sleeps_.push_back(d);
    now_ += d;
  }
  std::vector<milliseconds> sleeps() {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }
  void Advance(milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

 private:
  std::mutex mu_;
  std::chrono::steady_clock::time_point now_{};
  std::vector<milliseconds> sleeps_;
};

RetryPolicy Policy() {
  RetryPolicy p;
  p.max_attempts = 5;
  p.initial_delay = milliseconds(100);
  p.max_delay = milliseconds(1000);
  p.multiplier = 2;
  p.max_elapsed = milliseconds(60000);
  return p;
}

TEST(RetryTest, SucceedsAfterTransientFailures) {
  FakeClock clock;
  Retrier retrier(Policy(), &clock, 7);
  int calls = 0;
  Status s = retrier.Run("PUT data/ab/x", [&](RetryAttempt& a) {
    EXPECT_EQ(a.attempt, calls + 1);
    return ++calls < 3 ? Unavailable("503 Slow Down") : Status::OK();
  });
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(clock.sleeps().size(), 2u);
  EXPECT_LE(clock.sleeps()[0], milliseconds(100));
  EXPECT_LE(clock.sleeps()[1], milliseconds(200));
}

TEST(RetryTest, NonRetryableErrorsReturnAtOnceUnchanged) {
  FakeClock clock;
  Retrier retrier(Policy(), &clock, 7);
  int calls = 0;
  Status s = retrier.Run("GET config", [&](RetryAttempt&) {
    ++calls;
    return PermissionDenied("403 AccessDenied");
  });
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "403 AccessDenied");
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(RetryTest, GivesUpAfterMaxAttemptsKeepingTheCode) {
  FakeClock clock;
  Retrier retrier(Policy(), &clock, 7);
  int calls = 0;
  Status s = retrier.Run("PUT k", [&](RetryAttempt&) {
    ++calls;
    return Status(ErrorCode::kTimeout, "request timed out");
  });
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(s.code(), ErrorCode::kTimeout);
  EXPECT_NE(s.message().find("PUT k: gave up after 5 attempts"), std::string::npos) << s.message();
  EXPECT_EQ(clock.sleeps().size(), 4u);
}

TEST(RetryTest, DelayBoundsGrowExponentiallyUpToTheCapAndJitterIsFull) {
  Retrier retrier(Policy(), nullptr, 99);
  EXPECT_EQ(retrier.DelayBound(1), milliseconds(100));
  EXPECT_EQ(retrier.DelayBound(2), milliseconds(200));
  EXPECT_EQ(retrier.DelayBound(4), milliseconds(800));
  EXPECT_EQ(retrier.DelayBound(5), milliseconds(1000));
  EXPECT_EQ(retrier.DelayBound(30), milliseconds(1000));
  // Full jitter: draws spread over [0, bound], not clustered at the bound.
  int64_t lo = 1 << 30, hi = 0, sum = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    const int64_t d = retrier.NextDelay(4).count();
    ASSERT_GE(d, 0);
    ASSERT_LE(d, 800);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    sum += d;
  }
  EXPECT_LT(lo, 80);
  EXPECT_GT(hi, 720);
  EXPECT_NEAR(static_cast<double>(sum) / n, 400.0, 40.0);
}

TEST(RetryTest, TheSameSeedGivesTheSameDelays) {
  Retrier a(Policy(), nullptr, 5), b(Policy(), nullptr, 5);
  for (int i = 1; i < 10; ++i) EXPECT_EQ(a.NextDelay(i), b.NextDelay(i));
}

TEST(RetryTest, MaxElapsedStopsRetriesThatWouldOverrunTheBudget) {
  FakeClock clock;
  RetryPolicy p = Policy();
  p.max_attempts = 100;
  p.max_elapsed = milliseconds(2500);
  Retrier retrier(p, &clock, 3);
  int calls = 0;
  Status s = retrier.Run("LIST", [&](RetryAttempt&) {
    ++calls;
    clock.Advance(milliseconds(400));  // each call takes 400 ms
    return Unavailable("connection reset");
  });
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  milliseconds slept{0};
  for (auto d : clock.sleeps()) slept += d;
  EXPECT_LE(milliseconds(400) * calls - milliseconds(400) + slept, milliseconds(2500));
  EXPECT_GE(calls, 2);
  EXPECT_LT(calls, 100);
}

TEST(RetryTest, RetryAfterFromTheServerIsHonouredUpToTheCap) {
  FakeClock clock;
  Retrier retrier(Policy(), &clock, 1);
  int calls = 0;
  Status s = retrier.Run("PUT", [&](RetryAttempt& a) {
    ++calls;
    if (calls == 1) {
      a.retry_after = milliseconds(700);
      return Unavailable("429");
    }
    if (calls == 2) {
      a.retry_after = milliseconds(50000);
      return Unavailable("429");
    }
    return Status::OK();
  });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(clock.sleeps(), (std::vector<milliseconds>{milliseconds(700), milliseconds(1000)}));
}

TEST(RetryTest, CustomPredicateAndObserver) {
  FakeClock clock;
  RetryPolicy p = Policy();
  p.is_retryable = [](const Status& s) { return s.code() == ErrorCode::kAborted; };
  Retrier retrier(p, &clock, 1);
  std::vector<int> observed;
  int calls = 0;
  Result<int> r = retrier.RunResult<int>(
      "op",
      [&](RetryAttempt&) -> Result<int> {
        if (++calls < 3) return Aborted("lost a race");
        return 42;
      },
      [&](int attempt, const Status& error, milliseconds) {
        observed.push_back(attempt);
        EXPECT_EQ(error.code(), ErrorCode::kAborted);
      });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(observed, (std::vector<int>{1, 2}));
  // kUnavailable is not retried under this predicate.
  calls = 0;
  Status s = retrier.Run("op", [&](RetryAttempt&) {
    ++calls;
    return Unavailable("x");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
}

TEST(RetryTest, OneRetrierServesManyThreads) {
  FakeClock clock;
  Retrier retrier(Policy(), &clock, 1);
  std::atomic<int> ok{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        int calls = 0;
        Status s = retrier.Run(
            "x", [&](RetryAttempt&) { return ++calls < 2 ? Unavailable("blip") : Status::OK(); });
        if (s.ok()) ++ok;
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(ok.load(), 200);
}

}  // namespace
}  // namespace vecsafe
