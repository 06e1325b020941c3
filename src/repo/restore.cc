// Reading snapshots back: FileReader (one file, streamed), RestoreToDirectory
// (whole trees, parallel by pack) and ExportTar.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "io/atomic_file.h"
#include "repo/format.h"
#include "repo/repo_impl.h"

namespace vecsafe::repo {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kReadAheadBytes = 8u << 20;
constexpr size_t kWriteBatchBytes = 4u << 20;  // decoded bytes per restore worker

bool UnderPrefix(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return true;
  if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

class FileReaderImpl : public FileReader {
 public:
  FileReaderImpl(RepositoryImpl* repo, const FileEntry& entry) : repo_(repo), size_(entry.size) {
    for (const auto& hex : entry.chunks) {
      auto id = ParseHash256(hex);
      ids_.push_back(id.ok() ? *id : Hash256{});
    }
  }

  uint64_t size() const override { return size_; }

  Result<size_t> Read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      if (pos_ == cur_.size()) {
        if (ready_.empty()) {
          if (next_ == ids_.size()) break;
          VS_RETURN_IF_ERROR(Fetch());
        }
        cur_ = std::move(ready_.front());
        ready_.pop_front();
        pos_ = 0;
        continue;
      }
      size_t take = std::min(n - done, cur_.size() - pos_);
      std::memcpy(buf + done, cur_.data() + pos_, take);
      pos_ += take;
      done += take;
    }
    return done;
  }

 private:
  // Reads the next run of chunks that sit back to back in one pack with a
  // single ranged Get, decodes and checks each.
  Status Fetch() {
    std::vector<std::pair<Hash256, BlobLocation>> run;
    uint64_t total = 0;
    while (next_ < ids_.size()) {
      auto loc = repo_->FindBlob(ids_[next_]);
      if (!loc.has_value()) {
        if (!run.empty()) break;
        VS_RETURN_IF_ERROR(repo_->CheckIndexHealthy());
        return NotFound("chunk " + HexEncode(ids_[next_]).substr(0, 16) + " is not in the index",
                        "The repository is missing data; run `vecsafe verify`.");
      }
      if (!run.empty()) {
        const BlobLocation& prev = run.back().second;
        if (loc->pack != prev.pack || loc->offset != prev.offset + prev.length ||
            total + loc->length > kReadAheadBytes) {
          break;
        }
      }
      total += loc->length;
      run.emplace_back(ids_[next_], *loc);
      ++next_;
    }
    std::string key = PackKey(repo_->PackIdAt(run.front().second.pack));
    uint64_t start = run.front().second.offset;
    VS_ASSIGN_OR_RETURN(std::string bytes, repo_->store().Get(key, start, total));
    if (bytes.size() != total) {
      return DataLoss("pack " + key + " is truncated (" + std::to_string(bytes.size()) + " of " +
                      std::to_string(total) + " bytes at offset " + std::to_string(start) + ")");
    }
    for (const auto& [id, loc] : run) {
      std::string plain;
      plain.reserve(loc.raw_length);
      VS_RETURN_IF_ERROR(repo_->DecodeBlob(
          id, std::string_view(bytes).substr(loc.offset - start, loc.length), &plain));
      ready_.push_back(std::move(plain));
    }
    return Status::OK();
  }

  RepositoryImpl* repo_;
  uint64_t size_;
  std::vector<Hash256> ids_;
  size_t next_ = 0;
  std::deque<std::string> ready_;
  std::string cur_;
  size_t pos_ = 0;
};

Status ErrnoStatus(std::string_view what, const std::string& path) {
  return ErrnoToStatus(errno, what, path);
}

// Access and modification time, both set to the snapshot's mtime.
void MtimeSpecs(int64_t mtime_ns, timespec (&ts)[2]) {
  ts[0].tv_sec = mtime_ns / 1000000000;
  ts[0].tv_nsec = mtime_ns % 1000000000;
  if (ts[0].tv_nsec < 0) {
    ts[0].tv_nsec += 1000000000;
    --ts[0].tv_sec;
  }
  ts[1] = ts[0];
}

