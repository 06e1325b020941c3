#include "sources/chroma/upgrade_guard.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <map>
#include <set>

#include "io/atomic_file.h"
#include "ops/journal.h"
#include "sources/chroma/checker.h"
#include "sources/chroma/hot_backup.h"

namespace vecsafe::chroma {
namespace {

namespace fs = std::filesystem;

std::string AbsFolder(const std::string& path) {
  std::error_code ec;
  std::string base = fs::absolute(path, ec).lexically_normal().string();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base;
}

fs::path StateDir(const std::string& state_dir) {
  std::error_code ec;
  return state_dir.empty() ? ops::DefaultStateDir() : fs::absolute(state_dir, ec);
}

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Error and critical findings as "CODE collection segment" keys, so verify
// can tell new problems from ones the folder already had.
std::set<std::string> SeriousFindings(const CheckReport& r) {
  std::set<std::string> out;
  for (const auto& f : r.findings) {
    if (f.severity == Severity::kError || f.severity == Severity::kCritical) {
      out.insert(f.code + " " + f.collection);
    }
  }
  return out;
}

void Journal(const UpgradeOptions& o, const std::string& kind, const std::string& target,
             const std::string& result, const std::string& error, const std::string& backup_id,
             const nlohmann::json& params, int64_t duration_ms) {
  auto j = ops::Journal::Open(StateDir(o.state_dir));
  if (!j.ok()) return;
  ops::JournalEntry e;
  e.actor = ops::CliActor();
  e.kind = kind;
  e.target = target;
  e.result = result;
  e.error = error;
  e.backup_id = backup_id;
  e.params = params;
  e.duration_ms = duration_ms;
  (*j)->Append(e).status().IgnoreError();
}

int64_t MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

// Collection name -> record count, from the files.
std::map<std::string, int64_t> Counts(const ChromaDirectory& d) {
  std::map<std::string, int64_t> out;
  for (const auto& c : d.collections) out[c.name] = c.stored_records;
  return out;
}

}  // namespace

nlohmann::json SchemaVersions(const ChromaDirectory& d) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& m : d.migrations) {
    if (!out.contains(m.dir) || out[m.dir].get<int64_t>() < m.version) out[m.dir] = m.version;
  }
  return out;
}

fs::path DefaultUpgradeRecordPath(const std::string& state_dir, const std::string& path) {
  // FNV-1a: stable across builds and platforms, enough to keep folders apart.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : AbsFolder(path)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return StateDir(state_dir) / "upgrades" / fmt::format("chroma-{:016x}.json", h);
}

Result<fs::path> FindUpgradeRecord(const UpgradeOptions& o, const std::string& path) {
  std::error_code ec;
  if (!o.record_file.empty()) return fs::absolute(o.record_file, ec);
  if (!path.empty()) {
    fs::path p = DefaultUpgradeRecordPath(o.state_dir, path);
    if (!fs::exists(p, ec)) {
      return NotFound(
          "no upgrade record for " + AbsFolder(path) + " (looked for " + p.string() + ")",
          "Run `vecsafe upgrade prepare chroma PATH` before upgrading Chroma.");
    }
    return p;
  }
  const fs::path dir = StateDir(o.state_dir) / "upgrades";
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".json") found.push_back(e.path());
  }
  if (found.empty()) {
    return NotFound("no upgrade record in " + dir.string(),
                    "Run `vecsafe upgrade prepare chroma PATH` before upgrading Chroma, or pass "
                    "--record FILE.");
  }
  if (found.size() > 1) {
    std::string list;
    for (const auto& f : found) list += " " + f.string();
    return InvalidArgument("several upgrade records:" + list,
                           "Name the folder (`vecsafe upgrade verify chroma PATH`) or pass "
                           "--record FILE.");
  }
  return found.front();
}

Result<nlohmann::json> LoadUpgradeRecord(const fs::path& file) {
  auto text = ReadWholeFile(file.string());
  if (!text.ok()) return text.status().WithHint("Pass the record written by `upgrade prepare`.");
  auto j = nlohmann::json::parse(*text, nullptr, false);
  const bool ok = j.is_object() && j.value("vecsafe_upgrade_record", 0) == kUpgradeRecordVersion &&
                  j.contains("path") && j["path"].is_string() && j.contains("schema") &&
                  j["schema"].is_object() && j.contains("collections") &&
                  j["collections"].is_array() && j.contains("snapshot") &&
                  j["snapshot"].is_string();
  if (!ok) {
    return DataLoss(file.string() + " is not an upgrade record of this vecsafe (version " +
                        std::to_string(kUpgradeRecordVersion) + ")",
                    "Use the record `vecsafe upgrade prepare` wrote; do not edit it.");
  }
  for (const auto& c : j["collections"]) {
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || !c.contains("count") ||
        !c["count"].is_number_integer()) {
      return DataLoss(file.string() + ": a collection entry lacks name or count",
                      "Use the record `vecsafe upgrade prepare` wrote; do not edit it.");
    }
  }
  return j;
}

