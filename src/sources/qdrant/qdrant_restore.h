// Restores a Qdrant backup (see qdrant_backup.h for the layout) into a
// running Qdrant, and exports the original .snapshot file.
//
// Restore streams each node's byte-exact snapshot file from the repository to
// that node: either as a multipart upload to
// POST /collections/{c}/snapshots/upload?priority=snapshot&checksum=<sha256>
// (a curl read callback pulls from the repository's FileReader: no temporary
// file), or, with via_url, from a one-time URL that vecsafe serves itself while
// Qdrant fetches it through PUT /collections/{c}/snapshots/recover. Qdrant
// checks the sha256 itself in both cases. Afterwards the collection's points
// count is compared with the one recorded at backup time.
#ifndef VECSAFE_SOURCES_QDRANT_QDRANT_RESTORE_H_
#define VECSAFE_SOURCES_QDRANT_QDRANT_RESTORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sources/qdrant/qdrant_client.h"
#include "vecsafe/repository.h"
#include "vecsafe/status.h"

namespace vecsafe::qdrant {

struct QdrantRestoreOptions {
  // The target Qdrant (seed node). REQUIRED: client.url.
  QdrantClientOptions client;
  // Target node REST URLs, one per node of the backup in the backup's order
  // (by peer id). Default: empty = the seed alone for a one-node backup; for
  // a cluster backup, the target's peers found through GET /cluster, matched
  // by peer id, else by order.
  std::vector<std::string> nodes;
  // Restore only if the snapshot is of this collection. Default: empty = any.
  std::string collection;
  // Name of the collection in the target. Default: empty = the original name.
  std::string as_name;
  // Serve the file from vecsafe and let Qdrant fetch it (recover from URL)
  // instead of uploading it. Default: false.
  bool via_url = false;
  // Address the one-time server listens on; Qdrant must be able to reach it.
  // Default: "127.0.0.1" (Qdrant on the same host).
  std::string listen_address = "127.0.0.1";
  // Port of the one-time server. Default: 0 = an ephemeral port.
  int listen_port = 0;
  // Host (or host:port) put into the URL Qdrant fetches, when it differs
  // from listen_address (NAT, containers). Default: empty = listen address.
  std::string advertise_host;
  // Default: kSnapshot (the snapshot is the source of truth).
  SnapshotPriority priority = SnapshotPriority::kSnapshot;
  // See PeerRestUrl. Default: 2.
  int peer_port_offset = 2;
  // Warnings for people (version skew, points count unknown). Default: none.
  std::function<void(std::string_view)> warn;
  // Called with the number of bytes just sent. Default: none.
  std::function<void(uint64_t)> on_bytes;
};

struct QdrantRestoredNode {
  std::string path;  // file in the repository snapshot
  uint64_t source_peer_id = 0;
  std::string target_url;
  uint64_t bytes = 0;
  std::string sha256;
};

struct QdrantRestoreResult {
  std::string collection;  // target collection name
  std::string source_collection;
  std::string source_version;
  std::string target_version;
  bool version_warning = false;
  std::vector<QdrantRestoredNode> nodes;
  std::optional<uint64_t> expected_points;
  std::optional<uint64_t> points_after;
};

// Errors: kInvalidArgument (not a Qdrant snapshot, wrong --collection),
// kUnimplemented (a full-storage snapshot: Qdrant restores those only at
// startup; export it instead), kFailedPrecondition (cluster shape differs),
// the client's errors, and kDataLoss when the points count after the restore
// differs from the backup's.
Result<QdrantRestoreResult> RestoreQdrant(Repository& repo, const Manifest& manifest,
                                          const QdrantRestoreOptions& options);

// The paths of the Qdrant snapshot files in `manifest` (one per node).
std::vector<std::string> QdrantSnapshotFiles(const Manifest& manifest);

// Writes the original .snapshot file at `path` of `manifest` to `out_path`
// byte for byte (temporary name, fsync, rename). `path` empty = the only
// file (kInvalidArgument listing them when there are several).
// Errors: kNotFound, kAlreadyExists (out_path exists), I/O errors.
Status ExportQdrantSnapshotFile(Repository& repo, const Manifest& manifest, std::string_view path,
                                const std::string& out_path);

}  // namespace vecsafe::qdrant

#endif  // VECSAFE_SOURCES_QDRANT_QDRANT_RESTORE_H_
