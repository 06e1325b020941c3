// Checks that what libcurl signs for the S3 driver is SigV4 as AWS defines
// it: a loopback server recomputes each request's signature with
// io/s3/sigv4.h (itself checked against AWS's examples in sigv4_test.cc) and
// refuses any mismatch, the way S3 would. Covers keys that need encoding,
// sorted multi-parameter queries, a session token, ranges and bodies.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "io/http/curl_transport.h"
#include "io/s3/s3_options.h"
#include "io/s3/s3_store.h"
#include "io/s3/s3_xml.h"
#include "io/s3/sigv4.h"
#include "loopback_server.h"

namespace vecsafe::s3 {
namespace {

constexpr char kKey[] = "AKIDTESTSIGNING";
constexpr char kSecret[] = "secret/with+chars";

// Splits "a=1&b=x%20y" into decoded pairs.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    size_t eq = part.find('=');
    out.emplace_back(http::UriDecode(part.substr(0, eq)),
                     eq == std::string_view::npos ? "" : http::UriDecode(part.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

class SigningServer {
 public:
  SigningServer() {
    auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
      std::string why;
      if (!Verify(req, &why)) {
        ++refused_;
        std::lock_guard<std::mutex> lock(mu_);
        last_refusal_ = why;
        res.status = 403;
        res.set_content("<Error><Code>SignatureDoesNotMatch</Code><Message>" + XmlEscape(why) +
                            "</Message></Error>",
                        "application/xml");
        return;
      }
      ++verified_;
      Handle(req, res);
    };
    server_.Get(".*", dispatch);
    server_.Put(".*", dispatch);
    server_.Post(".*", dispatch);
    server_.Delete(".*", dispatch);
    loop_.Start();
  }
  int port() const { return loop_.port(); }
  int verified() const { return verified_; }
  int refused() const { return refused_; }
  std::string last_refusal() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_refusal_;
  }
  std::string session_token_seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return token_;
  }

 private:
  bool Verify(const httplib::Request& req, std::string* why) {
    std::string auth = req.get_header_value("Authorization");
    size_t sh = auth.find("SignedHeaders=");
    size_t sig = auth.find("Signature=");
    size_t cred = auth.find("Credential=");
    if (sh == std::string::npos || sig == std::string::npos || cred == std::string::npos) {
      *why = "no SigV4 Authorization header";
      return false;
    }
    std::string signed_list = auth.substr(sh + 14, auth.find(',', sh) - sh - 14);
    std::string signature = auth.substr(sig + 10);
    std::string credential = auth.substr(cred + 11, auth.find(',', cred) - cred - 11);
    if (!credential.starts_with(std::string(kKey) + "/")) {
      *why = "wrong access key";
      return false;
    }
    SigV4Request r;
    r.method = req.method;
    size_t qpos = req.target.find('?');
    r.canonical_uri = req.target.substr(0, qpos);
    if (qpos != std::string::npos) r.query = ParseQuery(req.target.substr(qpos + 1));
    std::stringstream names(signed_list);
    std::string name;
    bool has_token = false;
    while (std::getline(names, name, ';')) {
      r.headers.emplace_back(name, req.get_header_value(name.c_str()));
      if (name == "x-amz-security-token") has_token = true;
    }
    if (req.has_header("x-amz-security-token") && !has_token) {
      *why = "session token not signed";
      return false;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      token_ = req.get_header_value("x-amz-security-token");
    }
    r.payload_hash = req.get_header_value("x-amz-content-sha256");
    if (r.payload_hash != Sha256Hex(req.body)) {
      *why = "x-amz-content-sha256 does not match the body";
      return false;
    }
    std::string date = req.get_header_value("x-amz-date");
    SigV4Result expected = Sign(r, SigV4Credentials{kKey, kSecret, ""}, "eu-central-1", "s3", date);
    if (expected.signature != signature) {
      *why = "signature mismatch; canonical request:\n" + expected.canonical_request;
      return false;
    }
    return true;
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string path = http::UriDecode(req.path);             // "/bucket/key"
    std::string key = path.size() > 5 ? path.substr(5) : "";  // strip "/bkt/"
    if (req.method == "PUT") {
      objects_[key] = req.body;
      res.status = 200;
    } else if (req.method == "GET" && req.has_param("list-type")) {
      std::string prefix = req.get_param_value("prefix");
      std::string xml = "<ListBucketResult>";
      for (const auto& [k, v] : objects_) {
        if (k.starts_with(prefix)) {
          xml += "<Contents><Key>" + XmlEscape(k) + "</Key><Size>" + std::to_string(v.size()) +
                 "</Size><LastModified>2024-01-02T03:04:05.000Z</LastModified></Contents>";
        }
      }
      res.set_content(xml + "<IsTruncated>false</IsTruncated></ListBucketResult>",
                      "application/xml");
    } else if (req.method == "GET" || req.method == "HEAD") {
      auto it = objects_.find(key);
      if (it == objects_.end()) {
        res.status = 404;
        res.set_content("<Error><Code>NoSuchKey</Code></Error>", "application/xml");
        return;
      }
      res.set_content(it->second, "application/octet-stream");
    } else if (req.method == "DELETE") {
      objects_.erase(key);
      res.status = 204;
    }
  }

