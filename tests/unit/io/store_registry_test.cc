#include "io/store_registry.h"

#include <gtest/gtest.h>

#include <map>

#include "io/local/local_store.h"
#include "io/memory_store.h"
#include "io/test_dir.h"

namespace vecsafe {
namespace {

StoreUrl Parse(std::string_view url) {
  Result<StoreUrl> r = ParseStoreUrl(url);
  EXPECT_TRUE(r.ok()) << url << ": " << r.status().ToString();
  return r.ok() ? *r : StoreUrl{};
}

TEST(StoreUrlTest, PlainPathsAreLocal) {
  for (const char* p : {"/srv/backups", "./repo", "repo", "../x/y", "/with space/and:colon",
                        "dir?odd#name", "weird:thing"}) {
    StoreUrl u = Parse(p);
    EXPECT_EQ(u.scheme, "file") << p;
    EXPECT_EQ(u.path, p);
    EXPECT_TRUE(u.bucket.empty());
    EXPECT_EQ(u.ToString(), p);
  }
}

TEST(StoreUrlTest, FileUrls) {
  EXPECT_EQ(Parse("file:///srv/backups").path, "/srv/backups");
  EXPECT_EQ(Parse("FILE:///srv/b%20c").path, "/srv/b c");
  EXPECT_EQ(Parse("file://localhost/srv/x").path, "/srv/x");
  EXPECT_EQ(Parse("file:///srv/x").scheme, "file");
  auto rel = ParseStoreUrl("file://relative/path");
  EXPECT_EQ(rel.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(rel.status().hint().find("file:///"), std::string::npos);
}

TEST(StoreUrlTest, BucketUrls) {
  StoreUrl s3 = Parse("s3://my-bucket/team/qdrant/");
  EXPECT_EQ(s3.scheme, "s3");
  EXPECT_EQ(s3.bucket, "my-bucket");
  EXPECT_EQ(s3.path, "team/qdrant");
  EXPECT_EQ(s3.ToString(), "s3://my-bucket/team/qdrant");

  StoreUrl gs = Parse("gs://b.with.dots");
  EXPECT_EQ(gs.scheme, "gs");
  EXPECT_EQ(gs.bucket, "b.with.dots");
  EXPECT_EQ(gs.path, "");

  StoreUrl opts = Parse("s3://b/p?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A9000&x");
  EXPECT_EQ(opts.options,
            (std::map<std::string, std::string>{
                {"region", "eu-west-1"}, {"endpoint", "http://127.0.0.1:9000"}, {"x", ""}}));
  EXPECT_EQ(Parse(opts.ToString()), opts);

  StoreUrl mem = Parse("mem://unit_test-1");
  EXPECT_EQ(mem.scheme, "mem");
  EXPECT_EQ(mem.bucket, "unit_test-1");
}

TEST(StoreUrlTest, MalformedUrlsAreInvalidArgumentsWithHints) {
  for (const char* bad :
       {"", "s3://", "s3:///prefix", "s3:bucket/prefix", "gs:bucket", "s3://key:secret@bucket/p",
        "s3://bu cket/p", "s3://b//x", "s3://b/a/../c", "s3://b/./c", "s3://b/p?a=1&a=2",
        "s3://b/p%zz", "s3://b/p%2", "s3://b/p?=v", "mem://", "file://", "s3://b/%00"}) {
    Result<StoreUrl> r = ParseStoreUrl(bad);
    EXPECT_FALSE(r.ok()) << "accepted: '" << bad << "'";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << bad;
      EXPECT_FALSE(r.status().hint().empty()) << bad;
    }
  }
  auto creds = ParseStoreUrl("s3://AKIA:secret@bucket");
  EXPECT_EQ(creds.status().message().find("secret"), std::string::npos)
      << "error messages must not echo credentials";
}

TEST(StoreRegistryTest, OpensBuiltinDriversAndListsSchemesOnUnknownOnes) {
  StoreRegistry registry;
  RegisterBuiltinStores(registry);
  EXPECT_EQ(registry.Schemes(), (std::vector<std::string>{"file", "gs", "mem", "s3"}));
  TestDir dir;

  auto local = registry.Open(dir.path().string());
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_TRUE((*local)->Capabilities().local_filesystem);
  ASSERT_TRUE((*local)->Put("config", "x").ok());
  auto again = registry.Open("file://" + dir.path().string());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Get("config").value(), "x");

  MemoryStore::DropNamed("registry-test");
  auto m1 = registry.Open("mem://registry-test");
  auto m2 = registry.Open("mem://registry-test");
  ASSERT_TRUE(m1.ok() && m2.ok());
  ASSERT_TRUE((*m1)->Put("k", "shared").ok());
  EXPECT_EQ((*m2)->Get("k").value(), "shared");
  EXPECT_EQ((*m1)->Describe(), "mem://registry-test");
  MemoryStore::DropNamed("registry-test");

