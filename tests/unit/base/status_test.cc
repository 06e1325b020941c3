#include "vecsafe/status.h"

#include <gtest/gtest.h>

#include <set>

namespace vecsafe {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd: " + std::to_string(x), "pass an even number");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  VS_ASSIGN_OR_RETURN(*out, Half(x));
  return Status::OK();
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = NotFound("snapshot abc");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.exit_status(), 3);
  EXPECT_NE(s.ToString().find("VS-2 not found: snapshot abc (HINT: "), std::string::npos);
}

TEST(StatusTest, ResultPropagates) {
  int v = 0;
  EXPECT_TRUE(UseHalf(8, &v).ok());
  EXPECT_EQ(v, 4);
  Status s = UseHalf(3, &v);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.hint(), "pass an even number");
  EXPECT_THROW((void)Half(3).value(), BadResultAccess);
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_EQ(ErrnoToStatus(ENOSPC, "write", "/x").code(), ErrorCode::kNoSpace);
  EXPECT_EQ(ErrnoToStatus(ENOENT, "open", "/x").code(), ErrorCode::kNotFound);
  EXPECT_EQ(ErrnoToStatus(EACCES, "open", "/x").code(), ErrorCode::kPermissionDenied);
}

TEST(StatusTest, TableNumbersUnique) {
  std::set<int> seen;
  for (auto* it = ErrorTableBegin(); it != ErrorTableEnd(); ++it) {
    EXPECT_TRUE(seen.insert(static_cast<int>(it->code)).second) << it->name;
    if (it->code != ErrorCode::kOk) {
      EXPECT_FALSE(it->default_hint.empty()) << it->name;
    }
  }
}

}  // namespace
}  // namespace vecsafe
