#include "sources/qdrant/qdrant_restore.h"

#include <httplib.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "sources/qdrant/qdrant_backup.h"

namespace vecsafe::qdrant {
namespace {

using json = nlohmann::json;

constexpr size_t kServeBlock = 1 << 20;

std::string RandomToken() {
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof(raw)) != 1) return {};
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

struct SourceNode {
  std::string path;
  uint64_t peer_id = 0;
  std::string sha256;
  uint64_t size = 0;
};

// The node files of a Qdrant manifest, in the order they were backed up.
std::vector<SourceNode> SourceNodes(const Manifest& m) {
  std::vector<SourceNode> out;
  if (m.source.contains("nodes") && m.source["nodes"].is_array()) {
    for (const json& n : m.source["nodes"]) {
      SourceNode s;
      s.path = n.value("path", "");
      s.peer_id = n.value("peer_id", uint64_t{0});
      const FileEntry* e = m.Find(s.path);
      if (e == nullptr) continue;
      s.sha256 = e->sha256;
      s.size = e->size;
      out.push_back(std::move(s));
    }
  }
  if (out.empty()) {
    for (const FileEntry& e : m.entries) {
      if (e.type != EntryType::kFile) continue;
      out.push_back(SourceNode{e.path, 0, e.sha256, e.size});
    }
  }
  return out;
}

// Serves one file of a snapshot once, at a random path, while Qdrant fetches it.
class OneTimeServer {
 public:
  OneTimeServer(Repository& repo, const Manifest& manifest, std::string path,
                std::function<void(uint64_t)> on_bytes)
      : repo_(repo), manifest_(manifest), path_(std::move(path)), on_bytes_(std::move(on_bytes)) {}

  ~OneTimeServer() { Stop(); }

