// `vecsafe init --repo URL [--encryption aes-256-gcm|none]`: creates a repository.
#include <CLI/CLI.hpp>

#include "cli/verbs.h"

namespace vecsafe::cli {
namespace {

struct InitArgs {
  std::string encryption = "aes-256-gcm";
  int compression_level = 1;
  uint64_t kdf_mem_mib = 64;
  uint64_t kdf_ops = 3;
};

int RunInit(const VerbContext& ctx, const InitArgs& args) {
  const CommonFlags& flags = ctx.flags;
  Result<std::string> url = ResolveRepoUrl(flags);
  if (!url.ok()) return ReportError(url.status(), flags);
  Result<Encryption> enc = ParseEncryption(args.encryption);
  if (!enc.ok()) return ReportError(enc.status(), flags);
  InitOptions init;
  init.encryption = *enc;
  init.compression_level = args.compression_level;
  init.kdf_mem_limit_bytes = args.kdf_mem_mib * 1024 * 1024;
  init.kdf_ops_limit = args.kdf_ops;
  if (init.encryption != Encryption::kNone) {
    PasswordOptions popts;
    popts.confirm = true;
    Result<std::string> password = GetRepositoryPassword(popts);
    if (!password.ok()) return ReportError(password.status(), flags);
    init.password = *password;
  }
  Result<std::unique_ptr<Repository>> repo = InitRepositoryAtUrl(*url, init);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  const RepositoryInfo info = (*repo)->Info();
  if (flags.json) {
    PrintJson(
        {{"repo_id", info.repo_id},
         {"location", info.location},
         {"format_version", info.format_version},
         {"encryption", std::string(EncryptionName(info.encryption))},
         {"compression_level", info.compression_level},
         {"chunker", {{"min", info.chunk_min}, {"avg", info.chunk_avg}, {"max", info.chunk_max}}}});
  } else {
    Say(flags, "created repository " + info.repo_id.substr(0, 8) + " at " + info.location +
                   " (encryption: " + std::string(EncryptionName(info.encryption)) + ")");
    if (info.encryption != Encryption::kNone) {
      Say(flags,
          "Keep the password safe: without it the backups in this repository cannot be read.");
    }
  }
  return 0;
}

}  // namespace

void RegisterInitVerb(CLI::App& parent, VerbContext& ctx) {
  auto args = std::make_shared<InitArgs>();
  CLI::App* cmd = parent.add_subcommand("init", "Create a new, empty repository");
  cmd->add_option("--encryption", args->encryption,
                  "aes-256-gcm (password from VECSAFE_PASSWORD / VECSAFE_PASSWORD_FILE / a "
                  "prompt, key derived with Argon2id) or none")
      ->check(CLI::IsMember({"aes-256-gcm", "none"}))
      ->capture_default_str();
  cmd->add_option("--compression-level", args->compression_level,
                  "zstd level for stored chunks (1-19)")
      ->check(CLI::Range(1, 19))
      ->capture_default_str();
  cmd->add_option("--kdf-memory-mib", args->kdf_mem_mib,
                  "Argon2id memory cost in MiB (stored in the repository; lower only for tests)")
      ->check(CLI::Range(8, 4096))
      ->capture_default_str();
  cmd->add_option("--kdf-ops", args->kdf_ops, "Argon2id time cost (passes)")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  AddCommonFlags(cmd, ctx, /*with_repo=*/true);
  cmd->callback([&ctx, args] { ctx.exit_status = RunInit(ctx, *args); });
}

}  // namespace vecsafe::cli
