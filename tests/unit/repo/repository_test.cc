#include "vecsafe/repository.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "io/test_dir.h"
#include "repo/crypto.h"
#include "repo/lock.h"
#include "repo/repo_test_util.h"

namespace vecsafe {
namespace {

namespace fs = std::filesystem;
using testing::RandomBytesForTest;
using testing::SmallInit;
using testing::StoreState;
using testing::TestStore;

using Files = std::map<std::string, std::string>;

Result<Manifest> Backup(Repository* repo, const Files& files, const std::string& parent = "",
                        std::vector<std::string> tags = {}) {
  SnapshotSpec spec;
  spec.source_kind = "dir";
  spec.source = {{"path", "/data"}};
  spec.parent = parent;
  spec.tags = std::move(tags);
  VS_ASSIGN_OR_RETURN(auto b, repo->NewSnapshot(spec));
  VS_RETURN_IF_ERROR(
      b->AddDirectory({.path = "d", .mode = 0750, .mtime_ns = 1'600'000'000'000'000'000}));
  int64_t t = 1'700'000'000'123'456'789;
  for (const auto& [path, data] : files) {
    EntryMeta meta{
        .path = path, .mode = 0640, .mtime_ns = t, .size = data.size(), .inode = 7, .device = 1};
    VS_ASSIGN_OR_RETURN(bool reused, b->AddUnchangedFile(meta));
    if (reused) continue;
    VS_ASSIGN_OR_RETURN(auto sink, b->BeginFile(meta));
    // Odd piece sizes: chunking must not depend on them.
    for (size_t off = 0; off < data.size(); off += 7777) {
      VS_RETURN_IF_ERROR(sink->Append(std::string_view(data).substr(off, 7777)));
    }
    VS_ASSIGN_OR_RETURN(auto r, sink->Close());
    if (r.size != data.size()) return Internal("size mismatch");
  }
  return b->Commit();
}

std::string ReadAll(Repository* repo, const Manifest& m, const std::string& path) {
  auto r = repo->OpenFile(m, path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  std::string out;
  char buf[5000];
  while (true) {
    auto n = (*r)->Read(buf, sizeof(buf));
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok() || *n == 0) break;
    out.append(buf, *n);
  }
  return out;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

VerifyOptions ReadData() {
  VerifyOptions o;
  o.read_data = true;
  return o;
}

Files SampleFiles() {
  Files f;
  f["d/vectors.bin"] = RandomBytesForTest(300 * 1024, 1);
  f["d/empty"] = "";
  f["notes.txt"] = std::string(100 * 1024, 'x') + "tail";
  f["d/sub/small"] = "hello";
  return f;
}

class RepoTest : public ::testing::TestWithParam<Encryption> {
 protected:
  void SetUp() override {
    state_ = std::make_shared<StoreState>();
    auto r = Repository::Init(std::make_unique<TestStore>(state_), SmallInit(GetParam()));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo_ = std::move(*r);
    tmp_ = fs::temp_directory_path() /
           ("vecsafe_repo_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
  }
  void TearDown() override { fs::remove_all(tmp_); }

  std::unique_ptr<Repository> Reopen() {
    OpenOptions o;
    o.password = GetParam() == Encryption::kNone ? "" : "correct horse";
    auto r = Repository::Open(std::make_unique<TestStore>(state_), o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }

  size_t CountPrefix(const std::string& prefix) {
    std::lock_guard<std::mutex> lk(state_->mu);
    size_t n = 0;
    for (const auto& [k, v] : state_->objects) n += k.rfind(prefix, 0) == 0;
    return n;
  }

  static inline int counter_ = 0;
  std::shared_ptr<StoreState> state_;
  std::unique_ptr<Repository> repo_;
  fs::path tmp_;
};

TEST_P(RepoTest, BackupAndReadBackEveryFile) {
  Files files = SampleFiles();
  auto m = Backup(repo_.get(), files);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->id.size(), 64u);
  EXPECT_EQ(m->stats.files, files.size());
  EXPECT_GT(m->stats.packs_written, 1u);
  auto again = Reopen();
  ASSERT_TRUE(again);
  auto loaded = again->LoadSnapshot(m->ShortId());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->entries.size(), files.size() + 1);
  for (const auto& [path, data] : files)
    EXPECT_EQ(ReadAll(again.get(), *loaded, path), data) << path;
  const FileEntry* e = loaded->Find("notes.txt");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mode, 0640u);
  EXPECT_EQ(e->mtime_ns, 1'700'000'000'123'456'789);
  EXPECT_EQ(e->sha256, repo::HexEncode(repo::Sha256(files["notes.txt"])));
}

TEST_P(RepoTest, SecondBackupOfSameDataAddsNoChunks) {
  Files files = SampleFiles();
  auto first = Backup(repo_.get(), files);
  ASSERT_TRUE(first.ok());
  size_t packs = CountPrefix("data/");
  auto second = Backup(repo_.get(), files);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->stats.chunks_new, 0u);
  EXPECT_EQ(CountPrefix("data/"), packs);
  EXPECT_EQ(CountPrefix("snapshots/"), 2u);
}

TEST_P(RepoTest, DuplicateContentWithinOneBackupIsStoredOnce) {
  Files files;
  std::string blob = RandomBytesForTest(200 * 1024, 9);
  files["a"] = blob;
  files["b"] = blob;
  auto m = Backup(repo_.get(), files);
  ASSERT_TRUE(m.ok());
  EXPECT_LT(m->stats.bytes_new_raw, blob.size() + 20000);
  EXPECT_EQ(m->Find("a")->chunks, m->Find("b")->chunks);
}

TEST_P(RepoTest, FileCacheReusesUnchangedFilesWithoutReading) {
  Files files = SampleFiles();
  auto first = Backup(repo_.get(), files);
  ASSERT_TRUE(first.ok());
  auto second = Backup(repo_.get(), files, first->id);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->stats.files_unchanged, files.size());
  EXPECT_EQ(second->stats.bytes_read, 0u);
  EXPECT_EQ(second->parent, first->id);
  for (const auto& [path, data] : files) EXPECT_EQ(ReadAll(repo_.get(), *second, path), data);
}

