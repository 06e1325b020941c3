#include "repo/config_codec.h"

#include <nlohmann/json.hpp>

#include "repo/chunker.h"
#include "repo/format.h"

namespace vecsafe::repo {
namespace {

using ojson = nlohmann::ordered_json;
constexpr std::string_view kMasterAad = "vecsafe master key";

Status Bad(std::string_view what, std::string_view detail) {
  return DataLoss(std::string(what) + " is damaged: " + std::string(detail),
                  "Restore this object from a copy of the repository, or re-create the "
                  "repository with `vecsafe init`.");
}

}  // namespace

std::string EncodeConfig(const RepoConfig& c) {
  ojson j;
  j["version"] = c.version;
  j["id"] = c.repo_id;
  j["created"] = FormatTimeNs(c.created_unix_ns);
  ojson chunker;
  chunker["algorithm"] = "fastcdc";
  chunker["min_size"] = c.chunk_min;
  chunker["avg_size"] = c.chunk_avg;
  chunker["max_size"] = c.chunk_max;
  if (c.gear_seed_from_key) {
    chunker["gear_seed"] = "key";
  } else {
    chunker["gear_seed"] = HexEncode(&c.gear_seed, sizeof(c.gear_seed));
  }
  j["chunker"] = chunker;
  j["compression"] = {{"algorithm", "zstd"}, {"level", c.compression_level}};
  ojson enc;
  enc["algorithm"] = std::string(EncryptionName(c.encryption));
  if (c.encryption != Encryption::kNone) enc["kdf"] = "argon2id";
  j["encryption"] = enc;
  j["pack_target_size"] = c.pack_target;
  return j.dump(2) + "\n";
}

Result<RepoConfig> ParseConfig(std::string_view bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad("config", "not a JSON object");
  try {
    RepoConfig c;
    if (!j.contains("version") || !j["version"].is_number_integer()) {
      return Bad("config", "no integer \"version\"");
    }
    c.version = j["version"].get<int>();
    if (c.version > kRepoFormatVersion) {
      return Status(ErrorCode::kUnsupportedVersion,
                    "repository format version " + std::to_string(c.version) +
                        " is newer than this vecsafe understands (" +
                        std::to_string(kRepoFormatVersion) + ")");
    }
    if (c.version < 1) return Bad("config", "version < 1");
    c.repo_id = j.at("id").get<std::string>();
    const auto& ch = j.at("chunker");
    if (ch.value("algorithm", "") != "fastcdc") return Bad("config", "unknown chunker algorithm");
    c.chunk_min = ch.at("min_size").get<uint32_t>();
    c.chunk_avg = ch.at("avg_size").get<uint32_t>();
    c.chunk_max = ch.at("max_size").get<uint32_t>();
    ChunkerParams p{c.chunk_min, c.chunk_avg, c.chunk_max, 0};
    if (!p.Validate().ok()) return Bad("config", "chunker sizes out of range");
    std::string seed = ch.at("gear_seed").get<std::string>();
    if (seed == "key") {
      c.gear_seed_from_key = true;
    } else {
      auto raw = HexDecode(seed);
      if (!raw.ok() || raw->size() != sizeof(uint64_t)) return Bad("config", "bad gear_seed");
      std::memcpy(&c.gear_seed, raw->data(), sizeof(uint64_t));
    }
    const auto& comp = j.at("compression");
    if (comp.value("algorithm", "") != "zstd") return Bad("config", "unknown compression");
    c.compression_level = comp.at("level").get<int>();
    if (c.compression_level < -7 || c.compression_level > 22) {
      return Bad("config", "compression level out of range");
    }
    auto enc = ParseEncryption(j.at("encryption").at("algorithm").get<std::string>());
    if (!enc.ok()) return Bad("config", "unknown encryption algorithm");
    c.encryption = *enc;
    if (c.encryption != Encryption::kNone && !c.gear_seed_from_key) {
      return Bad("config", "encrypted repository with a clear gear seed");
    }
    c.pack_target = j.value("pack_target_size", kDefaultPackTarget);
    if (c.pack_target < 4096 || c.pack_target > (1ull << 30)) {
      return Bad("config", "pack_target_size out of range");
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    return Bad("config", e.what());
  }
}

std::string EncodeKeyFile(const KeyFile& k) {
  ojson j;
  j["version"] = 1;
  j["kdf"] = "argon2id";
  j["ops_limit"] = k.kdf.ops_limit;
  j["mem_limit"] = k.kdf.mem_limit_bytes;
  j["salt"] = HexEncode(k.salt, sizeof(k.salt));
  j["wrapped_key"] = HexEncode(k.wrapped);
  j["hostname"] = k.hostname;
  j["created"] = FormatTimeNs(k.created_unix_ns);
  return j.dump(2) + "\n";
}

Result<KeyFile> ParseKeyFile(std::string_view bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("key file", "not a JSON object");
  try {
    KeyFile k;
    if (j.at("version").get<int>() != 1) return Bad("key file", "unknown version");
    if (j.at("kdf").get<std::string>() != "argon2id") return Bad("key file", "unknown kdf");
    k.kdf.ops_limit = j.at("ops_limit").get<uint64_t>();
    k.kdf.mem_limit_bytes = j.at("mem_limit").get<uint64_t>();
    if (!k.kdf.Validate().ok()) return Bad("key file", "kdf parameters out of range");
    auto salt = HexDecode(j.at("salt").get<std::string>());
    if (!salt.ok() || salt->size() != kArgon2SaltSize) return Bad("key file", "bad salt");
    std::memcpy(k.salt, salt->data(), kArgon2SaltSize);
    auto wrapped = HexDecode(j.at("wrapped_key").get<std::string>());
    if (!wrapped.ok() || wrapped->size() != 32 + kGcmOverhead) {
      return Bad("key file", "bad wrapped_key");
    }
    k.wrapped = std::move(*wrapped);
    k.hostname = j.value("hostname", "");
    return k;
  } catch (const nlohmann::json::exception& e) {
    return Bad("key file", e.what());
  }
}

Result<KeyFile> WrapMasterKey(const Key256& master, std::string_view password,
                              const Argon2Params& kdf) {
  KeyFile k;
  k.kdf = kdf;
  VS_RETURN_IF_ERROR(kdf.Validate());
  VS_RETURN_IF_ERROR(RandomBytes(k.salt, sizeof(k.salt)));
  Key256 kek{};
  VS_RETURN_IF_ERROR(DeriveKeyArgon2id(password, k.salt, kdf, kek.data(), kek.size()));
  VS_RETURN_IF_ERROR(AesGcmSeal(kek, master.data(), master.size(), kMasterAad, &k.wrapped));
  k.created_unix_ns = NowUnixNs();
  return k;
}

Result<Key256> UnwrapMasterKey(const KeyFile& k, std::string_view password) {
  Key256 kek{};
  VS_RETURN_IF_ERROR(DeriveKeyArgon2id(password, k.salt, k.kdf, kek.data(), kek.size()));
  std::string plain;
  if (!AesGcmOpen(kek, k.wrapped, kMasterAad, &plain).ok() || plain.size() != 32) {
    return Status(ErrorCode::kUnauthenticated, "wrong password for this repository",
                  "Check VECSAFE_PASSWORD / VECSAFE_PASSWORD_FILE.");
  }
  Key256 master{};
  std::memcpy(master.data(), plain.data(), master.size());
  return master;
}

}  // namespace vecsafe::repo
