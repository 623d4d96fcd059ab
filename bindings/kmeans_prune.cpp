// Bindings of the bound-based K-means step (harpdaal._core.kmeans_prune). Checks only: every
// array goes through checked_array (exact dtype, C-contiguous, no copy); the state arrays are
// the caller's.
#include <stdexcept>
#include <string>

#include "arrays.hpp"
#include "kernels/kmeans/prune.hpp"

namespace py = pybind11;
using namespace harpdaal::bindings;
namespace km = harpdaal::kernels::kmeans;

namespace {

km::Method parse_method(const std::string& method) {
  if (method == "auto") return km::Method::automatic;
  if (method == "fused") return km::Method::fused;
  if (method == "gemm") return km::Method::gemm;
  throw py::value_error("method: expected 'auto', 'fused' or 'gemm', got '" + method + "'");
}

template <class T>
py::dict prune_step(const py::handle& x_obj, const py::handle& w_obj, const py::handle& shift_obj,
                    const py::handle& c_obj, const py::handle& prev_obj,
                    const py::handle& group_obj, const py::handle& labels_obj,
                    const py::handle& upper_obj, const py::handle& lower_obj,
                    const py::handle& sums_obj, const py::handle& weights_obj,
                    const py::handle& counts_obj, int n_threads, bool lloyd_sums,
                    const std::string& method, const py::handle& partials_obj,
                    bool reuse_partials) {
  auto x = checked_array<T>(x_obj, "X", {any_dim, any_dim});
  const int64_t n = x.shape(0), d = x.shape(1);
  auto c = checked_array<T>(c_obj, "centers", {any_dim, d});
  const int64_t k = c.shape(0);
  const T* w = w_obj.is_none() ? nullptr : in_ptr(checked_array<T>(w_obj, "sample_weight", {n}));
  const T* sh = shift_obj.is_none() ? nullptr : in_ptr(checked_array<T>(shift_obj, "shift", {d}));
  const T* prev =
      prev_obj.is_none() ? nullptr : in_ptr(checked_array<T>(prev_obj, "prev_centers", {k, d}));
  auto group = checked_array<int32_t>(group_obj, "group_of", {k});
  auto labels = checked_array<int32_t>(labels_obj, "labels", {n}, true);
  auto upper = checked_array<T>(upper_obj, "upper", {n}, true);
  auto lower = checked_array<T>(lower_obj, "lower", {n, any_dim}, true);
  const int64_t t = lower.shape(1);
  auto sums = checked_array<double>(sums_obj, "sums", {k, d}, true);
  auto weights = checked_array<double>(weights_obj, "weights", {k}, true);
  auto counts = checked_array<int64_t>(counts_obj, "counts", {k}, true);
  const T* xp = in_ptr(x);
  const T* cp = in_ptr(c);
  const int32_t* gp = in_ptr(group);
  int32_t* lp = out_ptr(labels);
  T* up = out_ptr(upper);
  T* lo = out_ptr(lower);
  double* sp = out_ptr(sums);
  double* wp = out_ptr(weights);
  int64_t* np = out_ptr(counts);
  km::Method m = parse_method(method);
  double* pp = nullptr;
  int64_t n_partials = 0;
  if (!partials_obj.is_none()) {
    auto partials = checked_array<double>(partials_obj, "partials", {any_dim}, true);
    pp = out_ptr(partials);
    n_partials = partials.shape(0);
  }
  km::PruneCounts r;
  try {
    py::gil_scoped_release nogil;
    r = km::prune_step<T>(xp, n, d, w, sh, cp, prev, k, gp, t, lp, up, lo, sp, wp, np, n_threads,
                          lloyd_sums, m, pp, n_partials, reuse_partials);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  py::dict out;
  out["distances"] = r.distances;
  out["skipped"] = r.skipped;
  out["tightened"] = r.tightened;
  out["changed"] = r.changed;
  return out;
}

template <class T>
void define(py::module_& m, const char* suffix) {
  m.def((std::string("prune_step") + suffix).c_str(), &prune_step<T>, py::arg("X"),
        py::arg("sample_weight"), py::arg("shift"), py::arg("centers"), py::arg("prev_centers"),
        py::arg("group_of"), py::arg("labels"), py::arg("upper"), py::arg("lower"),
        py::arg("sums"), py::arg("weights"), py::arg("counts"), py::arg("n_threads") = 0,
        py::arg("lloyd_sums") = false, py::arg("method") = "auto",
        py::arg("partials") = py::none(), py::arg("reuse_partials") = false,
        "One Yinyang assignment step (exact: Lloyd's labels up to floating-point ties). "
        "prev_centers None starts from scratch; else the state arrays (labels, upper, lower "
        "(n, n_groups), sums, weights, counts) are what the previous call left and are updated "
        "in place. lloyd_sums: sums/weights recomputed as lloyd_partial(method, n_threads) adds them (the Lloyd step's bits; one pass over X), else updated from the rows that moved. partials (float64, prune_partials_size values, kept by the caller) with reuse_partials: only the Lloyd chunks' partial sums that a changed row touches are recomputed (the same bits, without the pass over X). Returns counts: distances computed, rows skipped, rows settled by one "
        "distance (tightened), labels changed.");
}

void register_prune(py::module_& m) {
  auto p = m.def_submodule("kmeans_prune", "Bound-based (Yinyang / Hamerly) K-means step");
  define<float>(p, "_f32");
  define<double>(p, "_f64");
  p.def("prune_groups", &km::prune_groups, py::arg("k"),
        "How many center groups the estimator uses for k centers (1: Hamerly).");
  p.def(
      "prune_partials_size",
      [](int64_t n, int64_t d, int64_t k, int n_threads, const std::string& method,
         const py::object& dtype) {
        const bool f64 = py::dtype::from_args(dtype).itemsize() == 8;
        return km::prune_partials_size(n, d, k, n_threads, parse_method(method), f64);
      },
      py::arg("n"), py::arg("d"), py::arg("k"), py::arg("n_threads"), py::arg("method"),
      py::arg("dtype"),
      "Float64 values prune_step's partials holds (the Lloyd step's chunk count times k (d + 1)).");
}

Register reg(31, &register_prune);

}  // namespace
