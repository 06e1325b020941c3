#include "sources/chroma/hot_backup.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

#include "sources/chroma/checker.h"
#include "sources/chroma/chroma_model.h"
#include "sources/chroma/sqlite_reader.h"

namespace vecsafe::chroma {
namespace {

namespace fs = std::filesystem;

// The clock the kernel stamps file mtimes with (current_time() reads the
// coarse real-time clock).
int64_t CoarseNowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// SQLite's lock bytes in the unix VFS (os_unix.c): PENDING_BYTE, then
// RESERVED_BYTE, then the 510-byte SHARED range. A writer holds a write lock
// on one of them from its first write until its commit ends.
constexpr off_t kSqlitePendingByte = 0x40000000;
constexpr off_t kSqliteLockBytes = 2 + 510;

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// Streams one file into the builder. `mtime_ns` is recorded for the entry.
Status StreamFile(SnapshotBuilder& builder, const std::string& file, const std::string& rel,
                  int64_t mtime_ns, std::vector<char>& buf) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "open", file);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoToStatus(err, "stat", file);
  }
  EntryMeta m;
  m.path = rel;
  m.mode = st.st_mode & 07777;
  m.size = static_cast<uint64_t>(st.st_size);
  m.mtime_ns = mtime_ns;
  auto sink = builder.BeginFile(m);
  if (!sink.ok()) {
    ::close(fd);
    return sink.status();
  }
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoToStatus(err, "read", file);
    }
    if (n == 0) break;
    Status s = (*sink)->Append(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!s.ok()) {
      ::close(fd);
      return s;
    }
  }
  ::close(fd);
  return (*sink)->Close().status();
}

}  // namespace

Status CopySqliteOnline(const std::string& src_file, const std::string& dst_file,
                        const HotCopyOptions& o) {
  if (::access(src_file.c_str(), F_OK) != 0) return ErrnoToStatus(errno, "open", src_file);
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  const std::string uri = "file:" + SqliteUriPath(src_file) + "?mode=ro";
  int rc = sqlite3_open_v2(uri.c_str(), &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_open_v2(dst_file.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                         nullptr);
  }
  if (rc != SQLITE_OK) {
    std::string msg = sqlite3_errstr(rc);
    sqlite3_close(src);
    sqlite3_close(dst);
    return IoError("cannot open " + src_file + " for backup: " + msg);
  }
  // The source may be locked by a writer for a moment: wait for it.
  sqlite3_busy_timeout(src, 50);
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (b == nullptr) {
    std::string msg = sqlite3_errmsg(dst);
    sqlite3_close(src);
    sqlite3_close(dst);
    return IoError("cannot start the SQLite backup of " + src_file + ": " + msg);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
  int pages = std::max(1, o.pages_per_step);
  int restarts = 0;
  int last_remaining = -1;
  while (true) {
    rc = sqlite3_backup_step(b, pages);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    const int remaining = sqlite3_backup_remaining(b);
    if (rc == SQLITE_OK && last_remaining >= 0 && remaining > last_remaining) {
      // A write by Chroma restarted the copy. Grow the step so it ends.
      if (++restarts % std::max(1, o.restarts_per_growth) == 0 && pages > 0) {
        pages = pages >= (1 << 20) ? -1 : pages * 2;
      }
    }
    if (rc == SQLITE_OK) last_remaining = remaining;
    if (std::chrono::steady_clock::now() > deadline) {
      rc = SQLITE_BUSY;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(o.sleep_ms));
  }
  sqlite3_backup_finish(b);
  const std::string msg = sqlite3_errstr(rc);
  sqlite3_close(src);
  sqlite3_close(dst);
  if (rc == SQLITE_DONE) return Status::OK();
  if (rc == SQLITE_FULL) {
    return Status(ErrorCode::kNoSpace, "disk full while copying " + src_file + ": " + msg,
                  "Free space in the temporary folder (TMPDIR or --temp-dir).");
  }
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) {
    return DataLoss(src_file + " is damaged: " + msg,
                    "Run `vecsafe check chroma PATH`; restore from an earlier snapshot.");
  }
  return IoError("SQLite backup of " + src_file + " failed: " + msg);
}

