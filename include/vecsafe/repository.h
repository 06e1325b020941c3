// The repository: a deduplicated, compressed, optionally encrypted store of
// snapshots on top of one ObjectStore.
//
// The on-disk format (config, keys/, data/, index/, snapshots/, locks/) is
// described with a grammar and a worked example in docs/FORMAT.md; the
// constants below are the ones that document names.
//
// Sources (dir, chroma, qdrant) push entries into a SnapshotBuilder; the
// repository knows nothing about where bytes come from. Reading is pull-style
// (FileReader) or whole-tree (RestoreToDirectory, ExportTar).
//
// Concurrency rules (between processes and threads, on one repository):
//
//   operation                         lock       may run together with
//   --------------------------------  ---------  ------------------------------
//   NewSnapshot ... Commit (backup)   shared     other backups, reads, verify
//   ListSnapshots/LoadSnapshot/       none       everything (they only read
//     OpenFile/Restore/ExportTar                 committed, immutable objects)
//   Verify                            shared     backups, reads
//   Forget, Prune                     exclusive  nothing that takes a lock
//
// A shared lock blocks exclusive ones and vice versa. A lock is refreshed by a
// background thread every kLockRefreshSeconds; a lock is stale when its
// process is gone (same host) or it was not refreshed for kLockStaleSeconds.
// Reads take no lock: a prune that races a restore can delete a pack the
// restore needs, and the restore then fails with kNotFound/kDataLoss (never
// silently wrong data); run prune when no restore is running.
//
// Thread safety of the objects: a Repository may be used from several
// threads at once. A SnapshotBuilder and its FileSinks belong to one thread
// at a time (the pipeline behind them is parallel). A FileReader belongs to
// one thread.
#ifndef VECSAFE_REPOSITORY_H_
#define VECSAFE_REPOSITORY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vecsafe/object_store.h"
#include "vecsafe/status.h"