Status SetTimes(const std::string& path, int64_t mtime_ns, bool symlink) {
  timespec ts[2];
  MtimeSpecs(mtime_ns, ts);
  if (utimensat(AT_FDCWD, path.c_str(), ts, symlink ? AT_SYMLINK_NOFOLLOW : 0) != 0) {
    return ErrnoStatus("cannot set the modification time of", path);
  }
  return Status::OK();
}

// Sets the mode and mtime of a restored file or folder through one
// descriptor and, with `sync`, fsyncs it (data and the new metadata).
Status FinishEntry(const fs::path& path, const FileEntry& e, bool sync) {
  const bool dir = e.type == EntryType::kDirectory;
  int fd = ::open(path.c_str(), (dir ? O_RDONLY | O_DIRECTORY : O_WRONLY) | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", path.string());
  Status s;
  timespec ts[2];
  MtimeSpecs(e.mtime_ns, ts);
  if (::fchmod(fd, e.mode & 07777) != 0) {
    s = ErrnoStatus("cannot set the mode of", path.string());
  } else if (::futimens(fd, ts) != 0) {
    s = ErrnoStatus("cannot set the modification time of", path.string());
  } else if (sync && ::fsync(fd) != 0) {
    s = ErrnoStatus("cannot sync", path.string());
  }
  ::close(fd);
  return s;
}

std::string UtcStamp() {
  std::string t = FormatTimeNs(NowUnixNs());  // 2026-11-22T00:07:13.123456789Z
  std::string out;
  for (char c : t.substr(0, 19)) {
    if (c != '-' && c != ':') out += c;
  }
  return out + "Z";
}

// Moves every entry of `from` into `to` (both directories), replacing files.
Status MergeInto(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(from, ec)) {
    fs::path dest = to / e.path().filename();
    auto st = fs::symlink_status(dest, ec);
    bool dest_exists = fs::exists(st);
    if (e.is_directory(ec) && !e.is_symlink(ec) && dest_exists && fs::is_directory(st)) {
      VS_RETURN_IF_ERROR(MergeInto(e.path(), dest));
      // Directory metadata was set on the restored copy; carry it over.
      struct stat s {};
      if (::lstat(e.path().c_str(), &s) == 0) {
        ::chmod(dest.c_str(), s.st_mode & 07777);
        timespec ts[2] = {s.st_mtim, s.st_mtim};
        utimensat(AT_FDCWD, dest.c_str(), ts, 0);
      }
      continue;
    }
    if (dest_exists && fs::is_directory(st) && !fs::is_symlink(st)) {
      return Status(ErrorCode::kAlreadyExists,
                    "cannot overwrite directory " + dest.string() + " with a file",
                    "Restore into an empty folder, or use in-place restore.");
    }
    if (::rename(e.path().c_str(), dest.c_str()) != 0) {
      return ErrnoStatus("cannot move restored file into place", dest.string());
    }
  }
  return Status::OK();
}

// The first error of several threads; the others see it and stop.
class FirstError {
 public:
  bool Seen() const {
    std::lock_guard<std::mutex> lk(mu_);
    return !status_.ok();
  }
  void Keep(Status s) {
    std::lock_guard<std::mutex> lk(mu_);
    if (status_.ok()) status_ = std::move(s);
  }
  // Only once the threads are joined.
  const Status& status() const { return status_; }

 private:
  mutable std::mutex mu_;
  Status status_;
};

// Runs `body` on `n` threads and waits for them.
void RunThreads(int n, const std::function<void()>& body) {
  std::vector<std::thread> pool;
  for (int t = 0; t < n; ++t) pool.emplace_back(body);
  for (auto& t : pool) t.join();
}

