#include "io/local/local_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "io/atomic_file.h"
#include "io/object_store_conformance.h"
#include "io/test_dir.h"

namespace vecsafe {
namespace {

namespace fs = std::filesystem;

// Keeps each conformance test's folder alive for the test, then removes it.
Result<std::unique_ptr<ObjectStore>> MakeLocal() {
  static std::mutex mu;
  static std::vector<std::unique_ptr<TestDir>> dirs;
  std::lock_guard<std::mutex> lock(mu);
  dirs.push_back(std::make_unique<TestDir>());
  VS_ASSIGN_OR_RETURN(auto store, LocalStore::Open(dirs.back()->path() / "repo"));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

INSTANTIATE_TEST_SUITE_P(Local, ObjectStoreConformanceTest,
                         ::testing::Values(ConformanceTarget{"local", MakeLocal,
                                                             /*large_object_bytes=*/8u << 20,
                                                             /*threads=*/8,
                                                             /*many_objects=*/300}),
                         ConformanceTargetName);

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = LocalStore::Open(dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  TestDir dir_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, KeysMapToFilesAndNoTemporaryFilesSurvive) {
  ASSERT_TRUE(store_->Put("config", "c").ok());
  ASSERT_TRUE(store_->Put("data/ab/ab12", "pack").ok());
  PutOptions once;
  once.if_absent = true;
  ASSERT_TRUE(store_->Put("locks/l1", "lock", once).ok());
  EXPECT_EQ(store_->Put("locks/l1", "again", once).code(), ErrorCode::kAlreadyExists);
  std::vector<std::string> files = dir_.Files();
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"config", "data/ab/ab12", "locks/l1"}));
  EXPECT_EQ(ReadWholeFile(dir_.path() / "data/ab/ab12").value(), "pack");
  EXPECT_TRUE(store_->Capabilities().local_filesystem);
  EXPECT_TRUE(store_->Capabilities().conditional_put);
  EXPECT_EQ(store_->Describe(), dir_.path().string());
}

// With drop_written_packs, packs (1 MiB and up) leave the page cache once
// durable; small objects (index, manifests, locks), read again soon, stay.
// Whole-pack reads drop what they brought in. By default packs stay cached.
TEST_F(LocalStoreTest, DroppedPacksLeaveThePageCacheSmallObjectsStay) {
  LocalStoreOptions options;
  options.drop_written_packs = true;
  auto dropping = LocalStore::Open(dir_.path() / "dropping", options);
  ASSERT_TRUE(dropping.ok());
  std::string pack(3u << 20, 'p');
  for (size_t i = 0; i < pack.size(); i += 4096) pack[i] = static_cast<char>(i >> 12);
  ASSERT_TRUE((*dropping)->Put("data/aa/pack", pack).ok());
  ASSERT_TRUE((*dropping)->Put("index/small", std::string(64 << 10, 'i')).ok());
  ASSERT_TRUE(store_->Put("data/aa/kept", pack).ok());
  const fs::path root = dir_.path() / "dropping";
  const size_t pack_pages = ResidentPagesForTest(root / "data/aa/pack");
  ASSERT_NE(pack_pages, SIZE_MAX);
  if (pack_pages > 96) GTEST_SKIP() << "this filesystem ignores POSIX_FADV_DONTNEED";
  EXPECT_EQ(ResidentPagesForTest(root / "index/small"), size_t{16});
  EXPECT_EQ(ResidentPagesForTest(dir_.path() / "data/aa/kept"), size_t{768});
  std::string got;
  ASSERT_TRUE((*dropping)->GetInto("data/aa/pack", 0, kToEnd, &got).ok());
  EXPECT_TRUE(got == pack);
  EXPECT_LE(ResidentPagesForTest(root / "data/aa/pack"), size_t{96});
  EXPECT_EQ((*dropping)->Get("index/small").value(), std::string(64 << 10, 'i'));
  EXPECT_EQ(ResidentPagesForTest(root / "index/small"), size_t{16});
  // A cached pack read whole stays cached.
  ASSERT_TRUE(store_->GetInto("data/aa/kept", 0, kToEnd, &got).ok());
  EXPECT_TRUE(got == pack);
  EXPECT_EQ(ResidentPagesForTest(dir_.path() / "data/aa/kept"), size_t{768});
}

TEST_F(LocalStoreTest, OpeningCreatesNothingAndAMissingRootReadsAsEmpty) {
  const fs::path root = dir_.path() / "not" / "yet";
  auto store = LocalStore::Open(root).value();
  EXPECT_FALSE(fs::exists(root));
  EXPECT_EQ(store->Get("config").status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store->ListAll("").value().empty());
  EXPECT_TRUE(store->Delete("config").ok());
  EXPECT_FALSE(fs::exists(root));
  ASSERT_TRUE(store->Put("config", "x").ok());
  EXPECT_TRUE(fs::exists(root / "config"));
}

