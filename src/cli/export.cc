// `vecsafe export SNAPSHOT --out FILE`: a snapshot as a tar file, or, for a
// Qdrant snapshot, the original .snapshot file byte for byte.
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>

#include "cli/verbs.h"
#include "sources/qdrant/qdrant_restore.h"

namespace vecsafe::cli {
namespace {

struct ExportArgs {
  std::string snapshot;
  std::string out;
  std::string include;
};

int RunExport(const VerbContext& ctx, const ExportArgs& args) {
  const CommonFlags& flags = ctx.flags;
  // Never replace a file the user already has; check before any work.
  std::error_code ec;
  if (std::filesystem::symlink_status(args.out, ec).type() !=
      std::filesystem::file_type::not_found) {
    return ReportError(AlreadyExists("output file " + args.out + " already exists",
                                     "Choose another --out path or remove the file first."),
                       flags);
  }
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  auto manifest = LoadSnapshotArg(**repo, args.snapshot);
  if (!manifest.ok()) return ReportError(manifest.status(), flags);
  const auto start = std::chrono::steady_clock::now();
  std::string format;
  Status s;
  if (manifest->source_kind == "qdrant") {
    format = "qdrant-snapshot";
    s = qdrant::ExportQdrantSnapshotFile(**repo, *manifest, args.include, args.out);
  } else {
    format = "tar";
    Progress bar(flags, "export");
    ExportOptions opts;
    opts.path_prefix = args.include;
    opts.progress = [&bar](uint64_t done, uint64_t total) {
      bar.SetTotals(total, 0);
      bar.SetBytes(done);
    };
    s = (*repo)->ExportTar(*manifest, args.out, opts);
  }
  if (!s.ok()) return ReportError(s, flags);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (flags.json) {
    PrintJson(
        {{"snapshot", manifest->id}, {"out", args.out}, {"format", format}, {"seconds", secs}});
  } else {
    Say(flags,
        "exported snapshot " + manifest->ShortId() + " to " + args.out + " (" + format + ")");
  }
  return 0;
}

}  // namespace

void RegisterExportVerb(CLI::App& parent, VerbContext& ctx) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "export",
      "Write a snapshot to one file: a tar (pax) of its files, or for a Qdrant snapshot the "
      "original .snapshot file, byte for byte");
  cmd->add_option("snapshot", args->snapshot, "Snapshot id, unique prefix or `latest`")->required();
  cmd->add_option("--out", args->out, "File to write (must not exist; written atomically)")
      ->required();
  cmd->add_option("--include", args->include,
                  "Only this file or folder of the snapshot; for a Qdrant snapshot of several "
                  "nodes, the node's file. Default: everything");
  AddCommonFlags(cmd, ctx, /*with_repo=*/true);
  cmd->callback([&ctx, args] { ctx.exit_status = RunExport(ctx, *args); });
}

}  // namespace vecsafe::cli
