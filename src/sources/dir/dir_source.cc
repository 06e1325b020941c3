#include "sources/dir/dir_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace vecsafe::sources {
namespace {

struct WalkEntry {
  std::string rel;  // relative path, '/'-separated
  EntryType type = EntryType::kFile;
  EntryMeta meta;
  std::string link_target;
};

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

EntryMeta MetaFromStat(const std::string& rel, const struct stat& st) {
  EntryMeta m;
  m.path = rel;
  m.mode = st.st_mode & 07777;
  m.mtime_ns = MtimeNs(st);
  m.size = static_cast<uint64_t>(st.st_size);
  m.inode = static_cast<uint64_t>(st.st_ino);
  m.device = static_cast<uint64_t>(st.st_dev);
  return m;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    if (c < 0x80) {
      n = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      n = 1;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      n = 3;
    } else {
      return false;
    }
    if (n > 0 && i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

class Walker {
 public:
  Walker(std::string root, const DirBackupOptions& options)
      : root_(std::move(root)), opt_(options) {}

  // Collects every entry under the root, pre-order, names sorted.
  void Walk(const std::string& rel_dir) {
    const std::string abs = rel_dir.empty() ? root_ : root_ + "/" + rel_dir;
    DIR* d = opendir(abs.c_str());
    if (d == nullptr) {
      Skip(rel_dir, ErrnoToStatus(errno, "cannot list folder", abs));
      return;
    }
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = readdir(d)) {
      std::string_view n(e->d_name);
      if (n == "." || n == "..") continue;
      names.emplace_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
      if (Excluded(name, rel)) {
        ++excluded_;
        continue;
      }
      if (!ValidUtf8(name)) {
        Skip(rel, InvalidArgument("the name is not valid UTF-8",
                                  "Rename the entry, or exclude it with --exclude."));
        continue;
      }
      const std::string path = root_ + "/" + rel;
      struct stat st {};
      if (lstat(path.c_str(), &st) != 0) {
        Skip(rel, ErrnoToStatus(errno, "vanished during the backup", path));
        continue;
      }
      WalkEntry w;
      w.rel = rel;
      w.meta = MetaFromStat(rel, st);
      if (S_ISDIR(st.st_mode)) {
        w.type = EntryType::kDirectory;
        entries_.push_back(std::move(w));
        Walk(rel);
      } else if (S_ISREG(st.st_mode)) {
        w.type = EntryType::kFile;
        total_bytes_ += w.meta.size;
        ++total_files_;
        entries_.push_back(std::move(w));
      } else if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<size_t>(std::max<off_t>(st.st_size, 0)) + 256, '\0');
        const ssize_t n = readlink(path.c_str(), target.data(), target.size());
        if (n < 0) {
          Skip(rel, ErrnoToStatus(errno, "cannot read symlink", path));
          continue;
        }
        target.resize(static_cast<size_t>(n));
        if (!ValidUtf8(target)) {
          Skip(rel, InvalidArgument("the symlink target is not valid UTF-8"));
          continue;
        }
        w.type = EntryType::kSymlink;
        w.link_target = std::move(target);
        entries_.push_back(std::move(w));
      } else {
        Skip(rel, Unimplemented("special file (FIFO, socket or device) not backed up",
                                "Exclude it with --exclude; only folders, regular files and "
                                "symlinks are stored."));
      }
    }
  }

  void Skip(const std::string& rel, Status why) {
    skipped_.push_back(DirSkipped{rel.empty() ? std::string(".") : rel, std::move(why)});
  }

  bool Excluded(const std::string& name, const std::string& rel) const {
    for (const std::string& pattern : opt_.excludes) {
      if (pattern.find('/') == std::string::npos) {
        if (fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD) == 0) return true;
      } else {
        std::string_view p(pattern);
        while (!p.empty() && p.front() == '/') p.remove_prefix(1);
        if (fnmatch(std::string(p).c_str(), rel.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) {
          return true;
        }
      }
    }
    return false;
  }

  std::string root_;
  const DirBackupOptions& opt_;
  std::vector<WalkEntry> entries_;
  std::vector<DirSkipped> skipped_;
  uint64_t excluded_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t total_files_ = 0;
};

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// Outcome of one file: OK, a per-file problem (skip it), or a fatal repository error.
struct FileOutcome {
  Status skip;   // non-OK: leave the file out
  Status fatal;  // non-OK: abort the backup
};