Result<nlohmann::json> PrepareUpgrade(Repository& repo, const std::string& path,
                                      const UpgradeOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string base = AbsFolder(path);
  VS_ASSIGN_OR_RETURN(ChromaDirectory before, LoadChromaDirectory(base));
  VS_ASSIGN_OR_RETURN(CheckReport check, CheckChroma(base));
  ChromaBackupOptions bo;
  bo.tags = {"upgrade-prepare"};
  bo.chroma_version = o.chroma_version;
  auto manifest = BackupChroma(repo, base, bo);
  if (!manifest.ok()) {
    Journal(o, "upgrade.prepare", base, "failed", manifest.status().ToString(), "", {},
            MsSince(t0));
    return manifest.status().WithContext("full backup before the upgrade");
  }
  // The record must describe the backup: when Chroma wrote meanwhile, the
  // counts read before may not be the backup's, so refuse rather than guess.
  auto after = LoadChromaDirectory(base);
  if (!after.ok() || Counts(*after) != Counts(before)) {
    Status s = FailedPrecondition(
        "collections changed while the backup was taken (snapshot " + manifest->ShortId() +
            " is kept but not recorded)",
        "Stop the applications that write to Chroma, then run `upgrade prepare` again.");
    Journal(o, "upgrade.prepare", base, "failed", s.ToString(), manifest->id, {}, MsSince(t0));
    return s;
  }
  nlohmann::json collections = nlohmann::json::array();
  for (const auto& c : before.collections) {
    collections.push_back({{"name", c.name}, {"id", c.id}, {"count", c.stored_records}});
  }
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : SeriousFindings(check)) findings.push_back(f);
  nlohmann::json record = {{"vecsafe_upgrade_record", kUpgradeRecordVersion},
                           {"kind", "chroma"},
                           {"path", base},
                           {"prepared_at", UtcNow()},
                           {"schema", SchemaVersions(before)},
                           {"schema_label", before.schema_label},
                           {"chroma_version_line", before.version_hint},
                           {"chroma_version", o.chroma_version},
                           {"collections", collections},
                           {"serious_findings", findings},
                           {"repo", o.repo_url},
                           {"snapshot", manifest->id}};
  const fs::path file =
      o.record_file.empty() ? DefaultUpgradeRecordPath(o.state_dir, base) : fs::path(o.record_file);
  AtomicWriteOptions wo;
  wo.create_parents = true;
  Status w = WriteFileAtomically(file, record.dump(2) + "\n", wo);
  if (!w.ok()) {
    Journal(o, "upgrade.prepare", base, "failed", w.ToString(), manifest->id, {}, MsSince(t0));
    return w.WithContext("writing the upgrade record");
  }
  record["record_file"] = file.string();
  Journal(o, "upgrade.prepare", base, "ok", "", manifest->id,
          {{"record", file.string()}, {"schema", record["schema"]}}, MsSince(t0));
  return record;
}

nlohmann::json UpgradeVerifyReport::ToJson() const {
  return {{"ok", ok},
          {"schema_before", schema_before},
          {"schema_after", schema_after},
          {"schema_change", schema_change},
          {"collections", collections},
          {"new_findings", new_findings},
          {"problems", problems}};
}

