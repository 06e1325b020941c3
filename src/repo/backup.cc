// Backup: SnapshotBuilder, FileSink and the parallel pipeline behind them.
//
// The caller's thread cuts chunks (FastCDC) and hashes the whole file; a pool
// of workers computes chunk ids, drops duplicates, compresses, encrypts and
// packs; full packs go to uploader threads (one Put each), so a slow write
// or a remote round trip never idles the compressors. The chunks queued or in
// the workers sit in a fixed slab (kMaxInflightBytes), and the pack buffers
// (open, queued, uploading) are capped at uploaders + 1, so memory stays flat
// whatever the input size: Append() blocks when the caps are reached.
//
// A chunk of a changed file that stands where a chunk of the parent's version
// of that file stood (found by walking the parent's chunk list alongside,
// resynchronised on every chunk the two share) is also tried as a delta
// against that old chunk: a 64 KiB chunk with one 4 KiB page rewritten then
// stores about 4 KiB. An old chunk that is itself a delta hands over its own
// base, so no read ever follows more than one delta.
//
// Every kCheckpointBytes of packs (or kCheckpointSeconds, whichever comes
// first) the packs uploaded so far are written as an index object: a backup killed
// in the middle (a remote upload of hours) leaves them indexed, so the next
// backup finds their chunks and uploads only the rest. No snapshot refers to
// them until a manifest does; `prune` removes them if none ever does.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "base/version.h"
#include "repo/format.h"
#include "repo/manifest_codec.h"
#include "repo/repo_impl.h"
#include "repo/sha256_pair.h"

namespace vecsafe::repo {
namespace {

constexpr size_t kMaxInflightBytes = 12u << 20;
constexpr uint64_t kCheckpointBytes = 64u << 20;  // 4 packs of the default size
constexpr size_t kPackHeaderSlack = 64u << 10;    // a full pack's header: ~50 B per blob
constexpr auto kCheckpointSeconds = std::chrono::seconds(60);
// A delta is kept when it is at most this fraction of the chunk's ordinary
// stored form: below that the extra read of the base on restore pays for itself.
constexpr double kDeltaKeepFraction = 0.5;
// Deltas tried in a row without success, counted from the last chunk a file
// shared with its parent version, before a file stops trying (a rewritten
// file then costs at most this many wasted base reads per stretch).
constexpr uint64_t kDeltaMissesAllowed = 8;

// What the workers learn about one file's deltas; read by its sink.
struct DeltaFeedback {
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> hits{0};
};

// A delta candidate for one queued chunk.
struct DeltaHint {
  Hash256 base{};
  std::shared_ptr<DeltaFeedback> feedback;
};

// The caller's thread (read, sha256 of the file, chunking) is the one stage
// that cannot be spread over cores. With every core busy the scheduler gives
// it only its fair share next to the workers, and then every worker waits
// for it: measured on 2 cores, a 2 GiB backup took 5.0 s with equal
// priorities and 3.8-4.3 s with the workers 6 nice levels down. Linux applies
// setpriority() to a single thread; where it fails, nothing changes.
constexpr int kWorkerNiceOffset = 6;

void LowerThisThreadsPriority() {
  const auto tid = static_cast<id_t>(::gettid());
  errno = 0;
  const int now = ::getpriority(PRIO_PROCESS, tid);
  if (now == -1 && errno != 0) return;
  ::setpriority(PRIO_PROCESS, tid, std::min(19, now + kWorkerNiceOffset));
}

class BackupPipeline {
 public:
  BackupPipeline(RepositoryImpl* repo, int workers, int uploaders)
      : repo_(repo),
        slot_size_(repo->config().chunk_max),
        slot_count_(std::max<size_t>(2, kMaxInflightBytes / slot_size_)),
        slab_(std::make_unique_for_overwrite<char[]>(slot_count_ * slot_size_)),
        max_pending_packs_(static_cast<size_t>(uploaders) + 1) {
    // Highest index last: the first slots taken are the lowest, and a freed
    // slot is the next one taken, so only as many slots as are ever in flight
    // at once are touched.
    free_slots_.reserve(slot_count_);
    for (size_t i = slot_count_; i > 0; --i) free_slots_.push_back(i - 1);
    pack_ = PackWriter(TakePackBuffer());
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { WorkerLoop(); });
    for (int i = 0; i < uploaders; ++i) uploaders_.emplace_back([this] { UploadLoop(); });
  }
  ~BackupPipeline() {
    // Dropped without Flush(): the snapshot is abandoned, skip queued work.
    Fail(Cancelled("snapshot abandoned"));
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
    {
      std::lock_guard<std::mutex> lk(up_mu_);
      up_stop_ = true;
    }
    up_cv_.notify_all();
    for (auto& t : uploaders_) t.join();
  }

