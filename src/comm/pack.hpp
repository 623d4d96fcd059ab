// Packing a table's partitions into one contiguous buffer (so a collective moves one buffer) and
// unpacking it again. No MPI here: python/harpdaal/comm moves the packed buffers.
#pragma once
#include <cstdint>

namespace harpdaal::comm {

// Every partition starts at a multiple of this many bytes in a packed buffer, so views of it are
// aligned for any dtype (and for 512-bit loads).
inline constexpr int64_t pack_alignment = 64;

// offsets[i] = byte offset of partition i (aligned), offsets[n] = total bytes of the buffer.
// `offsets` holds n + 1 values. Throws std::invalid_argument for a negative size.
int64_t packed_offsets(const int64_t* nbytes, int64_t n, int64_t* offsets);

// Copies parts[i] (nbytes[i] bytes) to buffer + offsets[i] and zeroes the padding between
// partitions (so a packed buffer of one dtype can be reduced element-wise as a whole).
void pack(const void* const* parts, const int64_t* nbytes, int64_t n, const int64_t* offsets,
          void* buffer, int n_threads);

// Copies buffer + offsets[i] back to parts[i] (nbytes[i] bytes).
void unpack(const void* buffer, const int64_t* offsets, int64_t n, void* const* parts,
            const int64_t* nbytes, int n_threads);

}  // namespace harpdaal::comm
