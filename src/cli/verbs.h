// Registration functions of the CLI verbs, one per file src/cli/<verb>.cc.
// Each adds its sub-command to `parent` (the root app, or a parent verb such
// as `backup`) and stores its exit status in ctx.exit_status when it runs.
// src/cli/app.cc calls them in the order they appear in `vecsafe --help`.
#ifndef VECSAFE_CLI_VERBS_H_
#define VECSAFE_CLI_VERBS_H_

#include <memory>
#include <string>
#include <vector>

#include "cli/common.h"

namespace vecsafe::cli {

void RegisterVersionVerb(CLI::App& parent, VerbContext& ctx);
void RegisterErrorsVerb(CLI::App& parent, VerbContext& ctx);
void RegisterInitVerb(CLI::App& parent, VerbContext& ctx);
// `backup` itself only groups the sources; returns it so that each source's
// file can add its sub-command (`backup dir`, `backup chroma`, `backup qdrant`).
CLI::App* RegisterBackupVerb(CLI::App& parent);
void RegisterBackupDirVerb(CLI::App& backup, VerbContext& ctx);
void RegisterSnapshotsVerb(CLI::App& parent, VerbContext& ctx);

// A restore target besides `--to PATH` (e.g. `--to-qdrant URL`, `--to-chroma
// URL`), offered by a source's own file and passed to RegisterRestoreVerb.
class RestoreTarget {
 public:
  virtual ~RestoreTarget() = default;
  // The flag that selects this target, for messages: "--to-qdrant URL".
  virtual std::string Name() const = 0;
  // Adds the target's flags (its --to-... flag and any of its own) to `restore`.
  virtual void AddOptions(CLI::App* restore) = 0;
  // True when the user gave this target's flag.
  virtual bool Chosen() const = 0;
  // Restores `manifest` (already loaded) and returns the exit status; prints
  // results and errors itself (ReportError, PrintJson with ctx.flags.json).
  virtual int Run(VerbContext& ctx, Repository& repo, const Manifest& manifest) = 0;
};
void RegisterRestoreVerb(CLI::App& parent, VerbContext& ctx,
                         std::vector<std::shared_ptr<RestoreTarget>> targets = {});

void RegisterVerifyVerb(CLI::App& parent, VerbContext& ctx);
void RegisterForgetVerb(CLI::App& parent, VerbContext& ctx);
void RegisterPruneVerb(CLI::App& parent, VerbContext& ctx);
void RegisterExportVerb(CLI::App& parent, VerbContext& ctx);
void RegisterUnlockVerb(CLI::App& parent, VerbContext& ctx);

// Shared by forget --prune and prune: the documented JSON shape and text summary.
nlohmann::json PruneResultJson(const PruneResult& r);
void PrintPruneSummary(const PruneResult& r, bool dry_run);

}  // namespace vecsafe::cli

#endif  // VECSAFE_CLI_VERBS_H_