  // Queues a chunk whose id goes into *slot. Blocks while the pipeline is full.
  // With the id already known (`id`), a chunk the repository or this backup
  // already holds is neither copied nor queued.
  Status Submit(const uint8_t* data, size_t n, Hash256* slot, const Hash256* id,
                const DeltaHint* hint = nullptr) {
    if (id != nullptr) {
      *slot = *id;
      if (!ClaimNew(*id)) {
        chunks_total.fetch_add(1, std::memory_order_relaxed);
        return error();
      }
    }
    if (n > slot_size_) {
      return Internal("a chunk of " + std::to_string(n) + " bytes is larger than the maximum " +
                      std::to_string(slot_size_));
    }
    std::unique_lock<std::mutex> lk(mu_);
    space_cv_.wait(lk, [&] { return !error_.ok() || !free_slots_.empty(); });
    if (!error_.ok()) return error_;
    const size_t at = free_slots_.back();
    free_slots_.pop_back();
    lk.unlock();
    char* dst = slab_.get() + at * slot_size_;
    std::memcpy(dst, data, n);
    lk.lock();
    Job job{std::string_view(dst, n), at, slot, id != nullptr, {}};
    if (hint != nullptr) job.hint = *hint;
    queue_.push_back(std::move(job));
    lk.unlock();
    work_cv_.notify_one();
    return Status::OK();
  }

  Status error() {
    std::lock_guard<std::mutex> lk(mu_);
    return error_;
  }

  // Waits for every queued chunk, then uploads the last, partial pack.
  Status Flush() {
    {
      std::unique_lock<std::mutex> lk(mu_);
      idle_cv_.wait(lk, [&] { return (queue_.empty() && busy_ == 0) || !error_.ok(); });
      if (!error_.ok()) return error_;
    }
    std::unique_lock<std::mutex> plk(pack_mu_);
    if (!pack_.empty()) {
      PackWriter last = std::move(pack_);
      pack_ = PackWriter();
      plk.unlock();
      VS_RETURN_IF_ERROR(QueueUpload(std::move(last)));
    } else {
      plk.unlock();
    }
    std::unique_lock<std::mutex> ulk(up_mu_);
    up_done_cv_.wait(ulk, [&] { return (up_queue_.empty() && uploading_ == 0) || !error().ok(); });
    return error();
  }

  // Every pack this backup wrote (for the in-memory index).
  std::vector<IndexPack> TakeNewPacks() {
    std::lock_guard<std::mutex> lk(packs_mu_);
    return std::move(new_packs_);
  }

  // The packs not yet written to a checkpoint index (for the final index).
  std::vector<IndexPack> UncheckpointedPacks() {
    std::lock_guard<std::mutex> lk(packs_mu_);
    return {new_packs_.begin() + static_cast<std::ptrdiff_t>(checkpointed_), new_packs_.end()};
  }

  std::atomic<uint64_t> chunks_total{0};
  std::atomic<uint64_t> chunks_new{0};
  std::atomic<uint64_t> bytes_new_raw{0};
  std::atomic<uint64_t> bytes_new_stored{0};
  std::atomic<uint64_t> packs_written{0};
  std::atomic<uint64_t> chunks_delta{0};

 private:
  struct Job {
    std::string_view data;  // in slab_ slot `at`
    size_t at = kNoSlot;
    Hash256* slot;
    bool claimed = false;  // id in *slot, already claimed by ClaimNew()
    DeltaHint hint;        // feedback set: try a delta against hint.base
  };

  // True for the first sighting of a chunk that the repository lacks: the
  // caller stores it. Later sightings (and stored chunks) are false.
  bool ClaimNew(const Hash256& id) {
    std::lock_guard<std::mutex> lk(dedup_mu_);
    if (!seen_.insert(id).second) return false;
    return !repo_->HasBlob(id);
  }

