// Bindings of the implicit-ALS kernels: argument checks (shapes, the CSR structure, column ids
// against the factor table: an out-of-range id would be an out-of-bounds read) and GIL release
// around the kernels. float32 only: the estimator's factor tables are float32.
#include <string>

#include "arrays.hpp"
#include "kernels/als/als.hpp"

namespace py = pybind11;
using namespace harpdaal::bindings;
namespace als = harpdaal::kernels::als;

namespace {

using F32 = py::array_t<float, py::array::c_style>;

als::Solver parse_solver(const std::string& name) {
  if (name == "cg") return als::Solver::cg;
  if (name == "cholesky") return als::Solver::cholesky;
  throw py::value_error("solver must be 'cg' or 'cholesky', got '" + name + "'");
}

struct Csr {
  py::array_t<int64_t, py::array::c_style> indptr;
  py::array_t<int32_t, py::array::c_style> indices;
  F32 values;
  int64_t n_rows;
};

// indptr (n_rows + 1, int64) non-decreasing from 0 to nnz; column ids in [0, n_cols).
Csr checked_csr(const py::handle& indptr_obj, const py::handle& indices_obj,
                const py::handle& values_obj, int64_t n_rows, int64_t n_cols, int n_threads) {
  Csr c{checked_array<int64_t>(indptr_obj, "indptr", {n_rows + 1}),
        checked_array<int32_t>(indices_obj, "indices", {any_dim}),
        checked_array<float>(values_obj, "values", {any_dim}), n_rows};
  const int64_t nnz = c.indices.shape(0);
  if (c.values.shape(0) != nnz)
    throw py::value_error("values: expected " + std::to_string(nnz) +
                          " entries (as indices), got " + std::to_string(c.values.shape(0)));
  const int64_t* p = c.indptr.data();
  if (p[0] != 0 || p[n_rows] != nnz)
    throw py::value_error("indptr must start at 0 and end at len(indices) = " +
                          std::to_string(nnz));
  for (int64_t r = 0; r < n_rows; ++r)
    if (p[r + 1] < p[r]) throw py::value_error("indptr must be non-decreasing");
  check_ids(c.indices.data(), nnz, n_cols, "indices", n_threads);
  return c;
}

void check_k(const F32& f, int64_t k, const char* name) {
  if (f.shape(1) != k)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(k) +
                          " columns (factors), got " + std::to_string(f.shape(1)));
}

void gram(const py::handle& Y_obj, const py::handle& out_obj, int n_threads) {
  auto Y = checked_array<float>(Y_obj, "factors", {any_dim, any_dim});
  const int64_t k = Y.shape(1);
  auto out = checked_array<float>(out_obj, "out", {k, k}, true);
  float* o = out.mutable_data();
  py::gil_scoped_release nogil;
  als::gram<float>(Y.data(), Y.shape(0), k, o, n_threads);
}

void gram_partials(const py::handle& Y_obj, int64_t block_lo, int64_t block_hi,
                   const py::handle& partials_obj, int n_threads) {
  auto Y = checked_array<float>(Y_obj, "factors", {any_dim, any_dim});
  const int64_t n = Y.shape(0), k = Y.shape(1), n_blocks = als::gram_blocks(n);
  auto partials = checked_array<float>(partials_obj, "partials", {n_blocks, k, k}, true);
  if (block_lo < 0 || block_lo > block_hi || block_hi > n_blocks)
    throw py::value_error("gram_partials: blocks [" + std::to_string(block_lo) + ", " +
                          std::to_string(block_hi) + ") do not lie in [0, " +
                          std::to_string(n_blocks) + ")");
  float* p = partials.mutable_data();
  py::gil_scoped_release nogil;
  als::gram_partials<float>(Y.data(), n, k, block_lo, block_hi, p, n_threads);
}

void gram_sum(const py::handle& partials_obj, const py::handle& out_obj, int n_threads) {
  auto partials = checked_array<float>(partials_obj, "partials", {any_dim, any_dim, any_dim});
  const int64_t n_blocks = partials.shape(0), k = partials.shape(1);
  if (partials.shape(2) != k) throw py::value_error("partials: expected blocks of k x k");
  auto out = checked_array<float>(out_obj, "out", {k, k}, true);
  float* o = out.mutable_data();
  py::gil_scoped_release nogil;
  als::gram_sum<float>(partials.data(), n_blocks, k, o, n_threads);
}

