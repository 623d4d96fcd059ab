// Bindings of the shared kernels (row norms) and of the zero-copy test probes.
#include <chrono>
#include "arrays.hpp"
#include "kernels/common/row_norms.hpp"

namespace py = pybind11;
using namespace harpdaal::bindings;

namespace {

template <class T>
void row_sq_norms(const py::handle& x_obj, const py::handle& out_obj, int n_threads) {
  auto x = checked_array<T>(x_obj, "x", {any_dim, any_dim});
  auto out = checked_array<T>(out_obj, "out", {x.shape(0)}, /*writable=*/true);
  const T* xp = in_ptr(x);
  T* op = out_ptr(out);
  int64_t n = x.shape(0), d = x.shape(1);
  py::gil_scoped_release nogil;
  harpdaal::kernels::common::row_sq_norms<T>(xp, n, d, op, n_threads);
}

void register_common(py::module_& m) {
  auto k = m.def_submodule("common", "shared dense kernels");
  k.def("row_sq_norms_f32", &row_sq_norms<float>, py::arg("x"), py::arg("out"),
        py::arg("n_threads") = 0, "out[i] = ||x[i]||^2 (float32, writes into out).");
  k.def("row_sq_norms_f64", &row_sq_norms<double>, py::arg("x"), py::arg("out"),
        py::arg("n_threads") = 0, "out[i] = ||x[i]||^2 (float64, writes into out).");

  auto t = m.def_submodule("testing", "probes for the binding contract");
  // The address a kernel would read for `x`, through the same checks as every kernel input:
  // tests compare it with x.__array_interface__ to prove that nothing was copied.
  t.def("input_address_f32", [](const py::handle& x) {
    return reinterpret_cast<uintptr_t>(in_ptr(checked_array<float>(x, "x", {any_dim, any_dim})));
  });
  t.def("input_address_f64", [](const py::handle& x) {
    return reinterpret_cast<uintptr_t>(in_ptr(checked_array<double>(x, "x", {any_dim, any_dim})));
  });
  // Holds no GIL for `seconds`: a second Python thread must make progress meanwhile.
  t.def("sleep_without_gil", [](double seconds) {
    py::gil_scoped_release nogil;
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
    }
  });
}

Register reg(0, &register_common);

}  // namespace