  void Fail(const Status& s) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (error_.ok()) error_ = s;
    }
    {
      // Taken so that TakePackBuffer() cannot miss the wake-up (as up_mu_ below).
      std::lock_guard<std::mutex> lk(pool_mu_);
    }
    pool_cv_.notify_all();
    space_cv_.notify_all();
    idle_cv_.notify_all();
    {
      // Taken so that a waiter cannot miss the wake-up between its check and its wait.
      std::lock_guard<std::mutex> lk(up_mu_);
    }
    up_space_cv_.notify_all();
    up_done_cv_.notify_all();
  }

  void WorkerLoop() {
    LowerThisThreadsPriority();
    std::string encoded;
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> lk(mu_);
        work_cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stop_ and nothing left
        job = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
      }
      Status s = error().ok() ? Process(job, &encoded) : Status::OK();
      if (!s.ok()) Fail(s);
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (job.at != kNoSlot) free_slots_.push_back(job.at);
        --busy_;
      }
      space_cv_.notify_one();
      idle_cv_.notify_all();
    }
  }

  Status Process(Job& job, std::string* encoded) {
    const BlobCodec& codec = repo_->codec();
    chunks_total.fetch_add(1, std::memory_order_relaxed);
    Hash256 id;
    if (job.claimed) {
      id = *job.slot;
    } else {
      id = codec.ChunkId(job.data);
      *job.slot = id;
      if (!ClaimNew(id)) return Status::OK();
    }
    encoded->clear();
    BlobEncoding encoding = BlobEncoding::kRaw;
    VS_RETURN_IF_ERROR(
        codec.Encode(job.data.data(), job.data.size(), encoded, AsStringView(id), &encoding));
    Hash256 base{};
    if (job.hint.feedback && TryDelta(job, id, encoded, &base)) encoding = BlobEncoding::kDelta;
    chunks_new.fetch_add(1, std::memory_order_relaxed);
    bytes_new_raw.fetch_add(job.data.size(), std::memory_order_relaxed);
    bytes_new_stored.fetch_add(encoded->size(), std::memory_order_relaxed);
    uint32_t raw_length = static_cast<uint32_t>(job.data.size());
    {
      // Free the plaintext before a possibly long wait for an upload slot.
      std::lock_guard<std::mutex> lk(mu_);
      free_slots_.push_back(job.at);
      job.at = kNoSlot;
    }
    space_cv_.notify_one();
    std::unique_lock<std::mutex> plk(pack_mu_);
    pack_.Add(id, *encoded, raw_length, static_cast<uint8_t>(encoding),
              encoding == BlobEncoding::kDelta ? &base : nullptr);
    if (pack_.size() < repo_->config().pack_target) return Status::OK();
    PackWriter full = std::move(pack_);
    pack_ = PackWriter(TakePackBuffer());
    plk.unlock();
    return QueueUpload(std::move(full));
  }

  // Replaces *encoded with a delta of the chunk against its hinted base when
  // that is small enough (kDeltaKeepFraction); *base gets the base used. A
  // base that cannot be read only means no delta: the chunk is stored whole.
  bool TryDelta(const Job& job, const Hash256& id, std::string* encoded, Hash256* base) {
    *base = job.hint.base;
    if (std::optional<Hash256> older = repo_->BaseOf(*base)) *base = *older;
    bool kept = false;
    if (*base != id) {
      thread_local std::string plain;
      thread_local std::string delta;
      plain.clear();
      delta.clear();
      if (repo_->ReadChunk(*base, &plain).ok() &&
          repo_->codec()
              .EncodeDelta(job.data.data(), job.data.size(), plain, *base, &delta, AsStringView(id))
              .ok() &&
          static_cast<double>(delta.size()) <=
              kDeltaKeepFraction * static_cast<double>(encoded->size())) {
        encoded->swap(delta);
        kept = true;
      }
    }
    (kept ? job.hint.feedback->hits : job.hint.feedback->misses)
        .fetch_add(1, std::memory_order_relaxed);
    if (kept) chunks_delta.fetch_add(1, std::memory_order_relaxed);
    return kept;
  }

  // A pack buffer from the pool (see PackWriter(std::string)), else a new one
  // with room for a full pack; at most max_buffers_ exist (the open pack and
  // the packs queued or uploading), and a worker that fills the open pack
  // waits here for an upload to hand its buffer back. Without the cap, a
  // worker that filled a pack while another waited to queue its own took one
  // more 16 MiB buffer, and how often that happened grew with the time spent
  // waiting on the disk: peak RSS grew with the size of the backup. Measured
  // on 2 GiB, the cap costs no time (the uploads keep up).
  std::string TakePackBuffer() {
    std::string buf;
    {
      std::unique_lock<std::mutex> lk(pool_mu_);
      pool_cv_.wait(lk, [&] { return !pool_.empty() || buffers_ < max_buffers_ || !error().ok(); });
      if (!pool_.empty()) {
        buf = std::move(pool_.back());
        pool_.pop_back();
      } else {
        ++buffers_;
      }
    }
    buf.clear();
    buf.reserve(repo_->config().pack_target + BlobCodec::MaxEncodedSize(repo_->config().chunk_max) +
                kPackHeaderSlack);
    return buf;
  }
  void ReturnPackBuffer(std::string buf) {
    {
      std::lock_guard<std::mutex> lk(pool_mu_);
      pool_.push_back(std::move(buf));
    }
    pool_cv_.notify_one();
  }

  // Hands a full pack to the uploaders; blocks while max_pending_packs_ wait.
  Status QueueUpload(PackWriter pack) {
    std::unique_lock<std::mutex> lk(up_mu_);
    up_space_cv_.wait(lk, [&] {
      return up_queue_.size() + uploading_ < max_pending_packs_ || up_stop_ || !error().ok();
    });
    VS_RETURN_IF_ERROR(error());
    up_queue_.push_back(std::move(pack));
    lk.unlock();
    up_cv_.notify_one();
    return Status::OK();
  }

  void UploadLoop() {
    while (true) {
      PackWriter pack;
      {
        std::unique_lock<std::mutex> lk(up_mu_);
        up_cv_.wait(lk, [&] { return up_stop_ || !up_queue_.empty(); });
        if (up_queue_.empty()) return;  // stopping and nothing left
        pack = std::move(up_queue_.front());
        up_queue_.pop_front();
        ++uploading_;
      }
      // After a failure the snapshot cannot commit: skip the remaining packs.
      Status s = error().ok() ? Upload(&pack) : Status::OK();
      if (!s.ok()) Fail(s);
      {
        std::lock_guard<std::mutex> lk(up_mu_);
        --uploading_;
      }
      up_space_cv_.notify_all();
      up_done_cv_.notify_all();
    }
  }

  Status Upload(PackWriter* pack) {
    IndexPack ip;
    ip.blobs = pack->entries();
    VS_ASSIGN_OR_RETURN(std::string bytes, pack->Finish(repo_->data_key(), &ip.id));
    ip.size = bytes.size();
    Status s = repo_->store().Put(PackKey(ip.id), bytes);
    ReturnPackBuffer(std::move(bytes));
    if (!s.ok()) return s.WithContext("writing pack " + HexEncode(ip.id).substr(0, 16));
    packs_written.fetch_add(1);
    std::vector<IndexPack> checkpoint;
    {
      std::lock_guard<std::mutex> lk(packs_mu_);
      uncheckpointed_bytes_ += ip.size;
      new_packs_.push_back(std::move(ip));
      const auto now = std::chrono::steady_clock::now();
      if (uncheckpointed_bytes_ >= kCheckpointBytes ||
          now - last_checkpoint_ >= kCheckpointSeconds) {
        checkpoint.assign(new_packs_.begin() + static_cast<std::ptrdiff_t>(checkpointed_),
                          new_packs_.end());
        checkpointed_ = new_packs_.size();
        uncheckpointed_bytes_ = 0;
        last_checkpoint_ = now;
      }
    }
    if (checkpoint.empty()) return Status::OK();
    IndexFile index;
    index.packs = std::move(checkpoint);
    auto id = repo_->PutMeta(kIndexPrefix, "index", EncodeIndexJson(index));
    if (!id.ok()) return id.status().WithContext("writing a checkpoint of the index");
    return Status::OK();
  }

  RepositoryImpl* repo_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable work_cv_, space_cv_, idle_cv_;
  std::deque<Job> queue_;
  // Queued chunks wait in slots of slab_ (chunk_max bytes each), not in a
  // string each: chunks of 16-256 KiB malloc'ed on the reading thread and
  // freed on the workers fragmented the heap, and a 2 GiB backup ended with
  // 30 MiB more RSS than a 500 MiB one. free_slots_ is guarded by mu_.
  static constexpr size_t kNoSlot = SIZE_MAX;
  const size_t slot_size_;
  const size_t slot_count_;
  std::unique_ptr<char[]> slab_;
  std::vector<size_t> free_slots_;
  int busy_ = 0;
  bool stop_ = false;
  Status error_;

  std::mutex dedup_mu_;
  std::unordered_set<Hash256, Hash256Hasher> seen_;
  std::mutex pack_mu_;
  PackWriter pack_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::string> pool_;  // buffers of uploaded packs
  size_t buffers_ = 0;             // pack buffers allocated, guarded by pool_mu_
  std::mutex packs_mu_;
  std::vector<IndexPack> new_packs_;   // guarded by packs_mu_, as the two below
  size_t checkpointed_ = 0;            // new_packs_[0, checkpointed_) are in index objects
  uint64_t uncheckpointed_bytes_ = 0;  // size of the packs after them
  std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();

  // Lock order: up_mu_ and pool_mu_ may be held while taking mu_ (through
  // error()), never the reverse.
  std::mutex up_mu_;
  std::condition_variable up_cv_, up_space_cv_, up_done_cv_;
  std::deque<PackWriter> up_queue_;
  size_t uploading_ = 0;
  const size_t max_pending_packs_;
  const size_t max_buffers_ = std::max<size_t>(2, max_pending_packs_);
  bool up_stop_ = false;
  std::vector<std::thread> uploaders_;
};

