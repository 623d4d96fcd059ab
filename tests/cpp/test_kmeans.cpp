// K-means kernels against a naive reference (double accumulation), for every method; the binary
// runs once per ISA level, so every per-ISA micro-kernel is covered.
#include <cstdint>
#include <random>
#include <vector>

#include "harness.hpp"
#include "kernels/kmeans/kmeans.hpp"

namespace km = harpdaal::kernels::kmeans;

namespace {

template <class T>
std::vector<T> random_matrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<T> m(static_cast<size_t>(rows * cols));
  for (auto& v : m) v = T(nd(gen));
  return m;
}

struct Ref {
  std::vector<int32_t> labels;
  std::vector<double> sums, weights, dist;
  double inertia = 0;
};

template <class T>
Ref reference(const std::vector<T>& x, int64_t n, int64_t d, const std::vector<T>& c, int64_t k,
              const std::vector<T>* w) {
  Ref r;
  r.labels.resize(size_t(n));
  r.dist.resize(size_t(n));
  r.sums.assign(size_t(k * d), 0.0);
  r.weights.assign(size_t(k), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double best = 1e300;
    int32_t bi = 0;
    for (int64_t j = 0; j < k; ++j) {
      double s = 0;
      for (int64_t f = 0; f < d; ++f) {
        double diff = double(x[size_t(i * d + f)]) - double(c[size_t(j * d + f)]);
        s += diff * diff;
      }
      if (s < best) {
        best = s;
        bi = int32_t(j);
      }
    }
    double wi = w ? double((*w)[size_t(i)]) : 1.0;
    r.labels[size_t(i)] = bi;
    r.dist[size_t(i)] = best;
    r.inertia += wi * best;
    r.weights[size_t(bi)] += wi;
    for (int64_t f = 0; f < d; ++f) r.sums[size_t(bi * d + f)] += wi * double(x[size_t(i * d + f)]);
  }
  return r;
}

template <class T>
void check_lloyd(int64_t n, int64_t d, int64_t k, km::Method method, bool weighted, int threads,
                 double tol) {
  auto x = random_matrix<T>(n, d, unsigned(n * 7 + d));
  auto c = random_matrix<T>(k, d, unsigned(k * 13 + d));
  std::vector<T> w(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) w[size_t(i)] = T(0.5 + double(i % 5));
  Ref ref = reference(x, n, d, c, k, weighted ? &w : nullptr);
  std::vector<int32_t> labels(size_t(n), -1);
  std::vector<double> sums(size_t(k * d), -1.0), weights(size_t(k), -1.0);
  double inertia = -1;
  km::lloyd_partial<T>(x.data(), n, d, weighted ? w.data() : nullptr, c.data(), k, labels.data(),
                       sums.data(), weights.data(), &inertia, threads, method);
  HD_CHECK(labels == ref.labels);
  for (int64_t i = 0; i < k * d; ++i) HD_CHECK_NEAR(sums[size_t(i)], ref.sums[size_t(i)], tol);
  for (int64_t j = 0; j < k; ++j) HD_CHECK_NEAR(weights[size_t(j)], ref.weights[size_t(j)], 1e-12);
  HD_CHECK_NEAR(inertia, ref.inertia, tol * 10);
  // Without the inertia (as lloyd_fit runs it) the M-step takes another code path (the
  // AVX-512 float32 one skips the fused row norms): the sums and weights must be the same bits.
  std::vector<double> sums2(size_t(k * d), -1.0), weights2(size_t(k), -1.0);
  km::lloyd_partial<T>(x.data(), n, d, weighted ? w.data() : nullptr, c.data(), k, labels.data(),
                       sums2.data(), weights2.data(), nullptr, threads, method);
  HD_CHECK(sums2 == sums);
  HD_CHECK(weights2 == weights);

  std::vector<int32_t> pl(size_t(n), -1);
  std::vector<T> pd(size_t(n), T(-1));
  km::assign<T>(x.data(), n, d, c.data(), k, pl.data(), pd.data(), threads, method);
  HD_CHECK(pl == ref.labels);
  for (int64_t i = 0; i < n; ++i) HD_CHECK_NEAR(pd[size_t(i)], ref.dist[size_t(i)], tol * 100);

  std::vector<T> exact(static_cast<size_t>(n));
  km::assigned_sq_dist<T>(x.data(), n, d, c.data(), k, ref.labels.data(), exact.data(), threads);
  for (int64_t i = 0; i < n; ++i) HD_CHECK_NEAR(exact[size_t(i)], ref.dist[size_t(i)], tol);
}

}  // namespace

