// AWS Signature Version 4: canonical request, string to sign, signing key,
// Authorization header and presigned URLs.
//
// The S3 driver lets libcurl sign ordinary requests (CURLOPT_AWS_SIGV4); this
// module is the reference that those requests are checked against in tests
// (a loopback server recomputes the signature of what libcurl sent), it
// presigns URLs (PresignUrl), and it is checked itself against AWS's
// published examples (tests/unit/io/sigv4_test.cc).
//
// Conventions follow the S3 flavour of SigV4: the canonical URI is the path
// exactly as sent (S3 encodes each key once; no double encoding, no
// normalisation), the canonical query is sorted and URI-encoded.
#ifndef VECSAFE_IO_S3_SIGV4_H_
#define VECSAFE_IO_S3_SIGV4_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vecsafe::s3 {

struct SigV4Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty when not using temporary credentials
};

struct SigV4Request {
  std::string method;         // "GET"
  std::string canonical_uri;  // "/bucket/key%20name" as sent on the wire
  // Query parameters, NOT encoded; CanonicalQueryString() sorts and encodes.
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign (names in any case; values are trimmed and their inner
  // runs of spaces folded). Must include "host".
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// Hex SHA-256 of `data` (lower case).
std::string Sha256Hex(std::string_view data);
// HMAC-SHA256 of `data` under `key`, raw 32 bytes.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HexEncode(std::string_view raw);

// "a=1&b=x%2Fy": sorted by encoded name then value, both URI-encoded.
std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query);
// "host;range;x-amz-date"
std::string SignedHeaders(const std::vector<std::pair<std::string, std::string>>& headers);
std::string CanonicalRequest(const SigV4Request& request);
// amz_date: "20130524T000000Z"; scope: "20130524/us-east-1/s3/aws4_request".
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);
// kSigning = HMAC chain over "AWS4"+secret, date, region, service, "aws4_request".
std::string SigningKey(std::string_view secret_key, std::string_view date, std::string_view region,
                       std::string_view service);

struct SigV4Result {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // hex
  std::string authorization;  // full Authorization header value
};

// Signs `request` at `amz_date` (the request's x-amz-date header must carry
// the same value; this function does not add it).
SigV4Result Sign(const SigV4Request& request, const SigV4Credentials& credentials,
                 std::string_view region, std::string_view service, std::string_view amz_date);

// Returns the query string (without '?') of a presigned URL for `request`
// (whose `query` may already hold parameters; headers must include host),
// valid for `expires_s` seconds from amz_date.
std::string PresignQuery(SigV4Request request, const SigV4Credentials& credentials,
                         std::string_view region, std::string_view service,
                         std::string_view amz_date, int64_t expires_s);

// Formats unix seconds as "YYYYMMDDTHHMMSSZ".
std::string AmzDate(int64_t unix_seconds);

}  // namespace vecsafe::s3

#endif  // VECSAFE_IO_S3_SIGV4_H_
