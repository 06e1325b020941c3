#include "http/api_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "http/auth.h"
#include "ops/journal.h"
#include "service/daemon.h"
#include "service/jobs.h"
#include "sources/qdrant/qdrant_client.h"

namespace vecsafe::http {
namespace {

using json = nlohmann::json;
using service::Role;

std::string IsoNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string IsoMs(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int HttpStatusFor(ErrorCode c) {
  switch (c) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
    case ErrorCode::kRepoNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kLocked:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kAborted:
      return 409;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kUnimplemented:
      return 501;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kNoSpace:
      return 507;
    default:
      return 500;
  }
}

json ErrorBody(const Status& s) {
  const ErrorInfo& info = GetErrorInfo(s.code());
  return {{"error",
           {{"code", "VS-" + std::to_string(static_cast<int>(s.code()))},
            {"name", std::string(info.name)},
            {"message", s.message()},
            {"hint", s.hint()}}}};
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendError(httplib::Response& res, const Status& s) {
  SendJson(res, HttpStatusFor(s.code()), ErrorBody(s));
}

// Parses a JSON object body; an empty body is {}.
Result<json> Body(const httplib::Request& req) {
  if (req.body.empty()) return json::object();
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("the request body is not a JSON object",
                           "Send Content-Type: application/json with an object, e.g. {}.");
  }
  return j;
}

std::string OptString(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status ExpectStringOrAbsent(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null() || it->is_string()) return Status::OK();
  return InvalidArgument(std::string("\"") + key + "\" must be a string");
}

int QueryInt(const httplib::Request& req, const char* key, int def, int lo, int hi) {
  if (!req.has_param(key)) return def;
  const std::string v = req.get_param_value(key);
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != '\0') return -1;
  if (n < lo || n > hi) return -1;
  return static_cast<int>(n);
}

// Writes a recovery plan for `recover chroma --execute FILE` into the state folder.
// The old API passes the plan's items only (`recovery_plan`: [...]): they get
// the envelope `recover chroma --execute` expects.
Result<std::string> WritePlanFile(const service::Config& cfg, const json& plan_or_items,
                                  const std::string& chroma_path) {
  const json plan = plan_or_items.is_array() ? json{{"vecsafe_recovery_plan", 1},
                                                    {"chroma_path", chroma_path},
                                                    {"items", plan_or_items}}
                                             : plan_or_items;
  const std::filesystem::path dir =
      cfg.state_dir.empty() ? ops::DefaultStateDir() : std::filesystem::path(cfg.state_dir);
  const std::string file = (dir / (ops::NewOperationId() + "-plan.json")).string();
  std::ofstream out(file);
  out << plan.dump(2);
  out.close();
  if (!out) {
    return IoError("cannot write the recovery plan to " + file,
                   "Check that state_dir is writable and has free space.");
  }
  return file;
}

}  // namespace

ApiServer::ApiServer(service::Daemon* daemon) : daemon_(daemon) {
  auto cfg = daemon_->config();
  if (!cfg->tls_cert_file.empty()) {
    server_ =
        std::make_unique<httplib::SSLServer>(cfg->tls_cert_file.c_str(), cfg->tls_key_file.c_str());
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  server_->new_task_queue = [] { return new httplib::ThreadPool(16); };
  server_->set_payload_max_length(static_cast<size_t>(cfg->max_body_bytes));
  // Debian's cpp-httplib is a shared library built with a listen backlog of 5
  // and without TCP_NODELAY: a burst of clients (50 at once) overflows the
  // backlog and the kernel resets some connections. Keep the socket to raise
  // the backlog after binding.
  server_->set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    // Accepted sockets inherit it: the header and body writes of a response
    // must not wait for the client's delayed ACK (Nagle), ~40 ms a request.
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    listen_fd_ = sock;
  });
  server_->set_read_timeout(30, 0);
  server_->set_write_timeout(30, 0);
  Routes();
}

ApiServer::~ApiServer() = default;

Status ApiServer::Bind(const std::string& host, int port) {
  if (!server_->is_valid()) {
    return InvalidArgument("the TLS certificate or key cannot be loaded",
                           "Check tls.cert_file and tls.key_file (PEM).");
  }
  if (port == 0) {
    port_ = server_->bind_to_any_port(host.c_str());
    if (port_ <= 0) return Unavailable("cannot listen on " + host);
    return RaiseBacklog();
  }
  if (!server_->bind_to_port(host.c_str(), port)) {
    return Unavailable("cannot listen on " + host + ":" + std::to_string(port),
                       "Another process may use the port; choose another with --listen.");
  }
  port_ = port;
  return RaiseBacklog();
}

Status ApiServer::RaiseBacklog() {
  // listen() again on a listening socket only changes its backlog (Linux).
  if (listen_fd_ >= 0 && ::listen(listen_fd_, kListenBacklog) != 0) {
    return Unavailable("cannot set the listen backlog of the API socket",
                       "Check the system's limits (net.core.somaxconn).");
  }
  return Status::OK();
}

void ApiServer::Serve() { server_->listen_after_bind(); }
void ApiServer::Stop() { server_->stop(); }

