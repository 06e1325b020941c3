// A cpp-httplib server on 127.0.0.1 for the unit tests that need a real HTTP
// peer (fake GCS, S3 signing checks, a fake Qdrant): set routes on server(),
// Start() binds a free port and serves on its own thread, the destructor
// stops it. Declare it after any member its handlers use, so that it is
// destroyed (and stops serving) first.
#pragma once

#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

namespace vecsafe::testing {

class LoopbackServer {
 public:
  LoopbackServer() = default;
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;
  ~LoopbackServer() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  httplib::Server& server() { return server_; }

  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace vecsafe::testing
