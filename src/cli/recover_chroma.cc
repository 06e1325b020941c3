// `vecsafe recover chroma PATH --plan [--out FILE]` and
// `vecsafe recover chroma PATH --execute PLAN --server URL`.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "cli/chroma_verbs.h"
#include "sources/chroma/chroma_model.h"
#include "sources/chroma/recover.h"

namespace vecsafe::cli {

void AddRecoverCommand(CLI::App& app, int* exit_status) {
  CLI::App* recover = app.add_subcommand("recover", "Recover lost collections");
  recover->require_subcommand(1);
  CLI::App* cmd = recover->add_subcommand(
      "chroma",
      "Find collections whose vector folders survived (--plan) and rebuild them in a "
      "running Chroma (--execute PLAN --server URL)");
  struct Args {
    std::string path, out, execute, server;
    bool plan = false, json = false;
    size_t batch = 500;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("path", a->path, "Chroma's persist folder")->required();
  cmd->add_flag("--plan", a->plan, "Write a recovery plan (read-only)");
  cmd->add_option("--out", a->out, "Write the plan to FILE instead of stdout");
  cmd->add_option("--execute", a->execute, "Execute the plan in FILE");
  cmd->add_option("--server", a->server, "Chroma server URL for --execute (http://HOST:PORT)");
  cmd->add_option("--batch", a->batch, "Records per add request (default 500)");
  cmd->add_flag("--json", a->json, "Print one JSON document");
  cmd->callback([a, exit_status] {
    if (a->plan == !a->execute.empty()) {
      *exit_status = ReportChromaError(
          InvalidArgument("give exactly one of --plan and --execute PLAN",
                          "First `--plan --out plan.json`, review it, then `--execute plan.json "
                          "--server URL`."),
          a->json);
      return;
    }
    if (a->plan) {
      auto plan = chroma::BuildRecoveryPlan(a->path);
      if (!plan.ok()) {
        *exit_status = ReportChromaError(plan.status(), a->json);
        return;
      }
      const std::string text = plan->dump(2) + "\n";
      if (!a->out.empty()) {
        std::ofstream out(a->out, std::ios::trunc);
        out << text;
        if (!out.good()) {
          *exit_status = ReportChromaError(IoError("cannot write " + a->out), a->json);
          return;
        }
        size_t runnable = 0;
        for (const auto& i : (*plan)["items"]) runnable += i["execute"].get<bool>() ? 1 : 0;
        if (a->json) {
          std::cout << nlohmann::json{{"plan", a->out},
                                      {"items", (*plan)["items"].size()},
                                      {"executable", runnable}}
                           .dump()
                    << "\n";
        } else {
          std::cout << fmt::format("wrote {} ({} item(s), {} executable)\n", a->out,
                                   (*plan)["items"].size(), runnable);
        }
      } else {
        std::cout << (a->json ? plan->dump() + "\n" : text);
      }
      *exit_status = 0;
      return;
    }
    if (a->server.empty()) {
      *exit_status = ReportChromaError(
          InvalidArgument("--execute needs --server URL of a running Chroma"), a->json);
      return;
    }
    auto text = chroma::ReadWholeFile(a->execute);
    if (!text.ok()) {
      *exit_status = ReportChromaError(text.status(), a->json);
      return;
    }
    auto plan = nlohmann::json::parse(*text, nullptr, false);
    if (plan.is_discarded()) {
      *exit_status = ReportChromaError(
          InvalidArgument(
              a->execute + " is not valid JSON",
              "Make a fresh plan with `vecsafe recover chroma PATH --plan --out FILE`."),
          a->json);
      return;
    }
    if (a->batch == 0) a->batch = 500;
    auto results = chroma::ExecuteRecoveryPlan(plan, a->path, a->server, a->batch);
    if (!results.ok()) {
      *exit_status = ReportChromaError(results.status(), a->json);
      return;
    }
    bool all_ok = true;
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *results) {
      all_ok &= r.ok;
      out.push_back({{"folder", r.folder},
                     {"name", r.name},
                     {"ok", r.ok},
                     {"expected", r.expected},
                     {"count", r.count},
                     {"error", r.error}});
      if (!a->json) {
        std::cout << (r.ok ? fmt::format("ok     {} -> '{}': {} records\n", r.folder, r.name,
                                         r.count)
                           : fmt::format("FAILED {} -> '{}': {}\n", r.folder, r.name, r.error));
      }
    }
    if (a->json) std::cout << nlohmann::json{{"results", out}, {"ok", all_ok}}.dump() << "\n";
    *exit_status = all_ok ? 0 : 1;
  });
}

}  // namespace vecsafe::cli
