// Verify: report every problem, never stop at the first.
//
// Cheap: index objects decode, every pack the index names exists with the
// size the index says, every snapshot decodes and every chunk it uses is in
// the index. --read-data adds: every pack is read once, its header checked
// against the index, and every chunk in it decrypted (its GCM tag checked),
// decompressed and re-hashed against its id, packs in parallel; a file is as
// good as its chunks. A chunk is hashed once however many snapshots use it,
// as restic does. A subset n/m reads only the packs whose id falls in that
// slice. read_files instead re-hashes every distinct file against its
// sha256 (a file that fails has its chunks re-hashed to name the damaged
// ones; chunks no file uses are hashed against their ids).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "repo/format.h"
#include "repo/manifest_codec.h"
#include "repo/repo_impl.h"

namespace vecsafe::repo {
namespace {

constexpr uint64_t kRunBytes = 4u << 20;
constexpr uint64_t kRunSlack = 256u << 10;  // unrelated bytes a run may read past
// Decoded bytes waiting for the hashing thread: enough that a slow run does
// not idle the decoders, little enough that memory stays flat.
constexpr uint64_t kAheadBytes = 32u << 20;
constexpr size_t kMaxUsers = 8;

class Reporter {
 public:
  explicit Reporter(VerifyReport* r) : r_(r) {}
  void Add(std::string kind, std::string id, VerifyStatus st, std::string detail = {},
           std::vector<std::string> used_by = {}) {
    std::lock_guard<std::mutex> lk(mu_);
    ++r_->counts[static_cast<int>(st)];
    if (st == VerifyStatus::kOk) return;
    r_->problems.push_back(
        VerifyItem{std::move(kind), std::move(id), st, std::move(detail), std::move(used_by)});
  }