FolderStamp StampFolder(const std::string& folder) {
  FolderStamp out;
  DIR* d = ::opendir(folder.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::stat((folder + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      out[name] = {static_cast<uint64_t>(st.st_size), MtimeNs(st),
                   static_cast<uint64_t>(st.st_ino)};
    }
  }
  ::closedir(d);
  return out;
}

FolderStamp StampFolderForChanges(const std::string& folder) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (true) {
    // Read the clock first: a file whose mtime is older than it cannot be
    // written again without getting a newer mtime.
    const int64_t now = CoarseNowNs();
    FolderStamp s = StampFolder(folder);
    const bool fresh =
        std::any_of(s.begin(), s.end(), [&](const auto& kv) { return kv.second.mtime_ns >= now; });
    if (!fresh || std::chrono::steady_clock::now() >= give_up) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Result<bool> SqliteWriteLockHeld(const std::string& db_file) {
  // Closing any descriptor of a file drops every POSIX lock this process
  // holds on it, SQLite's own included (another thread may have the file
  // open), so the probe's descriptor is opened once per file and kept.
  static std::mutex mu;
  static std::map<std::pair<dev_t, ino_t>, int> probes;
  struct stat st {};
  if (::stat(db_file.c_str(), &st) != 0) return ErrnoToStatus(errno, "stat", db_file);
  int fd = -1;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = probes.find({st.st_dev, st.st_ino});
    if (it == probes.end()) {
      fd = ::open(db_file.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return ErrnoToStatus(errno, "open", db_file);
      probes[{st.st_dev, st.st_ino}] = fd;
    } else {
      fd = it->second;
    }
  }
  struct flock fl {};
  fl.l_type = F_RDLCK;  // conflicts with write locks only: readers do not count
  fl.l_whence = SEEK_SET;
  fl.l_start = kSqlitePendingByte;
  fl.l_len = kSqliteLockBytes;
  if (::fcntl(fd, F_GETLK, &fl) != 0) return ErrnoToStatus(errno, "fcntl(F_GETLK)", db_file);
  return fl.l_type != F_UNLCK;
}

Result<bool> WaitForNoSqliteWriter(const std::string& db_file, int max_wait_ms) {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, max_wait_ms));
  while (true) {
    VS_ASSIGN_OR_RETURN(bool held, SqliteWriteLockHeld(db_file));
    if (!held) return true;
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Result<std::map<std::string, int64_t>> VectorMaxSeqIds(const std::string& db_file) {
  VS_ASSIGN_OR_RETURN(auto db, SqliteReader::Open(db_file));
  std::map<std::string, int64_t> out;
  VS_RETURN_IF_ERROR(db->Query(
      std::string("SELECT s.id, m.seq_id FROM segments s LEFT JOIN max_seq_id m ON m.segment_id "
                  "= s.id WHERE s.type = '") +
          kVectorSegmentType + "'",
      [&](const SqlRow& r) {
        out[r.Text(0)] = r.IsNull(1) ? 0 : DecodeSeqId(r.Type(1), r.Int(1), r.Blob(1)).value_or(0);
      }));
  return out;
}

Result<TempDir> TempDir::Make(const std::string& parent_or_empty) {
  std::string parent = parent_or_empty;
  if (parent.empty()) {
    const char* t = std::getenv("TMPDIR");
    parent = t && *t ? t : "/tmp";
  }
  std::string templ = parent + "/vecsafe-chroma-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return ErrnoToStatus(errno, "mkdtemp", parent);
  return TempDir(templ);
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

Result<Manifest> BackupChroma(Repository& repo, const std::string& path,
                              const ChromaBackupOptions& options) {
  const HotCopyOptions& o = options.copy;
  std::error_code ec;
  const std::string abs = fs::absolute(path, ec).lexically_normal().string();
  VS_ASSIGN_OR_RETURN(ChromaDirectory model, LoadChromaDirectory(abs));
  VS_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Make(o.temp_dir));
  const std::string db_file = abs + "/" + kSqliteFile;
  const std::string staged_db = tmp.path() + "/" + kSqliteFile;
  std::vector<char> buf(1 << 20);
  std::vector<std::string> retry_reasons;
  const int attempts = std::max(1, o.max_attempts);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    // A short backoff, so a flush in progress can finish.
    if (attempt > 1) std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
    // 1. Stamp every segment folder.
    std::vector<std::string> folders;
    for (const auto& e : fs::directory_iterator(abs, ec)) {
      // Segment folders and orphans alike: they are Chroma's data.
      if (e.is_directory() && IsUuid(e.path().filename().string())) {
        folders.push_back(e.path().filename().string());
      }
    }
    if (ec) return IoError("cannot list " + abs + ": " + ec.message());
    std::sort(folders.begin(), folders.end());
    std::map<std::string, FolderStamp> before;
    for (const auto& f : folders) before[f] = StampFolderForChanges(abs + "/" + f);
    // 2. An instant without a write transaction, then the SQLite copy.
    VS_ASSIGN_OR_RETURN(bool no_writer, WaitForNoSqliteWriter(db_file, o.writer_wait_ms));
    if (!no_writer) {
      retry_reasons.push_back(
          fmt::format("a write transaction stayed open for {} ms", o.writer_wait_ms));
      continue;
    }
    VS_RETURN_IF_ERROR(CopySqliteOnline(db_file, staged_db, o));
    VS_ASSIGN_OR_RETURN(ChromaDirectory copy_model, LoadChromaDirectory(tmp.path()));
    VS_ASSIGN_OR_RETURN(auto copy_seq, VectorMaxSeqIds(staged_db));
    std::string moved;
    for (const auto& [seg, seq] : copy_seq) {
      if (seq > 0 && before.count(seg) == 0)
        moved = "segment " + seg + " was flushed for the first time";
    }
    // 3. The folders, straight into the snapshot.
    SnapshotSpec spec;
    spec.source_kind = "chroma";
    spec.source = {{"path", abs}, {"kind", "full"}};
    spec.tags = options.tags;
    // The last full backup of this directory: its chunks are the delta bases
    // for the HNSW pages Chroma rewrote since.
    VS_ASSIGN_OR_RETURN(std::optional<Manifest> last, repo.FindLatest("chroma", spec.source));
    if (last.has_value()) spec.parent = last->id;
    VS_ASSIGN_OR_RETURN(auto builder, repo.NewSnapshot(spec));
    for (const auto& f : folders) {
      if (!moved.empty()) break;
      const std::string src = abs + "/" + f;
      EntryMeta dm;
      dm.path = f;
      dm.mode = 0755;
      VS_RETURN_IF_ERROR(builder->AddDirectory(dm));
      for (const auto& [file, stamp] : before[f]) {
        Status s = StreamFile(*builder, src + "/" + file, f + "/" + file, stamp.mtime_ns, buf);
        if (!s.ok()) {
          // A file removed under us (a delete or a flush in progress): retry.
          if (s.code() == ErrorCode::kNotFound || ::access((src + "/" + file).c_str(), F_OK) != 0) {
            moved = "a file of " + f + " disappeared";
            break;
          }
          return s;
        }
      }
      if (moved.empty() && StampFolder(src) != before[f]) moved = "folder " + f + " changed";
    }
    // 4. The live max_seq_ids must still be those of the copy.
    if (moved.empty()) {
      VS_ASSIGN_OR_RETURN(auto live_seq, VectorMaxSeqIds(db_file));
      for (const auto& [seg, seq] : copy_seq) {
        auto it = live_seq.find(seg);
        if (it != live_seq.end() && it->second != seq) {
          moved = fmt::format("max_seq_id of {} moved from {} to {}", seg, seq, it->second);
          break;
        }
      }
    }
    if (!moved.empty()) {
      retry_reasons.push_back(moved);
      continue;  // dropping the builder leaves no visible snapshot
    }
    struct stat live {};
    const int64_t db_mtime = ::stat(db_file.c_str(), &live) == 0 ? MtimeNs(live) : 0;
    VS_RETURN_IF_ERROR(StreamFile(*builder, staged_db, kSqliteFile, db_mtime, buf));
    nlohmann::json collections = nlohmann::json::array();
    for (const auto& c : copy_model.collections) {
      collections.push_back({{"name", c.name}, {"id", c.id}, {"records", c.stored_records}});
    }
    nlohmann::json seqs = nlohmann::json::object();
    for (const auto& [seg, seq] : copy_seq) seqs[seg] = seq;
    builder->SetSourceInfo({{"path", abs},
                            {"kind", "full"},
                            {"chroma_schema", copy_model.schema_label},
                            {"chroma_version_line", copy_model.version_hint},
                            {"chroma_version", options.chroma_version},
                            {"newer_schema", copy_model.schema == SchemaSupport::kNewer},
                            {"collections", collections},
                            {"vector_max_seq_ids", seqs},
                            {"copy_attempts", attempt},
                            {"retry_reasons", retry_reasons}});
    return builder->Commit();
  }
  return Aborted(fmt::format("the copy of the SQLite database and the HNSW files did not agree in "
                             "any of {} attempts (last: {})",
                             attempts, retry_reasons.empty() ? "" : retry_reasons.back()),
                 "Chroma is under heavy write load; retry later, or raise --attempts.");
}

std::vector<std::pair<int, std::string>> ProcessesWithFileOpen(const std::string& file) {
  std::vector<std::pair<int, std::string>> out;
  std::error_code ec;
  const fs::path target = fs::canonical(file, ec);
  if (ec) return out;
  for (const auto& p : fs::directory_iterator("/proc", ec)) {
    const std::string pid = p.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stoi(pid) == ::getpid()) continue;
    std::error_code ec2;
    for (const auto& fd : fs::directory_iterator(p.path() / "fd", ec2)) {
      std::error_code ec3;
      const fs::path link = fs::read_symlink(fd.path(), ec3);
      if (!ec3 && link == target) {
        auto comm = ReadWholeFile(p.path().string() + "/comm");
        std::string name = comm.ok() ? *comm : "?";
        while (!name.empty() && name.back() == '\n') name.pop_back();
        out.emplace_back(std::stoi(pid), name);
        break;
      }
    }
  }
  return out;
}

Status RefuseWhileChromaRuns(const std::string& dir, const std::string& what) {
  const std::string db_file = dir + "/" + kSqliteFile;
  auto holders = ProcessesWithFileOpen(db_file);
  if (holders.empty()) return Status::OK();
  return FailedPrecondition(
      fmt::format("process {} ({}) has {} open; {} needs Chroma stopped", holders[0].first,
                  holders[0].second, db_file, what),
      "Stop Chroma (the server or the program using PersistentClient), run the command again, "
      "then start Chroma.");
}

}  // namespace vecsafe::chroma
