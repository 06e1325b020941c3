#include "io/gcs/gcs_auth.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/retry.h"

namespace vecsafe::gcs {
namespace {

using nlohmann::json;

// Shared caching logic: subclasses fetch, this class caches and refreshes.
class CachingTokenSource : public TokenSource {
 public:
  CachingTokenSource(http::CurlTransport* transport, Clock clock)
      : transport_(transport), clock_(std::move(clock)) {}

  Result<std::string> Token() override {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = clock_();
    if (!token_.empty() && now < refresh_at_) return token_;
    VS_ASSIGN_OR_RETURN(json doc, Fetch(now));
    if (!doc.contains("access_token") || !doc["access_token"].is_string()) {
      return Status(ErrorCode::kUnauthenticated,
                    "token endpoint of " + Describe() + " returned no access_token",
                    "Check the credentials file and its token_uri.");
    }
    token_ = doc["access_token"].get<std::string>();
    int64_t lifetime = 3600;
    if (doc.contains("expires_in") && doc["expires_in"].is_number_integer()) {
      lifetime = doc["expires_in"].get<int64_t>();
    }
    int64_t margin = lifetime > 600 ? 300 : lifetime / 2;
    refresh_at_ = now + lifetime - margin;
    return token_;
  }

  void Invalidate() override {
    std::lock_guard<std::mutex> lock(mu_);
    token_.clear();
    refresh_at_ = 0;
  }

 protected:
  // Fetches a new token document ({"access_token", "expires_in"}).
  virtual Result<json> Fetch(int64_t now) = 0;

  // POSTs a form to the token endpoint, with retries on 5xx/transport errors.
  Result<json> PostForm(const std::string& url, const std::string& form) {
    http::HttpRequest req;
    req.method = "POST";
    req.url = url;
    req.body = form;
    req.has_body = true;
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return Exchange(req);
  }

  Result<json> Exchange(const http::HttpRequest& req) {
    RetryPolicy policy;
    policy.max_attempts = 4;
    policy.max_elapsed = std::chrono::milliseconds(30000);
    Retrier retrier(policy);
    return retrier.RunResult<json>(
        "token request to " + req.url, [&](RetryAttempt& attempt) -> Result<json> {
          auto r = transport_->Perform(req);
          if (!r.ok()) return r.status();
          if (r->status >= 500 || r->status == 429) {
            attempt.retry_after = r->RetryAfter();
            return Unavailable("token endpoint " + req.url + " answered HTTP " +
                               std::to_string(r->status));
          }
          return ParseTokenAnswer(*r, req.url);
        });
  }

  Result<json> ParseTokenAnswer(const http::HttpResponse& r, const std::string& url) {
    json doc = json::parse(r.body, nullptr, false);
    if (r.status != 200) {
      std::string err, desc;
      if (doc.is_object()) {
        if (doc.contains("error") && doc["error"].is_string()) err = doc["error"];
        if (doc.contains("error_description") && doc["error_description"].is_string()) {
          desc = doc["error_description"];
        }
      }
      std::string what = "token request for " + Describe() + " refused: HTTP " +
                         std::to_string(r.status) + (err.empty() ? "" : " " + err) +
                         (desc.empty() ? "" : " (" + desc + ")");
      // Google: "Invalid JWT: Token must be a short-lived token (60 minutes) and in a
      // reasonable timeframe. Check your iat and exp values in the JWT claim." Not a
      // bare "exp": a refresh token's "Token has been expired or revoked." is no clock fault.
      if (desc.find("short-lived") != std::string::npos ||
          desc.find("timeframe") != std::string::npos ||
          desc.find("iat and exp") != std::string::npos) {
        return FailedPrecondition(what,
                                  "The JWT's time window was refused: synchronise the system "
                                  "clock (e.g. `timedatectl set-ntp true`) and retry.");
      }
      return Status(ErrorCode::kUnauthenticated, what,
                    "Check GOOGLE_APPLICATION_CREDENTIALS: the key may be deleted, disabled or "
                    "for another project; create a new key for the service account.");
    }
    if (!doc.is_object()) {
      return Status(ErrorCode::kUnauthenticated,
                    "token endpoint " + url + " returned something that is not JSON");
    }
    return doc;
  }

  http::CurlTransport* transport_;
  Clock clock_;

 private:
  std::mutex mu_;
  std::string token_;       // guarded by mu_
  int64_t refresh_at_ = 0;  // guarded by mu_
};

class ServiceAccountSource final : public CachingTokenSource {
 public:
  ServiceAccountSource(json key, std::string path, http::CurlTransport* t, Clock c)
      : CachingTokenSource(t, std::move(c)), key_(std::move(key)), path_(std::move(path)) {}
  std::string Describe() const override {
    return "service account " + key_.value("client_email", std::string("?")) + " (" + path_ + ")";
  }

 private:
  Result<json> Fetch(int64_t now) override {
    std::string token_uri =
        key_.value("token_uri", std::string("https://oauth2.googleapis.com/token"));
    VS_ASSIGN_OR_RETURN(std::string jwt,
                        MakeServiceAccountJwt(key_.value("client_email", std::string()),
                                              key_.value("private_key_id", std::string()),
                                              key_.value("private_key", std::string()), token_uri,
                                              kStorageScope, now));
    return PostForm(
        token_uri,
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + jwt);
  }
  json key_;
  std::string path_;
};

class AuthorizedUserSource final : public CachingTokenSource {
 public:
  AuthorizedUserSource(json key, std::string path, http::CurlTransport* t, Clock c)
      : CachingTokenSource(t, std::move(c)), key_(std::move(key)), path_(std::move(path)) {}
  std::string Describe() const override { return "user credentials (" + path_ + ")"; }

