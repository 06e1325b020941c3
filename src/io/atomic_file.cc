#include "io/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <limits>
#include <random>

namespace vecsafe {
namespace {

namespace fs = std::filesystem;

std::string ParentOf(const fs::path& path) {
  fs::path parent = path.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

int OpenDirectoryFd(const std::string& dir) {
  int fd;
  do {
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

Status WriteError(int err, std::string_view what, const fs::path& path) {
  return ErrnoToStatus(err, what, path.string());
}

}  // namespace

bool IsTemporaryFileName(std::string_view file_name) {
  return file_name.substr(0, kTempFilePrefix.size()) == kTempFilePrefix;
}

std::string MakeTemporaryFileName() {
  // Per-thread generator seeded from the OS, the pid and a counter, so two
  // processes (or threads) writing the same folder never pick the same name;
  // O_EXCL catches the impossible rest.
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), static_cast<unsigned>(::getpid()),
                      static_cast<unsigned>(counter.fetch_add(1)),
                      static_cast<unsigned>(std::time(nullptr))};
    return std::mt19937_64(seq);
  }());
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(kTempFilePrefix) + buf;
}

int WriteAllToFd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

AtomicFileWriter::~AtomicFileWriter() { Abort(); }

Status AtomicFileWriter::Open(const fs::path& path, const AtomicWriteOptions& options) {
  if (fd_ >= 0) return Internal("AtomicFileWriter::Open called twice for " + path.string());
  if (path.empty() || !path.has_filename()) {
    return InvalidArgument("cannot write a file at '" + path.string() + "'",
                           "Give a path that ends with a file name.");
  }
  path_ = path;
  options_ = options;
  size_ = 0;
  error_ = Status::OK();
  const fs::path dir = path.parent_path();
  // A concurrent cleanup may remove an empty parent folder between our mkdir
  // and our open; a few attempts make that race harmless.
  for (int attempt = 0;; ++attempt) {
    temp_path_ = (dir.empty() ? fs::path(".") : dir) / MakeTemporaryFileName();
    int fd = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
    if (fd >= 0) {
      fd_ = fd;
      return Status::OK();
    }
    const int err = errno;
    if (err == EINTR || (err == EEXIST && attempt < 8)) continue;
    if (err == ENOENT && options.create_parents && attempt < 8 && !dir.empty()) {
      Status s = CreateDirectoriesDurably(dir);
      if (!s.ok()) {
        temp_path_.clear();
        return s.WithContext("cannot write " + path.string());
      }
      continue;
    }
    temp_path_.clear();
    if (err == ENOTDIR) {
      return FailedPrecondition(
          "cannot write " + path.string() + ": a part of its folder path is a file, not a folder",
          "Move that file away or choose another location.");
    }
    return WriteError(err, "cannot create a temporary file for", path);
  }
}

Status AtomicFileWriter::Append(std::string_view data) {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return Internal("AtomicFileWriter::Append without Open");
  if (int err = WriteAllToFd(fd_, data); err != 0) {
    error_ = WriteError(err, "cannot write", path_);
    Abort();
    return error_;
  }
  size_ += data.size();
  return Status::OK();
}

