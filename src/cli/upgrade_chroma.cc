// `vecsafe upgrade prepare chroma PATH`, `vecsafe upgrade verify [chroma PATH]`,
// `vecsafe upgrade rollback [chroma PATH]`: the upgrade guard
// (src/sources/chroma/upgrade_guard.h).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/chroma_verbs.h"
#include "cli/common.h"
#include "sources/chroma/upgrade_guard.h"

namespace vecsafe::cli {
namespace {

struct UpgradeArgs {
  std::vector<std::string> where;  // [chroma] [PATH]
  std::string state_dir;
  std::string record;
  std::string chroma_version;
  bool allow_same_schema = false;
};

// "chroma PATH", "PATH" or nothing -> PATH or "".
Result<std::string> PathArg(const std::vector<std::string>& where, bool required) {
  std::vector<std::string> w = where;
  if (!w.empty() && w.front() == "chroma") w.erase(w.begin());
  if (w.size() > 1 || (required && w.empty())) {
    return InvalidArgument("expected `chroma PATH`",
                           "Example: `vecsafe upgrade prepare chroma /data/chroma`.");
  }
  return w.empty() ? std::string() : w.front();
}

chroma::UpgradeOptions Options(const UpgradeArgs& a) {
  chroma::UpgradeOptions o;
  o.state_dir = a.state_dir;
  o.record_file = a.record;
  o.chroma_version = a.chroma_version;
  o.allow_same_schema = a.allow_same_schema;
  return o;
}

Result<nlohmann::json> FindRecord(const UpgradeArgs& a) {
  VS_ASSIGN_OR_RETURN(std::string path, PathArg(a.where, false));
  VS_ASSIGN_OR_RETURN(auto file, chroma::FindUpgradeRecord(Options(a), path));
  return chroma::LoadUpgradeRecord(file);
}

int RunPrepare(VerbContext& ctx, const UpgradeArgs& a) {
  auto path = PathArg(a.where, true);
  if (!path.ok()) return ReportError(path.status(), ctx.flags);
  auto url = ResolveRepoUrl(ctx.flags);
  if (!url.ok()) return ReportError(url.status(), ctx.flags);
  auto repo = OpenRepositoryFromFlags(ctx.flags);
  if (!repo.ok()) return ReportError(repo.status(), ctx.flags);
  chroma::UpgradeOptions o = Options(a);
  o.repo_url = *url;
  auto rec = chroma::PrepareUpgrade(**repo, *path, o);
  if (!rec.ok()) return ReportError(rec.status(), ctx.flags);
  if (ctx.flags.json) {
    PrintJson(*rec);
  } else {
    Say(ctx.flags, "schema: " + (*rec)["schema"].dump() + " (Chroma " +
                       (*rec)["chroma_version_line"].get<std::string>() + " line)");
    for (const auto& c : (*rec)["collections"]) {
      Say(ctx.flags, "  " + c["name"].get<std::string>() + ": " + c["count"].dump() + " records");
    }
    Say(ctx.flags, "full backup: snapshot " + (*rec)["snapshot"].get<std::string>().substr(0, 8));
    Say(ctx.flags, "upgrade record: " + (*rec)["record_file"].get<std::string>());
    Say(ctx.flags,
        "Now upgrade Chroma and start it once; then run `vecsafe upgrade verify chroma " +
            (*rec)["path"].get<std::string>() + "`.");
  }
  return 0;
}

int RunVerify(VerbContext& ctx, const UpgradeArgs& a) {
  auto rec = FindRecord(a);
  if (!rec.ok()) return ReportError(rec.status(), ctx.flags);
  auto r = chroma::VerifyUpgrade(*rec, Options(a));
  if (!r.ok()) return ReportError(r.status(), ctx.flags);
  if (ctx.flags.json) {
    nlohmann::json j = r->ToJson();
    j["path"] = (*rec)["path"];
    j["snapshot"] = (*rec)["snapshot"];
    PrintJson(j);
  } else {
    Say(ctx.flags, "schema " + r->schema_before.dump() + " -> " + r->schema_after.dump() + " (" +
                       r->schema_change + ")");
    for (const auto& c : r->collections) {
      Say(ctx.flags, "  " + c["name"].get<std::string>() + ": " + c["before"].dump() + " -> " +
                         c["after"].dump());
    }
    if (r->ok) {
      Say(ctx.flags, "upgrade verified: every count equal, schema moved forward, check passes");
    } else {
      for (const auto& p : r->problems) std::cerr << "vecsafe: upgrade problem: " << p << "\n";
      std::cerr << "HINT: `vecsafe upgrade rollback` restores the state recorded before the "
                   "upgrade (stop Chroma first).\n";
    }
  }
  return r->ok ? 0 : 1;
}

int RunRollback(VerbContext& ctx, const UpgradeArgs& a) {
  auto rec = FindRecord(a);
  if (!rec.ok()) return ReportError(rec.status(), ctx.flags);
  CommonFlags flags = ctx.flags;
  if (flags.repo.empty() && rec->contains("repo") && (*rec)["repo"].is_string()) {
    flags.repo = (*rec)["repo"].get<std::string>();
  }
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), ctx.flags);
  auto r = chroma::RollbackUpgrade(**repo, *rec, Options(a));
  if (!r.ok()) return ReportError(r.status(), ctx.flags);
  if (ctx.flags.json) {
    PrintJson(r->ToJson());
  } else {
    Say(ctx.flags, "restored snapshot " + r->snapshot.substr(0, 8) + " to " + r->path + " (" +
                       std::to_string(r->files) + " files)");
    Say(ctx.flags, "the upgraded folder was moved to " + r->moved_aside);
    for (const auto& p : r->problems) std::cerr << "vecsafe: rollback problem: " << p << "\n";
    if (r->problems.empty()) Say(ctx.flags, "schema and every count equal the record");
  }
  return r->problems.empty() ? 0 : 1;
}