Result<UpgradeVerifyReport> VerifyUpgrade(const nlohmann::json& record, const UpgradeOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string base = record["path"].get<std::string>();
  VS_ASSIGN_OR_RETURN(ChromaDirectory after, LoadChromaDirectory(base));
  UpgradeVerifyReport r;
  r.schema_before = record["schema"];
  r.schema_after = SchemaVersions(after);
  bool up = false, down = false;
  for (const auto& [dir, v] : r.schema_before.items()) {
    const int64_t b = v.is_number_integer() ? v.get<int64_t>() : 0;
    const int64_t a = r.schema_after.value(dir, int64_t{0});
    up |= a > b;
    down |= a < b;
  }
  for (const auto& [dir, v] : r.schema_after.items()) {
    up |= !r.schema_before.contains(dir) && v.get<int64_t>() > 0;
  }
  r.schema_change = up && down ? "mixed" : up ? "forward" : down ? "backward" : "unchanged";
  if (down) {
    r.problems.push_back(fmt::format("schema went backward: {} before, {} now",
                                     r.schema_before.dump(), r.schema_after.dump()));
  } else if (!up && !o.allow_same_schema) {
    r.problems.push_back(fmt::format(
        "schema unchanged ({}): the new Chroma has not opened this folder yet, or its release "
        "has no migrations (then pass --allow-same-schema)",
        r.schema_after.dump()));
  }
  const auto now = Counts(after);
  for (const auto& c : record["collections"]) {
    const std::string name = c["name"].get<std::string>();
    const int64_t want = c["count"].get<int64_t>();
    auto it = now.find(name);
    nlohmann::json row = {{"name", name}, {"before", want}};
    if (it == now.end()) {
      row["after"] = nullptr;
      r.problems.push_back("collection '" + name + "' is gone");
    } else {
      row["after"] = it->second;
      if (it->second != want) {
        r.problems.push_back(
            fmt::format("collection '{}' holds {} records, {} before", name, it->second, want));
      }
    }
    r.collections.push_back(row);
  }
  VS_ASSIGN_OR_RETURN(CheckReport check, CheckChroma(base));
  std::set<std::string> known;
  if (record.contains("serious_findings") && record["serious_findings"].is_array()) {
    for (const auto& f : record["serious_findings"]) {
      if (f.is_string()) known.insert(f.get<std::string>());
    }
  }
  for (const auto& f : SeriousFindings(check)) {
    if (!known.count(f)) {
      r.new_findings.push_back(f);
      r.problems.push_back("check: " + f);
    }
  }
  r.ok = r.problems.empty();
  nlohmann::json problems = r.problems;
  Journal(o, "upgrade.verify", base, r.ok ? "ok" : "failed", r.ok ? "" : r.problems.front(),
          record["snapshot"].get<std::string>(),
          {{"schema_change", r.schema_change}, {"problems", problems}}, MsSince(t0));
  return r;
}

nlohmann::json UpgradeRollbackReport::ToJson() const {
  return {{"snapshot", snapshot}, {"path", path},         {"moved_aside", moved_aside},
          {"files", files},       {"problems", problems}, {"ok", problems.empty()}};
}

Result<UpgradeRollbackReport> RollbackUpgrade(Repository& repo, const nlohmann::json& record,
                                              const UpgradeOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  UpgradeRollbackReport r;
  r.path = record["path"].get<std::string>();
  r.snapshot = record["snapshot"].get<std::string>();
  const std::string db = r.path + "/" + kSqliteFile;
  auto holders = ProcessesWithFileOpen(db);
  if (!holders.empty()) {
    return FailedPrecondition(
        fmt::format("process {} ({}) has {} open; a rollback needs Chroma stopped",
                    holders[0].first, holders[0].second, db),
        "Stop Chroma (the new release), run `vecsafe upgrade rollback`, then start the old "
        "release.");
  }
  VS_ASSIGN_OR_RETURN(Manifest m, repo.LoadSnapshot(r.snapshot));
  if (m.source_kind != "chroma") {
    return DataLoss("snapshot " + m.ShortId() + " of the upgrade record is not a Chroma backup",
                    "Check the record's repository (--repo).");
  }
  RestoreOptions ro;
  ro.in_place = true;
  auto res = repo.RestoreToDirectory(m, r.path, ro);
  if (!res.ok()) {
    Journal(o, "upgrade.rollback", r.path, "failed", res.status().ToString(), r.snapshot, {},
            MsSince(t0));
    return res.status().WithContext("restoring the pre-upgrade backup");
  }
  r.moved_aside = res->moved_aside;
  r.files = res->files;
  auto after = LoadChromaDirectory(r.path);
  if (!after.ok()) {
    r.problems.push_back("the restored folder cannot be read: " + after.status().ToString());
  } else {
    if (SchemaVersions(*after) != record["schema"]) {
      r.problems.push_back("restored schema " + SchemaVersions(*after).dump() +
                           " differs from the record " + record["schema"].dump());
    }
    const auto now = Counts(*after);
    for (const auto& c : record["collections"]) {
      const std::string name = c["name"].get<std::string>();
      auto it = now.find(name);
      if (it == now.end() || it->second != c["count"].get<int64_t>()) {
        r.problems.push_back("collection '" + name + "' does not match the record");
      }
    }
  }
  Journal(o, "upgrade.rollback", r.path, r.problems.empty() ? "ok" : "failed",
          r.problems.empty() ? "" : r.problems.front(), r.snapshot, r.ToJson(), MsSince(t0));
  return r;
}

}  // namespace vecsafe::chroma