struct RestoreTarget {
  uint32_t file = 0;  // index into the selected files
  uint64_t file_offset = 0;
};

struct PackWork {
  uint32_t pack = 0;
  // (blob offset in pack) -> blob and where it goes
  struct Blob {
    Hash256 id{};
    BlobLocation loc;
    std::vector<RestoreTarget> targets;
  };
  std::vector<Blob> blobs;
};

}  // namespace

Result<std::unique_ptr<FileReader>> RepositoryImpl::OpenFile(const Manifest& manifest,
                                                             std::string_view path) {
  const FileEntry* e = manifest.Find(path);
  if (e == nullptr || e->type != EntryType::kFile) {
    return NotFound("snapshot " + manifest.ShortId() + " has no file '" + std::string(path) + "'",
                    "List its files with `vecsafe ls " + manifest.ShortId() + "`.");
  }
  return std::unique_ptr<FileReader>(std::make_unique<FileReaderImpl>(this, *e));
}

Result<RestoreResult> RepositoryImpl::RestoreToDirectory(const Manifest& manifest,
                                                         const std::string& target_in,
                                                         const RestoreOptions& options) {
  if (target_in.empty()) return InvalidArgument("no restore target given");
  fs::path target = fs::absolute(fs::path(target_in)).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  std::string prefix = options.path_prefix;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();

  std::vector<const FileEntry*> selected;
  for (const auto& e : manifest.entries) {
    if (UnderPrefix(e.path, prefix)) selected.push_back(&e);
  }
  if (selected.empty() && !prefix.empty()) {
    return NotFound("snapshot " + manifest.ShortId() + " has nothing under '" + prefix + "'",
                    "Check the path; it is relative to the snapshot's root.");
  }

  std::error_code ec;
  auto tst = fs::symlink_status(target, ec);
  bool exists = fs::exists(tst);
  bool non_empty = false;
  if (exists) {
    if (!fs::is_directory(tst)) {
      return Status(ErrorCode::kAlreadyExists,
                    "restore target " + target.string() + " exists and is not a folder",
                    "Choose a new folder or remove that file.");
    }
    non_empty = !fs::is_empty(target, ec);
    if (non_empty && !options.overwrite && !options.in_place) {
      return Status(ErrorCode::kAlreadyExists,
                    "restore target " + target.string() + " is not empty",
                    "Restore into a new or empty folder, or pass --overwrite (replace files "
                    "in it) or --in-place (move the old folder aside).");
    }
  }
  VS_ASSIGN_OR_RETURN(auto lock, LockToRead(manifest, "restore"));
  fs::create_directories(target.parent_path(), ec);
  if (ec) return IoError("cannot create " + target.parent_path().string() + ": " + ec.message());

  uint8_t rnd[6];
  VS_RETURN_IF_ERROR(RandomBytes(rnd, sizeof(rnd)));
  fs::path temp = target.parent_path() /
                  ("." + target.filename().string() + ".vecsafe-restore-" + HexEncode(rnd, 6));
  if (::mkdir(temp.c_str(), 0700) != 0) return ErrnoStatus("cannot create", temp.string());
  auto cleanup = [&] { fs::remove_all(temp, ec); };

  RestoreResult result;
  std::vector<const FileEntry*> files;
  uint64_t total_bytes = 0;
  // Directories and symlinks first, files created at their full size.
  for (const FileEntry* e : selected) {
    fs::path p = temp / e->path;
    fs::create_directories(p.parent_path(), ec);
    if (e->type == EntryType::kDirectory) {
      fs::create_directories(p, ec);
      if (ec) {
        cleanup();
        return IoError("cannot create " + p.string() + ": " + ec.message());
      }
      ++result.dirs;
    } else if (e->type == EntryType::kSymlink) {
      if (::symlink(e->link_target.c_str(), p.c_str()) != 0) {
        Status s = ErrnoStatus("cannot create symlink", p.string());
        cleanup();
        return s;
      }
    } else {
      int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(e->size)) != 0) {
        Status s = ErrnoStatus("cannot create", p.string());
        if (fd >= 0) ::close(fd);
        cleanup();
        return s;
      }
      ::close(fd);
      files.push_back(e);
      total_bytes += e->size;
    }
  }

  // Plan: every needed blob grouped by pack, each with all its destinations.
  std::map<uint32_t, std::map<uint64_t, PackWork::Blob>> plan;
  size_t max_raw = 0;  // the largest chunk
  for (uint32_t fi = 0; fi < files.size(); ++fi) {
    uint64_t off = 0;
    for (const auto& hex : files[fi]->chunks) {
      auto id = ParseHash256(hex);
      std::optional<BlobLocation> loc;
      if (id.ok()) loc = FindBlob(*id);
      if (!loc.has_value()) {
        cleanup();
        VS_RETURN_IF_ERROR(CheckIndexHealthy());
        return NotFound(
            "chunk " + hex.substr(0, 16) + " of '" + files[fi]->path + "' is not in the repository",
            "Run `vecsafe verify`; restore another snapshot.");
      }
      max_raw = std::max<size_t>(max_raw, loc->raw_length);
      auto& blob = plan[loc->pack][loc->offset];
      blob.id = *id;
      blob.loc = *loc;
      blob.targets.push_back({fi, off});
      off += loc->raw_length;
    }
    if (off != files[fi]->size) {
      cleanup();
      return DataLoss("snapshot " + manifest.ShortId() + " is inconsistent: chunks of '" +
                      files[fi]->path + "' add up to " + std::to_string(off) + " bytes, not " +
                      std::to_string(files[fi]->size));
    }
  }
  std::vector<PackWork> work;
  work.reserve(plan.size());
  for (auto& [pack, blobs] : plan) {
    PackWork w;
    w.pack = pack;
    for (auto& [off, b] : blobs) w.blobs.push_back(std::move(b));
    work.push_back(std::move(w));
  }
  // Workers take packs in list order. A file system serialises the writes
  // to one file (the inode lock), so two workers on packs of the same big
  // file mostly wait for each other: spread each file's packs evenly over
  // the list, so that neighbours belong to different files.
  {
    std::vector<uint32_t> main_file(work.size());
    std::map<uint32_t, size_t> packs_of;
    for (size_t i = 0; i < work.size(); ++i) {
      main_file[i] = work[i].blobs.front().targets.front().file;
      ++packs_of[main_file[i]];
    }
    std::map<uint32_t, size_t> seen;
    std::vector<std::pair<double, size_t>> order;
    order.reserve(work.size());
    for (size_t i = 0; i < work.size(); ++i) {
      const size_t k = seen[main_file[i]]++;
      order.emplace_back(
          (static_cast<double>(k) + 0.5) / static_cast<double>(packs_of[main_file[i]]), i);
    }
    std::sort(order.begin(), order.end());
    std::vector<PackWork> spread;
    spread.reserve(work.size());
    for (const auto& [key, i] : order) spread.push_back(std::move(work[i]));
    work = std::move(spread);
  }

  // Encrypted, a blob opens only if its AES-GCM tag holds for the chunk id it
  // was sealed with (the id is its associated data): a damaged or swapped blob
  // is refused without hashing it again (a fifth of restore's CPU time).
  // Plaintext blobs have no tag, so their ids are checked. verify --read-data
  // re-hashes every chunk either way.
  const bool check_ids = !codec_->encrypted();
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done_bytes{0};
  FirstError first_error;
  std::mutex progress_mu;
  // Per worker: the stored bytes of one pack, and the chunks decoded from it
  // back to back (a fixed buffer: decoding into a growing string zero-filled
  // every byte first, 5 % of a restore's time).
  const size_t batch_cap = kWriteBatchBytes + max_raw;
  auto worker = [&] {
    std::string stored;
    std::unique_ptr<char[]> batch_buf = std::make_unique_for_overwrite<char[]>(batch_cap);
    char* const batch = batch_buf.get();
    size_t batch_size = 0;
    while (!first_error.Seen()) {
      size_t i = next.fetch_add(1);
      if (i >= work.size()) return;
      const PackWork& w = work[i];
      std::string key = PackKey(PackIdAt(w.pack));
      uint64_t start = w.blobs.front().loc.offset;
      uint64_t end = w.blobs.back().loc.offset + w.blobs.back().loc.length;
      Status s = store().GetInto(key, start, end - start, &stored);
      if (!s.ok()) {
        s = s.WithContext("reading pack " + key);
      } else if (stored.size() != end - start) {
        s = DataLoss("pack " + key + " is truncated");
      }
      // Chunks decode back to back into `batch`; a stretch of them that is
      // also back to back in one file goes out in a single pwrite (fewer
      // trips through the file's lock).
      int fd = -1;
      uint32_t fd_file = UINT32_MAX;
      RestoreTarget run;  // the pending write: batch[run_at, run_at + run_len)
      size_t run_at = 0, run_len = 0;
      auto write_out = [&](const RestoreTarget& t, size_t at, size_t len) -> Status {
        if (t.file != fd_file) {
          if (fd >= 0) ::close(fd);
          fs::path p = temp / files[t.file]->path;
          fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
          fd_file = t.file;
          if (fd < 0) return ErrnoStatus("cannot open", p.string());
        }
        size_t off = 0;
        while (off < len) {
          ssize_t n =
              ::pwrite(fd, batch + at + off, len - off, static_cast<off_t>(t.file_offset + off));
          if (n < 0) {
            if (errno == EINTR) continue;
            return ErrnoStatus("cannot write", (temp / files[t.file]->path).string());
          }
          off += static_cast<size_t>(n);
        }
        // Start the writeback now, so that it overlaps decoding and the
        // fsync at the end mostly finds it done.
        if (options.sync) {
          ::sync_file_range(fd, static_cast<off_t>(t.file_offset), static_cast<off_t>(len),
                            SYNC_FILE_RANGE_WRITE);
        }
        done_bytes.fetch_add(len);
        return Status::OK();
      };
      auto flush = [&]() -> Status {
        if (run_len == 0) return Status::OK();
        Status ws = write_out(run, run_at, run_len);
        run_len = 0;
        return ws;
      };
      batch_size = 0;
      for (const auto& b : w.blobs) {
        if (!s.ok()) break;
        if (batch_size >= kWriteBatchBytes) {
          s = flush();
          if (!s.ok()) break;
          batch_size = 0;
        }
        const size_t at = batch_size;
        auto decoded =
            DecodeBlobTo(b.id, std::string_view(stored).substr(b.loc.offset - start, b.loc.length),
                         batch + at, batch_cap - at, check_ids);
        if (!decoded.ok()) {
          s = decoded.status().WithContext("restoring '" + files[b.targets.front().file]->path +
                                           "'");
          break;
        }
        const size_t len = *decoded;
        batch_size += len;
        const RestoreTarget& t0 = b.targets.front();
        if (b.targets.size() == 1 && run_len > 0 && t0.file == run.file &&
            t0.file_offset == run.file_offset + run_len) {
          run_len += len;
          continue;
        }
        s = flush();
        if (!s.ok()) break;
        if (b.targets.size() == 1) {
          run = t0;
          run_at = at;
          run_len = len;
          continue;
        }
        for (const auto& t : b.targets) {  // a chunk used more than once
          s = write_out(t, at, len);
          if (!s.ok()) break;
        }
      }
      if (s.ok()) s = flush();
      if (fd >= 0) ::close(fd);
      if (!s.ok()) {
        first_error.Keep(std::move(s));
        return;
      }
      if (options.progress) {
        std::lock_guard<std::mutex> lk(progress_mu);
        options.progress(done_bytes.load(), total_bytes);
      }
    }
  };
  RunThreads(std::max(1, std::min<int>(reader_threads(), static_cast<int>(work.size()))), worker);
  if (first_error.Seen()) {
    cleanup();
    return first_error.status();
  }

  // Metadata, and with options.sync the data made durable: files (in
  // parallel, so that one file's writeback overlaps the others'), then
  // directories deepest first (writing into a directory changes its mtime).
  // Each is changed through a descriptor opened while its mode is still ours,
  // so a snapshot's 0400 file or 0500 folder is still synced.
  std::atomic<size_t> next_file{0};
  RunThreads(std::max(1, std::min<int>(reader_threads(), static_cast<int>(files.size()))), [&] {
    while (!first_error.Seen()) {
      size_t i = next_file.fetch_add(1);
      if (i >= files.size()) return;
      Status s = FinishEntry(temp / files[i]->path, *files[i], options.sync);
      if (!s.ok()) first_error.Keep(std::move(s));
    }
  });
  if (first_error.Seen()) {
    cleanup();
    return first_error.status();
  }
  for (const FileEntry* e : files) {
    ++result.files;
    result.bytes += e->size;
  }
  std::vector<const FileEntry*> others;
  std::set<std::string> entry_dirs;
  for (const FileEntry* e : selected) {
    if (e->type == EntryType::kFile) continue;
    others.push_back(e);
    if (e->type == EntryType::kDirectory) entry_dirs.insert(e->path);
  }
  std::sort(others.begin(), others.end(),
            [](const FileEntry* a, const FileEntry* b) { return a->path.size() > b->path.size(); });
  for (const FileEntry* e : others) {
    std::string p = (temp / e->path).string();
    if (e->type == EntryType::kDirectory) {
      ::chmod(p.c_str(), (e->mode & 07777) | 0700);  // owner must be able to finish the move
    } else {
      SetTimes(p, e->mtime_ns, /*symlink=*/true).IgnoreError();  // folders: FinishEntry below
    }
  }
  for (const FileEntry* e : others) {
    if (e->type != EntryType::kDirectory) continue;
    Status s = FinishEntry(temp / e->path, *e, options.sync);
    if (!s.ok()) {
      cleanup();
      return s;
    }
  }
  // With sync: the folders that hold restored entries but are not entries
  // themselves (the parents of an --include prefix, the root).
  std::set<std::string> holders;
  if (options.sync) {
    for (const FileEntry* e : selected) {
      for (fs::path d = fs::path(e->path).parent_path(); !d.empty(); d = d.parent_path()) {
        if (!holders.insert(d.string()).second) break;
      }
    }
    holders.insert("");
    for (const auto& d : holders) {
      if (entry_dirs.count(d) != 0) continue;  // synced above
      Status s = SyncDirectory(d.empty() ? temp : temp / d);
      if (!s.ok()) {
        cleanup();
        return s.WithContext("syncing the restored tree");
      }
    }
  }

  // Into place.
  if (exists && non_empty && options.in_place) {
    fs::path aside = target.string() + ".vecsafe-old-" + UtcStamp();
    if (::rename(target.c_str(), aside.c_str()) != 0) {
      Status s = ErrnoStatus("cannot move the old folder aside", target.string());
      cleanup();
      return s;
    }
    result.moved_aside = aside.string();
    non_empty = false;
    exists = false;
  }
  if (exists && non_empty) {
    Status s = MergeInto(temp, target);
    cleanup();
    VS_RETURN_IF_ERROR(s);
    if (options.sync) {
      // The renamed entries live in the target's folders now.
      holders.insert(entry_dirs.begin(), entry_dirs.end());
      for (const auto& d : holders) {
        VS_RETURN_IF_ERROR(SyncDirectory(d.empty() ? target : target / d)
                               .WithContext("syncing the restored tree"));
      }
    }
  } else {
    if (exists) ::rmdir(target.c_str());
    if (::rename(temp.c_str(), target.c_str()) != 0) {
      Status s = ErrnoStatus("cannot move the restored tree into place", target.string());
      cleanup();
      return s;
    }
    if (options.sync) {
      VS_RETURN_IF_ERROR(
          SyncDirectory(target.parent_path()).WithContext("syncing the restored tree"));
    }
  }
  if (options.progress) options.progress(total_bytes, total_bytes);
  return result;
}

