// The bound-based K-means step against a naive reference (double accumulation), iteration by
// iteration: labels (up to rounding ties), bounds, running sums. The binary runs once per ISA
// level, so every per-ISA score tile is covered.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "harness.hpp"
#include "kernels/kmeans/prune.hpp"

namespace km = harpdaal::kernels::kmeans;

namespace {

// Points around k well-separated centers, plus weights in [0.5, 2).
template <class T>
void blobs(int64_t n, int64_t d, int64_t k, unsigned seed, std::vector<T>& x, std::vector<T>& w) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::uniform_real_distribution<double> ud(0.5, 2.0);
  std::vector<double> c(static_cast<size_t>(k * d));
  for (auto& v : c) v = 4 * nd(gen);
  x.resize(size_t(n * d));
  w.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = int64_t(gen() % uint32_t(k));
    for (int64_t f = 0; f < d; ++f) x[size_t(i * d + f)] = T(c[size_t(j * d + f)] + nd(gen));
    w[size_t(i)] = T(ud(gen));
  }
}

template <class T>
double sq(const T* a, const T* b, int64_t d) {
  double s = 0;
  for (int64_t f = 0; f < d; ++f) {
    const double diff = double(a[f]) - double(b[f]);
    s += diff * diff;
  }
  return s;
}

// Runs prune_step to convergence, checking every iteration; returns the total distances
// (and the iterations in *iters).
template <class T>
int64_t run_and_check(int64_t n, int64_t d, int64_t k, int64_t t, int n_threads,
                      std::vector<int32_t>* final_labels = nullptr, int* iters = nullptr) {
  std::vector<T> x, w;
  blobs(n, d, k, unsigned(n + d + k), x, w);
  std::vector<T> c(x.begin(), x.begin() + k * d), prev;
  std::vector<int32_t> group(static_cast<size_t>(k)), labels(static_cast<size_t>(n), -1);
  for (int64_t j = 0; j < k; ++j) group[size_t(j)] = int32_t(j % t);
  std::vector<T> upper(static_cast<size_t>(n)), lower(static_cast<size_t>(n * t));
  std::vector<double> sums(static_cast<size_t>(k * d)), weights(static_cast<size_t>(k));
  std::vector<int64_t> counts(static_cast<size_t>(k));
  const double eps = double(std::numeric_limits<T>::epsilon()) * double(d + 8);
  int64_t total = 0;
  for (int it = 0; it < 100; ++it) {
    if (iters) *iters = it + 1;
    const km::PruneCounts r = km::prune_step<T>(
        x.data(), n, d, w.data(), nullptr, c.data(), it ? prev.data() : nullptr, k,
        group.data(), t, labels.data(), upper.data(), lower.data(), sums.data(), weights.data(),
        counts.data(), n_threads);
    total += r.distances;
    if (it == 0) HD_CHECK(r.distances == n * k);
    double max_cn = 0;
    for (int64_t j = 0; j < k; ++j) {
      double s = 0;
      for (int64_t f = 0; f < d; ++f) s += double(c[size_t(j * d + f)]) * double(c[size_t(j * d + f)]);
      max_cn = std::max(max_cn, s);
    }
    std::vector<double> ref_sums(static_cast<size_t>(k * d), 0.0), ref_w(static_cast<size_t>(k), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const T* xi = x.data() + i * d;
      const int32_t a = labels[size_t(i)];
      HD_CHECK(a >= 0 && a < k);
      const double da = sq(xi, c.data() + a * d, d);
      double xn = 0;
      for (int64_t f = 0; f < d; ++f) xn += double(xi[f]) * double(xi[f]);
      HD_CHECK(double(upper[size_t(i)]) >= std::sqrt(da) * (1 - 1e-12));
      for (int64_t j = 0; j < k; ++j) {
        const double dj = sq(xi, c.data() + j * d, d);
        HD_CHECK(dj >= da - 4 * eps * (xn + max_cn));  // nearest up to a rounding tie
        if (j != a)
          HD_CHECK(double(lower[size_t(i * t + group[size_t(j)])]) <= std::sqrt(dj) * (1 + 1e-12));
      }
      for (int64_t f = 0; f < d; ++f) ref_sums[size_t(a * d + f)] += double(w[size_t(i)]) * double(xi[f]);
      ref_w[size_t(a)] += double(w[size_t(i)]);
    }
    for (int64_t j = 0; j < k; ++j) {
      HD_CHECK_NEAR(weights[size_t(j)], ref_w[size_t(j)], 1e-10);
      for (int64_t f = 0; f < d; ++f)
        HD_CHECK_NEAR(sums[size_t(j * d + f)], ref_sums[size_t(j * d + f)], 1e-9);
    }
    prev = c;
    for (int64_t j = 0; j < k; ++j)
      if (weights[size_t(j)] > 0)
        for (int64_t f = 0; f < d; ++f)
          c[size_t(j * d + f)] = T(sums[size_t(j * d + f)] / weights[size_t(j)]);
    if (r.changed == 0) break;
  }
  if (final_labels) *final_labels = labels;
  return total;
}

}  // namespace