namespace vecsafe {

// ---- Format constants (see docs/FORMAT.md) --------------------------------

inline constexpr int kRepoFormatVersion = 1;      // "version" in `config`
inline constexpr int kManifestSchemaVersion = 1;  // "schema_version" in snapshots/<id>
inline constexpr int kIndexFormatVersion = 1;     // "version" in index/<id>
inline constexpr int kPackFormatVersion = 1;      // version byte of a pack trailer
inline constexpr const char* kConfigKey = "config";
inline constexpr const char* kKeysPrefix = "keys/";
inline constexpr const char* kDataPrefix = "data/";
inline constexpr const char* kIndexPrefix = "index/";
inline constexpr const char* kSnapshotsPrefix = "snapshots/";
inline constexpr const char* kLocksPrefix = "locks/";

inline constexpr uint32_t kDefaultChunkMin = 16 * 1024;
inline constexpr uint32_t kDefaultChunkAvg = 64 * 1024;
inline constexpr uint32_t kDefaultChunkMax = 256 * 1024;
// Packs are closed once they reach this size (so they end up 16-17 MiB; the
// last pack of a backup may be smaller).
inline constexpr uint64_t kDefaultPackTarget = 16ull * 1024 * 1024;

inline constexpr int kLockRefreshSeconds = 60;
inline constexpr int kLockStaleSeconds = 30 * 60;

// ---- Passwords --------------------------------------------------------------

struct PasswordOptions {
  // Ask on the terminal (no echo) when neither variable is set and stdin is a
  // terminal. Default: true.
  bool allow_prompt = true;
  // Ask twice and require both to match (used by `init`). Default: false.
  bool confirm = false;
};

// The repository password, from (in order) VECSAFE_PASSWORD, the first line of
// the file named by VECSAFE_PASSWORD_FILE, or a prompt.
// Errors: kUnauthenticated when no source gives one (the hint names the
// variables), kNotFound/kPermissionDenied for an unreadable password file,
// kInvalidArgument when the two prompted entries differ.
Result<std::string> GetRepositoryPassword(const PasswordOptions& options = {});

// ---- Opening ----------------------------------------------------------------

enum class Encryption : uint8_t { kNone = 0, kAes256Gcm = 1 };

// "none" / "aes-256-gcm" <-> Encryption. Errors: kInvalidArgument.
Result<Encryption> ParseEncryption(std::string_view name);
std::string_view EncryptionName(Encryption e);

struct InitOptions {
  // Default: kNone.
  Encryption encryption = Encryption::kNone;
  // REQUIRES: non-empty when encryption != kNone.
  std::string password;
  // Argon2id cost. Defaults are interactive-safe (about 0.3 s); tests lower them.
  uint64_t kdf_ops_limit = 3;
  uint64_t kdf_mem_limit_bytes = 64ull * 1024 * 1024;
  // zstd level for chunks. Default: 1 (bench/results/micro.md: level 3 costs
  // 52 % more CPU for a 0.6 % smaller repository on vector data).
  int compression_level = 1;
  // Chunker and pack sizes. Defaults as documented above; tests may lower them.
  uint32_t chunk_min = kDefaultChunkMin;
  uint32_t chunk_avg = kDefaultChunkAvg;
  uint32_t chunk_max = kDefaultChunkMax;
  uint64_t pack_target = kDefaultPackTarget;
};

struct OpenOptions {
  // Needed only for encrypted repositories. Wrong one -> kUnauthenticated.
  std::string password;
  // Worker threads of the backup/restore/verify pipelines. Default 0: one per core.
  int threads = 0;
  // Packs uploaded at once by a backup. Default 0: the store's parallel_puts
  // (S3/GCS: half their concurrency= URL option, so 4 by default: round trips
  // are the limit), else 1 on a local filesystem (the disk is the limit), 4.
  int upload_threads = 0;
  // How long an operation waits for a conflicting lock before failing with
  // kLocked. Default: 0 (fail at once).
  int lock_wait_seconds = 0;
  // Remove stale locks (dead process on this host, or not refreshed for
  // kLockStaleSeconds) that are in the way instead of failing. Default: false.
  bool break_stale_locks = false;
  // Host name written into locks and snapshots. Default: empty = gethostname().
  std::string hostname;
};

// ---- Snapshots ---------------------------------------------------------------

enum class EntryType : uint8_t { kFile = 0, kDirectory = 1, kSymlink = 2 };
std::string_view EntryTypeName(EntryType t);  // "file", "dir", "symlink"

// What a source knows about one entry before its bytes are read.
struct EntryMeta {
  // Relative, '/'-separated, no leading '/', no "." or ".." parts.
  std::string path;
  uint32_t mode = 0644;  // permission bits (07777)
  int64_t mtime_ns = 0;  // modification time, ns since the epoch
  // Size, inode and device as stat() saw them; used by the file cache only.
  uint64_t size = 0;
  uint64_t inode = 0;
  uint64_t device = 0;
};

// One entry of a committed snapshot.
struct FileEntry {
  std::string path;
  EntryType type = EntryType::kFile;
  uint64_t size = 0;
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  uint64_t device = 0;
  std::string sha256;               // hex of the whole content (files only)
  std::vector<std::string> chunks;  // chunk ids (hex), in order (files only)
  std::string link_target;          // symlinks only
};

struct SnapshotStats {
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t bytes_total = 0;      // logical size of all files
  uint64_t bytes_read = 0;       // bytes pushed through FileSinks
  uint64_t files_unchanged = 0;  // taken from the parent by the file cache
  uint64_t chunks_total = 0;
  uint64_t chunks_new = 0;
  uint64_t bytes_new_raw = 0;     // plaintext size of new chunks
  uint64_t bytes_new_stored = 0;  // their size in packs
  uint64_t chunks_delta = 0;      // new chunks stored as deltas of an older chunk
  uint64_t packs_written = 0;
  double seconds = 0;  // NewSnapshot() to Commit() done
};

struct Manifest {
  std::string id;  // object id (64 hex); not stored inside
  int schema_version = kManifestSchemaVersion;
  std::string time;  // RFC 3339 UTC, when the backup started
  int64_t time_unix_ns = 0;
  std::string hostname;
  std::string source_kind;                                     // "dir", "chroma", "qdrant"
  nlohmann::json source = nlohmann::json::object();            // identity of the source
  nlohmann::json source_checksums = nlohmann::json::object();  // path -> {algo: hex}
  std::vector<std::string> tags;
  std::string parent;              // id of the parent snapshot, or empty
  std::vector<FileEntry> entries;  // sorted by path
  SnapshotStats stats;
  std::string vecsafe_version;
  // Top-level fields this version does not know, kept for round trips.
  nlohmann::json extra = nlohmann::json::object();

