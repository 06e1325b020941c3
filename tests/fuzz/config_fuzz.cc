// Fuzzes the config parser and validator: any byte string must give either a
// config or a list of errors, never a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "service/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 16) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  vecsafe::service::ConfigLoad load = vecsafe::service::BuildConfigFromText(text, {});
  if (!load.config && load.errors.empty()) __builtin_trap();
  if (load.config) (void)load.config->Redacted().dump();
  auto env = vecsafe::service::ParseDotEnv(text);
  (void)env.ok();
  return 0;
}
