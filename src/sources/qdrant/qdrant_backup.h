// Backs up Qdrant into a vecsafe repository by streaming Qdrant's own
// snapshot files straight into the deduplicating chunker.
//
// Layout in the repository: one repository snapshot per collection and run
// (source kind "qdrant"), holding one file per Qdrant node, because a Qdrant
// snapshot holds only that node's shards:
//     <collection>/<peer_id>.snapshot       (collection snapshots)
//     full/<peer_id>.snapshot               (--full: full-storage snapshots)
// Each file is byte for byte the .snapshot file Qdrant wrote. The manifest's
// source info records the seed URL, the collection, Qdrant's version, the
// collection's points count and, per node, its REST URL, peer id, Qdrant's
// snapshot name, size and sha256 (also added as a source checksum).
//
// Per node: create the snapshot, stream the download into a FileSink (no
// temporary file; memory stays flat because FileSink::Append blocks while the
// pipeline is full), compare the sha256 the repository computed while
// streaming with Qdrant's checksum, and delete the server-side snapshot
// afterwards, also when anything failed. A failed collection commits nothing
// (the builder is dropped), so no half snapshot is visible.
#ifndef VECSAFE_SOURCES_QDRANT_QDRANT_BACKUP_H_
#define VECSAFE_SOURCES_QDRANT_QDRANT_BACKUP_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sources/qdrant/qdrant_client.h"
#include "vecsafe/repository.h"
#include "vecsafe/status.h"

namespace vecsafe::qdrant {

struct QdrantBackupOptions {
  // The seed node (URL, API key, TLS, timeouts). REQUIRED: client.url.
  QdrantClientOptions client;
  // Collections to back up. Default: empty = every collection.
  std::vector<std::string> collections;
  // REST URLs of the nodes to snapshot. Default: empty = found through
  // GET /cluster (every peer), or just the seed when clustering is disabled.
  std::vector<std::string> nodes;
  // A full-storage snapshot per node (POST /snapshots) instead of one per
  // collection. Default: false.
  bool full = false;
  // Back up the newest snapshot already on each node instead of creating one,
  // and leave it there: what a read-only key allows (list and download).
  // Default: false.
  bool existing = false;
  // See PeerRestUrl. Default: 2 (p2p 6335 -> REST 6333).
  int peer_port_offset = 2;
  std::vector<std::string> tags;
  // Called with the number of bytes just received (progress bars). Default: none.
  std::function<void(uint64_t)> on_bytes;
  // Called once per node before its download, with the announced size.
  std::function<void(const std::string& collection, const std::string& node_url, uint64_t size)>
      on_file;
};

struct QdrantNodeResult {
  std::string url;
  uint64_t peer_id = 0;
  std::string path;           // path of the file in the repository snapshot
  std::string snapshot_name;  // Qdrant's name for it
  uint64_t size = 0;
  std::string sha256;           // computed while streaming
  std::string qdrant_checksum;  // what Qdrant reported (empty if none)
  bool server_snapshot_deleted = false;
  bool existing = false;     // taken from the server as it was (--existing), not deleted
  std::string delete_error;  // why the server-side snapshot could not be deleted
};

struct QdrantCollectionResult {
  std::string collection;  // "" for a full-storage snapshot
  Status status;
  Manifest manifest;  // valid when status.ok()
  std::vector<QdrantNodeResult> nodes;
  std::optional<uint64_t> points_count;
};

struct QdrantNode {
  std::string url;
  uint64_t peer_id = 0;  // 0 = unknown until a snapshot name tells it
  std::string version;
};

struct QdrantBackupResult {
  std::string qdrant_version;
  std::vector<QdrantNode> nodes;
  std::vector<QdrantCollectionResult> collections;
  // The first failure, or OK when every collection was committed.
  Status status() const;
};

// Returns an error only when nothing could start: seed unreachable, not
// Qdrant, wrong key, an unknown collection requested, nodes not resolvable.
// Failures of single collections are in the result (the others still run).
Result<QdrantBackupResult> BackupQdrant(Repository& repo, const QdrantBackupOptions& options);

// The nodes to snapshot (see QdrantBackupOptions::nodes). Exposed for
// `vecsafe serve` and tests.
Result<std::vector<QdrantNode>> ResolveQdrantNodes(QdrantClient& seed,
                                                   const std::vector<std::string>& nodes,
                                                   int peer_port_offset);

// Peer id from a snapshot name "{collection}-{peer_id}-{Y-m-d-H-M-S}.snapshot"; 0 if none.
uint64_t PeerIdFromSnapshotName(std::string_view name, std::string_view collection);

}  // namespace vecsafe::qdrant

#endif  // VECSAFE_SOURCES_QDRANT_QDRANT_BACKUP_H_
