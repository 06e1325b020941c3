// Parsing arbitrary bytes as a repository `config` or a `keys/` object must
// never crash; a parsed config must encode and parse again to the same values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "repo/config_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vecsafe::repo;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = ParseConfig(in);
  if (c.ok()) {
    auto again = ParseConfig(EncodeConfig(*c));
    if (!again.ok() || again->chunk_avg != c->chunk_avg || again->gear_seed != c->gear_seed ||
        again->encryption != c->encryption || again->repo_id != c->repo_id) {
      std::abort();
    }
  }
  auto k = ParseKeyFile(in);
  if (k.ok() && !ParseKeyFile(EncodeKeyFile(*k)).ok()) std::abort();
  return 0;
}
