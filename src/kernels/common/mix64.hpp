// splitmix64's finaliser (Steele et al. 2014): the hash behind the kernels' counter-based
// random numbers (LDA's token streams, MF's initial factors).
#pragma once
#include <cstdint>

namespace harpdaal::kernels {

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace harpdaal::kernels