HD_TEST(kmeans_lloyd_fused_f64_matches_reference) {
  // shapes that exercise tail rows, tail centers, several center chunks and one-center tiles
  for (int64_t k : {1, 3, 17, 40, 301})
    for (int64_t d : {1, 5, 16, 67})
      check_lloyd<double>(131, d, k, km::Method::fused, k % 2 == 1, 2, 1e-10);
}

HD_TEST(kmeans_lloyd_gemm_f64_matches_reference) {
  for (int64_t k : {1, 7, 100})
    for (int64_t d : {2, 33}) check_lloyd<double>(97, d, k, km::Method::gemm, true, 2, 1e-10);
}

HD_TEST(kmeans_lloyd_f32_matches_reference) {
  for (auto m : {km::Method::fused, km::Method::gemm, km::Method::automatic})
    for (int64_t k : {3, 5, 15, 64})  // k < 16 with d <= 16: AVX-512's one row per lane;
      // d = 130, k < 9: the row-dot tile's float32 groups (groups_rows), some of them full
      for (int64_t d : {3, 12, 16, 37, 64, 130})
        check_lloyd<float>(203, d, k, m, d != 16, d == 130 ? 2 : 1, 1e-4);
}

HD_TEST(kmeans_distances_match_reference) {
  const int64_t n = 50, d = 9, k = 7;
  auto x = random_matrix<double>(n, d, 3);
  auto c = random_matrix<double>(k, d, 4);
  std::vector<double> out(static_cast<size_t>(n * k));
  km::distances<double>(x.data(), n, d, c.data(), k, out.data(), /*squared=*/true, 2);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) {
      double s = 0;
      for (int64_t f = 0; f < d; ++f) {
        double diff = x[size_t(i * d + f)] - c[size_t(j * d + f)];
        s += diff * diff;
      }
      HD_CHECK_NEAR(out[size_t(i * k + j)], s, 1e-10);
    }
}

HD_TEST(kmeans_csr_matches_dense) {
  const int64_t n = 60, d = 11, k = 6;
  auto x = random_matrix<double>(n, d, 5);
  for (size_t i = 0; i < x.size(); ++i)
    if (i % 3 != 0) x[i] = 0;  // sparse-ish
  auto c = random_matrix<double>(k, d, 6);
  std::vector<double> data;
  std::vector<int32_t> indices;
  std::vector<int64_t> indptr{0};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t f = 0; f < d; ++f)
      if (x[size_t(i * d + f)] != 0) {
        data.push_back(x[size_t(i * d + f)]);
        indices.push_back(int32_t(f));
      }
    indptr.push_back(int64_t(data.size()));
  }
  Ref ref = reference<double>(x, n, d, c, k, nullptr);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  std::vector<double> sums(static_cast<size_t>(k * d)), weights(static_cast<size_t>(k)), sq(static_cast<size_t>(n));
  double inertia = 0;
  km::lloyd_partial_csr<double>(data.data(), indices.data(), indptr.data(), n, d, nullptr,
                                c.data(), k, labels.data(), sums.data(), weights.data(), &inertia,
                                2);
  HD_CHECK(labels == ref.labels);
  for (int64_t i = 0; i < k * d; ++i) HD_CHECK_NEAR(sums[size_t(i)], ref.sums[size_t(i)], 1e-12);
  HD_CHECK_NEAR(inertia, ref.inertia, 1e-10);
  km::assign_csr<double>(data.data(), indices.data(), indptr.data(), n, d, c.data(), k,
                         labels.data(), sq.data(), 1);
  HD_CHECK(labels == ref.labels);
  indices[0] = int32_t(d);
  HD_CHECK_THROWS(km::assign_csr<double>(data.data(), indices.data(), indptr.data(), n, d,
                                         c.data(), k, labels.data(), sq.data(), 1),
                  std::invalid_argument);
}

HD_TEST(kmeans_ties_pick_the_first_center) {
  const int64_t n = 10, d = 4, k = 40;
  std::vector<double> x(size_t(n * d), 1.0), c(size_t(k * d), 5.0);
  for (int64_t j : {7, 23, 39})
    for (int64_t f = 0; f < d; ++f) c[size_t(j * d + f)] = 1.0;  // three identical best centers
  for (auto m : {km::Method::fused, km::Method::gemm}) {
    std::vector<int32_t> labels(size_t(n), -1);
    km::assign<double>(x.data(), n, d, c.data(), k, labels.data(), nullptr, 1, m);
    for (auto l : labels) HD_CHECK(l == 7);
  }
}

