// S3Options: everything the S3 driver needs, resolved from a repository URL
// (s3://bucket/prefix?option=value) and the AWS tools' standard environment.
//
// Credentials (first match wins; never taken from the URL):
//   1. profile=NAME in the URL          -> that profile of the shared credentials file
//   2. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN]
//   3. AWS_PROFILE (else "default")     -> the shared credentials file
//      (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)
// Region: region= in the URL, AWS_REGION, AWS_DEFAULT_REGION, the profile's
//   region in AWS_CONFIG_FILE (else ~/.aws/config), else us-east-1.
// Endpoint: endpoint= in the URL, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else
//   https://s3.<region>.amazonaws.com.
// URL options (all optional; unknown ones are refused):
//   endpoint, region, profile,
//   path_style=true|false     Default: true with a custom endpoint, false on AWS.
//   multipart_threshold=BYTES objects this large or larger go up in parts.
//                             Default: 64 MiB.
//   part_size=BYTES           Default: 16 MiB (S3's minimum is 5 MiB).
//   concurrency=N             requests in flight (parts of one object and
//                             calls from several threads). Default: 8.
//   conditional_put=auto|true|false  If-None-Match: * support. Default: auto
//                             (true on AWS; probed once on other servers).
//   retries=N                 attempts per request. Default: 8.
//   connect_timeout_s=N       Default: 10.   low_speed_time_s=N   Default: 30.
#ifndef VECSAFE_IO_S3_S3_OPTIONS_H_
#define VECSAFE_IO_S3_S3_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "io/http/curl_transport.h"
#include "io/retry.h"
#include "io/s3/sigv4.h"
#include "vecsafe/status.h"

namespace vecsafe::s3 {

// The retry policy both remote drivers start from.
inline RetryPolicy DefaultRemoteRetryPolicy() {
  RetryPolicy p;
  p.max_attempts = 8;
  p.initial_delay = std::chrono::milliseconds(100);
  p.max_delay = std::chrono::milliseconds(5000);
  p.max_elapsed = std::chrono::milliseconds(120000);
  return p;
}

using EnvFn = std::function<std::optional<std::string>(const char* name)>;

enum class ConditionalPut : uint8_t { kAuto, kOn, kOff };

struct S3Options {
  std::string bucket;
  std::string prefix;  // key prefix without leading/trailing '/', may be empty
  std::string region = "us-east-1";
  std::string endpoint;  // "scheme://host[:port]", no trailing '/'
  bool custom_endpoint = false;
  bool path_style = false;
  SigV4Credentials credentials;
  std::string credentials_source;  // for messages: "AWS_ACCESS_KEY_ID", "profile x in FILE"
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 16ull << 20;
  int concurrency = 8;
  ConditionalPut conditional_put = ConditionalPut::kAuto;
  // Retries per request. Defaults: 8 attempts, 100 ms initial delay bound,
  // 5 s cap, 120 s in all.
  RetryPolicy retry = DefaultRemoteRetryPolicy();
  http::TransportOptions transport;
};

// The process environment.
std::optional<std::string> ProcessEnv(const char* name);

// Resolves options for s3://bucket/prefix with URL `options` (already
// percent-decoded). Errors: kInvalidArgument (unknown or malformed option,
// bad endpoint), kUnauthenticated (no credentials anywhere; the hint lists
// where they are looked for), kNotFound (a named profile is missing).
Result<S3Options> ResolveS3Options(const std::string& bucket, const std::string& prefix,
                                   const std::map<std::string, std::string>& options,
                                   const EnvFn& env = ProcessEnv);

// Parses an INI file ("[section]" then "key = value" lines) into
// section -> key -> value. Comments start with '#' or ';'.
std::map<std::string, std::map<std::string, std::string>> ParseIni(const std::string& text);

}  // namespace vecsafe::s3

#endif  // VECSAFE_IO_S3_S3_OPTIONS_H_
