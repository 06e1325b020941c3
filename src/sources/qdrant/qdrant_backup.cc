#include "sources/qdrant/qdrant_backup.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>

namespace vecsafe::qdrant {
namespace {

using json = nlohmann::json;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ToLower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Backs up one collection (or, with an empty name, the full storage) from
// every node into one repository snapshot.
class CollectionBackup {
 public:
  // `seed` answers collection info; clients[i] talks to nodes[i].
  CollectionBackup(Repository& repo, const QdrantBackupOptions& options, QdrantClient& seed,
                   const std::vector<QdrantClient*>& clients, const std::vector<QdrantNode>& nodes,
                   const std::string& seed_version)
      : repo_(repo),
        options_(options),
        seed_(seed),
        clients_(clients),
        nodes_(nodes),
        seed_version_(seed_version) {}

  QdrantCollectionResult Run(const std::string& collection) {
    QdrantCollectionResult result;
    result.collection = collection;
    result.status = RunInner(collection, result);
    // Every server-side snapshot is gone (or its failure recorded) before
    // the result is reported, whatever happened above.
    for (PendingDelete& d : deletes_) {
      d.thread.join();
      QdrantNodeResult& node = result.nodes[d.node];
      node.server_snapshot_deleted = d.status.ok();
      if (!d.status.ok()) node.delete_error = d.status.ToString();
    }
    deletes_.clear();
    return result;
  }

 private:
  Status RunInner(const std::string& collection, QdrantCollectionResult& result) {
    if (!collection.empty()) {
      auto info = seed_.GetCollection(collection);
      VS_RETURN_IF_ERROR(info.status());
      result.points_count = info->points_count;
    }
    SnapshotSpec spec;
    spec.source_kind = "qdrant";
    spec.source = Identity(collection);
    spec.tags = options_.tags;
    // The last backup of the same collection: its chunks are the delta bases
    // for the pages Qdrant rewrote since (each node's file keeps its path).
    VS_ASSIGN_OR_RETURN(std::optional<Manifest> last, repo_.FindLatest("qdrant", spec.source));
    if (last.has_value()) spec.parent = last->id;
    VS_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotBuilder> builder, repo_.NewSnapshot(spec));

    for (size_t i = 0; i < nodes_.size(); ++i) {
      QdrantNodeResult node;
      node.url = nodes_[i].url;
      node.peer_id = nodes_[i].peer_id;
      Status s = BackupNode(*builder, *clients_[i], collection, i, result.nodes.size(), node);
      result.nodes.push_back(node);
      // Dropping the builder below leaves nothing visible in the repository.
      if (!s.ok()) return s.WithContext("node " + node.url);
    }

    json source = Identity(collection);
    source["qdrant_version"] = seed_version_;
    source["full"] = options_.full;
    if (options_.existing) source["existing"] = true;
    if (result.points_count) source["points_count"] = *result.points_count;
    source["nodes"] = json::array();
    for (const QdrantNodeResult& n : result.nodes) {
      source["nodes"].push_back({{"url", n.url},
                                 {"peer_id", n.peer_id},
                                 {"path", n.path},
                                 {"snapshot_name", n.snapshot_name},
                                 {"size", n.size},
                                 {"sha256", n.sha256},
                                 {"qdrant_checksum", n.qdrant_checksum},
                                 {"qdrant_version", VersionOf(n.url)}});
      builder->AddSourceChecksum(n.path, "sha256", n.sha256);
    }
    builder->SetSourceInfo(source);
    VS_ASSIGN_OR_RETURN(result.manifest, builder->Commit());
    return Status::OK();
  }

  json Identity(const std::string& collection) const {
    json id = {{"url", seed_.base_url()}};
    if (options_.full) {
      id["full"] = true;
    } else {
      id["collection"] = collection;
    }
    return id;
  }

  std::string VersionOf(const std::string& url) const {
    for (const QdrantNode& n : nodes_) {
      if (n.url == url) return n.version;
    }
    return seed_version_;
  }

  // Records into node; its entry in the result's nodes is `result_index`.
  Status BackupNode(SnapshotBuilder& builder, QdrantClient& client, const std::string& collection,
                    size_t index, size_t result_index, QdrantNodeResult& node) {
    if (options_.existing) {
      VS_ASSIGN_OR_RETURN(SnapshotInfo snap, NewestSnapshot(client, collection));
      node.snapshot_name = snap.name;
      node.size = snap.size;
      node.existing = true;
      return StreamNode(builder, client, collection, snap, index, node);
    }
    auto created = client.CreateSnapshot(collection);
    if (created.status().code() == ErrorCode::kPermissionDenied) {
      return created.status().WithHint(
          "Creating snapshots needs a read-write key. With a read-only key, back up the "
          "snapshots already on the server with --existing.");
    }
    VS_ASSIGN_OR_RETURN(SnapshotInfo snap, std::move(created));
    node.snapshot_name = snap.name;
    node.size = snap.size;
    // From here on the server-side snapshot exists: delete it whatever happens.
    Status s = StreamNode(builder, client, collection, snap, index, node);
    StartDelete(client, collection, snap.name, result_index);
    return s;
  }

