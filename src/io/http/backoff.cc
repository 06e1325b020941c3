#include "io/http/backoff.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

namespace vecsafe::http {

bool IsRetryable(const Status& status) {
  return status.code() == ErrorCode::kUnavailable || status.code() == ErrorCode::kTimeout;
}

int64_t BackoffDelayMs(const RetryOptions& options, int attempt, const HttpResponse* response) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  int shift = std::clamp(attempt - 1, 0, 20);
  int64_t cap = std::min<int64_t>(options.max_delay_ms,
                                  static_cast<int64_t>(options.base_delay_ms) << shift);
  std::uniform_int_distribution<int64_t> dist(0, std::max<int64_t>(cap, 1));
  int64_t ms = dist(rng);
  if (response != nullptr) {
    std::string ra = response->Header("retry-after");
    if (!ra.empty() && ra.size() < 4 && ra.find_first_not_of("0123456789") == std::string::npos) {
      ms = std::max<int64_t>(ms, std::min<int64_t>(std::stoll(ra) * 1000, options.max_delay_ms));
    }
  }
  return ms;
}

void SleepBeforeRetry(const RetryOptions& options, int attempt, const HttpResponse* response) {
  std::this_thread::sleep_for(
      std::chrono::milliseconds(BackoffDelayMs(options, attempt, response)));
}

}  // namespace vecsafe::http
