// `vecsafe ops log [--json]`: shows the operation journal (src/ops/journal.h).
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>

#include "cli/daemon_verbs.h"
#include "ops/journal.h"

namespace vecsafe::cli {
namespace {

struct OpsLogOptions {
  std::string state_dir;
  bool json = false;
  int limit = 50;
  std::string kind;
  std::string target;
  std::string op_id;
};

std::string FormatTime(int64_t time_ms) {
  const std::time_t t = static_cast<std::time_t>(time_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int RunOpsLog(const OpsLogOptions& o) {
  const std::filesystem::path dir =
      o.state_dir.empty() ? ops::DefaultStateDir() : std::filesystem::path(o.state_dir);
  std::error_code ec;
  if (!std::filesystem::exists(dir / "journal.sqlite3", ec)) {
    // An empty journal is not an error: nothing has been done yet.
    if (o.json) {
      std::cout << "[]\n";
    } else {
      std::cout << "no operations recorded yet (journal: " << (dir / "journal.sqlite3").string()
                << ")\n";
    }
    return 0;
  }
  auto journal = ops::Journal::Open(dir);
  if (!journal.ok()) {
    std::cerr << "vecsafe: " << journal.status().ToString() << "\n";
    return journal.status().exit_status();
  }
  ops::JournalQuery q;
  q.limit = o.limit;
  q.kind = o.kind;
  q.target = o.target;
  q.op_id = o.op_id;
  auto rows = (*journal)->Query(q);
  if (!rows.ok()) {
    std::cerr << "vecsafe: " << rows.status().ToString() << "\n";
    return rows.status().exit_status();
  }
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *rows) out.push_back(e.ToJson());
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("%-20s  %-20s  %-18s  %-11s  %-10s  %-30s  %s\n", "TIME", "ACTOR", "KIND", "RESULT",
              "DURATION", "TARGET", "BACKUP");
  for (const auto& e : *rows) {
    const std::string duration =
        e.duration_ms >= 0 ? std::to_string(e.duration_ms) + "ms" : std::string("-");
    std::printf("%-20s  %-20s  %-18s  %-11s  %-10s  %-30s  %s\n", FormatTime(e.time_ms).c_str(),
                e.actor.c_str(), e.kind.c_str(), e.result.c_str(), duration.c_str(),
                e.target.c_str(), e.backup_id.empty() ? "-" : e.backup_id.c_str());
    if (!e.error.empty()) std::printf("    error: %s\n", e.error.c_str());
  }
  return 0;
}

}  // namespace

void AddOpsCommand(CLI::App& app, int* exit_status) {
  CLI::App* ops = app.add_subcommand("ops", "The operation journal");
  ops->require_subcommand(1);
  auto opts = std::make_shared<OpsLogOptions>();
  CLI::App* log = ops->add_subcommand("log", "Show journaled operations, newest first");
  log->add_option("--state-dir", opts->state_dir,
                  "State folder (default $VECSAFE_STATE_DIR or ~/.local/state/vecsafe)");
  log->add_flag("--json", opts->json, "Print JSON");
  log->add_option("--limit", opts->limit, "At most this many rows")->check(CLI::Range(1, 10000));
  log->add_option("--kind", opts->kind, "Only this kind (e.g. backup, collection.delete)");
  log->add_option("--target", opts->target, "Only this target");
  log->add_option("--op", opts->op_id, "Only the rows of this operation id");
  log->callback([opts, exit_status] { *exit_status = RunOpsLog(*opts); });
}

}  // namespace vecsafe::cli
