// Registers the Qdrant verbs. `backup qdrant` goes under the `backup` parent
// (created here if no other verb made it). `init`, `restore` and `export` are owned by
// their generic verbs, which call RunQdrantRestore / RunQdrantExport for
// snapshots of source kind "qdrant"; only when a build has no such verb yet do
// the fallbacks below provide them (Qdrant targets, plus a plain directory or
// tar for other snapshots through the repository API).
#include "cli/qdrant_verbs.h"

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/common.h"
#include "io/store_registry.h"
#include "vecsafe/repository.h"

namespace vecsafe::cli {
namespace {

CLI::App* FindSubcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == name) return sub;
  }
  return nullptr;
}

Result<std::unique_ptr<Repository>> OpenRepo(const CommonFlags& flags) {
  return OpenRepositoryForCli(flags);
}

void RegisterInitFallback(CLI::App& app, VerbContext& ctx) {
  auto encryption = std::make_shared<std::string>("aes-256-gcm");
  auto kdf = std::make_shared<InitOptions>();
  CLI::App* cmd = app.add_subcommand("init", "Create a repository");
  cmd->add_option("--kdf-ops", kdf->kdf_ops_limit, "Argon2id passes. Default: 3");
  cmd->add_option("--kdf-memory-mib", kdf->kdf_mem_limit_bytes,
                  "Argon2id memory in MiB. Default: 64")
      ->transform([](std::string v) { return std::to_string(std::stoull(v) << 20); });
  cmd->add_option("--encryption", *encryption,
                  "aes-256-gcm or none. Default: aes-256-gcm (password from VECSAFE_PASSWORD, "
                  "VECSAFE_PASSWORD_FILE or a prompt)");
  AddCommonFlags(cmd, ctx, true);
  cmd->callback([&ctx, encryption, kdf] {
    auto run = [&]() -> Status {
      VS_ASSIGN_OR_RETURN(std::string url, ResolveRepoUrl(ctx.flags));
      InitOptions init = *kdf;
      VS_ASSIGN_OR_RETURN(init.encryption, ParseEncryption(*encryption));
      if (init.encryption != Encryption::kNone) {
        VS_ASSIGN_OR_RETURN(init.password, ResolvePassword(ctx.flags, true));
      }
      VS_ASSIGN_OR_RETURN(std::unique_ptr<ObjectStore> store, OpenStore(url));
      VS_ASSIGN_OR_RETURN(std::unique_ptr<Repository> repo,
                          Repository::Init(std::move(store), init));
      const RepositoryInfo info = repo->Info();
      if (ctx.flags.json) {
        PrintJson({{"repo_id", info.repo_id},
                   {"location", info.location},
                   {"encryption", EncryptionName(info.encryption)}});
      } else {
        Say(ctx.flags, "created repository " + info.repo_id + " at " + info.location);
      }
      return Status::OK();
    };
    const Status s = run();
    ctx.exit_status = s.ok() ? 0 : ReportError(s, ctx.flags);
  });
}

