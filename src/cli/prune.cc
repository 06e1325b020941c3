// `vecsafe prune [--max-unused %] [--dry-run]`: frees the space nothing references.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/verbs.h"

namespace vecsafe::cli {

nlohmann::json PruneResultJson(const PruneResult& r) {
  return {{"packs_deleted", r.packs_deleted},
          {"packs_repacked", r.packs_repacked},
          {"packs_written", r.packs_written},
          {"bytes_freed", r.bytes_freed},
          {"chunks_kept", r.chunks_kept},
          {"chunks_removed", r.chunks_removed},
          {"index_files_rewritten", r.index_files_rewritten}};
}

void PrintPruneSummary(const PruneResult& r, bool dry_run) {
  std::printf(
      "%s %s: %llu packs deleted, %llu repacked into %llu; %llu chunks kept, %llu "
      "removed; %llu index files rewritten\n",
      dry_run ? "prune would free" : "prune freed", FormatBytes(r.bytes_freed).c_str(),
      static_cast<unsigned long long>(r.packs_deleted),
      static_cast<unsigned long long>(r.packs_repacked),
      static_cast<unsigned long long>(r.packs_written),
      static_cast<unsigned long long>(r.chunks_kept),
      static_cast<unsigned long long>(r.chunks_removed),
      static_cast<unsigned long long>(r.index_files_rewritten));
}

namespace {

struct PruneArgs {
  double max_unused_percent = 30;
  bool dry_run = false;
};

int RunPrune(const VerbContext& ctx, const PruneArgs& args) {
  const CommonFlags& flags = ctx.flags;
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  PruneOptions opts;
  opts.repack_unused_fraction = args.max_unused_percent / 100.0;
  opts.dry_run = args.dry_run;
  Progress bar(flags, "prune");
  auto result = (*repo)->Prune(opts);
  bar.Finish();
  if (!result.ok()) return ReportError(result.status(), flags);
  if (flags.json) {
    nlohmann::json doc = PruneResultJson(*result);
    doc["dry_run"] = args.dry_run;
    PrintJson(doc);
  } else if (!flags.quiet) {
    PrintPruneSummary(*result, args.dry_run);
  }
  return 0;
}

}  // namespace

void RegisterPruneVerb(CLI::App& parent, VerbContext& ctx) {
  auto args = std::make_shared<PruneArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "prune",
      "Delete data no snapshot references (left by forget or by interrupted backups) and repack "
      "sparse packs. Takes the exclusive lock: waits for no one, fails if a backup runs");
  cmd->add_option("--max-unused", args->max_unused_percent,
                  "Repack a pack when more than this percentage of it is unused (0: repack any "
                  "pack with unused data; 100: never repack)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_flag("--dry-run", args->dry_run, "Only count what would be freed. Default: off");
  AddCommonFlags(cmd, ctx, /*with_repo=*/true);
  cmd->callback([&ctx, args] { ctx.exit_status = RunPrune(ctx, *args); });
}

}  // namespace vecsafe::cli
