// GcsStore: the ObjectStore driver for Google Cloud Storage (JSON API and
// its upload endpoints). User docs: docs/storage.md.
//
// URL: gs://bucket/prefix?option=value. Options (all optional):
//   endpoint=URL              API base. Default: https://storage.googleapis.com,
//                             or STORAGE_EMULATOR_HOST when set.
//   resumable_threshold=BYTES objects this large or larger use a resumable
//                             upload (resumed after errors). Default: 64 MiB.
//   chunk_size=BYTES          resumable chunk, a multiple of 256 KiB. Default: 16 MiB.
//   concurrency=N             requests in flight. Default: 8.
//   retries=N                 attempts per request. Default: 8.
//   connect_timeout_s=N       Default: 10.   low_speed_time_s=N   Default: 30.
// Credentials (never in the URL): none with STORAGE_EMULATOR_HOST (the
// variable Google's client libraries use for emulators); else
// GOOGLE_APPLICATION_CREDENTIALS (service_account or authorized_user JSON);
// else the metadata server (GCE_METADATA_HOST, else metadata.google.internal).
// HMAC keys go through the S3 driver (s3://bucket?endpoint=https://storage.googleapis.com).
//
// Put() of a small object is one media upload; larger ones use a resumable
// session whose chunks resume from the server's committed offset after an
// error and which is cancelled (DELETE) if it cannot finish. if_absent maps
// to ifGenerationMatch=0, enforced by the server. A 401 drops the cached token
// and retries once with a fresh one.
//
// Thread safety: every method may be called from several threads at once.
#ifndef VECSAFE_IO_GCS_GCS_STORE_H_
#define VECSAFE_IO_GCS_GCS_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "io/gcs/gcs_auth.h"
#include "io/http/curl_transport.h"
#include "io/retry.h"
#include "io/s3/s3_options.h"
#include "vecsafe/object_store.h"

namespace vecsafe::gcs {

using EnvFn = std::function<std::optional<std::string>(const char* name)>;

struct GcsOptions {
  std::string bucket;
  std::string prefix;  // without leading/trailing '/'
  std::string endpoint = "https://storage.googleapis.com";
  bool custom_endpoint = false;
  bool emulator = false;         // STORAGE_EMULATOR_HOST: no authentication
  std::string credentials_file;  // GOOGLE_APPLICATION_CREDENTIALS
  std::string metadata_host = "metadata.google.internal";
  uint64_t resumable_threshold = 64ull << 20;
  uint64_t chunk_size = 16ull << 20;
  int concurrency = 8;
  // Defaults: 8 attempts, 100 ms initial delay bound, 5 s cap, 120 s in all.
  RetryPolicy retry = s3::DefaultRemoteRetryPolicy();
  http::TransportOptions transport;
  Clock clock = SystemClock;
};

struct GcsCounters {
  http::TransportCounters http;
  uint64_t retries = 0;
  uint64_t resumable_uploads = 0;
  uint64_t token_fetches = 0;
};

// Resolves options for gs://bucket/prefix. Errors: kInvalidArgument (unknown
// or bad option).
Result<GcsOptions> ResolveGcsOptions(const std::string& bucket, const std::string& prefix,
                                     const std::map<std::string, std::string>& options,
                                     const EnvFn& env);

// Opens a store; reads the credentials file but does no network I/O.
// Errors: those of TokenSourceFromFile.
Result<std::unique_ptr<ObjectStore>> NewGcsStore(GcsOptions options);

GcsCounters GetGcsCounters(const ObjectStore& store);

}  // namespace vecsafe::gcs

#endif  // VECSAFE_IO_GCS_GCS_STORE_H_