void RegisterRestoreFallback(CLI::App& app, VerbContext& ctx) {
  auto flags = std::make_shared<QdrantRestoreFlags>();
  auto snapshot = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "restore", "Restore a snapshot into a directory (--to) or a Qdrant (--to-qdrant)");
  cmd->add_option("snapshot", *snapshot, "Snapshot id (or unique prefix)")->required();
  cmd->add_option("--to", *to, "Restore the files into this (new or empty) directory");
  cmd->add_option("--collection", flags->collection,
                  "With --to-qdrant: refuse a snapshot of another collection");
  AddQdrantRestoreFlags(cmd, *flags);
  AddCommonFlags(cmd, ctx, true);
  cmd->callback([&ctx, flags, snapshot, to] {
    if (to->empty() == flags->to_qdrant.empty()) {
      ctx.exit_status = ReportError(
          Status(ErrorCode::kInvalidArgument, "give exactly one of --to PATH and --to-qdrant URL",
                 "`vecsafe restore SNAP --to DIR` or `vecsafe restore SNAP --to-qdrant URL`."),
          ctx.flags);
      return;
    }
    auto repo = OpenRepo(ctx.flags);
    if (!repo.ok()) return void(ctx.exit_status = ReportError(repo.status(), ctx.flags));
    auto manifest = (*repo)->LoadSnapshot(*snapshot);
    if (!manifest.ok()) return void(ctx.exit_status = ReportError(manifest.status(), ctx.flags));
    if (!flags->to_qdrant.empty()) {
      ctx.exit_status = RunQdrantRestore(ctx, **repo, *manifest, *flags);
      return;
    }
    auto result = (*repo)->RestoreToDirectory(*manifest, *to);
    if (!result.ok()) return void(ctx.exit_status = ReportError(result.status(), ctx.flags));
    if (ctx.flags.json) {
      PrintJson({{"snapshot", manifest->id},
                 {"to", *to},
                 {"files", result->files},
                 {"dirs", result->dirs},
                 {"bytes", result->bytes}});
    } else {
      Say(ctx.flags, "restored " + std::to_string(result->files) + " files (" +
                         FormatBytes(result->bytes) + ") to " + *to);
    }
    ctx.exit_status = 0;
  });
}

void RegisterExportFallback(CLI::App& app, VerbContext& ctx) {
  auto snapshot = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  CLI::App* cmd =
      app.add_subcommand("export",
                         "Write a snapshot out: a Qdrant snapshot as its original .snapshot file, "
                         "anything else as a tar");
  cmd->add_option("snapshot", *snapshot, "Snapshot id (or unique prefix)")->required();
  cmd->add_option("--out", *out, "File to write (must not exist)")->required();
  cmd->add_option(
      "--path", *path,
      "For a Qdrant cluster snapshot: the node's file, <collection>/<peer_id>.snapshot");
  AddCommonFlags(cmd, ctx, true);
  cmd->callback([&ctx, snapshot, out, path] {
    auto repo = OpenRepo(ctx.flags);
    if (!repo.ok()) return void(ctx.exit_status = ReportError(repo.status(), ctx.flags));
    auto manifest = (*repo)->LoadSnapshot(*snapshot);
    if (!manifest.ok()) return void(ctx.exit_status = ReportError(manifest.status(), ctx.flags));
    if (manifest->source_kind == "qdrant") {
      ctx.exit_status = RunQdrantExport(ctx, **repo, *manifest, *path, *out);
      return;
    }
    Status s = (*repo)->ExportTar(*manifest, *out);
    if (!s.ok()) return void(ctx.exit_status = ReportError(s, ctx.flags));
    if (ctx.flags.json) PrintJson({{"snapshot", manifest->id}, {"out", *out}, {"format", "tar"}});
    ctx.exit_status = 0;
  });
}

}  // namespace

Result<std::unique_ptr<Repository>> OpenRepositoryForCli(const CommonFlags& flags) {
  VS_ASSIGN_OR_RETURN(std::string url, ResolveRepoUrl(flags));
  VS_ASSIGN_OR_RETURN(std::unique_ptr<ObjectStore> store, OpenStore(url));
  auto password = ResolvePassword(flags, false);
  OpenOptions open;
  if (password.ok()) open.password = *password;
  auto repo = Repository::Open(std::move(store), open);
  if (!repo.ok() && repo.status().code() == ErrorCode::kUnauthenticated && !password.ok()) {
    return password.status();
  }
  return repo;
}

void RegisterQdrantVerbs(CLI::App& app, VerbContext& ctx) {
  if (FindSubcommand(app, "init") == nullptr) RegisterInitFallback(app, ctx);
  CLI::App* backup = FindSubcommand(app, "backup");
  if (backup == nullptr) {
    backup = app.add_subcommand("backup", "Back up a database or a folder into the repository");
    backup->require_subcommand(1);
  }
  RegisterBackupQdrantVerb(*backup, ctx);
  if (FindSubcommand(app, "restore") == nullptr) RegisterRestoreFallback(app, ctx);
  if (FindSubcommand(app, "export") == nullptr) RegisterExportFallback(app, ctx);
}

}  // namespace vecsafe::cli