HD_TEST(prune_step_matches_reference_f32) {
  for (int64_t t : {1, 3, 20}) run_and_check<float>(500, 19, 20, t, 1);
  run_and_check<float>(300, 70, 33, 5, 2);
  run_and_check<float>(200, 1, 9, 1, 1);
}

HD_TEST(prune_step_matches_reference_f64) {
  for (int64_t t : {1, 4, 24}) run_and_check<double>(400, 8, 24, t, 1);
  run_and_check<double>(150, 33, 1, 1, 1);
}

HD_TEST(prune_step_skips_distances_once_settled) {
  // well-separated blobs: under half of Lloyd's n * k per iteration, over the whole fit
  int iters = 0;
  const int64_t total = run_and_check<double>(2000, 4, 40, 4, 1, nullptr, &iters);
  HD_CHECK(iters > 3);
  HD_CHECK(total < 2000 * 40 * int64_t(iters) / 2);
}

HD_TEST(prune_step_same_labels_for_any_thread_count) {
  std::vector<int32_t> a, b;
  run_and_check<float>(3000, 6, 30, 3, 1, &a);
  run_and_check<float>(3000, 6, 30, 3, 3, &b);
  HD_CHECK(a == b);
}

HD_TEST(prune_step_rejects_bad_groups) {
  std::vector<double> x(12, 0.0), c(6, 0.0), up(4), lo(8), sums(6), w(3);
  std::vector<int32_t> labels(4, 0), bad_group = {0, 2, 1}, empty_group = {0, 0, 0};
  std::vector<int64_t> counts(3);
  HD_CHECK_THROWS(km::prune_step<double>(x.data(), 4, 2, nullptr, nullptr, c.data(), nullptr, 3,
                                         bad_group.data(), 2, labels.data(), up.data(), lo.data(),
                                         sums.data(), w.data(), counts.data(), 1),
                  std::invalid_argument);
  HD_CHECK_THROWS(km::prune_step<double>(x.data(), 4, 2, nullptr, nullptr, c.data(), nullptr, 3,
                                         empty_group.data(), 2, labels.data(), up.data(),
                                         lo.data(), sums.data(), w.data(), counts.data(), 1),
                  std::invalid_argument);
  HD_CHECK(km::prune_groups(10) == 1 && km::prune_groups(100) == 10);
}

HD_TEST(prune_step_lloyd_sums_are_lloyd_partials_bits) {
  // the same labels (well-separated blobs: no rounding ties), so the same sums bit for bit
  for (int n_threads : {1, 2}) {
    for (int64_t k : {7, 40}) {
      std::vector<float> x, w;
      blobs(1500, 21, k, unsigned(k), x, w);
      const int64_t n = 1500, d = 21;
      std::vector<float> c(x.begin(), x.begin() + k * d), shift(size_t(d), 0.5f);
      std::vector<int32_t> group(static_cast<size_t>(k), 0), labels(static_cast<size_t>(n), -1),
          ref_labels(static_cast<size_t>(n));
      std::vector<float> upper(static_cast<size_t>(n)), lower(static_cast<size_t>(n));
      std::vector<double> sums(static_cast<size_t>(k * d)), weights(static_cast<size_t>(k)),
          ref_sums(static_cast<size_t>(k * d)), ref_weights(static_cast<size_t>(k));
      std::vector<int64_t> counts(static_cast<size_t>(k));
      km::prune_step<float>(x.data(), n, d, w.data(), shift.data(), c.data(), nullptr, k,
                            group.data(), 1, labels.data(), upper.data(), lower.data(),
                            sums.data(), weights.data(), counts.data(), n_threads, true);
      km::lloyd_partial<float>(x.data(), n, d, w.data(), c.data(), k, ref_labels.data(),
                               ref_sums.data(), ref_weights.data(), nullptr, n_threads,
                               km::Method::automatic, shift.data());
      HD_CHECK(labels == ref_labels);
      HD_CHECK(sums == ref_sums);
      HD_CHECK(weights == ref_weights);
    }
  }
}
