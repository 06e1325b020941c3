// The error table rendered for people and machines (`vecsafe errors`,
// docs/errors.md, checked by tests/unit/cli/errors_doc_test.cc).
#ifndef VECSAFE_CLI_ERRORS_H_
#define VECSAFE_CLI_ERRORS_H_

#include <nlohmann/json.hpp>
#include <string>

namespace vecsafe::cli {

// One object per row: code ("VS-<n>"), number, name, kind, exit_status, hint.
nlohmann::json ErrorTableJson();
// The Markdown table that docs/errors.md holds between its BEGIN/END markers.
std::string ErrorTableMarkdown();

}  // namespace vecsafe::cli

#endif  // VECSAFE_CLI_ERRORS_H_
