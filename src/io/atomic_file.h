// The one helper for safe local writes.
//
// Every file vecsafe writes on a local filesystem (repository objects,
// restored files' metadata, config files, journals' side files) goes through
// here, so a crash at any instant leaves either the old file or the whole new
// one, never a torn one:
//
//   1. write the bytes to a temporary name in the same folder
//      (".tmp-vecsafe-<random>", recognisable so leftovers can be found),
//   2. fsync the temporary file,
//   3. rename(2) it over the final name (or link(2) it when the final name
//      must not exist yet: atomic "create if absent"),
//   4. fsync the folder so the new directory entry is durable.
//
// On any failure the temporary file is removed before returning, so no
// temporary name survives a failed write (only a crash can leave one; see
// RemoveStaleTemporaryFiles).
//
// Thread safety: all functions are safe to call concurrently, also on the
// same path (last rename wins). AtomicFileWriter objects are not shared
// between threads.
#ifndef VECSAFE_IO_ATOMIC_FILE_H_
#define VECSAFE_IO_ATOMIC_FILE_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "vecsafe/status.h"

namespace vecsafe {

// Names of temporary files start with this; List() and restores skip them.
inline constexpr std::string_view kTempFilePrefix = ".tmp-vecsafe-";

// True if a file name (not a path) is one of our temporary names.
bool IsTemporaryFileName(std::string_view file_name);

// A fresh temporary file name: kTempFilePrefix + 16 random hex digits.
std::string MakeTemporaryFileName();

struct AtomicWriteOptions {
  // Permission bits of the new file (the umask applies). Default: 0644.
  mode_t mode = 0644;
  // fsync the file and its folder. Only tests that measure nothing about
  // durability turn this off. Default: true.
  bool sync = true;
  // Fail with kAlreadyExists, atomically, if the final name exists (link(2)
  // instead of rename(2)). Default: false (replace).
  bool if_absent = false;
  // Create missing parent folders (each new folder's parent is fsynced too).
  // Default: false.
  bool create_parents = false;
  // After the fsync, tell the kernel the file's pages will not be read soon
  // (POSIX_FADV_DONTNEED), so they go back to the free list at once. For
  // large files written once and rarely read (repository packs): they do not
  // push a database's working set out of the page cache, and the next write
  // reuses those pages instead of fresh ones. Needs `sync`. Default: false.
  bool drop_cache = false;
};

// Streams a file to a temporary name and publishes it atomically on Commit().
// Use it for files too large to hold in memory (restores).
//
//   AtomicFileWriter w;
//   VS_RETURN_IF_ERROR(w.Open(path, options));
//   VS_RETURN_IF_ERROR(w.Append(bytes));   // any number of times
//   VS_RETURN_IF_ERROR(w.Commit());
//
// If Commit() is not reached (error, early return), Abort() or the destructor
// removes the temporary file. After a failed Append() the writer is dead:
// every later call returns that error, and Commit() publishes nothing.
class AtomicFileWriter {
 public:
  AtomicFileWriter() = default;
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Creates the temporary file beside `path`. REQUIRES: not already open.
  // Errors: kNotFound (folder missing and !create_parents), kPermissionDenied,
  // kNoSpace, kIoError.
  Status Open(const std::filesystem::path& path, const AtomicWriteOptions& options = {});

  // Appends bytes to the temporary file. Errors: kNoSpace (ENOSPC/EDQUOT),
  // kResourceExhausted (EFBIG: file size limit), kIoError.
  Status Append(std::string_view data);

  // fsync, rename (or link when if_absent), fsync the folder. On success the
  // file is durable under its final name; on failure nothing is published and
  // the temporary file is gone. Errors as Append, plus kAlreadyExists.
  Status Commit();

  // Removes the temporary file if still there. Idempotent.
  void Abort();

  // Bytes appended so far.
  uint64_t size() const { return size_; }
  // The temporary file's path (empty when not open); for tests and messages.
  const std::filesystem::path& temp_path() const { return temp_path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  AtomicWriteOptions options_;
  int fd_ = -1;
  uint64_t size_ = 0;
  Status error_;
};

// Writes `data` to `path` atomically and durably (see the top of this file).
// Errors: as AtomicFileWriter.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view data,
                           const AtomicWriteOptions& options = {});

// fsyncs a folder so that entries created, renamed or removed in it are
// durable. Errors: kNotFound, kPermissionDenied, kIoError.
Status SyncDirectory(const std::filesystem::path& dir);

// Creates `dir` and any missing parents, fsyncing the parent of each folder
// it creates (so the new folders survive a crash). OK if it already exists.
// Errors: kFailedPrecondition (a part exists and is not a folder),
// kPermissionDenied, kNoSpace, kIoError.
Status CreateDirectoriesDurably(const std::filesystem::path& dir);

// Reads a whole regular file. Errors: kNotFound, kPermissionDenied, kIoError,
// kInvalidArgument (path is a folder).
Result<std::string> ReadWholeFile(const std::filesystem::path& path);

// Reads up to `length` bytes from `offset` with pread(2). Reading past the end
// returns the bytes that exist (possibly none). Errors as ReadWholeFile.
Result<std::string> ReadFileRange(const std::filesystem::path& path, uint64_t offset,
                                  uint64_t length);

// What a read leaves in the page cache.
enum class CacheUse {
  kKeep,  // whatever the read brought in stays cached (the kernel's default)
  // For a range of at least kOnePassBytes: pages the read had to bring in are
  // dropped afterwards (POSIX_FADV_DONTNEED); a range that was already cached
  // stays cached. For large one-pass reads (packs in verify and restore) that
  // should not evict other data. Smaller ranges are kept as with kKeep.
  kLeaveAsFound,
};

// The size from which a file is written or read "in one pass" (see
// AtomicWriteOptions::drop_cache and CacheUse): packs are, index files,
// manifests and locks, which are read again soon, are not.
inline constexpr uint64_t kOnePassBytes = uint64_t{1} << 20;

// The same into *out (replacing its contents), reusing its capacity: a caller
// that reads many ranges keeps one buffer instead of allocating each time.
Status ReadFileRangeInto(const std::filesystem::path& path, uint64_t offset, uint64_t length,
                         std::string* out, CacheUse cache = CacheUse::kKeep);

// Writes all of `data` to `fd`, retrying short writes and EINTR. Returns the
// errno of the failed write(2), or 0.
int WriteAllToFd(int fd, std::string_view data);

// Removes temporary files (IsTemporaryFileName) under `dir` whose mtime is
// older than `min_age`, descending into sub-folders when `recursive`.
// Younger ones may belong to a write in progress and are kept. Returns how
// many were removed. Errors: kPermissionDenied, kIoError (a missing `dir` is
// OK: nothing to do).
Result<uint64_t> RemoveStaleTemporaryFiles(const std::filesystem::path& dir,
                                           std::chrono::seconds min_age, bool recursive);

}  // namespace vecsafe

#endif  // VECSAFE_IO_ATOMIC_FILE_H_
