#include "io/local/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "io/atomic_file.h"

namespace vecsafe {
namespace {

namespace fs = std::filesystem;

}  // namespace

Result<std::unique_ptr<LocalStore>> LocalStore::Open(const fs::path& root,
                                                     const LocalStoreOptions& options) {
  if (root.empty()) {
    return InvalidArgument("empty repository path", "Give a folder, e.g. --repo /srv/backups.");
  }
  std::error_code ec;
  fs::path abs = fs::absolute(root, ec);
  if (ec) return InvalidArgument("cannot resolve path " + root.string() + ": " + ec.message());
  abs = abs.lexically_normal();
  if (abs.has_filename() == false && abs != abs.root_path()) abs = abs.parent_path();
  struct stat st;
  if (::stat(abs.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    return FailedPrecondition(abs.string() + " exists and is not a folder",
                              "Give the repository's folder, not a file in it.");
  }
  return std::unique_ptr<LocalStore>(new LocalStore(std::move(abs), options));
}

StoreCapabilities LocalStore::Capabilities() const {
  StoreCapabilities caps;
  caps.atomic_put = true;
  caps.conditional_put = true;
  caps.ranged_get = true;
  caps.list_after_write = true;
  caps.local_filesystem = true;
  return caps;
}

std::string LocalStore::Describe() const { return root_.string(); }

Result<fs::path> LocalStore::PathOf(std::string_view key) const {
  VS_RETURN_IF_ERROR(ValidateObjectKey(key));
  return root_ / fs::path(std::string(key));
}

Status LocalStore::Put(std::string_view key, std::string_view data, const PutOptions& options) {
  VS_ASSIGN_OR_RETURN(fs::path path, PathOf(key));
  AtomicWriteOptions write_options;
  write_options.sync = options_.sync;
  write_options.if_absent = options.if_absent;
  write_options.create_parents = true;
  write_options.drop_cache = options_.drop_written_packs && data.size() >= kOnePassBytes;
  Status s = WriteFileAtomically(path, data, write_options);
  if (s.code() == ErrorCode::kAlreadyExists) {
    return AlreadyExists("object " + std::string(key) + " already exists in " + root_.string(),
                         s.hint());
  }
  return s;
}

Result<std::string> LocalStore::Get(std::string_view key, uint64_t offset, uint64_t length) {
  std::string out;
  VS_RETURN_IF_ERROR(GetInto(key, offset, length, &out));
  return out;
}

Status LocalStore::GetInto(std::string_view key, uint64_t offset, uint64_t length,
                           std::string* out) {
  VS_ASSIGN_OR_RETURN(fs::path path, PathOf(key));
  Status s = ReadFileRangeInto(path, offset, length, out, CacheUse::kLeaveAsFound);
  if (s.code() == ErrorCode::kNotFound || s.code() == ErrorCode::kInvalidArgument) {
    return NotFound("object " + std::string(key) + " not found in " + root_.string());
  }
  return s;
}

Result<ObjectInfo> LocalStore::Stat(std::string_view key) {
  VS_ASSIGN_OR_RETURN(fs::path path, PathOf(key));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return NotFound("object " + std::string(key) + " not found in " + root_.string());
    }
    return ErrnoToStatus(err, "cannot stat", path.string());
  }
  if (!S_ISREG(st.st_mode)) {
    return NotFound("object " + std::string(key) + " not found in " + root_.string() +
                    " (that name is a folder)");
  }
  ObjectInfo info;
  info.key = std::string(key);
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime_unix = static_cast<int64_t>(st.st_mtime);
  return info;
}

