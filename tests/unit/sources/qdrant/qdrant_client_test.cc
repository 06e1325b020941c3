// QdrantClient against a small in-process HTTP server that answers the way
// Qdrant does (envelope, 202, plain-text 401, error bodies).
#include "sources/qdrant/qdrant_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "loopback_server.h"
#include "sources/qdrant/qdrant_backup.h"

namespace vecsafe::qdrant {
namespace {

class FakeQdrant {
 public:
  FakeQdrant() { loop_.Start(); }
  httplib::Server& server() { return server_; }
  std::string url() const { return loop_.base(); }

 private:
  vecsafe::testing::LoopbackServer loop_;  // last: stops before the members above go
  httplib::Server& server_ = loop_.server();
};

QdrantClientOptions Fast(const std::string& url) {
  QdrantClientOptions o;
  o.url = url;
  o.initial_backoff_ms = 1;
  o.max_backoff_ms = 2;
  o.poll_interval_ms = 10;
  o.snapshot_wait_seconds = 5;
  return o;
}

std::unique_ptr<QdrantClient> Make(const QdrantClientOptions& o) {
  auto c = QdrantClient::Create(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

void Error(httplib::Response& res, int status, const std::string& msg) {
  res.status = status;
  res.set_content(R"({"status":{"error":")" + msg + R"("},"time":0.0})", "application/json");
}

TEST(QdrantUrlTest, NormalizesAndRejects) {
  EXPECT_EQ(*NormalizeBaseUrl("localhost:6333/"), "http://localhost:6333");
  EXPECT_EQ(*NormalizeBaseUrl("https://q.example:6333"), "https://q.example:6333");
  EXPECT_EQ(NormalizeBaseUrl("ftp://x").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(NormalizeBaseUrl("http://").status().code(), ErrorCode::kInvalidArgument);
}

TEST(QdrantUrlTest, EnvironmentOfExistingDeployments) {
  unsetenv("QDRANT_URL");
  setenv("QDRANT_HOST", "db.internal", 1);
  setenv("QDRANT_PORT", "7333", 1);
  setenv("QDRANT_HTTPS", "true", 1);
  setenv("QDRANT_API_KEY", "secret", 1);
  auto o = OptionsFromEnvironment("");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->url, "https://db.internal:7333");
  EXPECT_EQ(o->api_key, "secret");
  auto explicit_url = OptionsFromEnvironment("http://other:6333", "k2");
  EXPECT_EQ(explicit_url->url, "http://other:6333");
  EXPECT_EQ(explicit_url->api_key, "k2");
  unsetenv("QDRANT_HOST");
  unsetenv("QDRANT_PORT");
  unsetenv("QDRANT_HTTPS");
  unsetenv("QDRANT_API_KEY");
  EXPECT_EQ(OptionsFromEnvironment("").status().code(), ErrorCode::kInvalidArgument);
}

TEST(QdrantUrlTest, VersionsPeersAndNames) {
  EXPECT_EQ(ParseMajorMinor("1.19.0"), std::make_pair(1, 19));
  EXPECT_EQ(ParseMajorMinor("v1.8"), std::make_pair(1, 8));
  EXPECT_FALSE(ParseMajorMinor("dev").has_value());
  EXPECT_EQ(*PeerRestUrl("http://qdrant-1.qdrant-headless:6335/", "http://seed:6333"),
            "http://qdrant-1.qdrant-headless:6333");
  EXPECT_EQ(*PeerRestUrl("http://10.0.0.7:6335", "https://seed:6333"), "https://10.0.0.7:6333");
  EXPECT_EQ(PeerRestUrl("http://:6335", "http://s:6333").status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(PeerIdFromSnapshotName("docs-3766212330831337-2024-07-22-08-31-55.snapshot", "docs"),
            3766212330831337u);
  EXPECT_EQ(PeerIdFromSnapshotName("my-docs-12-2024-07-22-08-31-55.snapshot", "my-docs"), 12u);
  EXPECT_EQ(PeerIdFromSnapshotName("other-12-2024.snapshot", "docs"), 0u);
}

TEST(QdrantClientTest, ServerInfoAndNotQdrant) {
  FakeQdrant q;
  q.server().Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"title":"qdrant - vector search engine","version":"1.19.0"})",
                    "application/json");
  });
  auto c = QdrantClient::Create(Fast(q.url()));
  ASSERT_TRUE(c.ok());
  auto info = (*c)->GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->version, "1.19.0");

  FakeQdrant web;
  web.server().Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html>hello</html>", "text/html");
  });
  auto w = QdrantClient::Create(Fast(web.url()));
  auto not_q = (*w)->GetServerInfo();
  EXPECT_EQ(not_q.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(not_q.status().message().find("does not answer like Qdrant"), std::string::npos);
}

