// GCS credentials: the RS256 JWT is checked with the public half of a key
// made here (OpenSSL), against a loopback token server that verifies it the
// way Google's does; tokens are cached, refreshed before expiry, and dropped
// on a 401 from the storage server.
#include "io/gcs/gcs_auth.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "io/gcs/gcs_store.h"
#include "loopback_server.h"

namespace vecsafe::gcs {
namespace {

using nlohmann::json;

std::string Base64UrlDecode(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4 != 0) s.push_back('=');
  std::string out(s.size(), '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  while (!s.empty() && s.back() == '=') {
    s.pop_back();
    out.pop_back();
  }
  return out;
}

struct KeyPair {
  std::string private_pem, public_pem;
};

KeyPair MakeKey() {
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  KeyPair kp;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  kp.private_pem.assign(p, static_cast<size_t>(n));
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, pkey);
  n = BIO_get_mem_data(b, &p);
  kp.public_pem.assign(p, static_cast<size_t>(n));
  BIO_free(b);
  EVP_PKEY_free(pkey);
  return kp;
}

// Key generation is slow (RSA 2048): one pair per process, plus one "other" key.
const KeyPair& TestKey() {
  static const KeyPair k = MakeKey();
  return k;
}
const KeyPair& OtherKey() {
  static const KeyPair k = MakeKey();
  return k;
}

bool VerifyRs256(const std::string& public_pem, const std::string& data, const std::string& sig) {
  BIO* b = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

// A token endpoint that verifies service-account JWTs and hands out tokens
// "tok-1", "tok-2", ...; plus a storage endpoint that accepts only tokens it
// was told are valid.
class FakeGoogle {
 public:
  explicit FakeGoogle(std::string public_pem) : public_pem_(std::move(public_pem)) {
    server_.Post("/token", [this](const httplib::Request& req, httplib::Response& res) {
      std::string assertion = req.get_param_value("assertion");
      if (req.get_param_value("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer") {
        res.status = 400;
        res.set_content(R"({"error":"unsupported_grant_type"})", "application/json");
        return;
      }
      if (int mode = refuse_all_.load(); mode != 0) {
        res.status = 400;
        res.set_content(json{{"error", "invalid_grant"},
                             {"error_description", mode == 1 ? kClockRefusal : kRevoked}}
                            .dump(),
                        "application/json");
        return;
      }
      size_t d1 = assertion.find('.'), d2 = assertion.rfind('.');
      json claims =
          json::parse(Base64UrlDecode(assertion.substr(d1 + 1, d2 - d1 - 1)), nullptr, false);
      bool ok =
          d1 != std::string::npos && d1 != d2 &&
          VerifyRs256(public_pem_, assertion.substr(0, d2),
                      Base64UrlDecode(assertion.substr(d2 + 1))) &&
          claims.is_object() && claims.value("iss", "") == "sa@proj.iam.gserviceaccount.com" &&
          claims.value("scope", "") == kStorageScope && claims.value("aud", "") == token_uri() &&
          claims.value("exp", 0) - claims.value("iat", 0) == 3600;
      if (!ok) {
        res.status = 400;
        res.set_content(R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})",
                        "application/json");
        return;
      }
      int n = ++issued_;
      res.set_content(json{{"access_token", "tok-" + std::to_string(n)},
                           {"expires_in", expires_in_.load()},
                           {"token_type", "Bearer"}}
                          .dump(),
                      "application/json");
    });
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::string auth = req.get_header_value("Authorization");
      if (auth != "Bearer tok-" + std::to_string(valid_from_.load()) &&
          !(auth.starts_with("Bearer tok-") && std::stoi(auth.substr(11)) >= valid_from_.load())) {
        res.status = 401;
        res.set_content(R"({"error":{"code":401,"message":"Invalid Credentials"}})",
                        "application/json");
        return;
      }
      res.set_content(R"({"name":"p/k","size":"5","updated":"2024-01-02T03:04:05.000Z"})",
                      "application/json");
    });
    loop_.Start();
  }
  std::string base() const { return loop_.base(); }
  std::string token_uri() const { return base() + "/token"; }

  std::atomic<int> issued_{0};
  std::atomic<int> expires_in_{3600};
  std::atomic<int> valid_from_{1};  // tokens numbered below this are refused
  // Refuse every token request: 1 as Google does a JWT from a skewed clock, 2 as a
  // revoked grant.
  std::atomic<int> refuse_all_{0};
  static constexpr const char* kClockRefusal =
      "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
      "timeframe. Check your iat and exp values in the JWT claim.";
  static constexpr const char* kRevoked = "Token has been expired or revoked.";

 private:
  std::string public_pem_;
  vecsafe::testing::LoopbackServer loop_;  // last: stops before the members above go
  httplib::Server& server_ = loop_.server();
};

class GcsAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = TestKey();
    google_ = std::make_unique<FakeGoogle>(key_.public_pem);
    // ctest runs tests as parallel processes, and under ASan their heaps lie at
    // the same addresses: the pid keeps one test's file from being another's.
    path_ = std::filesystem::temp_directory_path() /
            ("vecsafe-sa-" + std::to_string(::getpid()) + "-" +
             std::to_string(reinterpret_cast<uintptr_t>(this)) + ".json");
    std::ofstream(path_) << json{
        {"type", "service_account"},
        {"client_email", "sa@proj.iam.gserviceaccount.com"},
        {"private_key_id", "kid1"},
        {"private_key", key_.private_pem},
        {"token_uri",
         google_->token_uri()}}.dump();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  KeyPair key_;
  std::unique_ptr<FakeGoogle> google_;
  std::filesystem::path path_;
};