Status AtomicFileWriter::Commit() {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return Internal("AtomicFileWriter::Commit without Open");
  auto fail = [&](Status s) {
    error_ = s;
    Abort();
    return s;
  };
  if (options_.sync && ::fsync(fd_) != 0) return fail(WriteError(errno, "cannot fsync", path_));
  // Only clean pages can be dropped, hence only after the fsync. Advice: an
  // error changes nothing about the file.
  if (options_.sync && options_.drop_cache) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);
  const int fd = fd_;
  fd_ = -1;
  // close() can report a deferred write error (NFS, quota): it counts.
  if (::close(fd) != 0 && errno != EINTR) return fail(WriteError(errno, "cannot close", path_));
  if (options_.if_absent) {
    // renameat2(RENAME_NOREPLACE) is one atomic step; filesystems without it
    // get link(2) + unlink(2), equally atomic for the final name.
    int rc = ::renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
      rc = ::link(temp_path_.c_str(), path_.c_str());
      if (rc == 0) ::unlink(temp_path_.c_str());
    }
    if (rc != 0) {
      const int err = errno;
      if (err == EEXIST) {
        return fail(AlreadyExists(path_.string() + " already exists",
                                  "Another writer created it first; it was left unchanged."));
      }
      return fail(WriteError(err, "cannot publish", path_));
    }
  } else if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return fail(WriteError(errno, "cannot rename into place", path_));
  }
  temp_path_.clear();
  if (options_.sync) {
    Status s = SyncDirectory(ParentOf(path_));
    // kNotFound: a concurrent delete already removed the file and its
    // folder; there is nothing left of ours to make durable.
    if (!s.ok() && s.code() != ErrorCode::kNotFound) {
      error_ = s;
      return s.WithContext("wrote " + path_.string() + " but could not make it durable");
    }
  }
  return Status::OK();
}

void AtomicFileWriter::Abort() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

Status WriteFileAtomically(const fs::path& path, std::string_view data,
                           const AtomicWriteOptions& options) {
  AtomicFileWriter writer;
  VS_RETURN_IF_ERROR(writer.Open(path, options));
  VS_RETURN_IF_ERROR(writer.Append(data));
  return writer.Commit();
}

Status SyncDirectory(const fs::path& dir) {
  const std::string d = dir.empty() ? std::string(".") : dir.string();
  int fd = OpenDirectoryFd(d);
  if (fd < 0) return ErrnoToStatus(errno, "cannot open folder", d);
  int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some filesystems cannot fsync a folder (EINVAL); their entries are as
  // durable as they will get.
  if (rc != 0 && err != EINVAL) return ErrnoToStatus(err, "cannot fsync folder", d);
  return Status::OK();
}

Status CreateDirectoriesDurably(const fs::path& dir) {
  if (dir.empty()) return Status::OK();
  fs::path current;
  for (const fs::path& part : dir) {
    current /= part;
    if (part == "/" || part.empty()) continue;
    // A concurrent cleanup may remove an empty folder between our mkdir's
    // EEXIST and our stat: try again a few times.
    for (int attempt = 0;; ++attempt) {
      if (::mkdir(current.c_str(), 0755) == 0) {
        Status s = SyncDirectory(ParentOf(current));
        if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
        break;
      }
      const int err = errno;
      if (err == EEXIST) {
        struct stat st;
        if (::stat(current.c_str(), &st) == 0) {
          if (S_ISDIR(st.st_mode)) break;
          return FailedPrecondition(current.string() + " exists and is not a folder",
                                    "Move that file away or choose another location.");
        }
        if (errno == ENOENT && attempt < 8) continue;
      }
      if (err == ENOTDIR) {
        return FailedPrecondition("cannot create folder " + current.string() +
                                      ": a part of its path is a file, not a folder",
                                  "Move that file away or choose another location.");
      }
      return WriteError(err, "cannot create folder", current);
    }
  }
  return Status::OK();
}

namespace {
constexpr size_t kGrowStep = size_t{1} << 20;
constexpr size_t kReadPiece = size_t{1} << 20;
}  // namespace

