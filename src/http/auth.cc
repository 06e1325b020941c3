#include "http/auth.h"

#include <openssl/crypto.h>

#include <cctype>

namespace vecsafe::http {

std::optional<std::string> BearerToken(std::string_view h) {
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  if (h.size() < 7) return std::nullopt;
  std::string scheme(h.substr(0, 6));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer" || h[6] != ' ') return std::nullopt;
  h.remove_prefix(7);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  if (h.empty()) return std::nullopt;
  return std::string(h);
}

std::optional<Principal> Authenticate(std::string_view token,
                                      const std::vector<service::TokenConfig>& tokens) {
  const std::string digest = service::Sha256Hex(token);
  std::optional<Principal> found;
  for (const auto& t : tokens) {
    // Every digest is compared in full, whatever matched before.
    const bool same = t.sha256.size() == digest.size() &&
                      CRYPTO_memcmp(t.sha256.data(), digest.data(), digest.size()) == 0;
    if (same && !found) found = Principal{t.name, t.role};
  }
  return found;
}

}  // namespace vecsafe::http
