// Prune: delete what no snapshot uses, repack sparse packs, rewrite the index.
//
// Crash-safe order: (1) new packs (repacked chunks) are written, (2) a new
// index object that lists every pack that stays and "supersedes" all old
// index objects is written, (3) old index objects are deleted, (4) unused
// and repacked packs are deleted. A crash after (2) leaves packs nobody
// lists; the next prune removes them. Packs that no index lists (leftovers
// of an interrupted backup, or packs of a damaged index) are read by their
// header, so chunks a snapshot still uses are never lost.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "repo/format.h"
#include "repo/manifest_codec.h"
#include "repo/repo_impl.h"

namespace vecsafe::repo {

Result<PruneResult> RepositoryImpl::Prune(const PruneOptions& options) {
  if (options.repack_unused_fraction < 0 || options.repack_unused_fraction > 1) {
    return InvalidArgument("repack threshold must be between 0 and 1");
  }
  VS_ASSIGN_OR_RETURN(auto lock, Lock(LockMode::kExclusive, "prune"));
  VS_RETURN_IF_ERROR(LoadIndex());
  PruneResult result;

  // Temporary files of writers killed mid-Put. Safe at any age here: the
  // exclusive lock means no backup is writing.
  if (!options.dry_run) {
    VS_ASSIGN_OR_RETURN(uint64_t removed_tmp,
                        store_->RemoveAbandonedWrites(std::chrono::seconds(0)));
    (void)removed_tmp;
  }

  // 1. Every chunk a snapshot uses. A damaged manifest stops the prune: we
  // cannot know what it needs.
  std::vector<std::string> skipped;
  VS_ASSIGN_OR_RETURN(auto manifests, ListSnapshots(&skipped));
  if (!skipped.empty()) {
    return DataLoss("cannot prune: " + skipped.front(),
                    "Remove the damaged snapshot (`vecsafe forget <id>`) or restore it from a "
                    "copy, then prune again.");
  }
  std::unordered_set<Hash256, Hash256Hasher> used;
  for (const auto& m : manifests) {
    for (const auto& e : m.entries) {
      for (const auto& hex : e.chunks) used.insert(*ParseHash256(hex));
    }
  }

  // 2. Packs: indexed ones, plus any other pack in storage read by its header.
  std::vector<IndexPack> packs;
  std::vector<Hash256> old_index_files;
  std::vector<std::string> damaged_index_keys;
  {
    std::lock_guard<std::mutex> lk(index_mu_);
    packs = index_.packs();
    old_index_files = index_files_;
  }
  VS_ASSIGN_OR_RETURN(auto index_objects, store_->ListAll(kIndexPrefix));
  {
    std::set<Hash256> live(old_index_files.begin(), old_index_files.end());
    for (const auto& o : index_objects) {
      auto id = IdFromKey(o.key);
      if (id.ok() && live.count(*id) == 0) damaged_index_keys.push_back(o.key);
    }
  }
  std::unordered_map<Hash256, uint64_t, Hash256Hasher> stored_packs;
  VS_ASSIGN_OR_RETURN(auto data_objects, store_->ListAll(kDataPrefix));
  for (const auto& o : data_objects) {
    auto id = IdFromKey(o.key);
    if (id.ok()) stored_packs[*id] = o.size;
  }
  std::unordered_set<Hash256, Hash256Hasher> indexed;
  std::vector<IndexPack> present;
  for (auto& p : packs) {
    indexed.insert(p.id);
    auto it = stored_packs.find(p.id);
    if (it != stored_packs.end() && it->second == p.size) present.push_back(std::move(p));
  }
  std::vector<Hash256> unreadable;  // packs in storage whose header is damaged
  for (const auto& [id, size] : stored_packs) {
    if (indexed.count(id) != 0) continue;
    auto bytes = store_->Get(PackKey(id), size > (1u << 20) ? size - (1u << 20) : 0);
    if (!bytes.ok()) continue;
    auto entries = ParsePackSuffix(*bytes, size, data_key_);
    if (!entries.ok()) {
      unreadable.push_back(id);
      continue;
    }
    IndexPack ip;
    ip.id = id;
    ip.size = size;
    ip.blobs = std::move(*entries);
    present.push_back(std::move(ip));
  }

  // 3. The base of every used chunk that is kept as a delta is used too (the
  // copy that counts is the first one, as below). One round suffices, since a
  // base is never a delta, but a damaged repository may say otherwise: loop.
  {
    std::unordered_map<Hash256, const PackEntry*, Hash256Hasher> first_copy;
    for (const auto& p : present) {
      for (const auto& b : p.blobs) first_copy.try_emplace(b.id, &b);
    }
    std::vector<Hash256> todo(used.begin(), used.end());
    while (!todo.empty()) {
      const Hash256 id = todo.back();
      todo.pop_back();
      auto it = first_copy.find(id);
      if (it == first_copy.end() || !it->second->is_delta()) continue;
      if (used.insert(it->second->base).second) todo.push_back(it->second->base);
    }
  }

  // 4. Classify. A chunk counts as used in the first pack that holds it.
  std::unordered_set<Hash256, Hash256Hasher> found;
  enum class Fate { kKeep, kRepack, kDelete };
  std::vector<Fate> fate(present.size(), Fate::kKeep);
  std::vector<uint64_t> used_bytes(present.size(), 0);
  for (size_t i = 0; i < present.size(); ++i) {
    uint64_t total = 0;
    for (const auto& b : present[i].blobs) {
      total += b.length;
      if (used.count(b.id) != 0 && found.insert(b.id).second) used_bytes[i] += b.length;
    }
    if (used_bytes[i] == 0) {
      fate[i] = Fate::kDelete;
    } else if (total > 0 &&
               static_cast<double>(total - used_bytes[i]) / static_cast<double>(total) >
                   options.repack_unused_fraction) {
      fate[i] = Fate::kRepack;
    }
    if (fate[i] == Fate::kKeep && indexed.count(present[i].id) == 0) {
      // An unindexed pack stays as it is; the new index lists it.
    }
  }
  uint64_t missing = 0;
  for (const auto& id : used) {
    if (found.count(id) == 0) ++missing;
  }
  if (missing > 0) {
    return DataLoss(
        std::to_string(missing) + " chunks used by snapshots are in no pack; prune would not help",
        "Run `vecsafe verify` to see which snapshots are affected and forget them.");
  }
  std::unordered_set<Hash256, Hash256Hasher> in_kept;
  for (size_t i = 0; i < present.size(); ++i) {
    if (fate[i] != Fate::kKeep) continue;
    for (const auto& b : present[i].blobs) in_kept.insert(b.id);
  }
  for (const auto& b : used) {
    if (in_kept.count(b) != 0) ++result.chunks_kept;
  }

  // 5. Repack.
  std::vector<IndexPack> new_packs;
  PackWriter writer;
  auto flush = [&]() -> Status {
    if (writer.empty()) return Status::OK();
    IndexPack ip;
    ip.blobs = writer.entries();
    VS_ASSIGN_OR_RETURN(std::string bytes, writer.Finish(data_key_, &ip.id));
    ip.size = bytes.size();
    if (!options.dry_run) VS_RETURN_IF_ERROR(store_->Put(PackKey(ip.id), bytes));
    new_packs.push_back(std::move(ip));
    ++result.packs_written;
    return Status::OK();
  };
  std::string plain;
  for (size_t i = 0; i < present.size(); ++i) {
    if (fate[i] != Fate::kRepack) continue;
    ++result.packs_repacked;
    std::string key = PackKey(present[i].id);
    VS_ASSIGN_OR_RETURN(std::string bytes, store_->Get(key));
    for (const auto& b : present[i].blobs) {
      if (used.count(b.id) == 0 || in_kept.count(b.id) != 0) continue;
      if (b.offset + b.length > bytes.size()) {
        return DataLoss("cannot repack " + key + ": it is truncated",
                        "Run `vecsafe verify --read-data`.");
      }
      std::string_view stored = std::string_view(bytes).substr(b.offset, b.length);
      plain.clear();
      Status s = DecodeBlob(b.id, stored, &plain);
      if (!s.ok()) {
        return s.WithContext("cannot repack " + key)
            .WithHint("Run `vecsafe verify --read-data` to see which snapshots are affected.");
      }
      writer.Add(b.id, stored, b.raw_length, b.encoding, b.is_delta() ? &b.base : nullptr);
      in_kept.insert(b.id);
      ++result.chunks_kept;
      if (writer.size() >= config_.pack_target) VS_RETURN_IF_ERROR(flush());
    }
  }
  VS_RETURN_IF_ERROR(flush());

  // 6. The new index, superseding every old one.
  IndexFile index;
  for (size_t i = 0; i < present.size(); ++i) {
    if (fate[i] == Fate::kKeep) index.packs.push_back(present[i]);
  }
  for (auto& p : new_packs) index.packs.push_back(p);
  index.supersedes = old_index_files;
  for (const auto& k : damaged_index_keys) {
    auto id = IdFromKey(k);
    if (id.ok()) index.supersedes.push_back(*id);
  }
  std::set<Hash256> used_set;
  for (size_t i = 0; i < present.size(); ++i) {
    if (fate[i] == Fate::kKeep) continue;
    ++result.packs_deleted;
    result.bytes_freed += present[i].size;
    for (const auto& b : present[i].blobs) {
      if (used.count(b.id) == 0) ++result.chunks_removed;
    }
  }
  for (const auto& id : unreadable) {
    ++result.packs_deleted;
    result.bytes_freed += stored_packs[id];
  }
  for (const auto& p : new_packs) result.bytes_freed -= std::min(result.bytes_freed, p.size);
  if (options.dry_run) return result;

  bool changed = result.packs_deleted > 0 || !new_packs.empty() || !damaged_index_keys.empty() ||
                 old_index_files.size() > 1;
  for (const auto& p : present) {
    if (indexed.count(p.id) == 0) changed = true;
  }
  if (changed) {
    VS_ASSIGN_OR_RETURN(Hash256 new_index, PutMeta(kIndexPrefix, "index", EncodeIndexJson(index)));
    result.index_files_rewritten = 1;
    // 7. Delete: old index objects first (superseded already), then packs.
    for (const auto& id : old_index_files) {
      if (id != new_index) VS_RETURN_IF_ERROR(store_->Delete(IndexKey(id)));
    }
    for (const auto& k : damaged_index_keys) VS_RETURN_IF_ERROR(store_->Delete(k));
    for (size_t i = 0; i < present.size(); ++i) {
      if (fate[i] != Fate::kKeep) VS_RETURN_IF_ERROR(store_->Delete(PackKey(present[i].id)));
    }
    // Unreadable packs hold nothing we can use (no snapshot chunk is missing).
    for (const auto& id : unreadable) VS_RETURN_IF_ERROR(store_->Delete(PackKey(id)));
  }
  VS_RETURN_IF_ERROR(LoadIndex());
  VS_RETURN_IF_ERROR(lock->Release());
  return result;
}

}  // namespace vecsafe::repo