struct PendingEntry {
  FileEntry entry;
  size_t first_slot = 0;
  size_t slot_count = 0;
  bool from_parent = false;  // entry.chunks already filled
  bool dropped = false;      // sink destroyed without Close()
};

// Walks the parent's chunk list of the same path alongside the new file and
// names, for each chunk the file does not share with it, the old chunk that
// stood in its place (the delta candidate).
class DeltaCursor {
 public:
  explicit DeltaCursor(std::vector<Hash256> old) : old_(std::move(old)) {
    // Sorted (id, place) pairs rather than a hash map: 40 bytes a chunk, and
    // a repeated chunk (zero pages) resyncs to its next place, not its first.
    sorted_.reserve(old_.size());
    for (size_t i = 0; i < old_.size(); ++i) {
      sorted_.emplace_back(old_[i], static_cast<uint32_t>(i));
    }
    std::sort(sorted_.begin(), sorted_.end());
  }

  // The candidate for chunk `id`, or null (shared with the parent version,
  // past its end, or this file has missed too often since it last matched).
  const DeltaHint* Next(const Hash256& id) {
    if (cursor_ < old_.size() && old_[cursor_] == id) {
      Resync(cursor_ + 1);
      return nullptr;
    }
    auto first = std::lower_bound(sorted_.begin(), sorted_.end(), std::make_pair(id, uint32_t{0}));
    if (first != sorted_.end() && first->first == id) {
      auto at = std::lower_bound(first, sorted_.end(),
                                 std::make_pair(id, static_cast<uint32_t>(cursor_)));
      if (at == sorted_.end() || at->first != id) at = first;
      Resync(at->second + size_t{1});
      return nullptr;
    }
    if (cursor_ >= old_.size()) return nullptr;
    hint_.base = old_[cursor_++];
    const uint64_t misses = feedback_->misses.load(std::memory_order_relaxed);
    const uint64_t hits = feedback_->hits.load(std::memory_order_relaxed);
    if (misses - misses_at_sync_ >= kDeltaMissesAllowed + (hits - hits_at_sync_)) return nullptr;
    return &hint_;
  }

