// Backoff between attempts of a remote request: exponential with full jitter
// (sleep uniform in [0, min(max, base * 2^(n-1))] before retry n), raised to
// a server's short Retry-After. Shared by the S3 and GCS drivers.
#ifndef VECSAFE_IO_HTTP_BACKOFF_H_
#define VECSAFE_IO_HTTP_BACKOFF_H_

#include <cstdint>

#include "io/http/curl_transport.h"
#include "vecsafe/status.h"

namespace vecsafe::http {

struct RetryOptions {
  // Attempts per request, the first included. Default: 8.
  int max_attempts = 8;
  // Defaults: 100 ms base, 5 s cap (worst case ~20 s of waiting per request).
  int base_delay_ms = 100;
  int max_delay_ms = 5000;
};

// True for the codes a remote driver retries: kUnavailable and kTimeout.
bool IsRetryable(const Status& status);

// Milliseconds to wait before retry `attempt` (1 = first retry); `response`
// (may be null) can carry a Retry-After header in seconds.
int64_t BackoffDelayMs(const RetryOptions& options, int attempt, const HttpResponse* response);

// Sleeps BackoffDelayMs(...).
void SleepBeforeRetry(const RetryOptions& options, int attempt, const HttpResponse* response);

}  // namespace vecsafe::http

#endif  // VECSAFE_IO_HTTP_BACKOFF_H_
