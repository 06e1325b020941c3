// `vecsafe repair chroma PATH [--dry-run]`: applies only the safe fixes that
// `check` marks repairable.
//
//   ORPHAN_VECTOR_FOLDER, LEFTOVER_FOLDER -> moved (renamed) into
//       <PATH>.vecsafe-quarantine/<UTC time>/ beside the folder; never deleted
//       here (retention of the quarantine is the operator's call).
//   WAL_BELOW_PURGE_POINT, WAL_ORPHAN_ROWS -> deleted by Chroma's own rule
//       (seq_id < min(max_seq_id of the collection's segments)).
//   PURGE_DISABLED -> embeddings_queue_config.automatically_purge = true.
//   FTS_DRIFT -> the FTS5 table is rebuilt from the `chroma:document` rows.
//   SQLITE_FREE_PAGES -> VACUUM INTO a temporary file in the same folder
//       (free space checked first; SQLite's own temp files go there too),
//       quick_check of the copy, then renamed over chroma.sqlite3. Runs last.
//
// Before any SQLite change, chroma.sqlite3 is copied (online backup API) into
// the same quarantine folder, so everything touched can be put back. Every
// run is written to the operation journal. Fixes refuse while any process
// has chroma.sqlite3 open (Chroma must be stopped); --dry-run never does.
#ifndef VECSAFE_SOURCES_CHROMA_REPAIR_H_
#define VECSAFE_SOURCES_CHROMA_REPAIR_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::chroma {

struct RepairAction {
  std::string code;    // the finding it fixes
  std::string what;    // one line for people
  std::string target;  // folder or table
  bool done = false;
  std::string error;
};

struct RepairOptions {
  bool dry_run = false;
  // Where the journal lives. Default: empty = ops::DefaultStateDir().
  std::string state_dir;
};

struct RepairReport {
  std::vector<RepairAction> actions;
  std::string quarantine;  // folder used, or ""
  size_t findings_before = 0;
  size_t findings_after = 0;                // 0 in dry-run (not re-checked)
  std::vector<std::string> not_repairable;  // codes left for a human
  nlohmann::json ToJson() const;
};

// Errors: those of the checker; kFailedPrecondition when a process has the
// database open (names the pid); kNoSpace when the backup copy does not fit.
Result<RepairReport> RepairChroma(const std::string& path, const RepairOptions& options);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_REPAIR_H_
