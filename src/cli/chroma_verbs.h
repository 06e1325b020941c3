// Chroma verbs: `vecsafe check chroma`, `vecsafe recover chroma`,
// `vecsafe repair chroma`, `vecsafe upgrade ...`. Each Add*
// registers its subcommand on `app`; when it runs, its exit status is stored
// in *exit_status.
#ifndef VECSAFE_CLI_CHROMA_VERBS_H_
#define VECSAFE_CLI_CHROMA_VERBS_H_

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "vecsafe/status.h"

namespace vecsafe::cli {

void AddCheckCommand(CLI::App& app, int* exit_status);
void AddRecoverCommand(CLI::App& app, int* exit_status);
void AddRepairCommand(CLI::App& app, int* exit_status);
// `vecsafe upgrade prepare|verify|rollback` (src/cli/upgrade_chroma.cc).
void RegisterUpgradeVerb(CLI::App& parent, VerbContext& ctx);
// `vecsafe collection delete|rename` (src/cli/collection_chroma.cc).
void RegisterCollectionVerb(CLI::App& parent, VerbContext& ctx);

// Prints a failed status: "vecsafe: <message>" and "HINT: ..." on stderr,
// plus {"error": {...}} on stdout with --json. Returns the exit status.
int ReportChromaError(const Status& status, bool json);

}  // namespace vecsafe::cli

#endif  // VECSAFE_CLI_CHROMA_VERBS_H_