  // The newest by creation time (listings are unsorted); a tie goes to the
  // greater name, whose timestamp suffix is the later one.
  static Result<SnapshotInfo> NewestSnapshot(QdrantClient& client, const std::string& collection) {
    VS_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> list, client.ListSnapshots(collection));
    const std::string what = collection.empty() ? std::string("no full-storage snapshot")
                                                : "no snapshot of collection '" + collection + "'";
    if (list.empty()) {
      return Status(ErrorCode::kNotFound, "--existing: " + what + " on " + client.base_url(),
                    "Create one first (POST /collections/{name}/snapshots with a read-write "
                    "key, or Qdrant's own schedule), or drop --existing to let vecsafe create "
                    "and delete one.");
    }
    return *std::max_element(
        list.begin(), list.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) {
          return std::tie(a.creation_time, a.name) < std::tie(b.creation_time, b.name);
        });
  }

  // Deleting a multi-GB snapshot takes Qdrant a while (0.5 s for 2 GiB on
  // ext4): it runs on its own connection while the repository commits and
  // the next node streams. Run() waits for it.
  void StartDelete(const QdrantClient& client, const std::string& collection,
                   const std::string& name, size_t result_index) {
    deletes_.emplace_back();
    PendingDelete& d = deletes_.back();
    d.node = result_index;
    auto own = QdrantClient::Create(client.options());
    if (!own.ok()) {
      d.status = own.status();
      d.thread = std::thread([] {});
      return;
    }
    d.thread = std::thread([&d, c = std::shared_ptr<QdrantClient>(std::move(*own)), collection,
                            name] { d.status = c->DeleteSnapshot(collection, name); });
  }

  Status StreamNode(SnapshotBuilder& builder, QdrantClient& client, const std::string& collection,
                    const SnapshotInfo& snap, size_t index, QdrantNodeResult& node) {
    if (node.peer_id == 0) node.peer_id = PeerIdFromSnapshotName(snap.name, collection);
    const std::string dir = collection.empty() ? std::string("full") : collection;
    node.path =
        dir + "/" +
        (node.peer_id != 0 ? std::to_string(node.peer_id) : "node-" + std::to_string(index)) +
        ".snapshot";
    node.qdrant_checksum = ToLower(snap.checksum);
    if (node.qdrant_checksum.empty()) {
      auto sidecar = client.GetSnapshotChecksum(collection, snap.name);
      if (sidecar.ok()) node.qdrant_checksum = ToLower(*sidecar);
    }
    if (options_.on_file) options_.on_file(collection, node.url, snap.size);

    EntryMeta meta;
    meta.path = node.path;
    meta.mode = 0644;
    meta.mtime_ns = NowNs();
    meta.size = snap.size;
    VS_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> sink, builder.BeginFile(meta));
    const auto& on_bytes = options_.on_bytes;
    Status streamed = client.DownloadSnapshot(collection, snap.name,
                                              [&sink, &on_bytes](std::string_view bytes) -> Status {
                                                Status appended = sink->Append(bytes);
                                                if (appended.ok() && on_bytes)
                                                  on_bytes(bytes.size());
                                                return appended;
                                              });
    VS_RETURN_IF_ERROR(streamed);
    VS_ASSIGN_OR_RETURN(FileResult file, sink->Close());
    node.sha256 = ToLower(file.sha256);
    if (snap.size != 0 && file.size != snap.size) {
      return Status(ErrorCode::kDataLoss,
                    "snapshot " + snap.name + " is " + std::to_string(file.size) +
                        " bytes, Qdrant listed " + std::to_string(snap.size),
                    "Nothing was committed; run the backup again.");
    }
    if (!node.qdrant_checksum.empty() && node.qdrant_checksum != node.sha256) {
      return Status(ErrorCode::kDataLoss,
                    "checksum mismatch for snapshot " + snap.name + ": streamed sha256 " +
                        node.sha256 + ", Qdrant reported " + node.qdrant_checksum,
                    "Nothing was committed. Run the backup again; if it repeats, the data is "
                    "damaged between Qdrant's disk and vecsafe (disk, proxy or network).");
    }
    return Status::OK();
  }

  struct PendingDelete {
    size_t node = 0;
    Status status;
    std::thread thread;
  };

  Repository& repo_;
  const QdrantBackupOptions& options_;
  QdrantClient& seed_;
  const std::vector<QdrantClient*>& clients_;
  const std::vector<QdrantNode>& nodes_;
  const std::string& seed_version_;
  std::deque<PendingDelete> deletes_;  // a deque: threads hold pointers into it
};

}  // namespace

Status QdrantBackupResult::status() const {
  for (const QdrantCollectionResult& c : collections) {
    if (!c.status.ok()) {
      return c.status.WithContext(c.collection.empty() ? std::string("full-storage snapshot")
                                                       : "collection '" + c.collection + "'");
    }
  }
  return Status::OK();
}