Status LocalStore::List(std::string_view prefix,
                        const std::function<Status(const ObjectInfo&)>& fn) {
  if (!prefix.empty() && prefix.front() == '/') {
    return InvalidArgument("list prefix starts with '/': " + std::string(prefix));
  }
  const size_t slash = prefix.rfind('/');
  const std::string folder_key =
      slash == std::string_view::npos ? std::string() : std::string(prefix.substr(0, slash + 1));
  if (!folder_key.empty()) {
    // "data/ab/" must be a valid key path once the trailing '/' is dropped.
    VS_RETURN_IF_ERROR(
        ValidateObjectKey(std::string_view(folder_key).substr(0, folder_key.size() - 1))
            .WithContext("bad list prefix"));
  }
  const std::string_view name_prefix =
      slash == std::string_view::npos ? prefix : prefix.substr(slash + 1);
  return ListFolder(folder_key, name_prefix, fn);
}

Status LocalStore::ListFolder(const std::string& folder_key, std::string_view name_prefix,
                              const std::function<Status(const ObjectInfo&)>& fn) {
  const fs::path dir = folder_key.empty() ? root_ : root_ / folder_key;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
    return ErrnoToStatus(errno, "cannot list folder", dir.string());
  }
  const int dfd = ::dirfd(d);
  Status result;
  while (result.ok()) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) result = ErrnoToStatus(errno, "cannot list folder", dir.string());
      break;
    }
    const std::string_view name = e->d_name;
    if (name == "." || name == ".." || IsTemporaryFileName(name)) continue;
    if (name.substr(0, name_prefix.size()) != name_prefix) continue;
    bool is_dir = e->d_type == DT_DIR;
    bool is_file = e->d_type == DT_REG;
    struct stat st;
    bool have_stat = false;
    if (!is_dir) {
      // Regular files need size and mtime; DT_UNKNOWN and symlinks need the type.
      if (::fstatat(dfd, e->d_name, &st, 0) != 0) {
        if (errno == ENOENT) continue;  // deleted while we listed
        result = ErrnoToStatus(errno, "cannot stat", (dir / e->d_name).string());
        break;
      }
      have_stat = true;
      is_file = S_ISREG(st.st_mode);
      // Recurse only into real folders (a symlinked folder could loop).
      is_dir = e->d_type == DT_UNKNOWN && S_ISDIR(st.st_mode);
    }
    if (is_dir) {
      result = ListFolder(folder_key + std::string(name) + "/", "", fn);
    } else if (is_file && have_stat) {
      ObjectInfo info;
      info.key = folder_key + std::string(name);
      info.size = static_cast<uint64_t>(st.st_size);
      info.mtime_unix = static_cast<int64_t>(st.st_mtime);
      result = fn(info);
    }
  }
  ::closedir(d);
  return result;
}

Status LocalStore::Delete(std::string_view key) {
  VS_ASSIGN_OR_RETURN(fs::path path, PathOf(key));
  if (::unlink(path.c_str()) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return Status::OK();
    if (err == EISDIR || err == EPERM) {
      struct stat st;
      if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        return FailedPrecondition(path.string() + " is a folder, not an object",
                                  "Delete the objects inside it instead.");
      }
    }
    return ErrnoToStatus(err, "cannot delete", path.string());
  }
  if (options_.sync) {
    // kNotFound: a concurrent Delete removed the emptied folder (and synced its parent).
    Status s = SyncDirectory(path.parent_path());
    if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
  }
  // Remove fan-out folders left empty ("data/ab/"), never the top-level one.
  std::string_view folder = key.substr(0, key.rfind('/'));
  while (folder.find('/') != std::string_view::npos) {
    const fs::path dir = root_ / fs::path(std::string(folder));
    if (::rmdir(dir.c_str()) != 0) break;  // not empty, or already gone: both fine
    if (options_.sync) {
      Status s = SyncDirectory(dir.parent_path());
      if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
    }
    folder = folder.substr(0, folder.rfind('/'));
  }
  return Status::OK();
}

Result<uint64_t> LocalStore::CleanupTemporaryFiles(std::chrono::seconds min_age) {
  return RemoveStaleTemporaryFiles(root_, min_age, /*recursive=*/true);
}

}  // namespace vecsafe