  auto unknown = registry.Open("ftp://host/path");
  EXPECT_EQ(unknown.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.status().hint().find("file:///"), std::string::npos)
      << unknown.status().ToString();
  EXPECT_NE(unknown.status().hint().find("mem://"), std::string::npos);
  EXPECT_FALSE(registry.CanHandle("ftp://host/path"));
  EXPECT_TRUE(registry.CanHandle("/tmp/x"));
  EXPECT_FALSE(registry.CanHandle("s3:bucket"));

  auto malformed = registry.Open("s3:bucket/p");
  EXPECT_EQ(malformed.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(malformed.status().hint().find("Supported repository URLs"), std::string::npos);

  // A plain path is taken literally ('?' is part of the folder name) ...
  auto literal = registry.Open("/tmp/x?opt=1");
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ((*literal)->Describe(), "/tmp/x?opt=1");
  // ... while URLs' options go to the driver, which refuses unknown ones.
  EXPECT_EQ(registry.Open("file:///tmp/x?opt=1").status().code(), ErrorCode::kInvalidArgument);
  // The one local option: pagecache=keep|drop.
  EXPECT_TRUE(registry.Open("file:///tmp/x?pagecache=drop").ok());
  EXPECT_TRUE(registry.Open("file:///tmp/x?pagecache=keep").ok());
  auto bad_value = registry.Open("file:///tmp/x?pagecache=maybe");
  EXPECT_EQ(bad_value.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad_value.status().hint().find("pagecache=drop"), std::string::npos);
  EXPECT_EQ(registry.Open("mem://n/prefix").status().code(), ErrorCode::kInvalidArgument);
}

TEST(StoreRegistryTest, RegisterRefusesDuplicatesAndBadSchemes) {
  StoreRegistry registry;
  int calls = 0;
  StoreFactory factory = [&](const StoreUrl& url) -> Result<std::unique_ptr<ObjectStore>> {
    ++calls;
    EXPECT_EQ(url.bucket, "bucket");
    EXPECT_EQ(url.path, "pre/fix");
    return std::unique_ptr<ObjectStore>(std::make_unique<MemoryStore>("fake"));
  };
  ASSERT_TRUE(registry.Register("s3", "s3://bucket/prefix (test)", factory).ok());
  EXPECT_EQ(registry.Register("s3", "again", factory).code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(registry.Register("S3", "upper", factory).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry.Register("9x", "digit", factory).code(), ErrorCode::kInvalidArgument);
  auto opened = registry.Open("s3://bucket/pre/fix/");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_NE(registry.SupportedHint().find("s3://bucket/prefix (test)"), std::string::npos);
}

TEST(StoreRegistryTest, OpenStoreUsesTheBuiltinDrivers) {
  TestDir dir;
  auto store = OpenStore(dir.path().string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Describe(), dir.path().string());
}

TEST(DefaultRepositoryUrlTest, PrecedenceAndNormalisation) {
  std::map<std::string, std::string> env;
  EnvLookup lookup = [&](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_EQ(DefaultRepositoryUrlFromEnv(lookup), std::nullopt);
  env["BACKUP_LOCAL_PATH"] = "/backups";
  EXPECT_EQ(DefaultRepositoryUrlFromEnv(lookup), "/backups");
  env["GCS_BUCKET_NAME"] = "qdrant-backups";
  EXPECT_EQ(DefaultRepositoryUrlFromEnv(lookup), "gs://qdrant-backups");
  env["GCS_FOLDER_PREFIX"] = "/prod/cluster-1/";
  EXPECT_EQ(DefaultRepositoryUrlFromEnv(lookup), "gs://qdrant-backups/prod/cluster-1");
  env["GCS_BUCKET_NAME"] = "gs://qdrant-backups/";
  EXPECT_EQ(DefaultRepositoryUrlFromEnv(lookup), "gs://qdrant-backups/prod/cluster-1");
  env["VECSAFE_REPO"] = "s3://other/x";
  EXPECT_EQ(DefaultRepositoryUrlFromEnv(lookup), "s3://other/x");
  env["VECSAFE_REPO"] = "";  // empty counts as unset
  EXPECT_EQ(DefaultRepositoryUrlFromEnv(lookup), "gs://qdrant-backups/prod/cluster-1");
  env["GCS_BUCKET_NAME"] = "";
  EXPECT_EQ(DefaultRepositoryUrlFromEnv(lookup), "/backups");
  // The result always parses.
  for (const auto* v : {"gs://qdrant-backups/prod/cluster-1", "/backups"}) {
    EXPECT_TRUE(ParseStoreUrl(v).ok()) << v;
  }
}

}  // namespace
}  // namespace vecsafe
