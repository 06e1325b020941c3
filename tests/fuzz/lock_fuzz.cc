// Parsing arbitrary bytes as a lock object must never crash; a parsed lock
// must encode and parse again to the same holder.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "repo/lock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vecsafe::repo;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto l = ParseLock(in, "00");
  if (!l.ok()) {
    if (l.status().code() != vecsafe::ErrorCode::kDataLoss) std::abort();
    return 0;
  }
  JudgeStaleness(&*l, "host", 1'800'000'000);
  (void)DescribeLock(*l, 1'800'000'000);
  auto again = ParseLock(EncodeLock(*l), "00");
  if (!again.ok() || again->pid != l->pid || again->hostname != l->hostname) std::abort();
  return 0;
}
