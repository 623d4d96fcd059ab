// Bindings of the shared kernels (row norms) and of the zero-copy test probes.
#include <chrono>
#include "arrays.hpp"
#include "kernels/common/row_norms.hpp"
#include "kernels/common/top_k.hpp"

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

template <class T>
void top_k_rows(const py::handle& s_obj, const py::handle& ids_obj, const py::handle& best_obj,
                int n_threads) {
  auto s = checked_array<T>(s_obj, "scores", {any_dim, any_dim});
  int64_t m = s.shape(0), n = s.shape(1);
  auto ids = checked_array<int32_t>(ids_obj, "ids", {m, any_dim}, /*writable=*/true);
  int64_t k = ids.shape(1);
  auto best = checked_array<T>(best_obj, "best", {m, k}, /*writable=*/true);
  if (k > n) throw py::value_error("top_k_rows: k (the width of ids) exceeds the columns of scores");
  if (n > INT32_MAX) throw py::value_error("top_k_rows: more than 2**31 - 1 columns");
  const T* sp = in_ptr(s);
  int32_t* ip = out_ptr(ids);
  T* bp = out_ptr(best);
  py::gil_scoped_release nogil;
  harpdaal::kernels::common::top_k_rows<T>(sp, m, n, k, ip, bp, n_threads);
}

void register_common(py::module_& m) {
  auto k = m.def_submodule("common", "shared dense kernels");
  k.def("row_sq_norms_f32", &row_sq_norms<float>, py::arg("x"), py::arg("out"),
        py::arg("n_threads") = 0, "out[i] = ||x[i]||^2 (float32, writes into out).");
  k.def("row_sq_norms_f64", &row_sq_norms<double>, py::arg("x"), py::arg("out"),
        py::arg("n_threads") = 0, "out[i] = ||x[i]||^2 (float64, writes into out).");

  k.def("top_k_rows_f32", &top_k_rows<float>, py::arg("scores"), py::arg("ids"), py::arg("best"),
        py::arg("n_threads") = 0,
        "Each row's k = ids.shape[1] largest scores, best first (ties: the lower column).");
  k.def("top_k_rows_f64", &top_k_rows<double>, py::arg("scores"), py::arg("ids"),
        py::arg("best"), py::arg("n_threads") = 0,
        "Each row's k = ids.shape[1] largest scores, best first (ties: the lower column).");

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
