// GcsStore against a small HTTP server playing fake-gcs-server: how a 404 on an
// object is told apart from a missing bucket.
#include "io/gcs/gcs_store.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "loopback_server.h"

namespace vecsafe::gcs {
namespace {

class FakeGcs {
 public:
  FakeGcs() {
    // fake-gcs-server answers a read in a missing bucket with a bare "Not Found",
    // where GCS names the bucket; a listing of a missing bucket is a 404 as well.
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.path.ends_with("/o")) {
        ++lists_;
        if (bucket_exists_) {
          res.set_content("{}", "application/json");
          return;
        }
      }
      res.status = 404;
      res.set_content("Not Found", "text/plain");
    });
    loop_.Start();
  }
  std::string base() const { return loop_.base(); }

  std::atomic<int> lists_{0};
  std::atomic<bool> bucket_exists_{false};

 private:
  vecsafe::testing::LoopbackServer loop_;  // last: stops before the members above go
  httplib::Server& server_ = loop_.server();
};

TEST(GcsStoreTest, AnObjectMissingWithItsBucketNamesTheBucketOnce) {
  FakeGcs gcs;
  const std::string emulator = gcs.base();
  auto o =
      ResolveGcsOptions("vs-missing", "p", {}, [&](const char* n) -> std::optional<std::string> {
        if (std::string(n) == "STORAGE_EMULATOR_HOST") return emulator;
        return std::nullopt;
      });
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  auto store = NewGcsStore(std::move(o).value());
  ASSERT_TRUE(store.ok()) << store.status().ToString();

  auto missing = (*store)->Get("config", 0, kToEnd);
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("bucket 'vs-missing' does not exist"),
            std::string::npos)
      << missing.status().ToString();
  EXPECT_NE(missing.status().hint().find("Create the bucket"), std::string::npos);
  EXPECT_EQ((*store)->Stat("config").status().message().find("bucket 'vs-missing'"), 0u);
  EXPECT_EQ(gcs.lists_, 2);  // asked again: a missing bucket may be created meanwhile

  // Once the bucket is seen to exist, a 404 is a missing object, with no more listings.
  gcs.bucket_exists_ = true;
  auto object = (*store)->Get("config", 0, kToEnd);
  EXPECT_EQ(object.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(object.status().message().find("no such object"), std::string::npos)
      << object.status().ToString();
  EXPECT_EQ((*store)->Stat("config").status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE((*store)->Delete("config").ok());  // deletes are idempotent
  EXPECT_EQ(gcs.lists_, 3);
}

}  // namespace
}  // namespace vecsafe::gcs
