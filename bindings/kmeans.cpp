// Bindings of the K-means kernels (harpdaal._core.kmeans). Checks only: every array goes
// through checked_array (exact dtype, C-contiguous, no copy); outputs come from Python.
#include <stdexcept>

#include "arrays.hpp"
#include "kernels/kmeans/kmeans.hpp"

namespace py = pybind11;
using namespace harpdaal::bindings;
namespace km = harpdaal::kernels::kmeans;

namespace {

km::Method parse_method(const std::string& name) {
  if (name == "auto") return km::Method::automatic;
  if (name == "fused") return km::Method::fused;
  if (name == "gemm") return km::Method::gemm;
  throw py::value_error("method: expected 'auto', 'fused' or 'gemm', got '" + name + "'");
}

template <class T>
const T* optional_weights(const py::handle& obj, int64_t n) {
  if (obj.is_none()) return nullptr;
  return in_ptr(checked_array<T>(obj, "sample_weight", {n}));
}

// Kernel std::invalid_argument -> ValueError (runs after the GIL is re-acquired).
template <class Fn>
void run_kernel(Fn&& fn) {
  try {
    py::gil_scoped_release nogil;
    fn();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

// An optional `shift` argument: None, or d values (the kernel centres x - shift block by block).
template <class T>
const T* optional_shift(const py::handle& obj, int64_t d) {
  if (obj.is_none()) return nullptr;
  return in_ptr(checked_array<T>(obj, "shift", {d}));
}

template <class T>
double lloyd_partial(const py::handle& x_obj, const py::handle& w_obj, const py::handle& c_obj,
                     const py::handle& labels_obj, const py::handle& sums_obj,
                     const py::handle& weights_obj, int n_threads, const std::string& method,
                     const py::handle& rows_obj) {
  auto x = checked_array<T>(x_obj, "X", {any_dim, any_dim});
  const int64_t d = x.shape(1);
  int64_t n = x.shape(0);
  const int64_t* rp = nullptr;
  if (!rows_obj.is_none()) {  // the step's rows are X[rows]
    auto rows = checked_array<int64_t>(rows_obj, "rows", {any_dim});
    rp = in_ptr(rows);
    for (int64_t i = 0; i < rows.shape(0); ++i)
      if (rp[i] < 0 || rp[i] >= n) throw py::value_error("rows: out of range [0, n_samples)");
    n = rows.shape(0);
  }
  auto c = checked_array<T>(c_obj, "centers", {any_dim, d});
  const int64_t k = c.shape(0);
  auto labels = checked_array<int32_t>(labels_obj, "labels", {n}, true);
  auto sums = checked_array<double>(sums_obj, "sums", {k, d}, true);
  auto weights = checked_array<double>(weights_obj, "weights", {k}, true);
  const T* w = optional_weights<T>(w_obj, n);
  const km::Method m = parse_method(method);
  const T* xp = in_ptr(x);
  const T* cp = in_ptr(c);
  int32_t* lp = out_ptr(labels);
  double* sp = out_ptr(sums);
  double* wp = out_ptr(weights);
  double inertia = 0;
  run_kernel([&] {
    km::lloyd_partial<T>(xp, n, d, w, cp, k, lp, sp, wp, &inertia, n_threads, m, nullptr, rp);
  });
  return inertia;
}

template <class T>
void center(const py::handle& x_obj, const py::handle& out_obj, const py::handle& mean_obj,
            const py::handle& stats_obj, int n_threads) {
  auto x = checked_array<T>(x_obj, "X", {any_dim, any_dim});
  const int64_t n = x.shape(0), d = x.shape(1);
  auto mean = checked_array<T>(mean_obj, "mean", {d}, true);
  double* sp = nullptr;
  if (!stats_obj.is_none()) {
    auto stats = checked_array<double>(stats_obj, "col_stats", {2 * d}, true);
    sp = out_ptr(stats);
  }
  T* op = nullptr;
  if (!out_obj.is_none()) {
    auto out = checked_array<T>(out_obj, "out", {n, d}, true);
    if (x.data() == out.data()) throw py::value_error("out: must not be X itself");
    op = out_ptr(out);
  }
  const T* xp = in_ptr(x);
  T* mp = out_ptr(mean);
  run_kernel([&] { km::center<T>(xp, n, d, op, mp, sp, n_threads); });
}

template <class T>
py::tuple lloyd_fit(const py::handle& x_obj, const py::handle& w_obj, const py::handle& c_obj,
                    const py::handle& labels_obj, int max_iter, double tol, int n_threads,
                    const std::string& method, const py::handle& shift_obj,
                    const py::handle& dist_obj) {
  auto x = checked_array<T>(x_obj, "X", {any_dim, any_dim});
  const int64_t n = x.shape(0), d = x.shape(1);
  auto c = checked_array<T>(c_obj, "centers", {any_dim, d}, true);
  const int64_t k = c.shape(0);
  auto labels = checked_array<int32_t>(labels_obj, "labels", {n}, true);
  const T* w = in_ptr(checked_array<T>(w_obj, "sample_weight", {n}));
  const T* sh = optional_shift<T>(shift_obj, d);
  T* dp = nullptr;
  if (!dist_obj.is_none()) {
    auto dist = checked_array<T>(dist_obj, "sq_dist", {n}, true);
    dp = out_ptr(dist);
  }
  if (max_iter < 1) throw py::value_error("max_iter: must be >= 1");
  if (!(tol >= 0)) throw py::value_error("tol: must be >= 0");
  const km::Method m = parse_method(method);
  const T* xp = in_ptr(x);
  T* cp = out_ptr(c);
  int32_t* lp = out_ptr(labels);
  km::FitResult r;
  run_kernel([&] { r = km::lloyd_fit<T>(xp, n, d, w, cp, k, max_iter, tol, lp, n_threads, m, sh, dp); });
  return py::make_tuple(r.n_iter, r.compute_s, r.other_s);
}

template <class T>
py::tuple lloyd_iterations(const py::handle& x_obj, const py::handle& w_obj,
                           const py::handle& c_obj, const py::handle& labels_obj, int max_iter,
                           double tol, int n_threads, const std::string& method,
                           const py::handle& shift_obj, const py::handle& inertia_obj) {
  auto x = checked_array<T>(x_obj, "X", {any_dim, any_dim});
  const int64_t n = x.shape(0), d = x.shape(1);
  auto c = checked_array<T>(c_obj, "centers", {any_dim, d}, true);
  const int64_t k = c.shape(0);
  auto labels = checked_array<int32_t>(labels_obj, "labels", {n}, true);
  const T* w = in_ptr(checked_array<T>(w_obj, "sample_weight", {n}));
  const T* sh = optional_shift<T>(shift_obj, d);
  if (max_iter < 1) throw py::value_error("max_iter: must be >= 1");
  if (!(tol >= 0)) throw py::value_error("tol: must be >= 0");
  double* ip = nullptr;
  if (!inertia_obj.is_none()) {
    auto inertia = checked_array<double>(inertia_obj, "inertia", {max_iter}, true);
    ip = out_ptr(inertia);
  }
  const km::Method m = parse_method(method);
  const T* xp = in_ptr(x);
  T* cp = out_ptr(c);
  int32_t* lp = out_ptr(labels);
  km::IterationsResult r;
  run_kernel([&] {
    r = km::lloyd_iterations<T>(xp, n, d, w, cp, k, max_iter, tol, lp, n_threads, m, sh, ip);
  });
  const char* stop = r.stop == km::Stop::strict ? "strict"
                     : r.stop == km::Stop::tolerance ? "tolerance" : "";
  return py::make_tuple(r.n_iter, stop, r.center_shift, r.compute_s, r.other_s);
}

template <class T>
void lloyd_finish(const py::handle& x_obj, const py::handle& c_obj, const py::handle& labels_obj,
                  bool reassign, const py::handle& dist_obj, int n_threads,
                  const std::string& method, const py::handle& shift_obj) {
  auto x = checked_array<T>(x_obj, "X", {any_dim, any_dim});
  const int64_t n = x.shape(0), d = x.shape(1);
  auto c = checked_array<T>(c_obj, "centers", {any_dim, d});
  const int64_t k = c.shape(0);
  auto labels = checked_array<int32_t>(labels_obj, "labels", {n}, true);
  T* dp = nullptr;
  if (!dist_obj.is_none()) {
    auto dist = checked_array<T>(dist_obj, "sq_dist", {n}, true);
    dp = out_ptr(dist);
  }
  const T* sh = optional_shift<T>(shift_obj, d);
  const km::Method m = parse_method(method);
  const T* xp = in_ptr(x);
  const T* cp = in_ptr(c);
  int32_t* lp = out_ptr(labels);
  if (!reassign)
    for (int64_t i = 0; i < n; ++i)
      if (lp[i] < 0 || lp[i] >= k) throw py::value_error("labels: out of range [0, k)");
  run_kernel([&] { km::lloyd_finish<T>(xp, n, d, cp, k, lp, reassign, dp, n_threads, m, sh); });
}

template <class T>
void assign(const py::handle& x_obj, const py::handle& c_obj, const py::handle& labels_obj,
            const py::handle& dist_obj, int n_threads, const std::string& method,
            const py::handle& shift_obj) {
  auto x = checked_array<T>(x_obj, "X", {any_dim, any_dim});
  const int64_t n = x.shape(0), d = x.shape(1);
  auto c = checked_array<T>(c_obj, "centers", {any_dim, d});
  const int64_t k = c.shape(0);
  auto labels = checked_array<int32_t>(labels_obj, "labels", {n}, true);
  T* dp = nullptr;
  if (!dist_obj.is_none()) {
    auto dist = checked_array<T>(dist_obj, "sq_dist", {n}, true);
    dp = out_ptr(dist);
  }
  const km::Method m = parse_method(method);
  const T* sh = optional_shift<T>(shift_obj, d);
  const T* xp = in_ptr(x);
  const T* cp = in_ptr(c);
  int32_t* lp = out_ptr(labels);
  run_kernel([&] { km::assign<T>(xp, n, d, cp, k, lp, dp, n_threads, m, sh); });
}

template <class T>
void distances(const py::handle& x_obj, const py::handle& c_obj, const py::handle& out_obj,
               bool squared, int n_threads) {
  auto x = checked_array<T>(x_obj, "X", {any_dim, any_dim});
  const int64_t n = x.shape(0), d = x.shape(1);
  auto c = checked_array<T>(c_obj, "centers", {any_dim, d});
  const int64_t k = c.shape(0);
  auto out = checked_array<T>(out_obj, "out", {n, k}, true);
  const T* xp = in_ptr(x);
  const T* cp = in_ptr(c);
  T* op = out_ptr(out);
  run_kernel([&] { km::distances<T>(xp, n, d, cp, k, op, squared, n_threads); });
}

template <class T>
void assigned_sq_dist(const py::handle& x_obj, const py::handle& c_obj,
                      const py::handle& labels_obj, const py::handle& out_obj, int n_threads,
                      const py::handle& shift_obj) {
  auto x = checked_array<T>(x_obj, "X", {any_dim, any_dim});
  const int64_t n = x.shape(0), d = x.shape(1);
  auto c = checked_array<T>(c_obj, "centers", {any_dim, d});
  const int64_t k = c.shape(0);
  auto labels = checked_array<int32_t>(labels_obj, "labels", {n});
  auto out = checked_array<T>(out_obj, "out", {n}, true);
  const T* sh = optional_shift<T>(shift_obj, d);
  const T* xp = in_ptr(x);
  const T* cp = in_ptr(c);
  const int32_t* lp = in_ptr(labels);
  T* op = out_ptr(out);
  run_kernel([&] { km::assigned_sq_dist<T>(xp, n, d, cp, k, lp, op, n_threads, sh); });
}

struct Csr {
  int64_t n, d, nnz;
};

template <class T>
Csr check_csr(const py::handle& data, const py::handle& indices, const py::handle& indptr,
              int64_t d) {
  auto ip = checked_array<int64_t>(indptr, "indptr", {any_dim});
  if (ip.shape(0) < 1) throw py::value_error("indptr: must hold n_samples + 1 entries");
  const int64_t n = ip.shape(0) - 1;
  const int64_t nnz = ip.data()[n];
  checked_array<T>(data, "data", {nnz});
  checked_array<int32_t>(indices, "indices", {nnz});
  return {n, d, nnz};
}

template <class T>
double lloyd_partial_csr(const py::handle& data, const py::handle& indices,
                         const py::handle& indptr, const py::handle& w_obj,
                         const py::handle& c_obj, const py::handle& labels_obj,
                         const py::handle& sums_obj, const py::handle& weights_obj,
                         int n_threads) {
  auto c = checked_array<T>(c_obj, "centers", {any_dim, any_dim});
  const int64_t k = c.shape(0), d = c.shape(1);
  const Csr s = check_csr<T>(data, indices, indptr, d);
  auto labels = checked_array<int32_t>(labels_obj, "labels", {s.n}, true);
  auto sums = checked_array<double>(sums_obj, "sums", {k, d}, true);
  auto weights = checked_array<double>(weights_obj, "weights", {k}, true);
  const T* w = optional_weights<T>(w_obj, s.n);
  const T* dp = in_ptr(checked_array<T>(data, "data", {s.nnz}));
  const int32_t* ixp = in_ptr(checked_array<int32_t>(indices, "indices", {s.nnz}));
  const int64_t* ipp = in_ptr(checked_array<int64_t>(indptr, "indptr", {s.n + 1}));
  const T* cp = in_ptr(c);
  int32_t* lp = out_ptr(labels);
  double* sp = out_ptr(sums);
  double* wp = out_ptr(weights);
  double inertia = 0;
  run_kernel([&] {
    km::lloyd_partial_csr<T>(dp, ixp, ipp, s.n, d, w, cp, k, lp, sp, wp, &inertia, n_threads);
  });
  return inertia;
}

template <class T>
void assign_csr(const py::handle& data, const py::handle& indices, const py::handle& indptr,
                const py::handle& c_obj, const py::handle& labels_obj, const py::handle& dist_obj,
                int n_threads) {
  auto c = checked_array<T>(c_obj, "centers", {any_dim, any_dim});
  const int64_t k = c.shape(0), d = c.shape(1);
  const Csr s = check_csr<T>(data, indices, indptr, d);
  auto labels = checked_array<int32_t>(labels_obj, "labels", {s.n}, true);
  T* distp = nullptr;
  if (!dist_obj.is_none()) {
    auto dist = checked_array<T>(dist_obj, "sq_dist", {s.n}, true);
    distp = out_ptr(dist);
  }
  const T* dp = in_ptr(checked_array<T>(data, "data", {s.nnz}));
  const int32_t* ixp = in_ptr(checked_array<int32_t>(indices, "indices", {s.nnz}));
  const int64_t* ipp = in_ptr(checked_array<int64_t>(indptr, "indptr", {s.n + 1}));
  const T* cp = in_ptr(c);
  int32_t* lp = out_ptr(labels);
  run_kernel([&] { km::assign_csr<T>(dp, ixp, ipp, s.n, d, cp, k, lp, distp, n_threads); });
}

template <class T>
void minibatch_update(const py::handle& c_obj, const py::handle& counts_obj,
                      const py::handle& sums_obj, const py::handle& weights_obj) {
  auto c = checked_array<T>(c_obj, "centers", {any_dim, any_dim}, true);
  const int64_t k = c.shape(0), d = c.shape(1);
  auto counts = checked_array<double>(counts_obj, "counts", {k}, true);
  auto sums = checked_array<double>(sums_obj, "sums", {k, d});
  auto weights = checked_array<double>(weights_obj, "weights", {k});
  T* cp = out_ptr(c);
  double* np_ = out_ptr(counts);
  const double* sp = in_ptr(sums);
  const double* wp = in_ptr(weights);
  run_kernel([&] { km::minibatch_update<T>(cp, k, d, np_, sp, wp); });
}

template <class T>
void define(py::module_& k, const char* suffix) {
  auto name = [&](const char* base) { return std::string(base) + suffix; };
  k.def(name("lloyd_partial").c_str(), &lloyd_partial<T>, py::arg("X"), py::arg("sample_weight"),
        py::arg("centers"), py::arg("labels"), py::arg("sums"), py::arg("weights"),
        py::arg("n_threads") = 0, py::arg("method") = "auto", py::arg("rows") = py::none(),
        "One Lloyd step: writes labels, per-cluster weighted sums (float64) and weights; "
        "returns the inertia. rows (optional, int64): the step's rows are X[rows] (labels and "
        "sample_weight have len(rows) entries), gathered inside the kernel (no copy), with the "
        "bits of the step on X[rows].");
  k.def(name("center").c_str(), &center<T>, py::arg("X"), py::arg("out"), py::arg("mean"),
        py::arg("col_stats"), py::arg("n_threads") = 0,
        "mean = column means of X, out = X - mean (None: not written), col_stats (None: not computed) = [column sums of out, column "
        "sums of out**2] (float64).");
  k.def(name("lloyd_fit").c_str(), &lloyd_fit<T>, py::arg("X"), py::arg("sample_weight"),
        py::arg("centers"), py::arg("labels"), py::arg("max_iter"), py::arg("tol"),
        py::arg("n_threads") = 0, py::arg("method") = "auto", py::arg("shift") = py::none(),
        py::arg("sq_dist") = py::none(),
        "A whole single-process Lloyd fit in one call (GIL released): centers (in: initial, "
        "out: final) and labels are updated in place; returns (n_iter, compute_seconds, "
        "other_seconds). shift (optional, d values): fit X - shift without a centred copy. "
        "sq_dist (optional, n values): the final squared distances, as assigned_sq_dist.");
  k.def(name("lloyd_iterations").c_str(), &lloyd_iterations<T>, py::arg("X"),
        py::arg("sample_weight"), py::arg("centers"), py::arg("labels"), py::arg("max_iter"),
        py::arg("tol"), py::arg("n_threads") = 0, py::arg("method") = "auto",
        py::arg("shift") = py::none(), py::arg("inertia") = py::none(),
        "Up to max_iter single-process Lloyd iterations in one call (GIL released): centers "
        "and labels (in: the previous iteration's labels, -1 before the first) are updated in "
        "place; calls continue one another exactly. Returns (n_iter, stop, center_shift, "
        "compute_seconds, other_seconds); stop is 'strict' (no label changed), 'tolerance' "
        "(squared center shift <= tol) or ''. shift (optional, d values): X - shift without a "
        "centred copy. inertia (optional, max_iter float64): each step's inertia.");
  k.def(name("lloyd_finish").c_str(), &lloyd_finish<T>, py::arg("X"), py::arg("centers"),
        py::arg("labels"), py::arg("reassign"), py::arg("sq_dist") = py::none(),
        py::arg("n_threads") = 0, py::arg("method") = "auto", py::arg("shift") = py::none(),
        "After the last iteration: reassign=True runs the final E-step (labels of the final "
        "centers); sq_dist (optional, n values) = the assigned squared distances, as "
        "assigned_sq_dist computes them, in the same pass.");
  k.def(name("assign").c_str(), &assign<T>, py::arg("X"), py::arg("centers"), py::arg("labels"),
        py::arg("sq_dist") = py::none(), py::arg("n_threads") = 0, py::arg("method") = "auto",
        py::arg("shift") = py::none(),
        "labels[i] = nearest center of X - shift; sq_dist[i] (optional) = its squared distance.");
  k.def(name("distances").c_str(), &distances<T>, py::arg("X"), py::arg("centers"),
        py::arg("out"), py::arg("squared") = false, py::arg("n_threads") = 0,
        "out[i, j] = ||X[i] - centers[j]|| (squared if asked).");
  k.def(name("assigned_sq_dist").c_str(), &assigned_sq_dist<T>, py::arg("X"),
        py::arg("centers"), py::arg("labels"), py::arg("out"), py::arg("n_threads") = 0,
        py::arg("shift") = py::none(),
        "out[i] = ||(X[i] - shift) - centers[labels[i]]||^2, computed directly.");
  k.def(name("lloyd_partial_csr").c_str(), &lloyd_partial_csr<T>, py::arg("data"),
        py::arg("indices"), py::arg("indptr"), py::arg("sample_weight"), py::arg("centers"),
        py::arg("labels"), py::arg("sums"), py::arg("weights"), py::arg("n_threads") = 0,
        "lloyd_partial for CSR input (indices int32, indptr int64).");
  k.def(name("assign_csr").c_str(), &assign_csr<T>, py::arg("data"), py::arg("indices"),
        py::arg("indptr"), py::arg("centers"), py::arg("labels"), py::arg("sq_dist") = py::none(),
        py::arg("n_threads") = 0, "assign for CSR input.");
  k.def(name("minibatch_update").c_str(), &minibatch_update<T>, py::arg("centers"),
        py::arg("counts"), py::arg("sums"), py::arg("weights"),
        "Mini-batch center update in place (scikit-learn's per-center learning rate): each "
        "center with weights[j] > 0 becomes (c * counts[j] + sums[j]) / (counts[j] + "
        "weights[j]) in float64 and counts[j] grows by weights[j].");
}

void register_kmeans(py::module_& m) {
  auto k = m.def_submodule("kmeans", "K-means kernels");
  define<float>(k, "_f32");
  define<double>(k, "_f64");
  k.def("choose_method",
        [](int64_t d, int64_t kk, bool is_double) {
          return km::choose_method(d, kk, is_double) == km::Method::fused ? "fused" : "gemm";
        },
        py::arg("d"), py::arg("k"), py::arg("is_double"),
        "The method 'auto' picks for this shape on the active ISA.");
}

Register reg(30, &register_kmeans);

}  // namespace
