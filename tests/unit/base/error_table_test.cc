// docs/errors.md must hold exactly the table compiled from error_table.inc
// (regenerate it with scripts/gen_errors_md.sh).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "cli/errors.h"
#include "vecsafe/status.h"

namespace vecsafe {
namespace {

std::string ReadDoc() {
  const char* src = std::getenv("VECSAFE_SOURCE_DIR");
  const std::string dir = src != nullptr ? src : ".";
  std::ifstream in(dir + "/docs/errors.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ErrorTableDocTest, DocsMatchTheCompiledTable) {
  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty()) << "docs/errors.md not found (VECSAFE_SOURCE_DIR)";
  const std::string begin = "<!-- BEGIN ERROR TABLE";
  const std::string end = "<!-- END ERROR TABLE -->";
  const size_t b = doc.find(begin);
  const size_t e = doc.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  const size_t body = doc.find('\n', b) + 1;
  EXPECT_EQ(doc.substr(body, e - body), cli::ErrorTableMarkdown())
      << "docs/errors.md is out of date: run scripts/gen_errors_md.sh";
}

TEST(ErrorTableDocTest, EveryRowHasAHintAndAnExitStatusAboveOne) {
  std::set<std::string> names;
  for (const ErrorInfo* it = ErrorTableBegin(); it != ErrorTableEnd(); ++it) {
    EXPECT_TRUE(names.insert(std::string(it->name)).second) << it->name;
    if (it->code == ErrorCode::kOk) continue;
    EXPECT_FALSE(it->default_hint.empty()) << it->name;
    // 0 is success and 1 means "ran fine, found problems": no error may use them.
    EXPECT_GE(it->exit_status, 2) << it->name;
  }
}

}  // namespace
}  // namespace vecsafe
