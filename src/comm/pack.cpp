#include "comm/pack.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/common/parallel.hpp"

namespace harpdaal::comm {

namespace {
// Partitions are copied in chunks of this many bytes so that one large partition still spreads
// over every thread.
constexpr int64_t copy_chunk = int64_t{1} << 20;

// Chunk c of the n partitions: the partition index and byte range inside it.
struct Chunk {
  int64_t part, begin, end;
};

template <class Visit>
void for_each_chunk(const int64_t* nbytes, int64_t n, int n_threads, Visit&& visit) {
  int64_t total_chunks = 0;
  for (int64_t i = 0; i < n; ++i) total_chunks += (nbytes[i] + copy_chunk - 1) / copy_chunk;
  if (total_chunks == 0) return;
  // Map chunk index -> (partition, range) by a running count: the number of partitions is small
  // compared with the bytes, so a linear prefix is fine and allocation free.
  kernels::parallel_for(n_threads, total_chunks, 1, [&](int64_t cb, int64_t ce) {
    int64_t c = 0, part = 0;
    while (part < n) {
      int64_t k = (nbytes[part] + copy_chunk - 1) / copy_chunk;
      if (c + k > cb) break;
      c += k;
      ++part;
    }
    for (int64_t idx = cb; idx < ce && part < n;) {
      int64_t k = (nbytes[part] + copy_chunk - 1) / copy_chunk;
      int64_t local = idx - c;
      if (local >= k) {
        c += k;
        ++part;
        continue;
      }
      int64_t b = local * copy_chunk;
      int64_t e = b + copy_chunk < nbytes[part] ? b + copy_chunk : nbytes[part];
      visit(Chunk{part, b, e});
      ++idx;
    }
  });
}
}  // namespace

int64_t packed_offsets(const int64_t* nbytes, int64_t n, int64_t* offsets) {
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (nbytes[i] < 0)
      throw std::invalid_argument("partition " + std::to_string(i) + " has a negative size");
    offsets[i] = off;
    off += (nbytes[i] + pack_alignment - 1) / pack_alignment * pack_alignment;
  }
  offsets[n] = off;
  return off;
}

void pack(const void* const* parts, const int64_t* nbytes, int64_t n, const int64_t* offsets,
          void* buffer, int n_threads) {
  auto* out = static_cast<char*>(buffer);
  for (int64_t i = 0; i < n; ++i) {
    int64_t pad = offsets[i + 1] - offsets[i] - nbytes[i];
    if (pad > 0) std::memset(out + offsets[i] + nbytes[i], 0, static_cast<size_t>(pad));
  }
  for_each_chunk(nbytes, n, n_threads, [&](const Chunk& c) {
    std::memcpy(out + offsets[c.part] + c.begin,
                static_cast<const char*>(parts[c.part]) + c.begin,
                static_cast<size_t>(c.end - c.begin));
  });
}

void unpack(const void* buffer, const int64_t* offsets, int64_t n, void* const* parts,
            const int64_t* nbytes, int n_threads) {
  const auto* in = static_cast<const char*>(buffer);
  for_each_chunk(nbytes, n, n_threads, [&](const Chunk& c) {
    std::memcpy(static_cast<char*>(parts[c.part]) + c.begin, in + offsets[c.part] + c.begin,
                static_cast<size_t>(c.end - c.begin));
  });
}

}  // namespace harpdaal::comm
