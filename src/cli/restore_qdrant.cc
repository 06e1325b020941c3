// The Qdrant side of `vecsafe restore SNAP --to-qdrant URL` and of
// `vecsafe export SNAP --out FILE` for Qdrant snapshots.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cli/common.h"
#include "cli/qdrant_verbs.h"
#include "sources/qdrant/qdrant_restore.h"

namespace vecsafe::cli {

void AddQdrantRestoreFlags(CLI::App* restore, QdrantRestoreFlags& flags) {
  restore->add_option("--to-qdrant", flags.to_qdrant,
                      "Restore a Qdrant snapshot into the Qdrant at this REST URL "
                      "(priority=snapshot; the file is streamed, sha256 checked by Qdrant)");
  restore->add_option("--as", flags.as_name,
                      "With --to-qdrant: the collection's name in the target. Default: its "
                      "original name");
  restore->add_option("--node", flags.nodes,
                      "With --to-qdrant: target node REST URL, one per node of the backup in "
                      "peer id order (repeatable). Default: found through GET /cluster");
  restore->add_flag("--via-url", flags.via_url,
                    "With --to-qdrant: serve the file from vecsafe behind a one-time URL and let "
                    "Qdrant fetch it (PUT .../snapshots/recover) instead of uploading it");
  restore->add_option("--listen", flags.listen,
                      "With --via-url: address[:port] vecsafe listens on; Qdrant must reach it. "
                      "Default: 127.0.0.1 (an ephemeral port)");
  restore->add_option("--advertise", flags.advertise,
                      "With --via-url: host[:port] put into the URL given to Qdrant, when it "
                      "differs from --listen (NAT, containers)");
  AddQdrantConnectionFlags(restore, flags.conn);
}

int RunQdrantRestore(VerbContext& ctx, Repository& repo, const Manifest& manifest,
                     const QdrantRestoreFlags& flags) {
  auto client = MakeQdrantClientOptions(flags.to_qdrant, flags.conn);
  if (!client.ok()) return ReportError(client.status(), ctx.flags);
  qdrant::QdrantRestoreOptions options;
  options.client = *client;
  options.nodes = flags.nodes;
  options.collection = flags.collection;
  options.as_name = flags.as_name;
  options.via_url = flags.via_url;
  options.peer_port_offset = flags.conn.peer_port_offset;
  std::string listen = flags.listen;
  const size_t colon = listen.rfind(':');
  if (colon != std::string::npos && listen.find(']') == std::string::npos &&
      listen.find(':') == colon) {
    try {
      options.listen_port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
      return ReportError(Status(ErrorCode::kInvalidArgument, "bad --listen '" + listen + "'",
                                "Give ADDRESS or ADDRESS:PORT, e.g. 10.0.0.5:0."),
                         ctx.flags);
    }
    listen = listen.substr(0, colon);
  }
  options.listen_address = listen;
  options.advertise_host = flags.advertise;
  options.warn = [](std::string_view w) { Warn(w); };
  Progress progress(ctx.flags, "restore");
  progress.SetTotals(manifest.stats.bytes_total, 0);
  options.on_bytes = [&progress](uint64_t n) { progress.AddBytes(n); };
  auto result = qdrant::RestoreQdrant(repo, manifest, options);
  progress.Finish();
  if (!result.ok()) return ReportError(result.status(), ctx.flags);

  nlohmann::json out = {{"snapshot", manifest.id},
                        {"collection", result->collection},
                        {"source_collection", result->source_collection},
                        {"source_version", result->source_version},
                        {"target_version", result->target_version},
                        {"version_warning", result->version_warning},
                        {"via_url", flags.via_url},
                        {"nodes", nlohmann::json::array()}};
  if (result->expected_points) out["expected_points"] = *result->expected_points;
  if (result->points_after) out["points_after"] = *result->points_after;
  for (const qdrant::QdrantRestoredNode& n : result->nodes) {
    out["nodes"].push_back({{"path", n.path},
                            {"source_peer_id", n.source_peer_id},
                            {"target_url", n.target_url},
                            {"bytes", n.bytes},
                            {"sha256", n.sha256}});
  }
  if (ctx.flags.json) {
    PrintJson(out);
  } else {
    Say(ctx.flags,
        "restored collection " + result->collection + " from snapshot " + manifest.ShortId() +
            " (" + std::to_string(result->nodes.size()) + " node file(s)" +
            (result->points_after ? ", " + std::to_string(*result->points_after) + " points"
                                  : std::string()) +
            ")");
  }
  return 0;
}

int RunQdrantExport(VerbContext& ctx, Repository& repo, const Manifest& manifest,
                    const std::string& path, const std::string& out) {
  Status s = qdrant::ExportQdrantSnapshotFile(repo, manifest, path, out);
  if (!s.ok()) return ReportError(s, ctx.flags);
  if (ctx.flags.json) {
    PrintJson({{"snapshot", manifest.id}, {"out", out}, {"format", "qdrant-snapshot"}});
  } else {
    Say(ctx.flags, "wrote Qdrant snapshot file " + out);
  }
  return 0;
}

}  // namespace vecsafe::cli