void AddShared(CLI::App* cmd, UpgradeArgs& a) {
  cmd->add_option("--state-dir", a.state_dir,
                  "Folder of the journal and the upgrade records (default: $VECSAFE_STATE_DIR "
                  "or the user's state folder)");
  cmd->add_option("--record", a.record,
                  "Upgrade record file. Default: <state>/upgrades/chroma-<hash of PATH>.json");
}

}  // namespace

void RegisterUpgradeVerb(CLI::App& parent, VerbContext& ctx) {
  CLI::App* up = parent.add_subcommand(
      "upgrade", "Guard a Chroma upgrade: prepare (record + full backup), verify, rollback");
  up->require_subcommand(1);
  auto a = std::make_shared<UpgradeArgs>();

  CLI::App* prep = up->add_subcommand(
      "prepare", "Record schema and counts of `chroma PATH` and take a full backup");
  prep->add_option("where", a->where, "chroma PATH")->required()->expected(1, 2);
  prep->add_option("--chroma-version", a->chroma_version,
                   "Chroma's release now running, written into the record (e.g. 0.6.3)");
  AddShared(prep, *a);
  AddCommonFlags(prep, ctx, /*with_repo=*/true);
  prep->callback([&ctx, a] { ctx.exit_status = RunPrepare(ctx, *a); });

  CLI::App* ver = up->add_subcommand(
      "verify",
      "After the upgrade: counts equal, schema moved forward, check passes. Exit 0 ok, 1 not");
  ver->add_option("where", a->where, "[chroma PATH] (default: the only record)")->expected(0, 2);
  ver->add_flag("--allow-same-schema", a->allow_same_schema,
                "Accept an unchanged schema (a release without migrations)");
  AddShared(ver, *a);
  AddCommonFlags(ver, ctx, /*with_repo=*/false);
  ver->callback([&ctx, a] { ctx.exit_status = RunVerify(ctx, *a); });

  CLI::App* rb = up->add_subcommand(
      "rollback",
      "Restore the recorded full backup in place (the folder is moved aside; Chroma must be "
      "stopped)");
  rb->add_option("where", a->where, "[chroma PATH] (default: the only record)")->expected(0, 2);
  AddShared(rb, *a);
  AddCommonFlags(rb, ctx, /*with_repo=*/true);
  rb->callback([&ctx, a] { ctx.exit_status = RunRollback(ctx, *a); });
}

}  // namespace vecsafe::cli
