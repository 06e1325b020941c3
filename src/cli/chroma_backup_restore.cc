// `vecsafe backup chroma PATH [--collection NAME]` and the Chroma target of
// restore, `vecsafe restore SNAP --to-chroma URL [--as NAME]`.
#include "cli/chroma_backup_restore.h"

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/common.h"
#include "sources/chroma/collection_backup.h"
#include "sources/chroma/hot_backup.h"

namespace vecsafe::cli {
namespace {

struct BackupChromaArgs {
  std::string path;
  std::string collection;
  std::vector<std::string> tags;
  std::string temp_dir;
  std::string chroma_version;
  int attempts = 10;
  int writer_wait_ms = 5000;
  int settle_ms = 0;  // deprecated, ignored
};

int RunBackupChroma(const VerbContext& ctx, const BackupChromaArgs& args) {
  const CommonFlags& flags = ctx.flags;
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  chroma::HotCopyOptions copy;
  copy.temp_dir = args.temp_dir;
  copy.max_attempts = args.attempts;
  copy.writer_wait_ms = args.writer_wait_ms;
  auto run = [&]() -> Result<Manifest> {
    if (!args.collection.empty()) {
      chroma::CollectionBackupOptions o;
      o.read.copy = copy;
      o.tags = args.tags;
      return chroma::BackupCollection(**repo, args.path, args.collection, o);
    }
    chroma::ChromaBackupOptions o;
    o.copy = copy;
    o.tags = args.tags;
    o.chroma_version = args.chroma_version;
    return chroma::BackupChroma(**repo, args.path, o);
  };
  Result<Manifest> result = run();
  if (!result.ok()) return ReportError(result.status(), flags);
  const Manifest& m = *result;
  if (flags.json) {
    PrintJson({{"snapshot", SnapshotJson(m)}});
  } else if (args.collection.empty()) {
    Say(flags, "snapshot " + m.ShortId() + " saved: Chroma folder " + SourceLabel(m) + " (" +
                   m.source.value("chroma_schema", "") + "), " + std::to_string(m.stats.files) +
                   " files, " + FormatBytes(m.stats.bytes_total) + ", " +
                   std::to_string(m.source.value("copy_attempts", 1)) + " attempt(s), " +
                   FormatDuration(m.stats.seconds));
  } else {
    Say(flags, "snapshot " + m.ShortId() + " saved: collection " + args.collection + ", " +
                   std::to_string(m.source.value("count", 0)) + " records of dimension " +
                   std::to_string(m.source.value("dimension", 0)) + ", " +
                   FormatDuration(m.stats.seconds));
  }
  return 0;
}

}  // namespace

void RegisterBackupChromaVerb(CLI::App& backup, VerbContext& ctx) {
  auto args = std::make_shared<BackupChromaArgs>();
  CLI::App* cmd = backup.add_subcommand(
      "chroma",
      "Back up a Chroma folder while Chroma runs (consistent hot copy), or one collection of it "
      "(--collection)");
  cmd->add_option("path", args->path, "The Chroma folder (chroma run --path / PersistentClient)")
      ->required();
  cmd->add_option("--collection", args->collection,
                  "Back up only this collection, read from the files (ids, vectors, documents, "
                  "metadata); restore it with `restore SNAP --to-chroma URL`. Default: the whole "
                  "folder");
  cmd->add_option("--tag", args->tags, "Tag the snapshot (repeat for several). Default: none");
  cmd->add_option("--temp-dir", args->temp_dir,
                  "Where the online copy of chroma.sqlite3 is staged. Default: $TMPDIR or /tmp");
  cmd->add_option("--attempts", args->attempts,
                  "Copy attempts when Chroma flushes an index during the copy. Default: 10");
  cmd->add_option("--writer-wait-ms", args->writer_wait_ms,
                  "Longest wait per attempt for an instant when no Chroma write transaction is "
                  "open (the copy starts at such an instant). Default: 5000");
  // Accepted so existing scripts keep working; consistency no longer rests on
  // a quiet period (docs/chroma.md, "Hot full backup").
  cmd->add_option("--settle-ms", args->settle_ms, "Deprecated and ignored")->group("");
  cmd->add_option("--chroma-version", args->chroma_version,
                  "Chroma's release, recorded in the snapshot. Default: only the schema and "
                  "its release line are recorded");
  AddCommonFlags(cmd, ctx, /*with_repo=*/true);
  cmd->callback([&ctx, args] { ctx.exit_status = RunBackupChroma(ctx, *args); });
}

std::string ChromaRestoreTarget::Name() const { return "--to-chroma URL"; }

void ChromaRestoreTarget::AddOptions(CLI::App* restore) {
  restore->add_option("--to-chroma", url_,
                      "Recreate a Chroma collection snapshot in the Chroma server at this URL "
                      "(http://HOST:PORT; any version 0.4 to 1.x), in batches, count verified");
  restore->add_option("--chroma-tenant", tenant_,
                      "With --to-chroma: the tenant. Default: default_tenant");
  restore->add_option("--chroma-database", database_,
                      "With --to-chroma: the database. Default: default_database");
  restore->add_option("--batch-size", batch_size_,
                      "With --to-chroma: records per request. Default: 500");
  // --as is shared with other targets (--to-qdrant): add it only once.
  as_ = restore->get_option_no_throw("--as");
  if (as_ != nullptr) {
    as_->description(
        "With --to-qdrant or --to-chroma: the collection's name in the target. Default: its "
        "original name");
  } else {
    as_ = restore->add_option("--as", as_name_,
                              "With --to-chroma: the collection's name in the target. Default: "
                              "its original name");
  }
}

bool ChromaRestoreTarget::Chosen() const { return !url_.empty(); }

int ChromaRestoreTarget::Run(VerbContext& ctx, Repository& repo, const Manifest& manifest) {
  std::string as_name;
  if (as_ != nullptr && as_->count() > 0) as_name = as_->as<std::string>();
  auto data = chroma::LoadCollectionSnapshot(repo, manifest);
  if (!data.ok()) return ReportError(data.status(), ctx.flags);
  chroma::CollectionRestoreOptions o;
  o.as_name = as_name;
  o.batch_size = batch_size_ > 0 ? static_cast<size_t>(batch_size_) : 500;
  o.tenant = tenant_;
  o.database = database_;
  auto res = chroma::RestoreCollectionToServer(*data, url_, o);
  if (!res.ok()) return ReportError(res.status(), ctx.flags);
  if (ctx.flags.json) {
    PrintJson({{"snapshot", manifest.id},
               {"collection", res->name},
               {"source_collection", data->name},
               {"count", res->count},
               {"dimension", data->dimension},
               {"target", url_},
               {"api_version", res->api_version},
               {"server_version", res->server_version},
               {"index_settings", res->index_settings},
               {"seconds", res->seconds}});
  } else {
    Say(ctx.flags,
        "restored collection " + res->name + " (" + std::to_string(res->count) +
            " records) from snapshot " + manifest.ShortId() + " into " + url_ +
            (res->server_version.empty() ? "" : " (Chroma " + res->server_version + ")"));
  }
  return 0;
}

Status CheckChromaRestoreToFolder(const Manifest& manifest, const std::string& target,
                                  bool replaces_existing) {
  if (manifest.source_kind != "chroma" || chroma::IsCollectionSnapshot(manifest)) {
    return Status::OK();
  }
  if (!replaces_existing) return Status::OK();
  return chroma::RefuseWhileChromaRuns(target, "restoring in place")
      .WithHint(
          "Stop Chroma first (the folder is moved aside and replaced), or restore into a "
          "new folder with --to NEW_FOLDER while it runs.");
}

}  // namespace vecsafe::cli
