// Repository entry points: init, open, metadata objects, snapshots, locks,
// forget. Backup, restore, verify and prune live in their own files.
#include "vecsafe/repository.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "io/store_registry.h"
#include "repo/format.h"
#include "repo/manifest_codec.h"
#include "repo/repo_impl.h"
#include "repo/retention.h"

namespace vecsafe {

std::string_view EncryptionName(Encryption e) {
  return e == Encryption::kAes256Gcm ? "aes-256-gcm" : "none";
}

Result<Encryption> ParseEncryption(std::string_view name) {
  if (name == "none") return Encryption::kNone;
  if (name == "aes-256-gcm") return Encryption::kAes256Gcm;
  return InvalidArgument("unknown encryption '" + std::string(name) + "'",
                         "use --encryption aes-256-gcm or --encryption none");
}

std::string_view EntryTypeName(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return "file";
    case EntryType::kDirectory:
      return "dir";
    case EntryType::kSymlink:
      return "symlink";
  }
  return "file";
}

std::string_view VerifyStatusName(VerifyStatus s) {
  switch (s) {
    case VerifyStatus::kOk:
      return "ok";
    case VerifyStatus::kMissing:
      return "missing";
    case VerifyStatus::kChecksumMismatch:
      return "checksum_mismatch";
    case VerifyStatus::kSizeInvalid:
      return "size_invalid";
    case VerifyStatus::kOther:
      return "other";
  }
  return "other";
}

const FileEntry* Manifest::Find(std::string_view path) const {
  for (const auto& e : entries) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

namespace {

Result<std::string> PromptPassword(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios old_attr{};
  bool restore = tcgetattr(STDIN_FILENO, &old_attr) == 0;
  if (restore) {
    termios no_echo = old_attr;
    no_echo.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &no_echo);
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_attr);
  std::cerr << "\n";
  if (line.empty()) return Status(ErrorCode::kUnauthenticated, "empty password entered");
  return line;
}

}  // namespace

Result<std::string> GetRepositoryPassword(const PasswordOptions& options) {
  if (const char* env = std::getenv("VECSAFE_PASSWORD"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  if (const char* file = std::getenv("VECSAFE_PASSWORD_FILE"); file != nullptr && *file != '\0') {
    std::ifstream in(file);
    if (!in) return ErrnoToStatus(errno, "cannot read VECSAFE_PASSWORD_FILE", file);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      return Status(ErrorCode::kUnauthenticated, std::string("password file ") + file + " is empty",
                    "Put the password on the first line of the file.");
    }
    return line;
  }
  if (options.allow_prompt && isatty(STDIN_FILENO) != 0) {
    VS_ASSIGN_OR_RETURN(std::string first, PromptPassword("repository password: "));
    if (options.confirm) {
      VS_ASSIGN_OR_RETURN(std::string second, PromptPassword("repeat password: "));
      if (first != second) return InvalidArgument("the two passwords differ", "Type it again.");
    }
    return first;
  }
  return Status(ErrorCode::kUnauthenticated, "no repository password given",
                "Set VECSAFE_PASSWORD or VECSAFE_PASSWORD_FILE, or run on a terminal to be "
                "asked.");
}

}  // namespace vecsafe

