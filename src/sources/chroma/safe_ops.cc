#include "sources/chroma/safe_ops.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "ops/journal.h"
#include "sources/chroma/checker.h"
#include "sources/chroma/chroma_http.h"
#include "sources/chroma/chroma_model.h"

namespace vecsafe::chroma {
namespace {

namespace fs = std::filesystem;

std::string UtcStamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string AbsFolder(const std::string& path) {
  std::error_code ec;
  std::string base = fs::absolute(path, ec).lexically_normal().string();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base;
}

// What the operation knows after validation, before changing anything.
struct Prepared {
  std::string base;  // absolute persist folder
  std::unique_ptr<ChromaHttp> http;
  RemoteCollection remote;
  int64_t count = 0;
  std::string vector_segment;  // folder Chroma leaves behind on delete, or ""
};

Result<Prepared> Prepare(const std::string& name, const SafeOpOptions& o) {
  if (o.server_url.empty()) {
    return InvalidArgument("no Chroma server given",
                           "Pass --server http://HOST:PORT of the Chroma that serves --path.");
  }
  if (o.path.empty()) {
    return InvalidArgument("no Chroma folder given",
                           "Pass --path: the folder Chroma persists to (holds chroma.sqlite3).");
  }
  Prepared p;
  p.base = AbsFolder(o.path);
  std::error_code ec;
  if (!fs::is_directory(p.base, ec)) {
    return NotFound(p.base + " is not a Chroma folder: no such folder",
                    "Give --path the folder Chroma persists to (it holds chroma.sqlite3).");
  }
  VS_ASSIGN_OR_RETURN(ChromaDirectory model, LoadChromaDirectory(p.base));
  VS_ASSIGN_OR_RETURN(p.http, ChromaHttp::Connect(o.server_url, o.tenant, o.database));
  auto remote = p.http->GetCollection(name);
  if (!remote.ok()) {
    if (remote.status().code() == ErrorCode::kNotFound) {
      return NotFound(fmt::format("collection '{}' does not exist on {}", name, o.server_url),
                      "Check the name: `vecsafe check chroma PATH --json` lists the collections.");
    }
    return remote.status();
  }
  p.remote = *remote;
  const ChromaCollection* local = model.FindCollection(p.remote.id);
  if (local == nullptr) {
    return FailedPrecondition(
        fmt::format("collection '{}' (id {}) on {} is not in {}: the server does not serve "
                    "this folder",
                    name, p.remote.id, o.server_url, p.base),
        "Give the --path that this Chroma server runs with (`chroma run --path ...`).");
  }
  if (const ChromaSegment* v = model.VectorSegment(*local)) p.vector_segment = v->id;
  VS_ASSIGN_OR_RETURN(p.count, p.http->Count(p.remote));
  return p;
}

// Waits up to `seconds` for a Chroma heartbeat at `url`.
Result<std::unique_ptr<ChromaHttp>> ConnectWithin(const SafeOpOptions& o, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (true) {
    auto c = ChromaHttp::Connect(o.server_url, o.tenant, o.database);
    if (c.ok() || std::chrono::steady_clock::now() >= deadline) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// Moves `<base>/<folder>` into `<base>.vecsafe-quarantine/<stamp>/`. Returns
// the quarantine folder, or "" when there was nothing to move.
Result<std::string> Quarantine(const std::string& base, const std::string& folder) {
  std::error_code ec;
  if (folder.empty() || !fs::is_directory(base + "/" + folder, ec)) return std::string();
  const std::string q = base + ".vecsafe-quarantine/" + UtcStamp();
  fs::create_directories(q, ec);
  if (ec) return IoError("cannot create " + q + ": " + ec.message());
  fs::rename(base + "/" + folder, q + "/" + folder, ec);
  if (ec) return IoError("cannot move " + base + "/" + folder + " to " + q + ": " + ec.message());
  return q;
}

// Puts collection `old_name` back as it was (`count` records). `new_name` is
// set for a rename. Returns what was done.
Result<std::string> Rollback(const SafeOpOptions& o, const CollectionBackupFns& fns,
                             const std::string& backup_id, const std::string& old_name,
                             const std::string& new_name, int64_t count) {
  const std::string by_hand =
      fmt::format("Restore it by hand: `vecsafe restore {} --to-chroma {} --as {}`.", backup_id,
                  o.server_url, old_name);
  auto http = ConnectWithin(o, o.rollback_wait_seconds);
  if (!http.ok()) {
    return Unavailable(fmt::format("rollback impossible: no Chroma at {} within {} s", o.server_url,
                                   o.rollback_wait_seconds),
                       "Start Chroma again. " + by_hand);
  }
  auto old = (*http)->GetCollection(old_name);
  if (old.ok()) {
    VS_ASSIGN_OR_RETURN(int64_t n, (*http)->Count(*old));
    if (n == count) return std::string("collection unchanged (" + std::to_string(n) + " records)");
    return DataLoss(fmt::format("collection '{}' holds {} records, {} before the operation; left "
                                "as it is",
                                old_name, n, count),
                    "Compare it with the backup; " + by_hand + " (with another --as name)");
  }
  if (old.status().code() != ErrorCode::kNotFound) return old.status();
  if (!new_name.empty()) {
    auto renamed = (*http)->GetCollection(new_name);
    if (renamed.ok()) {
      VS_ASSIGN_OR_RETURN(int64_t n, (*http)->Count(*renamed));
      if (n == count) {
        VS_RETURN_IF_ERROR((*http)->Rename(*renamed, old_name));
        auto back = (*http)->GetCollection(old_name);
        if (back.ok()) {
          VS_ASSIGN_OR_RETURN(int64_t m, (*http)->Count(*back));
          if (m == count) return std::string("renamed back to '" + old_name + "'");
        }
        return DataLoss("renaming '" + new_name + "' back to '" + old_name + "' did not verify",
                        by_hand);
      }
    }
  }
  auto restored = fns.restore(backup_id, o.server_url, old_name);
  if (!restored.ok()) {
    return restored.status().WithContext("restoring the backup").WithHint(by_hand);
  }
  if (*restored != count) {
    return DataLoss(fmt::format("the restored collection '{}' has {} records, expected {}",
                                old_name, *restored, count),
                    by_hand);
  }
  return fmt::format("restored from backup {} ({} records)", backup_id.substr(0, 8), count);
}

class OpJournal {
 public:
  OpJournal(const SafeOpOptions& o, SafeOpReport& r) : report_(r) {
    auto j =
        ops::Journal::Open(o.state_dir.empty() ? ops::DefaultStateDir() : fs::path(o.state_dir));
    if (j.ok()) {
      journal_ = std::move(*j);
    } else {
      open_status_ = j.status();
    }
    entry_.actor = ops::CliActor();
    entry_.kind = r.kind;
    entry_.target = r.name;
    entry_.params = {{"server", o.server_url}, {"path", AbsFolder(o.path)}};
    if (!r.new_name.empty()) entry_.params["new_name"] = r.new_name;
  }
  // An operation that cannot be journaled does not start.
  Status Started() {
    const std::string hint =
        "Pass a writable --state-dir (or set VECSAFE_STATE_DIR); nothing was changed.";
    entry_.result = "started";
    if (!journal_) return open_status_.WithContext("operation journal").WithHint(hint);
    auto row = journal_->Append(entry_);
    if (!row.ok()) return row.status().WithContext("operation journal").WithHint(hint);
    entry_.op_id = row->op_id;
    report_.op_id = entry_.op_id;
    return Status::OK();
  }
  void Finish(int64_t duration_ms) {
    entry_.result = report_.result;
    entry_.error = report_.error;
    entry_.backup_id = report_.backup_id;
    entry_.duration_ms = duration_ms;
    entry_.params = report_.ToJson();
    if (journal_) journal_->Append(entry_).status().IgnoreError();
  }

 private:
  SafeOpReport& report_;
  Status open_status_;
  std::unique_ptr<ops::Journal> journal_;
  ops::JournalEntry entry_;
};

int64_t MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

// Runs the checker after the operation; returns the finding codes and an
// error when the files contradict what the server said.
Status CheckAfter(const std::string& base, SafeOpReport& r, const std::string& collection_id,
                  const std::string& expect_name) {
  auto check = CheckChroma(base);
  if (!check.ok()) return check.status().WithContext("check after the operation");
  for (const auto& f : check->findings) r.check_findings.push_back(f.code);
  auto model = LoadChromaDirectory(base);
  if (!model.ok()) return model.status().WithContext("check after the operation");
  const ChromaCollection* c = model->FindCollection(collection_id);
  if (expect_name.empty() && c != nullptr) {
    return DataLoss("the server reports '" + r.name + "' deleted but " + base + " still holds it");
  }
  if (!expect_name.empty() && (c == nullptr || c->name != expect_name)) {
    return DataLoss("the server reports the rename done but " + base + " does not show '" +
                    expect_name + "'");
  }
  for (const auto& f : check->findings) {
    if (f.collection == expect_name && !expect_name.empty() &&
        (f.severity == Severity::kError || f.severity == Severity::kCritical)) {
      return DataLoss(
          fmt::format("check after the rename: {} on '{}': {}", f.code, expect_name, f.message));
    }
  }
  return Status::OK();
}

Result<SafeOpReport> Run(const std::string& name, const std::string& new_name,
                         const SafeOpOptions& o, const CollectionBackupFns& fns) {
  const auto t0 = std::chrono::steady_clock::now();
  SafeOpReport r;
  r.kind = new_name.empty() ? "collection.delete" : "collection.rename";
  r.name = name;
  r.new_name = new_name;
  if (!new_name.empty()) {
    VS_RETURN_IF_ERROR(ValidateCollectionName(new_name));
    if (new_name == name) {
      return InvalidArgument("the new name is the old one ('" + name + "')",
                             "Give a different NEW name.");
    }
  }
  VS_ASSIGN_OR_RETURN(Prepared p, Prepare(name, o));
  r.count = p.count;
  if (!new_name.empty()) {
    auto taken = p.http->GetCollection(new_name);
    if (taken.ok()) {
      return AlreadyExists(
          fmt::format("the name '{}' is already taken on {}", new_name, o.server_url),
          "Pick a free name, or delete that collection first (`vecsafe "
          "collection delete`).");
    }
    if (taken.status().code() != ErrorCode::kNotFound) return taken.status();
  }

  OpJournal journal(o, r);
  VS_RETURN_IF_ERROR(journal.Started());
  auto backup = fns.backup(p.base, name);
  if (!backup.ok()) {
    r.result = "failed";
    r.error = "backup failed, nothing changed: " + backup.status().ToString();
    r.seconds = static_cast<double>(MsSince(t0)) / 1000.0;
    journal.Finish(MsSince(t0));
    return backup.status().WithContext("per-collection backup before the operation");
  }
  r.backup_id = *backup;

  Status s = new_name.empty() ? p.http->DeleteCollection(name) : p.http->Rename(p.remote, new_name);
  if (s.ok()) {
    // Verify through the server.
    auto gone = p.http->GetCollection(name);
    if (gone.ok()) {
      s = DataLoss("'" + name + "' still answers after the operation");
    } else if (gone.status().code() != ErrorCode::kNotFound) {
      s = gone.status();
    } else if (!new_name.empty()) {
      auto now = p.http->GetCollection(new_name);
      if (!now.ok()) {
        s = now.status();
      } else {
        auto n = p.http->Count(*now);
        if (!n.ok()) {
          s = n.status();
        } else if (*n != p.count) {
          s = DataLoss(fmt::format("'{}' holds {} records after the rename, {} before", new_name,
                                   *n, p.count));
        }
      }
    }
  }
  if (s.ok() && new_name.empty()) {
    auto q = Quarantine(p.base, p.vector_segment);
    if (q.ok()) {
      r.quarantine = *q;
    } else {
      s = q.status();
    }
  }
  if (s.ok()) s = CheckAfter(p.base, r, p.remote.id, new_name);
  if (s.ok()) {
    r.result = "ok";
  } else {
    r.error = s.ToString();
    auto rb = Rollback(o, fns, r.backup_id, name, new_name, p.count);
    if (rb.ok()) {
      r.result = "rolled_back";
      r.rollback = *rb;
      // The folder of a deleted-then-restored collection is an orphan now;
      // the backup holds its records, so it can go to quarantine.
      if (new_name.empty() && r.quarantine.empty()) {
        auto model = LoadChromaDirectory(p.base);
        if (model.ok() && model->FindSegment(p.vector_segment) == nullptr) {
          auto q = Quarantine(p.base, p.vector_segment);
          if (q.ok()) r.quarantine = *q;
        }
      }
    } else {
      r.result = "failed";
      r.error += "; rollback failed: " + rb.status().ToString();
      r.rollback = rb.status().hint();
    }
  }
  r.seconds = static_cast<double>(MsSince(t0)) / 1000.0;
  journal.Finish(MsSince(t0));
  return r;
}

}  // namespace

nlohmann::json SafeOpReport::ToJson() const {
  nlohmann::json j = {{"op_id", op_id},       {"kind", kind},
                      {"collection", name},   {"backup_id", backup_id},
                      {"result", result},     {"error", error},
                      {"count", count},       {"quarantine", quarantine},
                      {"rollback", rollback}, {"check_findings", check_findings},
                      {"seconds", seconds}};
  if (!new_name.empty()) j["new_name"] = new_name;
  return j;
}

Result<SafeOpReport> SafeDeleteCollection(const std::string& name, const SafeOpOptions& options,
                                          const CollectionBackupFns& fns) {
  return Run(name, "", options, fns);
}

Result<SafeOpReport> SafeRenameCollection(const std::string& old_name, const std::string& new_name,
                                          const SafeOpOptions& options,
                                          const CollectionBackupFns& fns) {
  if (new_name.empty()) return InvalidArgument("no new name given", "Give OLD and NEW.");
  return Run(old_name, new_name, options, fns);
}

}  // namespace vecsafe::chroma