FileOutcome BackupFile(SnapshotBuilder& builder, const std::string& abs, const WalkEntry& w,
                       std::string& buf, DirProgress* progress) {
  // O_NONBLOCK: never hang on a FIFO that replaced the file after the walk.
  const int fd = open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP) {
      return {Aborted("replaced by a symlink during the backup"), Status::OK()};
    }
    const char* what = err == ENOENT ? "vanished during the backup" : "cannot open file";
    return {ErrnoToStatus(err, what, abs), Status::OK()};
  }
  FdCloser closer(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return {Aborted("no longer a regular file"), Status::OK()};
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  EntryMeta meta = MetaFromStat(w.rel, st);
  auto sink = builder.BeginFile(meta);
  if (!sink.ok()) return {Status::OK(), sink.status()};
  while (true) {
    const ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      // Dropping the sink without Close() leaves the file out of the snapshot.
      return {ErrnoToStatus(errno, "read failed", abs), Status::OK()};
    }
    if (n == 0) break;
    Status s = (*sink)->Append(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!s.ok()) return {Status::OK(), s};
    if (progress != nullptr) progress->OnBytes(static_cast<uint64_t>(n));
  }
  auto closed = (*sink)->Close();
  if (!closed.ok()) return {Status::OK(), closed.status()};
  return {Status::OK(), Status::OK()};
}

}  // namespace

Result<DirBackupResult> BackupDirectory(Repository& repo, const DirBackupOptions& options,
                                        DirProgress* progress) {
  if (options.path.empty()) {
    return InvalidArgument("no folder given", "Pass the folder to back up: backup dir PATH.");
  }
  for (const std::string& pattern : options.excludes) {
    if (pattern.empty()) {
      return InvalidArgument("empty --exclude pattern", "Give a glob such as '*.tmp'.");
    }
  }
  char resolved[PATH_MAX];
  if (realpath(options.path.c_str(), resolved) == nullptr) {
    return ErrnoToStatus(errno, "cannot back up folder", options.path)
        .WithHint("Check the path: it must be an existing folder.");
  }
  const std::string root(resolved);
  struct stat root_st {};
  if (stat(root.c_str(), &root_st) != 0) {
    return ErrnoToStatus(errno, "cannot back up folder", root);
  }
  if (!S_ISDIR(root_st.st_mode)) {
    return InvalidArgument(root + " is not a folder",
                           "`backup dir` takes a folder; to back up one file, give its folder "
                           "and --exclude the rest.");
  }
  DIR* probe = opendir(root.c_str());
  if (probe == nullptr) {
    return ErrnoToStatus(errno, "cannot read folder", root)
        .WithHint("Run vecsafe as a user that can read the folder.");
  }
  closedir(probe);

  // The walk happens before anything touches the repository, so bad input
  // never leaves a lock or a pack behind.
  Walker walker(root, options);
  walker.Walk("");

  DirBackupResult result;
  const nlohmann::json identity = {{"path", root}};
  VS_ASSIGN_OR_RETURN(std::optional<Manifest> parent, repo.FindLatest("dir", identity));
  SnapshotSpec spec;
  spec.source_kind = "dir";
  spec.source = identity;
  spec.tags = options.tags;
  if (parent.has_value()) {
    spec.parent = parent->id;
    result.parent = parent->id;
  }
  VS_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotBuilder> builder, repo.NewSnapshot(spec));

  if (progress != nullptr) progress->OnTotals(walker.total_bytes_, walker.total_files_);
  for (const DirSkipped& s : walker.skipped_) {
    if (progress != nullptr) progress->OnSkipped(s);
  }
  result.skipped = std::move(walker.skipped_);
  result.excluded = walker.excluded_;

  std::string buf(std::max<size_t>(options.read_block, 4096), '\0');
  for (const WalkEntry& w : walker.entries_) {
    switch (w.type) {
      case EntryType::kDirectory:
        VS_RETURN_IF_ERROR(builder->AddDirectory(w.meta));
        break;
      case EntryType::kSymlink:
        VS_RETURN_IF_ERROR(builder->AddSymlink(w.meta, w.link_target));
        break;
      case EntryType::kFile: {
        if (!options.force && parent.has_value()) {
          VS_ASSIGN_OR_RETURN(bool unchanged, builder->AddUnchangedFile(w.meta));
          if (unchanged) {
            if (progress != nullptr) {
              progress->OnBytes(w.meta.size);
              progress->OnFileDone();
            }
            break;
          }
        }
        const std::string abs = root + "/" + w.rel;
        FileOutcome out = BackupFile(*builder, abs, w, buf, progress);
        VS_RETURN_IF_ERROR(out.fatal);
        if (!out.skip.ok()) {
          DirSkipped s{w.rel, out.skip};
          if (progress != nullptr) progress->OnSkipped(s);
          result.skipped.push_back(std::move(s));
        }
        if (progress != nullptr) progress->OnFileDone();
        break;
      }
    }
  }
  VS_ASSIGN_OR_RETURN(result.manifest, builder->Commit());
  return result;
}

}  // namespace vecsafe::sources