namespace vecsafe::repo {
namespace {

constexpr std::string_view kIndexKind = "index";
constexpr std::string_view kSnapshotKind = "snapshot";

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

RepositoryImpl::RepositoryImpl(std::unique_ptr<ObjectStore> store, const OpenOptions& options,
                               const RepoConfig& config, const std::optional<Key256>& master)
    : store_(std::move(store)), options_(options), config_(config) {
  BlobCodecOptions co;
  co.zstd_level = config.compression_level;
  ChunkerParams cp{config.chunk_min, config.chunk_avg, config.chunk_max, config.gear_seed};
  if (master.has_value()) {
    BlobKeys keys = BlobKeys::FromMaster(*master);
    data_key_ = keys.data;
    co.keys = keys;
    Key256 seed = DeriveSubkey(*master, "chunker-seed");
    std::memcpy(&cp.seed, seed.data(), sizeof(cp.seed));
  }
  codec_ = std::make_unique<BlobCodec>(co);
  if (Sha256Pair::Available()) id_pair_.emplace(codec_->chunk_id_key());
  chunker_ = std::make_unique<Chunker>(cp);
  unsigned hw = std::thread::hardware_concurrency();
  threads_ = options.threads > 0 ? options.threads : static_cast<int>(hw == 0 ? 2 : hw);
  const StoreCapabilities caps = store_->Capabilities();
  upload_threads_ = options.upload_threads > 0 ? options.upload_threads
                    : caps.parallel_puts > 0   ? caps.parallel_puts
                    : caps.local_filesystem    ? 1
                                               : 4;
  hostname_ = options.hostname.empty() ? LocalHostname() : options.hostname;
  base_reader_ = [this](const Hash256& base, std::string* out) { return ReadDeltaBase(base, out); };
}

RepositoryInfo RepositoryImpl::Info() const {
  RepositoryInfo info;
  info.repo_id = config_.repo_id;
  info.format_version = config_.version;
  info.encryption = config_.encryption;
  info.location = store_->Describe();
  info.chunk_min = config_.chunk_min;
  info.chunk_avg = config_.chunk_avg;
  info.chunk_max = config_.chunk_max;
  info.compression_level = config_.compression_level;
  return info;
}

Result<Hash256> RepositoryImpl::PutMeta(std::string_view prefix, std::string_view kind,
                                        std::string_view json) {
  std::string stored;
  VS_RETURN_IF_ERROR(codec_->Encode(json.data(), json.size(), &stored, kind));
  Hash256 id = Sha256(stored);
  VS_RETURN_IF_ERROR(store_->Put(std::string(prefix) + HexEncode(id), stored));
  return id;
}

Result<std::string> RepositoryImpl::GetMeta(std::string_view key, std::string_view kind) {
  VS_ASSIGN_OR_RETURN(std::string stored, store_->Get(key));
  auto name = IdFromKey(key);
  if (name.ok() && Sha256(stored) != *name) {
    return DataLoss(std::string(kind) + " object " + std::string(key) +
                        " is damaged: its content does not match its name (size " +
                        std::to_string(stored.size()) + " bytes)",
                    kind == kIndexKind
                        ? "Run `vecsafe prune` to rebuild the index from the packs."
                        : "Use another snapshot; run `vecsafe verify` to see the extent.");
  }
  std::string plain;
  Status s = codec_->Decode(stored, &plain, kind);
  if (!s.ok()) {
    return DataLoss(
        std::string(kind) + " object " + std::string(key) + " cannot be decoded: " + s.message(),
        "Check the password; if it is right the object is damaged.");
  }
  return plain;
}

Result<std::vector<std::string>> RepositoryImpl::ListIndexKeys() const {
  VS_ASSIGN_OR_RETURN(auto objects, store_->ListAll(kIndexPrefix));
  std::vector<std::string> keys;
  keys.reserve(objects.size());
  for (auto& o : objects) keys.push_back(std::move(o.key));
  std::sort(keys.begin(), keys.end());
  return keys;
}

Status RepositoryImpl::LoadIndex() {
  VS_ASSIGN_OR_RETURN(auto keys, ListIndexKeys());
  return LoadIndexFrom(std::move(keys));
}

Status RepositoryImpl::LoadIndexFrom(std::vector<std::string> keys) {
  std::vector<std::pair<Hash256, IndexFile>> files;
  std::vector<std::string> problems;
  std::set<Hash256> superseded;
  for (const auto& key : keys) {
    auto id = IdFromKey(key);
    if (!id.ok()) continue;  // not ours (e.g. a temp name of another tool)
    auto json = GetMeta(key, kIndexKind);
    if (!json.ok()) {
      if (json.status().code() == ErrorCode::kNotFound) continue;  // deleted by a prune
      problems.push_back(json.status().message());
      continue;
    }
    auto parsed = ParseIndexJson(*json);
    if (!parsed.ok()) {
      problems.push_back(key + ": " + parsed.status().message());
      continue;
    }
    for (const auto& s : parsed->supersedes) superseded.insert(s);
    files.emplace_back(*id, std::move(*parsed));
  }
  std::lock_guard<std::mutex> lk(index_mu_);
  index_keys_ = std::move(keys);
  index_ = MasterIndex();
  index_files_.clear();
  for (auto& [id, file] : files) {
    if (superseded.count(id) != 0) continue;
    for (const auto& p : file.packs) index_.AddPack(p);
    index_files_.push_back(id);
  }
  index_problems_ = std::move(problems);
  return Status::OK();
}

Status RepositoryImpl::CheckIndexHealthy() const {
  std::lock_guard<std::mutex> lk(index_mu_);
  if (index_problems_.empty()) return Status::OK();
  return DataLoss("the repository index is damaged: " + index_problems_.front() +
                      (index_problems_.size() > 1
                           ? " (and " + std::to_string(index_problems_.size() - 1) + " more)"
                           : ""),
                  "Run `vecsafe prune` to rebuild the index from the packs, then "
                  "`vecsafe verify`.");
}

std::optional<BlobLocation> RepositoryImpl::FindBlob(const Hash256& id) const {
  std::lock_guard<std::mutex> lk(index_mu_);
  const BlobLocation* loc = index_.Find(id);
  if (loc == nullptr) return std::nullopt;
  return *loc;
}

bool RepositoryImpl::HasBlob(const Hash256& id) const {
  std::lock_guard<std::mutex> lk(index_mu_);
  return index_.Has(id);
}

std::optional<Hash256> RepositoryImpl::BaseOf(const Hash256& id) const {
  std::lock_guard<std::mutex> lk(index_mu_);
  const Hash256* base = index_.BaseOf(id);
  if (base == nullptr) return std::nullopt;
  return *base;
}

Hash256 RepositoryImpl::PackIdAt(uint32_t pack) const {
  std::lock_guard<std::mutex> lk(index_mu_);
  return index_.pack_id(pack);
}

void RepositoryImpl::AddPacksToIndex(const std::vector<IndexPack>& packs) {
  std::lock_guard<std::mutex> lk(index_mu_);
  for (const auto& p : packs) index_.AddPack(p);
}

namespace {
Status ChunkDamaged(const Hash256& id, std::string_view why) {
  return DataLoss("chunk " + HexEncode(id).substr(0, 16) + " is damaged: " + std::string(why));
}

// The codec's own errors (kDataLoss, kInternal) are damage of this chunk; any
// other code came from reading its delta base (a missing pack: kNotFound) and
// is kept, with this chunk named.
Status DecodeFailed(const Hash256& id, const Status& s) {
  if (s.code() != ErrorCode::kDataLoss && s.code() != ErrorCode::kInternal) {
    return s.WithContext("chunk " + HexEncode(id).substr(0, 16));
  }
  return ChunkDamaged(id, s.message());
}
}  // namespace

Status RepositoryImpl::DecodeBlob(const Hash256& id, std::string_view stored, std::string* out,
                                  bool check_id) const {
  size_t before = out->size();
  Status s = codec_->Decode(stored, out, AsStringView(id), &base_reader_);
  if (!s.ok()) return DecodeFailed(id, s);
  if (!check_id) return Status::OK();
  Hash256 got = codec_->ChunkId(out->data() + before, out->size() - before);
  if (got != id) {
    out->resize(before);
    return ChunkDamaged(id, "its content does not match its id");
  }
  return Status::OK();
}

Status RepositoryImpl::CheckChunkId(const Hash256& id, const char* p, size_t n) const {
  if (codec_->ChunkId(p, n) == id) return Status::OK();
  return ChunkDamaged(id, "its content does not match its id");
}

std::pair<Status, Status> RepositoryImpl::CheckChunkIds(const Hash256& a, const char* pa, size_t na,
                                                        const Hash256& b, const char* pb,
                                                        size_t nb) const {
  if (!id_pair_.has_value()) return {CheckChunkId(a, pa, na), CheckChunkId(b, pb, nb)};
  const auto [ia, ib] = id_pair_->TwoChunkIds(reinterpret_cast<const uint8_t*>(pa), na,
                                              reinterpret_cast<const uint8_t*>(pb), nb);
  const auto check = [](const Hash256& want, const Hash256& got) {
    return got == want ? Status::OK() : ChunkDamaged(want, "its content does not match its id");
  };
  return {check(a, ia), check(b, ib)};
}

Result<size_t> RepositoryImpl::DecodeBlobTo(const Hash256& id, std::string_view stored, char* dst,
                                            size_t cap, bool check_id) const {
  auto n = codec_->DecodeTo(stored, AsStringView(id), dst, cap, &base_reader_);
  if (!n.ok()) return DecodeFailed(id, n.status());
  if (check_id && codec_->ChunkId(dst, *n) != id) {
    return ChunkDamaged(id, "its content does not match its id");
  }
  return n;
}

Status RepositoryImpl::ReadChunk(const Hash256& id, std::string* out) {
  auto loc = FindBlob(id);
  if (!loc.has_value()) {
    VS_RETURN_IF_ERROR(CheckIndexHealthy());
    return NotFound("chunk " + HexEncode(id).substr(0, 16) + " is not in the index",
                    "The repository is missing data; run `vecsafe verify`.");
  }
  VS_ASSIGN_OR_RETURN(std::string stored,
                      ReadStoredBlob(*loc, "chunk " + HexEncode(id).substr(0, 16)));
  return DecodeBlob(id, stored, out);
}

Result<std::string> RepositoryImpl::ReadStoredBlob(const BlobLocation& loc,
                                                   std::string_view name) const {
  std::string key = PackKey(PackIdAt(loc.pack));
  VS_ASSIGN_OR_RETURN(std::string stored, store_->Get(key, loc.offset, loc.length));
  if (stored.size() != loc.length) {
    return DataLoss("pack " + key + " is truncated: " + std::string(name) + " lies beyond its end");
  }
  return stored;
}

Status RepositoryImpl::ReadDeltaBase(const Hash256& base, std::string* out) const {
  const std::string name = "delta base " + HexEncode(base).substr(0, 16);
  auto loc = FindBlob(base);
  if (!loc.has_value()) {
    return NotFound(name + " is not in the index",
                    "The repository is missing data; run `vecsafe verify`.");
  }
  auto stored = ReadStoredBlob(*loc, name);
  if (!stored.ok()) return stored.status().WithContext("reading " + name);
  // No base reader: a base is never a delta, and one that claims to be is damage.
  const size_t before = out->size();
  Status s = codec_->Decode(*stored, out, AsStringView(base));
  if (s.ok() && codec_->ChunkId(out->data() + before, out->size() - before) != base) {
    out->resize(before);
    s = DataLoss("its content does not match its id");
  }
  if (!s.ok()) return DataLoss(name + " is damaged: " + s.message());
  return Status::OK();
}

Result<std::unique_ptr<LockHandle>> RepositoryImpl::Lock(LockMode mode,
                                                         std::string_view operation) {
  LockRequest req;
  req.mode = mode;
  req.operation = std::string(operation);
  req.hostname = hostname_;
  req.wait_seconds = options_.lock_wait_seconds;
  req.break_stale = options_.break_stale_locks;
  return AcquireLock(store_.get(), req);
}

Result<std::unique_ptr<LockHandle>> RepositoryImpl::LockToRead(const Manifest& manifest,
                                                               std::string_view operation) {
  VS_ASSIGN_OR_RETURN(auto lock, Lock(LockMode::kShared, operation));
  if (!manifest.id.empty()) {
    auto st = store_->Stat(std::string(kSnapshotsPrefix) + manifest.id);
    if (!st.ok() && st.status().code() == ErrorCode::kNotFound) {
      return NotFound("snapshot " + manifest.ShortId() + " was removed while it was being opened",
                      "A forget ran at the same time; choose another with `vecsafe snapshots`.");
    }
    VS_RETURN_IF_ERROR(st.status());
  }
  // Index objects are named by their content: the same names, the same index.
  VS_ASSIGN_OR_RETURN(auto keys, ListIndexKeys());
  bool same = false;
  {
    std::lock_guard<std::mutex> lk(index_mu_);
    same = keys == index_keys_;
  }
  if (!same) VS_RETURN_IF_ERROR(LoadIndexFrom(std::move(keys)));
  return lock;
}

Result<std::vector<LockInfo>> RepositoryImpl::ListLocks() {
  return ListAllLocks(store_.get(), hostname_);
}

Result<int> RepositoryImpl::BreakLocks(bool all) {
  VS_ASSIGN_OR_RETURN(auto locks, ListLocks());
  int n = 0;
  for (const auto& l : locks) {
    if (all || l.stale) {
      VS_RETURN_IF_ERROR(store_->Delete(std::string(kLocksPrefix) + l.id));
      ++n;
    }
  }
  return n;
}

Result<std::vector<Manifest>> RepositoryImpl::ListSnapshots(std::vector<std::string>* skipped) {
  VS_ASSIGN_OR_RETURN(auto objects, store_->ListAll(kSnapshotsPrefix));
  std::vector<Manifest> out;
  for (const auto& o : objects) {
    auto id = IdFromKey(o.key);
    if (!id.ok()) continue;
    auto json = GetMeta(o.key, kSnapshotKind);
    Result<Manifest> m =
        json.ok() ? ParseManifestJson(*json, HexEncode(*id)) : Result<Manifest>(json.status());
    if (!m.ok()) {
      if (m.status().code() == ErrorCode::kNotFound) continue;  // removed meanwhile
      if (skipped != nullptr) skipped->push_back(m.status().message());
      continue;
    }
    out.push_back(std::move(*m));
  }
  std::sort(out.begin(), out.end(), [](const Manifest& a, const Manifest& b) {
    return a.time_unix_ns != b.time_unix_ns ? a.time_unix_ns < b.time_unix_ns : a.id < b.id;
  });
  return out;
}

Result<std::string> ResolveSnapshotKey(ObjectStore* store, std::string_view id_or_prefix) {
  std::string p(id_or_prefix);
  for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (p.size() < 4 || p.size() > 64 || !IsHex(p)) {
    return InvalidArgument("'" + std::string(id_or_prefix) + "' is not a snapshot id",
                           "Give at least 4 hex digits of an id from `vecsafe snapshots`.");
  }
  VS_ASSIGN_OR_RETURN(auto objects, store->ListAll(std::string(kSnapshotsPrefix) + p));
  std::vector<std::string> matches;
  for (const auto& o : objects) {
    if (IdFromKey(o.key).ok()) matches.push_back(o.key);
  }
  if (matches.empty()) {
    return NotFound("no snapshot " + std::string(id_or_prefix) + " in this repository",
                    "`vecsafe snapshots` lists the snapshot ids.");
  }
  if (matches.size() > 1) {
    std::string list;
    for (const auto& m : matches) list += " " + m.substr(10, 12);
    return InvalidArgument("snapshot prefix " + std::string(id_or_prefix) + " is ambiguous:" + list,
                           "Give more digits of the id.");
  }
  return matches.front();
}

Result<Manifest> RepositoryImpl::LoadSnapshot(std::string_view id_or_prefix) {
  VS_ASSIGN_OR_RETURN(std::string key, ResolveSnapshotKey(store_.get(), id_or_prefix));
  VS_ASSIGN_OR_RETURN(std::string json, GetMeta(key, kSnapshotKind));
  return ParseManifestJson(json, key.substr(10));
}

Result<std::optional<Manifest>> RepositoryImpl::FindLatest(std::string_view source_kind,
                                                           const nlohmann::json& source,
                                                           std::string_view hostname) {
  VS_ASSIGN_OR_RETURN(auto all, ListSnapshots(nullptr));
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->source_kind != source_kind) continue;
    if (!hostname.empty() && it->hostname != hostname) continue;
    bool match = true;
    if (source.is_object()) {
      for (const auto& [k, v] : source.items()) {
        if (!it->source.is_object() || !it->source.contains(k) || it->source[k] != v) {
          match = false;
          break;
        }
      }
    }
    if (match) return std::optional<Manifest>(std::move(*it));
  }
  return std::optional<Manifest>();
}

