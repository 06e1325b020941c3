#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "base/version.h"

namespace vecsafe::cli {

int RunApp(int argc, char** argv) {
  CLI::App app{"vecsafe: backups, checks and recovery for vector databases"};
  app.set_version_flag("--version", std::string("vecsafe ") + kVersion);
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return 0;
}

}  // namespace vecsafe::cli