 private:
  void Resync(size_t next) {
    cursor_ = next;
    misses_at_sync_ = feedback_->misses.load(std::memory_order_relaxed);
    hits_at_sync_ = feedback_->hits.load(std::memory_order_relaxed);
  }

  std::vector<Hash256> old_;                          // the parent's chunks, in order
  std::vector<std::pair<Hash256, uint32_t>> sorted_;  // (id, place), sorted
  size_t cursor_ = 0;
  std::shared_ptr<DeltaFeedback> feedback_ = std::make_shared<DeltaFeedback>();
  DeltaHint hint_{{}, feedback_};
  uint64_t misses_at_sync_ = 0;
  uint64_t hits_at_sync_ = 0;
};

class BuilderImpl;

class FileSinkImpl : public FileSink {
 public:
  FileSinkImpl(BuilderImpl* b, size_t entry) : b_(b), entry_(entry) {}
  ~FileSinkImpl() override;
  Status Append(std::string_view bytes) override;
  Result<FileResult> Close() override;

 private:
  Status Emit(const uint8_t* p, size_t n);
  BuilderImpl* b_;
  size_t entry_;
  std::unique_ptr<StreamChunker> chunker_;
  // Where the CPU has SHA-NI, the file digest and the chunk ids in one pass
  // (Sha256Pair); else sha_ here and the chunk ids in the workers.
  std::optional<Sha256Pair> pair_;
  Sha256Stream sha_;
  // Set when the parent snapshot has this path: chunk ids are then computed
  // here (as pair_ does anyway) to walk its chunk list.
  std::unique_ptr<DeltaCursor> delta_;
  uint64_t size_ = 0;
  bool closed_ = false;
  friend class BuilderImpl;
};

