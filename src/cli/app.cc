#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/version.h"
#include "cli/chroma_backup_restore.h"
#include "cli/chroma_verbs.h"
#include "cli/daemon_verbs.h"
#include "cli/qdrant_verbs.h"
#include "cli/verbs.h"

namespace vecsafe::cli {
namespace {

// `restore SNAP --to-qdrant URL ...` (src/cli/restore_qdrant.cc) as a restore target.
class QdrantRestoreTarget : public RestoreTarget {
 public:
  std::string Name() const override { return "--to-qdrant URL"; }
  void AddOptions(CLI::App* restore) override {
    AddQdrantRestoreFlags(restore, flags_);
    restore->add_option("--collection", flags_.collection,
                        "With --to-qdrant: restore only this collection. Default: all");
  }
  bool Chosen() const override { return !flags_.to_qdrant.empty(); }
  int Run(VerbContext& ctx, Repository& repo, const Manifest& manifest) override {
    return RunQdrantRestore(ctx, repo, manifest, flags_);
  }

 private:
  QdrantRestoreFlags flags_;
};

// The deepest sub-command that was parsed, as "vecsafe backup dir".
std::string ParsedCommandPath(const CLI::App& app) {
  std::string path = "vecsafe";
  const CLI::App* cur = &app;
  while (true) {
    const auto subs = cur->get_subcommands();
    if (subs.empty()) break;
    cur = subs.front();
    path += " " + cur->get_name();
  }
  return path;
}

}  // namespace

int RunApp(int argc, char** argv) {
  CLI::App app{"vecsafe: backups, checks and recovery for vector databases"};
  app.name("vecsafe");
  app.set_version_flag("--version", std::string("vecsafe ") + kVersion);
  app.require_subcommand(1);
  app.footer(
      "Run `vecsafe VERB --help` for the flags of one verb. Environment: VECSAFE_REPO, "
      "VECSAFE_PASSWORD, VECSAFE_PASSWORD_FILE. Exit statuses: `vecsafe errors`.");

  VerbContext ctx;
  RegisterInitVerb(app, ctx);
  CLI::App* backup = RegisterBackupVerb(app);
  RegisterBackupDirVerb(*backup, ctx);
  RegisterBackupChromaVerb(*backup, ctx);
  RegisterSnapshotsVerb(app, ctx);
  RegisterRestoreVerb(
      app, ctx, {std::make_shared<QdrantRestoreTarget>(), std::make_shared<ChromaRestoreTarget>()});
  RegisterVerifyVerb(app, ctx);
  RegisterForgetVerb(app, ctx);
  RegisterPruneVerb(app, ctx);
  RegisterExportVerb(app, ctx);
  RegisterUnlockVerb(app, ctx);
  RegisterVersionVerb(app, ctx);
  RegisterErrorsVerb(app, ctx);
  AddOpsCommand(app, &ctx.exit_status);
  AddConfigCommand(app, &ctx.exit_status);
  AddServeCommand(app, &ctx.exit_status);
  AddCheckCommand(app, &ctx.exit_status);
  AddRecoverCommand(app, &ctx.exit_status);
  AddRepairCommand(app, &ctx.exit_status);
  RegisterUpgradeVerb(app, ctx);
  RegisterCollectionVerb(app, ctx);

  // `vecsafe help [VERB...]`: the same text as `vecsafe VERB... --help`.
  std::vector<std::string> help_path;
  CLI::App* help = app.add_subcommand("help", "Explain a verb: `vecsafe help backup dir`");
  help->add_option("verb", help_path, "The verb (and sub-verb) to explain");
  help->callback([&] {
    const CLI::App* target = &app;
    std::string prev;  // "vecsafe backup" for `help backup dir`, as CLI11 prints it
    for (const std::string& name : help_path) {
      const CLI::App* next = nullptr;
      for (const CLI::App* sub : target->get_subcommands({})) {
        if (sub->get_name() == name) next = sub;
      }
      if (next == nullptr) {
        ctx.exit_status =
            ReportError(Status(ErrorCode::kInvalidArgument, "unknown verb '" + name + "'",
                               "Run `vecsafe --help` to list the verbs."),
                        ctx.flags);
        return;
      }
      prev += (prev.empty() ? "" : " ") + target->get_name();
      target = next;
    }
    std::cout << target->help(prev);
    ctx.exit_status = 0;
  });

  // Last of all: `backup qdrant` under `backup`, and fallbacks for verbs not registered above.
  RegisterQdrantVerbs(app, ctx);

  // An unknown first word would otherwise read "A subcommand is required".
  bool known_verb = argc < 2 || argv[1][0] == '-';
  for (const CLI::App* sub : app.get_subcommands({})) {
    known_verb = known_verb || sub->get_name() == argv[1];
  }
  if (!known_verb) {
    return ReportError(
        Status(ErrorCode::kInvalidArgument, "unknown verb '" + std::string(argv[1]) + "'",
               "Run `vecsafe --help` to list the verbs."),
        CommonFlags{});
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string where = ParsedCommandPath(app);
    const Status status(ErrorCode::kInvalidArgument, e.what(),
                        "Run `" + where + " --help` to see every flag and its default.");
    bool json = false;
    for (int i = 1; i < argc; ++i) json = json || std::string_view(argv[i]) == "--json";
    CommonFlags flags;
    flags.json = json;
    return ReportError(status, flags);
  }
  return ctx.exit_status;
}

}  // namespace vecsafe::cli
