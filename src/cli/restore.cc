// `vecsafe restore SNAPSHOT --to PATH [--in-place] [--overwrite] [--include PREFIX]`,
// plus the targets other sources add (see RestoreTarget in verbs.h).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "cli/chroma_backup_restore.h"
#include "cli/verbs.h"

namespace vecsafe::cli {
namespace {

struct RestoreArgs {
  std::string snapshot;
  std::string to;
  std::string include;
  bool in_place = false;
  bool overwrite = false;
  bool no_sync = false;
};

int RunRestore(VerbContext& ctx, const RestoreArgs& args,
               const std::vector<std::shared_ptr<RestoreTarget>>& targets) {
  const CommonFlags& flags = ctx.flags;
  std::vector<RestoreTarget*> chosen;
  for (const auto& t : targets) {
    if (t->Chosen()) chosen.push_back(t.get());
  }
  std::string choices = "--to PATH";
  for (const auto& t : targets) choices += ", " + t->Name();
  if (chosen.size() + (args.to.empty() ? 0 : 1) != 1) {
    return ReportError(
        Status(ErrorCode::kInvalidArgument, "give exactly one restore target (" + choices + ")",
               "`vecsafe restore SNAPSHOT --to NEW_FOLDER` restores files into a "
               "new folder; see `vecsafe restore --help`."),
        flags);
  }
  if (args.in_place && args.overwrite) {
    return ReportError(
        Status(ErrorCode::kInvalidArgument, "--in-place and --overwrite exclude each other",
               "--in-place moves the old folder aside; --overwrite writes into it."),
        flags);
  }
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  auto manifest = LoadSnapshotArg(**repo, args.snapshot);
  if (!manifest.ok()) return ReportError(manifest.status(), flags);
  if (!chosen.empty()) return chosen.front()->Run(ctx, **repo, *manifest);

  if (Status s = CheckChromaRestoreToFolder(*manifest, args.to, args.in_place || args.overwrite);
      !s.ok()) {
    return ReportError(s, flags);
  }
  Progress bar(flags, "restore");
  RestoreOptions opts;
  opts.path_prefix = args.include;
  while (!opts.path_prefix.empty() && opts.path_prefix.back() == '/') opts.path_prefix.pop_back();
  opts.in_place = args.in_place;
  opts.overwrite = args.overwrite;
  opts.sync = !args.no_sync;
  opts.progress = [&bar](uint64_t done, uint64_t total) {
    bar.SetTotals(total, 0);
    bar.SetBytes(done);
  };
  const auto start = std::chrono::steady_clock::now();
  auto result = (*repo)->RestoreToDirectory(*manifest, args.to, opts);
  bar.Finish();
  if (!result.ok()) {
    Status s = result.status();
    if (s.code() == ErrorCode::kAlreadyExists) {
      s = s.WithHint(
          "Restore into a new or empty folder, or add --in-place (the old folder is "
          "moved aside) or --overwrite (files of the snapshot replace existing ones).");
    }
    return ReportError(s, flags);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (flags.json) {
    PrintJson({{"snapshot", manifest->id},
               {"target", args.to},
               {"include", opts.path_prefix},
               {"files", result->files},
               {"dirs", result->dirs},
               {"bytes", result->bytes},
               {"moved_aside", result->moved_aside},
               {"synced", opts.sync},
               {"seconds", secs}});
  } else {
    Say(flags, "restored snapshot " + manifest->ShortId() + " to " + args.to + ": " +
                   std::to_string(result->files) + " files, " + std::to_string(result->dirs) +
                   " folders, " + FormatBytes(result->bytes) + " in " + FormatDuration(secs));
    if (!result->moved_aside.empty()) {
      Say(flags, "the previous folder was moved to " + result->moved_aside);
    }
  }
  return 0;
}

}  // namespace

void RegisterRestoreVerb(CLI::App& parent, VerbContext& ctx,
                         std::vector<std::shared_ptr<RestoreTarget>> targets) {
  auto args = std::make_shared<RestoreArgs>();
  auto shared_targets =
      std::make_shared<std::vector<std::shared_ptr<RestoreTarget>>>(std::move(targets));
  CLI::App* cmd = parent.add_subcommand("restore", "Restore a snapshot");
  cmd->add_option("snapshot", args->snapshot,
                  "Snapshot id, unique prefix, `latest` or `latest:KIND` (dir, chroma, qdrant)")
      ->required();
  cmd->add_option("--to", args->to,
                  "Folder to restore into; it must not exist or be empty unless --in-place or "
                  "--overwrite is given. Written beside it first, then renamed into place");
  cmd->add_option("--include", args->include,
                  "Restore only this file or folder of the snapshot (a path inside it). "
                  "Default: everything");
  cmd->add_flag("--in-place", args->in_place,
                "Replace an existing folder: it is moved aside to <PATH>.vecsafe-old-<time> "
                "first. Default: off");
  cmd->add_flag("--overwrite", args->overwrite,
                "Restore into an existing folder: files of the snapshot replace files of the same "
                "name, other files stay. Default: off");
  cmd->add_flag("--no-sync", args->no_sync,
                "Do not fsync the restored files and folders before they are renamed into place "
                "(faster on a slow disk; a crash right after may leave torn files that look "
                "restored). For throwaway copies only. Default: off (synced)");
  for (const auto& t : *shared_targets) t->AddOptions(cmd);
  AddCommonFlags(cmd, ctx, /*with_repo=*/true);
  cmd->callback(
      [&ctx, args, shared_targets] { ctx.exit_status = RunRestore(ctx, *args, *shared_targets); });
}

}  // namespace vecsafe::cli
