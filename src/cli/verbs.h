// Registration functions of the CLI verbs, one per file src/cli/<verb>.cc.
// Each adds its sub-command to `parent` (the root app, or a parent verb such
// as `backup`) and stores its exit status in ctx.exit_status when it runs.
// src/cli/app.cc calls them in the order they appear in `vecsafe --help`.
#ifndef VECSAFE_CLI_VERBS_H_
#define VECSAFE_CLI_VERBS_H_

#include "cli/common.h"

namespace vecsafe::cli {

void RegisterVersionVerb(CLI::App& parent, VerbContext& ctx);
void RegisterErrorsVerb(CLI::App& parent, VerbContext& ctx);

}  // namespace vecsafe::cli

#endif  // VECSAFE_CLI_VERBS_H_
