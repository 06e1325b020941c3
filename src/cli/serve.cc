// `vecsafe serve --config FILE [--listen HOST:PORT] [--env-file .env]`.
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "cli/daemon_verbs.h"
#include "service/daemon.h"

namespace vecsafe::cli {

void AddServeCommand(CLI::App& app, int* exit_status) {
  auto opts = std::make_shared<service::DaemonOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Run the daemon: schedules, REST API, metrics and alerts (docs/daemon.md)");
  cmd->add_option("-c,--config", opts->config_file, "Config file (JSON, docs/config.md)");
  cmd->add_option("--listen", opts->listen_override,
                  "HOST:PORT to listen on (default: the config's, else 127.0.0.1:8080)");
  cmd->add_option("--env-file", opts->env_file, ".env file (QDRANT_*, GCS_*, BACKUP_LOCAL_PATH)");
  cmd->add_option("--state-dir", opts->state_dir_override,
                  "State folder (journal, job history); default: the config's");
  // For tests only: run the daemon's clock N times faster than real time.
  cmd->add_option("--test-clock-scale", opts->test_clock_scale)->group("");
  cmd->callback([opts, exit_status] {
    service::Daemon::BlockSignals();
    auto daemon = service::Daemon::Create(*opts);
    if (!daemon.ok()) {
      std::cerr << "vecsafe: " << daemon.status().ToString() << "\n";
      *exit_status = daemon.status().exit_status();
      return;
    }
    Status st = (*daemon)->Run();
    if (!st.ok()) {
      std::cerr << "vecsafe: " << st.ToString() << "\n";
      *exit_status = st.exit_status();
    }
  });
}

}  // namespace vecsafe::cli
