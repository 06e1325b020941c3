#include "io/fault_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "io/local/local_store.h"
#include "io/memory_store.h"
#include "io/object_store_conformance.h"
#include "io/test_dir.h"

namespace vecsafe {
namespace {

using Keys = std::set<std::string>;

// A FaultStore with no faults must meet the whole contract.
INSTANTIATE_TEST_SUITE_P(FaultMemory, ObjectStoreConformanceTest,
                         ::testing::Values(ConformanceTarget{
                             "fault_memory",
                             [] {
                               return Result<std::unique_ptr<ObjectStore>>(
                                   std::make_unique<FaultStore>(
                                       std::make_unique<MemoryStore>("fault-conformance")));
                             }}),
                         ConformanceTargetName);

class FaultStoreTest : public ::testing::Test {
 protected:
  MemoryStore mem_;
  FaultStore store_{&mem_};
};

TEST_F(FaultStoreTest, FailsTheNthPutOnlyAndWritesNothingForIt) {
  store_.FailNthPut(3, IoError("disk said no"));
  EXPECT_TRUE(store_.Put("a", "1").ok());
  EXPECT_TRUE(store_.Put("b", "2").ok());
  Status third = store_.Put("c", "3");
  EXPECT_EQ(third.code(), ErrorCode::kIoError);
  EXPECT_EQ(third.message(), "disk said no");
  EXPECT_TRUE(store_.Put("d", "4").ok());
  EXPECT_EQ(mem_.Get("c").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_.KeysWritten(), (Keys{"a", "b", "d"}));
  EXPECT_EQ(store_.counters().puts, 4u);
  EXPECT_EQ(store_.counters().injected_failures, 1u);
}

TEST_F(FaultStoreTest, FailsEveryPutUnderAPrefixWithTheChosenCode) {
  for (ErrorCode code : {ErrorCode::kIoError, ErrorCode::kNoSpace, ErrorCode::kUnavailable}) {
    store_.ClearFaults();
    store_.FailPutsWithPrefix("index/", Status(code, "injected"));
    EXPECT_EQ(store_.Put("index/1", "x").code(), code);
    EXPECT_EQ(store_.Put("index/2", "x").code(), code);
    EXPECT_TRUE(store_.Put("data/ab/1", "x").ok());
  }
  EXPECT_EQ(store_.KeysWritten(), Keys{"data/ab/1"});
  EXPECT_TRUE(mem_.ListAll("index/").value().empty());
}

TEST_F(FaultStoreTest, RulesCanTargetOtherCallsAndBeRemoved) {
  ASSERT_TRUE(store_.Put("k", "v").ok());
  FaultRule rule;
  rule.op = StoreOp::kGet;
  rule.times = 2;
  rule.error = Unavailable("503");
  const int id = store_.AddRule(rule);
  EXPECT_EQ(store_.Get("k").status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(store_.Get("k").status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(store_.Get("k").value(), "v");
  rule.op = StoreOp::kList;
  rule.times = kForever;
  const int list_id = store_.AddRule(rule);
  EXPECT_EQ(store_.ListAll("").status().code(), ErrorCode::kUnavailable);
  store_.RemoveRule(list_id);
  store_.RemoveRule(id);
  EXPECT_EQ(store_.ListAll("").value().size(), 1u);
  rule.op = StoreOp::kStat;
  store_.AddRule(rule);
  EXPECT_EQ(store_.Stat("k").status().code(), ErrorCode::kUnavailable);
  rule.op = StoreOp::kDelete;
  store_.AddRule(rule);
  EXPECT_EQ(store_.Delete("k").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(mem_.Get("k").value(), "v");
}

TEST_F(FaultStoreTest, AfterEffectWritesButReportsFailure) {
  FaultRule rule;
  rule.error = Status(ErrorCode::kTimeout, "reply lost");
  rule.after_effect = true;
  store_.AddRule(rule);
  EXPECT_EQ(store_.Put("k", "v").code(), ErrorCode::kTimeout);
  EXPECT_EQ(mem_.Get("k").value(), "v");
  EXPECT_EQ(store_.KeysWritten(), Keys{"k"});
}

TEST_F(FaultStoreTest, DiskFillsUpAfterNBytes) {
  store_.SetNoSpaceAfterBytes(10);
  EXPECT_TRUE(store_.Put("a", "123456").ok());
  Status full = store_.Put("b", "12345");
  EXPECT_EQ(full.code(), ErrorCode::kNoSpace) << full.ToString();
  EXPECT_NE(full.ToString().find("HINT:"), std::string::npos);
  EXPECT_EQ(mem_.Get("b").status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_.Put("c", "1234").ok());  // still fits
  EXPECT_EQ(store_.Put("d", "1").code(), ErrorCode::kNoSpace);
  EXPECT_EQ(store_.KeysWritten(), (Keys{"a", "c"}));
}

TEST_F(FaultStoreTest, CrashDropsUnsyncedWritesAndRestoresOverwrittenOnes) {
  ASSERT_TRUE(store_.Put("config", "v1").ok());
  ASSERT_TRUE(store_.Put("snapshots/old", "s").ok());
  store_.SyncPoint();
  ASSERT_TRUE(store_.Put("data/ab/new", "pack").ok());
  ASSERT_TRUE(store_.Put("config", "v2").ok());
  ASSERT_TRUE(store_.Delete("snapshots/old").ok());
  EXPECT_EQ(store_.UnsyncedKeys(), (Keys{"config", "data/ab/new", "snapshots/old"}));
  ASSERT_TRUE(store_.SimulateCrash().ok());
  EXPECT_EQ(mem_.Get("config").value(), "v1");
  EXPECT_EQ(mem_.Get("data/ab/new").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(mem_.Get("snapshots/old").value(), "s");
  EXPECT_TRUE(store_.UnsyncedKeys().empty());
  // After a sync point, writes survive.
  ASSERT_TRUE(store_.Put("data/ab/new", "pack").ok());
  store_.SyncPoint();
  ASSERT_TRUE(store_.SimulateCrash().ok());
  EXPECT_EQ(mem_.Get("data/ab/new").value(), "pack");
}

TEST_F(FaultStoreTest, TornCrashLeavesHalfOfEachUnsyncedWrite) {
  ASSERT_TRUE(store_.Put("same", "unchanged").ok());
  store_.SyncPoint();
  ASSERT_TRUE(store_.Put("data/ab/p", "0123456789").ok());
  ASSERT_TRUE(store_.Put("same", "unchanged").ok());
  ASSERT_TRUE(store_.SimulateCrash(CrashMode::kTruncateUnsynced).ok());
  EXPECT_EQ(mem_.Get("data/ab/p").value(), "01234");
  EXPECT_EQ(mem_.Get("same").value(), "unchanged");
}

TEST_F(FaultStoreTest, CorruptsStartMiddleEndAndOffsets) {
  const std::string orig = "abcdefghij";
  for (CorruptWhere where : {CorruptWhere::kStart, CorruptWhere::kMiddle, CorruptWhere::kEnd}) {
    ASSERT_TRUE(mem_.Put("o", orig).ok());
    ASSERT_TRUE(store_.CorruptObject("o", where, 2).ok());
    const std::string got = mem_.Get("o").value();
    ASSERT_EQ(got.size(), orig.size());
    std::vector<size_t> changed;
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i] != orig[i]) changed.push_back(i);
    }
    const size_t first = where == CorruptWhere::kStart ? 0 : where == CorruptWhere::kMiddle ? 4 : 8;
    EXPECT_EQ(changed, (std::vector<size_t>{first, first + 1}));
  }
  ASSERT_TRUE(mem_.Put("o", orig).ok());
  ASSERT_TRUE(store_.CorruptObjectAt("o", 7).ok());
  EXPECT_NE(mem_.Get("o").value()[7], 'h');
  EXPECT_EQ(store_.CorruptObjectAt("o", 10).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_.CorruptObject("missing", CorruptWhere::kStart).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_.counters().puts, 0u) << "damage bypasses the counters";
}

TEST_F(FaultStoreTest, CorruptOnReadLeavesTheStoredObjectIntact) {
  ASSERT_TRUE(store_.Put("data/ab/p", "0123456789").ok());
  ASSERT_TRUE(store_.Put("index/i", "0123456789").ok());
  store_.CorruptOnRead("data/");
  EXPECT_NE(store_.Get("data/ab/p").value(), "0123456789");
  EXPECT_EQ(store_.Get("data/ab/p", 2, 3).value().size(), 3u);
  EXPECT_NE(store_.Get("data/ab/p", 2, 3).value(), "234");
  EXPECT_EQ(store_.Get("index/i").value(), "0123456789");
  EXPECT_EQ(mem_.Get("data/ab/p").value(), "0123456789");
}

TEST_F(FaultStoreTest, TruncatesObjects) {
  ASSERT_TRUE(store_.Put("k", "0123456789").ok());
  ASSERT_TRUE(store_.TruncateObject("k", 4).ok());
  EXPECT_EQ(mem_.Get("k").value(), "0123");
  EXPECT_EQ(store_.TruncateObject("k", 5).code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(store_.TruncateObject("k", 0).ok());
  EXPECT_EQ(store_.Stat("k")->size, 0u);
}

TEST_F(FaultStoreTest, AddsLatencyToEveryCall) {
  store_.SetLatency(std::chrono::milliseconds(20));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(store_.Put("k", "v").ok());
  ASSERT_TRUE(store_.Get("k").ok());
  ASSERT_TRUE(store_.Stat("k").ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(60));
  store_.ClearFaults();
  const auto start2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(store_.Get("k").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start2, std::chrono::milliseconds(20));
}

TEST_F(FaultStoreTest, CountsCallsPerKindAndResets) {
  ASSERT_TRUE(store_.Put("a", "12").ok());
  ASSERT_TRUE(store_.Get("a").ok());
  ASSERT_TRUE(store_.Get("a", 1).ok());
  EXPECT_FALSE(store_.Stat("zz").ok());
  ASSERT_TRUE(store_.ListAll("").ok());
  ASSERT_TRUE(store_.Delete("a").ok());
  FaultCounters c = store_.counters();
  EXPECT_EQ(c.puts, 1u);
  EXPECT_EQ(c.gets, 2u);
  EXPECT_EQ(c.stats, 1u);
  EXPECT_EQ(c.lists, 1u);
  EXPECT_EQ(c.deletes, 1u);
  EXPECT_EQ(c.bytes_put, 2u);
  EXPECT_EQ(c.bytes_got, 3u);
  EXPECT_EQ(store_.KeysDeleted(), Keys{"a"});
  store_.ResetCounters();
  EXPECT_EQ(store_.counters().puts, 0u);
  EXPECT_TRUE(store_.KeysWritten().empty());
}

TEST_F(FaultStoreTest, ConcurrentFaultyPutsAreCountedExactly) {
  FaultRule rule;
  rule.skip = 10;
  rule.times = 25;
  store_.AddRule(rule);
  std::atomic<int> failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!store_.Put("k" + std::to_string(t) + "-" + std::to_string(i), "v").ok()) ++failed;
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(failed.load(), 25);
  EXPECT_EQ(store_.KeysWritten().size(), 175u);
  EXPECT_EQ(mem_.ObjectCount(), 175u);
}

TEST(FaultStoreOnLocalTest, CrashRestoresTheLocalFolderExactly) {
  TestDir dir;
  auto local = LocalStore::Open(dir.path()).value();
  FaultStore store(local.get());
  ASSERT_TRUE(store.Put("config", "c").ok());
  store.SyncPoint();
  ASSERT_TRUE(store.Put("data/ab/1", "p").ok());
  ASSERT_TRUE(store.Put("index/1", "i").ok());
  ASSERT_TRUE(store.SimulateCrash().ok());
  EXPECT_EQ(dir.Files(), std::vector<std::string>{"config"});
  EXPECT_EQ(store.Describe(), "fault(" + dir.path().string() + ")");
  EXPECT_TRUE(store.Capabilities().local_filesystem);
}

}  // namespace
}  // namespace vecsafe
