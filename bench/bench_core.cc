// Core store benchmarks, one workload per invocation so each runs in a fresh process
// (open time and peak RSS mean something). scripts/bench-core.sh drives it.
//   bench_core append DIR COUNT SIZE BATCH   -> "docs_per_s MB_per_s"
//   bench_core open DIR                      -> "seconds peak_rss_mb documents"
//   bench_core lookup DIR COUNT READ_BYTES   -> "ops_per_s"
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "core/store.h"

using Clock = std::chrono::steady_clock;

namespace {

// 32-byte ids, like DocArray's 32 hex characters.
std::string id_of(uint64_t i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016lx%016lx", static_cast<unsigned long>(i * 0x9E3779B97F4A7C15ull),
                static_cast<unsigned long>(i));
  return buf;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int append(const std::string& dir, uint64_t count, size_t size, uint64_t batch) {
  auto store = docfs::Store::open(dir, {.create = true, .read_only = false});
  docfs::Document d;
  d.content.assign(size, 'x');
  d.meta.mime_type = "text/plain";
  auto t = Clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    d.meta.id = id_of(i);
    std::memcpy(d.content.data(), &i, std::min(size, sizeof i));
    store->put(d, false);
    if ((i + 1) % batch == 0) store->flush();
  }
  store->sync();
  double s = seconds_since(t);
  std::printf("%.0f %.1f\n", count / s, count * size / s / 1e6);
  return 0;
}

int open_store(const std::string& dir) {
  auto t = Clock::now();
  auto store = docfs::Store::open(dir, {.create = false, .read_only = true});
  double s = seconds_since(t);
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  std::printf("%.3f %.1f %zu\n", s, ru.ru_maxrss / 1024.0, store->size());
  return 0;
}

int lookup(const std::string& dir, uint64_t count, size_t read_bytes) {
  auto store = docfs::Store::open(dir, {.create = false, .read_only = true});
  uint64_t n = store->size();
  std::mt19937_64 rng(42);
  std::string buf(read_bytes, '\0');
  auto t = Clock::now();
  uint64_t found = 0;
  for (uint64_t i = 0; i < count; ++i) {
    std::string id = id_of(rng() % n);
    auto meta = store->meta(id);
    auto ref = store->content(id);
    if (meta && ref && ref->read(0, buf.data(), buf.size()) > 0) ++found;
  }
  double s = seconds_since(t);
  if (found != count) {
    std::fprintf(stderr, "lookup: %lu of %lu ids missing\n", static_cast<unsigned long>(count - found),
                 static_cast<unsigned long>(count));
    return 1;
  }
  std::printf("%.0f\n", count / s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "append" && argc == 6)
      return append(argv[2], std::stoull(argv[3]), std::stoull(argv[4]), std::stoull(argv[5]));
    if (mode == "open" && argc == 3) return open_store(argv[2]);
    if (mode == "lookup" && argc == 5) return lookup(argv[2], std::stoull(argv[3]), std::stoull(argv[4]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_core: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: bench_core append DIR COUNT SIZE BATCH | open DIR | lookup DIR COUNT BYTES\n");
  return 2;
}
