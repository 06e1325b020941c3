// The CLI's Qdrant parts: `backup qdrant`, and the hooks that `restore` and
// `export` call for snapshots whose source kind is "qdrant".
#ifndef VECSAFE_CLI_QDRANT_VERBS_H_
#define VECSAFE_CLI_QDRANT_VERBS_H_

#include <memory>
#include <string>
#include <vector>

#include "cli/common.h"
#include "sources/qdrant/qdrant_client.h"
#include "vecsafe/repository.h"

namespace CLI {
class App;
}  // namespace CLI

namespace vecsafe::cli {

// Flags every Qdrant-facing command shares.
struct QdrantConnectionFlags {
  std::string api_key;  // --api-key. Default: $QDRANT_API_KEY.
  std::string ca_file;  // --ca-cert
  bool insecure = false;
  bool wait_create = false;
  long snapshot_timeout_seconds = 0;  // 0 = the client's default
  long stall_seconds = 0;             // 0 = the client's default
  int peer_port_offset = 2;
};

void AddQdrantConnectionFlags(CLI::App* cmd, QdrantConnectionFlags& conn);
// Client options for `url` (or the QDRANT_* environment) and the flags.
Result<qdrant::QdrantClientOptions> MakeQdrantClientOptions(const std::string& url,
                                                            const QdrantConnectionFlags& conn);

// Adds `qdrant` under the `backup` parent command.
void RegisterBackupQdrantVerb(CLI::App& backup, VerbContext& ctx);

// Opens the repository named by --repo / VECSAFE_REPO with the password from
// the environment (or a prompt).
Result<std::unique_ptr<Repository>> OpenRepositoryForCli(const CommonFlags& flags);

// Called once from app.cc after every other verb: `backup qdrant` (creating
// the `backup` parent if needed), and `restore` / `export` only if no other
// verb registered them (see qdrant_verbs.cc).
void RegisterQdrantVerbs(CLI::App& app, VerbContext& ctx);

// Flags `restore` adds for --to-qdrant.
struct QdrantRestoreFlags {
  std::string to_qdrant;             // --to-qdrant URL (empty: not a Qdrant restore)
  std::string collection;            // --collection (shared with other sources)
  std::string as_name;               // --as NAME
  std::vector<std::string> nodes;    // --node URL (cluster targets, in peer id order)
  bool via_url = false;              // --via-url
  std::string listen = "127.0.0.1";  // --listen ADDR[:PORT]
  std::string advertise;             // --advertise HOST[:PORT]
  QdrantConnectionFlags conn;
};

// Adds --to-qdrant, --as, --node, --via-url, --listen, --advertise and the
// connection flags to the `restore` command (which owns --collection and
// passes it in flags.collection).
void AddQdrantRestoreFlags(CLI::App* restore, QdrantRestoreFlags& flags);

// Restores `manifest` into Qdrant; prints the result; returns the exit status.
int RunQdrantRestore(VerbContext& ctx, Repository& repo, const Manifest& manifest,
                     const QdrantRestoreFlags& flags);

// `export` of a Qdrant snapshot: the original .snapshot file byte for byte.
// `path` picks one node's file when the snapshot has several. Returns the exit status.
int RunQdrantExport(VerbContext& ctx, Repository& repo, const Manifest& manifest,
                    const std::string& path, const std::string& out);

}  // namespace vecsafe::cli

#endif  // VECSAFE_CLI_QDRANT_VERBS_H_
