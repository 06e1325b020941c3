// Backups of plain directories: walks a folder and feeds its entries to a
// SnapshotBuilder (include/vecsafe/repository.h).
//
// What is stored: every directory (mode, mtime), regular file (contents,
// mode, mtime) and symlink (target) under the root, with paths relative to
// it; the root folder itself is the snapshot. Owners, xattrs, ACLs and hard
// links are not kept (a hard-linked file is stored once per name, deduplicated).
//
// Entries that cannot be backed up do not stop the backup: a file or folder
// that vanishes between the walk and the read, one that cannot be opened or
// read (permissions, I/O error), a special file (FIFO, socket, device) and a
// name that is not valid UTF-8 are left out, reported in
// DirBackupResult::skipped, and the snapshot is still committed. The CLI
// turns a non-empty `skipped` into exit status kIncomplete (see
// docs/OPERATIONS.md), as restic does with its exit status 3.
//
// File cache: unless `force`, the newest earlier snapshot of the same folder
// on this host is the parent, and a file whose size, mtime, inode and device
// are unchanged is taken from it without being read.
#ifndef VECSAFE_SOURCES_DIR_DIR_SOURCE_H_
#define VECSAFE_SOURCES_DIR_DIR_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "vecsafe/repository.h"
#include "vecsafe/status.h"

namespace vecsafe::sources {

struct DirBackupOptions {
  // The folder to back up. REQUIRED. Made absolute (and symlinks in it
  // resolved) for the snapshot's identity {"path": ...}.
  std::string path;
  std::vector<std::string> tags;
  // Glob patterns (fnmatch). A pattern without '/' is matched against every
  // entry's name at any depth; one with '/' against the path relative to the
  // root. An excluded folder is not descended into. Default: none.
  std::vector<std::string> excludes;
  // Read every file even when the file cache says it is unchanged. Default: false.
  bool force = false;
  // Read buffer per file. Default: 1 MiB.
  size_t read_block = 1 << 20;
};

struct DirSkipped {
  std::string path;  // relative to the root
  Status reason;
};

struct DirBackupResult {
  Manifest manifest;
  std::vector<DirSkipped> skipped;
  uint64_t excluded = 0;  // entries left out by --exclude (not counted as skipped)
  std::string parent;     // snapshot used for the file cache, or empty
};

// Callbacks for a progress display. Called from the backup's thread.
class DirProgress {
 public:
  virtual ~DirProgress() = default;
  // After the walk: what will be backed up (file cache hits included).
  virtual void OnTotals(uint64_t bytes, uint64_t files) = 0;
  // Bytes handled (read, or taken unchanged from the parent).
  virtual void OnBytes(uint64_t n) = 0;
  virtual void OnFileDone() = 0;
  // An entry left out (also in DirBackupResult::skipped).
  virtual void OnSkipped(const DirSkipped& skipped) = 0;
};

// Backs up `options.path` into `repo`. Returns the committed snapshot.
// Errors (nothing committed): kNotFound (no such folder), kInvalidArgument
// (not a folder, bad pattern), kPermissionDenied (the root cannot be read),
// and any repository error (kLocked, kNoSpace, kIoError...).
Result<DirBackupResult> BackupDirectory(Repository& repo, const DirBackupOptions& options,
                                        DirProgress* progress);

}  // namespace vecsafe::sources

#endif  // VECSAFE_SOURCES_DIR_DIR_SOURCE_H_
