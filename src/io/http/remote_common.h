// What the S3 and GCS drivers share beyond the transport: URL option parsing
// for the connection settings, timestamps of listings, idempotent deletes and
// the request counters written to VECSAFE_HTTP_STATS.
#ifndef VECSAFE_IO_HTTP_REMOTE_COMMON_H_
#define VECSAFE_IO_HTTP_REMOTE_COMMON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/http/curl_transport.h"
#include "io/retry.h"
#include "vecsafe/object_store.h"
#include "vecsafe/status.h"

namespace vecsafe::http {

// A whole number option `name=value` of an `scheme` URL ("s3", "gs") within
// [min, max]. Errors: kInvalidArgument naming the option, with the range.
Result<uint64_t> ParseUintOption(std::string_view scheme, const std::string& name,
                                 const std::string& value, uint64_t min, uint64_t max);

// The connection options every remote driver accepts: concurrency=N (requests
// in flight, 1-64), retries=N (attempts per request, 1-30), connect_timeout_s,
// low_speed_time_s. Returns true if `name` was one of them (and applies it),
// false if the driver must handle it. Errors as ParseUintOption.
Result<bool> ApplyConnectionOption(std::string_view scheme, const std::string& name,
                                   const std::string& value, TransportOptions* transport,
                                   RetryPolicy* retry, int* concurrency);

// Seconds since the epoch of "2009-10-12T17:50:30.000Z" (S3 listings) or
// RFC 3339 "2024-01-02T03:04:05.678Z" (GCS), read as UTC; 0 if unparsable.
int64_t ParseUtcTimestamp(std::string_view s);

// A delete of an object that is already gone succeeds (deletes are
// idempotent); a missing bucket (its message names the bucket) stays an error.
Status DeleteResult(const Status& status);

// `prefix` without slashes at either end ("/a/b/" -> "a/b").
std::string TrimSlashes(std::string prefix);

// The object name of repository key `key` under `prefix` ("" or "a/b": no
// slash at either end).
std::string PrefixedKey(const std::string& prefix, std::string_view key);

// Ranged reads. AddRangeHeader adds "Range: bytes=offset-last" unless the
// whole object is asked for (offset 0, kToEnd). RangedBody turns the answer
// into the bytes asked for: 416 (past the end) is empty, and a 200 from a
// server that ignored Range is cut here.
void AddRangeHeader(std::vector<std::pair<std::string, std::string>>* headers, uint64_t offset,
                    uint64_t length);
std::string RangedBody(HttpResponse resp, uint64_t offset, uint64_t length);

// The outcome of a create-if-absent whose request was sent `attempts` times:
// kAlreadyExists after a retry may be our own earlier attempt that landed and
// lost its answer, so it succeeds if `store` now holds exactly `data`.
Status CreateResult(ObjectStore& store, const Status& status, int attempts, std::string_view key,
                    std::string_view data);

// Appends one JSON line of counters ({"store": store, "requests": ..., extra_name:
// extra}) to the file named by VECSAFE_HTTP_STATS, if that is set: how the
// benchmarks count requests per GiB.
void AppendHttpStats(std::string_view store, const TransportCounters& http, uint64_t retries,
                     std::string_view extra_name, uint64_t extra);

}  // namespace vecsafe::http

#endif  // VECSAFE_IO_HTTP_REMOTE_COMMON_H_