void solve_rows(const py::handle& indptr, const py::handle& indices, const py::handle& values,
                const py::handle& Y_obj, const py::handle& gram_obj, const py::handle& X_obj,
                float regularization, float alpha, const std::string& solver, int cg_steps,
                int n_threads) {
  auto Y = checked_array<float>(Y_obj, "other_factors", {any_dim, any_dim});
  const int64_t k = Y.shape(1);
  auto X = checked_array<float>(X_obj, "factors", {any_dim, any_dim}, true);
  check_k(X, k, "factors");
  auto G = checked_array<float>(gram_obj, "gram", {k, k});
  const als::Solver s = parse_solver(solver);
  if (!(regularization >= 0.f)) throw py::value_error("regularization must be >= 0");
  if (!(alpha >= 0.f)) throw py::value_error("alpha must be >= 0");
  if (cg_steps < 1) throw py::value_error("cg_steps must be >= 1");
  Csr c = checked_csr(indptr, indices, values, X.shape(0), Y.shape(0), n_threads);
  float* x = X.mutable_data();
  py::gil_scoped_release nogil;
  als::solve_rows<float>(c.indptr.data(), c.indices.data(), c.values.data(), c.n_rows, Y.data(),
                         G.data(), k, regularization, alpha, s, cg_steps, x, n_threads);
}

double loss(const py::handle& indptr, const py::handle& indices, const py::handle& values,
            const py::handle& X_obj, const py::handle& Y_obj, const py::handle& gram_obj,
            float regularization, float alpha, int n_threads) {
  auto Y = checked_array<float>(Y_obj, "other_factors", {any_dim, any_dim});
  const int64_t k = Y.shape(1);
  auto X = checked_array<float>(X_obj, "factors", {any_dim, any_dim});
  check_k(X, k, "factors");
  auto G = checked_array<float>(gram_obj, "gram", {k, k});
  Csr c = checked_csr(indptr, indices, values, X.shape(0), Y.shape(0), n_threads);
  py::gil_scoped_release nogil;
  return als::loss<float>(c.indptr.data(), c.indices.data(), c.values.data(), c.n_rows,
                          X.data(), Y.data(), G.data(), k, regularization, alpha, n_threads);
}

void register_als(py::module_& m) {
  auto k = m.def_submodule("als", "implicit-feedback ALS kernels (Gram matrix, row solves), "
                                  "float32");
  k.def("gram", &gram, py::arg("factors"), py::arg("out"), py::arg("n_threads") = 0,
        "out = factorsᵀ factors (k x k, float32; blocks summed in double in a fixed order).");
  k.attr("gram_block_rows") = py::int_(als::kGramBlock);
  k.def("gram_blocks", &als::gram_blocks, py::arg("n_rows"),
        "Blocks of gram_block_rows rows that gram sums (at least 1).");
  k.def("gram_partials", &gram_partials, py::arg("factors"), py::arg("block_lo"),
        py::arg("block_hi"), py::arg("partials"), py::arg("n_threads") = 0,
        "Upper triangles of the Gram blocks [block_lo, block_hi) of factors into partials "
        "(gram_blocks(n) x k x k).");
  k.def("gram_sum", &gram_sum, py::arg("partials"), py::arg("out"), py::arg("n_threads") = 0,
        "out = the sum of the partials' upper triangles in double in block order, mirrored: "
        "gram's bits.");
  k.def("solve_rows", &solve_rows, py::arg("indptr"), py::arg("indices"), py::arg("values"),
        py::arg("other_factors"), py::arg("gram"), py::arg("factors"),
        py::arg("regularization"), py::arg("alpha"), py::arg("solver") = "cg",
        py::arg("cg_steps") = 3, py::arg("n_threads") = 0,
        "One ALS half-step over the CSR rows (in place on factors): row u solves "
        "(gram + reg I + sum (alpha r - 1) y yᵀ) x = sum alpha r y over its entries, by "
        "cg_steps warm-started CG steps ('cg') or exactly ('cholesky').");
  k.def("loss", &loss, py::arg("indptr"), py::arg("indices"), py::arg("values"),
        py::arg("factors"), py::arg("other_factors"), py::arg("gram"),
        py::arg("regularization"), py::arg("alpha"), py::arg("n_threads") = 0,
        "Weighted squared error of the CSR rows over all columns plus regularization * "
        "|factors|^2 (float64; add regularization * |other_factors|^2 once).");
}

Register reg(45, &register_als);

}  // namespace
