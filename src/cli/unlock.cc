// `vecsafe unlock [--stale|--all] [--list]`: shows and removes repository locks.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>

#include "cli/verbs.h"

namespace vecsafe::cli {
namespace {

struct UnlockArgs {
  bool stale = false;
  bool all = false;
  bool list = false;
};

nlohmann::json LockJson(const LockInfo& l, int64_t now) {
  return {{"id", l.id},
          {"mode", l.mode == LockMode::kExclusive ? "exclusive" : "shared"},
          {"hostname", l.hostname},
          {"pid", l.pid},
          {"operation", l.operation},
          {"created_unix", l.created_unix},
          {"refreshed_unix", l.refreshed_unix},
          {"age_seconds", now - l.created_unix},
          {"stale", l.stale},
          {"stale_reason", l.stale_reason}};
}

int RunUnlock(const VerbContext& ctx, const UnlockArgs& args) {
  const CommonFlags& flags = ctx.flags;
  if (args.stale && args.all) {
    return ReportError(Status(ErrorCode::kInvalidArgument, "--stale and --all exclude each other",
                              "--stale (the default) removes locks of dead processes; --all "
                              "removes every lock."),
                       flags);
  }
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  auto locks = (*repo)->ListLocks();
  if (!locks.ok()) return ReportError(locks.status(), flags);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  int removed = 0;
  if (!args.list) {
    auto n = (*repo)->BreakLocks(args.all);
    if (!n.ok()) return ReportError(n.status(), flags);
    removed = *n;
  }
  if (flags.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const LockInfo& l : *locks) arr.push_back(LockJson(l, now));
    PrintJson({{"locks", arr}, {"removed", removed}});
    return 0;
  }
  if (!flags.quiet) {
    for (const LockInfo& l : *locks) {
      std::printf("%s lock %s: %s on host %s pid %lld, age %s%s%s\n",
                  l.mode == LockMode::kExclusive ? "exclusive" : "shared", l.id.c_str(),
                  l.operation.c_str(), l.hostname.c_str(), static_cast<long long>(l.pid),
                  FormatDuration(static_cast<double>(now - l.created_unix)).c_str(),
                  l.stale ? ", stale: " : "", l.stale ? l.stale_reason.c_str() : "");
    }
    if (!args.list) std::printf("removed %d lock%s\n", removed, removed == 1 ? "" : "s");
  }
  return 0;
}

}  // namespace

void RegisterUnlockVerb(CLI::App& parent, VerbContext& ctx) {
  auto args = std::make_shared<UnlockArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "unlock", "Show the repository's locks (host, pid, age) and remove stale ones");
  cmd->add_flag("--stale", args->stale,
                "Remove only stale locks: process gone (same host) or not refreshed for 30 min. "
                "This is the default");
  cmd->add_flag("--all", args->all,
                "Remove every lock, also live ones (only when no vecsafe process uses the "
                "repository). Default: off");
  cmd->add_flag("--list", args->list, "Only list the locks, remove nothing. Default: off");
  AddCommonFlags(cmd, ctx, /*with_repo=*/true);
  cmd->callback([&ctx, args] { ctx.exit_status = RunUnlock(ctx, *args); });
}

}  // namespace vecsafe::cli