Status RepositoryImpl::RemoveSnapshots(const std::vector<std::string>& ids) {
  VS_ASSIGN_OR_RETURN(auto lock, Lock(LockMode::kExclusive, "forget"));
  std::vector<std::string> keys;
  for (const auto& id : ids) {
    VS_ASSIGN_OR_RETURN(std::string key, ResolveSnapshotKey(store_.get(), id));
    keys.push_back(key);
  }
  for (const auto& k : keys) VS_RETURN_IF_ERROR(store_->Delete(k));
  return lock->Release();
}

Result<ForgetResult> RepositoryImpl::Forget(const ForgetOptions& options) {
  RetentionPolicy policy;
  const ForgetPolicy& fp = options.policy;
  policy.keep_last = fp.keep_last;
  policy.keep_hourly = fp.keep_hourly;
  policy.keep_daily = fp.keep_daily;
  policy.keep_weekly = fp.keep_weekly;
  policy.keep_monthly = fp.keep_monthly;
  policy.keep_yearly = fp.keep_yearly;
  policy.keep_tags = fp.keep_tags;
  if (!fp.keep_within.empty()) {
    VS_ASSIGN_OR_RETURN(policy.keep_within, ParseRetentionDuration(fp.keep_within));
  } else if (fp.keep_within_seconds > 0) {
    int64_t hours = (fp.keep_within_seconds + 3599) / 3600;
    policy.keep_within.hours = static_cast<int>(std::min<int64_t>(hours, 999999999));
  }
  VS_RETURN_IF_ERROR(policy.Validate());
  if (policy.Empty()) {
    return InvalidArgument("no keep rule given",
                           "Give at least one --keep-* option; forget never removes every "
                           "snapshot by default.");
  }
  std::unique_ptr<LockHandle> lock;
  if (!options.dry_run) {
    VS_ASSIGN_OR_RETURN(lock, Lock(LockMode::kExclusive, "forget"));
  }
  std::vector<std::string> skipped;
  VS_ASSIGN_OR_RETURN(auto all, ListSnapshots(&skipped));
  std::vector<RetentionSnapshot> snaps;
  for (const auto& m : all) {
    RetentionSnapshot s;
    s.id = m.id;
    s.time_unix_nanos = m.time_unix_ns;
    s.tags = m.tags;
    s.group = m.hostname + "\n" + m.source_kind + "\n" + m.source.dump();
    snaps.push_back(std::move(s));
  }
  VS_ASSIGN_OR_RETURN(auto decisions, ApplyRetention(snaps, policy));
  ForgetResult result;
  for (const auto& d : decisions) {
    ForgetDecision fd;
    fd.id = all[d.index].id;
    fd.time = all[d.index].time;
    fd.keep = d.keep;
    fd.reasons = d.reasons;
    result.decisions.push_back(std::move(fd));
  }
  std::sort(result.decisions.begin(), result.decisions.end(),
            [](const ForgetDecision& a, const ForgetDecision& b) { return a.time > b.time; });
  for (const auto& d : result.decisions) {
    if (d.keep) continue;
    ++result.removed;
    if (!options.dry_run) {
      VS_RETURN_IF_ERROR(store_->Delete(std::string(kSnapshotsPrefix) + d.id));
    }
  }
  if (lock) VS_RETURN_IF_ERROR(lock->Release());
  return result;
}