  // Entry by exact path, or nullptr.
  const FileEntry* Find(std::string_view path) const;
  std::string ShortId() const { return id.substr(0, 8); }
};

struct SnapshotSpec {
  std::string source_kind;                           // REQUIRED: "dir", "chroma", "qdrant"
  nlohmann::json source = nlohmann::json::object();  // identity (path, url, version...)
  std::vector<std::string> tags;
  // Snapshot whose unchanged files may be reused without reading
  // (AddUnchangedFile). Default: empty (no file cache).
  std::string parent;
  // Default: empty = OpenOptions::hostname.
  std::string hostname;
};

struct FileResult {
  std::string sha256;  // hex
  uint64_t size = 0;
};

// Receives the bytes of one file, in order. Append() may block while the
// pipeline is full (that is what keeps memory flat).
class FileSink {
 public:
  virtual ~FileSink() = default;
  // Errors: whatever the pipeline met (kNoSpace, kIoError...); after an error
  // the whole snapshot is doomed and Commit() returns it too.
  virtual Status Append(std::string_view bytes) = 0;
  // Ends the file. Dropping a sink without Close() drops the file from the snapshot.
  virtual Result<FileResult> Close() = 0;
};

// Builds one snapshot. Holds a shared lock from NewSnapshot() until Commit()
// or destruction. Dropping it without Commit() leaves no visible snapshot
// (only packs that a later prune removes).
class SnapshotBuilder {
 public:
  virtual ~SnapshotBuilder() = default;

  // Errors: kInvalidArgument (bad or duplicate path).
  virtual Status AddDirectory(const EntryMeta& meta) = 0;
  virtual Status AddSymlink(const EntryMeta& meta, std::string_view target) = 0;

  // Starts a file. At most one sink per builder is open at a time.
  // Errors: kInvalidArgument (bad or duplicate path), kFailedPrecondition
  // (another sink open or the builder failed).
  virtual Result<std::unique_ptr<FileSink>> BeginFile(const EntryMeta& meta) = 0;

  // File cache: if the parent snapshot has `meta.path` with the same size,
  // mtime, inode and device, adds it with the parent's chunks and returns
  // true without reading; otherwise returns false and the caller must send
  // the bytes through BeginFile(). Always false when the spec has no parent.
  virtual Result<bool> AddUnchangedFile(const EntryMeta& meta) = 0;

  // Source facts known only at the end (e.g. Qdrant's snapshot checksum).
  virtual void SetSourceInfo(const nlohmann::json& source) = 0;
  virtual void AddSourceChecksum(std::string_view path, std::string_view algorithm,
                                 std::string_view hex) = 0;

  // Flushes the pipeline, writes the last pack, then the index, then the
  // manifest. Returns the committed manifest (with its id and stats).
  // Errors: any pipeline error; nothing is visible unless this returns OK.
  virtual Result<Manifest> Commit() = 0;
};

// Streams one file of a snapshot, in order.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // Reads up to `n` bytes; 0 at the end. Every chunk is checked against its id.
  // Errors: kNotFound (pack gone), kDataLoss (chunk damaged; says which).
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  virtual uint64_t size() const = 0;
};

// ---- Restore and export --------------------------------------------------------

using ProgressFn = std::function<void(uint64_t done_bytes, uint64_t total_bytes)>;

struct RestoreOptions {
  // Restore only entries under this path (a file or directory, no trailing
  // '/'). Default: empty = everything.
  std::string path_prefix;
  // Allow a non-empty target: existing files named in the snapshot are
  // replaced, others are left alone. Default: false (kAlreadyExists).
  bool overwrite = false;
  // Move an existing target aside to "<target>.vecsafe-old-<UTC timestamp>"
  // and restore in its place. Default: false.
  bool in_place = false;
  // fsync every restored file and folder before the tree is renamed into
  // place, so that a crash never leaves a complete-looking but torn tree.
  // Off: faster on slow disks, for throwaway restores. Default: true.
  bool sync = true;
  ProgressFn progress;
};

struct RestoreResult {
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t bytes = 0;
  std::string moved_aside;  // where the old target went (in_place), else empty
};

struct ExportOptions {
  std::string path_prefix;  // Default: everything.
  ProgressFn progress;
};

