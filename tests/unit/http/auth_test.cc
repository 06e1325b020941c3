// Bearer tokens: parsing, roles, token files and VECSAFE_API_TOKEN, and the
// constant-time comparison (no early exit on a match).
#include "http/auth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "io/test_dir.h"

namespace vecsafe::http {
namespace {

using service::Role;
using service::Sha256Hex;
using service::TokenConfig;

TEST(AuthTest, ParsesBearerHeader) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer   abc  "), "abc");
  EXPECT_EQ(BearerToken("  BEARER abc"), "abc");
  EXPECT_FALSE(BearerToken(""));
  EXPECT_FALSE(BearerToken("Bearer"));
  EXPECT_FALSE(BearerToken("Bearer    "));
  EXPECT_FALSE(BearerToken("Basic dXNlcjpwYXNz"));
  EXPECT_FALSE(BearerToken("Bearerabc"));
  EXPECT_FALSE(BearerToken("Token abc"));
}

TEST(AuthTest, FindsThePrincipalByDigest) {
  const std::vector<TokenConfig> tokens = {
      {"viewer", Role::kReadOnly, Sha256Hex("reader-token-0123456789")},
      {"ops", Role::kOperator, Sha256Hex("operator-token-0123456789")},
      {"root", Role::kAdmin, Sha256Hex("admin-token-0123456789")}};
  auto p = Authenticate("operator-token-0123456789", tokens);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "ops");
  EXPECT_EQ(p->role, Role::kOperator);
  EXPECT_EQ(Authenticate("admin-token-0123456789", tokens)->name, "root");
  EXPECT_FALSE(Authenticate("admin-token-012345678", tokens));    // one byte short
  EXPECT_FALSE(Authenticate("admin-token-0123456789 ", tokens));  // one byte more
  EXPECT_FALSE(Authenticate("", tokens));
  // A digest is not a token: presenting the stored hash does not authenticate.
  EXPECT_FALSE(Authenticate(Sha256Hex("admin-token-0123456789"), tokens));
  EXPECT_FALSE(Authenticate("admin-token-0123456789", {}));
  // A malformed stored digest never matches.
  EXPECT_FALSE(Authenticate("x", {{"bad", Role::kAdmin, "abc"}}));
}

TEST(AuthTest, RolesAreOrdered) {
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Role::kAdmin));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Role::kOperator));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Role::kReadOnly));
  EXPECT_TRUE(RoleAllows(Role::kOperator, Role::kOperator));
  EXPECT_TRUE(RoleAllows(Role::kOperator, Role::kReadOnly));
  EXPECT_FALSE(RoleAllows(Role::kOperator, Role::kAdmin));
  EXPECT_TRUE(RoleAllows(Role::kReadOnly, Role::kReadOnly));
  EXPECT_FALSE(RoleAllows(Role::kReadOnly, Role::kOperator));
  EXPECT_FALSE(RoleAllows(Role::kReadOnly, Role::kAdmin));
}

// Timing: a token matching the first of many entries must cost about what a
// token matching none costs (every digest is compared in full). An early exit
// would make the first-match case about N times cheaper; the bound (3x on
// medians) catches that and leaves room for a noisy, shared machine.
TEST(AuthTest, ComparesEveryDigestWhateverMatches) {
  std::vector<TokenConfig> tokens;
  for (int i = 0; i < 4000; ++i) {
    tokens.push_back(
        {"t" + std::to_string(i), Role::kReadOnly, Sha256Hex("token-number-" + std::to_string(i))});
  }
  auto median_ns = [&](const std::string& token) {
    std::vector<int64_t> samples;
    for (int run = 0; run < 41; ++run) {
      const auto t0 = std::chrono::steady_clock::now();
      auto p = Authenticate(token, tokens);
      const auto t1 = std::chrono::steady_clock::now();
      EXPECT_EQ(p.has_value(), token == "token-number-0");
      samples.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
    std::sort(samples.begin(), samples.end());
    return static_cast<double>(samples[samples.size() / 2]);
  };
  const double first = median_ns("token-number-0");
  const double none = median_ns("no-such-token-at-all");
  EXPECT_GT(first, none / 3) << "first " << first << " ns, none " << none << " ns";
}

TEST(AuthTest, TokensFileGivesNamesAndRolesNeverTheSecret) {
  TestDir dir;
  const auto file = dir.path() / "tokens";
  std::ofstream(file) << "# name role token\n"
                         "grafana read-only reader-token-0123456789\n"
                         "\n"
                         "ci operator operator-token-0123456789\r\n"
                         "root admin admin-token-0123456789\n";
  auto toks = service::LoadTokensFile(file);
  ASSERT_TRUE(toks.ok()) << toks.status().ToString();
  ASSERT_EQ(toks->size(), 3u);
  EXPECT_EQ((*toks)[1].name, "ci");
  EXPECT_EQ((*toks)[1].role, Role::kOperator);
  EXPECT_EQ((*toks)[1].sha256, Sha256Hex("operator-token-0123456789"));  // CR stripped
  EXPECT_EQ(Authenticate("admin-token-0123456789", *toks)->role, Role::kAdmin);

  for (const char* bad : {"root superuser admin-token-0123456789\n", "root admin\n",
                          "root admin short\n", "root admin admin-token-0123456789 extra\n"}) {
    std::ofstream(file, std::ios::trunc) << bad;
    auto r = service::LoadTokensFile(file);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().find("admin-token"), std::string::npos)
        << "the error must not echo the secret: " << r.status().ToString();
  }
  EXPECT_FALSE(service::LoadTokensFile(dir.path() / "missing").ok());
}

TEST(AuthTest, ConfigTokensFromFileAndEnvironment) {
  TestDir dir;
  std::ofstream(dir.path() / "tokens") << "ci operator operator-token-0123456789\n";
  const nlohmann::json doc = {{"tokens_file", "tokens"},
                              {"tokens",
                               {{{"name", "viewer"},
                                 {"role", "read-only"},
                                 {"sha256", Sha256Hex("reader-token-0123456789")}}}}};
  auto load =
      service::BuildConfig(doc, {{"VECSAFE_API_TOKEN", "env-admin-token-0123456789"}}, dir.path());
  ASSERT_TRUE(load.config) << service::ErrorsToStatus(load.errors, "config").ToString();
  const auto& toks = load.config->tokens;
  auto env_admin = Authenticate("env-admin-token-0123456789", toks);
  ASSERT_TRUE(env_admin);
  EXPECT_EQ(env_admin->name, "env:VECSAFE_API_TOKEN");
  EXPECT_EQ(env_admin->role, Role::kAdmin);
  EXPECT_EQ(Authenticate("operator-token-0123456789", toks)->name, "ci");
  EXPECT_EQ(Authenticate("reader-token-0123456789", toks)->role, Role::kReadOnly);
  // Neither the environment's token nor its digest shows in the redacted config.
  const std::string shown = load.config->Redacted().dump();
  EXPECT_EQ(shown.find("env-admin-token"), std::string::npos);
  EXPECT_EQ(shown.find(Sha256Hex("env-admin-token-0123456789")), std::string::npos);

  // A short environment token is refused, not silently ignored.
  auto short_env = service::BuildConfig(nlohmann::json::object(), {{"VECSAFE_API_TOKEN", "abc"}});
  EXPECT_FALSE(short_env.config);
}

}  // namespace
}  // namespace vecsafe::http
