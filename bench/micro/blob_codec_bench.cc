// Blob encode/decode (zstd + optional AES-GCM) per data shape, 64 KiB chunks.
// Counters: ratio = stored / plaintext bytes.
#include <benchmark/benchmark.h>

#include <functional>
#include <vector>

#include "bench_data.h"
#include "repo/blob_codec.h"

namespace vecsafe::bench {
namespace {

enum Shape : int { kText = 0, kFloats = 1, kLinks = 2, kRandom = 3 };

std::string Make(int shape, size_t n) {
  switch (shape) {
    case kText:
      return JsonText(n);
    case kFloats:
      return FloatVectors(n);
    case kLinks:
      return LinkLists(n);
    default:
      return RandomBytes(n);
  }
}

const char* Name(int shape) {
  static const char* kNames[] = {"text", "floats", "links", "random"};
  return kNames[shape];
}

repo::BlobCodecOptions Options(int level, bool encrypted) {
  repo::BlobCodecOptions o;
  o.zstd_level = level;
  if (encrypted) o.keys = repo::BlobKeys::FromMaster(repo::Key256{});
  return o;
}

constexpr size_t kChunk = 64 << 10;
constexpr size_t kTotal = 16 << 20;

// Args: shape, zstd level, encrypted.
void BM_BlobEncode(benchmark::State& state) {
  const int shape = static_cast<int>(state.range(0));
  const std::string data = Make(shape, kTotal);
  const repo::BlobCodec codec{Options(static_cast<int>(state.range(1)), state.range(2) != 0)};
  std::string out;
  size_t stored = 0;
  for (auto _ : state) {
    stored = 0;
    for (size_t off = 0; off < data.size(); off += kChunk) {
      out.clear();
      if (!codec.Encode(data.data() + off, kChunk, &out).ok()) return;
      stored += out.size();
    }
  }
  state.SetLabel(Name(shape));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["ratio"] = static_cast<double>(stored) / static_cast<double>(data.size());
}

void BM_BlobDecode(benchmark::State& state) {
  const int shape = static_cast<int>(state.range(0));
  const std::string data = Make(shape, kTotal);
  const repo::BlobCodec codec{Options(static_cast<int>(state.range(1)), state.range(2) != 0)};
  std::vector<std::string> blobs;
  for (size_t off = 0; off < data.size(); off += kChunk) {
    blobs.emplace_back();
    if (!codec.Encode(data.data() + off, kChunk, &blobs.back()).ok()) return;
  }
  std::string out;
  for (auto _ : state) {
    for (const auto& b : blobs) {
      out.clear();
      if (!codec.Decode(b, &out).ok()) return;
    }
  }
  state.SetLabel(Name(shape));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}

void Args(benchmark::internal::Benchmark* b) {
  for (int shape : {kText, kFloats, kLinks, kRandom}) {
    for (int level : {1, 3}) b->Args({shape, level, 0});
    b->Args({shape, 1, 1});
  }
  b->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_BlobEncode)->Apply(Args);
BENCHMARK(BM_BlobDecode)->Apply(Args);

// Chunk id: SHA-256 (plain) vs HMAC-SHA256 (encrypted).
void BM_ChunkId(benchmark::State& state) {
  const std::string data = RandomBytes(kChunk);
  const repo::BlobCodec codec{Options(1, state.range(0) != 0)};
  for (auto _ : state) benchmark::DoNotOptimize(codec.ChunkId(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_ChunkId)->Arg(0)->Arg(1);

}  // namespace
}  // namespace vecsafe::bench
