// `vecsafe verify [--read-data] [--read-files] [--read-data-subset n/m|x%]`: checks the
// repository.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "cli/verbs.h"

namespace vecsafe::cli {
namespace {

struct VerifyArgs {
  bool read_data = false;
  bool read_files = false;
  std::string subset;
};

// "n/m" or "x%" -> (n, m). A percentage picks one of round(100/x) groups at random.
Result<std::pair<int, int>> ParseSubset(const std::string& text) {
  const Status bad(ErrorCode::kInvalidArgument, "bad --read-data-subset '" + text + "'",
                   "Write n/m (1 <= n <= m, e.g. 2/7 reads the second seventh of the packs) or "
                   "a percentage such as 10%.");
  if (text.empty()) return bad;
  if (text.back() == '%') {
    char* end = nullptr;
    const double pct = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() - 1 || !(pct > 0) || pct > 100) return bad;
    const int m = std::max(1, static_cast<int>(std::lround(100.0 / pct)));
    std::random_device rd;
    const int n = 1 + static_cast<int>(rd() % static_cast<unsigned>(m));
    return std::make_pair(n, m);
  }
  const size_t slash = text.find('/');
  if (slash == std::string::npos) return bad;
  int n = 0;
  int m = 0;
  try {
    size_t used_n = 0;
    size_t used_m = 0;
    n = std::stoi(text.substr(0, slash), &used_n);
    m = std::stoi(text.substr(slash + 1), &used_m);
    if (used_n != slash || used_m != text.size() - slash - 1) return bad;
  } catch (const std::exception&) {
    return bad;
  }
  if (m < 1 || n < 1 || n > m) return bad;
  return std::make_pair(n, m);
}

int RunVerify(const VerbContext& ctx, const VerifyArgs& args) {
  const CommonFlags& flags = ctx.flags;
  VerifyOptions opts;
  opts.read_data = args.read_data || args.read_files || !args.subset.empty();
  opts.read_files = args.read_files;
  if (args.read_files && !args.subset.empty()) {
    return ReportError(Status(ErrorCode::kInvalidArgument,
                              "--read-files and --read-data-subset cannot be combined",
                              "A file's chunks lie in any pack: --read-files reads all of them. "
                              "Drop one of the two flags."),
                       flags);
  }
  if (!args.subset.empty()) {
    auto subset = ParseSubset(args.subset);
    if (!subset.ok()) return ReportError(subset.status(), flags);
    opts.subset_n = subset->first;
    opts.subset_m = subset->second;
  }
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  Progress bar(flags, opts.read_data ? "verify --read-data" : "verify");
  opts.progress = [&bar](uint64_t done, uint64_t total) {
    bar.SetTotals(total, 0);
    bar.SetBytes(done);
  };
  const auto start = std::chrono::steady_clock::now();
  auto report = (*repo)->Verify(opts);
  bar.Finish();
  if (!report.ok()) return ReportError(report.status(), flags);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const VerifyReport& r = *report;
  nlohmann::json counts = nlohmann::json::object();
  for (int i = 0; i < 5; ++i) {
    counts[std::string(VerifyStatusName(static_cast<VerifyStatus>(i)))] = r.counts[i];
  }
  if (flags.json) {
    nlohmann::json problems = nlohmann::json::array();
    for (const VerifyItem& p : r.problems) {
      problems.push_back({{"kind", p.kind},
                          {"id", p.id},
                          {"status", std::string(VerifyStatusName(p.status))},
                          {"detail", p.detail},
                          {"used_by", p.used_by}});
    }
    PrintJson({{"ok", r.ok()},
               {"read_data", opts.read_data},
               {"subset", std::to_string(opts.subset_n) + "/" + std::to_string(opts.subset_m)},
               {"counts", counts},
               {"packs_checked", r.packs_checked},
               {"chunks_checked", r.chunks_checked},
               {"files_checked", r.files_checked},
               {"bytes_read", r.bytes_read},
               {"seconds", secs},
               {"problems", problems}});
  } else {
    for (const VerifyItem& p : r.problems) {
      std::string line = std::string(VerifyStatusName(p.status)) + ": " + p.kind + " " + p.id;
      if (!p.detail.empty()) line += ": " + p.detail;
      if (!p.used_by.empty()) {
        line += " (used by";
        for (size_t i = 0; i < p.used_by.size() && i < 20; ++i) line += " " + p.used_by[i];
        if (p.used_by.size() > 20) line += " ...";
        line += ")";
      }
      std::printf("%s\n", line.c_str());
    }
    std::string summary =
        r.ok() ? "no problems found" : std::to_string(r.problems.size()) + " problems found";
    summary += ": " + std::to_string(r.packs_checked) + " packs, " +
               std::to_string(r.chunks_checked) + " chunks, " + std::to_string(r.files_checked) +
               " files checked";
    if (opts.read_data) {
      summary += ", " + FormatBytes(r.bytes_read) + " read";
      if (opts.subset_m > 1) {
        summary +=
            " (subset " + std::to_string(opts.subset_n) + "/" + std::to_string(opts.subset_m) + ")";
      }
    }
    summary += " in " + FormatDuration(secs);
    std::string tally;
    for (auto it = counts.begin(); it != counts.end(); ++it) {
      tally +=
          (tally.empty() ? "" : ", ") + it.key() + " " + std::to_string(it.value().get<uint64_t>());
    }
    std::printf("%s\n%s\n", summary.c_str(), tally.c_str());
  }
  if (!r.ok()) {
    if (!flags.json) {
      std::fprintf(
          stderr,
          "vecsafe: the repository has problems (see above)\nHINT: Snapshots whose "
          "files are named above cannot be fully restored; restore from another "
          "snapshot and run a new backup. docs/OPERATIONS.md: \"verify found problems\".\n");
    }
    return 1;  // "ran fine, found problems" (error_table.inc)
  }
  return 0;
}

}  // namespace

void RegisterVerifyVerb(CLI::App& parent, VerbContext& ctx) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "verify",
      "Check the repository: every snapshot's chunks are indexed and every pack has the "
      "right size; with --read-data also read, decrypt, decompress and re-hash everything. "
      "Exit 0: no problem; 1: problems found (each named)");
  cmd->add_flag("--read-data", args->read_data,
                "Read every pack once and re-hash every chunk against its id; a file is as good "
                "as its chunks. Default: off (cheap check)");
  cmd->add_flag("--read-files", args->read_files,
                "Instead re-hash every distinct file of every snapshot against the sha256 in its "
                "manifest (also proves each manifest's chunk list; reads a chunk once per file "
                "version that uses it, so slower on long histories). Implies --read-data. "
                "Default: off");
  cmd->add_option("--read-data-subset", args->subset,
                  "Read only part of the packs: n/m (group n of m, by pack id) or x% (a random "
                  "group of about x%). Implies --read-data. Default: all packs");
  AddCommonFlags(cmd, ctx, /*with_repo=*/true);
  cmd->callback([&ctx, args] { ctx.exit_status = RunVerify(ctx, *args); });
}

}  // namespace vecsafe::cli
