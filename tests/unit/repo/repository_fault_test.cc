// Fault injection and damage: the repository must fail clearly or complete,
// never corrupt earlier snapshots, and verify must find every damage and name
// the files it hurts.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "io/fault_store.h"
#include "io/memory_store.h"
#include "repo/blob_codec.h"
#include "repo/crypto.h"
#include "repo/pack.h"
#include "repo/repo_test_util.h"
#include "vecsafe/repository.h"

namespace vecsafe {
namespace {

using testing::RandomBytesForTest;
using testing::SmallInit;
using Files = std::map<std::string, std::string>;

Result<Manifest> BackupFiles(Repository* repo, const Files& files) {
  SnapshotSpec spec;
  spec.source_kind = "dir";
  spec.source = {{"path", "/src"}};
  VS_ASSIGN_OR_RETURN(auto b, repo->NewSnapshot(spec));
  for (const auto& [path, data] : files) {
    EntryMeta meta;
    meta.path = path;
    meta.size = data.size();
    VS_ASSIGN_OR_RETURN(auto sink, b->BeginFile(meta));
    VS_RETURN_IF_ERROR(sink->Append(data));
    VS_RETURN_IF_ERROR(sink->Close().status());
  }
  return b->Commit();
}

Result<std::string> ReadFile(Repository* repo, const Manifest& m, const std::string& path) {
  VS_ASSIGN_OR_RETURN(auto r, repo->OpenFile(m, path));
  std::string out;
  std::string buf(65536, '\0');
  while (true) {
    VS_ASSIGN_OR_RETURN(size_t n, r->Read(buf.data(), buf.size()));
    if (n == 0) break;
    out.append(buf.data(), n);
  }
  return out;
}

VerifyOptions ReadData() {
  VerifyOptions o;
  o.read_data = true;
  return o;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = std::make_shared<MemoryStore>("fault-test");
    fault_ = std::make_shared<FaultStore>(mem_.get());
    auto r = Repository::Init(std::make_unique<SharedStoreHandle>(fault_), SmallInit());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo_ = std::move(*r);
    first_files_ = {{"a/vectors.bin", RandomBytesForTest(200 * 1024, 1)},
                    {"a/meta.json", std::string(30000, '{')},
                    {"b/other.bin", RandomBytesForTest(150 * 1024, 2)}};
    auto m = BackupFiles(repo_.get(), first_files_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    first_ = *m;
    fault_->SyncPoint();
  }

  std::unique_ptr<Repository> Reopen(OpenOptions o = {}) {
    auto r = Repository::Open(std::make_unique<SharedStoreHandle>(fault_), o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }

  void ExpectFirstSnapshotIntact() {
    auto repo = Reopen();
    ASSERT_TRUE(repo);
    auto m = repo->LoadSnapshot(first_.id);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    for (const auto& [path, data] : first_files_) {
      auto got = ReadFile(repo.get(), *m, path);
      ASSERT_TRUE(got.ok()) << path << ": " << got.status().ToString();
      EXPECT_EQ(*got, data) << path;
    }
  }

  std::vector<std::string> Keys(const std::string& prefix) {
    std::vector<std::string> out;
    auto all = mem_->ListAll(prefix);
    for (const auto& o : *all) out.push_back(o.key);
    return out;
  }

  std::shared_ptr<MemoryStore> mem_;
  std::shared_ptr<FaultStore> fault_;
  std::unique_ptr<Repository> repo_;
  Files first_files_;
  Manifest first_;
};

Files SecondFiles() {
  return {{"c/new.bin", RandomBytesForTest(400 * 1024, 3)}, {"c/t.txt", std::string(5000, 'q')}};
}

TEST_F(FaultTest, FailedPackWriteFailsTheBackupClearly) {
  fault_->FailPutsWithPrefix("data/", IoError("injected write failure"));
  auto m = BackupFiles(repo_.get(), SecondFiles());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kIoError);
  EXPECT_NE(m.status().message().find("pack"), std::string::npos) << m.status().message();
  fault_->ClearFaults();
  EXPECT_EQ(Keys("snapshots/").size(), 1u);
  EXPECT_EQ(Keys("locks/").size(), 0u);
  ExpectFirstSnapshotIntact();
  auto v = Reopen()->Verify(ReadData());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok());
  // The next backup and prune work.
  ASSERT_TRUE(BackupFiles(repo_.get(), SecondFiles()).ok());
  ASSERT_TRUE(repo_->Prune({}).ok());
  ExpectFirstSnapshotIntact();
}

TEST_F(FaultTest, FailedManifestWriteLeavesNoSnapshot) {
  fault_->FailPutsWithPrefix("snapshots/", IoError("injected"));
  auto m = BackupFiles(repo_.get(), SecondFiles());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("manifest"), std::string::npos);
  fault_->ClearFaults();
  EXPECT_EQ(Keys("snapshots/").size(), 1u);
  auto pr = repo_->Prune({});
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  EXPECT_GT(pr->packs_deleted, 0u);  // the orphaned packs of the failed backup
  ExpectFirstSnapshotIntact();
}

