// `vecsafe backup dir PATH [--tag T]... [--force] [--exclude GLOB]...`.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/verbs.h"
#include "sources/dir/dir_source.h"

namespace vecsafe::cli {
namespace {

struct BackupDirArgs {
  std::string path;
  std::vector<std::string> tags;
  std::vector<std::string> excludes;
  bool force = false;
};

class BarProgress : public sources::DirProgress {
 public:
  explicit BarProgress(Progress* bar) : bar_(bar) {}
  void OnTotals(uint64_t bytes, uint64_t files) override { bar_->SetTotals(bytes, files); }
  void OnBytes(uint64_t n) override { bar_->AddBytes(n); }
  void OnFileDone() override { bar_->AddFiles(1); }
  void OnSkipped(const sources::DirSkipped& s) override {
    Warn(s.path + ": " + s.reason.message() + " (left out of the snapshot)");
  }

 private:
  Progress* bar_;
};

int RunBackupDir(const VerbContext& ctx, const BackupDirArgs& args) {
  const CommonFlags& flags = ctx.flags;
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  sources::DirBackupOptions opts;
  opts.path = args.path;
  opts.tags = args.tags;
  opts.excludes = args.excludes;
  opts.force = args.force;
  Progress bar(flags, "backup");
  BarProgress progress(&bar);
  auto result = sources::BackupDirectory(**repo, opts, &progress);
  bar.Finish();
  if (!result.ok()) return ReportError(result.status(), flags);
  const Manifest& m = result->manifest;
  const SnapshotStats& st = m.stats;
  const bool incomplete = !result->skipped.empty();
  if (flags.json) {
    nlohmann::json skipped = nlohmann::json::array();
    for (const auto& s : result->skipped) {
      skipped.push_back({{"path", s.path},
                         {"code", "VS-" + std::to_string(static_cast<int>(s.reason.code()))},
                         {"message", s.reason.message()}});
    }
    PrintJson({{"snapshot", SnapshotJson(m)},
               {"parent", result->parent},
               {"skipped", skipped},
               {"excluded", result->excluded},
               {"incomplete", incomplete}});
  } else if (!flags.quiet) {
    const double mib_s =
        st.seconds > 0 ? static_cast<double>(st.bytes_total) / st.seconds / 1048576.0 : 0;
    std::printf(
        "snapshot %s saved: %llu files, %s; %llu unchanged (file cache); new data %s, stored %s "
        "in %llu packs; %.1f s, %.1f MiB/s\n",
        m.ShortId().c_str(), static_cast<unsigned long long>(st.files),
        FormatBytes(st.bytes_total).c_str(), static_cast<unsigned long long>(st.files_unchanged),
        FormatBytes(st.bytes_new_raw).c_str(), FormatBytes(st.bytes_new_stored).c_str(),
        static_cast<unsigned long long>(st.packs_written), st.seconds, mib_s);
  }
  if (incomplete) {
    const Status s(ErrorCode::kIncomplete, "snapshot " + m.ShortId() + " is incomplete: " +
                                               std::to_string(result->skipped.size()) +
                                               " entries could not be read and were left out");
    if (flags.json) {
      // stdout already holds the result document; the reason goes to stderr only.
      CommonFlags text_only = flags;
      text_only.json = false;
      return ReportError(s, text_only);
    }
    return ReportError(s, flags);
  }
  return 0;
}

}  // namespace

void RegisterBackupDirVerb(CLI::App& backup, VerbContext& ctx) {
  auto args = std::make_shared<BackupDirArgs>();
  CLI::App* cmd =
      backup.add_subcommand("dir", "Back up a folder (files, folders, symlinks; modes and mtimes)");
  cmd->add_option("path", args->path, "The folder to back up")->required();
  cmd->add_option("--tag", args->tags, "Tag the snapshot (repeat for several). Default: none");
  cmd->add_option("--exclude", args->excludes,
                  "Leave out entries matching this glob; without '/' it matches names at any "
                  "depth, with '/' paths relative to the folder (repeatable). Default: none");
  cmd->add_flag("--force", args->force,
                "Read every file, even those the file cache (size, mtime, inode of the last "
                "snapshot of this folder) says are unchanged. Default: off");
  AddCommonFlags(cmd, ctx, /*with_repo=*/true);
  cmd->callback([&ctx, args] { ctx.exit_status = RunBackupDir(ctx, *args); });
}

}  // namespace vecsafe::cli
