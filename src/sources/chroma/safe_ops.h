// Safe delete and rename of a Chroma collection: `vecsafe collection delete`
// and `vecsafe collection rename`.
//
// Each operation is a small transaction around Chroma's own HTTP API:
//
//   1. validate (folder is Chroma's, the collection exists on the server and
//      in the files, the new name is valid and free) -- nothing changed yet;
//   2. journal "started"; per-collection backup into the repository;
//   3. the operation through the HTTP API;
//   4. verify through the server (delete: the name is gone; rename: the new
//      name answers with the old count, the old name is gone) and check the
//      files (CheckChroma); a delete then moves the vector folder Chroma left
//      behind into <PATH>.vecsafe-quarantine/<UTC time>/ (as repair does);
//   5. journal "ok", or, when anything after the backup failed, roll back:
//      wait for the server (it may be restarting after a crash), put the
//      collection back under its old name (rename back when it survived
//      whole, else restore the backup through the API), verify the count and
//      journal "rolled_back" (or "failed" when even the rollback failed; the
//      error then names the snapshot to restore by hand).
//
// The per-collection backup and restore are passed in as functions so this
// file does not depend on how collections are stored in the repository.
#ifndef VECSAFE_SOURCES_CHROMA_SAFE_OPS_H_
#define VECSAFE_SOURCES_CHROMA_SAFE_OPS_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::chroma {

struct CollectionBackupFns {
  // Backs up collection `name` of the Chroma folder `path`; returns the
  // snapshot id. REQUIRED.
  std::function<Result<std::string>(const std::string& path, const std::string& name)> backup;
  // Recreates the collection of snapshot `snapshot_id` on `server_url` as
  // `as_name`; returns the record count the server reports. REQUIRED.
  std::function<Result<int64_t>(const std::string& snapshot_id, const std::string& server_url,
                                const std::string& as_name)>
      restore;
};

struct SafeOpOptions {
  std::string server_url;  // REQUIRED: http://HOST:PORT of the Chroma that serves `path`
  std::string path;        // REQUIRED: Chroma's persist folder
  // Folder of the operation journal. Default: empty = ops::DefaultStateDir().
  std::string state_dir;
  // How long a rollback waits for an unreachable server to come back (it may
  // be restarting after a crash). Default: 60 s.
  int rollback_wait_seconds = 60;
  // Tenant and database of the collection. Defaults: Chroma's.
  std::string tenant = "default_tenant";
  std::string database = "default_database";
};

struct SafeOpReport {
  std::string op_id;
  std::string kind;      // "collection.delete" / "collection.rename"
  std::string name;      // the collection (old name for a rename)
  std::string new_name;  // rename only
  std::string backup_id;
  std::string result;      // "ok", "rolled_back", "failed"
  std::string error;       // why it did not end "ok"
  int64_t count = 0;       // records the collection had before the operation
  std::string quarantine;  // delete: where the left-behind vector folder went, or ""
  std::string rollback;    // what the rollback did ("renamed back", "restored from backup ...")
  std::vector<std::string> check_findings;  // codes `check` reported after the operation
  double seconds = 0;
  nlohmann::json ToJson() const;
};

// Deletes collection `name`. Errors (nothing changed): kNotFound (not a Chroma
// folder, unknown collection), kUnavailable (no server), kInvalidArgument,
// and the backup's own errors. After the backup, failures do not come back as
// an error but as report.result "rolled_back" or "failed".
Result<SafeOpReport> SafeDeleteCollection(const std::string& name, const SafeOpOptions& options,
                                          const CollectionBackupFns& fns);

// Renames `old_name` to `new_name`. Errors as SafeDeleteCollection, plus
// kAlreadyExists when `new_name` is taken.
Result<SafeOpReport> SafeRenameCollection(const std::string& old_name, const std::string& new_name,
                                          const SafeOpOptions& options,
                                          const CollectionBackupFns& fns);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_SAFE_OPS_H_
