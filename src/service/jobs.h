// The work behind jobs and API calls. Each action runs a CLI verb of this
// same binary as a child process (see subprocess.h for why), with `--json`,
// and reads its JSON answer. The verbs are the project's contract
// (ARCHITECTURE.md); the daemon adds no second implementation of them.
//
// Secrets (repository password, Qdrant API key, cloud credentials) reach the
// child through its environment only. The child's journal entries carry the
// actor given here (VECSAFE_ACTOR) and go to the daemon's state folder.
#ifndef VECSAFE_SERVICE_JOBS_H_
#define VECSAFE_SERVICE_JOBS_H_

#include <string>
#include <vector>

#include "service/config.h"
#include "service/operations.h"
#include "service/scheduler.h"

namespace vecsafe::service {

// Runs `vecsafe <args...> --json` for `repo` (may be null) as `actor`.
// The outcome's status is the child's error (parsed from its JSON or stderr).
JobOutcome RunVerb(const Config& config, const RepositoryConfig* repo, const SourceConfig* source,
                   std::vector<std::string> args, const std::string& actor, OpContext* ctx,
                   int timeout_seconds = 0);

// Backs up `source` (all collections, or `collection` when not empty).
JobOutcome BackupSource(const Config& config, const SourceConfig& source,
                        const std::string& collection, const std::string& actor, OpContext* ctx);
// Applies the repository's retention (forget + prune).
JobOutcome ApplyRetention(const Config& config, const RepositoryConfig& repo,
                          const std::string& actor, OpContext* ctx);
// Checks a chroma source; repairs minor findings when auto_repair is set.
JobOutcome CheckSource(const Config& config, const SourceConfig& source, bool allow_repair,
                       const std::string& actor, OpContext* ctx);
// Verifies a repository (cheap, or reading a sample of the data).
JobOutcome VerifyRepository(const Config& config, const RepositoryConfig& repo, bool read_data,
                            double percent, const std::string& actor, OpContext* ctx);

// The executor the scheduler uses.
JobOutcome ExecuteJob(const Config& config, const ScheduleConfig& job, const std::string& actor,
                      OpContext& ctx);

// What a verb's `--json` answer says it did: the snapshots it wrote and the
// bytes it read and added (summed over the collections of a Qdrant backup).
struct VerbSummary {
  std::vector<std::string> snapshot_ids;
  int64_t bytes_read = 0, bytes_added = 0;
};
VerbSummary SummarizeVerbOutput(const nlohmann::json& doc);

// Counts orphan findings in a `check --json` document (tolerant of shape).
int64_t CountOrphans(const nlohmann::json& check_report);

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_JOBS_H_
