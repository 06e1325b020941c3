#include "io/retry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

namespace vecsafe {
namespace {

class RealRetryClock final : public RetryClock {
 public:
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  void SleepFor(std::chrono::milliseconds delay) override { std::this_thread::sleep_for(delay); }
};

}  // namespace

bool IsRetryableByDefault(const Status& status) {
  return status.code() == ErrorCode::kUnavailable || status.code() == ErrorCode::kTimeout;
}

RetryClock* RetryClock::Real() {
  static RealRetryClock* clock = new RealRetryClock();
  return clock;
}

Retrier::Retrier(RetryPolicy policy, RetryClock* clock, std::optional<uint64_t> seed)
    : policy_(std::move(policy)),
      clock_(clock != nullptr ? clock : RetryClock::Real()),
      rng_(seed ? *seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {
  policy_.max_attempts = std::max(policy_.max_attempts, 1);
  policy_.multiplier = std::max(policy_.multiplier, 1.0);
}

std::chrono::milliseconds Retrier::DelayBound(int retry) const {
  const double base = static_cast<double>(policy_.initial_delay.count());
  const double cap = static_cast<double>(policy_.max_delay.count());
  const double bound = base * std::pow(policy_.multiplier, std::max(retry - 1, 0));
  return std::chrono::milliseconds(static_cast<int64_t>(std::min(bound, cap)));
}

std::chrono::milliseconds Retrier::NextDelay(int retry) const {
  const int64_t bound = DelayBound(retry).count();
  if (bound <= 0) return std::chrono::milliseconds(0);
  std::lock_guard<std::mutex> lock(mu_);
  std::uniform_int_distribution<int64_t> dist(0, bound);
  return std::chrono::milliseconds(dist(rng_));
}

Status Retrier::Run(std::string_view what, const std::function<Status(RetryAttempt&)>& fn,
                    const RetryObserver& observer) const {
  const auto start = clock_->Now();
  const auto& retryable = policy_.is_retryable
                              ? policy_.is_retryable
                              : std::function<bool(const Status&)>(IsRetryableByDefault);
  for (int attempt = 1;; ++attempt) {
    RetryAttempt ctx;
    ctx.attempt = attempt;
    Status s = fn(ctx);
    if (s.ok() || !retryable(s)) return s;
    std::chrono::milliseconds delay = NextDelay(attempt);
    if (ctx.retry_after && *ctx.retry_after > delay) {
      delay = std::min(*ctx.retry_after, policy_.max_delay);
    }
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now() - start);
    if (attempt >= policy_.max_attempts || elapsed + delay > policy_.max_elapsed) {
      char secs[32];
      std::snprintf(secs, sizeof(secs), "%.1f", static_cast<double>(elapsed.count()) / 1000.0);
      return s.WithContext(std::string(what) + ": gave up after " + std::to_string(attempt) +
                           (attempt == 1 ? " attempt" : " attempts") + " in " + secs + " s");
    }
    if (observer) observer(attempt, s, delay);
    clock_->SleepFor(delay);
  }
}

}  // namespace vecsafe
