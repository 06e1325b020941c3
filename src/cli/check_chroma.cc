// `vecsafe check chroma PATH [--deep] [--json]`: exit 0 healthy, 1 findings,
// 2 when the folder could not be checked.
#include <fmt/format.h>

#include <iostream>
#include <string>

#include "cli/chroma_verbs.h"
#include "sources/chroma/checker.h"

namespace vecsafe::cli {
namespace {

void PrintHuman(const chroma::CheckReport& r) {
  std::cout << fmt::format("Chroma folder {} (schema: {}; Chroma {} line{})\n", r.path, r.schema,
                           r.version_hint, r.newer_schema ? ", NEWER than this vecsafe" : "");
  std::cout << fmt::format("{} collections, {} vector segments, {} folders", r.collections,
                           r.vector_segments, r.folders);
  if (r.vectors_read > 0) std::cout << fmt::format(", {} vectors read", r.vectors_read);
  std::cout << fmt::format(" ({:.2f} s)\n", r.seconds);
  if (r.findings.empty()) {
    std::cout << "healthy: no findings\n";
    return;
  }
  for (const auto& f : r.findings) {
    std::cout << fmt::format("\n[{}] {}{}\n  {}\n", chroma::SeverityName(f.severity), f.code,
                             f.collection.empty() ? "" : " (collection " + f.collection + ")",
                             f.message);
    if (!f.evidence.empty()) std::cout << "  evidence: " << f.evidence.dump() << "\n";
    std::cout << "  fix: " << f.fix << (f.repairable ? " [repair can do this]" : "") << "\n";
  }
  std::cout << fmt::format("\n{} finding(s)\n", r.findings.size());
}

}  // namespace

int ReportChromaError(const Status& status, bool json) {
  std::cerr << "vecsafe: " << status.message() << " (VS-" << static_cast<int>(status.code())
            << ")\nHINT: " << status.hint() << "\n";
  if (json) {
    const ErrorInfo& info = GetErrorInfo(status.code());
    nlohmann::json j = {{"error",
                         {{"code", "VS-" + std::to_string(static_cast<int>(status.code()))},
                          {"name", std::string(info.name)},
                          {"message", status.message()},
                          {"hint", status.hint()},
                          {"exit_status", status.exit_status()}}}};
    std::cout << j.dump() << "\n";
  }
  return status.exit_status();
}

void AddCheckCommand(CLI::App& app, int* exit_status) {
  CLI::App* check = app.add_subcommand("check", "Check a database for inconsistencies");
  check->require_subcommand(1);
  CLI::App* cmd = check->add_subcommand(
      "chroma",
      "Check a Chroma persistent folder (read-only). Exit 0 healthy, 1 findings, 2 could not "
      "check");
  struct Args {
    std::string path;
    bool deep = false;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("path", args->path, "Chroma's persist folder (holds chroma.sqlite3)")->required();
  cmd->add_flag("--deep", args->deep,
                "Also read every vector (NaN/inf, norms) and run integrity_check");
  cmd->add_flag("--json", args->json, "Print one JSON document");
  cmd->callback([args, exit_status] {
    chroma::CheckOptions opt;
    opt.deep = args->deep;
    auto report = chroma::CheckChroma(args->path, opt);
    if (!report.ok()) {
      ReportChromaError(report.status(), args->json);
      *exit_status = 2;
      return;
    }
    if (args->json) {
      std::cout << report->ToJson().dump() << "\n";
    } else {
      PrintHuman(*report);
    }
    *exit_status = report->Healthy() ? 0 : 1;
  });
}

}  // namespace vecsafe::cli