 private:
  Result<json> Fetch(int64_t) override {
    std::string token_uri =
        key_.value("token_uri", std::string("https://oauth2.googleapis.com/token"));
    return PostForm(
        token_uri,
        "grant_type=refresh_token&client_id=" +
            http::UriEncode(key_.value("client_id", std::string()), false) +
            "&client_secret=" + http::UriEncode(key_.value("client_secret", std::string()), false) +
            "&refresh_token=" + http::UriEncode(key_.value("refresh_token", std::string()), false));
  }
  json key_;
  std::string path_;
};

class MetadataSource final : public CachingTokenSource {
 public:
  MetadataSource(std::string host, http::CurlTransport* t, Clock c)
      : CachingTokenSource(t, std::move(c)), host_(std::move(host)) {}
  std::string Describe() const override { return "metadata server " + host_; }

 private:
  Result<json> Fetch(int64_t) override {
    http::HttpRequest req;
    req.method = "GET";
    std::string base = host_.find("://") == std::string::npos ? "http://" + host_ : host_;
    req.url = base + "/computeMetadata/v1/instance/service-accounts/default/token";
    req.headers.emplace_back("Metadata-Flavor", "Google");
    auto r = Exchange(req);
    if (!r.ok() && r.status().code() == ErrorCode::kUnavailable) {
      return Status(ErrorCode::kUnauthenticated,
                    "no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not set and the "
                    "metadata server " +
                        host_ + " is unreachable (" + r.status().message() + ")",
                    "Set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run on "
                    "Google Cloud, or set STORAGE_EMULATOR_HOST for an emulator.");
    }
    return r;
  }
  std::string host_;
};

}  // namespace

int64_t SystemClock() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Base64UrlEncode(std::string_view data) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i + 1 == data.size()) {
    uint32_t v = byte(i) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (i + 2 == data.size()) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

Result<std::string> SignRs256(std::string_view pem_private_key, std::string_view data) {
  BIO* bio = BIO_new_mem_buf(pem_private_key.data(), static_cast<int>(pem_private_key.size()));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (pkey == nullptr) {
    return InvalidArgument("the service-account private_key is not a readable PEM key",
                           "Download a fresh JSON key for the service account; do not edit it.");
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                           data.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  if (!ok) {
    return InvalidArgument("cannot sign with the service-account key (not an RSA key?)",
                           "Use a JSON key of type service_account created by Google Cloud.");
  }
  return sig;
}

Result<std::string> MakeServiceAccountJwt(std::string_view client_email,
                                          std::string_view private_key_id,
                                          std::string_view pem_private_key,
                                          std::string_view token_uri, std::string_view scope,
                                          int64_t now_unix) {
  json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!private_key_id.empty()) header["kid"] = std::string(private_key_id);
  json claims = {{"iss", std::string(client_email)},
                 {"scope", std::string(scope)},
                 {"aud", std::string(token_uri)},
                 {"iat", now_unix},
                 {"exp", now_unix + 3600}};
  std::string signing_input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  VS_ASSIGN_OR_RETURN(std::string sig, SignRs256(pem_private_key, signing_input));
  return signing_input + "." + Base64UrlEncode(sig);
}

Result<std::unique_ptr<TokenSource>> TokenSourceFromFile(const std::string& path,
                                                         http::CurlTransport* transport,
                                                         Clock clock) {
  std::ifstream in(path);
  if (!in) {
    return NotFound("cannot read the Google credentials file " + path,
                    "Check GOOGLE_APPLICATION_CREDENTIALS: it must name a readable JSON key file.");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  json doc = json::parse(ss.str(), nullptr, false);
  std::string type = doc.is_object() ? doc.value("type", std::string()) : std::string();
  if (type == "service_account") {
    for (const char* field : {"client_email", "private_key"}) {
      if (!doc.contains(field) || !doc[field].is_string()) {
        return InvalidArgument(std::string("service-account key ") + path + " has no " + field,
                               "Download a fresh JSON key for the service account.");
      }
    }
    return std::unique_ptr<TokenSource>(
        std::make_unique<ServiceAccountSource>(std::move(doc), path, transport, std::move(clock)));
  }
  if (type == "authorized_user") {
    return std::unique_ptr<TokenSource>(
        std::make_unique<AuthorizedUserSource>(std::move(doc), path, transport, std::move(clock)));
  }
  return InvalidArgument("the Google credentials file " + path +
                             " is not a service_account or authorized_user JSON key",
                         "Point GOOGLE_APPLICATION_CREDENTIALS at the JSON key downloaded for the "
                         "service account (IAM > Service accounts > Keys).");
}

std::unique_ptr<TokenSource> MetadataTokenSource(const std::string& host,
                                                 http::CurlTransport* transport, Clock clock) {
  return std::make_unique<MetadataSource>(host, transport, std::move(clock));
}

}  // namespace vecsafe::gcs
