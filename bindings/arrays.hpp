// Zero-copy argument checks shared by every binding.
//
// An input reaches a kernel only if it already is a NumPy array of the exact dtype, C-contiguous
// and of the expected shape: then the kernel reads the caller's memory. Anything else raises a
// TypeError (not an array / wrong dtype) or ValueError (shape, contiguity, read-only output)
// naming the argument; nothing is converted here (no forcecast: it copies silently).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/common/ids.hpp"

namespace harpdaal::bindings {

namespace py = pybind11;

inline constexpr int64_t any_dim = -1;

template <class T>
const char* dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  else if constexpr (std::is_same_v<T, double>) return "float64";
  else if constexpr (std::is_same_v<T, int32_t>) return "int32";
  else if constexpr (std::is_same_v<T, int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
  else if constexpr (std::is_same_v<T, uint32_t>) return "uint32";
  else if constexpr (std::is_same_v<T, uint64_t>) return "uint64";
  else return "unsupported";
}

inline std::string shape_str(const py::array& a) {
  std::ostringstream s;
  s << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
  s << (a.ndim() == 1 ? ",)" : ")");
  return s.str();
}

inline std::string expected_shape_str(std::initializer_list<int64_t> shape) {
  std::ostringstream s;
  s << "(";
  size_t i = 0;
  for (int64_t v : shape) {
    s << (i ? ", " : "");
    if (v == any_dim) s << "*"; else s << v;
    ++i;
  }
  s << (shape.size() == 1 ? ",)" : ")");
  return s.str();
}

// Checks `obj` and returns a view of it (never a copy). `shape` entries equal to any_dim match
// any extent; `writable` demands a writeable array (outputs).
template <class T>
py::array_t<T, py::array::c_style> checked_array(const py::handle& obj, const char* name,
                                                 std::initializer_list<int64_t> shape,
                                                 bool writable = false) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + ": expected a numpy.ndarray of dtype " +
                         dtype_name<T>() + ", got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  auto arr = py::reinterpret_borrow<py::array>(obj);
  if (!arr.dtype().is(py::dtype::of<T>()) && !arr.dtype().equal(py::dtype::of<T>()))
    throw py::type_error(std::string(name) + ": expected dtype " + dtype_name<T>() + ", got " +
                         std::string(py::str(arr.dtype())) +
                         " (convert once with numpy.asarray(..., dtype=...))");
  if (arr.ndim() != static_cast<py::ssize_t>(shape.size()))
    throw py::value_error(std::string(name) + ": expected a " + std::to_string(shape.size()) +
                          "-d array of shape " + expected_shape_str(shape) + ", got " +
                          std::to_string(arr.ndim()) + "-d shape " + shape_str(arr));
  py::ssize_t i = 0;
  for (int64_t want : shape) {
    if (want != any_dim && arr.shape(i) != want)
      throw py::value_error(std::string(name) + ": expected shape " + expected_shape_str(shape) +
                            ", got " + shape_str(arr));
    ++i;
  }
  if (!(arr.flags() & py::array::c_style))
    throw py::value_error(std::string(name) +
                          ": array is not C-contiguous (pass numpy.ascontiguousarray(...) once)");
  if (reinterpret_cast<uintptr_t>(arr.data()) % alignof(T) != 0)
    throw py::value_error(std::string(name) + ": array data is not aligned for its dtype");
  if (writable && !arr.writeable())
    throw py::value_error(std::string(name) + ": output array is read-only");
  return py::reinterpret_borrow<py::array_t<T, py::array::c_style>>(obj);
}

template <class T>
const T* in_ptr(const py::array_t<T, py::array::c_style>& a) { return a.data(); }

template <class T>
T* out_ptr(py::array_t<T, py::array::c_style>& a) { return a.mutable_data(); }

// Each bindings/*.cpp registers its part of the module here, so files for new algorithms need
// no edit to module.cpp.
using Registrar = void (*)(py::module_&);
std::vector<std::pair<int, Registrar>>& registrars();
struct Register {
  Register(int order, Registrar fn) { registrars().emplace_back(order, fn); }
};

// Every id in ids[0, n) must lie in [0, limit): ValueError naming `name` and the range found.
// The scan runs without the GIL.
inline void check_ids(const int32_t* ids, int64_t n, int64_t limit, const char* name,
                      int n_threads = 1) {
  int32_t lo = 0, hi = -1;
  {
    py::gil_scoped_release nogil;
    if (kernels::ids_in_range(ids, n, limit, n_threads)) return;
    kernels::id_range(ids, n, &lo, &hi, n_threads);  // only to name what was found
  }
  if (n > 0 && (lo < 0 || hi >= limit))
    throw py::value_error(std::string(name) + ": ids must lie in [0, " + std::to_string(limit) +
                          "), got range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                          "]");
}

}  // namespace harpdaal::bindings
