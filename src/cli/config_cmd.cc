// `vecsafe config validate FILE [--env-file F] [--json]` and
// `vecsafe config template NAME`.
#include <iostream>
#include <memory>
#include <string>

#include "cli/daemon_verbs.h"
#include "service/config.h"

namespace vecsafe::cli {
namespace {

struct ConfigOptions {
  std::string file;
  std::string env_file;
  bool json = false;
  std::string template_name;
};

int RunValidate(const ConfigOptions& o) {
  service::EnvMap env;
  if (!o.env_file.empty()) {
    auto dot = service::LoadDotEnv(o.env_file);
    if (!dot.ok()) {
      std::cerr << "vecsafe: " << dot.status().ToString() << "\n";
      return dot.status().exit_status();
    }
    env = *dot;
  }
  for (auto& [k, v] : service::ProcessEnvironment()) env[k] = v;
  const service::ConfigLoad load = service::LoadConfigFile(o.file, env);
  if (o.json) {
    nlohmann::json out = {{"valid", load.errors.empty()}, {"errors", nlohmann::json::array()}};
    for (const auto& e : load.errors) out["errors"].push_back(e.ToJson());
    if (load.config) {
      out["sources"] = load.config->sources.size();
      out["repositories"] = load.config->repositories.size();
      out["schedules"] = load.config->schedules.size();
    }
    std::cout << out.dump(2) << "\n";
  } else if (load.errors.empty()) {
    std::cout << o.file << ": valid (" << load.config->sources.size() << " sources, "
              << load.config->repositories.size() << " repositories, "
              << load.config->schedules.size() << " schedules)\n";
  } else {
    std::cerr << "vecsafe: " << service::ErrorsToStatus(load.errors, o.file).ToString() << "\n";
  }
  return load.errors.empty() ? 0 : GetErrorInfo(ErrorCode::kInvalidArgument).exit_status;
}

int RunTemplate(const ConfigOptions& o) {
  auto doc = service::TemplateDocument(o.template_name);
  if (!doc) {
    std::string names;
    for (const auto& n : service::TemplateNames()) names += (names.empty() ? "" : ", ") + n;
    std::cerr << "vecsafe: "
              << InvalidArgument("unknown config template \"" + o.template_name + "\"",
                                 "Templates: " + names + ".")
                     .ToString()
              << "\n";
    return GetErrorInfo(ErrorCode::kInvalidArgument).exit_status;
  }
  std::cout << doc->dump(2) << "\n";
  return 0;
}

}  // namespace

void AddConfigCommand(CLI::App& app, int* exit_status) {
  CLI::App* config = app.add_subcommand("config", "Daemon configuration: validate, templates");
  config->require_subcommand(1);
  auto opts = std::make_shared<ConfigOptions>();
  CLI::App* validate = config->add_subcommand("validate", "Check a config file; list every error");
  validate->add_option("FILE", opts->file, "Config file (JSON)")->required();
  validate->add_option("--env-file", opts->env_file, ".env file with QDRANT_* / GCS_* variables");
  validate->add_flag("--json", opts->json, "Print JSON");
  validate->callback([opts, exit_status] { *exit_status = RunValidate(*opts); });
  CLI::App* tmpl = config->add_subcommand("template", "Print a config template");
  tmpl->add_option("NAME", opts->template_name, "production or development")->required();
  tmpl->callback([opts, exit_status] { *exit_status = RunTemplate(*opts); });
}

}  // namespace vecsafe::cli