TEST_F(FaultTest, FullDiskFailsWithNoSpace) {
  fault_->SetNoSpaceAfterBytes(100 * 1024);
  auto m = BackupFiles(repo_.get(), SecondFiles());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kNoSpace) << m.status().ToString();
  fault_->ClearFaults();
  ExpectFirstSnapshotIntact();
  ASSERT_TRUE(BackupFiles(repo_.get(), SecondFiles()).ok());
}

TEST_F(FaultTest, DroppedUnsyncedWritesLeaveEarlierStateValid) {
  auto second = BackupFiles(repo_.get(), SecondFiles());
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(fault_->SimulateCrash(CrashMode::kDropUnsynced).ok());
  EXPECT_EQ(Keys("snapshots/").size(), 1u);
  ExpectFirstSnapshotIntact();
  auto v = Reopen()->Verify(ReadData());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok());
}

TEST_F(FaultTest, TornWritesAfterCrashAreFoundAndPruneRecovers) {
  auto second = BackupFiles(repo_.get(), SecondFiles());
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(fault_->SimulateCrash(CrashMode::kTruncateUnsynced).ok());
  auto repo = Reopen();
  ASSERT_TRUE(repo);
  // The torn manifest is reported, not fatal; the first snapshot is intact.
  auto v = repo->Verify(ReadData());
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok());
  ExpectFirstSnapshotIntact();
  // Prune refuses while a manifest is damaged; forgetting it lets prune run.
  EXPECT_EQ(repo->Prune({}).status().code(), ErrorCode::kDataLoss);
  ASSERT_TRUE(mem_->Delete("snapshots/" + second->id).ok());
  auto pr = repo->Prune({});
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  auto v2 = Reopen()->Verify(ReadData());
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(v2->ok()) << v2->problems.front().kind << " " << v2->problems.front().detail;
  ExpectFirstSnapshotIntact();
}

// Two versions of one file, the second mostly deltas against the first; and
// where each chunk lives, read from the (unencrypted) pack headers.
using repo::Hash256;
using repo::PackEntry;

// Every blob of every pack (plaintext repositories), with its pack's key.
void AllPackEntries(MemoryStore* mem, std::vector<std::pair<std::string, repo::PackEntry>>* out) {
  auto packs = mem->ListAll("data/");
  ASSERT_TRUE(packs.ok());
  for (const auto& o : *packs) {
    auto bytes = mem->Get(o.key);
    ASSERT_TRUE(bytes.ok());
    auto entries = repo::ParsePackSuffix(*bytes, bytes->size(), std::nullopt);
    ASSERT_TRUE(entries.ok()) << entries.status().ToString();
    for (const auto& e : *entries) out->emplace_back(o.key, e);
  }
}

