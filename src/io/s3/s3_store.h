// S3Store: the ObjectStore driver for Amazon S3 and S3-compatible servers
// (MinIO, Ceph RGW, Cloudflare R2, GCS's interoperable XML endpoint with HMAC
// keys). Options and credentials: io/s3/s3_options.h; user docs: docs/storage.md.
//
// Requests are signed by libcurl (CURLOPT_AWS_SIGV4). libcurl 7.88 signs the
// path and query exactly as given and hashes only the body it sends, so this
// driver encodes keys itself, sends query parameters sorted and encoded
// (SigV4's canonical form), and sets x-amz-content-sha256 to the SHA-256 of
// the body it hands to libcurl.
//
// Put() of an object of multipart_threshold bytes or more uses a multipart
// upload, with up to `concurrency` parts in flight; any failure aborts the
// upload (AbortMultipartUpload) so no parts linger. Each request is retried
// with exponential backoff and full jitter on connection errors, 408, 429,
// 500, 502, 503, 504, SlowDown and RequestTimeout; never on 4xx answers that
// retrying cannot fix (auth, missing bucket, wrong region).
//
// Thread safety: every method may be called from several threads at once.
#ifndef VECSAFE_IO_S3_S3_STORE_H_
#define VECSAFE_IO_S3_S3_STORE_H_

#include <memory>

#include "io/http/curl_transport.h"
#include "io/s3/s3_options.h"
#include "vecsafe/object_store.h"

namespace vecsafe::s3 {

// Per-store request statistics (benchmarks, `--json` statistics).
struct S3Counters {
  http::TransportCounters http;
  uint64_t retries = 0;
  uint64_t multipart_uploads = 0;
  uint64_t multipart_aborts = 0;
};

// Opens a store for `options`. Does no I/O: wrong credentials or a missing
// bucket show up on the first call.
std::unique_ptr<ObjectStore> NewS3Store(S3Options options);

// Counters of a store made by NewS3Store (zeroes for other stores).
S3Counters GetS3Counters(const ObjectStore& store);

// Maps an S3 error answer to a Status with a hint; `what` names the call
// ("PUT data/ab/ab12"). Exposed for tests.
Status S3ErrorToStatus(const http::HttpResponse& response, const S3Options& options,
                       std::string_view what);

}  // namespace vecsafe::s3

#endif  // VECSAFE_IO_S3_S3_STORE_H_
