// `vecsafe version`: the program version (also `vecsafe --version`).
#include "base/version.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/verbs.h"

namespace vecsafe::cli {

void RegisterVersionVerb(CLI::App& parent, VerbContext& ctx) {
  CLI::App* cmd = parent.add_subcommand("version", "Print the vecsafe version");
  AddCommonFlags(cmd, ctx, /*with_repo=*/false);
  cmd->callback([&ctx] {
    if (ctx.flags.json) {
      PrintJson({{"name", "vecsafe"}, {"version", kVersion}});
    } else {
      std::cout << "vecsafe " << kVersion << '\n';
    }
    ctx.exit_status = 0;
  });
}

}  // namespace vecsafe::cli