class BuilderImpl : public SnapshotBuilder {
 public:
  BuilderImpl(RepositoryImpl* repo, SnapshotSpec spec, std::unique_ptr<LockHandle> lock,
              std::optional<Manifest> parent)
      : repo_(repo),
        spec_(std::move(spec)),
        lock_(std::move(lock)),
        pipeline_(std::make_unique<BackupPipeline>(repo, repo->threads(), repo->upload_threads())),
        started_ns_(NowUnixNs()),
        started_(std::chrono::steady_clock::now()) {
    if (parent.has_value()) {
      parent_id_ = parent->id;
      for (auto& e : parent->entries) {
        if (e.type == EntryType::kFile) {
          std::string path = e.path;
          parent_files_.emplace(std::move(path), std::move(e));
        }
      }
    }
  }

  Status AddDirectory(const EntryMeta& meta) override {
    VS_RETURN_IF_ERROR(CheckNewPath(meta.path));
    PendingEntry p;
    p.entry = MakeEntry(meta, EntryType::kDirectory);
    entries_.push_back(std::move(p));
    return Status::OK();
  }

  Status AddSymlink(const EntryMeta& meta, std::string_view target) override {
    VS_RETURN_IF_ERROR(CheckNewPath(meta.path));
    PendingEntry p;
    p.entry = MakeEntry(meta, EntryType::kSymlink);
    p.entry.link_target = std::string(target);
    entries_.push_back(std::move(p));
    return Status::OK();
  }

  Result<std::unique_ptr<FileSink>> BeginFile(const EntryMeta& meta) override {
    if (sink_open_) {
      return FailedPrecondition("another file of this snapshot is still open",
                                "Close() each FileSink before starting the next file.");
    }
    VS_RETURN_IF_ERROR(pipeline_->error());
    VS_RETURN_IF_ERROR(CheckNewPath(meta.path));
    PendingEntry p;
    p.entry = MakeEntry(meta, EntryType::kFile);
    p.first_slot = slots_.size();
    entries_.push_back(std::move(p));
    auto sink = std::make_unique<FileSinkImpl>(this, entries_.size() - 1);
    sink->chunker_ = std::make_unique<StreamChunker>(repo_->chunker());
    if (Sha256Pair::Available()) sink->pair_.emplace(repo_->codec().chunk_id_key());
    if (auto it = parent_files_.find(meta.path);
        it != parent_files_.end() && !it->second.chunks.empty()) {
      std::vector<Hash256> old;
      old.reserve(it->second.chunks.size());
      for (const auto& hex : it->second.chunks) {
        if (auto id = ParseHash256(hex); id.ok()) old.push_back(*id);
      }
      sink->delta_ = std::make_unique<DeltaCursor>(std::move(old));
      // The cursor has what the file cache would need of this path (the
      // caller asked AddUnchangedFile first): free the hex ids.
      parent_files_.erase(it);
    }
    sink_open_ = true;
    return std::unique_ptr<FileSink>(std::move(sink));
  }

  Result<bool> AddUnchangedFile(const EntryMeta& meta) override {
    auto it = parent_files_.find(meta.path);
    if (it == parent_files_.end()) return false;
    const FileEntry& old = it->second;
    if (old.size != meta.size || old.mtime_ns != meta.mtime_ns || old.inode != meta.inode ||
        old.device != meta.device) {
      return false;
    }
    // Reuse only what the index still has (a damaged or pruned parent must
    // not make the new snapshot point at nothing).
    for (const auto& hex : old.chunks) {
      auto id = ParseHash256(hex);
      if (!id.ok() || !repo_->HasBlob(*id)) return false;
    }
    VS_RETURN_IF_ERROR(CheckNewPath(meta.path));
    PendingEntry p;
    p.entry = old;
    p.entry.mode = meta.mode & 07777u;
    p.from_parent = true;
    entries_.push_back(std::move(p));
    ++files_unchanged_;
    return true;
  }

