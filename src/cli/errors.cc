// `vecsafe errors`: prints the error table (code, name, exit status, hint),
// the same rows as include/vecsafe/error_table.inc and docs/errors.md.
#include "cli/errors.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/verbs.h"

namespace vecsafe::cli {

nlohmann::json ErrorTableJson() {
  nlohmann::json rows = nlohmann::json::array();
  for (const ErrorInfo* it = ErrorTableBegin(); it != ErrorTableEnd(); ++it) {
    nlohmann::json row = ErrorJson(Status(it->code, ""))["error"];
    row.erase("message");
    row["hint"] = std::string(it->default_hint);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string ErrorTableMarkdown() {
  std::string out = "| code | name | exit status | meaning | default hint |\n";
  out += "|---|---|---|---|---|\n";
  for (const auto& row : ErrorTableJson()) {
    out += "| " + row["code"].get<std::string>() + " | `" + row["name"].get<std::string>() +
           "` | " + std::to_string(row["exit_status"].get<int>()) + " | " +
           row["kind"].get<std::string>() + " | " + row["hint"].get<std::string>() + " |\n";
  }
  return out;
}

void RegisterErrorsVerb(CLI::App& parent, VerbContext& ctx) {
  CLI::App* cmd = parent.add_subcommand(
      "errors", "Print the error table: every error code, its exit status and its hint");
  auto markdown = std::make_shared<bool>(false);
  cmd->add_flag("--markdown", *markdown,
                "Print the table as Markdown (the table of docs/errors.md). Default: off");
  AddCommonFlags(cmd, ctx, /*with_repo=*/false);
  cmd->callback([&ctx, markdown] {
    if (ctx.flags.json) {
      PrintJson({{"errors", ErrorTableJson()}});
    } else if (*markdown) {
      std::cout << ErrorTableMarkdown();
    } else {
      for (const auto& row : ErrorTableJson()) {
        std::cout << row["code"].get<std::string>() << "\texit " << row["exit_status"].get<int>()
                  << '\t' << row["kind"].get<std::string>() << '\t'
                  << row["hint"].get<std::string>() << '\n';
      }
    }
    ctx.exit_status = 0;
  });
}

}  // namespace vecsafe::cli
