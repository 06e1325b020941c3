// The upgrade guard: `vecsafe upgrade prepare|verify|rollback` around a
// Chroma upgrade (a new Chroma release migrates chroma.sqlite3 in place the
// first time it opens the folder, and there is no way back without a copy).
//
//   prepare  records the schema (newest migration per directory), every
//            collection's record count and the check findings in an upgrade
//            record, and takes a full backup of the folder;
//   verify   after the new release has opened the folder: every recorded
//            collection is there with the same count, the schema moved
//            forward, and the check reports no error the old folder did not
//            have;
//   rollback restores the recorded full backup in place (the current folder
//            is moved aside, never deleted), refused while Chroma runs, and
//            verifies schema and counts against the record.
//
// The record is a JSON file in the state folder (docs/chroma.md, "Upgrade
// guard"): <state>/upgrades/chroma-<16 hex of the path's hash>.json.
#ifndef VECSAFE_SOURCES_CHROMA_UPGRADE_GUARD_H_
#define VECSAFE_SOURCES_CHROMA_UPGRADE_GUARD_H_

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sources/chroma/chroma_model.h"
#include "vecsafe/repository.h"
#include "vecsafe/status.h"

namespace vecsafe::chroma {

inline constexpr int kUpgradeRecordVersion = 1;

struct UpgradeOptions {
  // Folder of the journal and the records. Default: empty = ops::DefaultStateDir().
  std::string state_dir;
  // Record file to write/read instead of the default one. Default: empty.
  std::string record_file;
  // Repository URL written into the record, so rollback finds the backup.
  std::string repo_url;
  // Chroma's release, when the caller knows it. Default: empty.
  std::string chroma_version;
  // verify: accept an unchanged schema (a release without migrations).
  // Default: false.
  bool allow_same_schema = false;
};

// Newest migration version per migrations directory: {"sysdb": 9, ...}.
nlohmann::json SchemaVersions(const ChromaDirectory& d);

// The record file for `path` under the state folder.
std::filesystem::path DefaultUpgradeRecordPath(const std::string& state_dir,
                                               const std::string& path);

// Finds the record: options.record_file; else the one for `path` when given;
// else the only record in the state folder. Errors: kNotFound (none),
// kInvalidArgument (several and no path given; the message lists them).
Result<std::filesystem::path> FindUpgradeRecord(const UpgradeOptions& options,
                                                const std::string& path);

// Errors: kNotFound, kDataLoss (not a record of this format).
Result<nlohmann::json> LoadUpgradeRecord(const std::filesystem::path& file);

// Records the state of `path` and takes a full backup into `repo`. Returns
// the record (also written to its file). Errors: those of the model and the
// backup; kIoError when the record cannot be written.
Result<nlohmann::json> PrepareUpgrade(Repository& repo, const std::string& path,
                                      const UpgradeOptions& options);

struct UpgradeVerifyReport {
  bool ok = false;
  nlohmann::json schema_before, schema_after;
  std::string schema_change;  // "forward", "unchanged", "backward", "mixed"
  // One line per problem: a missing collection, a count that differs, a new
  // check error.
  std::vector<std::string> problems;
  nlohmann::json collections = nlohmann::json::array();  // name, before, after
  std::vector<std::string> new_findings;                 // new error/critical codes
  nlohmann::json ToJson() const;
};

// Compares the folder of `record` with it. Errors only when the folder
// cannot be read at all.
Result<UpgradeVerifyReport> VerifyUpgrade(const nlohmann::json& record,
                                          const UpgradeOptions& options);

struct UpgradeRollbackReport {
  std::string snapshot;
  std::string path;
  std::string moved_aside;
  uint64_t files = 0;
  std::vector<std::string> problems;  // differences from the record after the restore
  nlohmann::json ToJson() const;
};

// Restores the recorded backup in place. Errors: kFailedPrecondition while a
// process has chroma.sqlite3 open; the repository's errors.
Result<UpgradeRollbackReport> RollbackUpgrade(Repository& repo, const nlohmann::json& record,
                                              const UpgradeOptions& options);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_UPGRADE_GUARD_H_