Status ReadFileRangeInto(const fs::path& path, uint64_t offset, uint64_t length, std::string* out,
                         CacheUse cache) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    out->clear();
    return ErrnoToStatus(errno, "cannot open", path.string());
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    out->clear();
    return ErrnoToStatus(err, "cannot stat", path.string());
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    out->clear();
    return InvalidArgument(path.string() + " is a folder, not a file");
  }
  // Straight into the string, which only grows (its old bytes are
  // overwritten, not zeroed first): a regular file's size says how much there is
  // (a file that grows meanwhile is read on in 64 KiB steps).
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  size_t got = 0;
  size_t room = (S_ISREG(st.st_mode) && offset < size)
                    ? static_cast<size_t>(std::min(length, size - offset))
                    : 0;
  // kLeaveAsFound: the first read takes only cached pages (RWF_NOWAIT); if it
  // cannot take the whole range, the rest comes from the disk and the range
  // is dropped afterwards. Kernels without RWF_NOWAIT (EOPNOTSUPP) read on.
  bool brought_in = false;
  bool try_cached = cache == CacheUse::kLeaveAsFound && room >= kOnePassBytes;
  while (got < length) {
    if (got == room) {
      room = got + static_cast<size_t>(std::min<uint64_t>(uint64_t{1} << 16, length - got));
    }
    if (got == 0 && out->capacity() < room) {
      // A new buffer of the size asked for, rounded up to 1 MiB: growing the
      // string in place would double its capacity (16 MiB packs made 32 MiB
      // buffers), and its old bytes are not needed yet.
      std::string fresh;
      fresh.reserve((room + kGrowStep - 1) / kGrowStep * kGrowStep);
      out->swap(fresh);
    }
    if (out->size() < room) out->resize(room);
    ssize_t n;
    if (try_cached) {
      try_cached = false;
      struct iovec iov = {out->data(), room};
      n = ::preadv2(fd, &iov, 1, static_cast<off_t>(offset), RWF_NOWAIT);
      // EAGAIN: nothing of it is cached. EOPNOTSUPP: this kernel or
      // filesystem cannot tell, so the cache is left alone. Any other error
      // comes back from the plain read below.
      const int err = n < 0 ? errno : 0;
      if (n < 0) n = 0;
      if (err != EOPNOTSUPP && static_cast<size_t>(n) < room) brought_in = true;
      got = static_cast<size_t>(n);
      continue;
    }
    // At most 1 MiB a call: from a cold file, pieces let the kernel's
    // readahead run ahead while the last piece is copied; one 16 MiB pread
    // waited for each window in turn (1.4 against 0.85 GB/s here).
    n = ::pread(fd, out->data() + got, std::min(room - got, kReadPiece),
                static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      out->clear();
      return ErrnoToStatus(err, "cannot read", path.string());
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (brought_in) {
    ::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(got), POSIX_FADV_DONTNEED);
  }
  ::close(fd);
  out->resize(got);
  return Status::OK();
}

Result<std::string> ReadFileRange(const fs::path& path, uint64_t offset, uint64_t length) {
  std::string out;
  VS_RETURN_IF_ERROR(ReadFileRangeInto(path, offset, length, &out));
  return out;
}

Result<std::string> ReadWholeFile(const fs::path& path) {
  return ReadFileRange(path, 0, std::numeric_limits<uint64_t>::max());
}

Result<uint64_t> RemoveStaleTemporaryFiles(const fs::path& dir, std::chrono::seconds min_age,
                                           bool recursive) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return uint64_t{0};
    return ErrnoToStatus(errno, "cannot list folder", dir.string());
  }
  const int dfd = ::dirfd(d);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  uint64_t removed = 0;
  Status first_error;
  while (struct dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // raced away
    if (S_ISDIR(st.st_mode)) {
      if (!recursive) continue;
      Result<uint64_t> sub = RemoveStaleTemporaryFiles(dir / e->d_name, min_age, true);
      if (sub.ok()) {
        removed += *sub;
      } else if (first_error.ok()) {
        first_error = sub.status();
      }
      continue;
    }
    if (!IsTemporaryFileName(name)) continue;
    if (now - static_cast<int64_t>(st.st_mtime) < min_age.count()) continue;
    if (::unlinkat(dfd, e->d_name, 0) == 0) {
      ++removed;
    } else if (errno != ENOENT && first_error.ok()) {
      first_error = ErrnoToStatus(errno, "cannot remove", (dir / e->d_name).string());
    }
  }
  ::closedir(d);
  if (!first_error.ok()) return first_error;
  return removed;
}

}  // namespace vecsafe