void ApiServer::Routes() {
  service::Daemon* d = daemon_;
  httplib::Server& s = *server_;

  // Authentication for everything except GET /health.
  s.set_pre_routing_handler([d](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    auto token = BearerToken(req.get_header_value("Authorization"));
    if (!token || !Authenticate(*token, d->config()->tokens)) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"vecsafe\"");
      SendJson(res, 401,
               ErrorBody(Status(ErrorCode::kUnauthenticated,
                                token ? "the API token is not valid" : "an API token is required",
                                "Send `Authorization: Bearer <token>`; tokens come from the "
                                "config's tokens/tokens_file or VECSAFE_API_TOKEN.")));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      SendJson(res, 404,
               ErrorBody(NotFound("no such route", "docs/openapi.yaml lists the routes.")));
    } else if (res.status == 413) {
      SendJson(res, 413,
               ErrorBody(ResourceExhausted("the request body is too large",
                                           "limits.max_body_bytes in the config sets the limit.")));
    } else if (res.status == 405) {
      SendJson(res, 405, ErrorBody(InvalidArgument("method not allowed on this route")));
    } else {
      SendJson(res, res.status, ErrorBody(InvalidArgument("bad request")));
    }
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    SendJson(res, 500, ErrorBody(Internal("the request failed inside vecsafe")));
  });

  // Wraps a handler with the role check; passes the principal.
  using Handler =
      std::function<void(const httplib::Request&, httplib::Response&, const Principal&)>;
  auto guard = [d](Role need, Handler h) {
    return [d, need, h](const httplib::Request& req, httplib::Response& res) {
      auto token = BearerToken(req.get_header_value("Authorization"));
      auto who = token ? Authenticate(*token, d->config()->tokens) : std::nullopt;
      if (!who) {
        SendJson(res, 401,
                 ErrorBody(Status(ErrorCode::kUnauthenticated, "an API token is required")));
        return;
      }
      if (!RoleAllows(who->role, need)) {
        SendError(res,
                  PermissionDenied("token \"" + who->name + "\" has role " +
                                       std::string(service::ToString(who->role)) +
                                       "; this route needs " + std::string(service::ToString(need)),
                                   "Use a token with a stronger role."));
        return;
      }
      h(req, res, *who);
    };
  };
  auto actor = [](const Principal& p) { return "token:" + p.name; };
  // The /api/v1 write routes: role check, then the body parsed as a JSON object
  // (an empty body is {}); a malformed body is answered 400 before the handler runs.
  using BodyHandler = std::function<void(const httplib::Request&, httplib::Response&,
                                         const Principal&, const json&)>;
  auto guard_body = [guard](Role need, BodyHandler h) {
    return guard(need,
                 [h](const httplib::Request& req, httplib::Response& res, const Principal& p) {
                   auto body = Body(req);
                   if (!body.ok()) {
                     SendError(res, body.status());
                     return;
                   }
                   h(req, res, p, *body);
                 });
  };
  auto accepted = [](httplib::Response& res, const Result<std::string>& id) {
    if (!id.ok()) {
      SendError(res, id.status());
      return;
    }
    res.set_header("Location", "/api/v1/operations/" + *id);
    SendJson(res, 202,
             {{"operation_id", *id}, {"state", "queued"}, {"href", "/api/v1/operations/" + *id}});
  };
  // Waits for an operation (the old routes answered synchronously).
  auto wait_op = [d](const std::string& id) {
    for (;;) {
      auto info = d->operations().Get(id);
      if (!info ||
          (info->state != service::OpState::kQueued && info->state != service::OpState::kRunning)) {
        return info;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  // A copy: the config may be swapped while the request runs.
  auto first_source = [d](service::SourceType t) -> std::optional<service::SourceConfig> {
    auto cfg = d->config();
    for (const auto& src : cfg->sources) {
      if (src.type == t) return src;
    }
    return std::nullopt;
  };
  // The source named `name` (the first source, or the first chroma source when
  // `chroma_only`, when empty); copied, so it outlives a config swap.
  auto resolve_source = [d, first_source](const std::string& name,
                                          bool chroma_only) -> Result<service::SourceConfig> {
    auto cfg = d->config();
    std::optional<service::SourceConfig> src;
    if (!name.empty()) {
      if (const service::SourceConfig* found = cfg->FindSource(name)) src = *found;
    } else if (chroma_only) {
      src = first_source(service::SourceType::kChroma);
    } else if (!cfg->sources.empty()) {
      src = cfg->sources.front();
    }
    if (!src || (chroma_only && src->type != service::SourceType::kChroma)) {
      return NotFound(std::string("no ") + (chroma_only ? "chroma " : "") + "source \"" + name +
                          "\" in the config",
                      "GET /api/v1/sources lists them.");
    }
    return *src;
  };
  // The repository named `name` (the first one when empty), copied.
  auto resolve_repo = [d](const std::string& name) -> Result<service::RepositoryConfig> {
    auto cfg = d->config();
    const service::RepositoryConfig* repo =
        name.empty() ? (cfg->repositories.empty() ? nullptr : &cfg->repositories.front())
                     : cfg->FindRepository(name);
    if (repo == nullptr) {
      return NotFound("no repository \"" + name + "\" in the config",
                      "GET /api/v1/config lists the repositories.");
    }
    return *repo;
  };
  auto qdrant_client =
      [](const service::SourceConfig& src) -> Result<std::unique_ptr<qdrant::QdrantClient>> {
    qdrant::QdrantClientOptions o;
    o.url = src.url;
    o.api_key = src.api_key;
    o.max_attempts = 2;
    o.connect_timeout_seconds = 5;
    o.request_timeout_seconds = 10;
    return qdrant::QdrantClient::Create(o);
  };
  auto backup_work = [](const service::SourceConfig src, std::string collection, std::string who) {
    return [src, collection, who](const service::Config& c, service::OpContext& ctx) {
      const service::SourceConfig* now = c.FindSource(src.name);
      return service::BackupSource(c, now != nullptr ? *now : src, collection, who, &ctx);
    };
  };

  // ------------------------------------------------------------ open + metrics
  s.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200, {{"status", "healthy"}, {"service", "vecsafe"}, {"timestamp", IsoNow()}});
  });

  s.Get("/metrics", guard(Role::kReadOnly,
                          [d](const httplib::Request&, httplib::Response& res, const Principal&) {
                            service::MetricsSnapshot m;
                            m.sources = d->stats().Sources();
                            m.ops_queued = d->operations().queued();
                            m.ops_running = d->operations().running();
                            m.alerts_sent = d->alerts().sent();
                            m.alerts_failed = d->alerts().failed();
                            m.alerts_suppressed = d->alerts().suppressed();
                            res.set_content(service::RenderMetrics(*d->config(), m),
                                            "text/plain; version=0.0.4; charset=utf-8");
                          }));

  // ---------------------------------------------------- old Qdrant service routes
  s.Get("/status", guard(Role::kReadOnly,
                         [=](const httplib::Request&, httplib::Response& res, const Principal&) {
                           const auto q = first_source(service::SourceType::kQdrant);
                           if (!q) {
                             SendJson(res, 503,
                                      {{"qdrant_status", "disconnected"},
                                       {"error", "no qdrant source is configured"},
                                       {"timestamp", IsoNow()}});
                             return;
                           }
                           auto client = qdrant_client(*q);
                           Result<qdrant::ServerInfo> info =
                               client.ok() ? (*client)->GetServerInfo()
                                           : Result<qdrant::ServerInfo>(client.status());
                           std::string bucket;
                           for (const auto& r : d->config()->repositories) {
                             if (r.name == q->repository && r.url.rfind("gs://", 0) == 0) {
                               bucket = r.url.substr(5, r.url.find('/', 5) == std::string::npos
                                                            ? std::string::npos
                                                            : r.url.find('/', 5) - 5);
                             }
                           }
                           if (!info.ok()) {
                             SendJson(res, 503,
                                      {{"qdrant_status", "disconnected"},
                                       {"error", info.status().message()},
                                       {"timestamp", IsoNow()}});
                             return;
                           }
                           SendJson(res, 200,
                                    {{"qdrant_status", "connected"},
                                     {"qdrant_url", q->url},
                                     {"qdrant_version", info->version},
                                     {"gcs_bucket", bucket},
                                     {"timestamp", IsoNow()}});
                         }));

  s.Get(
      "/collections", guard(Role::kReadOnly, [=](const httplib::Request&, httplib::Response& res,
                                                 const Principal&) {
        const auto q = first_source(service::SourceType::kQdrant);
        if (!q) {
          SendJson(res, 500, {{"success", false}, {"error", "no qdrant source is configured"}});
          return;
        }
        auto client = qdrant_client(*q);
        auto names = client.ok() ? (*client)->ListCollections()
                                 : Result<std::vector<std::string>>(client.status());
        if (!names.ok()) {
          SendJson(res, 500, {{"success", false}, {"error", names.status().message()}});
          return;
        }
        SendJson(res, 200, {{"success", true}, {"collections", *names}, {"count", names->size()}});
      }));

  s.Post(
      "/backup", guard(Role::kOperator, [=](const httplib::Request& req, httplib::Response& res,
                                            const Principal& p) {
        const std::string start = IsoNow();
        const auto t0 = std::chrono::steady_clock::now();
        json body = json::object();
        if (!req.body.empty()) {
          body = json::parse(req.body, nullptr, false);
          if (body.is_discarded() || !body.is_object())
            body = json::object();  // old: get_json() or {}
        }
        const std::string collection = OptString(body, "collection");
        const auto q = first_source(service::SourceType::kQdrant);
        if (!q) {
          SendJson(res, 500,
                   {{"success", false},
                    {"error", "no qdrant source is configured"},
                    {"timestamp", IsoNow()}});
          return;
        }
        auto id =
            d->SubmitWork("backup", q->name, actor(p), "source:" + q->name,
                          {{"collection", collection}}, backup_work(*q, collection, actor(p)));
        if (!id.ok()) {
          SendJson(res, 500,
                   {{"success", false}, {"error", id.status().message()}, {"timestamp", IsoNow()}});
          return;
        }
        auto info = wait_op(*id);
        const bool ok = info && info->state == service::OpState::kSucceeded;
        const std::string err = info && !ok ? info->error : "";
        const std::string snap = info ? info->result.value("snapshot_id", "") : "";
        const std::string repo_url = d->config()->FindRepository(q->repository)
                                         ? d->config()->FindRepository(q->repository)->url
                                         : "";
        if (!collection.empty()) {
          // A collection Qdrant does not have is the caller's mistake: 404, same body.
          const bool missing = info && info->error_code == static_cast<int>(ErrorCode::kNotFound);
          SendJson(res,
                   ok        ? 200
                   : missing ? 404
                             : 500,
                   {{"collection", collection},
                    {"success", ok},
                    {"snapshot_name", snap},
                    {"gcs_path", ok ? json(repo_url) : json(nullptr)},
                    {"error", ok ? json(nullptr) : json(err)},
                    {"operation_id", *id}});
          return;
        }
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        // One entry per collection from the backup's own report (`backup qdrant --json`).
        json collections = json::array();
        size_t total = 0, succeeded = 0;
        const json details = info ? info->result.value("details", json::object()) : json();
        for (const json& c :
             details.is_object() ? details.value("collections", json::array()) : json::array()) {
          if (!c.is_object()) continue;
          const bool c_ok = c.value("ok", false);
          ++total;
          succeeded += c_ok ? 1 : 0;
          std::string c_err;
          if (!c_ok) {
            c_err = c.contains("error") && c["error"].is_object() ? c["error"].value("message", "")
                                                                  : err;
          }
          collections.push_back(
              {{"collection", c.value("collection", "")},
               {"success", c_ok},
               {"snapshot_name", c_ok ? json(c.value("snapshot", "")) : json(nullptr)},
               {"gcs_path", c_ok ? json(repo_url) : json(nullptr)},
               {"error", c_ok ? json(nullptr) : json(c_err)}});
        }
        json out = {{"success", ok},
                    {"message", "Backup finished: " + std::to_string(succeeded) + "/" +
                                    std::to_string(total) + " succeeded"},
                    {"total_collections", total},
                    {"success_count", succeeded},
                    {"failed_count", total - succeeded},
                    {"collections", collections},
                    {"start_time", start},
                    {"end_time", IsoNow()},
                    {"duration_seconds", secs},
                    {"operation_id", *id}};
        if (!ok) out["error"] = err;
        SendJson(res, ok ? 200 : 500, out);
      }));

  // ------------------------------------------------ old Chroma /api/robust routes
  auto detail = [](httplib::Response& res, int status, const std::string& msg) {
    SendJson(res, status, {{"detail", msg}});
  };
  // Work that could not be queued: 409 while the same source or repository is
  // busy (one operation at a time per target), else the route's failure status.
  auto submit_failed = [detail](httplib::Response& res, const Status& st, int otherwise) {
    detail(res, st.code() == ErrorCode::kLocked ? 409 : otherwise, st.message());
  };
  s.Get("/api/robust/health", guard(Role::kReadOnly, [=](const httplib::Request&,
                                                         httplib::Response& res, const Principal&) {
          auto cfg = d->config();
          const auto stats = d->stats().Sources();
          const auto c = first_source(service::SourceType::kChroma);
          json data = {{"timestamp", IsoNow()}};
          std::string status = "healthy";
          json consistency = {{"orphaned_vectors", json::array()},
                              {"missing_vectors", json::array()},
                              {"checked", false}};
          if (c) {
            json last = d->LastCheck(c->name);
            if (!last.is_null()) {
              consistency["checked"] = true;
              consistency["last_check"] = IsoMs(last.value("time_ms", int64_t{0}));
              const json& rep = last["report"];
              if (rep.contains("check") && rep["check"].contains("findings") &&
                  rep["check"]["findings"].is_array()) {
                for (const auto& f : rep["check"]["findings"]) {
                  std::string code = f.is_object() ? f.value("code", "") : "";
                  for (char& ch : code)
                    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                  if (code.find("orphan") != std::string::npos) {
                    consistency["orphaned_vectors"].push_back(f);
                  } else if (code.find("missing") != std::string::npos) {
                    consistency["missing_vectors"].push_back(f);
                  }
                }
                if (!rep["check"]["findings"].empty()) status = "warning";
              }
            }
            auto it = stats.find(c->name);
            if (it != stats.end() && it->second.consistency == 2) status = "critical";
            if (auto du = service::MeasureDisk(c->path)) {
              data["disk_usage"] = {{"total_gb", double(du->total_bytes) / 1e9},
                                    {"used_gb", double(du->used_bytes) / 1e9},
                                    {"free_gb", double(du->free_bytes) / 1e9},
                                    {"usage_percent", du->used_ratio() * 100.0}};
            }
            data["chroma_data_path"] = c->path;
          }
          data["status"] = status;
          data["consistency"] = consistency;
          SendJson(res, 200, {{"success", true}, {"data", data}});
        }));

  s.Post("/api/robust/backup",
         guard(Role::kOperator,
               [=](const httplib::Request& req, httplib::Response& res, const Principal& p) {
                 auto body = Body(req);
                 if (!body.ok() || !ExpectStringOrAbsent(*body, "collection_name").ok()) {
                   detail(res, 422, "collection_name must be a string or null");
                   return;
                 }
                 const auto c = first_source(service::SourceType::kChroma);
                 if (!c) {
                   detail(res, 500, "no chroma source is configured");
                   return;
                 }
                 const std::string coll = OptString(*body, "collection_name");
                 auto id = d->SubmitWork("backup", c->name, actor(p), "source:" + c->name,
                                         {{"collection", coll}}, backup_work(*c, coll, actor(p)));
                 if (!id.ok()) {
                   // 409 while a backup of the source is queued or running.
                   submit_failed(res, id.status(), 500);
                   return;
                 }
                 SendJson(res, 200,
                          {{"success", true},
                           {"message", "Backup task started; it runs in the background"},
                           {"operation_id", *id}});
               }));

  // The snapshot list of a repository costs a child process (open the
  // repository, read every manifest): it is kept for up to 10 s, and only
  // while no operation (backup, forget, restore, ...) finished in between.
  struct ListCache {
    std::mutex mu;
    struct Entry {
      std::chrono::steady_clock::time_point at;
      uint64_t generation = 0;
      json list;
    };
    std::map<std::string, Entry> by_url;
  };
  auto cache = std::make_shared<ListCache>();
  auto list_backups = [d, resolve_repo, cache](const std::string& repo_name,
                                               const std::string& who) -> Result<json> {
    VS_ASSIGN_OR_RETURN(const service::RepositoryConfig repo, resolve_repo(repo_name));
    const uint64_t generation = d->operations().finished_count();
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(cache->mu);
      auto it = cache->by_url.find(repo.url);
      if (it != cache->by_url.end() && it->second.generation == generation &&
          now - it->second.at < std::chrono::seconds(10)) {
        return it->second.list;
      }
    }
    service::JobOutcome out =
        service::RunVerb(*d->config(), &repo, nullptr, {"snapshots"}, who, nullptr, 120);
    if (!out.status.ok()) return out.status;
    json list = out.details;
    if (list.is_object() && list.contains("snapshots")) list = list["snapshots"];
    if (!list.is_array()) list = json::array();
    std::lock_guard lock(cache->mu);
    cache->by_url[repo.url] = {now, generation, list};
    return list;
  };

  s.Get("/api/robust/backups",
        guard(Role::kReadOnly,
              [=](const httplib::Request&, httplib::Response& res, const Principal& p) {
                auto list = list_backups("", actor(p));
                if (!list.ok()) {
                  detail(res, 500, list.status().message());
                  return;
                }
                json data = json::array();
                for (const auto& snap : *list) {
                  if (!snap.is_object()) continue;
                  const std::string id = snap.value("id", snap.value("snapshot_id", ""));
                  json row = {{"backup_id", id},
                              {"timestamp", snap.value("time", snap.value("timestamp", ""))}};
                  const json* size = nullptr;
                  for (const char* k : {"total_bytes", "size", "bytes"}) {
                    if (snap.contains(k) && snap[k].is_number()) size = &snap[k];
                  }
                  if (snap.contains("stats") && snap["stats"].is_object()) {
                    for (const char* k : {"bytes_total", "total_bytes", "bytes_read", "size"}) {
                      if (snap["stats"].contains(k) && snap["stats"][k].is_number()) {
                        size = &snap["stats"][k];
                        break;
                      }
                    }
                  }
                  row["size_mb"] = size != nullptr ? size->get<double>() / (1024.0 * 1024.0) : 0.0;
                  // Per-collection snapshots name their collection in the source identity.
                  std::string coll = snap.value("collection", "");
                  if (coll.empty() && snap.contains("source") && snap["source"].is_object()) {
                    const json& src = snap["source"];
                    if (src.contains("collection") && src["collection"].is_string()) {
                      coll = src["collection"].get<std::string>();
                    }
                  }
                  row["collection_name"] = coll.empty() ? json(nullptr) : json(coll);
                  row["tags"] = snap.contains("tags") ? snap["tags"] : json::array();
                  data.push_back(row);
                }
                SendJson(res, 200, {{"success", true}, {"data", data}});
              }));

  s.Post(
      "/api/robust/restore", guard(Role::kAdmin, [=](const httplib::Request& req,
                                                     httplib::Response& res, const Principal& p) {
        auto body = Body(req);
        if (!body.ok() || OptString(*body, "backup_id").empty()) {
          detail(res, 422, "backup_id (a string) is required");
          return;
        }
        const auto c = first_source(service::SourceType::kChroma);
        if (!c) {
          detail(res, 400, "no chroma source is configured");
          return;
        }
        const std::string snap = OptString(*body, "backup_id");
        const service::SourceConfig src = *c;
        auto id = d->SubmitWork(
            "restore", snap, actor(p), "source:" + c->name, {{"backup_id", snap}},
            [src, snap, who = actor(p)](const service::Config& cfg, service::OpContext& ctx) {
              return service::RunVerb(cfg, cfg.FindRepository(src.repository), &src,
                                      {"restore", snap, "--to", src.path, "--in-place"}, who, &ctx);
            });
        if (!id.ok()) {
          submit_failed(res, id.status(), 400);
          return;
        }
        auto info = wait_op(*id);
        if (info && info->state == service::OpState::kSucceeded) {
          SendJson(res, 200, {{"success", true}, {"message", "Restored from backup " + snap}});
        } else {
          detail(res, 400, info ? info->error : "restore failed");
        }
      }));

  s.Post(
      "/api/robust/cleanup-backups",
      guard(Role::kOperator, [=](const httplib::Request&, httplib::Response& res,
                                 const Principal& p) {
        auto cfg = d->config();
        if (cfg->repositories.empty()) {
          detail(res, 500, "no repository is configured");
          return;
        }
        const service::RepositoryConfig repo = cfg->repositories.front();
        auto id = d->SubmitWork(
            "retention", repo.name, actor(p), "repo:" + repo.name, {},
            [repo, who = actor(p)](const service::Config& c, service::OpContext& ctx) {
              const service::RepositoryConfig* r = c.FindRepository(repo.name);
              return service::ApplyRetention(c, r ? *r : repo, who, &ctx);
            });
        if (!id.ok()) {
          submit_failed(res, id.status(), 500);
          return;
        }
        SendJson(
            res, 200,
            {{"success", true}, {"message", "Backup cleanup task started"}, {"operation_id", *id}});
      }));

  s.Get("/api/robust/scan-recovery",
        guard(Role::kOperator, [=](const httplib::Request&, httplib::Response& res,
                                   const Principal& p) {
          const auto c = first_source(service::SourceType::kChroma);
          if (!c) {
            detail(res, 500, "no chroma source is configured");
            return;
          }
          auto cfg = d->config();
          service::JobOutcome out = service::RunVerb(
              *cfg, nullptr, &*c, {"recover", "chroma", c->path, "--plan"}, actor(p), nullptr, 600);
          if (!out.status.ok()) {
            detail(res, 500, out.status.message());
            return;
          }
          json plan = out.details;
          // `recover chroma --plan` answers {"vecsafe_recovery_plan", "items": [...]}.
          json items = plan.is_object() && plan.contains("items") && plan["items"].is_array()
                           ? plan["items"]
                           : json::array();
          SendJson(res, 200,
                   {{"success", true},
                    {"data",
                     {{"success", true},
                      {"orphaned_collections", items},
                      {"recovery_plan", items},
                      {"plan", plan}}}});
        }));

  s.Post(
      "/api/robust/execute-recovery",
      guard(Role::kAdmin, [=](const httplib::Request& req, httplib::Response& res,
                              const Principal& p) {
        auto body = Body(req);
        if (!body.ok() || !body->contains("recovery_plan") ||
            !(*body)["recovery_plan"].is_array()) {
          detail(res, 422, "recovery_plan (an array) is required");
          return;
        }
        const auto c = first_source(service::SourceType::kChroma);
        if (!c) {
          detail(res, 500, "no chroma source is configured");
          return;
        }
        const json plan = (*body)["recovery_plan"];
        const service::SourceConfig src = *c;
        auto id = d->SubmitWork(
            "recovery.execute", src.name, actor(p), "source:" + src.name,
            {{"collections", plan.size()}},
            [src, plan, who = actor(p)](const service::Config& cfg, service::OpContext& ctx) {
              auto file = WritePlanFile(cfg, plan, src.path);
              if (!file.ok()) {
                return service::JobOutcome{file.status(), 0, 0, "", json::object()};
              }
              std::vector<std::string> args = {"recover", "chroma", src.path, "--execute", *file};
              if (!src.server_url.empty()) args.insert(args.end(), {"--server", src.server_url});
              return service::RunVerb(cfg, nullptr, &src, args, who, &ctx);
            });
        if (!id.ok()) {
          submit_failed(res, id.status(), 500);
          return;
        }
        SendJson(res, 200,
                 {{"success", true},
                  {"message", "Recovery task started; it will recover " +
                                  std::to_string(plan.size()) + " collections"},
                  {"operation_id", *id}});
      }));

  s.Get("/api/robust/config", guard(Role::kReadOnly, [=](const httplib::Request&,
                                                         httplib::Response& res, const Principal&) {
          auto cfg = d->config();
          json data = cfg->legacy;
          const auto c = first_source(service::SourceType::kChroma);
          if (!data.contains("chroma_data_path") && c) data["chroma_data_path"] = c->path;
          if (!data.contains("backup_root_path") && !cfg->repositories.empty()) {
            data["backup_root_path"] = cfg->repositories.front().url;
          }
          SendJson(res, 200, {{"success", true}, {"data", data}});
        }));

  s.Put("/api/robust/config", guard(Role::kAdmin, [=](const httplib::Request& req,
                                                      httplib::Response& res, const Principal& p) {
          auto body = Body(req);
          if (!body.ok() || !body->contains("config_updates") ||
              !(*body)["config_updates"].is_object()) {
            detail(res, 422, "config_updates (an object) is required");
            return;
          }
          std::vector<service::ConfigError> errors;
          auto doc = service::ApplyLegacyUpdates(d->config()->document, (*body)["config_updates"],
                                                 &errors);
          if (doc.ok()) errors = d->ApplyConfig(*doc, actor(p), "PUT /api/robust/config", true);
          if (!errors.empty()) {
            json list = json::array();
            for (const auto& e : errors) list.push_back(e.ToJson());
            SendJson(res, 400, {{"detail", "Configuration update failed"}, {"errors", list}});
            return;
          }
          SendJson(res, 200, {{"success", true}, {"message", "Configuration updated"}});
        }));

  s.Post(R"(/api/robust/config/template/([^/]+))",
         guard(Role::kAdmin,
               [=](const httplib::Request& req, httplib::Response& res, const Principal& p) {
                 const std::string name = req.matches[1];
                 auto keys = service::TemplateLegacyKeys(name);
                 if (!keys) {
                   detail(res, 400, "Unknown config template: " + name);
                   return;
                 }
                 std::vector<service::ConfigError> errors;
                 auto doc = service::ApplyLegacyUpdates(d->config()->document, *keys, &errors);
                 if (doc.ok()) {
                   errors = d->ApplyConfig(*doc, actor(p), "template " + name, true);
                 }
                 if (!errors.empty()) {
                   detail(res, 400, service::ErrorsToStatus(errors, "template " + name).message());
                   return;
                 }
                 SendJson(res, 200,
                          {{"success", true}, {"message", "Config template " + name + " applied"}});
               }));

  // ------------------------------------------------------------------- /api/v1
  s.Get("/api/v1/sources", guard(Role::kReadOnly, [d](const httplib::Request&,
                                                      httplib::Response& res, const Principal&) {
          auto cfg = d->config();
          const auto stats = d->stats().Sources();
          json out = json::array();
          for (const auto& src : cfg->sources) {
            json j = {{"name", src.name},
                      {"type", service::ToString(src.type)},
                      {"repository", src.repository}};
            if (src.type == service::SourceType::kQdrant) {
              j["url"] = src.url;
            } else {
              j["path"] = src.path;
            }
            auto it = stats.find(src.name);
            if (it != stats.end()) {
              j["last_successful_backup_ms"] = it->second.last_success_ms;
              j["consecutive_failures"] = it->second.consecutive_failures;
              j["consistency"] = it->second.consistency;
              j["orphans"] = it->second.orphans;
            }
            out.push_back(j);
          }
          SendJson(res, 200, {{"sources", out}});
        }));

  s.Get(R"(/api/v1/sources/([^/]+)/collections)",
        guard(Role::kReadOnly, [=](const httplib::Request& req, httplib::Response& res,
                                   const Principal&) {
          auto cfg = d->config();
          const service::SourceConfig* src = cfg->FindSource(req.matches[1].str());
          if (src == nullptr) {
            SendError(res, NotFound("no source \"" + req.matches[1].str() + "\""));
            return;
          }
          if (src->type != service::SourceType::kQdrant) {
            SendError(res, Unimplemented("listing collections is available for qdrant sources",
                                         "Use `vecsafe check chroma PATH --json` for Chroma."));
            return;
          }
          auto client = qdrant_client(*src);
          auto names = client.ok() ? (*client)->ListCollections()
                                   : Result<std::vector<std::string>>(client.status());
          if (!names.ok()) {
            SendError(res, names.status());
            return;
          }
          SendJson(res, 200, {{"source", src->name}, {"collections", *names}});
        }));

  s.Get("/api/v1/backups", guard(Role::kReadOnly, [=](const httplib::Request& req,
                                                      httplib::Response& res, const Principal& p) {
          auto list = list_backups(req.get_param_value("repository"), actor(p));
          if (!list.ok()) {
            SendError(res, list.status());
            return;
          }
          SendJson(res, 200, {{"backups", *list}});
        }));

  s.Post("/api/v1/backups",
         guard_body(Role::kOperator, [=](const httplib::Request&, httplib::Response& res,
                                         const Principal& p, const json& body) {
           for (const char* k : {"source", "collection"}) {
             if (Status st = ExpectStringOrAbsent(body, k); !st.ok()) return SendError(res, st);
           }
           auto src = resolve_source(OptString(body, "source"), /*chroma_only=*/false);
           if (!src.ok()) return SendError(res, src.status());
           const std::string coll = OptString(body, "collection");
           if (!coll.empty() && src->type == service::SourceType::kDir) {
             return SendError(res, InvalidArgument("a dir source has no collections",
                                                   "Leave out \"collection\"."));
           }
           accepted(res, d->SubmitWork("backup", src->name, actor(p), "source:" + src->name,
                                       {{"collection", coll}}, backup_work(*src, coll, actor(p))));
         }));

  auto snapshot_op = [=](const char* kind, Role role) {
    return guard_body(role, [=](const httplib::Request& req, httplib::Response& res,
                                const Principal& p, const json& body) {
      const std::string snap = req.matches[1];
      const std::string k = kind;
      auto repo = resolve_repo(req.has_param("repository") ? req.get_param_value("repository")
                                                           : OptString(body, "repository"));
      if (!repo.ok()) return SendError(res, repo.status());
      std::vector<std::string> args;
      if (k == "backup.delete") {
        // Removes the manifest; the retention job's prune frees the data.
        args = {"forget", snap};
      } else if (k == "backup.verify") {
        // `verify` checks the whole repository, this snapshot included.
        args = {"verify"};
        if (body.value("read_data", false)) args.push_back("--read-data");
      } else {
        args = {"restore", snap};
        const std::string to = OptString(body, "to"), to_q = OptString(body, "to_qdrant"),
                          to_c = OptString(body, "to_chroma");
        if (!to.empty()) {
          args.insert(args.end(), {"--to", to});
        } else if (!to_q.empty()) {
          args.insert(args.end(), {"--to-qdrant", to_q});
        } else if (!to_c.empty()) {
          args.insert(args.end(), {"--to-chroma", to_c});
        } else {
          return SendError(res, InvalidArgument("say where to restore: \"to\", \"to_qdrant\" "
                                                "or \"to_chroma\""));
        }
        if (!OptString(body, "collection").empty()) {
          if (to_q.empty()) {
            return SendError(res, InvalidArgument("\"collection\" goes with \"to_qdrant\"",
                                                  "A Chroma collection snapshot holds one "
                                                  "collection: restore it with \"to_chroma\"."));
          }
          args.insert(args.end(), {"--collection", OptString(body, "collection")});
        }
        if (!OptString(body, "as").empty())
          args.insert(args.end(), {"--as", OptString(body, "as")});
      }
      const service::RepositoryConfig r = *repo;
      const bool check_exists = k == "backup.verify";
      accepted(res, d->SubmitWork(
                        kind, snap, actor(p), k == "backup.delete" ? "repo:" + r.name : "", body,
                        [r, args, snap, check_exists, who = actor(p)](const service::Config& c,
                                                                      service::OpContext& ctx) {
                          if (check_exists) {
                            // `verify` takes no snapshot: make sure this one exists.
                            service::JobOutcome list =
                                service::RunVerb(c, &r, nullptr, {"snapshots"}, who, &ctx);
                            if (!list.status.ok()) return list;
                            bool found = false;
                            for (const json& m : list.details.value("snapshots", json::array())) {
                              found = found || m.value("id", "").rfind(snap, 0) == 0;
                            }
                            if (!found) {
                              return service::JobOutcome{
                                  NotFound("no snapshot " + snap + " in repository " + r.name,
                                           "GET /api/v1/backups lists the snapshots."),
                                  0, 0, "", json::object()};
                            }
                          }
                          return service::RunVerb(c, &r, nullptr, args, who, &ctx);
                        }));
    });
  };
  s.Delete(R"(/api/v1/backups/([A-Za-z0-9_.:-]+))", snapshot_op("backup.delete", Role::kAdmin));
  s.Post(R"(/api/v1/backups/([A-Za-z0-9_.:-]+)/verify)",
         snapshot_op("backup.verify", Role::kOperator));
  s.Post(R"(/api/v1/backups/([A-Za-z0-9_.:-]+)/restore)",
         snapshot_op("backup.restore", Role::kAdmin));

  s.Get("/api/v1/jobs", guard(Role::kReadOnly, [d](const httplib::Request&, httplib::Response& res,
                                                   const Principal&) {
          json out = json::array();
          for (const auto& j : d->scheduler().Jobs()) out.push_back(j.ToJson());
          SendJson(res, 200, {{"jobs", out}});
        }));
  s.Post(R"(/api/v1/jobs/([^/]+)/run)",
         guard(Role::kOperator,
               [=](const httplib::Request& req, httplib::Response& res, const Principal& p) {
                 accepted(res, d->scheduler().RunNow(req.matches[1].str(), actor(p)));
               }));
  auto history = [d](const httplib::Request& req, httplib::Response& res, const std::string& job) {
    const int limit = QueryInt(req, "limit", 100, 1, 10000);
    if (limit < 0) {
      SendError(res, InvalidArgument("limit must be an integer from 1 to 10000"));
      return;
    }
    auto runs = d->history().Runs(job, limit);
    if (!runs.ok()) {
      SendError(res, runs.status());
      return;
    }
    json out = json::array();
    for (const auto& r : *runs) out.push_back(r.ToJson());
    SendJson(res, 200, {{"runs", out}});
  };
  s.Get("/api/v1/jobs/history",
        guard(Role::kReadOnly, [=](const httplib::Request& req, httplib::Response& res,
                                   const Principal&) { history(req, res, ""); }));
  s.Get(R"(/api/v1/jobs/([^/]+)/history)",
        guard(Role::kReadOnly,
              [=](const httplib::Request& req, httplib::Response& res, const Principal&) {
                if (d->config()->FindSchedule(req.matches[1].str()) == nullptr) {
                  SendError(res, NotFound("no job \"" + req.matches[1].str() + "\""));
                  return;
                }
                history(req, res, req.matches[1].str());
              }));

  s.Post("/api/v1/checks",
         guard_body(Role::kOperator, [=](const httplib::Request&, httplib::Response& res,
                                         const Principal& p, const json& body) {
           auto src = resolve_source(OptString(body, "source"), /*chroma_only=*/true);
           if (!src.ok()) return SendError(res, src.status());
           const bool repair = body.value("repair", false);
           accepted(res, d->SubmitWork("check", src->name, actor(p), "check:" + src->name,
                                       {{"repair", repair}},
                                       [sc = *src, repair, who = actor(p)](
                                           const service::Config& c, service::OpContext& ctx) {
                                         return service::CheckSource(c, sc, repair, who, &ctx);
                                       }));
         }));
  s.Get("/api/v1/checks/findings",
        guard(Role::kReadOnly,
              [=](const httplib::Request& req, httplib::Response& res, const Principal&) {
                json out = json::object();
                for (const auto& src : d->config()->sources) {
                  if (src.type != service::SourceType::kChroma) continue;
                  if (req.has_param("source") && req.get_param_value("source") != src.name)
                    continue;
                  out[src.name] = d->LastCheck(src.name);
                }
                SendJson(res, 200, {{"findings", out}});
              }));

  auto chroma_op = [=](const char* kind, Role role) {
    return guard_body(role, [=](const httplib::Request&, httplib::Response& res, const Principal& p,
                                const json& body) {
      auto src = resolve_source(OptString(body, "source"), /*chroma_only=*/true);
      if (!src.ok()) return SendError(res, src.status());
      const std::string k = kind;
      if (k != "recovery.scan" && src->server_url.empty()) {
        // These go through Chroma's own API (`--server` of the verbs).
        return SendError(res, FailedPrecondition("source \"" + src->name +
                                                     "\" has no server_url: this needs the "
                                                     "running Chroma server",
                                                 "Set \"server_url\" on the source in the "
                                                 "config (http://HOST:PORT)."));
      }
      std::vector<std::string> args;
      json params = body;
      json plan;
      if (k == "recovery.scan") {
        args = {"recover", "chroma", src->path, "--plan"};
      } else if (k == "recovery.execute") {
        if (!body.contains("plan") || (!body["plan"].is_object() && !body["plan"].is_array())) {
          return SendError(res,
                           InvalidArgument("\"plan\" (the JSON plan from a scan) is required"));
        }
        plan = body["plan"];
        params = {{"source", src->name}};
      } else if (k == "collection.delete") {
        const std::string c = OptString(body, "collection");
        if (c.empty()) return SendError(res, InvalidArgument("\"collection\" is required"));
        args = {"collection", "delete", c, "--path", src->path};
        if (!src->server_url.empty()) args.insert(args.end(), {"--server", src->server_url});
      } else {  // rename
        const std::string from = OptString(body, "from"), to = OptString(body, "to");
        if (from.empty() || to.empty()) {
          return SendError(res, InvalidArgument("\"from\" and \"to\" are required"));
        }
        args = {"collection", "rename", from, to, "--path", src->path};
        if (!src->server_url.empty()) args.insert(args.end(), {"--server", src->server_url});
      }
      accepted(res, d->SubmitWork(
                        kind, src->name, actor(p), "source:" + src->name, params,
                        [sc = *src, args, plan, k, who = actor(p)](const service::Config& c,
                                                                   service::OpContext& ctx) {
                          std::vector<std::string> a = args;
                          if (k == "recovery.execute") {
                            auto file = WritePlanFile(c, plan, sc.path);
                            if (!file.ok()) {
                              return service::JobOutcome{file.status(), 0, 0, "", json::object()};
                            }
                            a = {"recover", "chroma", sc.path, "--execute", *file};
                            if (!sc.server_url.empty()) {
                              a.insert(a.end(), {"--server", sc.server_url});
                            }
                          }
                          return service::RunVerb(c, c.FindRepository(sc.repository), &sc, a, who,
                                                  &ctx);
                        }));
    });
  };
  s.Post("/api/v1/recovery/scan", chroma_op("recovery.scan", Role::kOperator));
  s.Post("/api/v1/recovery/execute", chroma_op("recovery.execute", Role::kAdmin));
  s.Post("/api/v1/collections/delete", chroma_op("collection.delete", Role::kAdmin));
  s.Post("/api/v1/collections/rename", chroma_op("collection.rename", Role::kAdmin));

  s.Get("/api/v1/journal", guard(Role::kReadOnly, [d](const httplib::Request& req,
                                                      httplib::Response& res, const Principal&) {
          ops::JournalQuery q;
          q.limit = QueryInt(req, "limit", 100, 1, 10000);
          if (q.limit < 0) {
            SendError(res, InvalidArgument("limit must be an integer from 1 to 10000"));
            return;
          }
          q.kind = req.get_param_value("kind");
          q.target = req.get_param_value("target");
          q.op_id = req.get_param_value("op_id");
          auto rows = d->journal().Query(q);
          if (!rows.ok()) {
            SendError(res, rows.status());
            return;
          }
          json out = json::array();
          for (const auto& e : *rows) out.push_back(e.ToJson());
          SendJson(res, 200, {{"entries", out}});
        }));

  s.Get("/api/v1/config", guard(Role::kReadOnly, [d](const httplib::Request&,
                                                     httplib::Response& res, const Principal&) {
          SendJson(res, 200, {{"config", d->config()->Redacted()}});
        }));
  s.Put("/api/v1/config",
        guard_body(Role::kAdmin, [d, actor](const httplib::Request&, httplib::Response& res,
                                            const Principal& p, const json& body) {
          const json doc = body.contains("config") ? body["config"] : body;
          auto errors = d->ApplyConfig(doc, actor(p), "PUT /api/v1/config", true);
          if (!errors.empty()) {
            json e = ErrorBody(service::ErrorsToStatus(errors, "the new config"));
            json list = json::array();
            for (const auto& er : errors) list.push_back(er.ToJson());
            e["error"]["fields"] = list;
            return SendJson(res, 400, e);
          }
          SendJson(res, 200, {{"applied", true}, {"config", d->config()->Redacted()}});
        }));
  s.Get(
      "/api/v1/config/templates",
      guard(Role::kReadOnly, [](const httplib::Request&, httplib::Response& res, const Principal&) {
        SendJson(res, 200, {{"templates", service::TemplateNames()}});
      }));
  s.Get(R"(/api/v1/config/templates/([^/]+))",
        guard(Role::kReadOnly,
              [](const httplib::Request& req, httplib::Response& res, const Principal&) {
                auto doc = service::TemplateDocument(req.matches[1].str());
                if (!doc) {
                  SendError(res, NotFound("no config template \"" + req.matches[1].str() + "\"",
                                          "Templates: production, development."));
                  return;
                }
                SendJson(res, 200, {{"name", req.matches[1].str()}, {"config", *doc}});
              }));

  s.Get("/api/v1/disk-usage", guard(Role::kReadOnly, [d](const httplib::Request&,
                                                         httplib::Response& res, const Principal&) {
          auto cfg = d->config();
          json out = json::array();
          auto add = [&](const std::string& name, const std::string& kind,
                         const std::string& path) {
            auto du = service::MeasureDisk(path);
            json j = {{"name", name}, {"kind", kind}, {"path", path}};
            if (du) {
              j["total_bytes"] = du->total_bytes;
              j["used_bytes"] = du->used_bytes;
              j["free_bytes"] = du->free_bytes;
              j["used_ratio"] = du->used_ratio();
            }
            if (kind == "backup") j["repository_bytes"] = service::FolderBytes(path);
            out.push_back(j);
          };
          for (const auto& src : cfg->sources) {
            if (!src.path.empty()) add(src.name, "data", src.path);
          }
          for (const auto& r : cfg->repositories) {
            if (r.url.find("://") == std::string::npos) add(r.name, "backup", r.url);
          }
          SendJson(res, 200, {{"paths", out}});
        }));

  s.Get("/api/v1/operations", guard(Role::kReadOnly, [d](const httplib::Request& req,
                                                         httplib::Response& res, const Principal&) {
          const int limit = QueryInt(req, "limit", 100, 1, 2000);
          if (limit < 0) {
            SendError(res, InvalidArgument("limit must be an integer from 1 to 2000"));
            return;
          }
          json out = json::array();
          for (const auto& o : d->operations().List(static_cast<size_t>(limit)))
            out.push_back(o.ToJson());
          SendJson(res, 200, {{"operations", out}});
        }));
  s.Get(R"(/api/v1/operations/([^/]+))",
        guard(Role::kReadOnly,
              [d](const httplib::Request& req, httplib::Response& res, const Principal&) {
                auto info = d->operations().Get(req.matches[1].str());
                if (!info) {
                  SendError(res, NotFound("no operation " + req.matches[1].str(),
                                          "GET /api/v1/operations lists recent operations."));
                  return;
                }
                SendJson(res, 200, info->ToJson());
              }));
  s.Delete(R"(/api/v1/operations/([^/]+))",
           guard(Role::kOperator, [d, actor](const httplib::Request& req, httplib::Response& res,
                                             const Principal& p) {
             const std::string id = req.matches[1].str();
             Status st = d->operations().Cancel(id);
             if (!st.ok()) {
               SendError(res, st);
               return;
             }
             ops::JournalEntry e;
             e.actor = actor(p);
             e.kind = "operation.cancel";
             e.target = id;
             e.op_id = id;
             e.result = "ok";
             d->journal().Append(e).status().IgnoreError();
             SendJson(res, 202, d->operations().Get(id)->ToJson());
           }));

  s.Post("/api/v1/alerts/test",
         guard(Role::kOperator,
               [d](const httplib::Request&, httplib::Response& res, const Principal& p) {
                 auto cfg = d->config();
                 if (cfg->alerts.webhooks.empty()) {
                   SendError(res, FailedPrecondition("no webhook is configured",
                                                     "Add alerts.webhooks to the config."));
                   return;
                 }
                 auto results = d->alerts().Raise(cfg->alerts,
                                                  {"test:" + p.name,
                                                   "test",
                                                   "info",
                                                   "vecsafe test alert",
                                                   "A test alert sent by token \"" + p.name + "\".",
                                                   {{"token", p.name}}},
                                                  /*force=*/true);
                 json out = json::array();
                 bool all_ok = true;
                 for (const auto& r : results) {
                   all_ok = all_ok && r.ok;
                   out.push_back({{"webhook", r.webhook},
                                  {"ok", r.ok},
                                  {"http_status", r.http_status},
                                  {"error", r.error}});
                 }
                 SendJson(res, 200, {{"delivered", all_ok}, {"results", out}});
               }));
}

}  // namespace vecsafe::http
