// Bindings of the distributed CCD++ steps (kernels/mf_ccd/mf_ccd_dist.hpp), added to the `mf`
// submodule (registered after bindings/mf.cpp). Index arrays are checked once per call (an
// out-of-range id would be an out-of-bounds access); the GIL is released around the kernels.
#include <algorithm>
#include <string>

#include "arrays.hpp"
#include "kernels/mf_ccd/mf_ccd_dist.hpp"

namespace py = pybind11;
using namespace harpdaal::bindings;
namespace ccd = harpdaal::kernels::mf_ccd;

namespace {

using F32 = py::array_t<float, py::array::c_style>;
using I32 = py::array_t<int32_t, py::array::c_style>;
using I64 = py::array_t<int64_t, py::array::c_style>;

void check_ptr(const I64& ptr, int64_t len, int64_t nnz, const char* name) {
  const int64_t* p = ptr.data();
  if (p[0] != 0 || p[len] != nnz)
    throw py::value_error(std::string(name) + " must start at 0 and end at len(residual)");
  for (int64_t a = 0; a < len; ++a)
    if (p[a + 1] < p[a]) throw py::value_error(std::string(name) + " must be non-decreasing");
}

int64_t check_column(int64_t t, const F32& f) {
  if (t < 0 || t >= f.shape(1))
    throw py::value_error("t must lie in [0, " + std::to_string(f.shape(1)) + "), got " +
                          std::to_string(t));
  return t;
}

// The local CSR view: row_ptr (n_rows + 1), col_idx (nnz) < n_cols, residual (nnz).
struct Csr {
  I64 row_ptr;
  I32 col_idx;
};

Csr checked_csr(const py::handle& row_ptr_obj, const py::handle& col_idx_obj, int64_t n_rows,
                int64_t nnz, int64_t n_cols, const char* ptr_name = "row_ptr",
                const char* idx_name = "col_idx") {
  Csr c{checked_array<int64_t>(row_ptr_obj, ptr_name, {n_rows + 1}),
        checked_array<int32_t>(col_idx_obj, idx_name, {nnz})};
  check_ptr(c.row_ptr, n_rows, nnz, ptr_name);
  check_ids(c.col_idx.data(), nnz, n_cols, idx_name);
  return c;
}

void add_rank_one(const py::handle& row_ptr_obj, const py::handle& col_idx_obj,
                  const py::handle& residual_obj, const py::handle& P_obj, const py::handle& Q_obj,
                  int64_t t, float sign, int n_threads) {
  auto res = checked_array<float>(residual_obj, "residual", {any_dim}, true);
  auto P = checked_array<float>(P_obj, "user_factors", {any_dim, any_dim});
  auto Q = checked_array<float>(Q_obj, "item_factors", {any_dim, P.shape(1)});
  check_column(t, P);
  const int64_t nnz = res.shape(0);
  Csr c = checked_csr(row_ptr_obj, col_idx_obj, P.shape(0), nnz, Q.shape(0));
  float* rp = res.mutable_data();
  py::gil_scoped_release nogil;
  ccd::add_rank_one<float>(P.shape(0), c.row_ptr.data(), c.col_idx.data(), rp, P.data(),
                           Q.data(), P.shape(1), t, sign, n_threads);
}

void item_sums(const py::handle& col_ptr_obj, const py::handle& row_idx_obj,
               const py::handle& csc_to_csr_obj, const py::handle& residual_obj,
               const py::handle& P_obj, int64_t t, const py::handle& num_obj,
               const py::handle& den_obj, int n_threads) {
  auto res = checked_array<float>(residual_obj, "residual", {any_dim});
  auto P = checked_array<float>(P_obj, "user_factors", {any_dim, any_dim});
  check_column(t, P);
  auto num = checked_array<double>(num_obj, "num", {any_dim}, true);
  const int64_t n_cols = num.shape(0);
  auto den = checked_array<double>(den_obj, "den", {n_cols}, true);
  const int64_t nnz = res.shape(0);
  Csr c = checked_csr(col_ptr_obj, row_idx_obj, n_cols, nnz, P.shape(0), "col_ptr", "row_idx");
  auto perm = checked_array<int64_t>(csc_to_csr_obj, "csc_to_csr", {nnz});
  {
    const int64_t* p = perm.data();
    for (int64_t x = 0; x < nnz; ++x)
      if (p[x] < 0 || p[x] >= nnz) throw py::value_error("csc_to_csr out of range");
  }
  double *np_ = num.mutable_data(), *dp = den.mutable_data();
  py::gil_scoped_release nogil;
  ccd::item_sums<float>(n_cols, c.row_ptr.data(), c.col_idx.data(), perm.data(), res.data(),
                        P.data(), P.shape(1), t, np_, dp, n_threads);
}

void update_users(const py::handle& row_ptr_obj, const py::handle& col_idx_obj,
                  const py::handle& residual_obj, const py::handle& P_obj, const py::handle& Q_obj,
                  int64_t t, float reg_user, int n_threads) {
  auto res = checked_array<float>(residual_obj, "residual", {any_dim});
  auto P = checked_array<float>(P_obj, "user_factors", {any_dim, any_dim}, true);
  auto Q = checked_array<float>(Q_obj, "item_factors", {any_dim, P.shape(1)});
  check_column(t, P);
  if (!(reg_user >= 0.f)) throw py::value_error("reg_user must be >= 0");
  const int64_t nnz = res.shape(0);
  Csr c = checked_csr(row_ptr_obj, col_idx_obj, P.shape(0), nnz, Q.shape(0));
  float* pp = P.mutable_data();
  py::gil_scoped_release nogil;
  ccd::update_users<float>(P.shape(0), c.row_ptr.data(), c.col_idx.data(), res.data(), pp,
                           Q.data(), P.shape(1), t, reg_user, n_threads);
}

double item_residual_sums(const py::handle& col_ptr_obj, const py::handle& csc_to_csr_obj,
                          const py::handle& residual_obj, const py::handle& sums_obj,
                          int n_threads) {
  auto res = checked_array<float>(residual_obj, "residual", {any_dim});
  auto sums = checked_array<double>(sums_obj, "sums", {any_dim}, true);
  const int64_t nnz = res.shape(0), n_cols = sums.shape(0);
  auto col_ptr = checked_array<int64_t>(col_ptr_obj, "col_ptr", {n_cols + 1});
  check_ptr(col_ptr, n_cols, nnz, "col_ptr");
  auto perm = checked_array<int64_t>(csc_to_csr_obj, "csc_to_csr", {nnz});
  {
    const int64_t* p = perm.data();
    for (int64_t x = 0; x < nnz; ++x)
      if (p[x] < 0 || p[x] >= nnz) throw py::value_error("csc_to_csr out of range");
  }
  double* sp = sums.mutable_data();
  py::gil_scoped_release nogil;
  return ccd::item_residual_sums<float>(n_cols, col_ptr.data(), perm.data(), res.data(), sp,
                                        n_threads);
}

void item_bias_step(const py::handle& sums_obj, const py::handle& counts_obj, double total,
                    double n_total, const py::handle& item_bias_obj,
                    const py::handle& global_obj, float reg_bias, const py::handle& shift_obj) {
  auto sums = checked_array<double>(sums_obj, "sums", {any_dim});
  const int64_t n_cols = sums.shape(0);
  auto counts = checked_array<double>(counts_obj, "counts", {n_cols});
  auto ib = checked_array<float>(item_bias_obj, "item_bias", {n_cols}, true);
  auto g = checked_array<float>(global_obj, "global_offset", {1}, true);
  auto shift = checked_array<double>(shift_obj, "shift", {n_cols}, true);
  if (!(reg_bias >= 0.f)) throw py::value_error("reg_bias must be >= 0");
  float *ibp = ib.mutable_data(), *gp = g.mutable_data();
  double* shp = shift.mutable_data();
  py::gil_scoped_release nogil;
  ccd::item_bias_step<float>(n_cols, sums.data(), counts.data(), total, n_total, ibp, gp,
                             reg_bias, shp);
}

void shift_residual(const py::handle& row_ptr_obj, const py::handle& col_idx_obj,
                    const py::handle& residual_obj, const py::handle& shift_obj, int n_threads) {
  auto res = checked_array<float>(residual_obj, "residual", {any_dim}, true);
  auto shift = checked_array<double>(shift_obj, "shift", {any_dim});
  const int64_t nnz = res.shape(0);
  auto row_ptr = checked_array<int64_t>(row_ptr_obj, "row_ptr", {any_dim});
  if (row_ptr.shape(0) < 1) throw py::value_error("row_ptr must hold n_rows + 1 entries");
  Csr c = checked_csr(row_ptr_obj, col_idx_obj, row_ptr.shape(0) - 1, nnz, shift.shape(0));
  float* rp = res.mutable_data();
  py::gil_scoped_release nogil;
  ccd::shift_residual<float>(row_ptr.shape(0) - 1, c.row_ptr.data(), c.col_idx.data(), rp,
                             shift.data(), n_threads);
}

void update_user_biases(const py::handle& row_ptr_obj, const py::handle& residual_obj,
                        const py::handle& user_bias_obj, float reg_bias, int n_threads) {
  auto res = checked_array<float>(residual_obj, "residual", {any_dim}, true);
  auto ub = checked_array<float>(user_bias_obj, "user_bias", {any_dim}, true);
  const int64_t n_rows = ub.shape(0), nnz = res.shape(0);
  auto row_ptr = checked_array<int64_t>(row_ptr_obj, "row_ptr", {n_rows + 1});
  check_ptr(row_ptr, n_rows, nnz, "row_ptr");
  if (!(reg_bias >= 0.f)) throw py::value_error("reg_bias must be >= 0");
  float *rp = res.mutable_data(), *up = ub.mutable_data();
  py::gil_scoped_release nogil;
  ccd::update_user_biases<float>(n_rows, row_ptr.data(), rp, up, reg_bias, n_threads);
}

void register_mf_ccd_dist(py::module_& m) {
  auto k = m.attr("mf").cast<py::module_>();
  k.def("ccd_dist_add_rank_one", &add_rank_one, py::arg("row_ptr"), py::arg("col_idx"),
        py::arg("residual"), py::arg("user_factors"), py::arg("item_factors"), py::arg("t"),
        py::arg("sign"), py::arg("n_threads") = 0,
        "residual[x] += sign * P[u, t] * Q[col_idx[x], t] over the CSR rows (in place).");
  k.def("ccd_dist_item_sums", &item_sums, py::arg("col_ptr"), py::arg("row_idx"),
        py::arg("csc_to_csr"), py::arg("residual"), py::arg("user_factors"), py::arg("t"),
        py::arg("num"), py::arg("den"), py::arg("n_threads") = 0,
        "Per item (CSC column): num = sum residual * P[u, t], den = sum P[u, t]^2 (float64).");
  k.def("ccd_dist_update_users", &update_users, py::arg("row_ptr"), py::arg("col_idx"),
        py::arg("residual"), py::arg("user_factors"), py::arg("item_factors"), py::arg("t"),
        py::arg("reg_user"), py::arg("n_threads") = 0,
        "P[u, t] = sum residual * Q[i, t] / (reg_user * n_u + sum Q[i, t]^2) (in place).");
  k.def("ccd_dist_item_residual_sums", &item_residual_sums, py::arg("col_ptr"),
        py::arg("csc_to_csr"), py::arg("residual"), py::arg("sums"), py::arg("n_threads") = 0,
        "sums[i] = sum of the residuals of item i's ratings (float64); returns their sum in item "
        "order.");
  k.def("ccd_dist_item_bias_step", &item_bias_step, py::arg("sums"), py::arg("counts"),
        py::arg("total"), py::arg("n_total"), py::arg("item_bias"), py::arg("global_offset"),
        py::arg("reg_bias"), py::arg("shift"),
        "From reduced residual sums and rating counts: g += total / n_total; item_bias[i] = "
        "(sums[i] - counts[i] dg + counts[i] b_i) / (counts[i] + reg_bias); shift[i] = dg + "
        "db_i (in place; shift may be sums).");
  k.def("ccd_dist_shift_residual", &shift_residual, py::arg("row_ptr"), py::arg("col_idx"),
        py::arg("residual"), py::arg("shift"), py::arg("n_threads") = 0,
        "residual[x] -= shift[col_idx[x]] over the CSR rows (in place).");
  k.def("ccd_dist_update_user_biases", &update_user_biases, py::arg("row_ptr"),
        py::arg("residual"), py::arg("user_bias"), py::arg("reg_bias"), py::arg("n_threads") = 0,
        "user_bias[u] = (sum residual + n_u b_u) / (n_u + reg_bias); residual -= the change "
        "(in place).");
}

Register reg(41, &register_mf_ccd_dist);

}  // namespace
