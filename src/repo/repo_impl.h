// The Repository implementation, shared by backup.cc, restore.cc, verify.cc
// and prune.cc. Internal: use include/vecsafe/repository.h.
#ifndef VECSAFE_REPO_REPO_IMPL_H_
#define VECSAFE_REPO_REPO_IMPL_H_

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "repo/blob_codec.h"
#include "repo/chunker.h"
#include "repo/config_codec.h"
#include "repo/crypto.h"
#include "repo/index.h"
#include "repo/lock.h"
#include "repo/sha256_pair.h"
#include "vecsafe/repository.h"

namespace vecsafe::repo {

class RepositoryImpl : public Repository {
 public:
  RepositoryImpl(std::unique_ptr<ObjectStore> store, const OpenOptions& options,
                 const RepoConfig& config, const std::optional<Key256>& master);

  // Reads every index object. Damaged ones are remembered (index_problems_)
  // rather than failing, so verify can report them and prune can rebuild.
  Status LoadIndex();

  RepositoryInfo Info() const override;
  ObjectStore& store() override { return *store_; }
  Result<std::vector<Manifest>> ListSnapshots(std::vector<std::string>* skipped) override;
  Result<Manifest> LoadSnapshot(std::string_view id_or_prefix) override;
  Result<std::optional<Manifest>> FindLatest(std::string_view source_kind,
                                             const nlohmann::json& source,
                                             std::string_view hostname) override;
  Result<std::unique_ptr<SnapshotBuilder>> NewSnapshot(const SnapshotSpec& spec) override;
  Result<std::unique_ptr<FileReader>> OpenFile(const Manifest& manifest,
                                               std::string_view path) override;
  Result<RestoreResult> RestoreToDirectory(const Manifest& manifest, const std::string& target,
                                           const RestoreOptions& options) override;
  Status ExportTar(const Manifest& manifest, const std::string& out_path,
                   const ExportOptions& options) override;
  Result<VerifyReport> Verify(const VerifyOptions& options) override;
  Result<ForgetResult> Forget(const ForgetOptions& options) override;
  Status RemoveSnapshots(const std::vector<std::string>& ids_or_prefixes) override;
  Result<PruneResult> Prune(const PruneOptions& options) override;
  Result<std::vector<LockInfo>> ListLocks() override;
  Result<int> BreakLocks(bool all) override;

  // ---- internals used by the pipeline and readers ----
  const BlobCodec& codec() const { return *codec_; }
  const Chunker& chunker() const { return *chunker_; }
  const RepoConfig& config() const { return config_; }
  const std::optional<Key256>& data_key() const { return data_key_; }
  int threads() const { return threads_; }
  int upload_threads() const { return upload_threads_; }
  // Workers that each read a span of a pack and then decode it (restore,
  // verify): one more than the cores, so that a core whose worker waits on a
  // cold read has another to run; and as many as the store takes requests at
  // once (a remote store answers each read after a round trip).
  int reader_threads() const { return std::max(threads_ + 1, upload_threads_); }
  const std::string& hostname() const { return hostname_; }

  // Metadata objects: encoded with the blob codec (aad = kind) and named by
  // the SHA-256 of the stored bytes.
  Result<Hash256> PutMeta(std::string_view prefix, std::string_view kind, std::string_view json);
  // kNotFound, or kDataLoss naming the object when it is damaged.
  Result<std::string> GetMeta(std::string_view key, std::string_view kind);

  // Chunk lookups (thread-safe).
  std::optional<BlobLocation> FindBlob(const Hash256& id) const;
  bool HasBlob(const Hash256& id) const;
  // The base chunk of a chunk the index holds as a delta, else nullopt.
  std::optional<Hash256> BaseOf(const Hash256& id) const;
  Hash256 PackIdAt(uint32_t pack) const;
  void AddPacksToIndex(const std::vector<IndexPack>& packs);
  // Fails with kDataLoss when index objects are damaged (names them).
  Status CheckIndexHealthy() const;

  // Decodes one stored blob and checks it against its id.
  // Decrypts and decompresses a stored blob and checks that its content
  // hashes to `id`; with check_id false the last step is left to the caller
  // (verify, whose per-file sha256 covers the same bytes).
  Status DecodeBlob(const Hash256& id, std::string_view stored, std::string* out,
                    bool check_id = true) const;
  // The same into dst[0..cap): returns the plaintext length.
  Result<size_t> DecodeBlobTo(const Hash256& id, std::string_view stored, char* dst, size_t cap,
                              bool check_id) const;
  // Whether decoded chunks hash to their ids: OK, or kDataLoss "chunk ... is
  // damaged". The pair form hashes both side by side where the CPU can
  // (Sha256Pair, about 1.9x one after the other): verify's largest cost.
  Status CheckChunkId(const Hash256& id, const char* p, size_t n) const;
  std::pair<Status, Status> CheckChunkIds(const Hash256& a, const char* pa, size_t na,
                                          const Hash256& b, const char* pb, size_t nb) const;
  // Reads, decodes and checks one chunk.
  Status ReadChunk(const Hash256& id, std::string* out);
  // The stored bytes of the blob at `loc` (kDataLoss naming `name` when the
  // pack is shorter than the index says).
  Result<std::string> ReadStoredBlob(const BlobLocation& loc, std::string_view name) const;
  // Reads, decodes and checks the base of a delta (never itself a delta).
  // Errors carry "delta base <id>" so a report names what is missing.
  Status ReadDeltaBase(const Hash256& base, std::string* out) const;

  Result<std::unique_ptr<LockHandle>> Lock(LockMode mode, std::string_view operation);
  // A shared lock for reading `manifest` back (restore, export), as restic
  // takes one: a prune waits for it. Then checks the snapshot still exists
  // and reloads the index if index objects changed since it was loaded.
  // Errors: kLocked, kNotFound (forgotten in the meantime), store errors.
  Result<std::unique_ptr<LockHandle>> LockToRead(const Manifest& manifest,
                                                 std::string_view operation);

 private:
  // The keys under index/, sorted.
  Result<std::vector<std::string>> ListIndexKeys() const;
  // LoadIndex on keys already listed.
  Status LoadIndexFrom(std::vector<std::string> keys);

  std::unique_ptr<ObjectStore> store_;
  OpenOptions options_;
  RepoConfig config_;
  std::optional<Key256> data_key_;
  std::unique_ptr<BlobCodec> codec_;
  std::unique_ptr<Chunker> chunker_;
  std::optional<Sha256Pair> id_pair_;  // when Sha256Pair::Available()
  int threads_ = 1;
  int upload_threads_ = 1;
  std::string hostname_;
  // How DecodeBlob reaches the base of a delta blob (ReadDeltaBase).
  BaseReader base_reader_;

  mutable std::mutex index_mu_;
  MasterIndex index_;
  std::vector<Hash256> index_files_;         // loaded (not superseded)
  std::vector<std::string> index_problems_;  // damaged index objects
  std::vector<std::string> index_keys_;      // listed by the last LoadIndex, sorted

  friend class PruneRun;
};

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_REPO_IMPL_H_