 private:
  VerifyReport* r_;
  std::mutex mu_;
};

VerifyStatus StatusFor(const Status& s) {
  if (s.code() == ErrorCode::kNotFound) return VerifyStatus::kMissing;
  if (s.code() == ErrorCode::kDataLoss) return VerifyStatus::kChecksumMismatch;
  return VerifyStatus::kOther;
}

}  // namespace

Result<VerifyReport> RepositoryImpl::Verify(const VerifyOptions& options) {
  if (options.subset_m < 1 || options.subset_n < 1 || options.subset_n > options.subset_m) {
    return InvalidArgument("bad read-data subset " + std::to_string(options.subset_n) + "/" +
                               std::to_string(options.subset_m),
                           "Give n/m with 1 <= n <= m, e.g. 1/7.");
  }
  VS_ASSIGN_OR_RETURN(auto lock, Lock(LockMode::kShared, "verify"));
  VS_RETURN_IF_ERROR(LoadIndex());  // see what is on storage now
  VerifyReport report;
  Reporter rep(&report);

  // Index objects.
  std::vector<std::string> index_problems;
  MasterIndex index;
  {
    std::lock_guard<std::mutex> lk(index_mu_);
    index_problems = index_problems_;
    index = index_;
  }
  for (const auto& p : index_problems) {
    rep.Add("index", p.substr(0, p.find(':')),
            p.find("does not match") != std::string::npos ? VerifyStatus::kChecksumMismatch
                                                          : VerifyStatus::kOther,
            p);
  }

  // Packs: present and of the right size.
  VS_ASSIGN_OR_RETURN(auto objects, store_->ListAll(kDataPrefix));
  std::unordered_map<Hash256, uint64_t, Hash256Hasher> present;
  for (const auto& o : objects) {
    auto id = IdFromKey(o.key);
    if (id.ok()) present[*id] = o.size;
  }
  std::vector<bool> pack_ok(index.pack_count(), false);
  for (uint32_t i = 0; i < index.pack_count(); ++i) {
    const IndexPack& p = index.packs()[i];
    std::string key = PackKey(p.id);
    auto it = present.find(p.id);
    if (it == present.end()) {
      rep.Add("pack", key, VerifyStatus::kMissing, "listed in the index but not in storage");
    } else if (it->second != p.size) {
      rep.Add("pack", key, VerifyStatus::kSizeInvalid,
              "size " + std::to_string(it->second) + ", index says " + std::to_string(p.size));
    } else {
      pack_ok[i] = true;
      rep.Add("pack", key, VerifyStatus::kOk);
    }
    ++report.packs_checked;
  }

  // Snapshots and the chunks they use.
  VS_ASSIGN_OR_RETURN(auto snap_objects, store_->ListAll(kSnapshotsPrefix));
  std::vector<Manifest> manifests;
  for (const auto& o : snap_objects) {
    auto id = IdFromKey(o.key);
    if (!id.ok()) continue;
    auto json = GetMeta(o.key, "snapshot");
    Result<Manifest> m =
        json.ok() ? ParseManifestJson(*json, HexEncode(*id)) : Result<Manifest>(json.status());
    if (!m.ok()) {
      if (m.status().code() == ErrorCode::kNotFound) continue;
      rep.Add("snapshot", o.key, StatusFor(m.status()), m.status().message());
      continue;
    }
    rep.Add("snapshot", o.key, VerifyStatus::kOk);
    manifests.push_back(std::move(*m));
  }
  // The files that use each chunk, as indexes into user_names ("<snapshot>:
  // <path>", one per file): a string per chunk and file made verify's memory
  // grow with the repository, ~10 MiB for 3 snapshots of 2 GiB.
  std::vector<std::string> user_names;
  std::unordered_map<Hash256, std::vector<uint32_t>, Hash256Hasher> users;
  const auto users_of = [&](const std::vector<uint32_t>& who) {
    std::vector<std::string> out;
    out.reserve(who.size());
    for (uint32_t w : who) out.push_back(user_names[w]);
    return out;
  };
  for (const auto& m : manifests) {
    for (const auto& e : m.entries) {
      if (e.type != EntryType::kFile) continue;
      uint64_t sum = 0;
      bool all_known = true;
      const auto who = static_cast<uint32_t>(user_names.size());
      user_names.push_back(m.ShortId() + ":" + e.path);
      for (const auto& hex : e.chunks) {
        auto id = ParseHash256(hex);
        if (!id.ok()) continue;  // the manifest parser rejects these
        auto& u = users[*id];
        if (u.size() < kMaxUsers && (u.empty() || u.back() != who)) u.push_back(who);
        const BlobLocation* loc = index.Find(*id);
        if (loc == nullptr) {
          all_known = false;
          continue;
        }
        sum += loc->raw_length;
      }
      if (all_known && sum != e.size) {
        rep.Add("file", m.ShortId() + ":" + e.path, VerifyStatus::kSizeInvalid,
                "chunks add up to " + std::to_string(sum) + " bytes, manifest says " +
                    std::to_string(e.size));
      }
    }
  }
  std::unordered_set<Hash256, Hash256Hasher> bad_chunks;
  for (const auto& [id, who] : users) {
    ++report.chunks_checked;
    const BlobLocation* loc = index.Find(id);
    // A delta is only as present as its base.
    const Hash256* base = loc == nullptr ? nullptr : index.BaseOf(id);
    const BlobLocation* base_loc = base == nullptr ? nullptr : index.Find(*base);
    if (loc == nullptr) {
      rep.Add("chunk", HexEncode(id), VerifyStatus::kMissing, "not in the index", users_of(who));
      bad_chunks.insert(id);
    } else if (!pack_ok[loc->pack]) {
      rep.Add("chunk", HexEncode(id), VerifyStatus::kMissing,
              "its pack " + PackKey(index.pack_id(loc->pack)) + " is missing or truncated",
              users_of(who));
      bad_chunks.insert(id);
    } else if (base != nullptr && (base_loc == nullptr || !pack_ok[base_loc->pack])) {
      rep.Add("chunk", HexEncode(id), VerifyStatus::kMissing,
              "its delta base " + HexEncode(*base).substr(0, 16) +
                  (base_loc == nullptr ? std::string(" is not in the index")
                                       : " is in a pack that is missing or truncated"),
              users_of(who));
      bad_chunks.insert(id);
    } else if (!options.read_data) {
      rep.Add("chunk", HexEncode(id), VerifyStatus::kOk);
    }
  }
  if (!options.read_data) return report;

  // ---- read-data ----
  const bool full = options.subset_m == 1;
  const bool by_file = full && options.read_files;
  std::vector<uint32_t> packs_to_read;
  for (uint32_t i = 0; i < index.pack_count(); ++i) {
    if (!pack_ok[i]) continue;
    const Hash256& id = index.pack_id(i);
    uint32_t slice =
        (static_cast<uint32_t>(id[0]) << 8 | id[1]) % static_cast<uint32_t>(options.subset_m);
    if (slice == static_cast<uint32_t>(options.subset_n - 1)) packs_to_read.push_back(i);
  }
  std::atomic<uint64_t> bytes_read{0};
  std::mutex bad_mu;
  std::mutex progress_mu;
  uint64_t total_bytes = 0;
  for (uint32_t i : packs_to_read) total_bytes += index.packs()[i].size;
  auto progress = [&](uint64_t n) {
    uint64_t done = bytes_read.fetch_add(n) + n;
    if (options.progress) {
      std::lock_guard<std::mutex> lk(progress_mu);
      options.progress(done, total_bytes);
    }
  };
  // Each worker keeps its buffers from pack to pack: a pack's bytes, and one
  // decoded chunk (no zero-filled string per chunk).
  struct Scratch {
    std::string data;
    std::unique_ptr<char[]> plain[2];
    size_t plain_cap = 0;
  };
  auto run_parallel = [&](size_t count, const std::function<void(size_t, Scratch*)>& fn) {
    std::atomic<size_t> next{0};
    std::vector<std::thread> pool;
    int n = std::max(1, std::min<int>(reader_threads(), static_cast<int>(count)));
    for (int t = 0; t < n; ++t) {
      pool.emplace_back([&] {
        Scratch scratch;
        for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) fn(i, &scratch);
      });
    }
    for (auto& t : pool) t.join();
  };

