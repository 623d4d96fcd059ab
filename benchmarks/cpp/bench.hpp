// A tiny self-made microbenchmark registry: each bench_*.cpp registers named functions that
// append JSON records; main.cpp runs them and prints one JSON document (no Google Benchmark).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace hdbench {

struct Options {
  bool quick = false;  // small sizes, few repeats: a build check, not a measurement
  int repeat = 5;
  std::vector<int> threads{1, 2};
};

// One measured figure. `fields` are extra "key": number pairs (n, threads, gflops, ...).
struct Record {
  std::string bench;
  std::vector<std::pair<std::string, std::string>> labels;  // string-valued fields
  std::vector<std::pair<std::string, double>> fields;       // numeric fields
};

using BenchFn = std::function<void(const Options&, std::vector<Record>&)>;

struct Bench {
  std::string name;
  BenchFn fn;
};

std::vector<Bench>& registry();

struct Register {
  Register(std::string name, BenchFn fn) { registry().push_back({std::move(name), std::move(fn)}); }
};

inline double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Best (minimum) wall time of `repeat` calls of fn after one untimed warm-up call.
template <class Fn>
double best_seconds(int repeat, Fn&& fn) {
  fn();
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeat; ++r) {
    double t0 = now_seconds();
    fn();
    double dt = now_seconds() - t0;
    if (dt < best) best = dt;
  }
  return best;
}

// Keeps a value alive so the compiler cannot drop the loop that produced it.
template <class T>
inline void keep(const T& value) {
  asm volatile("" : : "g"(&value) : "memory");
}

}  // namespace hdbench