  void SetSourceInfo(const nlohmann::json& source) override {
    if (source.is_object()) {
      for (const auto& [k, v] : source.items()) spec_.source[k] = v;
    } else {
      spec_.source = source;
    }
  }

  void AddSourceChecksum(std::string_view path, std::string_view algorithm,
                         std::string_view hex) override {
    source_checksums_[std::string(path)][std::string(algorithm)] = std::string(hex);
  }

  Result<Manifest> Commit() override {
    if (committed_) return FailedPrecondition("snapshot already committed");
    if (sink_open_) {
      return FailedPrecondition("a file of this snapshot is still open",
                                "Close() the last FileSink before Commit().");
    }
    VS_RETURN_IF_ERROR(pipeline_->Flush());
    std::vector<IndexPack> rest = pipeline_->UncheckpointedPacks();
    if (!rest.empty()) {
      IndexFile index;
      index.packs = std::move(rest);
      auto id = repo_->PutMeta(kIndexPrefix, "index", EncodeIndexJson(index));
      if (!id.ok()) return id.status().WithContext("writing the index");
    }
    std::vector<IndexPack> packs = pipeline_->TakeNewPacks();
    if (!packs.empty()) repo_->AddPacksToIndex(packs);
    Manifest m;
    m.schema_version = kManifestSchemaVersion;
    m.time_unix_ns = started_ns_;
    m.time = FormatTimeNs(started_ns_);
    m.hostname = spec_.hostname.empty() ? repo_->hostname() : spec_.hostname;
    m.source_kind = spec_.source_kind;
    m.source = spec_.source;
    m.source_checksums = source_checksums_;
    m.tags = spec_.tags;
    m.parent = parent_id_;
    m.vecsafe_version = kVersion;
    SnapshotStats& st = m.stats;
    for (auto& p : entries_) {
      if (p.dropped) continue;
      FileEntry& e = p.entry;
      if (e.type == EntryType::kFile) {
        if (!p.from_parent) {
          e.chunks.reserve(p.slot_count);
          for (size_t i = 0; i < p.slot_count; ++i) {
            e.chunks.push_back(HexEncode(slots_[p.first_slot + i]));
          }
        }
        ++st.files;
        st.bytes_total += e.size;
      } else if (e.type == EntryType::kDirectory) {
        ++st.dirs;
      }
      m.entries.push_back(std::move(e));
    }
    std::sort(m.entries.begin(), m.entries.end(),
              [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
    st.bytes_read = bytes_read_;
    st.files_unchanged = files_unchanged_;
    st.chunks_total = pipeline_->chunks_total.load();
    for (const auto& p : entries_) {
      if (p.from_parent && !p.dropped) st.chunks_total += p.entry.chunks.size();
    }
    st.chunks_new = pipeline_->chunks_new.load();
    st.bytes_new_raw = pipeline_->bytes_new_raw.load();
    st.bytes_new_stored = pipeline_->bytes_new_stored.load();
    st.packs_written = pipeline_->packs_written.load();
    st.chunks_delta = pipeline_->chunks_delta.load();
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    pipeline_.reset();
    auto id = repo_->PutMeta(kSnapshotsPrefix, "snapshot", EncodeManifestJson(m));
    if (!id.ok()) return id.status().WithContext("writing the snapshot manifest");
    m.id = HexEncode(*id);
    committed_ = true;
    if (lock_) lock_->Release().IgnoreError();
    return m;
  }

  // A worker may still be writing a chunk id into slots_ when a backup is
  // abandoned: join the workers before slots_ (declared later, destroyed
  // earlier) goes.
  ~BuilderImpl() override { pipeline_.reset(); }

  // ---- used by FileSinkImpl ----
  Status SubmitChunk(size_t entry, const uint8_t* p, size_t n, const Hash256* id,
                     const DeltaHint* hint) {
    slots_.emplace_back();
    ++entries_[entry].slot_count;
    bytes_read_ += n;
    return pipeline_->Submit(p, n, &slots_.back(), id, hint);
  }
  Status PipelineError() { return pipeline_->error(); }
  Hash256 ChunkId(const uint8_t* p, size_t n) const { return repo_->codec().ChunkId(p, n); }
  void SinkDone(size_t entry, bool closed, const FileResult& r) {
    sink_open_ = false;
    if (!closed) {
      entries_[entry].dropped = true;
      return;
    }
    entries_[entry].entry.sha256 = r.sha256;
    entries_[entry].entry.size = r.size;
  }

 private:
  Status CheckNewPath(const std::string& path) {
    VS_RETURN_IF_ERROR(ValidateEntryPath(path));
    if (!paths_.insert(path).second) {
      return InvalidArgument("path '" + path + "' was added twice to this snapshot");
    }
    return Status::OK();
  }

  static FileEntry MakeEntry(const EntryMeta& meta, EntryType type) {
    FileEntry e;
    e.path = meta.path;
    e.type = type;
    e.mode = meta.mode & 07777u;
    e.mtime_ns = meta.mtime_ns;
    e.inode = meta.inode;
    e.device = meta.device;
    return e;
  }

  RepositoryImpl* repo_;
  SnapshotSpec spec_;
  std::unique_ptr<LockHandle> lock_;
  std::unique_ptr<BackupPipeline> pipeline_;
  int64_t started_ns_;
  std::chrono::steady_clock::time_point started_;
  std::string parent_id_;
  std::unordered_map<std::string, FileEntry> parent_files_;
  std::vector<PendingEntry> entries_;
  std::deque<Hash256> slots_;  // stable addresses: workers write ids into them
  std::unordered_set<std::string> paths_;
  nlohmann::json source_checksums_ = nlohmann::json::object();
  uint64_t bytes_read_ = 0;
  uint64_t files_unchanged_ = 0;
  bool sink_open_ = false;
  bool committed_ = false;
};

FileSinkImpl::~FileSinkImpl() {
  if (!closed_) b_->SinkDone(entry_, false, {});
}

Status FileSinkImpl::Emit(const uint8_t* p, size_t n) {
  if (!pair_ && !delta_) return b_->SubmitChunk(entry_, p, n, nullptr, nullptr);
  const Hash256 id = pair_ ? pair_->Chunk(p, n) : b_->ChunkId(p, n);
  return b_->SubmitChunk(entry_, p, n, &id, delta_ ? delta_->Next(id) : nullptr);
}

Status FileSinkImpl::Append(std::string_view bytes) {
  if (closed_) return FailedPrecondition("Append() after Close()");
  if (!pair_) sha_.Update(bytes);
  size_ += bytes.size();
  return chunker_->Write(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                         [this](const uint8_t* p, size_t n) { return Emit(p, n); });
}

Result<FileResult> FileSinkImpl::Close() {
  if (closed_) return FailedPrecondition("Close() called twice");
  Status s = chunker_->Finish([this](const uint8_t* p, size_t n) { return Emit(p, n); });
  if (!s.ok()) return s;
  VS_RETURN_IF_ERROR(b_->PipelineError());
  FileResult r;
  r.sha256 = HexEncode(pair_ ? pair_->FinishFile() : sha_.Finish());
  r.size = size_;
  closed_ = true;
  b_->SinkDone(entry_, true, r);
  return r;
}

}  // namespace

Result<std::unique_ptr<SnapshotBuilder>> RepositoryImpl::NewSnapshot(const SnapshotSpec& spec) {
  if (spec.source_kind.empty()) {
    return InvalidArgument("snapshot spec has no source kind",
                           "Use \"dir\", \"chroma\" or "
                           "\"qdrant\".");
  }
  // A damaged index object does not block a backup: its chunks are stored
  // again (prune later drops the duplicates).
  std::optional<Manifest> parent;
  if (!spec.parent.empty()) {
    auto p = LoadSnapshot(spec.parent);
    if (!p.ok()) return p.status().WithContext("loading the parent snapshot");
    parent = std::move(*p);
  }
  VS_ASSIGN_OR_RETURN(auto lock, Lock(LockMode::kShared, "backup"));
  return std::unique_ptr<SnapshotBuilder>(
      std::make_unique<BuilderImpl>(this, spec, std::move(lock), std::move(parent)));
}

}  // namespace vecsafe::repo
