// Verbs of the daemon side: `vecsafe serve`, `vecsafe config ...` and
// `vecsafe ops log`. Each Add* registers a subcommand on `app`; when that
// subcommand runs, its exit status is stored in *exit_status.
#ifndef VECSAFE_CLI_DAEMON_VERBS_H_
#define VECSAFE_CLI_DAEMON_VERBS_H_

#include <CLI/CLI.hpp>

namespace vecsafe::cli {

void AddOpsCommand(CLI::App& app, int* exit_status);
void AddConfigCommand(CLI::App& app, int* exit_status);
void AddServeCommand(CLI::App& app, int* exit_status);

}  // namespace vecsafe::cli

#endif  // VECSAFE_CLI_DAEMON_VERBS_H_
