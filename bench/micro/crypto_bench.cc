// SHA-256 (SHA-NI), HMAC-SHA256 and AES-256-GCM on chunk-sized inputs.
#include <benchmark/benchmark.h>

#include "bench_data.h"
#include "repo/crypto.h"
#include "repo/sha256_pair.h"

namespace vecsafe::bench {
namespace {

void BM_Sha256(benchmark::State& state) {
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(repo::Sha256(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Sha256)->Arg(4 << 10)->Arg(64 << 10)->Arg(1 << 20);

void BM_HmacSha256Keyed(benchmark::State& state) {
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  const repo::HmacSha256Keyed mac(repo::Key256{});
  for (auto _ : state) benchmark::DoNotOptimize(mac.Mac(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_HmacSha256Keyed)->Arg(4 << 10)->Arg(64 << 10);

// What a backup needs per chunk: the file's running SHA-256 and the chunk id.
// Bytes processed = chunk bytes (each hashed twice).
void BM_FileAndChunkIdSeparate(benchmark::State& state) {
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  const repo::HmacSha256Keyed mac(repo::Key256{});
  repo::Sha256Stream file;
  for (auto _ : state) {
    file.Update(data);
    benchmark::DoNotOptimize(mac.Mac(data));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_FileAndChunkIdSeparate)->Arg(64 << 10);

void BM_FileAndChunkIdPaired(benchmark::State& state) {
  if (!repo::Sha256Pair::Available()) {
    state.SkipWithError("no SHA-NI on this CPU");
    return;
  }
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  repo::Sha256Pair pair(repo::Key256{});
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        pair.Chunk(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_FileAndChunkIdPaired)->Arg(64 << 10);

void BM_AesGcmSeal(benchmark::State& state) {
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  const repo::Key256 key{};
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (!repo::AesGcmSeal(key, data.data(), data.size(), {}, &out).ok()) break;
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_AesGcmSeal)->Arg(4 << 10)->Arg(64 << 10);

void BM_AesGcmOpen(benchmark::State& state) {
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  const repo::Key256 key{};
  std::string sealed;
  if (!repo::AesGcmSeal(key, data.data(), data.size(), {}, &sealed).ok()) return;
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (!repo::AesGcmOpen(key, sealed, {}, &out).ok()) break;
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_AesGcmOpen)->Arg(64 << 10);

}  // namespace
}  // namespace vecsafe::bench
