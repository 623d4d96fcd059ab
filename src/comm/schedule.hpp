// Who sends what to whom: regroup plans (partition -> rank) and rotation schedules.
#pragma once
#include <cstdint>

namespace harpdaal::comm {

// dest[i] = ids[i] mod n_ranks (Harp's default partitioner). Throws std::invalid_argument for
// n_ranks < 1 or a negative id.
void default_destinations(const int64_t* ids, int64_t n, int64_t n_ranks, int64_t* dest);

// Plan of a regroup: given each partition's destination rank and size in bytes,
//   order[k]       = index of the k-th partition to send (grouped by destination, stable),
//   counts[r]      = number of partitions sent to rank r,
//   byte_counts[r] = bytes sent to rank r (each partition padded to pack_alignment),
//   byte_displs[r] = byte offset of rank r's block in the send buffer (prefix sum).
// Throws std::invalid_argument if a destination is outside [0, n_ranks) or a size is negative.
void regroup_plan(const int64_t* dest, const int64_t* nbytes, int64_t n, int64_t n_ranks,
                  int64_t* order, int64_t* counts, int64_t* byte_counts, int64_t* byte_displs);

// Validates that targets (targets[src] = destination of rank src's data) is a permutation of
// [0, n_ranks) and writes its inverse: sources[dst] = the rank whose data dst receives.
// Throws std::invalid_argument naming the first offending rank otherwise.
void rotation_sources(const int64_t* targets, int64_t n_ranks, int64_t* sources);

// The ring: targets[r] = (r + shift) mod n_ranks (any shift, negative included).
void ring_targets(int64_t n_ranks, int64_t shift, int64_t* targets);

}  // namespace harpdaal::comm
