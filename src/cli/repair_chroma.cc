// `vecsafe repair chroma PATH [--dry-run] [--json]`.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/chroma_verbs.h"
#include "sources/chroma/repair.h"

namespace vecsafe::cli {

void AddRepairCommand(CLI::App& app, int* exit_status) {
  CLI::App* repair = app.add_subcommand("repair", "Apply safe fixes");
  repair->require_subcommand(1);
  CLI::App* cmd = repair->add_subcommand(
      "chroma", "Apply the safe fixes `check chroma` marks repairable (Chroma must be stopped)");
  struct Args {
    std::string path, state_dir;
    bool dry_run = false, json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("path", a->path, "Chroma's persist folder")->required();
  cmd->add_flag("--dry-run", a->dry_run, "Show what would be done; change nothing");
  cmd->add_option("--state-dir", a->state_dir,
                  "Folder of the operation journal (default: $VECSAFE_STATE_DIR or the "
                  "user's state folder)");
  cmd->add_flag("--json", a->json, "Print one JSON document");
  cmd->callback([a, exit_status] {
    chroma::RepairOptions opt;
    opt.dry_run = a->dry_run;
    opt.state_dir = a->state_dir;
    auto r = chroma::RepairChroma(a->path, opt);
    if (!r.ok()) {
      *exit_status = ReportChromaError(r.status(), a->json);
      return;
    }
    bool all_ok = true;
    for (const auto& act : r->actions) all_ok &= a->dry_run || act.done;
    if (a->json) {
      auto j = r->ToJson();
      j["dry_run"] = a->dry_run;
      std::cout << j.dump() << "\n";
    } else {
      if (r->actions.empty()) std::cout << "nothing to repair\n";
      for (const auto& act : r->actions) {
        std::cout << (a->dry_run ? "would "
                      : act.done ? "done:  "
                                 : "FAILED: ")
                  << act.what << (act.error.empty() ? "" : " (" + act.error + ")") << "\n";
      }
      if (!r->quarantine.empty()) std::cout << "backup and quarantine: " << r->quarantine << "\n";
      if (!r->not_repairable.empty()) {
        std::cout << r->not_repairable.size()
                  << " finding(s) need a human; see `vecsafe check chroma PATH`\n";
      }
    }
    *exit_status = all_ok ? 0 : 1;
  });
}

}  // namespace vecsafe::cli