TEST_P(RepoTest, RestoreIsBitExactWithModesAndTimes) {
  Files files = SampleFiles();
  auto m = Backup(repo_.get(), files);
  ASSERT_TRUE(m.ok());
  fs::path target = tmp_ / "out";
  auto r = repo_->RestoreToDirectory(*m, target.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files, files.size());
  for (const auto& [path, data] : files) EXPECT_EQ(Slurp(target / path), data) << path;
  struct stat st {};
  ASSERT_EQ(::stat((target / "notes.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'700'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123'456'789);
  ASSERT_EQ(::stat((target / "d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'600'000'000);
  // No temporary folder survives.
  for (const auto& e : fs::directory_iterator(tmp_)) EXPECT_EQ(e.path().filename(), "out");
}

TEST_P(RepoTest, RestoreSyncsEveryFileBeforeItIsInPlace) {
  Files files = SampleFiles();
  files["d/big.bin"] = RandomBytesForTest(4 << 20, 9);
  auto m = Backup(repo_.get(), files);
  ASSERT_TRUE(m.ok());
  // The control: without sync the restored pages are still only in memory.
  RestoreOptions o;
  o.sync = false;
  ASSERT_TRUE(repo_->RestoreToDirectory(*m, (tmp_ / "unsynced").string(), o).ok());
  const size_t unsynced = UnwrittenPagesForTest(tmp_ / "unsynced/d/big.bin");
  if (unsynced == SIZE_MAX) {
    GTEST_SKIP() << "page flags cannot be read here (not root, or tmpfs)";
  }
  if (unsynced == 0) {
    GTEST_SKIP() << "the kernel wrote the control back before it was looked at";
  }
  o.sync = true;
  fs::path target = tmp_ / "synced";
  ASSERT_TRUE(repo_->RestoreToDirectory(*m, target.string(), o).ok());
  for (const auto& [path, data] : files) {
    EXPECT_EQ(Slurp(target / path), data) << path;
    if (!data.empty()) {
      EXPECT_EQ(UnwrittenPagesForTest(target / path), 0u) << path;
    }
  }
  struct stat st {};
  ASSERT_EQ(::stat((target / "d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);  // mode and mtime set through the synced descriptor
  EXPECT_EQ(st.st_mtim.tv_sec, 1'600'000'000);
}

TEST_P(RepoTest, RestoreAndExportTakeASharedLockThatAPruneWaitsFor) {
  auto m = Backup(repo_.get(), SampleFiles());
  ASSERT_TRUE(m.ok());
  TestStore other(state_);
  {
    repo::LockRequest req;
    req.mode = LockMode::kExclusive;
    req.operation = "prune";
    auto held = repo::AcquireLock(&other, req);
    ASSERT_TRUE(held.ok()) << held.status().ToString();
    auto r = repo_->RestoreToDirectory(*m, (tmp_ / "out").string());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kLocked) << r.status().ToString();
    EXPECT_NE(r.status().message().find("prune"), std::string::npos) << r.status().ToString();
    EXPECT_EQ(repo_->ExportTar(*m, (tmp_ / "x.tar").string()).code(), ErrorCode::kLocked);
    EXPECT_EQ(std::distance(fs::directory_iterator(tmp_), fs::directory_iterator()), 0);
  }
  // While a restore holds its shared lock, an exclusive one is refused.
  std::atomic<bool> refused{false};
  RestoreOptions o;
  o.progress = [&](uint64_t, uint64_t) {
    repo::LockRequest req;
    req.mode = LockMode::kExclusive;
    req.operation = "prune";
    auto l = repo::AcquireLock(&other, req);
    if (!l.ok() && l.status().code() == ErrorCode::kLocked) refused = true;
  };
  ASSERT_TRUE(repo_->RestoreToDirectory(*m, (tmp_ / "out").string(), o).ok());
  EXPECT_TRUE(refused.load());
  // Afterwards the lock is gone.
  auto locks = repo_->ListLocks();
  ASSERT_TRUE(locks.ok());
  EXPECT_TRUE(locks->empty());
}

TEST_P(RepoTest, RestoreOfASnapshotForgottenSinceItWasLoadedIsNotFound) {
  auto m = Backup(repo_.get(), SampleFiles());
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(repo_->RemoveSnapshots({m->id}).ok());
  auto r = repo_->RestoreToDirectory(*m, (tmp_ / "out").string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().hint().find("vecsafe snapshots"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp_ / "out"));
}

TEST_P(RepoTest, RestoreRefusesNonEmptyTargetAndChangesNothing) {
  auto m = Backup(repo_.get(), SampleFiles());
  ASSERT_TRUE(m.ok());
  fs::path target = tmp_ / "busy";
  fs::create_directories(target);
  std::ofstream(target / "keep.txt") << "mine";
  auto r = repo_->RestoreToDirectory(*m, target.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(r.status().hint().find("--in-place"), std::string::npos);
  EXPECT_EQ(Slurp(target / "keep.txt"), "mine");
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp_), fs::directory_iterator()), 1);
}

TEST_P(RepoTest, RestoreOfDamagedDataFailsAndLeavesNoTree) {
  // Plaintext, a chunk is re-hashed against its id; encrypted, its AES-GCM tag
  // (sealed over the id as associated data) refuses it. Either way, nothing lands.
  auto m = Backup(repo_.get(), {{"v.bin", RandomBytesForTest(300 * 1024, 5)}});
  ASSERT_TRUE(m.ok());
  size_t damaged = 0;
  {
    std::lock_guard<std::mutex> lk(state_->mu);
    for (auto& [key, bytes] : state_->objects) {
      if (key.rfind("data/", 0) != 0) continue;
      bytes[bytes.size() / 3] ^= 0x40;  // inside a blob, far from the trailer
      ++damaged;
    }
  }
  ASSERT_GT(damaged, 0u);
  auto r = repo_->RestoreToDirectory(*m, (tmp_ / "out").string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kDataLoss) << r.status().ToString();
  EXPECT_NE(r.status().message().find("v.bin"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp_), fs::directory_iterator()), 0);
}

TEST_P(RepoTest, RestoreInPlaceMovesOldFolderAside) {
  Files files = SampleFiles();
  auto m = Backup(repo_.get(), files);
  ASSERT_TRUE(m.ok());
  fs::path target = tmp_ / "db";
  fs::create_directories(target);
  std::ofstream(target / "old.txt") << "old";
  RestoreOptions o;
  o.in_place = true;
  auto r = repo_->RestoreToDirectory(*m, target.string(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(fs::exists(target / "old.txt"));
  EXPECT_EQ(Slurp(target / "d/vectors.bin"), files["d/vectors.bin"]);
  ASSERT_FALSE(r->moved_aside.empty());
  EXPECT_NE(r->moved_aside.find("db.vecsafe-old-"), std::string::npos);
  EXPECT_EQ(Slurp(fs::path(r->moved_aside) / "old.txt"), "old");
}

TEST_P(RepoTest, RestoreOverwriteKeepsOtherFiles) {
  Files files = SampleFiles();
  auto m = Backup(repo_.get(), files);
  ASSERT_TRUE(m.ok());
  fs::path target = tmp_ / "t";
  fs::create_directories(target / "d");
  std::ofstream(target / "other") << "other";
  std::ofstream(target / "notes.txt") << "stale";
  RestoreOptions o;
  o.overwrite = true;
  ASSERT_TRUE(repo_->RestoreToDirectory(*m, target.string(), o).ok());
  EXPECT_EQ(Slurp(target / "other"), "other");
  EXPECT_EQ(Slurp(target / "notes.txt"), files["notes.txt"]);
  EXPECT_EQ(Slurp(target / "d/sub/small"), "hello");
}

TEST_P(RepoTest, RestoreSubsetByPrefix) {
  Files files = SampleFiles();
  auto m = Backup(repo_.get(), files);
  ASSERT_TRUE(m.ok());
  RestoreOptions o;
  o.path_prefix = "d/sub";
  fs::path target = tmp_ / "sub";
  ASSERT_TRUE(repo_->RestoreToDirectory(*m, target.string(), o).ok());
  EXPECT_EQ(Slurp(target / "d/sub/small"), "hello");
  EXPECT_FALSE(fs::exists(target / "notes.txt"));
  o.path_prefix = "nope";
  EXPECT_EQ(repo_->RestoreToDirectory(*m, (tmp_ / "x").string(), o).status().code(),
            ErrorCode::kNotFound);
}

TEST_P(RepoTest, ExportTarHoldsEveryFile) {
  Files files = SampleFiles();
  auto m = Backup(repo_.get(), files);
  ASSERT_TRUE(m.ok());
  fs::path out = tmp_ / "snap.tar";
  ASSERT_TRUE(repo_->ExportTar(*m, out.string()).ok());
  archive* a = archive_read_new();
  archive_read_support_format_all(a);
  ASSERT_EQ(archive_read_open_filename(a, out.c_str(), 65536), ARCHIVE_OK);
  archive_entry* e;
  Files seen;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
    if (!data.empty()) {
      ASSERT_EQ(archive_read_data(a, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    }
    seen[archive_entry_pathname(e)] = data;
  }
  archive_read_free(a);
  EXPECT_EQ(seen, files);
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp_), fs::directory_iterator()), 1);
}

TEST_P(RepoTest, UnknownAndAmbiguousSnapshotIds) {
  EXPECT_EQ(repo_->LoadSnapshot("deadbeef").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(repo_->LoadSnapshot("xyz!").status().code(), ErrorCode::kInvalidArgument);
  auto m = Backup(repo_.get(), {{"f", "x"}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(repo_->LoadSnapshot(m->ShortId()).value().id, m->id);
  {
    std::lock_guard<std::mutex> lk(state_->mu);
    state_->objects["snapshots/abcd" + std::string(60, '0')] = "x";
    state_->objects["snapshots/abcd" + std::string(60, '1')] = "y";
  }
  auto amb = repo_->LoadSnapshot("abcd");
  EXPECT_EQ(amb.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(amb.status().message().find("ambiguous"), std::string::npos);
  // A damaged manifest: clear error naming it, listing skips it.
  auto bad = repo_->LoadSnapshot("abcd0000");
  EXPECT_EQ(bad.status().code(), ErrorCode::kDataLoss);
  EXPECT_NE(bad.status().message().find("snapshots/abcd0000"), std::string::npos);
  std::vector<std::string> skipped;
  auto all = repo_->ListSnapshots(&skipped);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
  EXPECT_EQ(skipped.size(), 2u);
}

TEST_P(RepoTest, ForgetKeepLastThenPruneKeepsRemainingRestorable) {
  std::vector<Manifest> snaps;
  Files files;
  std::string shared = RandomBytesForTest(90 * 1024, 99);
  for (int i = 0; i < 5; ++i) {
    files["f" + std::to_string(i)] = RandomBytesForTest(150 * 1024, 100 + i);
    Files one = {{"shared", shared}, {"f" + std::to_string(i), files["f" + std::to_string(i)]}};
    files["shared"] = shared;
    auto m = Backup(repo_.get(), one);
    ASSERT_TRUE(m.ok());
    snaps.push_back(*m);
  }
  ForgetOptions fo;
  fo.policy.keep_last = 2;
  auto fr = repo_->Forget(fo);
  ASSERT_TRUE(fr.ok()) << fr.status().ToString();
  EXPECT_EQ(fr->removed, 3u);
  uint64_t before = state_->objects.size();
  PruneOptions po;
  po.repack_unused_fraction = 0.0;
  auto pr = repo_->Prune(po);
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  EXPECT_GT(pr->packs_deleted + pr->packs_repacked, 0u);
  EXPECT_LE(state_->objects.size(), before);
  auto again = Reopen();
  for (int i = 3; i < 5; ++i) {
    auto m = again->LoadSnapshot(snaps[i].id);
    ASSERT_TRUE(m.ok());
    for (const auto& e : m->entries) {
      if (e.type == EntryType::kFile) {
        EXPECT_EQ(ReadAll(again.get(), *m, e.path), files[e.path]);
      }
    }
  }
  auto v = again->Verify(ReadData());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok()) << v->problems.front().detail;
  EXPECT_EQ(again->LoadSnapshot(snaps[0].id).status().code(), ErrorCode::kNotFound);
}

TEST_P(RepoTest, RestoreAfterAnotherProcessRepackedReadsTheNewIndex) {
  // Two snapshots share packs; once the first is forgotten and its data
  // repacked by another handle, this handle's index names packs that are gone.
  Files a = {{"a", RandomBytesForTest(200 * 1024, 41)},
             {"keep", RandomBytesForTest(200 * 1024, 42)}};
  auto ma = Backup(repo_.get(), a);
  ASSERT_TRUE(ma.ok());
  Files b = {{"keep", a["keep"]}};
  auto mb = Backup(repo_.get(), b);
  ASSERT_TRUE(mb.ok());
  auto other = Reopen();
  ASSERT_TRUE(other->RemoveSnapshots({ma->id}).ok());
  PruneOptions po;
  po.repack_unused_fraction = 0.0;
  auto pr = other->Prune(po);
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  ASSERT_GT(pr->packs_repacked + pr->packs_deleted, 0u);
  fs::path target = tmp_ / "out";
  auto r = repo_->RestoreToDirectory(*mb, target.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Slurp(target / "keep"), a["keep"]);
}

// Pages rewritten in place (256 bytes: a sixteenth of the small test chunks)
// and a tail appended, the shape of an HNSW flush.
std::string RewritePages(std::string data, int pages, uint64_t seed) {
  for (int i = 0; i < pages; ++i) {
    const size_t at = (static_cast<size_t>(i) * 7919 * 256 + 4096) % (data.size() - 256);
    data.replace(at, 256, RandomBytesForTest(256, seed + static_cast<uint64_t>(i)));
  }
  return data + RandomBytesForTest(3000, seed + 1000);
}

TEST_P(RepoTest, ChangedPagesAreStoredAsDeltasAndEveryVersionReadsBack) {
  Files v1 = {{"d/hnsw.bin", RandomBytesForTest(1 << 20, 5)}, {"notes.txt", "one"}};
  auto m1 = Backup(repo_.get(), v1);
  ASSERT_TRUE(m1.ok()) << m1.status().ToString();
  EXPECT_EQ(m1->stats.chunks_delta, 0u);  // nothing to be a delta of
  Files v2 = {{"d/hnsw.bin", RewritePages(v1["d/hnsw.bin"], 20, 50)}, {"notes.txt", "two"}};
  auto m2 = Backup(repo_.get(), v2, m1->id);
  ASSERT_TRUE(m2.ok()) << m2.status().ToString();
  EXPECT_GE(m2->stats.chunks_delta, 15u);  // ~20 pages, some two to a chunk
  // The rewritten chunks cost about their 256 new bytes each, not ~4 KiB.
  EXPECT_LT(m2->stats.bytes_new_stored * 2, m2->stats.bytes_new_raw)
      << m2->stats.bytes_new_stored << " of " << m2->stats.bytes_new_raw;
  // A third generation: deltas of deltas are taken against the first base.
  Files v3 = {{"d/hnsw.bin", RewritePages(v2["d/hnsw.bin"], 20, 90)}, {"notes.txt", "three"}};
  auto m3 = Backup(repo_.get(), v3, m2->id);
  ASSERT_TRUE(m3.ok()) << m3.status().ToString();
  EXPECT_GT(m3->stats.chunks_delta, 0u);
  auto reopened = Reopen();  // the index as read back from its objects
  ASSERT_NE(reopened, nullptr);
  for (auto* repo : {repo_.get(), reopened.get()}) {
    EXPECT_TRUE(ReadAll(repo, *m1, "d/hnsw.bin") == v1["d/hnsw.bin"]);
    EXPECT_TRUE(ReadAll(repo, *m2, "d/hnsw.bin") == v2["d/hnsw.bin"]);
    EXPECT_TRUE(ReadAll(repo, *m3, "d/hnsw.bin") == v3["d/hnsw.bin"]);
  }
  fs::path target = tmp_ / "out";
  auto r = repo_->RestoreToDirectory(*m3, target.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Slurp(target / "d/hnsw.bin") == v3["d/hnsw.bin"]);
  for (bool by_file : {false, true}) {
    VerifyOptions o = ReadData();
    o.read_files = by_file;
    auto v = repo_->Verify(o);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->ok()) << v->problems.front().id << ": " << v->problems.front().detail;
  }
  // Forget the first two versions: their chunks that later deltas read stay.
  ASSERT_TRUE(repo_->RemoveSnapshots({m1->id, m2->id}).ok());
  PruneOptions po;
  po.repack_unused_fraction = 0.0;  // repack every pack that lost anything
  auto pr = repo_->Prune(po);
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  EXPECT_GT(pr->chunks_removed, 0u);
  auto again = Reopen();
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(ReadAll(again.get(), *m3, "d/hnsw.bin") == v3["d/hnsw.bin"]);
  auto v = again->Verify(ReadData());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok()) << v->problems.front().id << ": " << v->problems.front().detail;
  // Once nothing reads them, prune removes the bases too.
  ASSERT_TRUE(again->RemoveSnapshots({m3->id}).ok());
  auto empty = again->Prune(po);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(CountPrefix("data/"), 0u);
}

TEST_P(RepoTest, AFullyRewrittenFileIsStoredWhole) {
  // Every chunk differs from the parent's version: the few deltas tried fail
  // (none would save half), and the file is stored as if new.
  Files v1 = {{"f.bin", RandomBytesForTest(512 * 1024, 7)}};
  auto m1 = Backup(repo_.get(), v1);
  ASSERT_TRUE(m1.ok());
  // One byte longer, or the file cache (same size, mtime and inode) keeps v1.
  Files v2 = {{"f.bin", RandomBytesForTest(512 * 1024 + 1, 8)}};
  auto m2 = Backup(repo_.get(), v2, m1->id);
  ASSERT_TRUE(m2.ok()) << m2.status().ToString();
  EXPECT_EQ(m2->stats.chunks_delta, 0u);
  EXPECT_GE(m2->stats.bytes_new_stored, m2->stats.bytes_new_raw);
  EXPECT_TRUE(ReadAll(repo_.get(), *m2, "f.bin") == v2["f.bin"]);
}

TEST_P(RepoTest, InterruptedBackupLeavesRepositoryValidAndPruneCleansUp) {
  auto first = Backup(repo_.get(), SampleFiles());
  ASSERT_TRUE(first.ok());
  {
    SnapshotSpec spec;
    spec.source_kind = "dir";
    auto b = repo_->NewSnapshot(spec);
    ASSERT_TRUE(b.ok());
    auto sink = (*b)->BeginFile({.path = "big"});
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE((*sink)->Append(RandomBytesForTest(500 * 1024, 42)).ok());
    ASSERT_TRUE((*sink)->Close().ok());
    // Dropped without Commit(): packs may exist, no snapshot, no index.
  }
  EXPECT_EQ(CountPrefix("snapshots/"), 1u);
  EXPECT_EQ(CountPrefix("locks/"), 0u);
  auto v = repo_->Verify(ReadData());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok());
  auto pr = repo_->Prune({});
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  auto again = Reopen();
  auto m = again->LoadSnapshot(first->id);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(ReadAll(again.get(), *m, "d/vectors.bin"), SampleFiles()["d/vectors.bin"]);
}

INSTANTIATE_TEST_SUITE_P(AllEncryptions, RepoTest,
                         ::testing::Values(Encryption::kNone, Encryption::kAes256Gcm),
                         [](const ::testing::TestParamInfo<Encryption>& p) {
                           return p.param == Encryption::kNone ? std::string("Plain")
                                                               : std::string("Encrypted");
                         });

TEST(RepoOpenTest, WrongPasswordIsUnauthenticated) {
  auto state = std::make_shared<StoreState>();
  ASSERT_TRUE(
      Repository::Init(std::make_unique<TestStore>(state), SmallInit(Encryption::kAes256Gcm)).ok());
  OpenOptions o;
  o.password = "wrong";
  EXPECT_EQ(Repository::Open(std::make_unique<TestStore>(state), o).status().code(),
            ErrorCode::kUnauthenticated);
  o.password = "";
  EXPECT_EQ(Repository::Open(std::make_unique<TestStore>(state), o).status().code(),
            ErrorCode::kUnauthenticated);
}

TEST(RepoOpenTest, MissingRepositoryAndDoubleInit) {
  auto state = std::make_shared<StoreState>();
  EXPECT_EQ(Repository::Open(std::make_unique<TestStore>(state), {}).status().code(),
            ErrorCode::kRepoNotFound);
  ASSERT_TRUE(Repository::Init(std::make_unique<TestStore>(state), SmallInit()).ok());
  EXPECT_EQ(Repository::Init(std::make_unique<TestStore>(state), SmallInit()).status().code(),
            ErrorCode::kAlreadyExists);
}

}  // namespace
}  // namespace vecsafe