TEST(GcsJwtTest, Base64Url) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xbf"), "-_-_");
}

TEST_F(GcsAuthTest, JwtVerifiesWithThePublicKey) {
  auto jwt = MakeServiceAccountJwt("sa@x", "kid1", key_.private_pem, "https://aud", kStorageScope,
                                   1700000000);
  ASSERT_TRUE(jwt.ok()) << jwt.status().ToString();
  size_t d1 = jwt->find('.'), d2 = jwt->rfind('.');
  json header = json::parse(Base64UrlDecode(jwt->substr(0, d1)));
  json claims = json::parse(Base64UrlDecode(jwt->substr(d1 + 1, d2 - d1 - 1)));
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["kid"], "kid1");
  EXPECT_EQ(claims["iat"], 1700000000);
  EXPECT_EQ(claims["exp"], 1700003600);
  EXPECT_TRUE(
      VerifyRs256(key_.public_pem, jwt->substr(0, d2), Base64UrlDecode(jwt->substr(d2 + 1))));
  EXPECT_FALSE(
      VerifyRs256(key_.public_pem, jwt->substr(0, d2) + "x", Base64UrlDecode(jwt->substr(d2 + 1))));
  EXPECT_EQ(SignRs256("not a key", "x").status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(GcsAuthTest, TokensAreCachedAndRefreshedBeforeExpiry) {
  http::CurlTransport transport(http::TransportOptions{});
  std::atomic<int64_t> now{1700000000};
  auto src = TokenSourceFromFile(path_.string(), &transport, [&] { return now.load(); });
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ(*(*src)->Token(), "tok-1");
  EXPECT_EQ(*(*src)->Token(), "tok-1");
  now += 3600 - 301;  // still more than 5 minutes left
  EXPECT_EQ(*(*src)->Token(), "tok-1");
  now += 2;  // inside the 5-minute margin: refreshed
  EXPECT_EQ(*(*src)->Token(), "tok-2");
  EXPECT_EQ(google_->issued_, 2);
  (*src)->Invalidate();
  EXPECT_EQ(*(*src)->Token(), "tok-3");
}

TEST_F(GcsAuthTest, WrongKeyIsRefusedWithAHint) {
  const KeyPair& other = OtherKey();
  std::ofstream(path_) << json{
      {"type", "service_account"},
      {"client_email", "sa@proj.iam.gserviceaccount.com"},
      {"private_key", other.private_pem},
      {"token_uri",
       google_->token_uri()}}.dump();
  http::CurlTransport transport(http::TransportOptions{});
  auto src = TokenSourceFromFile(path_.string(), &transport);
  ASSERT_TRUE(src.ok());
  auto t = (*src)->Token();
  EXPECT_EQ(t.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(t.status().message().find("Invalid JWT Signature"), std::string::npos);
  EXPECT_NE(t.status().hint().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);
}

TEST_F(GcsAuthTest, OnlyAClockRefusalGetsTheClockHint) {
  http::CurlTransport transport(http::TransportOptions{});
  auto src = TokenSourceFromFile(path_.string(), &transport);
  ASSERT_TRUE(src.ok());
  google_->refuse_all_ = 1;
  auto skewed = (*src)->Token();
  EXPECT_EQ(skewed.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(skewed.status().hint().find("synchronise the system clock"), std::string::npos);
  // "expired" in a revoked grant's answer says nothing about the clock.
  google_->refuse_all_ = 2;
  auto revoked = (*src)->Token();
  EXPECT_EQ(revoked.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(revoked.status().message().find("expired or revoked"), std::string::npos);
  EXPECT_NE(revoked.status().hint().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);
}

TEST_F(GcsAuthTest, BadCredentialFiles) {
  http::CurlTransport transport(http::TransportOptions{});
  EXPECT_EQ(TokenSourceFromFile("/nonexistent/key.json", &transport).status().code(),
            ErrorCode::kNotFound);
  std::ofstream(path_) << R"({"type":"external_account"})";
  EXPECT_EQ(TokenSourceFromFile(path_.string(), &transport).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(GcsAuthTest, StoreRefreshesOnceOn401ThenReportsExpiredToken) {
  std::map<std::string, std::string> env = {{"GOOGLE_APPLICATION_CREDENTIALS", path_.string()}};
  auto o = ResolveGcsOptions("bkt", "p", {{"endpoint", google_->base()}, {"retries", "2"}},
                             [&](const char* n) -> std::optional<std::string> {
                               auto it = env.find(n);
                               if (it == env.end()) return std::nullopt;
                               return it->second;
                             });
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  auto store = NewGcsStore(std::move(o).value());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto st = (*store)->Stat("k");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->size, 5u);
  // The server revokes tok-1: the store must fetch tok-2 and succeed.
  google_->valid_from_ = 2;
  ASSERT_TRUE((*store)->Stat("k").ok());
  EXPECT_EQ(google_->issued_, 2);
  // Every token the server hands out is now refused (as if expired on arrival).
  google_->valid_from_ = 1000;
  auto bad = (*store)->Stat("k");
  EXPECT_EQ(bad.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(bad.status().message().find("expired or invalid"), std::string::npos);
  EXPECT_EQ(google_->issued_, 3);  // one refresh, no loop
}

}  // namespace
}  // namespace vecsafe::gcs
