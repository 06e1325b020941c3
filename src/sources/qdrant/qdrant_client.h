// A client for the parts of Qdrant's REST API that backups use: server and
// cluster info, collections, collection and full-storage snapshots (create,
// list, download, delete), and recovery (multipart upload or from a URL).
//
// Follows Qdrant's own spec (v1.19 openapi.json): the {"result","status","time"}
// envelope, 202 {"status":"accepted"} for wait=false, errors as
// {"status":{"error":"..."}}, 401 as plain text, `GET /` not enveloped. Every
// HTTP or transport failure becomes a vecsafe Status whose hint says what to
// do (wrong key, read-only key, missing collection, Qdrant's disk full, not a
// Qdrant server, unreachable).
//
// Transfers of many GiB are normal here, so there is no total timeout on
// downloads and uploads: a connect timeout plus stall detection (abort when no
// byte moves for `stall_seconds`; after an upload is sent, Qdrant may work on
// it for up to `snapshot_wait_seconds` before it answers). Small JSON calls
// have a total timeout. Connection errors, 408, 429, 500,
// 502, 503 and 504 are retried with exponential backoff and jitter; a
// streaming download is retried only while no byte has reached the sink,
// because a sink cannot take bytes back.
//
// Thread safety: one QdrantClient belongs to one thread at a time (it reuses
// one connection). Use one client per thread.
#ifndef VECSAFE_SOURCES_QDRANT_QDRANT_CLIENT_H_
#define VECSAFE_SOURCES_QDRANT_QDRANT_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::qdrant {

struct QdrantClientOptions {
  // Base URL, e.g. "http://localhost:6333" or "https://xyz.cloud.qdrant.io:6333".
  // REQUIRED (use OptionsFromEnvironment to fill it from QDRANT_* variables).
  std::string url;
  // Sent as the `api-key` header when non-empty. Default: empty.
  std::string api_key;
  // TLS: verify the server's certificate. Default: true.
  bool verify_tls = true;
  // PEM bundle of CAs to trust instead of the system's. Default: empty.
  std::string ca_file;
  // Seconds to establish a connection. Default: 10.
  long connect_timeout_seconds = 10;
  // Total timeout of small (JSON) requests, in seconds. Default: 120.
  long request_timeout_seconds = 120;
  // Streaming transfers abort when no byte moves for this many seconds. Default: 120.
  long stall_seconds = 120;
  // Attempts for retryable failures (1 = no retry). Default: 5.
  int max_attempts = 5;
  // First backoff delay, doubled each attempt up to max_backoff_ms. Defaults: 250 / 8000.
  int initial_backoff_ms = 250;
  int max_backoff_ms = 8000;
  // Create snapshots with wait=false and poll the listing (true), or wait=true
  // in one long request (false: errors such as 507 then reach vecsafe, but a
  // proxy with an idle timeout may cut the request). Default: true.
  bool poll_snapshot_creation = true;
  // How long CreateSnapshot waits for a snapshot to appear, and how long an
  // upload may wait for Qdrant's answer once sent. Default: 2 hours.
  long snapshot_wait_seconds = 2 * 3600;
  // Shortest polling interval while waiting, in milliseconds; the interval is
  // a tenth of the time waited so far, at most 5 s. Default: 200.
  int poll_interval_ms = 200;
};

// Fills url and api_key for `url_arg` (may be empty) from the environment the
// existing Qdrant backup deployments use: QDRANT_URL, else QDRANT_HOST (a host
// name or URL) with QDRANT_PORT (default 6333) and https when QDRANT_HTTPS is
// "1"/"true"; QDRANT_API_KEY. An explicit url_arg wins over the variables; a
// bare "host:port" gets "http://". Errors: kInvalidArgument (nothing given, or
// a URL that is not http(s)).
Result<QdrantClientOptions> OptionsFromEnvironment(std::string_view url_arg,
                                                   std::string_view api_key_arg = {});

// Normalizes a user-given URL: adds "http://" to "host:port", drops a trailing '/'.
// Errors: kInvalidArgument for other schemes or an empty host.
Result<std::string> NormalizeBaseUrl(std::string_view url);

struct ServerInfo {
  std::string title;    // "qdrant - vector search engine"
  std::string version;  // "1.19.0"
  std::string commit;
};

struct CollectionInfo {
  std::string name;
  std::string status;                    // "green", "yellow", ...
  std::optional<uint64_t> points_count;  // approximate, cluster-wide
  uint64_t segments_count = 0;
  uint32_t shard_number = 1;
  uint32_t replication_factor = 1;
};

