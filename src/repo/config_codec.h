// The `config` object and `keys/<id>` objects (docs/FORMAT.md, "config" and
// "keys"). Both are plain JSON so a repository can be opened (and the key
// unwrapped) before anything is decrypted.
#ifndef VECSAFE_REPO_CONFIG_CODEC_H_
#define VECSAFE_REPO_CONFIG_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "repo/crypto.h"
#include "vecsafe/repository.h"
#include "vecsafe/status.h"

namespace vecsafe::repo {

struct RepoConfig {
  int version = kRepoFormatVersion;
  std::string repo_id;  // 32 hex
  uint32_t chunk_min = kDefaultChunkMin;
  uint32_t chunk_avg = kDefaultChunkAvg;
  uint32_t chunk_max = kDefaultChunkMax;
  // Gear seed of an unencrypted repository. Encrypted ones derive it from
  // the master key ("chunker-seed") and store "key" here.
  uint64_t gear_seed = 0;
  bool gear_seed_from_key = false;
  Encryption encryption = Encryption::kNone;
  int compression_level = 3;
  uint64_t pack_target = kDefaultPackTarget;
  int64_t created_unix_ns = 0;
};

std::string EncodeConfig(const RepoConfig& config);
// kDataLoss for anything malformed (says what), kUnsupportedVersion for a
// newer format. Never throws.
Result<RepoConfig> ParseConfig(std::string_view bytes);

struct KeyFile {
  Argon2Params kdf;
  uint8_t salt[kArgon2SaltSize] = {};
  std::string wrapped;  // AES-256-GCM(kek, master key), aad "vecsafe master key"
  std::string hostname;
  int64_t created_unix_ns = 0;
};

std::string EncodeKeyFile(const KeyFile& key);
Result<KeyFile> ParseKeyFile(std::string_view bytes);

// Wraps / unwraps a master key with a password. Unwrap: kUnauthenticated on a
// wrong password.
Result<KeyFile> WrapMasterKey(const Key256& master, std::string_view password,
                              const Argon2Params& kdf);
Result<Key256> UnwrapMasterKey(const KeyFile& key, std::string_view password);

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_CONFIG_CODEC_H_
