#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "base/version.h"
#include "cli/chroma_verbs.h"
#include "cli/daemon_verbs.h"

namespace vecsafe::cli {

int RunApp(int argc, char** argv) {
  CLI::App app{"vecsafe: backups, checks and recovery for vector databases"};
  app.set_version_flag("--version", std::string("vecsafe ") + kVersion);
  app.require_subcommand(1);
  int exit_status = 0;
  AddOpsCommand(app, &exit_status);
  AddConfigCommand(app, &exit_status);
  AddCheckCommand(app, &exit_status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_status;
}

}  // namespace vecsafe::cli
