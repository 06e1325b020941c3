// `vecsafe backup qdrant [URL] [--collection C]... [--node URL]... [--full] [--existing]`
//
// Streams Qdrant snapshots into the repository (src/sources/qdrant). One
// repository snapshot per collection, holding one file per Qdrant node.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/common.h"
#include "cli/qdrant_verbs.h"
#include "sources/qdrant/qdrant_backup.h"
#include "vecsafe/repository.h"

namespace vecsafe::cli {
namespace {

struct BackupQdrantFlags {
  std::string url;
  std::vector<std::string> collections;
  std::vector<std::string> nodes;
  std::vector<std::string> tags;
  bool full = false;
  bool existing = false;
  bool list = false;
};

nlohmann::json NodeJson(const qdrant::QdrantNodeResult& n) {
  return {{"url", n.url},
          {"peer_id", n.peer_id},
          {"path", n.path},
          {"snapshot_name", n.snapshot_name},
          {"size", n.size},
          {"sha256", n.sha256},
          {"qdrant_checksum", n.qdrant_checksum},
          {"server_snapshot_deleted", n.server_snapshot_deleted},
          {"existing", n.existing},
          {"delete_error", n.delete_error}};
}

int Run(VerbContext& ctx, const BackupQdrantFlags& flags, const QdrantConnectionFlags& conn) {
  auto client_options = MakeQdrantClientOptions(flags.url, conn);
  if (!client_options.ok()) return ReportError(client_options.status(), ctx.flags);

  if (flags.list) {
    auto client = qdrant::QdrantClient::Create(*client_options);
    if (!client.ok()) return ReportError(client.status(), ctx.flags);
    auto server = (*client)->GetServerInfo();
    if (!server.ok()) return ReportError(server.status(), ctx.flags);
    auto names = (*client)->ListCollections();
    if (!names.ok()) return ReportError(names.status(), ctx.flags);
    if (ctx.flags.json) {
      PrintJson({{"qdrant_version", server->version}, {"collections", *names}});
    } else {
      for (const std::string& n : *names) std::cout << n << "\n";
    }
    return 0;
  }

  auto repo = OpenRepositoryForCli(ctx.flags);
  if (!repo.ok()) return ReportError(repo.status(), ctx.flags);

  qdrant::QdrantBackupOptions options;
  options.client = *client_options;
  options.collections = flags.collections;
  options.nodes = flags.nodes;
  options.full = flags.full;
  options.existing = flags.existing;
  options.tags = flags.tags;
  options.peer_port_offset = conn.peer_port_offset;
  Progress progress(ctx.flags, "qdrant");
  options.on_bytes = [&progress](uint64_t n) { progress.AddBytes(n); };
  options.on_file = [&progress](const std::string&, const std::string&, uint64_t) {
    progress.AddFiles(1);
  };

  auto result = qdrant::BackupQdrant(**repo, options);
  progress.Finish();
  if (!result.ok()) return ReportError(result.status(), ctx.flags);

  nlohmann::json out = {{"qdrant_version", result->qdrant_version},
                        {"nodes", nlohmann::json::array()},
                        {"collections", nlohmann::json::array()}};
  for (const qdrant::QdrantNode& n : result->nodes) {
    out["nodes"].push_back({{"url", n.url}, {"peer_id", n.peer_id}, {"version", n.version}});
  }
  for (const qdrant::QdrantCollectionResult& c : result->collections) {
    nlohmann::json j = {{"collection", c.collection}, {"ok", c.status.ok()}};
    j["nodes"] = nlohmann::json::array();
    for (const qdrant::QdrantNodeResult& n : c.nodes) j["nodes"].push_back(NodeJson(n));
    if (c.points_count) j["points_count"] = *c.points_count;
    const std::string label = c.collection.empty() ? std::string("full storage") : c.collection;
    if (c.status.ok()) {
      const SnapshotStats& st = c.manifest.stats;
      j["snapshot"] = c.manifest.id;
      j["bytes_read"] = st.bytes_read;
      j["bytes_new_raw"] = st.bytes_new_raw;
      j["bytes_new_stored"] = st.bytes_new_stored;
      j["seconds"] = st.seconds;
      Say(ctx.flags, label + ": snapshot " + c.manifest.ShortId() + ", " +
                         std::to_string(c.nodes.size()) + " node file(s), " +
                         FormatBytes(st.bytes_read) + " read, " + FormatBytes(st.bytes_new_stored) +
                         " new stored, " + FormatDuration(st.seconds));
    } else {
      j["error"] = ErrorJson(c.status)["error"];
      if (!ctx.flags.json) {
        Warn(label + ": " + c.status.ToString());
      }
    }
    for (const qdrant::QdrantNodeResult& n : c.nodes) {
      if (!n.snapshot_name.empty() && !n.server_snapshot_deleted && !n.existing) {
        Warn("could not delete Qdrant's snapshot " + n.snapshot_name + " on " + n.url + ": " +
             n.delete_error + " (delete it by hand to free Qdrant's disk)");
      }
    }
    out["collections"].push_back(std::move(j));
  }
  const Status status = result->status();
  out["ok"] = status.ok();
  if (ctx.flags.json) {
    if (!status.ok()) {
      out["error"] = ErrorJson(status)["error"];
      CommonFlags text_only = ctx.flags;  // the error on stderr; stdout keeps one document
      text_only.json = false;
      ReportError(status, text_only);
    }
    PrintJson(out);
    return status.ok() ? 0 : status.exit_status();
  }
  if (!status.ok()) return ReportError(status, ctx.flags);
  return 0;
}

}  // namespace

Result<qdrant::QdrantClientOptions> MakeQdrantClientOptions(const std::string& url,
                                                            const QdrantConnectionFlags& conn) {
  VS_ASSIGN_OR_RETURN(qdrant::QdrantClientOptions o,
                      qdrant::OptionsFromEnvironment(url, conn.api_key));
  o.verify_tls = !conn.insecure;
  o.ca_file = conn.ca_file;
  o.poll_snapshot_creation = !conn.wait_create;
  if (conn.snapshot_timeout_seconds > 0) o.snapshot_wait_seconds = conn.snapshot_timeout_seconds;
  if (conn.stall_seconds > 0) o.stall_seconds = conn.stall_seconds;
  return o;
}

void AddQdrantConnectionFlags(CLI::App* cmd, QdrantConnectionFlags& conn) {
  cmd->add_option("--api-key", conn.api_key,
                  "Qdrant API key. Default: $QDRANT_API_KEY (a read-write key is needed to "
                  "create and delete snapshots)");
  cmd->add_option("--ca-cert", conn.ca_file, "PEM file of CAs to trust for https");
  cmd->add_flag("--insecure", conn.insecure, "Do not verify Qdrant's TLS certificate");
  cmd->add_flag("--wait-create", conn.wait_create,
                "Create snapshots with wait=true in one long request instead of wait=false "
                "and polling");
  cmd->add_option("--snapshot-timeout", conn.snapshot_timeout_seconds,
                  "Seconds to wait for Qdrant to build a snapshot or recover one. Default: 7200");
  cmd->add_option("--stall-timeout", conn.stall_seconds,
                  "Abort a transfer when no byte moves for this many seconds. Default: 120");
  cmd->add_option("--peer-port-offset", conn.peer_port_offset,
                  "REST port = peer p2p port - this, for nodes found through GET /cluster. "
                  "Default: 2 (6335 -> 6333)");
}

void RegisterBackupQdrantVerb(CLI::App& backup, VerbContext& ctx) {
  auto flags = std::make_shared<BackupQdrantFlags>();
  auto conn = std::make_shared<QdrantConnectionFlags>();
  CLI::App* cmd = backup.add_subcommand(
      "qdrant",
      "Back up Qdrant collections by streaming Qdrant's snapshots into the repository "
      "(one repository snapshot per collection, one file per node)");
  cmd->add_option("url", flags->url,
                  "Qdrant REST URL, e.g. http://localhost:6333. Default: $QDRANT_URL, or "
                  "$QDRANT_HOST:$QDRANT_PORT (https with QDRANT_HTTPS=true)");
  cmd->add_option("--collection", flags->collections,
                  "Collection to back up (repeatable). Default: every collection");
  cmd->add_option("--node", flags->nodes,
                  "REST URL of a cluster node to snapshot (repeatable). Default: every peer "
                  "found through GET /cluster");
  cmd->add_flag("--full", flags->full, "Take full-storage snapshots (POST /snapshots) instead");
  cmd->add_flag("--existing", flags->existing,
                "Back up the newest snapshot already on each node instead of creating one, and "
                "leave it there (works with a read-only key)");
  cmd->add_option("--tag", flags->tags, "Tag for the snapshots (repeatable)");
  cmd->add_flag("--list", flags->list, "List the collections and exit");
  AddQdrantConnectionFlags(cmd, *conn);
  AddCommonFlags(cmd, ctx, true);
  cmd->callback([&ctx, flags, conn] { ctx.exit_status = Run(ctx, *flags, *conn); });
}

}  // namespace vecsafe::cli
