// The daemon's HTTP API (cpp-httplib): /api/v1/... (docs/openapi.yaml), the
// routes of the deployments vecsafe replaces (/health, /status, /collections,
// POST /backup, /api/robust/...), and /metrics.
//
// Every route but GET /health needs a bearer token; the role needed depends on
// the route (read-only for reads, operator for backups/checks/jobs, admin for
// restores, deletes, recovery and config). Errors are JSON:
//   {"error": {"code": "VS-4", "name": "kPermissionDenied", "message": ..., "hint": ...}}
// (the old routes keep the old services' error shapes).
#ifndef VECSAFE_HTTP_API_SERVER_H_
#define VECSAFE_HTTP_API_SERVER_H_

#include <memory>
#include <string>

#include "vecsafe/status.h"

namespace httplib {
class Server;
}

namespace vecsafe::service {
class Daemon;
}

namespace vecsafe::http {

class ApiServer {
 public:
  explicit ApiServer(service::Daemon* daemon);
  ~ApiServer();
  // Binds the socket (port 0 picks a free one). Fails with kUnavailable when
  // the address is taken.
  Status Bind(const std::string& host, int port);
  int port() const { return port_; }
  void Serve();  // blocks until Stop()
  void Stop();

 private:
  static constexpr int kListenBacklog = 1024;
  void Routes();
  Status RaiseBacklog();
  service::Daemon* daemon_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  int listen_fd_ = -1;  // the listening socket, seen when httplib creates it
};

}  // namespace vecsafe::http

#endif  // VECSAFE_HTTP_API_SERVER_H_