  // Pack pass: headers against the index; decode the chunks that no file
  // pass below will read (all of them for a subset).
  run_parallel(packs_to_read.size(), [&](size_t k, Scratch* scratch) {
    uint32_t pi = packs_to_read[k];
    const IndexPack& p = index.packs()[pi];
    std::string key = PackKey(p.id);
    std::vector<const PackEntry*> todo;
    for (const auto& b : p.blobs) {
      if (!by_file || users.count(b.id) == 0) todo.push_back(&b);
    }
    uint64_t tail = std::min<uint64_t>(p.size, 64u << 10);
    auto suffix = store_->Get(key, p.size - tail, tail);
    if (!suffix.ok()) {
      rep.Add("pack", key, StatusFor(suffix.status()), suffix.status().message());
      return;
    }
    auto entries = ParsePackSuffix(*suffix, p.size, data_key_);
    if (!entries.ok() && entries.status().code() == ErrorCode::kDataLoss &&
        entries.status().message().find("not in the bytes read") != std::string::npos) {
      suffix = store_->Get(key);
      if (suffix.ok()) entries = ParsePackSuffix(*suffix, p.size, data_key_);
    }
    if (!entries.ok()) {
      rep.Add("pack", key, VerifyStatus::kChecksumMismatch,
              "pack header: " + entries.status().message());
    } else {
      std::set<std::tuple<Hash256, uint64_t, uint32_t>> listed;
      for (const auto& e : *entries) listed.emplace(e.id, e.offset, e.length);
      for (const auto& b : p.blobs) {
        if (listed.count({b.id, b.offset, b.length}) == 0) {
          rep.Add("pack", key, VerifyStatus::kOther,
                  "pack header does not list chunk " + HexEncode(b.id).substr(0, 16) +
                      " that the index places there");
          break;
        }
      }
    }
    if (todo.empty()) return;
    std::string& data = scratch->data;
    if (Status read = store_->GetInto(key, 0, kToEnd, &data); !read.ok()) {
      rep.Add("pack", key, StatusFor(read), read.message());
      return;
    }
    progress(data.size());
    // Two chunks at a time: decoded into two buffers, then hashed side by
    // side (CheckChunkIds).
    const auto decode = [&](const PackEntry* b, char* plain) -> Status {
      // A blob that claims more than its index entry's raw length is damaged.
      if (b->offset + b->length > data.size()) return DataLoss("beyond the end of its pack");
      auto n = DecodeBlobTo(b->id, std::string_view(data).substr(b->offset, b->length), plain,
                            b->raw_length, /*check_id=*/false);
      if (n.ok() && *n != b->raw_length) {
        return DataLoss("chunk " + HexEncode(b->id).substr(0, 16) + " decodes to " +
                        std::to_string(*n) + " bytes, the index says " +
                        std::to_string(b->raw_length));
      }
      return n.status();
    };
    const auto record = [&](const PackEntry* b, const Status& s) {
      auto u = users.find(b->id);
      rep.Add("chunk", HexEncode(b->id), s.ok() ? VerifyStatus::kOk : StatusFor(s),
              s.ok() ? "" : s.message() + " (in " + key + ")",
              s.ok() || u == users.end() ? std::vector<std::string>{} : users_of(u->second));
      if (!s.ok()) {
        std::lock_guard<std::mutex> lk(bad_mu);
        bad_chunks.insert(b->id);
      }
    };
    for (const PackEntry* b : todo) {
      if (scratch->plain_cap < b->raw_length) {
        scratch->plain_cap = std::max<size_t>(b->raw_length, config_.chunk_max);
        scratch->plain[0] = std::make_unique_for_overwrite<char[]>(scratch->plain_cap);
        scratch->plain[1] = std::make_unique_for_overwrite<char[]>(scratch->plain_cap);
      }
    }
    for (size_t t = 0; t < todo.size(); t += 2) {
      const PackEntry* a = todo[t];
      const PackEntry* b = t + 1 < todo.size() ? todo[t + 1] : nullptr;
      char* const pa = scratch->plain[0].get();
      char* const pb = scratch->plain[1].get();
      Status sa = decode(a, pa);
      Status sb = b != nullptr ? decode(b, pb) : Status::OK();
      if (b != nullptr && sa.ok() && sb.ok()) {
        std::tie(sa, sb) = CheckChunkIds(a->id, pa, a->raw_length, b->id, pb, b->raw_length);
      } else {
        if (sa.ok()) sa = CheckChunkId(a->id, pa, a->raw_length);
        if (b != nullptr && sb.ok()) sb = CheckChunkId(b->id, pb, b->raw_length);
      }
      record(a, sa);
      if (b != nullptr) record(b, sb);
    }
  });