namespace {

Result<RepoConfig> ReadConfig(ObjectStore* store) {
  auto bytes = store->Get(kConfigKey);
  if (!bytes.ok()) {
    // A missing bucket is reported as such by the remote drivers ("bucket 'b'
    // does not exist", with a hint to create it): more useful than "no repository".
    if (bytes.status().code() == ErrorCode::kNotFound &&
        bytes.status().message().find("bucket '") == std::string::npos) {
      return Status(ErrorCode::kRepoNotFound,
                    "no vecsafe repository at " + store->Describe() + " (no config object)");
    }
    return bytes.status();
  }
  auto config = ParseConfig(*bytes);
  if (!config.ok()) return config.status().WithContext(store->Describe());
  return config;
}

}  // namespace

Result<std::unique_ptr<RepositoryImpl>> OpenImpl(std::unique_ptr<ObjectStore> store,
                                                 const OpenOptions& options) {
  VS_ASSIGN_OR_RETURN(RepoConfig config, ReadConfig(store.get()));
  std::optional<Key256> master;
  if (config.encryption != Encryption::kNone) {
    if (options.password.empty()) {
      return Status(ErrorCode::kUnauthenticated,
                    "this repository is encrypted and needs a password",
                    "Set VECSAFE_PASSWORD or VECSAFE_PASSWORD_FILE.");
    }
    VS_ASSIGN_OR_RETURN(auto keys, store->ListAll(kKeysPrefix));
    if (keys.empty()) {
      return DataLoss("encrypted repository has no key object under keys/",
                      "The repository cannot be opened; restore keys/ from a copy.");
    }
    Status last = Status(ErrorCode::kUnauthenticated, "wrong password for this repository",
                         "Check VECSAFE_PASSWORD / VECSAFE_PASSWORD_FILE.");
    for (const auto& k : keys) {
      VS_ASSIGN_OR_RETURN(std::string body, store->Get(k.key));
      auto kf = ParseKeyFile(body);
      if (!kf.ok()) {
        last = kf.status().WithContext(k.key);
        continue;
      }
      auto m = UnwrapMasterKey(*kf, options.password);
      if (m.ok()) {
        master = *m;
        break;
      }
      if (last.code() != ErrorCode::kDataLoss) last = m.status();
    }
    if (!master.has_value()) return last;
  }
  auto repo = std::make_unique<RepositoryImpl>(std::move(store), options, config, master);
  VS_RETURN_IF_ERROR(repo->LoadIndex());
  return repo;
}

}  // namespace vecsafe::repo

