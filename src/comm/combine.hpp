// Element-wise combiners of Harp tables: dst[i] = op(dst[i], src[i]).
#pragma once
#include <cstdint>
#include <string>

namespace harpdaal::comm {

enum class CombineOp : int { sum = 0, min = 1, max = 2 };

// Throws std::invalid_argument for anything but "sum", "min", "max".
CombineOp parse_combine_op(const std::string& name);
const char* combine_op_name(CombineOp op);

// dst[i] = op(dst[i], src[i]) for i < n; vectorised, dispatched on the active ISA.
// Instantiated for float, double, int32_t, int64_t. dst and src must not overlap partially.
template <class T>
void combine(CombineOp op, T* dst, const T* src, int64_t n, int n_threads);

}  // namespace harpdaal::comm
