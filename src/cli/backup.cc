// `vecsafe backup SOURCE ...`: the parent of the backup verbs (dir, chroma, qdrant).
#include <CLI/CLI.hpp>

#include "cli/verbs.h"

namespace vecsafe::cli {

CLI::App* RegisterBackupVerb(CLI::App& parent) {
  CLI::App* cmd = parent.add_subcommand(
      "backup",
      "Back up a source into the repository: `backup dir PATH`, `backup chroma PATH`, "
      "`backup qdrant URL`");
  cmd->require_subcommand(1);
  return cmd;
}

}  // namespace vecsafe::cli
