// Consistent backup of a Chroma directory while Chroma runs.
//
// Chroma keeps chroma.sqlite3 in rollback-journal mode, where a reader
// blocks writers, so the database is copied with SQLite's online backup API
// in small steps (a few pages, then a pause): a Chroma write waits at most
// one step. SQLite restarts an online backup whenever another process writes
// the source; when that keeps happening the step grows (doubling), so the
// copy always ends, at worst in one step that holds the read lock for the
// time of one file copy. The copy is staged in a temporary file (TMPDIR, or
// HotCopyOptions::temp_dir) because the repository wants whole files.
//
// The HNSW folders are streamed straight into the snapshot. An attempt is
// kept only when the SQLite copy and the files are the on-disk state of one
// instant (a state Chroma itself wrote), by three checks per attempt:
//   1. Every segment folder's files (names, sizes, mtimes, inodes) are the
//      same before the SQLite copy and after they were read. A stamp is only
//      taken once no file's mtime lies in the current tick of the kernel's
//      file-timestamp clock, so any later write changes an mtime.
//   2. Between the first stamps and the SQLite copy there was an instant at
//      which no process held a write lock (RESERVED, PENDING, EXCLUSIVE) on
//      chroma.sqlite3. Chroma 0.4-0.6 flush HNSW files only inside the write
//      transaction that records them (max_seq_id or the WAL rows), so at that
//      instant the files were those of the committed database; with (1) the
//      copy and the files are the state of the instant the copy ended.
//   3. Every vector segment's max_seq_id in the copy equals the live value
//      read after the files. Chroma 1.x writes the HNSW files and id map with
//      no SQLite lock held, then updates max_seq_id in a transaction of its
//      own: (1) rules out files older than the copy's max_seq_id (data the
//      purged WAL no longer holds); files newer than it are the state a crash
//      leaves, which Chroma 1.x handles on open by replaying the WAL from
//      max_seq_id.
// A failed check drops the unfinished snapshot (nothing becomes visible) and
// the attempt is retried after a short backoff, a bounded number of times,
// then the backup fails with kAborted naming the last reason.
#ifndef VECSAFE_SOURCES_CHROMA_HOT_BACKUP_H_
#define VECSAFE_SOURCES_CHROMA_HOT_BACKUP_H_

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "vecsafe/repository.h"
#include "vecsafe/status.h"

namespace vecsafe::chroma {

struct HotCopyOptions {
  // Pages copied per sqlite3_backup_step at first; small keeps each read
  // lock short. Default: 64.
  int pages_per_step = 64;
  // Pause between steps, so Chroma's writers get the lock. Default: 2 ms.
  int sleep_ms = 2;
  // Restarts of the online backup (a write by Chroma in between) before the
  // step size doubles. Default: 2.
  int restarts_per_growth = 2;
  // Attempts before giving up with kAborted. Default: 10.
  int max_attempts = 10;
  // Longest wait, per attempt, for an instant at which no process holds a
  // write lock on chroma.sqlite3 (check 2 above). Default: 5000 ms.
  int writer_wait_ms = 5000;
  // Where the staged SQLite copy is made. Default: empty = $TMPDIR or /tmp.
  std::string temp_dir;
};

// Copies a live SQLite database with the online backup API (see above).
// `dst` is created or replaced. Errors: kIoError, kNoSpace, kDataLoss (the
// source is damaged), kNotFound.
Status CopySqliteOnline(const std::string& src, const std::string& dst, const HotCopyOptions& o);

// Size, mtime and inode of the regular files of one folder, by name.
struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;  // a file replaced by rename changes it
  bool operator==(const FileStamp&) const = default;
};
using FolderStamp = std::map<std::string, FileStamp>;
FolderStamp StampFolder(const std::string& folder);
// Stamps `folder` so that any later write to its files changes the stamp: a
// file modified in the current tick of the file-timestamp clock could be
// written again with the same mtime, so the stamp is retaken once that tick
// is over (a few milliseconds; at most 1 s, then the last stamp is returned).
FolderStamp StampFolderForChanges(const std::string& folder);

// Whether another process holds a write lock (RESERVED, PENDING or
// EXCLUSIVE) on the SQLite database `db_file` in rollback-journal mode: a
// write transaction is open. Never takes a lock itself, never blocks.
// Errors: ErrnoToStatus of open/fcntl.
Result<bool> SqliteWriteLockHeld(const std::string& db_file);
// Polls SqliteWriteLockHeld every millisecond until it is false (true) or
// `max_wait_ms` passed (false).
Result<bool> WaitForNoSqliteWriter(const std::string& db_file, int max_wait_ms);

// max_seq_id of every vector segment, from a database file (read-only, one
// short query). Segments with no row count as 0.
Result<std::map<std::string, int64_t>> VectorMaxSeqIds(const std::string& db_file);

// A temporary folder removed (with its content) by the destructor.
class TempDir {
 public:
  // Errors: ErrnoToStatus of mkdtemp.
  static Result<TempDir> Make(const std::string& parent_or_empty);
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

struct ChromaBackupOptions {
  HotCopyOptions copy;
  std::vector<std::string> tags;
  // Chroma's release when known (e.g. from `pip show chromadb`). Default:
  // empty = only the schema and its release line are recorded.
  std::string chroma_version;
};

// Backs up the whole folder into `repo` as one snapshot of kind "chroma"
// (source {"path": abs path, "kind": "full"}; source info adds the schema,
// release line, collections with their record counts, vector max_seq_ids and
// the attempts needed). Errors: those of the model (not a Chroma folder),
// kAborted when every attempt met a concurrent flush, the repository's.
Result<Manifest> BackupChroma(Repository& repo, const std::string& path,
                              const ChromaBackupOptions& options);

// Processes that have `file` open (pid and command), found through
// /proc/*/fd. Used to refuse restores and repairs while Chroma runs.
std::vector<std::pair<int, std::string>> ProcessesWithFileOpen(const std::string& file);

// kFailedPrecondition naming the first process that has `dir`/chroma.sqlite3
// open ("Chroma is running"), else OK. `what` names the refused operation.
Status RefuseWhileChromaRuns(const std::string& dir, const std::string& what);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_HOT_BACKUP_H_
