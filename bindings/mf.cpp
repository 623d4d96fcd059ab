// Bindings of the matrix-factorisation kernels (MF-SGD, CCD++): argument checks, index bounds
// (an out-of-range id would be an out-of-bounds write, so it is checked here, once per call, with
// the GIL released), and GIL release around the kernels. float32 only: the factor tables of the
// estimator are float32.
#include <cmath>
#include <algorithm>
#include <string>

#include "arrays.hpp"
#include "kernels/mf_ccd/mf_ccd.hpp"
#include "kernels/mf_sgd/mf_sgd.hpp"
#include "kernels/mf_sgd/setup.hpp"

namespace py = pybind11;
using namespace harpdaal::bindings;
namespace sgd = harpdaal::kernels::mf_sgd;
namespace ccd = harpdaal::kernels::mf_ccd;

namespace {

using F32 = py::array_t<float, py::array::c_style>;
using I32 = py::array_t<int32_t, py::array::c_style>;
using I64 = py::array_t<int64_t, py::array::c_style>;

void check_factors(const F32& f, int64_t k, const char* name) {
  if (f.shape(1) % 16 != 0)
    throw py::value_error(std::string(name) +
                          ": row stride must be a multiple of 16 floats (64 bytes), got " +
                          std::to_string(f.shape(1)));
  if (k < 1 || k > f.shape(1))
    throw py::value_error("n_factors must lie in [1, " + std::to_string(f.shape(1)) + "], got " +
                          std::to_string(k));
}

float* optional_vec(const py::object& obj, const char* name, int64_t n, bool writable) {
  if (obj.is_none()) return nullptr;
  auto a = checked_array<float>(obj, name, {n}, writable);
  // read-only inputs (a memory-mapped fitted model) are only read: mutable_data() would refuse
  return writable ? a.mutable_data() : const_cast<float*>(a.data());
}

struct Tables {
  F32 P, Q;
  float *ub = nullptr, *ib = nullptr;
};

Tables factor_tables(const py::handle& P_obj, const py::handle& Q_obj, const py::object& ub,
                     const py::object& ib, int64_t k, bool writable) {
  Tables t{checked_array<float>(P_obj, "user_factors", {any_dim, any_dim}, writable),
           checked_array<float>(Q_obj, "item_factors", {any_dim, any_dim}, writable)};
  check_factors(t.P, k, "user_factors");
  check_factors(t.Q, k, "item_factors");
  if (t.P.shape(1) != t.Q.shape(1))
    throw py::value_error("user_factors and item_factors must have the same row stride");
  if (ub.is_none() != ib.is_none())
    throw py::value_error("user_bias and item_bias must both be given or both be None");
  t.ub = optional_vec(ub, "user_bias", t.P.shape(0), writable);
  t.ib = optional_vec(ib, "item_bias", t.Q.shape(0), writable);
  return t;
}

void sgd_train_grid(const py::handle& users_obj, const py::handle& items_obj,
                    const py::handle& ratings_obj, const py::handle& block_ptr_obj,
                    const py::handle& col_order_obj, const py::handle& P_obj,
                    const py::handle& Q_obj, const py::object& user_acc,
                    const py::object& item_acc, const py::object& user_bias,
                    const py::object& item_bias, int64_t n_factors, float learning_rate,
                    float reg_user, float reg_item, float reg_bias, float global_mean,
                    bool adaptive, bool dynamic, int n_threads, bool check_ids_every_call) {
  auto users = checked_array<int32_t>(users_obj, "users", {any_dim});
  const int64_t n = users.shape(0);
  auto items = checked_array<int32_t>(items_obj, "items", {n});
  auto ratings = checked_array<float>(ratings_obj, "ratings", {n});
  auto col_order = checked_array<int32_t>(col_order_obj, "col_order", {any_dim});
  const int64_t grid = col_order.shape(0);
  auto block_ptr = checked_array<int64_t>(block_ptr_obj, "block_ptr", {grid * grid + 1});
  Tables t = factor_tables(P_obj, Q_obj, user_bias, item_bias, n_factors, true);
  if (!(learning_rate > 0.f)) throw py::value_error("learning_rate must be > 0");
  if (!(reg_user >= 0.f && reg_item >= 0.f && reg_bias >= 0.f))
    throw py::value_error("regularisation must be >= 0");
  float* uacc = optional_vec(user_acc, "user_acc", t.P.shape(0), true);
  float* iacc = optional_vec(item_acc, "item_acc", t.Q.shape(0), true);
  if (adaptive && (!uacc || !iacc))
    throw py::value_error("adaptive learning rate needs user_acc and item_acc");
  {
    const int64_t* bp = block_ptr.data();
    if (bp[0] != 0 || bp[grid * grid] != n)
      throw py::value_error("block_ptr must start at 0 and end at len(ratings)");
    for (int64_t b = 0; b < grid * grid; ++b)
      if (bp[b + 1] < bp[b]) throw py::value_error("block_ptr must be non-decreasing");
    std::vector<char> seen(static_cast<size_t>(grid), 0);
    for (int64_t j = 0; j < grid; ++j) {
      int32_t c = col_order.data()[j];
      if (c < 0 || c >= grid || seen[c]) throw py::value_error("col_order must be a permutation");
      seen[c] = 1;
    }
  }
  if (check_ids_every_call) {
    check_ids(users.data(), n, t.P.shape(0), "users");
    check_ids(items.data(), n, t.Q.shape(0), "items");
  }
  sgd::Params<float> prm;
  prm.learning_rate = learning_rate;
  prm.reg_user = reg_user;
  prm.reg_item = reg_item;
  prm.reg_bias = reg_bias;
  prm.global_mean = global_mean;
  prm.adaptive = adaptive;
  prm.dynamic = dynamic;
  const int64_t ld = t.P.shape(1);
  py::gil_scoped_release nogil;
  sgd::train_grid<float>(users.data(), items.data(), ratings.data(), block_ptr.data(), grid,
                         col_order.data(), {t.P.mutable_data(), uacc, t.ub},
                         {t.Q.mutable_data(), iacc, t.ib}, ld, n_factors, prm, n_threads);
}

void sgd_predict(const py::handle& users_obj, const py::handle& items_obj,
                 const py::handle& P_obj, const py::handle& Q_obj, const py::object& user_bias,
                 const py::object& item_bias, int64_t n_factors, float global_mean,
                 const py::handle& out_obj, int n_threads) {
  auto users = checked_array<int32_t>(users_obj, "users", {any_dim});
  const int64_t n = users.shape(0);
  auto items = checked_array<int32_t>(items_obj, "items", {n});
  auto out = checked_array<float>(out_obj, "out", {n}, true);
  Tables t = factor_tables(P_obj, Q_obj, user_bias, item_bias, n_factors, false);
  check_ids(users.data(), n, t.P.shape(0), "users");
  check_ids(items.data(), n, t.Q.shape(0), "items");
  float* op = out.mutable_data();
  py::gil_scoped_release nogil;
  sgd::predict<float>(users.data(), items.data(), n, t.P.data(), t.Q.data(), t.ub, t.ib,
                      t.P.shape(1), n_factors, global_mean, op, n_threads);
}

double sgd_sse(const py::handle& users_obj, const py::handle& items_obj,
               const py::handle& ratings_obj, const py::handle& P_obj, const py::handle& Q_obj,
               const py::object& user_bias, const py::object& item_bias, int64_t n_factors,
               float global_mean, int n_threads) {
  auto users = checked_array<int32_t>(users_obj, "users", {any_dim});
  const int64_t n = users.shape(0);
  auto items = checked_array<int32_t>(items_obj, "items", {n});
  auto ratings = checked_array<float>(ratings_obj, "ratings", {n});
  Tables t = factor_tables(P_obj, Q_obj, user_bias, item_bias, n_factors, false);
  check_ids(users.data(), n, t.P.shape(0), "users");
  check_ids(items.data(), n, t.Q.shape(0), "items");
  py::gil_scoped_release nogil;
  return sgd::sum_squared_error<float>(users.data(), items.data(), ratings.data(), n, t.P.data(),
                                       t.Q.data(), t.ub, t.ib, t.P.shape(1), n_factors,
                                       global_mean, n_threads);
}

void ccd_epoch(const py::handle& row_ptr_obj, const py::handle& col_idx_obj,
               const py::handle& col_ptr_obj, const py::handle& row_idx_obj,
               const py::handle& csc_to_csr_obj, const py::handle& residual_obj,
               const py::handle& P_obj, const py::handle& Q_obj, int64_t n_factors,
               float reg_user, float reg_item, int inner_iters, int n_threads,
               const py::object& user_bias, const py::object& item_bias,
               const py::object& global_offset, float reg_bias) {
  auto P = checked_array<float>(P_obj, "user_factors", {any_dim, any_dim}, true);
  auto Q = checked_array<float>(Q_obj, "item_factors", {any_dim, P.shape(1)}, true);
  check_factors(P, n_factors, "user_factors");
  const int64_t m = P.shape(0), n_items = Q.shape(0);
  auto row_ptr = checked_array<int64_t>(row_ptr_obj, "row_ptr", {m + 1});
  auto col_ptr = checked_array<int64_t>(col_ptr_obj, "col_ptr", {n_items + 1});
  auto col_idx = checked_array<int32_t>(col_idx_obj, "col_idx", {any_dim});
  const int64_t nnz = col_idx.shape(0);
  auto row_idx = checked_array<int32_t>(row_idx_obj, "row_idx", {nnz});
  auto perm = checked_array<int64_t>(csc_to_csr_obj, "csc_to_csr", {nnz});
  auto res = checked_array<float>(residual_obj, "residual", {nnz}, true);
  if (inner_iters < 1) throw py::value_error("inner_iters must be >= 1");
  if (!(reg_user >= 0.f && reg_item >= 0.f)) throw py::value_error("regularisation must be >= 0");
  auto check_ptr = [nnz](const I64& ptr, int64_t len, const char* name) {
    const int64_t* p = ptr.data();
    if (p[0] != 0 || p[len] != nnz)
      throw py::value_error(std::string(name) + " must start at 0 and end at nnz");
    for (int64_t a = 0; a < len; ++a)
      if (p[a + 1] < p[a]) throw py::value_error(std::string(name) + " must be non-decreasing");
  };
  check_ptr(row_ptr, m, "row_ptr");
  check_ptr(col_ptr, n_items, "col_ptr");
  check_ids(col_idx.data(), nnz, n_items, "col_idx");
  check_ids(row_idx.data(), nnz, m, "row_idx");
  {
    const int64_t* p = perm.data();
    for (int64_t x = 0; x < nnz; ++x)
      if (p[x] < 0 || p[x] >= nnz) throw py::value_error("csc_to_csr out of range");
  }
  ccd::Biases<float> biases;
  if (user_bias.is_none() != item_bias.is_none() || user_bias.is_none() != global_offset.is_none())
    throw py::value_error("user_bias, item_bias and global_offset must all be given or all None");
  if (!user_bias.is_none()) {
    if (!(reg_bias >= 0.f)) throw py::value_error("reg_bias must be >= 0");
    biases = {optional_vec(user_bias, "user_bias", m, true),
              optional_vec(item_bias, "item_bias", n_items, true),
              optional_vec(global_offset, "global_offset", 1, true), reg_bias};
  }
  float *Pp = P.mutable_data(), *Qp = Q.mutable_data(), *rp = res.mutable_data();
  py::gil_scoped_release nogil;
  ccd::ccd_epoch<float>(m, n_items, row_ptr.data(), col_idx.data(), col_ptr.data(),
                        row_idx.data(), perm.data(), rp, Pp, Qp, P.shape(1), n_factors, reg_user,
                        reg_item, inner_iters, n_threads, biases);
}

// bucket() and bucket_relabel() share their grid bounds and their outputs.
void check_grid(int64_t grid, int ways) {
  if (grid < 1 || grid > 4096) throw py::value_error("grid must lie in [1, 4096]");
  if (ways < 1 || ways > 64) throw py::value_error("ways must lie in [1, 64]");
}

// True when [a, a + a_bytes) and [b, b + b_bytes) share a byte.
bool overlaps(const void* a, int64_t a_bytes, const void* b, int64_t b_bytes) {
  const auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return a_bytes > 0 && b_bytes > 0 && x < y + uintptr_t(b_bytes) && y < x + uintptr_t(a_bytes);
}

struct BucketOutputs {
  I32 users, items;
  F32 ratings;
  I64 block_ptr;
  BucketOutputs(int64_t n, int64_t grid, const py::handle& users_obj, const py::handle& items_obj,
                const py::handle& ratings_obj, const py::handle& block_ptr_obj)
      : users(checked_array<int32_t>(users_obj, "out_users", {n}, true)),
        items(checked_array<int32_t>(items_obj, "out_items", {n}, true)),
        ratings(checked_array<float>(ratings_obj, "out_ratings", {n}, true)),
        block_ptr(checked_array<int64_t>(block_ptr_obj, "block_ptr", {grid * grid + 1}, true)) {}
  // the kernels use the outputs as scratch while still reading the inputs
  void check_disjoint(const py::array& a, const py::array& b, const py::array& c) const {
    const py::array* ins[] = {&a, &b, &c};
    const py::array* outs[] = {&users, &items, &ratings, &block_ptr};
    for (const py::array* o : outs)
      for (const py::array* i : ins)
        if (overlaps(o->data(), o->nbytes(), i->data(), i->nbytes()))
          throw py::value_error("bucket: the output arrays must not share memory with the inputs");
  }
};

int64_t sgd_bucket(const py::handle& users_obj, const py::handle& items_obj,
                   const py::handle& ratings_obj, int64_t n_users, int64_t n_items, int64_t grid,
                   const py::handle& out_users_obj, const py::handle& out_items_obj,
                   const py::handle& out_ratings_obj, const py::handle& block_ptr_obj,
                   int ways, int n_threads) {
  auto users = checked_array<int32_t>(users_obj, "users", {any_dim});
  const int64_t n = users.shape(0);
  auto items = checked_array<int32_t>(items_obj, "items", {n});
  auto ratings = checked_array<float>(ratings_obj, "ratings", {n});
  check_grid(grid, ways);
  if (n_users < 1 || n_items < 1) throw py::value_error("n_users and n_items must be >= 1");
  BucketOutputs out(n, grid, out_users_obj, out_items_obj, out_ratings_obj, block_ptr_obj);
  out.check_disjoint(users, items, ratings);
  check_ids(users.data(), n, n_users, "users", n_threads);
  check_ids(items.data(), n, n_items, "items", n_threads);
  int32_t *oup = out.users.mutable_data(), *oip = out.items.mutable_data();
  float* orp = out.ratings.mutable_data();
  int64_t* bpp = out.block_ptr.mutable_data();
  py::gil_scoped_release nogil;
  return sgd::bucket<float>(users.data(), items.data(), ratings.data(), n, n_users, n_items, grid,
                            oup, oip, orp, bpp, ways, n_threads);
}

int64_t sgd_bucket_relabel(const py::handle& users_obj, const py::handle& items_obj,
                           const py::handle& ratings_obj, const py::handle& user_perm_obj,
                           const py::handle& item_perm_obj, double shift, double scale,
                           int64_t grid, const py::handle& out_users_obj,
                           const py::handle& out_items_obj, const py::handle& out_ratings_obj,
                           const py::handle& block_ptr_obj, int ways, int n_threads) {
  auto users = checked_array<int32_t>(users_obj, "users", {any_dim});
  const int64_t n = users.shape(0);
  auto items = checked_array<int32_t>(items_obj, "items", {n});
  auto ratings = checked_array<double>(ratings_obj, "ratings", {n});
  auto uperm = checked_array<int32_t>(user_perm_obj, "user_perm", {any_dim});
  auto iperm = checked_array<int32_t>(item_perm_obj, "item_perm", {any_dim});
  const int64_t n_users = uperm.shape(0), n_items = iperm.shape(0);
  check_grid(grid, ways);
  if (n_users < 1 || n_items < 1) throw py::value_error("user_perm and item_perm must be non-empty");
  if (!(scale > 0.0) || !std::isfinite(scale) || !std::isfinite(shift))
    throw py::value_error("scale must be finite and > 0, shift finite");
  BucketOutputs out(n, grid, out_users_obj, out_items_obj, out_ratings_obj, block_ptr_obj);
  out.check_disjoint(users, items, ratings);
  out.check_disjoint(uperm, iperm, ratings);
  check_ids(users.data(), n, n_users, "users", n_threads);
  check_ids(items.data(), n, n_items, "items", n_threads);
  check_ids(uperm.data(), n_users, n_users, "user_perm");
  check_ids(iperm.data(), n_items, n_items, "item_perm");
  {  // permutations: every id exactly once (a repeat would merge two rows)
    std::vector<char> seen(static_cast<size_t>(std::max(n_users, n_items)), 0);
    for (int64_t x = 0; x < n_users; ++x)
      if (seen[uperm.data()[x]]++) throw py::value_error("user_perm must be a permutation");
    std::fill(seen.begin(), seen.end(), 0);
    for (int64_t x = 0; x < n_items; ++x)
      if (seen[iperm.data()[x]]++) throw py::value_error("item_perm must be a permutation");
  }
  int32_t *oup = out.users.mutable_data(), *oip = out.items.mutable_data();
  float* orp = out.ratings.mutable_data();
  int64_t* bpp = out.block_ptr.mutable_data();
  py::gil_scoped_release nogil;
  return sgd::bucket_relabel(users.data(), items.data(), ratings.data(), n, uperm.data(),
                             iperm.data(), n_users, n_items, shift, scale, grid, oup, oip, orp,
                             bpp, ways, n_threads);
}

void sgd_seen_lists(const py::handle& users_obj, const py::handle& items_obj,
                    const py::handle& user_perm_obj, const py::handle& item_inverse_obj,
                    const py::handle& row_ptr_obj, const py::handle& out_items_obj) {
  auto users = checked_array<int32_t>(users_obj, "users", {any_dim});
  const int64_t n = users.shape(0);
  auto items = checked_array<int32_t>(items_obj, "items", {n});
  auto uperm = checked_array<int32_t>(user_perm_obj, "user_perm", {any_dim});
  auto iinv = checked_array<int32_t>(item_inverse_obj, "item_inverse", {any_dim});
  const int64_t n_users = uperm.shape(0), n_items = iinv.shape(0);
  auto rp = checked_array<int64_t>(row_ptr_obj, "row_ptr", {n_users + 1}, true);
  auto oi = checked_array<int32_t>(out_items_obj, "out_items", {n}, true);
  check_ids(users.data(), n, n_users, "users");
  check_ids(items.data(), n, n_items, "items");
  check_ids(uperm.data(), n_users, n_users, "user_perm");
  check_ids(iinv.data(), n_items, n_items, "item_inverse");
  int64_t* rpp = rp.mutable_data();
  int32_t* oip = oi.mutable_data();
  py::gil_scoped_release nogil;
  sgd::seen_lists(users.data(), items.data(), n, uperm.data(), iinv.data(), n_users, rpp, oip);
}

void group_by_row(const py::handle& rows_obj, const py::handle& cols_obj, int64_t n_rows,
                  const py::handle& row_ptr_obj, const py::handle& out_cols_obj) {
  auto rows = checked_array<int32_t>(rows_obj, "rows", {any_dim});
  const int64_t n = rows.shape(0);
  auto cols = checked_array<int32_t>(cols_obj, "cols", {n});
  if (n_rows < 0) throw py::value_error("n_rows must be >= 0");
  auto rp = checked_array<int64_t>(row_ptr_obj, "row_ptr", {n_rows + 1}, true);
  auto oc = checked_array<int32_t>(out_cols_obj, "out_cols", {n}, true);
  check_ids(rows.data(), n, n_rows, "rows");
  int64_t* rpp = rp.mutable_data();
  int32_t* ocp = oc.mutable_data();
  py::gil_scoped_release nogil;
  sgd::group_by_row(rows.data(), cols.data(), n, n_rows, rpp, ocp);
}

int64_t dense_rank(const py::handle& ids_obj, const py::handle& table_obj,
                   const py::handle& index_obj, int n_threads) {
  auto ids = checked_array<int64_t>(ids_obj, "ids", {any_dim});
  const int64_t n = ids.shape(0);
  auto table = checked_array<int32_t>(table_obj, "table", {any_dim}, true);
  auto index = checked_array<int32_t>(index_obj, "index", {n}, true);
  if (table.shape(0) > int64_t{1} << 31)
    throw py::value_error("table: at most 2**31 entries (int32 ranks)");
  int32_t *tp = table.mutable_data(), *ip = index.mutable_data();
  py::gil_scoped_release nogil;
  return sgd::dense_rank(ids.data(), n, table.shape(0), tp, ip, n_threads);
}

void normal_rows(const py::handle& out_obj, int64_t n_factors, float stddev, uint64_t seed,
                 uint64_t stream, int64_t first_row, int n_threads) {
  auto out = checked_array<float>(out_obj, "out", {any_dim, any_dim}, true);
  if (n_factors < 0 || n_factors > out.shape(1))
    throw py::value_error("n_factors must lie in [0, " + std::to_string(out.shape(1)) +
                          "], got " + std::to_string(n_factors));
  if (!std::isfinite(stddev) || stddev < 0.f)
    throw py::value_error("stddev must be finite and >= 0");
  if (first_row < 0) throw py::value_error("first_row must be >= 0");
  float* op = out.mutable_data();
  py::gil_scoped_release nogil;
  sgd::normal_rows(op, out.shape(0), out.shape(1), n_factors, stddev, seed, stream, first_row,
                   n_threads);
}

void permute_rows(const py::handle& rows_obj, const py::handle& perm_obj, float scale) {
  auto rows = checked_array<float>(rows_obj, "rows", {any_dim, any_dim}, true);
  auto perm = checked_array<int32_t>(perm_obj, "perm", {rows.shape(0)});
  float* rp = rows.mutable_data();
  bool ok;
  {
    py::gil_scoped_release nogil;
    ok = sgd::permute_rows(rp, perm.data(), rows.shape(0), rows.shape(1), scale);
  }
  if (!ok)
    throw py::value_error("perm must be a permutation of 0.." + std::to_string(rows.shape(0) - 1) +
                          " (each row index exactly once)");
}

py::tuple mean_std(const py::handle& x_obj, int n_threads) {
  auto x = checked_array<double>(x_obj, "x", {any_dim});
  double mean = 0.0, sd = 0.0;
  {
    py::gil_scoped_release nogil;
    sgd::mean_std(x.data(), x.shape(0), &mean, &sd, n_threads);
  }
  return py::make_tuple(mean, sd);
}

void register_mf(py::module_& m) {
  auto k = m.def_submodule("mf", "matrix factorisation kernels (MF-SGD, CCD++), float32");
  k.def("sgd_train_grid", &sgd_train_grid, py::arg("users"), py::arg("items"),
        py::arg("ratings"), py::arg("block_ptr"), py::arg("col_order"), py::arg("user_factors"),
        py::arg("item_factors"), py::arg("user_acc"), py::arg("item_acc"),
        py::arg("user_bias"), py::arg("item_bias"), py::arg("n_factors"),
        py::arg("learning_rate"), py::arg("reg_user"), py::arg("reg_item"),
        py::arg("reg_bias"), py::arg("global_mean"), py::arg("adaptive") = true,
        py::arg("dynamic") = false, py::arg("n_threads") = 0, py::arg("check_ids") = true,
        "One SGD epoch over ratings bucketed into a grid x grid block array (in place). "
        "check_ids=False skips the O(n) scan of users/items against the factor tables: only "
        "for ids the caller produced and checked itself (e.g. bucket() output already passed "
        "to a checked call, unchanged since).");
  k.def("sgd_predict", &sgd_predict, py::arg("users"), py::arg("items"),
        py::arg("user_factors"), py::arg("item_factors"), py::arg("user_bias"),
        py::arg("item_bias"), py::arg("n_factors"), py::arg("global_mean"), py::arg("out"),
        py::arg("n_threads") = 0, "out[e] = mu + b_u + b_i + p_u . q_i");
  k.def("sum_squared_error", &sgd_sse, py::arg("users"), py::arg("items"), py::arg("ratings"),
        py::arg("user_factors"), py::arg("item_factors"), py::arg("user_bias"),
        py::arg("item_bias"), py::arg("n_factors"), py::arg("global_mean"),
        py::arg("n_threads") = 0, "Sum of squared prediction errors (float64).");
  k.def("bucket", &sgd_bucket, py::arg("users"), py::arg("items"), py::arg("ratings"),
        py::arg("n_users"), py::arg("n_items"), py::arg("grid"), py::arg("out_users"),
        py::arg("out_items"), py::arg("out_ratings"), py::arg("block_ptr"), py::arg("ways") = 1,
        py::arg("n_threads") = 0,
        "Order ratings by grid block, user, item for sgd_train_grid; returns the number of "
        "repeated (user, item) pairs.");
  k.def("bucket_relabel", &sgd_bucket_relabel, py::arg("users"), py::arg("items"),
        py::arg("ratings"), py::arg("user_perm"), py::arg("item_perm"), py::arg("shift"),
        py::arg("scale"), py::arg("grid"), py::arg("out_users"), py::arg("out_items"),
        py::arg("out_ratings"), py::arg("block_ptr"), py::arg("ways") = 1,
        py::arg("n_threads") = 0,
        "bucket() of (user_perm[users], item_perm[items], float32((ratings - shift) / scale)) "
        "without materialising them; ratings float64. Returns the number of repeated pairs.");
  k.def("seen_lists", &sgd_seen_lists, py::arg("users"), py::arg("items"),
        py::arg("user_perm"), py::arg("item_inverse"), py::arg("row_ptr"), py::arg("out_items"),
        "Items rated by each internal user (CSR) from bucketed work-id ratings.");
  k.def("group_by_row", &group_by_row, py::arg("rows"), py::arg("cols"), py::arg("n_rows"),
        py::arg("row_ptr"), py::arg("out_cols"), "CSR grouping of (row, col) pairs.");
  k.def("dense_rank", &dense_rank, py::arg("ids"), py::arg("table"), py::arg("index"),
        py::arg("n_threads") = 0,
        "Rank int64 ids through a lookup table: table[v] = rank of v among the distinct ids "
        "(ascending) or -1 if absent, index[e] = table[ids[e]]. Returns the number of "
        "distinct ids, or -1 (outputs unspecified) if an id lies outside [0, len(table)).");
  k.def("normal_rows", &normal_rows, py::arg("out"), py::arg("n_factors"), py::arg("stddev"),
        py::arg("seed"), py::arg("stream") = 0, py::arg("first_row") = 0,
        py::arg("n_threads") = 0,
        "out[r, :n_factors] = stddev * N(0, 1) from a counter-based generator keyed by (seed, "
        "stream, first_row + r): the same for any thread count; out[r, n_factors:] = 0.");
  k.def("permute_rows", &permute_rows, py::arg("rows"), py::arg("perm"), py::arg("scale"),
        "rows[x] = scale * rows[perm[x]] for every x, in place (float32 rows; one row of "
        "scratch, no copy of the table); ValueError, rows untouched, if perm is not a "
        "permutation.");
  k.def("mean_std", &mean_std, py::arg("x"), py::arg("n_threads") = 0,
        "(mean, population standard deviation) of float64 x; the same for any thread count.");
  k.def("ccd_epoch", &ccd_epoch, py::arg("row_ptr"), py::arg("col_idx"), py::arg("col_ptr"),
        py::arg("row_idx"), py::arg("csc_to_csr"), py::arg("residual"), py::arg("user_factors"),
        py::arg("item_factors"), py::arg("n_factors"), py::arg("reg_user"),
        py::arg("reg_item"), py::arg("inner_iters") = 1, py::arg("n_threads") = 0,
        py::arg("user_bias") = py::none(), py::arg("item_bias") = py::none(),
        py::arg("global_offset") = py::none(), py::arg("reg_bias") = 0.0f,
        "One CCD++ sweep (in place on residual, factors and, if given, biases): with biases, one "
        "pass over the global offset (1 value), item and user biases first, each "
        "b = sum residual / (n + reg_bias) with b added back; then the rank-one factor updates.");
}

Register reg(40, &register_mf);

}  // namespace
