// The --keep-within duration parser must never crash, and whatever it
// accepts must print to a canonical form that parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "repo/retention.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = vecsafe::repo::ParseRetentionDuration(in);
  if (!r.ok()) {
    if (r.status().code() != vecsafe::ErrorCode::kInvalidArgument) std::abort();
    return 0;
  }
  const auto& d = *r;
  if (d.years < 0 || d.months < 0 || d.days < 0 || d.hours < 0) std::abort();
  const std::string canon = d.ToString();
  if (d.Zero()) return canon.empty() ? 0 : (std::abort(), 0);
  const auto again = vecsafe::repo::ParseRetentionDuration(canon);
  if (!again.ok() || !(*again == d)) std::abort();
  return 0;
}