struct DeltaRepo {
  Manifest old_m, new_m;
  std::map<Hash256, std::pair<std::string, PackEntry>> where;  // chunk -> pack key, entry
  std::set<Hash256> bases;
};

void MakeDeltaRepo(Repository* repo, MemoryStore* mem, DeltaRepo* out) {
  std::string v1 = RandomBytesForTest(512 * 1024, 21);
  SnapshotSpec spec;
  spec.source_kind = "dir";
  spec.source = {{"path", "/hnsw"}};
  auto put = [&](const std::string& data, const std::string& parent) -> Result<Manifest> {
    spec.parent = parent;
    VS_ASSIGN_OR_RETURN(auto b, repo->NewSnapshot(spec));
    EntryMeta meta;
    meta.path = "index/data_level0.bin";
    meta.size = data.size();
    VS_ASSIGN_OR_RETURN(auto sink, b->BeginFile(meta));
    VS_RETURN_IF_ERROR(sink->Append(data));
    VS_RETURN_IF_ERROR(sink->Close().status());
    return b->Commit();
  };
  auto m1 = put(v1, "");
  ASSERT_TRUE(m1.ok()) << m1.status().ToString();
  std::string v2 = v1;
  for (size_t at = 10000; at + 200 < v2.size(); at += 40000) {
    v2.replace(at, 200, RandomBytesForTest(200, at));
  }
  auto m2 = put(v2, m1->id);
  ASSERT_TRUE(m2.ok()) << m2.status().ToString();
  ASSERT_GE(m2->stats.chunks_delta, 5u);
  out->old_m = *m1;
  out->new_m = *m2;
  std::vector<std::pair<std::string, repo::PackEntry>> all;
  ASSERT_NO_FATAL_FAILURE(AllPackEntries(mem, &all));
  for (const auto& [key, e] : all) {
    out->where.emplace(e.id, std::make_pair(key, e));
    if (e.is_delta()) out->bases.insert(e.base);
  }
  ASSERT_FALSE(out->bases.empty());
}

TEST_F(FaultTest, DamagedDeltaBaseIsFoundAndNamesTheFilesOfBothVersions) {
  DeltaRepo d;
  ASSERT_NO_FATAL_FAILURE(MakeDeltaRepo(repo_.get(), mem_.get(), &d));
  const Hash256 base = *d.bases.begin();
  const auto& [key, entry] = d.where.at(base);
  ASSERT_TRUE(fault_->CorruptObjectAt(key, entry.offset + entry.length / 2).ok());
  const std::string old_file = d.old_m.ShortId() + ":index/data_level0.bin";
  const std::string new_file = d.new_m.ShortId() + ":index/data_level0.bin";
  for (bool by_file : {false, true}) {
    SCOPED_TRACE(by_file ? "read_files" : "read_data");
    VerifyOptions o = ReadData();
    o.read_files = by_file;
    auto v = repo_->Verify(o);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    std::set<std::string> bad_files;
    bool delta_named = false;
    for (const auto& p : v->problems) {
      if (p.kind == "file") bad_files.insert(p.id);
      if (p.kind == "chunk" && p.detail.find("delta base") != std::string::npos) {
        delta_named = true;
        EXPECT_EQ(p.status, VerifyStatus::kChecksumMismatch) << p.detail;
        ASSERT_FALSE(p.used_by.empty());
        EXPECT_EQ(p.used_by.front(), new_file);
      }
    }
    EXPECT_TRUE(delta_named);
    EXPECT_EQ(bad_files, (std::set<std::string>{old_file, new_file}));
  }
  // Reading the new version fails on the damaged base, naming it.
  auto got = ReadFile(repo_.get(), d.new_m, "index/data_level0.bin");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), ErrorCode::kDataLoss);
  EXPECT_NE(got.status().message().find("delta base"), std::string::npos) << got.status().message();
  ExpectFirstSnapshotIntact();  // other data is untouched
}