  if (full && !by_file) {
    // Every chunk was checked against its id above: a file is as good as its
    // chunks (sizes were added up in the cheap part).
    std::set<std::pair<std::string, std::vector<std::string>>> distinct;
    for (const auto& m : manifests) {
      for (const auto& e : m.entries) {
        if (e.type != EntryType::kFile) continue;
        distinct.emplace(e.sha256, e.chunks);
        std::string bad;
        for (const auto& hex : e.chunks) {
          auto id = ParseHash256(hex);
          if (id.ok() && bad_chunks.count(*id) != 0) {
            bad = hex.substr(0, 16);
            break;
          }
        }
        rep.Add("file", m.ShortId() + ":" + e.path,
                bad.empty() ? VerifyStatus::kOk : VerifyStatus::kChecksumMismatch,
                bad.empty() ? "" : "contains damaged or missing chunk " + bad);
      }
    }
    report.files_checked = distinct.size();
  }
  if (by_file) {
    // File pass: every distinct file content once; its chunks in order.
    std::map<std::pair<std::string, std::vector<std::string>>, std::vector<std::string>> distinct;
    std::vector<const FileEntry*> firsts;
    for (const auto& m : manifests) {
      for (const auto& e : m.entries) {
        if (e.type != EntryType::kFile) continue;
        auto [it, fresh] = distinct.try_emplace({e.sha256, e.chunks});
        it->second.push_back(m.ShortId() + ":" + e.path);
        if (fresh) firsts.push_back(&e);
      }
    }
    std::vector<const std::vector<std::string>*> names;
    for (const FileEntry* e : firsts) names.push_back(&distinct[{e->sha256, e->chunks}]);
    std::unordered_set<Hash256, Hash256Hasher> reported;  // each chunk reported once
    // Every file is cut into runs of chunks (close together in one pack,
    // one read each). Workers read and decode runs ahead, in file order, while
    // this thread hashes the decoded runs in order: the sha256 of a file is
    // serial, the decoding is not, and a single large file (a Qdrant
    // snapshot, a big chroma.sqlite3) still keeps every core busy. At most
    // kAheadBytes of decoded runs wait, so memory stays flat whatever the size.
    struct Run {
      size_t i = 0, j = 0;  // ids[i, j) of its file
      uint32_t pack = 0;
      uint64_t lo = 0, hi = 0;  // the span of the pack it reads
      uint64_t raw = 0;         // bytes once decoded
      uint64_t at = 0;          // where in `ring` they go
      uint64_t take = 0;        // raw plus the end of the ring skipped before it
    };
    struct RunResult {
      Status read;                // the read of the whole run
      std::vector<Status> chunk;  // per chunk of the run when read ok
      std::vector<size_t> len;    // per chunk, its decoded length in the ring
    };
    std::vector<std::vector<Hash256>> file_ids(firsts.size());
    std::vector<std::string> damaged(firsts.size());  // first bad chunk, per file
    std::vector<Run> runs;
    std::vector<size_t> file_of_run;
    std::vector<size_t> runs_begin(firsts.size() + 1, 0);
    for (size_t k = 0; k < firsts.size(); ++k) {
      runs_begin[k] = runs.size();
      std::vector<Hash256>& ids = file_ids[k];
      for (const auto& hex : firsts[k]->chunks) ids.push_back(*ParseHash256(hex));
      for (size_t i = 0; i < ids.size();) {
        const BlobLocation* first = index.Find(ids[i]);
        if (first == nullptr || bad_chunks.count(ids[i]) != 0 || !pack_ok[first->pack]) {
          if (damaged[k].empty()) damaged[k] = HexEncode(ids[i]).substr(0, 16);
          ++i;
          continue;
        }
        // A run takes the next chunks of the file while they sit in the same
        // pack close together: two workers wrote them, so neighbours are
        // often swapped or a few blobs apart, and one read for the span beats
        // one read per chunk.
        size_t j = i + 1;
        uint64_t lo = first->offset, hi = first->offset + first->length;
        uint64_t used = first->length, raw = first->raw_length;
        while (j < ids.size()) {
          const BlobLocation* l = index.Find(ids[j]);
          if (l == nullptr || l->pack != first->pack) break;
          const uint64_t nlo = std::min(lo, l->offset);
          const uint64_t nhi = std::max(hi, l->offset + l->length);
          if (nhi - nlo > kRunBytes || nhi - nlo > 2 * (used + l->length) + kRunSlack ||
              raw + l->raw_length > kRunBytes) {
            break;
          }
          lo = nlo;
          hi = nhi;
          used += l->length;
          raw += l->raw_length;
          ++j;
        }
        runs.push_back(Run{i, j, first->pack, lo, hi, raw});
        file_of_run.push_back(k);
        i = j;
      }
    }
    runs_begin[firsts.size()] = runs.size();
    uint64_t max_run_raw = 0;
    for (const Run& run : runs) max_run_raw = std::max(max_run_raw, run.raw);

    // Decoded runs wait in a ring, taken and freed in run order (one buffer
    // for the whole verify: a buffer per run or per chunk, freed on another
    // thread, fragmented the heap and RSS grew with the repository).
    const uint64_t ring_size = kAheadBytes + max_run_raw;
    auto ring = std::make_unique_for_overwrite<char[]>(ring_size);
    uint64_t ring_head = 0;  // where the next run goes, unless it must wrap
    uint64_t ring_used = 0;  // bytes taken by runs not yet hashed, skipped ends included

    // Slots for runs in flight; kAheadBytes is the limit that usually binds.
    const size_t ahead = 1024;
    std::vector<RunResult> slots(ahead);
    std::vector<bool> ready(ahead, false);
    std::mutex pipe_mu;
    std::condition_variable ready_cv;
    std::condition_variable space_cv;
    size_t next_run = 0;  // the next run a worker takes
    size_t consumed = 0;  // runs this thread has taken
    // `got` is the calling decoder's buffer for the run's stored bytes.
    auto decode_run = [&](size_t r, RunResult* out, std::string* got) {
      const Run& run = runs[r];
      const std::vector<Hash256>& ids = file_ids[file_of_run[r]];
      std::string key = PackKey(index.pack_id(run.pack));
      Status read = store_->GetInto(key, run.lo, run.hi - run.lo, got);
      if (!read.ok() || got->size() != run.hi - run.lo) {
        out->read = read.ok() ? DataLoss("pack " + key + " is truncated")
                              : read.WithContext("reading pack " + key);
        return;
      }
      progress(got->size());
      out->chunk.resize(run.j - run.i);
      out->len.assign(run.j - run.i, 0);
      char* const plain = ring.get() + run.at;
      size_t at = 0;
      for (size_t x = run.i; x < run.j; ++x) {
        const BlobLocation* l = index.Find(ids[x]);
        // The chunk's id is not re-hashed here: the file's sha256 covers
        // the same bytes, and the chunks of a file that fails it are
        // re-checked one by one below to name the damaged ones.
        auto n = DecodeBlobTo(ids[x], std::string_view(*got).substr(l->offset - run.lo, l->length),
                              plain + at, run.raw - at, /*check_id=*/false);
        Status st = n.status();
        if (!st.ok()) {
          st = Status(st.code(), st.message() + " (in " + key + ")", st.hint());
        } else {
          out->len[x - run.i] = *n;
          at += *n;
        }
        out->chunk[x - run.i] = st;
      }
    };
    std::vector<std::thread> decoders;
    const int n_decoders =
        std::max(1, std::min<int>(reader_threads(), static_cast<int>(runs.size())));
    for (int t = 0; t < n_decoders && !runs.empty(); ++t) {
      decoders.emplace_back([&] {
        std::string stored;
        while (true) {
          size_t r;
          {
            std::unique_lock<std::mutex> lk(pipe_mu);
            // The next run goes at ring_head, or at 0 if it does not fit before
            // the end; it may once the runs before it there are hashed.
            const auto wraps = [&](const Run& run) { return ring_head + run.raw > ring_size; };
            const auto skip = [&](const Run& run) {
              return wraps(run) ? ring_size - ring_head : uint64_t{0};
            };
            space_cv.wait(lk, [&] {
              if (next_run >= runs.size()) return true;
              if (ring_used == 0) ring_head = 0;  // empty: any run fits from the start
              const Run& run = runs[next_run];
              return next_run < consumed + ahead && ring_used + skip(run) + run.raw <= ring_size;
            });
            if (next_run >= runs.size()) return;
            r = next_run++;
            Run& run = runs[r];
            // (A run that ends exactly at the end leaves ring_head == ring_size:
            // the next one wraps with nothing skipped.)
            run.take = skip(run) + run.raw;
            run.at = wraps(run) ? 0 : ring_head;
            ring_head = run.at + run.raw;
            ring_used += run.take;
          }
          RunResult out;
          decode_run(r, &out, &stored);
          {
            std::lock_guard<std::mutex> lk(pipe_mu);
            slots[r % ahead] = std::move(out);
            ready[r % ahead] = true;
          }
          ready_cv.notify_all();
        }
      });
    }
    Sha256Stream sha;
    for (size_t k = 0; k < firsts.size(); ++k) {
      const FileEntry& e = *firsts[k];
      const std::vector<Hash256>& ids = file_ids[k];
      uint64_t size = 0;
      std::vector<Hash256> decoded;  // decoded fine; ok once the file's sha256 agrees
      for (size_t r = runs_begin[k]; r < runs_begin[k + 1]; ++r) {
        RunResult out;
        {
          std::unique_lock<std::mutex> lk(pipe_mu);
          ready_cv.wait(lk, [&] { return static_cast<bool>(ready[r % ahead]); });
          out = std::move(slots[r % ahead]);
          ready[r % ahead] = false;
          consumed = r + 1;
        }
        // In file order: reports, damage and the running sha256.
        const Run& run = runs[r];
        const char* const plain = ring.get() + run.at;
        size_t at = 0;
        for (size_t x = run.i; x < run.j; ++x) {
          const Status& st = out.read.ok() ? out.chunk[x - run.i] : out.read;
          if (!st.ok()) {
            if (damaged[k].empty()) damaged[k] = HexEncode(ids[x]).substr(0, 16);
            if (bad_chunks.insert(ids[x]).second) {
              rep.Add("chunk", HexEncode(ids[x]), StatusFor(st), st.message(),
                      users_of(users.at(ids[x])));
            }
            continue;
          }
          decoded.push_back(ids[x]);
          const size_t n = out.len[x - run.i];
          sha.Update(std::string_view(plain + at, n));
          at += n;
          size += n;
        }
        {
          std::lock_guard<std::mutex> lk(pipe_mu);
          ring_used -= run.take;
        }
        space_cv.notify_all();
      }
      std::string digest = HexEncode(sha.Finish());
      const bool content_ok = damaged[k].empty() && size == e.size && digest == e.sha256;
      for (const Hash256& id : decoded) {
        if (reported.count(id) != 0 || bad_chunks.count(id) != 0) continue;
        Status st;
        if (!content_ok) {
          // Name the culprit: this chunk's content against its own id.
          std::string plain;
          st = ReadChunk(id, &plain);
          if (const BlobLocation* l = index.Find(id); !st.ok() && l != nullptr) {
            st = Status(st.code(), st.message() + " (in " + PackKey(index.pack_id(l->pack)) + ")",
                        st.hint());
          }
        }
        if (st.ok()) {
          reported.insert(id);
          rep.Add("chunk", HexEncode(id), VerifyStatus::kOk);
        } else {
          if (damaged[k].empty()) damaged[k] = HexEncode(id).substr(0, 16);
          bad_chunks.insert(id);
          rep.Add("chunk", HexEncode(id), StatusFor(st), st.message(), users_of(users.at(id)));
        }
      }
      for (const auto& name : *names[k]) {
        if (!damaged[k].empty()) {
          rep.Add("file", name, VerifyStatus::kChecksumMismatch,
                  "contains damaged or missing chunk " + damaged[k]);
        } else if (size != e.size) {
          rep.Add("file", name, VerifyStatus::kSizeInvalid,
                  "restores to " + std::to_string(size) + " bytes, manifest says " +
                      std::to_string(e.size));
        } else if (digest != e.sha256) {
          rep.Add("file", name, VerifyStatus::kChecksumMismatch,
                  "content does not match the recorded sha256");
        } else {
          rep.Add("file", name, VerifyStatus::kOk);
        }
      }
    }
    for (auto& t : decoders) t.join();
    report.files_checked = firsts.size();
  }
  report.bytes_read = bytes_read.load();
  VS_RETURN_IF_ERROR(lock->Release());
  return report;
}

}  // namespace vecsafe::repo
