// Consistent backup of a Chroma directory while Chroma runs.
//
// Chroma keeps chroma.sqlite3 in rollback-journal mode, where a reader
// blocks writers, so the database is copied with SQLite's online backup API
// in small steps (a few pages, then a pause): a Chroma write waits at most
// one step. Then the HNSW folders are copied. The copy is consistent when,
// for every vector segment, the max_seq_id in the SQLite copy equals the
// live value read after the HNSW files were copied and the files did not
// change (size, mtime) while they were copied; otherwise the attempt is
// thrown away and retried (bounded). Everything is staged in a temporary
// folder first, so the repository only ever sees a consistent set.
#ifndef VECSAFE_SOURCES_CHROMA_HOT_BACKUP_H_
#define VECSAFE_SOURCES_CHROMA_HOT_BACKUP_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vecsafe/repository.h"
#include "vecsafe/status.h"

namespace vecsafe::chroma {

struct HotCopyOptions {
  // Pages copied per sqlite3_backup_step; small keeps each read lock short.
  // Default: 64.
  int pages_per_step = 64;
  // Pause between steps, so Chroma's writers get the lock. Default: 2 ms.
  int sleep_ms = 2;
  // Attempts before giving up with kAborted. Default: 8.
  int max_attempts = 8;
  // Where the staging folder is made. Default: empty = $TMPDIR or /tmp.
  std::string temp_dir;
};

// A consistent copy of a Chroma folder in a staging folder (deleted by the
// destructor).
struct StagedCopy {
  StagedCopy() = default;
  StagedCopy(const StagedCopy&) = delete;
  StagedCopy& operator=(const StagedCopy&) = delete;
  StagedCopy(StagedCopy&& o) noexcept;
  ~StagedCopy();

  std::string dir;                 // staging folder
  std::vector<std::string> files;  // relative paths, chroma.sqlite3 first
  std::vector<std::string> dirs;   // relative folder paths
  int attempts = 0;
  nlohmann::json vector_max_seq_ids = nlohmann::json::object();
  std::string schema;
  std::string version_line;
};

// Makes a consistent copy of `path`. Errors: those of the model (not a
// Chroma folder), kAborted when every attempt met a concurrent flush,
// kNoSpace/kIoError for the staging folder.
Result<StagedCopy> MakeConsistentCopy(const std::string& path, const HotCopyOptions& options);

struct ChromaBackupOptions {
  HotCopyOptions copy;
  std::vector<std::string> tags;
  // Chroma's release when known (e.g. from `pip show chromadb`). Default:
  // empty = only the schema's release line is recorded.
  std::string chroma_version;
};

// Backs up the whole folder into `repo` as one snapshot of kind "chroma".
Result<Manifest> BackupChroma(Repository& repo, const std::string& path,
                              const ChromaBackupOptions& options);

// Processes that have `file` open (pid and command), found through
// /proc/*/fd. Used to refuse restores and repairs while Chroma runs.
std::vector<std::pair<int, std::string>> ProcessesWithFileOpen(const std::string& file);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_HOT_BACKUP_H_
