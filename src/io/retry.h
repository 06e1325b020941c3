// Retries with exponential backoff and full jitter, for remote drivers.
//
// Delay before retry n (n = 1, 2, ...) is uniform in [0, min(max_delay,
// initial_delay * multiplier^(n-1))] ("full jitter", AWS Architecture Blog,
// "Exponential Backoff And Jitter"), or the server's Retry-After if the call
// reported a longer one. Only errors the policy calls retryable are retried
// (default: kUnavailable and kTimeout, the abseil meaning "retry the same
// call"); everything else returns at once.
//
// The clock and the sleep are injectable (RetryClock) so tests run instantly
// and check exact delays.
#ifndef VECSAFE_IO_RETRY_H_
#define VECSAFE_IO_RETRY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "vecsafe/status.h"

namespace vecsafe {

struct RetryPolicy {
  // Calls in total, the first included. Default: 6. REQUIRES: >= 1.
  int max_attempts = 6;
  // Upper bound of the first retry's delay. Default: 200 ms.
  std::chrono::milliseconds initial_delay{200};
  // Cap on any single delay. Default: 20 s.
  std::chrono::milliseconds max_delay{20000};
  // Growth of the delay bound per retry. Default: 2. REQUIRES: >= 1.
  double multiplier = 2.0;
  // No retry is started whose delay would end later than this after the
  // first call began. Default: 120 s.
  std::chrono::milliseconds max_elapsed{120000};
  // Which failures to retry. Default (empty): IsRetryableByDefault.
  std::function<bool(const Status&)> is_retryable;
};

// kUnavailable or kTimeout.
bool IsRetryableByDefault(const Status& status);

// Time source and sleep. Thread safety: implementations must be thread safe.
class RetryClock {
 public:
  virtual ~RetryClock() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;
  virtual void SleepFor(std::chrono::milliseconds delay) = 0;
  // The steady clock and std::this_thread::sleep_for. Never null, never freed.
  static RetryClock* Real();
};

// Passed to each call: which attempt this is, and a place for the call to
// report the server's requested delay (HTTP Retry-After) before returning a
// retryable error.
struct RetryAttempt {
  int attempt = 1;  // 1 for the first call
  std::optional<std::chrono::milliseconds> retry_after;
};

// Called before each sleep: the failed attempt's number, its error and the delay chosen.
using RetryObserver =
    std::function<void(int attempt, const Status& error, std::chrono::milliseconds delay)>;

// Thread safety: Run() may be called from many threads at once on one Retrier.
class Retrier {
 public:
  // `clock` must outlive the Retrier (default: the real clock). `seed` fixes
  // the jitter for tests; by default it comes from std::random_device.
  explicit Retrier(RetryPolicy policy, RetryClock* clock = RetryClock::Real(),
                   std::optional<uint64_t> seed = std::nullopt);

  // Calls `fn` until it succeeds, fails with a non-retryable error, or the
  // attempts or time run out. Returns OK, the non-retryable error as is, or
  // the last retryable error with context "<what>: gave up after N attempts
  // in T s" (same code, so callers still see kUnavailable / kTimeout).
  Status Run(std::string_view what, const std::function<Status(RetryAttempt&)>& fn,
             const RetryObserver& observer = nullptr) const;

  // The same for calls that return a value.
  template <typename T>
  Result<T> RunResult(std::string_view what, const std::function<Result<T>(RetryAttempt&)>& fn,
                      const RetryObserver& observer = nullptr) const {
    std::optional<T> value;
    Status s = Run(
        what,
        [&](RetryAttempt& attempt) -> Status {
          Result<T> r = fn(attempt);
          if (!r.ok()) return r.status();
          value.emplace(std::move(r).value());
          return Status::OK();
        },
        observer);
    if (!s.ok()) return s;
    return std::move(*value);
  }

  // The jittered delay before retry `retry` (1-based), before any Retry-After.
  std::chrono::milliseconds NextDelay(int retry) const;
  // The bound NextDelay(retry) draws under.
  std::chrono::milliseconds DelayBound(int retry) const;

  const RetryPolicy& policy() const { return policy_; }

 private:
  RetryPolicy policy_;
  RetryClock* clock_;
  mutable std::mutex mu_;
  mutable std::mt19937_64 rng_;  // guarded by mu_
};

}  // namespace vecsafe

#endif  // VECSAFE_IO_RETRY_H_
