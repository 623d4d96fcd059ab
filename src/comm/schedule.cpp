#include "comm/schedule.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "comm/pack.hpp"

namespace harpdaal::comm {

namespace {
void check_ranks(int64_t n_ranks) {
  if (n_ranks < 1)
    throw std::invalid_argument("n_ranks must be >= 1, got " + std::to_string(n_ranks));
}
}  // namespace

void default_destinations(const int64_t* ids, int64_t n, int64_t n_ranks, int64_t* dest) {
  check_ranks(n_ranks);
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0)
      throw std::invalid_argument("partition id must be >= 0, got " + std::to_string(ids[i]));
    dest[i] = ids[i] % n_ranks;
  }
}

void regroup_plan(const int64_t* dest, const int64_t* nbytes, int64_t n, int64_t n_ranks,
                  int64_t* order, int64_t* counts, int64_t* byte_counts, int64_t* byte_displs) {
  check_ranks(n_ranks);
  for (int64_t r = 0; r < n_ranks; ++r) counts[r] = byte_counts[r] = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (dest[i] < 0 || dest[i] >= n_ranks)
      throw std::invalid_argument("partition " + std::to_string(i) + " goes to rank " +
                                  std::to_string(dest[i]) + ", outside [0, " +
                                  std::to_string(n_ranks) + ")");
    if (nbytes[i] < 0)
      throw std::invalid_argument("partition " + std::to_string(i) + " has a negative size");
    ++counts[dest[i]];
    byte_counts[dest[i]] += (nbytes[i] + pack_alignment - 1) / pack_alignment * pack_alignment;
  }
  // Counting sort: stable, O(n + n_ranks).
  std::vector<int64_t> next(static_cast<size_t>(n_ranks));
  int64_t run = 0, bytes = 0;
  for (int64_t r = 0; r < n_ranks; ++r) {
    next[r] = run;
    run += counts[r];
    byte_displs[r] = bytes;
    bytes += byte_counts[r];
  }
  for (int64_t i = 0; i < n; ++i) order[next[dest[i]]++] = i;
}

void rotation_sources(const int64_t* targets, int64_t n_ranks, int64_t* sources) {
  check_ranks(n_ranks);
  for (int64_t r = 0; r < n_ranks; ++r) sources[r] = -1;
  for (int64_t src = 0; src < n_ranks; ++src) {
    int64_t dst = targets[src];
    if (dst < 0 || dst >= n_ranks)
      throw std::invalid_argument("rank " + std::to_string(src) + " sends to rank " +
                                  std::to_string(dst) + ", outside [0, " +
                                  std::to_string(n_ranks) + ")");
    if (sources[dst] != -1)
      throw std::invalid_argument("not a permutation: ranks " + std::to_string(sources[dst]) +
                                  " and " + std::to_string(src) + " both send to rank " +
                                  std::to_string(dst));
    sources[dst] = src;
  }
}

void ring_targets(int64_t n_ranks, int64_t shift, int64_t* targets) {
  check_ranks(n_ranks);
  int64_t s = ((shift % n_ranks) + n_ranks) % n_ranks;
  for (int64_t r = 0; r < n_ranks; ++r) targets[r] = (r + s) % n_ranks;
}

}  // namespace harpdaal::comm
