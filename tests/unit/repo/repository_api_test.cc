#include <gtest/gtest.h>

#include <cstdlib>

#include "vecsafe/repository.h"

namespace vecsafe {
namespace {

TEST(RepositoryApiTest, EncryptionNamesRoundTrip) {
  for (Encryption e : {Encryption::kNone, Encryption::kAes256Gcm}) {
    auto parsed = ParseEncryption(EncryptionName(e));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, e);
  }
  EXPECT_EQ(ParseEncryption("rot13").status().code(), ErrorCode::kInvalidArgument);
}

TEST(RepositoryApiTest, PasswordFromEnvironment) {
  ::setenv("VECSAFE_PASSWORD", "s3cret", 1);
  auto pw = GetRepositoryPassword({.allow_prompt = false});
  ::unsetenv("VECSAFE_PASSWORD");
  ASSERT_TRUE(pw.ok());
  EXPECT_EQ(*pw, "s3cret");
  ::unsetenv("VECSAFE_PASSWORD_FILE");
  auto none = GetRepositoryPassword({.allow_prompt = false});
  EXPECT_EQ(none.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(none.status().hint().find("VECSAFE_PASSWORD"), std::string::npos);
}

TEST(RepositoryApiTest, VerifyStatusNames) {
  EXPECT_EQ(VerifyStatusName(VerifyStatus::kChecksumMismatch), "checksum_mismatch");
  EXPECT_EQ(VerifyStatusName(VerifyStatus::kSizeInvalid), "size_invalid");
}

}  // namespace
}  // namespace vecsafe
