#include "io/object_store_conformance.h"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace vecsafe {

std::string ConformanceTargetName(const ::testing::TestParamInfo<ConformanceTarget>& info) {
  return info.param.name;
}

void ObjectStoreConformanceTest::SetUp() {
  Result<std::unique_ptr<ObjectStore>> made = GetParam().make_store();
  if (!made.ok() && made.status().code() == ErrorCode::kUnavailable) {
    GTEST_SKIP() << made.status().ToString();
  }
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  store_ = std::move(made).value();
  Result<std::vector<ObjectInfo>> all = store_->ListAll("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_TRUE(all->empty()) << "make_store must return an empty store";
}

namespace {

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

std::set<std::string> Keys(ObjectStore& store, std::string_view prefix) {
  std::set<std::string> keys;
  Status s = store.List(prefix, [&](const ObjectInfo& info) {
    EXPECT_TRUE(keys.insert(info.key).second) << "listed twice: " << info.key;
    return Status::OK();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return keys;
}

TEST_P(ObjectStoreConformanceTest, PutThenGetReturnsTheSameBytes) {
  const std::string binary = std::string("a\0b\xff\n", 5) + RandomBytes(1000, 1);
  ASSERT_TRUE(store().Put("config", "hello").ok());
  ASSERT_TRUE(store().Put("data/ab/ab01", binary).ok());
  ASSERT_TRUE(store().Put("empty", "").ok());
  EXPECT_EQ(store().Get("config").value(), "hello");
  EXPECT_EQ(store().Get("data/ab/ab01").value(), binary);
  EXPECT_EQ(store().Get("empty").value(), "");
  EXPECT_EQ(store().Stat("empty")->size, 0u);
}

TEST_P(ObjectStoreConformanceTest, PutReplacesAnExistingObject) {
  ASSERT_TRUE(store().Put("k", "first version, longer").ok());
  ASSERT_TRUE(store().Put("k", "second").ok());
  EXPECT_EQ(store().Get("k").value(), "second");
  EXPECT_EQ(store().Stat("k")->size, 6u);
  EXPECT_EQ(Keys(store(), ""), std::set<std::string>{"k"});
}

TEST_P(ObjectStoreConformanceTest, MissingObjectsAreNotFound) {
  EXPECT_EQ(store().Get("nope").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store().Get("data/zz/nope", 10, 5).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store().Stat("nope").status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store().Put("dir/child", "x").ok());
  // A key that is only a prefix of other keys is not an object.
  EXPECT_EQ(store().Get("dir").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store().Stat("dir").status().code(), ErrorCode::kNotFound);
}

TEST_P(ObjectStoreConformanceTest, RangedGetReturnsTheRangeAndClipsAtTheEnd) {
  const std::string data = "0123456789";
  ASSERT_TRUE(store().Put("r", data).ok());
  EXPECT_EQ(store().Get("r", 0, 3).value(), "012");
  EXPECT_EQ(store().Get("r", 4, 2).value(), "45");
  EXPECT_EQ(store().Get("r", 7).value(), "789");
  EXPECT_EQ(store().Get("r", 8, 100).value(), "89");
  EXPECT_EQ(store().Get("r", 9, 1).value(), "9");
  EXPECT_EQ(store().Get("r", 3, 0).value(), "");
  EXPECT_EQ(store().Get("r", 10).value(), "");
  EXPECT_EQ(store().Get("r", 1000, 5).value(), "");
}

TEST_P(ObjectStoreConformanceTest, StatReportsSizeAndATimeNearNow) {
  ASSERT_TRUE(store().Put("snapshots/s1", std::string(1234, 'x')).ok());
  ObjectInfo info = store().Stat("snapshots/s1").value();
  EXPECT_EQ(info.key, "snapshots/s1");
  EXPECT_EQ(info.size, 1234u);
  if (info.mtime_unix != 0) {  // 0 means "the driver cannot tell"
    EXPECT_LT(std::abs(info.mtime_unix - static_cast<int64_t>(std::time(nullptr))), 600);
  }
}

TEST_P(ObjectStoreConformanceTest, ListReturnsExactlyTheKeysUnderAPrefix) {
  const std::map<std::string, std::string> objects = {
      {"config", "c"},         {"data/ab/ab01", "111"}, {"data/ab/ab02", "2222"},
      {"data/cd/cd03", "3"},   {"dataX", "x"},          {"index/i1", "ii"},
      {"snapshots/s1", "sss"}, {"snapshots/s2", ""},    {"keys/k1", "k"},
  };
  for (const auto& [k, v] : objects) ASSERT_TRUE(store().Put(k, v).ok()) << k;

  EXPECT_EQ(Keys(store(), "data/"),
            (std::set<std::string>{"data/ab/ab01", "data/ab/ab02", "data/cd/cd03"}));
  EXPECT_EQ(Keys(store(), "data"),
            (std::set<std::string>{"data/ab/ab01", "data/ab/ab02", "data/cd/cd03", "dataX"}));
  EXPECT_EQ(Keys(store(), "data/ab/"), (std::set<std::string>{"data/ab/ab01", "data/ab/ab02"}));
  EXPECT_EQ(Keys(store(), "data/a"), (std::set<std::string>{"data/ab/ab01", "data/ab/ab02"}));
  EXPECT_EQ(Keys(store(), "data/ab/ab02"), (std::set<std::string>{"data/ab/ab02"}));
  EXPECT_EQ(Keys(store(), "snapshots/"), (std::set<std::string>{"snapshots/s1", "snapshots/s2"}));
  EXPECT_TRUE(Keys(store(), "nothing/").empty());
  EXPECT_TRUE(Keys(store(), "data/zz/").empty());
  EXPECT_EQ(Keys(store(), "").size(), objects.size());

  // Sizes come with the listing (verify's cheap mode relies on it).
  std::map<std::string, uint64_t> sizes;
  ASSERT_TRUE(store()
                  .List("",
                        [&](const ObjectInfo& info) {
                          sizes[info.key] = info.size;
                          return Status::OK();
                        })
                  .ok());
  for (const auto& [k, v] : objects) EXPECT_EQ(sizes[k], v.size()) << k;
}

TEST_P(ObjectStoreConformanceTest, ListStopsAtTheFirstCallbackError) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store().Put("l/" + std::to_string(i), "v").ok());
  int calls = 0;
  Status s = store().List("l/", [&](const ObjectInfo&) {
    ++calls;
    return Cancelled("stop here");
  });
  EXPECT_EQ(s.code(), ErrorCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST_P(ObjectStoreConformanceTest, DeleteRemovesAndIsIdempotent) {
  ASSERT_TRUE(store().Put("data/ab/x", "1").ok());
  ASSERT_TRUE(store().Put("data/ab/y", "2").ok());
  ASSERT_TRUE(store().Delete("data/ab/x").ok());
  EXPECT_EQ(store().Get("data/ab/x").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(Keys(store(), "data/"), std::set<std::string>{"data/ab/y"});
  EXPECT_TRUE(store().Delete("data/ab/x").ok());
  EXPECT_TRUE(store().Delete("never/existed").ok());
  ASSERT_TRUE(store().Delete("data/ab/y").ok());
  EXPECT_TRUE(Keys(store(), "").empty());
  // The key can be written again after its folder emptied.
  ASSERT_TRUE(store().Put("data/ab/x", "3").ok());
  EXPECT_EQ(store().Get("data/ab/x").value(), "3");
}

TEST_P(ObjectStoreConformanceTest, IfAbsentRefusesToReplace) {
  PutOptions once;
  once.if_absent = true;
  ASSERT_TRUE(store().Put("locks/l1", "mine", once).ok());
  Status s = store().Put("locks/l1", "theirs", once);
  EXPECT_EQ(s.code(), ErrorCode::kAlreadyExists) << s.ToString();
  EXPECT_EQ(store().Get("locks/l1").value(), "mine");
  ASSERT_TRUE(store().Delete("locks/l1").ok());
  EXPECT_TRUE(store().Put("locks/l1", "theirs", once).ok());
  EXPECT_EQ(store().Get("locks/l1").value(), "theirs");
}

TEST_P(ObjectStoreConformanceTest, ConcurrentIfAbsentHasExactlyOneWinner) {
  if (!store().Capabilities().conditional_put) GTEST_SKIP() << "driver emulates if_absent";
  const int threads = GetParam().threads;
  for (int round = 0; round < 5; ++round) {
    const std::string key = "locks/race" + std::to_string(round);
    std::atomic<int> winners{0};
    std::atomic<int> others{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        PutOptions once;
        once.if_absent = true;
        Status s = store().Put(key, "writer " + std::to_string(t), once);
        if (s.ok()) {
          ++winners;
        } else if (s.code() == ErrorCode::kAlreadyExists) {
          ++others;
        }
      });
    }
    for (auto& th : pool) th.join();
    EXPECT_EQ(winners.load(), 1) << key;
    EXPECT_EQ(others.load(), threads - 1) << key;
  }
}

TEST_P(ObjectStoreConformanceTest, ConcurrentPutsOfDistinctKeysAllLand) {
  const int threads = GetParam().threads;
  constexpr int kPerThread = 20;
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Same fan-out folders from every thread: exercises folder creation races.
        const std::string key =
            "data/" + std::to_string(i % 4) + "/t" + std::to_string(t) + "-" + std::to_string(i);
        if (!store().Put(key, key).ok()) ++failures;
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> keys = Keys(store(), "data/");
  EXPECT_EQ(keys.size(), static_cast<size_t>(threads * kPerThread));
  for (const std::string& k : keys) EXPECT_EQ(store().Get(k).value(), k);
}

TEST_P(ObjectStoreConformanceTest, ReadersSeeWholeVersionsDuringOverwrites) {
  if (!store().Capabilities().atomic_put) GTEST_SKIP() << "driver is not atomic";
  const std::string a(64 * 1024, 'a');
  const std::string b(96 * 1024, 'b');
  ASSERT_TRUE(store().Put("hot", a).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread writer([&] {
    for (int i = 0; i < 40; ++i) store().Put("hot", i % 2 ? a : b).IgnoreError();
    stop = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        Result<std::string> got = store().Get("hot");
        if (!got.ok() || (*got != a && *got != b)) ++torn;
      }
    });
  }
  writer.join();
  for (auto& r : readers) r.join();
  EXPECT_EQ(torn.load(), 0);
}

TEST_P(ObjectStoreConformanceTest, LargeObjectRoundTripsAndRangesWork) {
  const uint64_t n = GetParam().large_object_bytes;
  const std::string big = RandomBytes(static_cast<size_t>(n), 42);
  ASSERT_TRUE(store().Put("data/ff/big", big).ok());
  EXPECT_EQ(store().Stat("data/ff/big")->size, n);
  Result<std::string> all = store().Get("data/ff/big");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(*all == big);
  const uint64_t mid = n / 2 - 1000;
  EXPECT_TRUE(store().Get("data/ff/big", mid, 70000).value() == big.substr(mid, 70000));
  EXPECT_TRUE(store().Get("data/ff/big", n - 10).value() == big.substr(n - 10));
}

TEST_P(ObjectStoreConformanceTest, MalformedKeysAreRejected) {
  for (const char* bad : {"", "/abs", "a//b", "a/./b", "../up", "a/..", "trail/", "."}) {
    EXPECT_EQ(store().Put(bad, "x").code(), ErrorCode::kInvalidArgument) << "'" << bad << "'";
    EXPECT_EQ(store().Get(bad).status().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(store().Stat(bad).status().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(store().Delete(bad).code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(store().Put(std::string("nul\0byte", 8), "x").code(), ErrorCode::kInvalidArgument);
  // Reserved for the local driver's temporary files, in every driver.
  EXPECT_EQ(store().Put(".tmp-vecsafe-1234", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store().Put("data/.tmp-vecsafe-1234", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Keys(store(), "").empty());
}

TEST_P(ObjectStoreConformanceTest, UnusualButValidKeysRoundTrip) {
  // Characters that need escaping in URLs and signatures.
  const std::vector<std::string> keys = {
      "sp ace/x y",  "plus+eq=amp&q?", "pct%20",          "uni/\xc3\xa9t\xc3\xa9",
      "colon:semi;", "tilde~star*",    "a/b/c/d/e/f/deep"};
  for (const auto& k : keys) ASSERT_TRUE(store().Put(k, "v:" + k).ok()) << k;
  for (const auto& k : keys) EXPECT_EQ(store().Get(k).value(), "v:" + k) << k;
  EXPECT_EQ(Keys(store(), ""), std::set<std::string>(keys.begin(), keys.end()));
}

TEST_P(ObjectStoreConformanceTest, ListingScalesAcrossFanOutFolders) {
  const int n = GetParam().many_objects;
  std::set<std::string> expected;
  for (int i = 0; i < n; ++i) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "%02x", i % 256);
    const std::string key = std::string("data/") + hex + "/" + hex + "pack" + std::to_string(i);
    ASSERT_TRUE(store().Put(key, std::to_string(i)).ok());
    expected.insert(key);
  }
  ASSERT_TRUE(store().Put("index/i", "i").ok());
  EXPECT_EQ(Keys(store(), "data/"), expected);
  EXPECT_EQ(Keys(store(), "data/0a/").size(), static_cast<size_t>((n + 255 - 10) / 256));
}

}  // namespace
}  // namespace vecsafe