// ---- Verify ----------------------------------------------------------------------

enum class VerifyStatus : uint8_t {
  kOk = 0,
  kMissing = 1,
  kChecksumMismatch = 2,
  kSizeInvalid = 3,
  kOther = 4,
};
std::string_view VerifyStatusName(VerifyStatus s);  // "ok", "missing", "checksum_mismatch"...

struct VerifyOptions {
  // Read every pack once, decrypt, decompress and re-hash every chunk
  // against its id. Default: false (cheap: index and pack sizes only).
  bool read_data = false;
  // With read_data (all packs), instead re-hash every distinct file of every
  // snapshot against the sha256 its manifest records, in file order; only
  // chunks that no file uses, or those of a file that fails, are hashed
  // against their ids. This also proves each manifest's chunk list, but reads
  // a chunk once per file version that uses it. Default: false.
  bool read_files = false;
  // With read_data, read only subset n of m (1-based) of the packs, chosen
  // by pack id, so m scheduled runs cover everything. Default 1/1.
  int subset_n = 1;
  int subset_m = 1;
  ProgressFn progress;
};

struct VerifyItem {
  std::string kind;  // "config", "index", "snapshot", "pack", "chunk", "file"
  std::string id;    // object key, chunk id, or "<snapshot>:<path>"
  VerifyStatus status = VerifyStatus::kOk;
  std::string detail;  // what exactly is wrong
  // For chunks: "<snapshot short id>:<path>" of every file that uses it.
  std::vector<std::string> used_by;
};

struct VerifyReport {
  // Only the problems; counts cover every item checked.
  std::vector<VerifyItem> problems;
  uint64_t counts[5] = {0, 0, 0, 0, 0};  // indexed by VerifyStatus
  uint64_t packs_checked = 0;
  uint64_t chunks_checked = 0;
  uint64_t files_checked = 0;
  uint64_t bytes_read = 0;
  bool ok() const { return problems.empty(); }
};

// ---- Forget and prune ----------------------------------------------------------------

// restic's rules; a snapshot is kept if any rule keeps it. Snapshots are
// grouped by host + source kind + source identity and each group is judged
// on its own. A policy with no rule set keeps everything.
struct ForgetPolicy {
  int keep_last = 0;
  int keep_hourly = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  int keep_yearly = 0;
  int64_t keep_within_seconds = 0;  // keep all newer than latest - this
  // restic's duration ("1y2m3d4h"); wins over keep_within_seconds when set.
  std::string keep_within;
  std::vector<std::string> keep_tags;  // keep any snapshot with one of these tags
};

struct ForgetOptions {
  ForgetPolicy policy;
  bool dry_run = false;
};

struct ForgetDecision {
  std::string id;
  std::string time;
  bool keep = false;
  std::vector<std::string> reasons;  // e.g. "last", "daily", "tag:prod"
};

struct ForgetResult {
  std::vector<ForgetDecision> decisions;  // newest first, every snapshot
  uint64_t removed = 0;
};

struct PruneOptions {
  // Repack a pack when more than this fraction of its bytes is unused.
  // Default: 0.3 (0 repacks any pack with unused bytes; 1 never repacks).
  double repack_unused_fraction = 0.3;
  bool dry_run = false;
};

struct PruneResult {
  uint64_t packs_deleted = 0;
  uint64_t packs_repacked = 0;
  uint64_t packs_written = 0;
  uint64_t bytes_freed = 0;
  uint64_t chunks_kept = 0;
  uint64_t chunks_removed = 0;
  uint64_t index_files_rewritten = 0;
};

// ---- Locks -------------------------------------------------------------------------------

enum class LockMode : uint8_t { kShared = 0, kExclusive = 1 };

struct LockInfo {
  std::string id;  // key under locks/
  LockMode mode = LockMode::kShared;
  std::string hostname;
  int64_t pid = 0;
  int64_t created_unix = 0;
  int64_t refreshed_unix = 0;
  std::string operation;  // "backup", "prune", ...
  bool stale = false;
  std::string stale_reason;  // "process 42 is gone" / "not refreshed for 2h"
};

// ---- The repository ---------------------------------------------------------------------

