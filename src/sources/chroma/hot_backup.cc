#include "sources/chroma/hot_backup.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "sources/chroma/checker.h"
#include "sources/chroma/chroma_model.h"
#include "sources/chroma/sqlite_reader.h"

namespace vecsafe::chroma {
namespace {

namespace fs = std::filesystem;

struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

std::map<std::string, FileStamp> StampFolder(const std::string& folder) {
  std::map<std::string, FileStamp> out;
  DIR* d = ::opendir(folder.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::stat((folder + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      out[name] = {static_cast<uint64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
    }
  }
  ::closedir(d);
  return out;
}

// max_seq_id of every vector segment, from a database file (read-only).
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

Status CopyFile(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return ec.value() == ENOSPC ? Status(ErrorCode::kNoSpace, "copy " + from + ": " + ec.message())
                                : IoError("copy " + from + " to " + to + ": " + ec.message());
  }
  return Status::OK();
}

// SQLite's online backup, a few pages at a time.
Status OnlineBackup(const std::string& src_file, const std::string& dst_file,
                    const HotCopyOptions& o) {
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
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (b == nullptr) {
    std::string msg = sqlite3_errmsg(dst);
    sqlite3_close(src);
    sqlite3_close(dst);
    return IoError("cannot start the SQLite backup of " + src_file + ": " + msg);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
  while (true) {
    rc = sqlite3_backup_step(b, o.pages_per_step);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
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
  if (rc == SQLITE_FULL) return Status(ErrorCode::kNoSpace, "staging disk full: " + msg);
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) {
    return DataLoss("chroma.sqlite3 is damaged: " + msg,
                    "Run `vecsafe check chroma PATH`; restore from an earlier snapshot.");
  }
  return IoError("SQLite backup of " + src_file + " failed: " + msg);
}

}  // namespace

StagedCopy::StagedCopy(StagedCopy&& o) noexcept
    : dir(std::move(o.dir)),
      files(std::move(o.files)),
      dirs(std::move(o.dirs)),
      attempts(o.attempts),
      vector_max_seq_ids(std::move(o.vector_max_seq_ids)),
      schema(std::move(o.schema)),
      version_line(std::move(o.version_line)) {
  o.dir.clear();
}

StagedCopy::~StagedCopy() {
  if (!dir.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

Result<StagedCopy> MakeConsistentCopy(const std::string& path, const HotCopyOptions& o) {
  VS_ASSIGN_OR_RETURN(ChromaDirectory model, LoadChromaDirectory(path));
  std::string tmp = o.temp_dir;
  if (tmp.empty()) {
    const char* t = std::getenv("TMPDIR");
    tmp = t && *t ? t : "/tmp";
  }
  std::string templ = tmp + "/vecsafe-chroma-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return ErrnoToStatus(errno, "mkdtemp", tmp);
  StagedCopy out;
  out.dir = templ;
  out.schema = model.schema_label;
  out.version_line = model.version_hint;
  const std::string db_file = path + "/" + kSqliteFile;
  for (int attempt = 1; attempt <= std::max(1, o.max_attempts); ++attempt) {
    out.attempts = attempt;
    out.files.clear();
    out.dirs.clear();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out.dir, ec)) fs::remove_all(e.path(), ec);

    const std::string staged_db = out.dir + "/" + kSqliteFile;
    VS_RETURN_IF_ERROR(OnlineBackup(db_file, staged_db, o));
    out.files.push_back(kSqliteFile);
    VS_ASSIGN_OR_RETURN(auto copy_seq, VectorMaxSeqIds(staged_db));

    bool moved = false;
    std::vector<std::string> folders;
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (e.is_directory()) folders.push_back(e.path().filename().string());
    }
    std::sort(folders.begin(), folders.end());
    for (const auto& name : folders) {
      // Segment folders and orphans alike: they are Chroma's data.
      if (!IsUuid(name)) continue;
      const std::string src = path + "/" + name;
      const auto before = StampFolder(src);
      fs::create_directories(out.dir + "/" + name, ec);
      if (ec) return IoError("cannot create " + out.dir + "/" + name + ": " + ec.message());
      out.dirs.push_back(name);
      for (const auto& [file, stamp] : before) {
        Status s = CopyFile(src + "/" + file, out.dir + "/" + name + "/" + file);
        if (!s.ok()) {
          // A file removed under us (a delete or a flush in progress): retry.
          if (::access((src + "/" + file).c_str(), F_OK) != 0) {
            moved = true;
            break;
          }
          return s;
        }
        out.files.push_back(name + "/" + file);
      }
      if (moved || StampFolder(src) != before) {
        moved = true;
        break;
      }
    }
    if (!moved) {
      VS_ASSIGN_OR_RETURN(auto live_seq, VectorMaxSeqIds(db_file));
      for (const auto& [seg, seq] : copy_seq) {
        auto it = live_seq.find(seg);
        if (it != live_seq.end() && it->second != seq) moved = true;
      }
    }
    if (!moved) {
      for (const auto& [seg, seq] : copy_seq) out.vector_max_seq_ids[seg] = seq;
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
  }
  return Aborted(
      fmt::format("Chroma flushed an HNSW index during each of {} copy attempts", o.max_attempts),
      "Chroma is under heavy write load; retry, or raise the attempts.");
}

Result<Manifest> BackupChroma(Repository& repo, const std::string& path,
                              const ChromaBackupOptions& options) {
  std::error_code ec;
  const std::string abs = fs::absolute(path, ec).lexically_normal().string();
  VS_ASSIGN_OR_RETURN(ChromaDirectory model, LoadChromaDirectory(abs));
  VS_ASSIGN_OR_RETURN(StagedCopy copy, MakeConsistentCopy(abs, options.copy));
  SnapshotSpec spec;
  spec.source_kind = "chroma";
  spec.source = {{"path", abs}};
  spec.tags = options.tags;
  VS_ASSIGN_OR_RETURN(auto builder, repo.NewSnapshot(spec));
  for (const auto& d : copy.dirs) {
    EntryMeta m;
    m.path = d;
    m.mode = 0755;
    VS_RETURN_IF_ERROR(builder->AddDirectory(m));
  }
  std::vector<char> buf(1 << 20);
  for (const auto& rel : copy.files) {
    const std::string file = copy.dir + "/" + rel;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return ErrnoToStatus(errno, "stat", file);
    EntryMeta m;
    m.path = rel;
    m.mode = st.st_mode & 07777;
    m.size = static_cast<uint64_t>(st.st_size);
    // The live file's mtime, so a restore looks like the original.
    struct stat live {};
    if (::stat((abs + "/" + rel).c_str(), &live) == 0) {
      m.mtime_ns = static_cast<int64_t>(live.st_mtim.tv_sec) * 1000000000 + live.st_mtim.tv_nsec;
    }
    VS_ASSIGN_OR_RETURN(auto sink, builder->BeginFile(m));
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus(errno, "open", file);
    while (true) {
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        return ErrnoToStatus(err, "read", file);
      }
      if (n == 0) break;
      Status s = sink->Append(std::string_view(buf.data(), static_cast<size_t>(n)));
      if (!s.ok()) {
        ::close(fd);
        return s;
      }
    }
    ::close(fd);
    VS_ASSIGN_OR_RETURN(FileResult fr, sink->Close());
    (void)fr;
  }
  nlohmann::json collections = nlohmann::json::array();
  for (const auto& c : model.collections) {
    collections.push_back({{"name", c.name}, {"id", c.id}, {"records", c.stored_records}});
  }
  builder->SetSourceInfo({{"path", abs},
                          {"chroma_schema", copy.schema},
                          {"chroma_version_line", copy.version_line},
                          {"chroma_version", options.chroma_version},
                          {"collections", collections},
                          {"vector_max_seq_ids", copy.vector_max_seq_ids},
                          {"copy_attempts", copy.attempts}});
  return builder->Commit();
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

}  // namespace vecsafe::chroma
