// `vecsafe collection delete NAME` and `vecsafe collection rename OLD NEW`
// (--server URL --path DIR --repo URL): transactional operations on a Chroma
// collection (src/sources/chroma/safe_ops.h), with the per-collection
// backup and restore of src/sources/chroma/collection_backup.h.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "cli/chroma_verbs.h"
#include "cli/common.h"
#include "sources/chroma/collection_backup.h"
#include "sources/chroma/safe_ops.h"

namespace vecsafe::cli {
namespace {

struct CollectionArgs {
  std::string name, new_name;
  chroma::SafeOpOptions op;
};

int Run(VerbContext& ctx, const CollectionArgs& a, bool rename) {
  auto repo = OpenRepositoryFromFlags(ctx.flags);
  if (!repo.ok()) return ReportError(repo.status(), ctx.flags);
  Repository& r = **repo;
  chroma::CollectionBackupFns fns;
  fns.backup = [&r](const std::string& path, const std::string& name) -> Result<std::string> {
    chroma::CollectionBackupOptions bo;
    bo.tags = {"before-collection-operation"};
    VS_ASSIGN_OR_RETURN(Manifest m, chroma::BackupCollection(r, path, name, bo));
    return m.id;
  };
  fns.restore = [&r, &a](const std::string& snapshot, const std::string& url,
                         const std::string& as_name) -> Result<int64_t> {
    VS_ASSIGN_OR_RETURN(Manifest m, r.LoadSnapshot(snapshot));
    VS_ASSIGN_OR_RETURN(chroma::CollectionData data, chroma::LoadCollectionSnapshot(r, m));
    chroma::CollectionRestoreOptions ro;
    ro.as_name = as_name;
    ro.tenant = a.op.tenant;
    ro.database = a.op.database;
    VS_ASSIGN_OR_RETURN(chroma::CollectionRestoreResult res,
                        chroma::RestoreCollectionToServer(data, url, ro));
    return res.count;
  };
  auto report = rename ? chroma::SafeRenameCollection(a.name, a.new_name, a.op, fns)
                       : chroma::SafeDeleteCollection(a.name, a.op, fns);
  if (!report.ok()) return ReportError(report.status(), ctx.flags);
  const chroma::SafeOpReport& rep = *report;
  if (ctx.flags.json) {
    PrintJson(rep.ToJson());
  } else {
    Say(ctx.flags, "backup: snapshot " + rep.backup_id.substr(0, 8) + " (" +
                       std::to_string(rep.count) + " records)");
    if (rep.result == "ok") {
      Say(ctx.flags, rename ? "renamed '" + rep.name + "' to '" + rep.new_name + "'"
                            : "deleted '" + rep.name + "'");
      if (!rep.quarantine.empty()) {
        Say(ctx.flags, "the vector folder Chroma left behind was moved to " + rep.quarantine);
      }
    } else {
      std::cerr << "vecsafe: " << rep.kind << " of '" << rep.name << "' failed: " << rep.error
                << "\n";
      if (rep.result == "rolled_back") {
        std::cerr << "vecsafe: rolled back: " << rep.rollback << "\n";
        std::cerr << "HINT: the collection is as it was; fix the cause (see the error) and run "
                     "the operation again.\n";
      } else {
        std::cerr << "HINT: " << rep.rollback << "\n";
      }
    }
    Say(ctx.flags, "journal: operation " + rep.op_id + " (`vecsafe ops log`)");
  }
  if (rep.result == "ok") return 0;
  // Same exit statuses as the error table: a rollback that worked is an
  // aborted operation, a failed rollback is data at risk.
  return Status(rep.result == "rolled_back" ? ErrorCode::kAborted : ErrorCode::kDataLoss, "")
      .exit_status();
}

void AddOpFlags(CLI::App* cmd, CollectionArgs& a) {
  cmd->add_option("--server", a.op.server_url, "URL of the running Chroma (http://HOST:PORT)")
      ->required();
  cmd->add_option("--path", a.op.path, "Chroma's persist folder (the one the server runs with)")
      ->required();
  cmd->add_option("--state-dir", a.op.state_dir,
                  "Folder of the operation journal (default: $VECSAFE_STATE_DIR or the user's "
                  "state folder)");
  cmd->add_option("--rollback-wait", a.op.rollback_wait_seconds,
                  "Seconds a rollback waits for an unreachable Chroma to come back. Default: 60")
      ->check(CLI::Range(0, 3600));
  cmd->add_option("--tenant", a.op.tenant, "Chroma tenant. Default: default_tenant");
  cmd->add_option("--database", a.op.database, "Chroma database. Default: default_database");
}

}  // namespace

void RegisterCollectionVerb(CLI::App& parent, VerbContext& ctx) {
  CLI::App* col = parent.add_subcommand(
      "collection",
      "Delete or rename a Chroma collection safely: backup first, roll back on failure, journal");
  col->require_subcommand(1);
  auto a = std::make_shared<CollectionArgs>();
  CLI::App* del = col->add_subcommand(
      "delete",
      "Back up NAME, delete it through Chroma's API, check, quarantine the folder Chroma leaves");
  del->add_option("name", a->name, "Collection to delete")->required();
  AddOpFlags(del, *a);
  AddCommonFlags(del, ctx, /*with_repo=*/true);
  del->callback([&ctx, a] { ctx.exit_status = Run(ctx, *a, /*rename=*/false); });

  CLI::App* ren = col->add_subcommand(
      "rename", "Back up OLD, rename it to NEW through Chroma's API, verify the count, check");
  ren->add_option("old", a->name, "Current name")->required();
  ren->add_option("new", a->new_name, "New name")->required();
  AddOpFlags(ren, *a);
  AddCommonFlags(ren, ctx, /*with_repo=*/true);
  ren->callback([&ctx, a] { ctx.exit_status = Run(ctx, *a, /*rename=*/true); });
}

}  // namespace vecsafe::cli