TEST_F(FaultTest, MissingDeltaBaseIsReportedByTheCheapVerifyAndPruneRefuses) {
  DeltaRepo d;
  ASSERT_NO_FATAL_FAILURE(MakeDeltaRepo(repo_.get(), mem_.get(), &d));
  // Drop the pack of a base that no delta shares its pack with.
  std::string key;
  for (const Hash256& b : d.bases) {
    const std::string& k = d.where.at(b).first;
    bool holds_delta = false;
    for (const auto& [id, at] : d.where) holds_delta |= at.first == k && at.second.is_delta();
    if (!holds_delta) {
      key = k;
      break;
    }
  }
  ASSERT_FALSE(key.empty());
  ASSERT_TRUE(mem_->Delete(key).ok());
  auto again = Reopen();
  ASSERT_TRUE(again);
  auto v = again->Verify({});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  bool named = false;
  for (const auto& p : v->problems) {
    if (p.kind == "chunk" && p.detail.find("its delta base") != std::string::npos) {
      EXPECT_EQ(p.status, VerifyStatus::kMissing);
      ASSERT_FALSE(p.used_by.empty());
      EXPECT_EQ(p.used_by.front(), d.new_m.ShortId() + ":index/data_level0.bin");
      named = true;
    }
  }
  EXPECT_TRUE(named);
  // Prune would lose data that snapshots need: it refuses and changes nothing.
  const auto before = Keys("");
  auto pr = again->Prune({});
  EXPECT_EQ(pr.status().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(Keys(""), before);
}

TEST_F(FaultTest, CorruptPackByteIsFoundAndNamesTheFile) {
  // Second snapshot so that one file is not in the damaged pack.
  auto packs = Keys("data/");
  ASSERT_FALSE(packs.empty());
  ASSERT_TRUE(fault_->CorruptObjectAt(packs.front(), 100).ok());
  auto cheap = repo_->Verify({});
  ASSERT_TRUE(cheap.ok());
  EXPECT_TRUE(cheap->ok());  // sizes are right: only reading finds it
  auto v = repo_->Verify(ReadData());
  ASSERT_TRUE(v.ok());
  ASSERT_FALSE(v->ok());
  bool chunk_named = false;
  bool file_named = false;
  for (const auto& p : v->problems) {
    if (p.kind == "chunk" && p.status == VerifyStatus::kChecksumMismatch) {
      ASSERT_FALSE(p.used_by.empty());
      EXPECT_EQ(p.used_by.front().substr(0, 8), first_.ShortId());
      // Unencrypted, a flipped byte of a raw chunk decodes fine: the file's
      // sha256 fails and the re-check of its chunks names this one and its pack.
      EXPECT_NE(p.detail.find("(in " + packs.front()), std::string::npos) << p.detail;
      chunk_named = true;
    }
    if (p.kind == "file" && p.status == VerifyStatus::kChecksumMismatch) {
      EXPECT_EQ(p.id.substr(0, 9), first_.ShortId() + ":");
      file_named = true;
    }
  }
  EXPECT_TRUE(chunk_named);
  EXPECT_TRUE(file_named);
  EXPECT_GT(v->counts[static_cast<int>(VerifyStatus::kOk)], 0u);
}

TEST_F(FaultTest, ByteInTheMiddleOfAPackNamesExactlyOneChunk) {
  // Both ways of reading data: chunk by chunk against their ids, and file by
  // file against their sha256 (spans of a pack that may hold other blobs
  // between a file's chunks). A damaged byte must hurt one chunk only.
  // Only a pack written by this backup holds big.bin alone: which pack is the
  // largest depends on how the workers happened to fill them.
  const auto old = Keys("data/");
  const std::set<std::string> before(old.begin(), old.end());
  auto m = BackupFiles(repo_.get(), {{"big.bin", RandomBytesForTest(2 << 20, 9)}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::string largest;
  uint64_t largest_size = 0;
  auto packs = mem_->ListAll("data/");
  ASSERT_TRUE(packs.ok());
  for (const auto& o : *packs) {
    if (before.count(o.key) != 0) continue;
    if (o.size > largest_size) {
      largest = o.key;
      largest_size = o.size;
    }
  }
  ASSERT_GT(largest_size, 4096u);
  ASSERT_TRUE(fault_->CorruptObjectAt(largest, largest_size / 2).ok());
  for (bool by_file : {false, true}) {
    SCOPED_TRACE(by_file ? "read_files" : "read_data");
    VerifyOptions o = ReadData();
    o.read_files = by_file;
    auto v = repo_->Verify(o);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    size_t bad_chunks = 0;
    std::set<std::string> bad_files;
    for (const auto& p : v->problems) {
      if (p.kind == "chunk") {
        ++bad_chunks;
        EXPECT_EQ(p.status, VerifyStatus::kChecksumMismatch) << p.detail;
        EXPECT_NE(p.detail.find("(in " + largest), std::string::npos) << p.detail;
        ASSERT_FALSE(p.used_by.empty());
        EXPECT_EQ(p.used_by.front(), m->ShortId() + ":big.bin");
      }
      if (p.kind == "file") bad_files.insert(p.id);
    }
    EXPECT_EQ(bad_chunks, 1u);
    EXPECT_EQ(bad_files, std::set<std::string>{m->ShortId() + ":big.bin"});
    // The chunks around it, read in the same pack, are fine.
    EXPECT_GT(v->counts[static_cast<int>(VerifyStatus::kOk)], 100u);
  }
}

// verify hashes the chunks of a pack two at a time: a damaged chunk must be
// found wherever it falls (either side of a pair, the odd one at the end),
// and only it. Raw chunks of random bytes decode fine when damaged, so it is
// the id check that finds each one.
TEST_F(FaultTest, EveryChunkOfAPackIsCheckedAgainstItsId) {
  auto m = BackupFiles(repo_.get(), {{"r.bin", RandomBytesForTest(120 * 1024, 31)}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::set<std::string> mine;
  for (const auto& e : m->entries) mine.insert(e.chunks.begin(), e.chunks.end());
  ASSERT_GE(mine.size(), 10u);
  std::vector<std::pair<std::string, repo::PackEntry>> all;
  ASSERT_NO_FATAL_FAILURE(AllPackEntries(mem_.get(), &all));
  std::vector<std::pair<std::string, repo::PackEntry>> targets;
  for (const auto& [key, e] : all) {
    if (mine.count(repo::HexEncode(e.id)) != 0) targets.emplace_back(key, e);
  }
  ASSERT_EQ(targets.size(), mine.size());
  for (const auto& [key, e] : targets) {
    SCOPED_TRACE(repo::HexEncode(e.id).substr(0, 16));
    ASSERT_TRUE(fault_->CorruptObjectAt(key, e.offset + e.length / 2).ok());
    auto v = repo_->Verify(ReadData());
    ASSERT_TRUE(fault_->CorruptObjectAt(key, e.offset + e.length / 2).ok());  // undone
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    std::vector<std::string> bad;
    for (const auto& p : v->problems) {
      if (p.kind != "chunk") continue;
      bad.push_back(p.id);
      EXPECT_EQ(p.status, VerifyStatus::kChecksumMismatch) << p.detail;
      if (e.encoding == static_cast<uint8_t>(repo::BlobEncoding::kRaw)) {
        EXPECT_NE(p.detail.find("does not match its id"), std::string::npos) << p.detail;
      }
    }
    EXPECT_EQ(bad, std::vector<std::string>{repo::HexEncode(e.id)});
  }
  auto clean = repo_->Verify(ReadData());
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->problems.empty());
}

TEST_F(FaultTest, HealthyRepositoryPassesBothWaysOfReadingData) {
  auto m = BackupFiles(repo_.get(), {{"c/x.bin", RandomBytesForTest(300 * 1024, 4)},
                                     {"c/same.bin", RandomBytesForTest(300 * 1024, 4)}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  for (bool by_file : {false, true}) {
    VerifyOptions o = ReadData();
    o.read_files = by_file;
    auto v = repo_->Verify(o);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->ok()) << (v->problems.empty() ? "" : v->problems.front().detail);
    EXPECT_GT(v->bytes_read, 0u);
    // Distinct file contents: the first snapshot's three and one new one.
    EXPECT_EQ(v->files_checked, 4u) << (by_file ? "read_files" : "read_data");
  }
}

TEST_F(FaultTest, EveryCorruptedPackIsReported) {
  auto packs = Keys("data/");
  ASSERT_GE(packs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(fault_->CorruptObjectAt(packs[i], 10).ok());
  auto v = repo_->Verify(ReadData());
  ASSERT_TRUE(v.ok());
  std::set<std::string> bad_files;
  size_t bad_chunks = 0;
  for (const auto& p : v->problems) {
    if (p.kind == "chunk") ++bad_chunks;
    if (p.kind == "file") bad_files.insert(p.id);
  }
  EXPECT_GE(bad_chunks, 3u);  // never stops at the first one
  EXPECT_GE(bad_files.size(), 1u);
}

TEST_F(FaultTest, MissingAndTruncatedPacksAreReported) {
  auto packs = Keys("data/");
  ASSERT_GE(packs.size(), 2u);
  ASSERT_TRUE(mem_->Delete(packs[0]).ok());
  ASSERT_TRUE(fault_->TruncateObject(packs[1], 50).ok());
  auto v = repo_->Verify({});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->counts[static_cast<int>(VerifyStatus::kSizeInvalid)], 1u);
  bool missing_pack = false;
  bool missing_chunk_named = false;
  for (const auto& p : v->problems) {
    if (p.kind == "pack" && p.status == VerifyStatus::kMissing && p.id == packs[0]) {
      missing_pack = true;
    }
    if (p.kind == "chunk" && p.status == VerifyStatus::kMissing && !p.used_by.empty()) {
      missing_chunk_named = true;
    }
  }
  EXPECT_TRUE(missing_pack);
  EXPECT_TRUE(missing_chunk_named);
}

TEST_F(FaultTest, DamagedIndexIsReportedAndPruneRebuildsIt) {
  auto index = Keys("index/");
  ASSERT_EQ(index.size(), 1u);
  ASSERT_TRUE(fault_->TruncateObject(index[0], 20).ok());
  auto repo = Reopen();
  ASSERT_TRUE(repo);
  auto m = repo->LoadSnapshot(first_.id);
  ASSERT_TRUE(m.ok());
  auto read = ReadFile(repo.get(), *m, "a/vectors.bin");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), ErrorCode::kDataLoss);
  EXPECT_NE(read.status().message().find(index[0]), std::string::npos) << read.status().message();
  auto v = repo->Verify({});
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok());
  EXPECT_EQ(v->problems.front().kind, "index");
  auto pr = repo->Prune({});
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  ExpectFirstSnapshotIntact();
  auto v2 = Reopen()->Verify(ReadData());
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(v2->ok());
}

TEST_F(FaultTest, DamagedManifestAndConfigGiveDataLoss) {
  std::string key = "snapshots/" + first_.id;
  ASSERT_TRUE(fault_->CorruptObject(key, CorruptWhere::kMiddle).ok());
  auto m = repo_->LoadSnapshot(first_.id);
  EXPECT_EQ(m.status().code(), ErrorCode::kDataLoss);
  EXPECT_NE(m.status().message().find(key), std::string::npos);
  ASSERT_TRUE(fault_->TruncateObject("config", 10).ok());
  auto r = Repository::Open(std::make_unique<SharedStoreHandle>(fault_), {});
  EXPECT_EQ(r.status().code(), ErrorCode::kDataLoss);
  EXPECT_NE(r.status().message().find("config"), std::string::npos);
}

TEST_F(FaultTest, ExclusiveLockBlocksBackupAndNamesTheHolder) {
  SnapshotSpec spec;
  spec.source_kind = "dir";
  auto b = repo_->NewSnapshot(spec);  // shared lock held
  ASSERT_TRUE(b.ok());
  auto pr = repo_->Prune({});
  ASSERT_FALSE(pr.ok());
  EXPECT_EQ(pr.status().code(), ErrorCode::kLocked);
  EXPECT_NE(pr.status().message().find("pid " + std::to_string(getpid())), std::string::npos);
  EXPECT_NE(pr.status().message().find("host "), std::string::npos);
  EXPECT_NE(pr.status().message().find("age "), std::string::npos);
  // Two backups at once are fine.
  auto b2 = repo_->NewSnapshot(spec);
  ASSERT_TRUE(b2.ok());
  ASSERT_TRUE((*b2)->Commit().ok());
  ASSERT_TRUE((*b)->Commit().ok());
  EXPECT_TRUE(repo_->Prune({}).ok());
}

TEST_F(FaultTest, PruneWaitsForARunningBackup) {
  SnapshotSpec spec;
  spec.source_kind = "dir";
  auto b = repo_->NewSnapshot(spec);
  ASSERT_TRUE(b.ok());
  std::thread finisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    ASSERT_TRUE((*b)->Commit().ok());
  });
  OpenOptions o;
  o.lock_wait_seconds = 20;
  auto waiting = Reopen(o);
  auto start = std::chrono::steady_clock::now();
  auto pr = waiting->Prune({});
  finisher.join();
  EXPECT_TRUE(pr.ok()) << pr.status().ToString();
  EXPECT_GT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST_F(FaultTest, StaleLockIsReportedAndCanBeBroken) {
  // A lock of a process that no longer exists on this host.
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  int st = 0;
  waitpid(child, &st, 0);
  // Same host, dead pid:
  std::string host_lock = std::string("{\"version\":1,\"mode\":\"exclusive\",\"hostname\":\"") +
                          "HOSTNAME_PLACEHOLDER" + "\",\"pid\":" + std::to_string(child) +
                          ",\"created\":" +
                          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count() -
                                         3600) +
                          ",\"refreshed\":" +
                          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count()) +
                          ",\"operation\":\"prune\"}";
  char hn[256] = {};
  gethostname(hn, sizeof(hn) - 1);
  host_lock.replace(host_lock.find("HOSTNAME_PLACEHOLDER"), 20, hn);
  ASSERT_TRUE(mem_->Put("locks/" + std::string(32, 'a'), host_lock).ok());
  SnapshotSpec spec;
  spec.source_kind = "dir";
  auto b = repo_->NewSnapshot(spec);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ErrorCode::kLocked);
  const std::string& msg = b.status().message();
  EXPECT_NE(msg.find("pid " + std::to_string(child)), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::string("host ") + hn), std::string::npos) << msg;
  EXPECT_NE(msg.find("age 60m"), std::string::npos) << msg;
  EXPECT_NE(msg.find("stale"), std::string::npos) << msg;
  EXPECT_NE(b.status().hint().find("break"), std::string::npos);
  auto locks = repo_->ListLocks();
  ASSERT_TRUE(locks.ok());
  ASSERT_EQ(locks->size(), 1u);
  EXPECT_TRUE(locks->front().stale);
  OpenOptions o;
  o.break_stale_locks = true;
  auto breaker = Reopen(o);
  auto b2 = breaker->NewSnapshot(spec);
  ASSERT_TRUE(b2.ok()) << b2.status().ToString();
  ASSERT_TRUE((*b2)->Commit().ok());
  EXPECT_TRUE(Keys("locks/").empty());
}

}  // namespace
}  // namespace vecsafe