struct RepositoryInfo {
  std::string repo_id;
  int format_version = 0;
  Encryption encryption = Encryption::kNone;
  std::string location;  // ObjectStore::Describe()
  uint32_t chunk_min = 0, chunk_avg = 0, chunk_max = 0;
  int compression_level = 0;
};

class Repository {
 public:
  virtual ~Repository() = default;

  // Creates a repository in an empty store. Errors: kAlreadyExists (a config
  // exists), kInvalidArgument (bad options, missing password).
  static Result<std::unique_ptr<Repository>> Init(std::unique_ptr<ObjectStore> store,
                                                  const InitOptions& init,
                                                  const OpenOptions& open = {});
  // Errors: kRepoNotFound (no config), kUnauthenticated (wrong or missing
  // password), kDataLoss (damaged config or key), kUnsupportedVersion.
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<ObjectStore> store,
                                                  const OpenOptions& options);

  virtual RepositoryInfo Info() const = 0;
  virtual ObjectStore& store() = 0;

  // Snapshots, sorted oldest first. Damaged manifests are skipped with a
  // warning in `skipped` (if given) instead of failing the listing.
  virtual Result<std::vector<Manifest>> ListSnapshots(
      std::vector<std::string>* skipped = nullptr) = 0;
  // By full id or unique prefix (at least 4 hex). Errors: kNotFound (hint:
  // `vecsafe snapshots`), kInvalidArgument (ambiguous prefix, lists matches),
  // kDataLoss (damaged manifest).
  virtual Result<Manifest> LoadSnapshot(std::string_view id_or_prefix) = 0;
  // Newest snapshot with this kind, source["path"/"url"...] equal to
  // `source` (every key given must match) and host; nullopt when none.
  virtual Result<std::optional<Manifest>> FindLatest(std::string_view source_kind,
                                                     const nlohmann::json& source,
                                                     std::string_view hostname = {}) = 0;

  virtual Result<std::unique_ptr<SnapshotBuilder>> NewSnapshot(const SnapshotSpec& spec) = 0;

  // Errors: kNotFound (no such path, or not a regular file).
  virtual Result<std::unique_ptr<FileReader>> OpenFile(const Manifest& manifest,
                                                       std::string_view path) = 0;
  // Writes into a temporary sibling of `target` and renames it into place,
  // so a failed restore leaves no half-written tree. Errors: kAlreadyExists
  // (non-empty target without overwrite/in_place), kNotFound (prefix matches
  // nothing), read errors as OpenFile.
  virtual Result<RestoreResult> RestoreToDirectory(const Manifest& manifest,
                                                   const std::string& target,
                                                   const RestoreOptions& options = {}) = 0;
  // A pax tar of the snapshot, written atomically (temp + rename).
  virtual Status ExportTar(const Manifest& manifest, const std::string& out_path,
                           const ExportOptions& options = {}) = 0;

  // Never stops at the first problem: everything found is in the report.
  // Returns an error only when the check itself cannot run (lock, listing).
  virtual Result<VerifyReport> Verify(const VerifyOptions& options = {}) = 0;

  // Removes manifests per the policy (exclusive lock).
  virtual Result<ForgetResult> Forget(const ForgetOptions& options) = 0;
  // Removes by id/prefix (exclusive lock).
  virtual Status RemoveSnapshots(const std::vector<std::string>& ids_or_prefixes) = 0;
  // Deletes unreferenced packs, repacks sparse ones, rewrites the index,
  // removes leftovers of interrupted backups (exclusive lock). Crash-safe:
  // new packs and index are written before anything is deleted.
  virtual Result<PruneResult> Prune(const PruneOptions& options = {}) = 0;

  virtual Result<std::vector<LockInfo>> ListLocks() = 0;
  // Removes stale locks (all locks when `all`); returns how many.
  virtual Result<int> BreakLocks(bool all = false) = 0;
};

// Opens the store named by `url` (a path, s3://..., gs://...) through the
// store registry, then the repository. Errors as Open plus the registry's.
Result<std::unique_ptr<Repository>> OpenRepositoryFromUrl(std::string_view url,
                                                          const OpenOptions& options);
Result<std::unique_ptr<Repository>> InitRepositoryAtUrl(std::string_view url,
                                                        const InitOptions& init,
                                                        const OpenOptions& open = {});

}  // namespace vecsafe

#endif  // VECSAFE_REPOSITORY_H_