HD_TEST(kmeans_bad_sizes_throw) {
  std::vector<double> x(4), c(4);
  std::vector<int32_t> labels(2);
  HD_CHECK_THROWS(km::assign<double>(x.data(), 2, 2, c.data(), 0, labels.data(), nullptr, 1),
                  std::invalid_argument);
}

HD_TEST(kmeans_lloyd_fit_relocates_and_converges) {
  // three tight blobs; initial centers: two in blob 0 and one far away (empty at first)
  const int64_t n = 90, d = 5, k = 3;
  auto x = random_matrix<double>(n, d, 8);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t f = 0; f < d; ++f) x[size_t(i * d + f)] = 0.01 * x[size_t(i * d + f)] + 10.0 * double(i % 3);
  std::vector<double> w(static_cast<size_t>(n), 1.0), c(static_cast<size_t>(k * d));
  for (int64_t f = 0; f < d; ++f) {
    c[size_t(f)] = x[size_t(f)];
    c[size_t(d + f)] = x[size_t(3 * d + f)];
    c[size_t(2 * d + f)] = 1e4;
  }
  for (auto m : {km::Method::fused, km::Method::gemm}) {
    std::vector<double> cc = c;
    std::vector<int32_t> labels(static_cast<size_t>(n), -7);
    km::FitResult r = km::lloyd_fit<double>(x.data(), n, d, w.data(), cc.data(), k, 50, 0.0,
                                            labels.data(), 2, m);
    HD_CHECK(r.n_iter >= 2 && r.n_iter < 50);
    std::vector<double> mean(static_cast<size_t>(k * d), 0.0), cnt(static_cast<size_t>(k), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      HD_CHECK(labels[size_t(i)] >= 0 && labels[size_t(i)] < k);
      cnt[size_t(labels[size_t(i)])] += 1;
      for (int64_t f = 0; f < d; ++f) mean[size_t(labels[size_t(i)] * d + f)] += x[size_t(i * d + f)];
    }
    for (int64_t j = 0; j < k; ++j) {
      HD_CHECK(cnt[size_t(j)] == 30);  // every blob found: the empty cluster was relocated
      for (int64_t f = 0; f < d; ++f)
        HD_CHECK_NEAR(cc[size_t(j * d + f)], mean[size_t(j * d + f)] / 30.0, 1e-12);
    }
  }
  std::vector<int32_t> labels(static_cast<size_t>(n));
  HD_CHECK_THROWS(km::lloyd_fit<double>(x.data(), n, d, nullptr, c.data(), k, 5, 0.0,
                                        labels.data(), 1),
                  std::invalid_argument);
}

HD_TEST(kmeans_lloyd_iterations_one_at_a_time_equal_one_block) {
  // The fit loop may ask for one iteration per call (verbose, checkpoints) or for all of them:
  // the same centers, labels, iteration count and stop reason, bit for bit.
  const int64_t n = 500, d = 7, k = 9;
  auto x = random_matrix<float>(n, d, 21);
  std::vector<float> w(static_cast<size_t>(n), 1.0f), c0(x.begin(), x.begin() + k * d);
  for (int64_t i = 0; i < n; i += 3) w[size_t(i)] = 2.5f;
  for (auto m : {km::Method::fused, km::Method::gemm}) {
    std::vector<float> ca = c0, cb = c0;
    std::vector<int32_t> la(static_cast<size_t>(n), -1), lb(static_cast<size_t>(n), -1);
    std::vector<double> ia(40), ib(40);
    const km::IterationsResult ra = km::lloyd_iterations<float>(
        x.data(), n, d, w.data(), ca.data(), k, 40, 1e-9, la.data(), 2, m, nullptr, ia.data());
    int done = 0;
    km::IterationsResult rb;
    while (done < 40) {
      rb = km::lloyd_iterations<float>(x.data(), n, d, w.data(), cb.data(), k, 1, 1e-9,
                                       lb.data(), 2, m, nullptr, ib.data() + done);
      done += rb.n_iter;
      if (rb.stop != km::Stop::none) break;
    }
    HD_CHECK(ra.n_iter == done && ra.n_iter > 1 && ra.stop == rb.stop);
    HD_CHECK(ra.center_shift == rb.center_shift);
    HD_CHECK(ca == cb && la == lb);
    for (int i = 0; i < done; ++i) HD_CHECK(ia[size_t(i)] == ib[size_t(i)] && ia[size_t(i)] > 0);
  }
  std::vector<float> c = c0;
  std::vector<int32_t> bad(static_cast<size_t>(n), int32_t(k));
  HD_CHECK_THROWS(km::lloyd_iterations<float>(x.data(), n, d, w.data(), c.data(), k, 1, 0.0,
                                              bad.data(), 1),
                  std::invalid_argument);
}