struct PeerInfo {
  uint64_t peer_id = 0;
  std::string uri;  // Qdrant's p2p URI of the peer (not its REST URL)
};

struct ClusterInfo {
  bool enabled = false;
  uint64_t peer_id = 0;         // this node (enabled only)
  std::vector<PeerInfo> peers;  // every peer incl. this one, sorted by id
};

struct SnapshotInfo {
  std::string name;
  std::string creation_time;
  uint64_t size = 0;
  std::string checksum;  // sha256 hex, empty when Qdrant gave none
};

// Recovery priority (SnapshotPriority in the spec).
enum class SnapshotPriority : uint8_t { kNoSync, kSnapshot, kReplica };
std::string_view SnapshotPriorityName(SnapshotPriority p);  // "no_sync", "snapshot", "replica"

// Receives downloaded bytes in order; a non-OK Status aborts the transfer.
using ByteSink = std::function<Status(std::string_view bytes)>;
// Fills `buf` with up to `n` bytes of an upload; returns 0 at the end.
using ByteSource = std::function<Result<size_t>(char* buf, size_t n)>;

class QdrantClient {
 public:
  // Errors: kInvalidArgument (bad URL).
  static Result<std::unique_ptr<QdrantClient>> Create(QdrantClientOptions options);
  ~QdrantClient();
  QdrantClient(const QdrantClient&) = delete;
  QdrantClient& operator=(const QdrantClient&) = delete;

  const std::string& base_url() const;
  const QdrantClientOptions& options() const;

  // GET / (needs no key). Errors: kInvalidArgument "not a Qdrant server" when
  // the answer is not Qdrant's version document; kUnavailable when unreachable.
  Result<ServerInfo> GetServerInfo();
  // GET /collections, sorted by name.
  Result<std::vector<std::string>> ListCollections();
  // GET /collections/{name}. Errors: kNotFound with the list of collections in the hint.
  Result<CollectionInfo> GetCollection(std::string_view name);
  // GET /cluster.
  Result<ClusterInfo> GetCluster();

  // `collection` empty = full-storage snapshots (/snapshots).
  Result<std::vector<SnapshotInfo>> ListSnapshots(std::string_view collection);
  // Creates a snapshot with wait=false and polls the listing until a new one
  // appears (or takes the description when the server answers 200 at once).
  // Errors: kPermissionDenied (read-only key), kNotFound, kNoSpace (507),
  // kTimeout (snapshot_wait_seconds passed), kUnavailable.
  Result<SnapshotInfo> CreateSnapshot(std::string_view collection);
  // Streams the snapshot file into `sink`. `*bytes_out` (if given) receives
  // the number of bytes delivered, also on failure. Errors: kUnavailable
  // (connection lost), kDataLoss (size differs from Content-Length), sink errors.
  Status DownloadSnapshot(std::string_view collection, std::string_view name, const ByteSink& sink,
                          uint64_t* bytes_out = nullptr);
  // GET {name}.checksum (the sidecar). Errors: kNotFound when there is none.
  Result<std::string> GetSnapshotChecksum(std::string_view collection, std::string_view name);
  // DELETE. Errors: kNotFound, kPermissionDenied.
  Status DeleteSnapshot(std::string_view collection, std::string_view name);

  // POST /collections/{c}/snapshots/upload?priority=..&checksum=.. as multipart
  // field "snapshot", streaming `size` bytes from `source` (no temporary file).
  // Errors: kInvalidArgument (Qdrant refused the snapshot, e.g. checksum
  // mismatch), kPermissionDenied, kUnavailable.
  Status UploadSnapshot(std::string_view collection, const ByteSource& source, uint64_t size,
                        std::string_view file_name, std::string_view sha256,
                        SnapshotPriority priority);
  // PUT /collections/{c}/snapshots/recover with {"location","priority","checksum"}.
  Status RecoverFromUrl(std::string_view collection, std::string_view location,
                        std::string_view sha256, SnapshotPriority priority);

  struct Impl;

 private:
  explicit QdrantClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "1.19.0" -> {1, 19}; nullopt when it does not parse.
std::optional<std::pair<int, int>> ParseMajorMinor(std::string_view version);

// Qdrant reports peers by their p2p URI (default port 6335); the REST API of a
// peer is on the same host at the p2p port minus `port_offset` (6333 = 6335 - 2
// by default), with the scheme of `seed_url`. Errors: kInvalidArgument.
Result<std::string> PeerRestUrl(std::string_view peer_uri, std::string_view seed_url,
                                int port_offset = 2);

}  // namespace vecsafe::qdrant

#endif  // VECSAFE_SOURCES_QDRANT_QDRANT_CLIENT_H_