uint64_t PeerIdFromSnapshotName(std::string_view name, std::string_view collection) {
  // "{collection}-{peer_id}-YYYY-MM-DD-HH-MM-SS.snapshot"
  if (collection.empty() || name.size() <= collection.size() + 1 ||
      name.substr(0, collection.size()) != collection || name[collection.size()] != '-') {
    return 0;
  }
  std::string_view rest = name.substr(collection.size() + 1);
  const size_t dash = rest.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash > 20) return 0;
  uint64_t id = 0;
  for (char c : rest.substr(0, dash)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return 0;
    id = id * 10 + static_cast<uint64_t>(c - '0');
  }
  return id;
}

Result<std::vector<QdrantNode>> ResolveQdrantNodes(QdrantClient& seed,
                                                   const std::vector<std::string>& nodes,
                                                   int peer_port_offset) {
  std::vector<QdrantNode> out;
  if (!nodes.empty()) {
    for (const std::string& url : nodes) {
      QdrantNode n;
      VS_ASSIGN_OR_RETURN(n.url, NormalizeBaseUrl(url));
      out.push_back(std::move(n));
    }
    return out;
  }
  VS_ASSIGN_OR_RETURN(ClusterInfo cluster, seed.GetCluster());
  if (!cluster.enabled || cluster.peers.size() <= 1) {
    QdrantNode n;
    n.url = seed.base_url();
    n.peer_id = cluster.enabled ? cluster.peer_id : 0;
    out.push_back(std::move(n));
    return out;
  }
  for (const PeerInfo& p : cluster.peers) {
    QdrantNode n;
    n.peer_id = p.peer_id;
    if (p.peer_id == cluster.peer_id) {
      n.url = seed.base_url();
    } else {
      auto url = PeerRestUrl(p.uri, seed.base_url(), peer_port_offset);
      if (!url.ok()) {
        return url.status().WithHint("Cannot tell the REST URL of peer " +
                                     std::to_string(p.peer_id) + " (" + p.uri +
                                     "); name every node with --node URL.");
      }
      n.url = *url;
    }
    out.push_back(std::move(n));
  }
  return out;
}

Result<QdrantBackupResult> BackupQdrant(Repository& repo, const QdrantBackupOptions& options) {
  QdrantBackupResult result;
  VS_ASSIGN_OR_RETURN(std::unique_ptr<QdrantClient> seed, QdrantClient::Create(options.client));
  VS_ASSIGN_OR_RETURN(ServerInfo server, seed->GetServerInfo());
  result.qdrant_version = server.version;
  // Fails early with a clear error on a wrong key or an unknown collection.
  VS_ASSIGN_OR_RETURN(std::vector<std::string> existing, seed->ListCollections());
  std::vector<std::string> wanted = options.collections;
  if (!options.full) {
    if (wanted.empty()) wanted = existing;
    for (const std::string& c : wanted) {
      if (std::find(existing.begin(), existing.end(), c) == existing.end()) {
        std::string list;
        for (const std::string& e : existing) list += (list.empty() ? "" : ", ") + e;
        return Status(ErrorCode::kNotFound,
                      "collection '" + c + "' does not exist on " + seed->base_url(),
                      existing.empty() ? std::string("This Qdrant has no collections.")
                                       : "Collections there: " + list + ".");
      }
    }
  }
  VS_ASSIGN_OR_RETURN(result.nodes,
                      ResolveQdrantNodes(*seed, options.nodes, options.peer_port_offset));
  std::vector<std::unique_ptr<QdrantClient>> owned;
  std::vector<QdrantClient*> clients;
  for (QdrantNode& n : result.nodes) {
    if (n.url == seed->base_url()) {
      n.version = server.version;
      if (n.peer_id == 0) {
        auto cl = seed->GetCluster();
        if (cl.ok() && cl->enabled) n.peer_id = cl->peer_id;
      }
      clients.push_back(seed.get());
      continue;
    }
    QdrantClientOptions o = options.client;
    o.url = n.url;
    VS_ASSIGN_OR_RETURN(std::unique_ptr<QdrantClient> c, QdrantClient::Create(o));
    auto info = c->GetServerInfo();
    if (!info.ok()) return info.status().WithContext("cluster node " + n.url);
    n.version = info->version;
    if (n.peer_id == 0) {
      auto cl = c->GetCluster();
      if (cl.ok() && cl->enabled) n.peer_id = cl->peer_id;
    }
    clients.push_back(c.get());
    owned.push_back(std::move(c));
  }
  if (options.full) wanted = {std::string()};
  for (const std::string& c : wanted) {
    CollectionBackup run(repo, options, *seed, clients, result.nodes, result.qdrant_version);
    result.collections.push_back(run.Run(c));
  }
  return result;
}

}  // namespace vecsafe::qdrant