TEST_F(LocalStoreTest, RootThatIsAFileIsRefused) {
  std::ofstream(dir_.path() / "file") << "x";
  auto store = LocalStore::Open(dir_.path() / "file");
  EXPECT_EQ(store.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(LocalStore::Open("").status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(LocalStoreTest, RelativeRootIsMadeAbsolute) {
  auto store = LocalStore::Open("some/relative/../repo").value();
  EXPECT_TRUE(store->root().is_absolute());
  EXPECT_EQ(store->root(), fs::current_path() / "some" / "repo");
}

TEST_F(LocalStoreTest, ListIgnoresTemporaryFilesAndKeysCannotUseTheirPrefix) {
  ASSERT_TRUE(store_->Put("data/ab/real", "x").ok());
  std::ofstream(dir_.path() / "data" / "ab" / (MakeTemporaryFileName())) << "half a pack";
  std::ofstream(dir_.path() / (MakeTemporaryFileName())) << "half a config";
  auto all = store_->ListAll("").value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key, "data/ab/real");
  EXPECT_EQ(store_->Put(".tmp-vecsafe-x", "y").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->Put("data/.tmp-vecsafe-x/y", "y").code(), ErrorCode::kInvalidArgument);
}

TEST_F(LocalStoreTest, CleanupRemovesOnlyOldTemporaryFiles) {
  ASSERT_TRUE(store_->Put("data/ab/real", "x").ok());
  const fs::path old_tmp = dir_.path() / "data" / "ab" / MakeTemporaryFileName();
  const fs::path young_tmp = dir_.path() / "data" / MakeTemporaryFileName();
  std::ofstream(old_tmp) << "crashed writer";
  std::ofstream(young_tmp) << "writer in progress";
  fs::last_write_time(old_tmp, fs::file_time_type::clock::now() - std::chrono::hours(3));
  EXPECT_EQ(store_->CleanupTemporaryFiles().value(), 1u);
  EXPECT_FALSE(fs::exists(old_tmp));
  EXPECT_TRUE(fs::exists(young_tmp));
  EXPECT_EQ(store_->CleanupTemporaryFiles(std::chrono::seconds(0)).value(), 1u);
  EXPECT_EQ(dir_.Files(), std::vector<std::string>{"data/ab/real"});
}

TEST_F(LocalStoreTest, DeleteRemovesEmptyFanOutFoldersButKeepsTopLevel) {
  ASSERT_TRUE(store_->Put("data/ab/one", "1").ok());
  ASSERT_TRUE(store_->Put("data/ab/two", "2").ok());
  ASSERT_TRUE(store_->Put("data/cd/three", "3").ok());
  ASSERT_TRUE(store_->Delete("data/ab/one").ok());
  EXPECT_TRUE(fs::is_directory(dir_.path() / "data" / "ab"));  // still holds "two"
  ASSERT_TRUE(store_->Delete("data/ab/two").ok());
  EXPECT_FALSE(fs::exists(dir_.path() / "data" / "ab"));
  EXPECT_TRUE(fs::is_directory(dir_.path() / "data" / "cd"));
  ASSERT_TRUE(store_->Delete("data/cd/three").ok());
  EXPECT_TRUE(fs::is_directory(dir_.path() / "data"));
  EXPECT_TRUE(fs::is_empty(dir_.path() / "data"));
}

TEST_F(LocalStoreTest, DeletingAFolderNameIsRefused) {
  ASSERT_TRUE(store_->Put("data/ab/one", "1").ok());
  EXPECT_EQ(store_->Delete("data/ab").code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(store_->Stat("data/ab/one").ok());
}

TEST_F(LocalStoreTest, ConcurrentPutsAndDeletesInOneFanOutFolderNeverFail) {
  // Deleting the last object of a folder removes the folder while other
  // threads write into it: their writes must retry, not fail.
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string key = "data/ab/t" + std::to_string(t);
        Status put = store_->Put(key, "x");
        EXPECT_TRUE(put.ok()) << put.ToString();
        if (!put.ok()) ++failures;
        Status del = store_->Delete(key);
        EXPECT_TRUE(del.ok()) << del.ToString();
        if (!del.ok()) ++failures;
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(store_->ListAll("").value().empty());
}

TEST_F(LocalStoreTest, UnreadableFolderIsPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores permission bits";
  ASSERT_TRUE(store_->Put("data/ab/one", "1").ok());
  fs::permissions(dir_.path() / "data" / "ab", fs::perms::none);
  Status s = store_->List("data/", [](const ObjectInfo&) { return Status::OK(); });
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied) << s.ToString();
  EXPECT_EQ(store_->Put("data/ab/two", "2").code(), ErrorCode::kPermissionDenied);
  fs::permissions(dir_.path() / "data" / "ab", fs::perms::owner_all);
}

TEST_F(LocalStoreTest, ReadOnlyFileSystemErrorsMapToPermissionDenied) {
  // /proc/self is not writable by anyone, root included.
  auto store = LocalStore::Open("/proc/self").value();
  Status s = store->Put("vecsafe-test-object", "x");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.code() == ErrorCode::kPermissionDenied || s.code() == ErrorCode::kNotFound ||
              s.code() == ErrorCode::kIoError)
      << s.ToString();
  EXPECT_NE(s.ToString().find("HINT:"), std::string::npos);
}

}  // namespace
}  // namespace vecsafe
