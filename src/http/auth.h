// Bearer-token authentication for the daemon's API. Tokens are kept only as
// SHA-256 digests; a presented token is hashed and compared with every known
// digest in constant time (CRYPTO_memcmp, no early exit), so neither timing
// nor position reveals which token or how many bytes matched.
#ifndef VECSAFE_HTTP_AUTH_H_
#define VECSAFE_HTTP_AUTH_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/config.h"

namespace vecsafe::http {

struct Principal {
  std::string name;  // the token's name (journaled as "token:<name>")
  service::Role role = service::Role::kReadOnly;
};

// Parses "Bearer <token>" (scheme case-insensitive); nullopt when absent or malformed.
std::optional<std::string> BearerToken(std::string_view authorization_header);

// The principal whose token matches, or nullopt.
std::optional<Principal> Authenticate(std::string_view token,
                                      const std::vector<service::TokenConfig>& tokens);

// True when `have` is at least `need` (admin > operator > read-only).
inline bool RoleAllows(service::Role have, service::Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace vecsafe::http

#endif  // VECSAFE_HTTP_AUTH_H_
