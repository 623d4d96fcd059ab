// Bindings of the shared kernels (row norms) and of the zero-copy test probes.
#include <chrono>
#include "arrays.hpp"
#include "kernels/common/row_norms.hpp"
#include "kernels/common/sparse.hpp"
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

void transpose_csr(const py::handle& indptr_obj, const py::handle& indices_obj,
                   const py::handle& values_obj, int64_t n_cols, int64_t first,
                   const py::handle& out_indptr_obj, const py::handle& out_ids_obj,
                   const py::handle& out_values_obj) {
  auto indptr = checked_array<int64_t>(indptr_obj, "indptr", {any_dim});
  if (indptr.shape(0) < 1) throw py::value_error("transpose_csr: indptr is empty");
  const int64_t n_rows = indptr.shape(0) - 1;
  const int64_t* ip = in_ptr(indptr);
  const int64_t nnz = ip[n_rows] - ip[0];
  auto indices = checked_array<int32_t>(indices_obj, "indices", {any_dim});
  auto values = checked_array<float>(values_obj, "values", {indices.shape(0)});
  if (n_cols < 0 || n_cols > INT32_MAX) throw py::value_error("transpose_csr: n_cols out of range");
  if (first < 0 || first + n_rows > INT32_MAX)
    throw py::value_error("transpose_csr: row ids beyond 2**31 - 1");
  for (int64_t r = 0; r < n_rows; ++r)
    if (ip[r + 1] < ip[r]) throw py::value_error("transpose_csr: indptr decreases");
  if (ip[0] < 0 || ip[n_rows] > indices.shape(0))
    throw py::value_error("transpose_csr: indptr points outside indices");
  const int32_t* ix = in_ptr(indices);
  for (int64_t e = ip[0]; e < ip[n_rows]; ++e)
    if (ix[e] < 0 || ix[e] >= n_cols)
      throw py::value_error("transpose_csr: a column id lies outside [0, n_cols)");
  auto out_indptr = checked_array<int64_t>(out_indptr_obj, "out_indptr", {n_cols + 1}, true);
  auto out_ids = checked_array<int32_t>(out_ids_obj, "out_ids", {nnz}, true);
  auto out_values = checked_array<float>(out_values_obj, "out_values", {nnz}, true);
  const float* vp = in_ptr(values);
  int64_t* oi = out_ptr(out_indptr);
  int32_t* od = out_ptr(out_ids);
  float* ov = out_ptr(out_values);
  py::gil_scoped_release nogil;
  harpdaal::kernels::common::transpose_csr(ip, ix, vp, n_rows, n_cols, int32_t(first), oi, od,
                                           ov);
}

void merge_csr_parts(const py::handle& lengths_obj, const py::handle& ids_obj,
                     const py::handle& values_obj, const py::handle& out_indptr_obj,
                     const py::handle& out_ids_obj, const py::handle& out_values_obj) {
  auto lengths = checked_array<int64_t>(lengths_obj, "lengths", {any_dim, any_dim});
  const int64_t n_parts = lengths.shape(0), n_rows = lengths.shape(1);
  const int64_t* lp = in_ptr(lengths);
  int64_t total = 0;
  for (int64_t i = 0; i < n_parts * n_rows; ++i) {
    if (lp[i] < 0) throw py::value_error("merge_csr_parts: a negative row length");
    total += lp[i];
  }
  auto ids = checked_array<int32_t>(ids_obj, "ids", {total});
  auto values = checked_array<float>(values_obj, "values", {total});
  auto out_indptr = checked_array<int64_t>(out_indptr_obj, "out_indptr", {n_rows + 1}, true);
  auto out_ids = checked_array<int32_t>(out_ids_obj, "out_ids", {total}, true);
  auto out_values = checked_array<float>(out_values_obj, "out_values", {total}, true);
  const int32_t* ip = in_ptr(ids);
  const float* vp = in_ptr(values);
  int64_t* oi = out_ptr(out_indptr);
  int32_t* od = out_ptr(out_ids);
  float* ov = out_ptr(out_values);
  py::gil_scoped_release nogil;
  harpdaal::kernels::common::merge_csr_parts(lp, n_parts, n_rows, ip, vp, oi, od, ov);
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

  k.def("transpose_csr", &transpose_csr, py::arg("indptr"), py::arg("indices"),
        py::arg("values"), py::arg("n_cols"), py::arg("first"), py::arg("out_indptr"),
        py::arg("out_ids"), py::arg("out_values"),
        "The transpose of a CSR matrix whose rows are numbered from `first` (float32 values), "
        "each column's entries in row order, into the out arrays.");
  k.def("merge_csr_parts", &merge_csr_parts, py::arg("lengths"), py::arg("ids"),
        py::arg("values"), py::arg("out_indptr"), py::arg("out_ids"), py::arg("out_values"),
        "Merge CSR parts over the same rows (lengths: parts x rows; entries concatenated in "
        "part order): row r gets part 0's entries of r, then part 1's, ...");

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