namespace vecsafe {

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<ObjectStore> store,
                                                     const OpenOptions& options) {
  if (!store) return InvalidArgument("no object store given");
  VS_ASSIGN_OR_RETURN(auto repo, repo::OpenImpl(std::move(store), options));
  return std::unique_ptr<Repository>(std::move(repo));
}

Result<std::unique_ptr<Repository>> Repository::Init(std::unique_ptr<ObjectStore> store,
                                                     const InitOptions& init,
                                                     const OpenOptions& open) {
  using namespace repo;
  if (!store) return InvalidArgument("no object store given");
  auto existing = store->Stat(kConfigKey);
  if (existing.ok()) {
    return AlreadyExists("a vecsafe repository already exists at " + store->Describe(),
                         "Use it as it is, or choose an empty location.");
  }
  if (existing.status().code() != ErrorCode::kNotFound) return existing.status();
  ChunkerParams cp{init.chunk_min, init.chunk_avg, init.chunk_max, 0};
  VS_RETURN_IF_ERROR(cp.Validate());
  if (init.compression_level < 1 || init.compression_level > 19) {
    return InvalidArgument("compression level must be 1..19");
  }
  if (init.pack_target < 4096 || init.pack_target > (1ull << 30)) {
    return InvalidArgument("pack target size must be 4 KiB..1 GiB");
  }
  RepoConfig config;
  uint8_t rid[16];
  VS_RETURN_IF_ERROR(RandomBytes(rid, sizeof(rid)));
  config.repo_id = HexEncode(rid, sizeof(rid));
  config.chunk_min = init.chunk_min;
  config.chunk_avg = init.chunk_avg;
  config.chunk_max = init.chunk_max;
  config.encryption = init.encryption;
  config.compression_level = init.compression_level;
  config.pack_target = init.pack_target;
  config.created_unix_ns = NowUnixNs();
  OpenOptions open_opts = open;
  if (init.encryption != Encryption::kNone) {
    if (init.password.empty()) {
      return InvalidArgument("an encrypted repository needs a password",
                             "Set VECSAFE_PASSWORD or VECSAFE_PASSWORD_FILE.");
    }
    config.gear_seed_from_key = true;
    Key256 master{};
    VS_RETURN_IF_ERROR(RandomBytes(master.data(), master.size()));
    Argon2Params kdf;
    kdf.ops_limit = init.kdf_ops_limit;
    kdf.mem_limit_bytes = init.kdf_mem_limit_bytes;
    VS_ASSIGN_OR_RETURN(KeyFile kf, WrapMasterKey(master, init.password, kdf));
    kf.hostname = LocalHostname();
    std::string body = EncodeKeyFile(kf);
    VS_RETURN_IF_ERROR(store->Put(std::string(kKeysPrefix) + HexEncode(Sha256(body)), body));
    open_opts.password = init.password;
  } else {
    VS_RETURN_IF_ERROR(RandomBytes(&config.gear_seed, sizeof(config.gear_seed)));
  }
  // The config goes last: a repository without one does not exist yet.
  VS_RETURN_IF_ERROR(store->Put(kConfigKey, EncodeConfig(config), PutOptions{.if_absent = true}));
  VS_ASSIGN_OR_RETURN(auto repo, OpenImpl(std::move(store), open_opts));
  return std::unique_ptr<Repository>(std::move(repo));
}

Result<std::unique_ptr<Repository>> OpenRepositoryFromUrl(std::string_view url,
                                                          const OpenOptions& options) {
  VS_ASSIGN_OR_RETURN(auto store, OpenStore(url));
  return Repository::Open(std::move(store), options);
}

Result<std::unique_ptr<Repository>> InitRepositoryAtUrl(std::string_view url,
                                                        const InitOptions& init,
                                                        const OpenOptions& open) {
  VS_ASSIGN_OR_RETURN(auto store, OpenStore(url));
  return Repository::Init(std::move(store), init, open);
}

}  // namespace vecsafe