TEST(QdrantClientTest, UnreachableIsUnavailableWithHint) {
  QdrantClientOptions o = Fast("http://127.0.0.1:9");
  o.max_attempts = 2;
  auto c = QdrantClient::Create(o);
  auto info = (*c)->GetServerInfo();
  EXPECT_EQ(info.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(info.status().hint().find("Qdrant is running"), std::string::npos);
}

TEST(QdrantClientTest, ErrorsMapToCodesWithHints) {
  FakeQdrant q;
  q.server().Get("/collections", [](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("api-key") != "good") {
      res.status = 401;
      res.set_content("Invalid API key or JWT", "text/plain");
      return;
    }
    res.set_content(
        R"({"result":{"collections":[{"name":"b"},{"name":"a"}]},"status":"ok","time":0})",
        "application/json");
  });
  q.server().Get("/collections/missing", [](const httplib::Request&, httplib::Response& res) {
    Error(res, 404, "Not found: Collection `missing` doesn't exist!");
  });
  for (const char* c : {"/collections/a/snapshots", "/collections/full/snapshots"}) {
    q.server().Get(c, [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"result":[],"status":"ok","time":0})", "application/json");
    });
  }
  q.server().Post("/collections/a/snapshots", [](const httplib::Request&, httplib::Response& res) {
    Error(res, 403, "Forbidden: Write access is required");
  });
  q.server().Post("/collections/full/snapshots",
                  [](const httplib::Request&, httplib::Response& res) {
                    Error(res, 507, "No space left on device");
                  });

  QdrantClientOptions bad = Fast(q.url());
  bad.api_key = "bad";
  auto wrong = (Make(bad))->ListCollections();
  EXPECT_EQ(wrong.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(wrong.status().hint().find("QDRANT_API_KEY"), std::string::npos);

  QdrantClientOptions good = Fast(q.url());
  good.api_key = "good";
  auto c = Make(good);
  auto names = c->ListCollections();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
  auto missing = c->GetCollection("missing");
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'missing' does not exist"), std::string::npos);
  auto ro = c->CreateSnapshot("a");
  EXPECT_EQ(ro.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(ro.status().hint().find("read-only"), std::string::npos);
  auto full = c->CreateSnapshot("full");
  EXPECT_EQ(full.status().code(), ErrorCode::kNoSpace);
  EXPECT_NE(full.status().hint().find("Qdrant's own disk is full"), std::string::npos);
}

TEST(QdrantClientTest, RetriesUnavailableThenSucceeds) {
  FakeQdrant q;
  std::atomic<int> calls{0};
  q.server().Get("/collections", [&calls](const httplib::Request&, httplib::Response& res) {
    if (calls++ < 2) return Error(res, 503, "Service unavailable");
    res.set_content(R"({"result":{"collections":[]},"status":"ok","time":0})", "application/json");
  });
  auto c = Make(Fast(q.url()));
  auto names = c->ListCollections();
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ(calls.load(), 3);
  QdrantClientOptions once = Fast(q.url());
  once.max_attempts = 1;
  calls = 0;
  EXPECT_EQ((Make(once))->ListCollections().status().code(), ErrorCode::kUnavailable);
}

TEST(QdrantClientTest, CreateWithWaitFalsePollsTheListing) {
  FakeQdrant q;
  std::atomic<int> lists{0};
  std::atomic<bool> created{false};
  q.server().Get("/collections/c/snapshots", [&](const httplib::Request&, httplib::Response& res) {
    const bool show = created && lists++ >= 2;  // appears a little later
    std::string items = R"({"name":"c-1-2024-01-01-00-00-00.snapshot","size":1})";
    if (show) items += R"(,{"name":"c-1-2024-01-01-00-00-09.snapshot","size":5,"checksum":"ab"})";
    res.set_content(R"({"result":[)" + items + R"(],"status":"ok","time":0})", "application/json");
  });
  q.server().Post("/collections/c/snapshots",
                  [&](const httplib::Request& req, httplib::Response& res) {
                    EXPECT_EQ(req.get_param_value("wait"), "false");
                    created = true;
                    res.status = 202;
                    res.set_content(R"({"status":"accepted","time":0.0})", "application/json");
                  });
  auto c = Make(Fast(q.url()));
  auto snap = c->CreateSnapshot("c");
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->name, "c-1-2024-01-01-00-00-09.snapshot");
  EXPECT_EQ(snap->size, 5u);
  EXPECT_EQ(snap->checksum, "ab");
}