HD_TEST(kmeans_duplicates_leave_empty_cluster_on_heaviest_center) {
  // five centers, four distinct points: nothing to relocate; the empty cluster sits on the
  // heaviest cluster's center, so the centers do not move and the fit stops at once
  const int64_t n = 5, d = 2, k = 5;
  std::vector<double> x = {0, 0, 1, 1, 1, 1, 1, 0, 0, 1}, c = x, w(5, 1.0);
  std::vector<int32_t> labels(static_cast<size_t>(n), -1);
  const km::IterationsResult r = km::lloyd_iterations<double>(
      x.data(), n, d, w.data(), c.data(), k, 10, 1e-12, labels.data(), 1);
  HD_CHECK(r.n_iter == 1 && r.stop == km::Stop::tolerance && r.center_shift == 0);
  HD_CHECK(c[4] == 1 && c[5] == 1);  // center 2 (empty) on center 1 (two points)
}

HD_TEST(kmeans_minibatch_update_is_the_running_weighted_mean) {
  // center 0 has seen 3 rows at mean (1, 2); a batch adds 1 row (5, 6): mean of 4 rows.
  // center 1 got nothing this batch: it stays, its count too. center 2 never had a row: it
  // becomes the batch mean.
  std::vector<float> c = {1.f, 2.f, 7.f, 7.f, 0.f, 0.f};
  std::vector<double> counts = {3, 5, 0};
  std::vector<double> sums = {5, 6, 0, 0, 4, -2};
  std::vector<double> weights = {1, 0, 2};
  km::minibatch_update<float>(c.data(), 3, 2, counts.data(), sums.data(), weights.data());
  HD_CHECK(c[0] == 2.f && c[1] == 3.f);
  HD_CHECK(c[2] == 7.f && c[3] == 7.f && counts[1] == 5);
  HD_CHECK(c[4] == 2.f && c[5] == -1.f && counts[2] == 2);
  HD_CHECK(counts[0] == 4);
  HD_CHECK_THROWS(km::minibatch_update<float>(c.data(), -1, 2, counts.data(), sums.data(),
                                              weights.data()),
                  std::invalid_argument);
}

HD_TEST(kmeans_lloyd_partial_on_indexed_rows_equals_the_gathered_copy) {
  const int64_t n_x = 500, n = 300, d = 37, k = 20;
  const auto x = random_matrix<float>(n_x, d, 11);
  const auto c = random_matrix<float>(k, d, 12);
  std::mt19937 gen(13);
  std::uniform_int_distribution<int64_t> pick(0, n_x - 1);
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (auto& r : rows) r = pick(gen);
  std::vector<float> gathered(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i)
    std::copy(x.begin() + rows[size_t(i)] * d, x.begin() + (rows[size_t(i)] + 1) * d,
              gathered.begin() + i * d);
  for (km::Method m : {km::Method::fused, km::Method::gemm}) {
    std::vector<int32_t> la(static_cast<size_t>(n)), lb(static_cast<size_t>(n));
    std::vector<double> sa(static_cast<size_t>(k * d)), sb(static_cast<size_t>(k * d));
    std::vector<double> wa(static_cast<size_t>(k)), wb(static_cast<size_t>(k));
    double ia = 0, ib = 0;
    km::lloyd_partial<float>(gathered.data(), n, d, nullptr, c.data(), k, la.data(), sa.data(),
                             wa.data(), &ia, 2, m);
    km::lloyd_partial<float>(x.data(), n, d, nullptr, c.data(), k, lb.data(), sb.data(),
                             wb.data(), &ib, 2, m, nullptr, rows.data());
    HD_CHECK(la == lb && sa == sb && wa == wb && ia == ib);
  }
}
