#include "io/http/remote_common.h"

#include <gtest/gtest.h>

#include "io/gcs/gcs_store.h"
#include "io/memory_store.h"

namespace vecsafe::http {
namespace {

TEST(RemoteCommonTest, UintOptionsAreCheckedWithTheirRange) {
  EXPECT_EQ(*ParseUintOption("s3", "part_size", "5242880", 5 << 20, 1ull << 30), 5242880u);
  auto bad = ParseUintOption("gs", "chunk_size", "12k", 1, 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("gs option chunk_size=12k is not a number"),
            std::string::npos);
  auto range = ParseUintOption("s3", "retries", "31", 1, 30);
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().hint().find("from 1 to 30"), std::string::npos);
  EXPECT_FALSE(ParseUintOption("s3", "n", "99999999999999999999", 0, 1).ok());
}

TEST(RemoteCommonTest, ConnectionOptionsAreSharedByBothDrivers) {
  TransportOptions t;
  RetryPolicy r;
  int concurrency = 8;
  EXPECT_TRUE(*ApplyConnectionOption("s3", "concurrency", "3", &t, &r, &concurrency));
  EXPECT_TRUE(*ApplyConnectionOption("s3", "retries", "2", &t, &r, &concurrency));
  EXPECT_TRUE(*ApplyConnectionOption("gs", "connect_timeout_s", "4", &t, &r, &concurrency));
  EXPECT_TRUE(*ApplyConnectionOption("gs", "low_speed_time_s", "9", &t, &r, &concurrency));
  EXPECT_EQ(concurrency, 3);
  EXPECT_EQ(r.max_attempts, 2);
  EXPECT_EQ(t.connect_timeout_ms, 4000);
  EXPECT_EQ(t.low_speed_time_s, 9);
  EXPECT_FALSE(*ApplyConnectionOption("s3", "region", "x", &t, &r, &concurrency));
  EXPECT_FALSE(ApplyConnectionOption("s3", "concurrency", "0", &t, &r, &concurrency).ok());
  EXPECT_FALSE(ApplyConnectionOption("s3", "concurrency", "65", &t, &r, &concurrency).ok());
}

TEST(RemoteCommonTest, TimestampsOfBothListingsParseAsUtc) {
  EXPECT_EQ(ParseUtcTimestamp("2009-10-12T17:50:30.000Z"), 1255369830);
  EXPECT_EQ(ParseUtcTimestamp("2024-01-02T03:04:05.678Z"), 1704164645);
  EXPECT_EQ(ParseUtcTimestamp("yesterday"), 0);
}

TEST(RemoteCommonTest, KeysAndPrefixes) {
  EXPECT_EQ(TrimSlashes("/a/b/"), "a/b");
  EXPECT_EQ(TrimSlashes("///"), "");
  EXPECT_EQ(PrefixedKey("a/b", "data/00/x"), "a/b/data/00/x");
  EXPECT_EQ(PrefixedKey("", "config"), "config");
}

TEST(RemoteCommonTest, DeletesOfMissingObjectsSucceedButAMissingBucketFails) {
  EXPECT_TRUE(DeleteResult(NotFound("no such object: locks/1")).ok());
  EXPECT_FALSE(DeleteResult(NotFound("bucket 'b' does not exist")).ok());
  EXPECT_EQ(DeleteResult(PermissionDenied("access denied")).code(), ErrorCode::kPermissionDenied);
}

TEST(RemoteCommonTest, RangesAndServersThatIgnoreThem) {
  std::vector<std::pair<std::string, std::string>> h;
  AddRangeHeader(&h, 0, kToEnd);
  EXPECT_TRUE(h.empty());
  AddRangeHeader(&h, 10, 5);
  AddRangeHeader(&h, 7, kToEnd);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].second, "bytes=10-14");
  EXPECT_EQ(h[1].second, "bytes=7-");
  HttpResponse whole;
  whole.status = 200;
  whole.body = "0123456789";
  EXPECT_EQ(RangedBody(whole, 2, 3), "234");
  EXPECT_EQ(RangedBody(whole, 8, kToEnd), "89");
  EXPECT_EQ(RangedBody(whole, 20, 1), "");
  HttpResponse partial;
  partial.status = 206;
  partial.body = "234";
  EXPECT_EQ(RangedBody(partial, 2, 3), "234");
  HttpResponse past;
  past.status = 416;
  past.body = "<Error/>";
  EXPECT_EQ(RangedBody(past, 99, 1), "");
}

TEST(RemoteCommonTest, ALostAnswerToOurOwnCreateIsASuccess) {
  MemoryStore store("remote-common-test");
  ASSERT_TRUE(store.Put("locks/a", "mine").ok());
  Status exists = AlreadyExists("object already exists: locks/a");
  EXPECT_TRUE(CreateResult(store, exists, 2, "locks/a", "mine").ok());
  // Someone else's object, or the first attempt: a real conflict.
  EXPECT_EQ(CreateResult(store, exists, 2, "locks/a", "theirs").code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(CreateResult(store, exists, 1, "locks/a", "mine").code(), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(CreateResult(store, Status::OK(), 1, "locks/b", "x").ok());
}

TEST(RemoteCommonTest, ConcurrencySetsHowManyPacksABackupUploadsAtOnce) {
  auto env = [](const char* name) -> std::optional<std::string> {
    if (std::string(name) == "STORAGE_EMULATOR_HOST") return "127.0.0.1:1";
    return std::nullopt;
  };
  for (auto [n, want] : {std::pair{"1", 1}, std::pair{"6", 3}, std::pair{"16", 8}}) {
    auto o = gcs::ResolveGcsOptions("b", "p", {{"concurrency", n}}, env);
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    auto store = gcs::NewGcsStore(*o);  // connects to nothing until used
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->Capabilities().parallel_puts, want) << "concurrency=" << n;
  }
  auto defaults = gcs::ResolveGcsOptions("b", "p", {}, env);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ((*gcs::NewGcsStore(*defaults))->Capabilities().parallel_puts, 4);
}

}  // namespace
}  // namespace vecsafe::http