TEST(QdrantClientTest, DownloadStreamsAndReportsLostConnections) {
  FakeQdrant q;
  const std::string payload(3 * 1024 * 1024 + 17, 'x');
  q.server().Get("/collections/c/snapshots/ok.snapshot",
                 [&](const httplib::Request&, httplib::Response& res) {
                   res.set_content(payload, "application/octet-stream");
                 });
  q.server().Get("/collections/c/snapshots/cut.snapshot",
                 [&](const httplib::Request&, httplib::Response& res) {
                   res.set_content_provider(payload.size(), "application/octet-stream",
                                            [&](size_t offset, size_t, httplib::DataSink& sink) {
                                              if (offset >= 1024 * 1024)
                                                return false;  // drop the connection
                                              sink.write(payload.data() + offset, 256 * 1024);
                                              return true;
                                            });
                 });
  auto c = Make(Fast(q.url()));
  std::string got;
  size_t calls = 0;
  Status s = c->DownloadSnapshot("c", "ok.snapshot", [&](std::string_view b) {
    got.append(b);
    ++calls;
    return Status::OK();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got, payload);
  EXPECT_GT(calls, 1u);  // streamed in pieces, not buffered whole

  uint64_t delivered = 0;
  Status cut = c->DownloadSnapshot(
      "c", "cut.snapshot", [](std::string_view) { return Status::OK(); }, &delivered);
  EXPECT_EQ(cut.code(), ErrorCode::kUnavailable) << cut.ToString();
  EXPECT_GT(delivered, 0u);
  EXPECT_LT(delivered, payload.size());

  // A sink error stops the transfer and is returned as is.
  Status sink_err = c->DownloadSnapshot("c", "ok.snapshot", [](std::string_view) {
    return Status(ErrorCode::kNoSpace, "repository full");
  });
  EXPECT_EQ(sink_err.code(), ErrorCode::kNoSpace);
}

TEST(QdrantClientTest, UploadSendsMultipartWithPriorityAndChecksum) {
  FakeQdrant q;
  std::string received, priority, checksum, field;
  q.server().Post(
      "/collections/c/snapshots/upload", [&](const httplib::Request& req, httplib::Response& res) {
        priority = req.get_param_value("priority");
        checksum = req.get_param_value("checksum");
        if (req.has_file("snapshot")) {
          field = "snapshot";
          received = req.get_file_value("snapshot").content;
        }
        res.set_content(R"({"result":true,"status":"ok","time":0})", "application/json");
      });
  auto c = Make(Fast(q.url()));
  const std::string data(2 * 1024 * 1024 + 3, 'q');
  size_t pos = 0;
  ByteSource src = [&](char* buf, size_t n) -> Result<size_t> {
    const size_t k = std::min(n, data.size() - pos);
    std::copy_n(data.data() + pos, k, buf);
    pos += k;
    return k;
  };
  Status s = c->UploadSnapshot("c", src, data.size(), "c.snapshot", std::string(64, 'a'),
                               SnapshotPriority::kSnapshot);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(field, "snapshot");
  EXPECT_EQ(received, data);
  EXPECT_EQ(priority, "snapshot");
  EXPECT_EQ(checksum, std::string(64, 'a'));
}

}  // namespace
}  // namespace vecsafe::qdrant
