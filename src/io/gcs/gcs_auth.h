// Access tokens for Google Cloud Storage.
//
//   service_account JSON (GOOGLE_APPLICATION_CREDENTIALS): an RS256-signed JWT
//     (OpenSSL) is exchanged at the key's token_uri for an access token.
//   authorized_user JSON (gcloud's application-default credentials): the
//     refresh token is exchanged at the token_uri.
//   the metadata server (GCE_METADATA_HOST, else metadata.google.internal)
//     when running on Google Cloud with neither.
// Tokens are cached and refreshed before they expire (5 minutes of margin,
// or half the lifetime for short-lived tokens); Invalidate() drops a token
// the storage server refused so the next call fetches a new one.
//
// Thread safety: every method may be called from several threads at once.
#ifndef VECSAFE_IO_GCS_GCS_AUTH_H_
#define VECSAFE_IO_GCS_GCS_AUTH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "io/http/curl_transport.h"
#include "vecsafe/status.h"

namespace vecsafe::gcs {

inline constexpr char kStorageScope[] = "https://www.googleapis.com/auth/devstorage.read_write";

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A bearer token valid for at least a little while. Errors:
  // kUnauthenticated (refused, with a hint), kUnavailable (token server down).
  virtual Result<std::string> Token() = 0;
  // Forgets the cached token (the server answered 401).
  virtual void Invalidate() = 0;
  // "service account x@y (FILE)", "metadata server", for messages.
  virtual std::string Describe() const = 0;
};

// Base64url without padding (JWT encoding).
std::string Base64UrlEncode(std::string_view data);
// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature of `data` with a PEM
// private key. Errors: kInvalidArgument (unreadable key).
Result<std::string> SignRs256(std::string_view pem_private_key, std::string_view data);
// The signed JWT assertion for a service account (header.claims.signature).
Result<std::string> MakeServiceAccountJwt(std::string_view client_email,
                                          std::string_view private_key_id,
                                          std::string_view pem_private_key,
                                          std::string_view token_uri, std::string_view scope,
                                          int64_t now_unix);

// Clock for token lifetimes (tests pass a fake one). Returns unix seconds.
using Clock = std::function<int64_t()>;
int64_t SystemClock();

// Loads a credentials JSON file (service_account or authorized_user).
// Errors: kNotFound (no file), kInvalidArgument (not a credentials file;
// the hint says what was expected).
Result<std::unique_ptr<TokenSource>> TokenSourceFromFile(const std::string& path,
                                                         http::CurlTransport* transport,
                                                         Clock clock = SystemClock);
// The metadata server's default service account.
std::unique_ptr<TokenSource> MetadataTokenSource(const std::string& host,
                                                 http::CurlTransport* transport,
                                                 Clock clock = SystemClock);

}  // namespace vecsafe::gcs

#endif  // VECSAFE_IO_GCS_GCS_AUTH_H_