  // Binds and starts serving. Returns the URL to hand to Qdrant.
  Result<std::string> Start(const std::string& address, int port, const std::string& advertise) {
    token_ = RandomToken();
    if (token_.empty())
      return Status(ErrorCode::kInternal, "no random bytes for the one-time token");
    const std::string route = "/" + token_ + "/snapshot";
    server_.Get(route, [this](const httplib::Request&, httplib::Response& res) { Serve(res); });
    server_.set_keep_alive_max_count(1);
    const int bound = port == 0 ? server_.bind_to_any_port(address) : port;
    if (port != 0 && !server_.bind_to_port(address, port)) {
      return Status(ErrorCode::kUnavailable,
                    "cannot listen on " + address + ":" + std::to_string(port),
                    "Choose another --listen address or port.");
    }
    if (bound <= 0) {
      return Status(ErrorCode::kUnavailable, "cannot listen on " + address,
                    "Choose another --listen address (one of this host's addresses).");
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    std::string host = advertise.empty() ? address : advertise;
    if (host.find(':') != std::string::npos && host.find(']') == std::string::npos &&
        std::count(host.begin(), host.end(), ':') > 1) {
      host = "[" + host + "]";  // a bare IPv6 address
    }
    if (host.find(':') == std::string::npos || host.back() == ']') {
      host += ":" + std::to_string(bound);
    }
    return "http://" + host + route;
  }

  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  bool served() const { return served_.load(); }

 private:
  void Serve(httplib::Response& res) {
    // One-time: the first request takes the file; later ones get 410.
    if (taken_.exchange(true)) {
      res.status = 410;
      res.set_content("this one-time URL was already used\n", "text/plain");
      return;
    }
    auto reader = repo_.OpenFile(manifest_, path_);
    if (!reader.ok()) {
      res.status = 500;
      res.set_content(reader.status().ToString(), "text/plain");
      return;
    }
    std::shared_ptr<FileReader> r(std::move(*reader));
    const uint64_t size = r->size();
    res.set_content_provider(size, "application/octet-stream",
                             [this, r, buf = std::make_shared<std::string>(kServeBlock, '\0')](
                                 size_t offset, size_t length, httplib::DataSink& sink) {
                               (void)offset;  // the reader is sequential and httplib asks in order
                               const size_t want = std::min(length, buf->size());
                               auto n = r->Read(buf->data(), want);
                               if (!n.ok() || *n == 0) return false;
                               if (on_bytes_) on_bytes_(*n);
                               sent_ += *n;
                               if (!sink.write(buf->data(), *n)) return false;
                               if (sent_ == r->size()) served_ = true;
                               return true;
                             });
  }

  Repository& repo_;
  const Manifest& manifest_;
  std::string path_;
  std::function<void(uint64_t)> on_bytes_;
  httplib::Server server_;
  std::thread thread_;
  std::string token_;
  std::atomic<bool> taken_{false};
  std::atomic<bool> served_{false};
  uint64_t sent_ = 0;
};

Status UploadNode(Repository& repo, const Manifest& manifest, const SourceNode& node,
                  QdrantClient& client, const std::string& collection,
                  const QdrantRestoreOptions& options, QdrantRestoredNode& out) {
  VS_ASSIGN_OR_RETURN(std::unique_ptr<FileReader> reader, repo.OpenFile(manifest, node.path));
  const uint64_t size = reader->size();
  const auto& on_bytes = options.on_bytes;
  ByteSource source = [&reader, &out, &on_bytes](char* buf, size_t n) -> Result<size_t> {
    auto r = reader->Read(buf, n);
    if (r.ok()) {
      out.bytes += *r;
      if (on_bytes) on_bytes(*r);
    }
    return r;
  };
  std::string file_name = collection + ".snapshot";
  return client.UploadSnapshot(collection, source, size, file_name, node.sha256, options.priority);
}

Status RecoverNode(Repository& repo, const Manifest& manifest, const SourceNode& node,
                   QdrantClient& client, const std::string& collection,
                   const QdrantRestoreOptions& options, QdrantRestoredNode& out) {
  uint64_t sent = 0;
  OneTimeServer server(repo, manifest, node.path, [&sent, &options](uint64_t n) {
    sent += n;
    if (options.on_bytes) options.on_bytes(n);
  });
  VS_ASSIGN_OR_RETURN(std::string url, server.Start(options.listen_address, options.listen_port,
                                                    options.advertise_host));
  Status s = client.RecoverFromUrl(collection, url, node.sha256, options.priority);
  server.Stop();
  out.bytes = sent;
  if (s.ok() && !server.served()) {
    return Status(ErrorCode::kFailedPrecondition,
                  "Qdrant reported success but did not fetch the whole file from " + url,
                  "Check that Qdrant can reach vecsafe at that address (see --listen).");
  }
  if (!s.ok() && sent == 0) {
    return s.WithHint(s.hint() + " Qdrant may not reach vecsafe at " + options.listen_address +
                      ": set --listen to an address of this host that Qdrant can reach.");
  }
  return s;
}

}  // namespace

std::vector<std::string> QdrantSnapshotFiles(const Manifest& manifest) {
  std::vector<std::string> out;
  for (const SourceNode& n : SourceNodes(manifest)) out.push_back(n.path);
  return out;
}

Result<QdrantRestoreResult> RestoreQdrant(Repository& repo, const Manifest& manifest,
                                          const QdrantRestoreOptions& options) {
  if (manifest.source_kind != "qdrant") {
    return Status(ErrorCode::kInvalidArgument,
                  "snapshot " + manifest.ShortId() + " is a '" + manifest.source_kind +
                      "' backup, not a Qdrant one",
                  "Use --to PATH to restore it into a directory.");
  }
  if (manifest.source.value("full", false)) {
    return Status(ErrorCode::kUnimplemented,
                  "snapshot " + manifest.ShortId() + " holds full-storage snapshots",
                  "Qdrant restores full-storage snapshots only at startup: export the file with "
                  "`vecsafe export " +
                      manifest.ShortId() +
                      " --out FILE` and start Qdrant with --storage-snapshot FILE.");
  }
  QdrantRestoreResult result;
  result.source_collection = manifest.source.value("collection", "");
  result.source_version = manifest.source.value("qdrant_version", "");
  if (!options.collection.empty() && options.collection != result.source_collection) {
    return Status(ErrorCode::kInvalidArgument,
                  "snapshot " + manifest.ShortId() + " holds collection '" +
                      result.source_collection + "', not '" + options.collection + "'",
                  "`vecsafe snapshots` shows which collection each snapshot holds.");
  }
  result.collection = options.as_name.empty() ? result.source_collection : options.as_name;
  if (result.collection.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "snapshot " + manifest.ShortId() + " does not name its collection",
                  "Give the target name with --as NAME.");
  }
  if (manifest.source.contains("points_count") &&
      manifest.source["points_count"].is_number_unsigned()) {
    result.expected_points = manifest.source["points_count"].get<uint64_t>();
  }
  const std::vector<SourceNode> sources = SourceNodes(manifest);
  if (sources.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "snapshot " + manifest.ShortId() + " holds no Qdrant snapshot file",
                  "Choose another snapshot.");
  }

  VS_ASSIGN_OR_RETURN(std::unique_ptr<QdrantClient> seed, QdrantClient::Create(options.client));
  VS_ASSIGN_OR_RETURN(ServerInfo server, seed->GetServerInfo());
  result.target_version = server.version;
  const auto from = ParseMajorMinor(result.source_version);
  const auto to = ParseMajorMinor(result.target_version);
  if (from && to && (from->first != to->first || std::abs(from->second - to->second) > 1)) {
    result.version_warning = true;
    if (options.warn) {
      options.warn("the backup was taken from Qdrant " + result.source_version +
                   " and the target runs " + result.target_version +
                   "; Qdrant supports snapshots across at most one minor version, so the "
                   "restore may fail or need an intermediate upgrade");
    }
  }

  // Which target node gets which file.
  std::vector<std::string> targets;
  if (!options.nodes.empty()) {
    if (options.nodes.size() != sources.size()) {
      return Status(ErrorCode::kInvalidArgument,
                    "the backup has " + std::to_string(sources.size()) + " node file(s) but " +
                        std::to_string(options.nodes.size()) + " --node URL(s) were given",
                    "Give one --node per node of the backup, in peer id order.");
    }
    for (const std::string& u : options.nodes) {
      VS_ASSIGN_OR_RETURN(std::string url, NormalizeBaseUrl(u));
      targets.push_back(url);
    }
  } else if (sources.size() == 1) {
    targets.push_back(seed->base_url());
  } else {
    VS_ASSIGN_OR_RETURN(std::vector<QdrantNode> found,
                        ResolveQdrantNodes(*seed, {}, options.peer_port_offset));
    if (found.size() != sources.size()) {
      return Status(ErrorCode::kFailedPrecondition,
                    "the backup holds " + std::to_string(sources.size()) +
                        " nodes' files but the target cluster has " + std::to_string(found.size()) +
                        " node(s)",
                    "Restore into a cluster with as many nodes, or name the targets with --node.");
    }
    std::map<uint64_t, std::string> by_peer;
    for (const QdrantNode& n : found) by_peer[n.peer_id] = n.url;
    bool all_match = true;
    for (const SourceNode& s : sources) all_match = all_match && by_peer.count(s.peer_id) > 0;
    for (size_t i = 0; i < sources.size(); ++i) {
      targets.push_back(all_match ? by_peer[sources[i].peer_id] : found[i].url);
    }
    if (!all_match && options.warn) {
      options.warn(
          "the target cluster's peer ids differ from the backup's; node files are "
          "restored by peer id order");
    }
  }

  for (size_t i = 0; i < sources.size(); ++i) {
    QdrantRestoredNode out;
    out.path = sources[i].path;
    out.source_peer_id = sources[i].peer_id;
    out.target_url = targets[i];
    out.sha256 = sources[i].sha256;
    std::unique_ptr<QdrantClient> owned;
    QdrantClient* client = seed.get();
    if (targets[i] != seed->base_url()) {
      QdrantClientOptions o = options.client;
      o.url = targets[i];
      VS_ASSIGN_OR_RETURN(owned, QdrantClient::Create(o));
      client = owned.get();
    }
    Status s =
        options.via_url
            ? RecoverNode(repo, manifest, sources[i], *client, result.collection, options, out)
            : UploadNode(repo, manifest, sources[i], *client, result.collection, options, out);
    if (!s.ok()) return s.WithContext("restoring " + out.path + " to " + out.target_url);
    result.nodes.push_back(std::move(out));
  }

  VS_ASSIGN_OR_RETURN(CollectionInfo after, seed->GetCollection(result.collection));
  result.points_after = after.points_count;
  if (result.expected_points && result.points_after &&
      *result.expected_points != *result.points_after) {
    return Status(ErrorCode::kDataLoss,
                  "collection '" + result.collection + "' has " +
                      std::to_string(*result.points_after) +
                      " points after the restore, the backup recorded " +
                      std::to_string(*result.expected_points),
                  "Check Qdrant's log; if nodes are missing from the restore, restore every node's "
                  "file (cluster backups hold one per node).");
  }
  if (!result.expected_points && options.warn) {
    options.warn("the backup recorded no points count; the restored collection was not compared");
  }
  return result;
}

}  // namespace vecsafe::qdrant