Status RepositoryImpl::ExportTar(const Manifest& manifest, const std::string& out_path,
                                 const ExportOptions& options) {
  std::string prefix = options.path_prefix;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  uint64_t total = 0;
  size_t matched = 0;
  for (const auto& e : manifest.entries) {
    if (!UnderPrefix(e.path, prefix)) continue;
    ++matched;
    if (e.type == EntryType::kFile) total += e.size;
  }
  if (matched == 0 && !prefix.empty()) {
    return NotFound("snapshot " + manifest.ShortId() + " has nothing under '" + prefix + "'");
  }
  VS_ASSIGN_OR_RETURN(auto lock, LockToRead(manifest, "export"));
  uint8_t rnd[6];
  VS_RETURN_IF_ERROR(RandomBytes(rnd, sizeof(rnd)));
  std::string temp = out_path + ".vecsafe-tmp-" + HexEncode(rnd, 6);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot create", temp);
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  Status status;
  if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
    status = IoError(std::string("cannot start tar: ") + archive_error_string(a));
  }
  std::vector<char> buf(1 << 20);
  uint64_t done = 0;
  for (const auto& e : manifest.entries) {
    if (!status.ok()) break;
    if (!UnderPrefix(e.path, prefix)) continue;
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_perm(ae, e.mode & 07777);
    archive_entry_set_mtime(ae, e.mtime_ns / 1000000000, e.mtime_ns % 1000000000);
    if (e.type == EntryType::kDirectory) {
      archive_entry_set_filetype(ae, AE_IFDIR);
    } else if (e.type == EntryType::kSymlink) {
      archive_entry_set_filetype(ae, AE_IFLNK);
      archive_entry_set_symlink(ae, e.link_target.c_str());
    } else {
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_size(ae, static_cast<la_int64_t>(e.size));
    }
    if (archive_write_header(a, ae) != ARCHIVE_OK) {
      status = IoError("cannot write tar header for '" + e.path + "': " + archive_error_string(a));
    }
    archive_entry_free(ae);
    if (!status.ok() || e.type != EntryType::kFile) continue;
    FileReaderImpl reader(this, e);
    uint64_t got_total = 0;
    while (status.ok()) {
      auto got = reader.Read(buf.data(), buf.size());
      if (!got.ok()) {
        status = got.status().WithContext("exporting '" + e.path + "'");
        break;
      }
      if (*got == 0) break;
      if (archive_write_data(a, buf.data(), *got) < 0) {
        status = IoError(std::string("cannot write tar data: ") + archive_error_string(a));
      }
      got_total += *got;
      done += *got;
      if (options.progress) options.progress(done, total);
    }
    if (status.ok() && got_total != e.size) {
      status =
          DataLoss("snapshot " + manifest.ShortId() + " is inconsistent: '" + e.path + "' has " +
                   std::to_string(got_total) + " bytes, not " + std::to_string(e.size));
    }
  }
  if (archive_write_close(a) != ARCHIVE_OK && status.ok()) {
    status = IoError(std::string("cannot finish tar: ") + archive_error_string(a));
  }
  archive_write_free(a);
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoStatus("cannot sync", temp);
  ::close(fd);
  if (status.ok() && ::rename(temp.c_str(), out_path.c_str()) != 0) {
    status = ErrnoStatus("cannot move the tar into place", out_path);
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  std::string dir = fs::path(fs::absolute(out_path)).parent_path().string();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

}  // namespace vecsafe::repo
