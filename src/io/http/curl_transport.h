// CurlTransport: the HTTP client under the remote drivers (S3, GCS).
//
// One transport per store. It keeps a pool of libcurl easy handles (a handle
// is used by one thread at a time and returned to the pool, so its kept-alive
// connection is reused) and one share handle that lets all of them share the
// DNS cache and TLS sessions (not connections: see the constructor). A
// counting gate bounds the number of requests in flight
// (TransportOptions::max_in_flight), so callers may issue requests from any
// number of threads.
//
// Perform() reports transport failures (connect refused, reset, timeout, a
// body cut short) as a Status; any HTTP answer, including 4xx/5xx, is a
// successful Perform() with the status in HttpResponse::status: mapping HTTP
// errors to vecsafe codes is the driver's job, because only it knows what a
// 404 or a 400 means for its protocol.
//
// Thread safety: every method may be called from several threads at once.
#ifndef VECSAFE_IO_HTTP_CURL_TRANSPORT_H_
#define VECSAFE_IO_HTTP_CURL_TRANSPORT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::http {

struct TransportOptions {
  // Upper bound on requests in flight through this transport. Default: 8.
  int max_in_flight = 8;
  // Time allowed to open a TCP (+TLS) connection. Default: 10 s.
  long connect_timeout_ms = 10'000;
  // A transfer slower than low_speed_bytes_per_s for low_speed_time_s is
  // aborted (and retried by the caller), so a stalled connection cannot hang
  // a backup. Default: below 1 KiB/s for 30 s.
  long low_speed_bytes_per_s = 1024;
  long low_speed_time_s = 30;
  // CA bundle for TLS; empty: the system's. Default: empty.
  std::string ca_file;
};

struct HttpRequest {
  std::string method = "GET";  // GET, PUT, POST, DELETE, HEAD
  std::string url;             // absolute, already percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  // Request body, sent as is (not copied: must outlive Perform()).
  std::string_view body;
  bool has_body = false;
  // When non-empty, libcurl signs the request (CURLOPT_AWS_SIGV4), e.g.
  // "aws:amz:us-east-1:s3", with user/password = access key/secret.
  std::string aws_sigv4;
  std::string aws_access_key;
  std::string aws_secret_key;
};

struct HttpResponse {
  long status = 0;
  // Header names lower-cased; the last value wins.
  std::map<std::string, std::string> headers;
  std::string body;

  std::string Header(std::string_view name) const;
  // The server's Retry-After in seconds (delta form, up to an hour), if any.
  std::optional<std::chrono::milliseconds> RetryAfter() const;
};

// Request counters, for benchmarks and `--json` statistics.
struct TransportCounters {
  uint64_t requests = 0;          // HTTP exchanges that got an answer or failed
  uint64_t transport_errors = 0;  // of which failed below HTTP
  uint64_t gets = 0, puts = 0, posts = 0, deletes = 0, heads = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;
};

class CurlTransport {
 public:
  explicit CurlTransport(TransportOptions options);
  ~CurlTransport();
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // Sends `request` and reads the whole answer. Errors: kUnavailable for
  // connection failures, resets, bodies cut short and stalls (retryable),
  // kTimeout for the low-speed abort, kInvalidArgument for a malformed URL.
  Result<HttpResponse> Perform(const HttpRequest& request);

  TransportCounters Counters() const;

 private:
  struct ShareLocks;
  void* AcquireHandle();
  void ReleaseHandle(void* handle);

  TransportOptions options_;
  void* share_ = nullptr;  // CURLSH*
  ShareLocks* share_locks_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;                // guarded by mu_
  std::vector<void*> idle_handles_;  // CURL*, guarded by mu_

  std::atomic<uint64_t> requests_{0}, transport_errors_{0}, gets_{0}, puts_{0}, posts_{0},
      deletes_{0}, heads_{0}, bytes_sent_{0}, bytes_received_{0};
};

// Percent-encodes `s` as RFC 3986 (and SigV4) want: unreserved characters
// A-Z a-z 0-9 - . _ ~ stay, everything else becomes %XX (upper-case hex).
// With keep_slash, '/' stays too (object key paths).
std::string UriEncode(std::string_view s, bool keep_slash);

// Decodes %XX escapes (and, with plus_is_space, '+' as ' ').
std::string UriDecode(std::string_view s, bool plus_is_space = false);

}  // namespace vecsafe::http

#endif  // VECSAFE_IO_HTTP_CURL_TRANSPORT_H_
