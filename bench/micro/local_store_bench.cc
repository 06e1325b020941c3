// Local driver figures: listing a repository-sized data/ folder and the cost
// of durable puts. Build with -DVECSAFE_BUILD_BENCH=ON; run
//   build/vecsafe_micro_bench --benchmark_filter=LocalStore
// The folder is created under $TMPDIR (default /tmp) and removed afterwards.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "io/local/local_store.h"

namespace vecsafe {
namespace {

std::filesystem::path MakeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ =
      std::string(base != nullptr && *base ? base : "/tmp") + "/vecsafe-bench-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return {};
  return templ;
}

// A repository with `n` packs spread over the 256 data/<2 hex>/ folders, plus
// index and snapshot objects the listing must not visit.
std::unique_ptr<LocalStore> Populate(const std::filesystem::path& dir, int n) {
  LocalStoreOptions fast;
  fast.sync = false;  // filling only; durability is measured separately
  auto store = LocalStore::Open(dir, fast).value();
  for (int i = 0; i < n; ++i) {
    char key[128];  // "data/ab/" + a 64-character pack id
    std::snprintf(key, sizeof(key), "data/%02x/%02x%062d", i % 256, i % 256, i);
    store->Put(key, "p").IgnoreError();
    if (i % 10 == 0) store->Put("index/" + std::to_string(i), "i").IgnoreError();
  }
  return LocalStore::Open(dir).value();
}

constexpr int kRepoObjects = 100000;

// One populated repository shared by the listing benchmarks (filling it is
// the slow part), removed at exit.
LocalStore& SharedRepo() {
  static std::filesystem::path dir = MakeTempDir();
  static std::unique_ptr<LocalStore> store = [] {
    std::atexit([] { std::filesystem::remove_all(dir); });
    return Populate(dir, kRepoObjects);
  }();
  return *store;
}

void BM_LocalStoreListData(benchmark::State& state) {
  LocalStore& store = SharedRepo();
  uint64_t listed = 0;
  for (auto _ : state) {
    listed = 0;
    store
        .List("data/",
              [&](const ObjectInfo&) {
                ++listed;
                return Status::OK();
              })
        .IgnoreError();
  }
  state.counters["objects"] = static_cast<double>(listed);
  state.counters["objects_per_s"] = benchmark::Counter(
      static_cast<double>(listed), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LocalStoreListData)->Iterations(5)->Unit(benchmark::kMillisecond);

void BM_LocalStoreListOneFanOutFolder(benchmark::State& state) {
  LocalStore& store = SharedRepo();
  uint64_t listed = 0;
  for (auto _ : state) {
    listed = 0;
    store
        .List("data/ab/",
              [&](const ObjectInfo&) {
                ++listed;
                return Status::OK();
              })
        .IgnoreError();
  }
  state.counters["objects"] = static_cast<double>(listed);
}
BENCHMARK(BM_LocalStoreListOneFanOutFolder)->Iterations(50)->Unit(benchmark::kMicrosecond);

void BM_LocalStoreDurablePut(benchmark::State& state) {
  const std::filesystem::path dir = MakeTempDir();
  auto store = LocalStore::Open(dir).value();
  const std::string data(static_cast<size_t>(state.range(0)), 'x');
  int i = 0;
  for (auto _ : state) {
    char key[64];
    std::snprintf(key, sizeof(key), "data/%02x/%08d", i % 256, i);
    ++i;
    store->Put(key, data).IgnoreError();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LocalStoreDurablePut)
    ->Arg(4096)
    ->Arg(16 << 20)
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vecsafe
