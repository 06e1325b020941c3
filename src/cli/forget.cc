// `vecsafe forget --keep-... [--prune] [--dry-run]`: removes snapshots by a retention policy.
// `vecsafe forget SNAPSHOT... [--prune]`: removes the named snapshots (as restic does).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/verbs.h"
#include "repo/retention.h"

namespace vecsafe::cli {
namespace {

struct ForgetArgs {
  ForgetPolicy policy;
  std::string keep_within;
  bool prune = false;
  bool dry_run = false;
  double max_unused_percent = 30;
  std::vector<std::string> snapshots;  // ids or unique prefixes: remove exactly these
};

// Removes the named snapshots, then prunes when asked.
int ForgetNamed(const VerbContext& ctx, const ForgetArgs& args) {
  const CommonFlags& flags = ctx.flags;
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  if (args.dry_run) {
    if (flags.json) {
      PrintJson({{"dry_run", true}, {"snapshots", args.snapshots}, {"removed", 0}});
    } else if (!flags.quiet) {
      for (const std::string& id : args.snapshots) std::printf("would remove %s\n", id.c_str());
    }
    return 0;
  }
  if (Status st = (*repo)->RemoveSnapshots(args.snapshots); !st.ok()) {
    return ReportError(st, flags);
  }
  std::optional<PruneResult> pruned;
  if (args.prune) {
    PruneOptions popts;
    popts.repack_unused_fraction = args.max_unused_percent / 100.0;
    auto pr = (*repo)->Prune(popts);
    if (!pr.ok()) return ReportError(pr.status().WithContext("forget done, prune failed"), flags);
    pruned = *pr;
  }
  if (flags.json) {
    PrintJson({{"dry_run", false},
               {"snapshots", args.snapshots},
               {"removed", args.snapshots.size()},
               {"prune", pruned.has_value() ? PruneResultJson(*pruned) : nlohmann::json()}});
  } else if (!flags.quiet) {
    std::printf("removed %zu snapshot(s)\n", args.snapshots.size());
    if (pruned.has_value()) PrintPruneSummary(*pruned, false);
  }
  return 0;
}

int RunForget(const VerbContext& ctx, const ForgetArgs& args) {
  const CommonFlags& flags = ctx.flags;
  const ForgetPolicy& p = args.policy;
  const bool has_rule = p.keep_last != 0 || p.keep_hourly != 0 || p.keep_daily != 0 ||
                        p.keep_weekly != 0 || p.keep_monthly != 0 || p.keep_yearly != 0 ||
                        !args.keep_within.empty() || !p.keep_tags.empty();
  if (!args.snapshots.empty()) {
    if (has_rule) {
      return ReportError(
          Status(ErrorCode::kInvalidArgument, "snapshot ids and --keep-* rules were both given",
                 "Either name the snapshots to remove or give a policy; nothing "
                 "was removed."),
          flags);
    }
    return ForgetNamed(ctx, args);
  }
  if (p.keep_last == 0 && p.keep_hourly == 0 && p.keep_daily == 0 && p.keep_weekly == 0 &&
      p.keep_monthly == 0 && p.keep_yearly == 0 && args.keep_within.empty() &&
      p.keep_tags.empty()) {
    return ReportError(Status(ErrorCode::kInvalidArgument, "no --keep-* rule given",
                              "Say what to keep, e.g. `vecsafe forget --keep-daily 7 "
                              "--keep-weekly 4`; nothing was removed."),
                       flags);
  }
  ForgetOptions opts;
  opts.policy = p;
  if (!args.keep_within.empty()) {
    auto d = repo::ParseRetentionDuration(args.keep_within);
    if (!d.ok()) {
      return ReportError(d.status().WithHint("Write the duration as restic does, e.g. 7d, 12h, "
                                             "1y2m3d4h (y, m, d, h)."),
                         flags);
    }
    // Months count as 31 days and years as 366: never shorter than the calendar period, so
    // the rule keeps at least what restic's calendar arithmetic keeps.
    const int64_t hours = int64_t{d->hours} + 24 * (int64_t{d->days} + 31 * int64_t{d->months} +
                                                    366 * int64_t{d->years});
    opts.policy.keep_within_seconds = hours * 3600;
  }
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  opts.dry_run = args.dry_run;
  auto result = (*repo)->Forget(opts);
  if (!result.ok()) return ReportError(result.status(), flags);
  std::optional<PruneResult> pruned;
  if (args.prune && !args.dry_run && result->removed > 0) {
    PruneOptions popts;
    popts.repack_unused_fraction = args.max_unused_percent / 100.0;
    auto pr = (*repo)->Prune(popts);
    if (!pr.ok()) return ReportError(pr.status().WithContext("forget done, prune failed"), flags);
    pruned = *pr;
  }
  if (flags.json) {
    nlohmann::json decisions = nlohmann::json::array();
    for (const ForgetDecision& d : result->decisions) {
      decisions.push_back(
          {{"id", d.id}, {"time", d.time}, {"keep", d.keep}, {"reasons", d.reasons}});
    }
    PrintJson({{"dry_run", args.dry_run},
               {"decisions", decisions},
               {"removed", result->removed},
               {"prune", pruned.has_value() ? PruneResultJson(*pruned) : nlohmann::json()}});
    return 0;
  }
  if (!flags.quiet) {
    for (const ForgetDecision& d : result->decisions) {
      std::string reasons;
      for (const std::string& r : d.reasons) reasons += (reasons.empty() ? "" : ", ") + r;
      std::printf("%-6s %s  %s  %s\n", d.keep ? "keep" : "remove", d.id.substr(0, 8).c_str(),
                  d.time.c_str(), reasons.c_str());
    }
    const size_t n = result->decisions.size();
    std::printf("%s %llu of %zu snapshots\n", args.dry_run ? "would remove" : "removed",
                static_cast<unsigned long long>(args.dry_run ? [&] {
                  uint64_t c = 0;
                  for (const auto& d : result->decisions) c += d.keep ? 0 : 1;
                  return c;
                }()
                                                             : result->removed),
                n);
    if (pruned.has_value()) PrintPruneSummary(*pruned, false);
  }
  return 0;
}

}  // namespace

void RegisterForgetVerb(CLI::App& parent, VerbContext& ctx) {
  auto args = std::make_shared<ForgetArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "forget",
      "Remove snapshots by a retention policy (restic's rules; snapshots are judged per host "
      "and source). A snapshot is kept if any rule keeps it");
  ForgetPolicy& p = args->policy;
  cmd->add_option("snapshot", args->snapshots,
                  "Snapshot ids (or unique prefixes) to remove instead of a policy. Default: none");
  const auto count = CLI::Range(-1, 1000000);
  cmd->add_option("--keep-last", p.keep_last,
                  "Keep the N newest snapshots (-1: all). Default: 0 (rule off)")
      ->check(count);
  cmd->add_option("--keep-hourly", p.keep_hourly,
                  "Keep the newest snapshot of each of the last N hours that have one. Default: 0")
      ->check(count);
  cmd->add_option("--keep-daily", p.keep_daily, "Same per day. Default: 0")->check(count);
  cmd->add_option("--keep-weekly", p.keep_weekly, "Same per ISO week. Default: 0")->check(count);
  cmd->add_option("--keep-monthly", p.keep_monthly, "Same per month. Default: 0")->check(count);
  cmd->add_option("--keep-yearly", p.keep_yearly, "Same per year. Default: 0")->check(count);
  cmd->add_option("--keep-within", args->keep_within,
                  "Keep every snapshot newer than the newest minus this duration, e.g. 1y2m3d4h. "
                  "Default: off");
  cmd->add_option("--keep-tag", p.keep_tags,
                  "Keep every snapshot with this tag (a,b: with all of them; repeatable). "
                  "Default: none");
  cmd->add_flag("--prune", args->prune,
                "Run `prune` afterwards to free the space of removed snapshots. Default: off");
  cmd->add_option("--max-unused", args->max_unused_percent,
                  "With --prune: repack packs with more than this percentage unused")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_flag("--dry-run", args->dry_run, "Only show what would be removed. Default: off");
  AddCommonFlags(cmd, ctx, /*with_repo=*/true);
  cmd->callback([&ctx, args] { ctx.exit_status = RunForget(ctx, *args); });
}

}  // namespace vecsafe::cli