  std::atomic<int> verified_{0}, refused_{0};
  std::mutex mu_;
  std::string last_refusal_, token_;
  std::map<std::string, std::string> objects_;
  vecsafe::testing::LoopbackServer loop_;  // last: stops before the members above go
  httplib::Server& server_ = loop_.server();
};

std::unique_ptr<ObjectStore> OpenStore(int port, const std::string& token) {
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", kKey},
                                            {"AWS_SECRET_ACCESS_KEY", kSecret},
                                            {"AWS_SESSION_TOKEN", token},
                                            {"HOME", "/nonexistent"}};
  auto o = ResolveS3Options("bkt", "pre fix/p",
                            {{"endpoint", "http://127.0.0.1:" + std::to_string(port)},
                             {"region", "eu-central-1"},
                             {"conditional_put", "false"},
                             {"retries", "1"}},
                            [&](const char* n) -> std::optional<std::string> {
                              auto it = env.find(n);
                              if (it == env.end()) return std::nullopt;
                              return it->second;
                            });
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return NewS3Store(std::move(o).value());
}

TEST(S3SigningTest, EveryRequestLibcurlSignsVerifies) {
  SigningServer server;
  auto store = OpenStore(server.port(), "");
  const std::string key = "data/a b+c~d/(x)=y&z";
  Status put = store->Put(key, "hello world");
  ASSERT_TRUE(put.ok()) << put.ToString() << "\n" << server.last_refusal();
  auto got = store->Get(key, 6, 5);
  ASSERT_TRUE(got.ok()) << got.status().ToString() << "\n" << server.last_refusal();
  auto all = store->ListAll("data/a b");
  ASSERT_TRUE(all.ok()) << all.status().ToString() << "\n" << server.last_refusal();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].key, key);
  EXPECT_EQ((*all)[0].size, 11u);
  EXPECT_EQ((*all)[0].mtime_unix, 1704164645);
  auto st = store->Stat(key);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->size, 11u);
  ASSERT_TRUE(store->Delete(key).ok());
  EXPECT_EQ(store->Stat(key).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(server.refused(), 0) << server.last_refusal();
  EXPECT_GE(server.verified(), 6);
}

TEST(S3SigningTest, SessionTokenIsSentAndSigned) {
  SigningServer server;
  auto store = OpenStore(server.port(), "FQoGZXIvYXdzE//token+with/chars==");
  ASSERT_TRUE(store->Put("k", std::string(100000, 'x')).ok()) << server.last_refusal();
  EXPECT_EQ(server.session_token_seen(), "FQoGZXIvYXdzE//token+with/chars==");
  EXPECT_EQ(server.refused(), 0);
}

TEST(S3SigningTest, WrongSecretIsRefusedWithAHint) {
  SigningServer server;
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", kKey},
                                            {"AWS_SECRET_ACCESS_KEY", "not-the-secret"}};
  auto o = ResolveS3Options("bkt", "",
                            {{"endpoint", "http://127.0.0.1:" + std::to_string(server.port())},
                             {"region", "eu-central-1"},
                             {"conditional_put", "false"}},
                            [&](const char* n) -> std::optional<std::string> {
                              auto it = env.find(n);
                              if (it == env.end()) return std::nullopt;
                              return it->second;
                            });
  ASSERT_TRUE(o.ok());
  auto store = NewS3Store(std::move(o).value());
  Status s = store->Put("k", "v");
  EXPECT_EQ(s.code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(s.hint().find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << s.ToString();
  EXPECT_EQ(server.verified(), 0);
}

}  // namespace
}  // namespace vecsafe::s3
