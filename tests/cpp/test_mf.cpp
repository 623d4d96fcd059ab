// MF-SGD and CCD++ kernels against straightforward scalar references.
#include <algorithm>
#include <cmath>
#include <tuple>
#include <random>
#include <vector>

#include "harness.hpp"
#include "kernels/mf_ccd/mf_ccd.hpp"
#include "kernels/mf_sgd/mf_sgd.hpp"
#include "kernels/mf_sgd/setup.hpp"

namespace sgd = harpdaal::kernels::mf_sgd;
namespace ccd = harpdaal::kernels::mf_ccd;

namespace {

struct Problem {
  int32_t m = 0, n = 0;
  std::vector<int32_t> u, i;
  std::vector<float> r;
};

Problem make_problem(int32_t m, int32_t n, int64_t nnz, uint64_t seed) {
  Problem p;
  p.m = m;
  p.n = n;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> du(0, m - 1), di(0, n - 1);
  std::normal_distribution<float> g(0.f, 1.f);
  for (int64_t e = 0; e < nnz; ++e) {
    p.u.push_back(du(rng));
    p.i.push_back(di(rng));
    p.r.push_back(1.f + g(rng));
  }
  return p;
}

std::vector<float> random_rows(int64_t rows, int64_t ld, int64_t k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(0.f, 0.3f);
  std::vector<float> x(rows * ld, 0.f);
  for (int64_t a = 0; a < rows; ++a)
    for (int64_t b = 0; b < k; ++b) x[a * ld + b] = d(rng);
  return x;
}

// The documented update, written out with no SIMD and in double.
void reference_block(const Problem& pr, std::vector<double>& P, std::vector<double>& Q,
                     std::vector<double>& Gp, std::vector<double>& Gq, std::vector<double>& bu,
                     std::vector<double>& bi, int64_t ld, int64_t k, double eta, double lp,
                     double lq, double lb, double mu) {
  for (size_t e = 0; e < pr.r.size(); ++e) {
    double* p = &P[pr.u[e] * ld];
    double* q = &Q[pr.i[e] * ld];
    double pred = mu + bu[pr.u[e]] + bi[pr.i[e]];
    for (int64_t d = 0; d < k; ++d) pred += p[d] * q[d];
    double err = pr.r[e] - pred;
    double ep = eta / std::sqrt(Gp[pr.u[e]]), eq = eta / std::sqrt(Gq[pr.i[e]]);
    double sp = 0, sq = 0;
    for (int64_t d = 0; d < k; ++d) {
      double gp = lp * p[d] - err * q[d], gq = lq * q[d] - err * p[d];
      sp += gp * gp;
      sq += gq * gq;
      p[d] -= ep * gp;
      q[d] -= eq * gq;
    }
    bu[pr.u[e]] -= ep * (lb * bu[pr.u[e]] - err);
    bi[pr.i[e]] -= eq * (lb * bi[pr.i[e]] - err);
    Gp[pr.u[e]] += sp / k;
    Gq[pr.i[e]] += sq / k;
  }
}

}  // namespace

HD_TEST(mf_sgd_block_matches_scalar_reference) {
  for (int64_t k : {5, 16, 40}) {
    const int64_t ld = (k + 15) / 16 * 16;
    Problem pr = make_problem(13, 11, 300, 3);
    auto P = random_rows(pr.m, ld, k, 1), Q = random_rows(pr.n, ld, k, 2);
    std::vector<float> Gp(pr.m, 1.f), Gq(pr.n, 1.f), bu(pr.m, 0.f), bi(pr.n, 0.f);
    std::vector<double> P2(P.begin(), P.end()), Q2(Q.begin(), Q.end()), Gp2(pr.m, 1.0),
        Gq2(pr.n, 1.0), bu2(pr.m, 0.0), bi2(pr.n, 0.0);
    sgd::Params<float> prm;
    prm.learning_rate = 0.05f;
    prm.reg_user = 0.02f;
    prm.reg_item = 0.03f;
    prm.reg_bias = 0.01f;
    prm.global_mean = 0.5f;
    sgd::train_block<float>(pr.u.data(), pr.i.data(), pr.r.data(), 0, int64_t(pr.r.size()),
                            {P.data(), Gp.data(), bu.data()}, {Q.data(), Gq.data(), bi.data()},
                            ld, k, prm);
    reference_block(pr, P2, Q2, Gp2, Gq2, bu2, bi2, ld, k, 0.05, 0.02, 0.03, 0.01, 0.5);
    for (size_t x = 0; x < P.size(); ++x) HD_CHECK_NEAR(P[x], P2[x], 2e-4);
    for (size_t x = 0; x < Q.size(); ++x) HD_CHECK_NEAR(Q[x], Q2[x], 2e-4);
    for (int32_t a = 0; a < pr.m; ++a) HD_CHECK_NEAR(Gp[a], Gp2[a], 2e-4);
    for (int32_t a = 0; a < pr.n; ++a) HD_CHECK_NEAR(bi[a], bi2[a], 2e-4);
    // padding stays zero
    for (int32_t a = 0; a < pr.m; ++a)
      for (int64_t d = k; d < ld; ++d) HD_CHECK(P[a * ld + d] == 0.f);
  }
}

// Bucket a problem into a grid and run epochs: the result must not depend on the thread count,
// and the training error must fall.
HD_TEST(mf_sgd_grid_deterministic_and_converges) {
  const int64_t k = 8, ld = 16, grid = 4;
  Problem pr = make_problem(200, 120, 6000, 9);
  // bucket by (row block, col block), keep (user, item) order within
  std::vector<std::vector<int64_t>> blocks(grid * grid);
  for (size_t e = 0; e < pr.r.size(); ++e)
    blocks[(pr.u[e] * grid / pr.m) * grid + pr.i[e] * grid / pr.n].push_back(int64_t(e));
  Problem b;
  std::vector<int64_t> ptr{0};
  for (auto& blk : blocks) {
    for (int64_t e : blk) {
      b.u.push_back(pr.u[e]);
      b.i.push_back(pr.i[e]);
      b.r.push_back(pr.r[e]);
    }
    ptr.push_back(int64_t(b.r.size()));
  }
  std::vector<int32_t> order{2, 0, 3, 1};
  std::vector<std::vector<float>> results;
  double first = 0, last = 0;
  for (int threads : {1, 2, 3}) {
    auto P = random_rows(pr.m, ld, k, 5), Q = random_rows(pr.n, ld, k, 6);
    std::vector<float> Gp(pr.m, 1.f), Gq(pr.n, 1.f);
    sgd::Params<float> prm;
    prm.learning_rate = 0.1f;
    prm.global_mean = 1.f;
    first = sgd::sum_squared_error<float>(b.u.data(), b.i.data(), b.r.data(), int64_t(b.r.size()),
                                          P.data(), Q.data(), nullptr, nullptr, ld, k, 1.f,
                                          threads);
    for (int ep = 0; ep < 5; ++ep)
      sgd::train_grid<float>(b.u.data(), b.i.data(), b.r.data(), ptr.data(), grid, order.data(),
                             {P.data(), Gp.data(), nullptr}, {Q.data(), Gq.data(), nullptr}, ld,
                             k, prm, threads);
    last = sgd::sum_squared_error<float>(b.u.data(), b.i.data(), b.r.data(), int64_t(b.r.size()),
                                         P.data(), Q.data(), nullptr, nullptr, ld, k, 1.f, threads);
    P.insert(P.end(), Q.begin(), Q.end());
    results.push_back(P);
  }
  HD_CHECK(last < 0.8 * first);
  HD_CHECK(results[0] == results[1]);
  HD_CHECK(results[0] == results[2]);
}

HD_TEST(mf_sgd_predict_and_sse_agree) {
  const int64_t k = 3, ld = 16;
  Problem pr = make_problem(7, 5, 50, 4);
  auto P = random_rows(pr.m, ld, k, 1), Q = random_rows(pr.n, ld, k, 2);
  std::vector<float> bu(pr.m, 0.25f), bi(pr.n, -0.5f), out(pr.r.size());
  sgd::predict<float>(pr.u.data(), pr.i.data(), int64_t(pr.r.size()), P.data(), Q.data(),
                      bu.data(), bi.data(), ld, k, 2.f, out.data(), 2);
  double sse = 0;
  for (size_t e = 0; e < out.size(); ++e) {
    double ref = 2.0 + 0.25 - 0.5;
    for (int64_t d = 0; d < k; ++d) ref += double(P[pr.u[e] * ld + d]) * Q[pr.i[e] * ld + d];
    HD_CHECK_NEAR(out[e], ref, 1e-5);
    sse += (pr.r[e] - ref) * (pr.r[e] - ref);
  }
  double got = sgd::sum_squared_error<float>(pr.u.data(), pr.i.data(), pr.r.data(),
                                             int64_t(pr.r.size()), P.data(), Q.data(), bu.data(),
                                             bi.data(), ld, k, 2.f, 2);
  HD_CHECK_NEAR(got, sse, 1e-4);
}

// CSR and CSC views of a problem's ratings (a repeated (user, item) keeps its last rating).
struct CcdViews {
  std::vector<int64_t> row_ptr{0}, col_ptr, csc_to_csr;
  std::vector<int32_t> col_idx, row_idx;
  std::vector<float> vals;
};

CcdViews ccd_views(const Problem& pr) {
  CcdViews v;
  std::vector<float> dense(pr.m * pr.n, NAN);
  for (size_t e = 0; e < pr.r.size(); ++e) dense[pr.u[e] * pr.n + pr.i[e]] = pr.r[e];
  v.col_ptr.assign(pr.n + 1, 0);
  for (int32_t u = 0; u < pr.m; ++u) {
    for (int32_t i = 0; i < pr.n; ++i)
      if (!std::isnan(dense[u * pr.n + i])) {
        v.col_idx.push_back(i);
        v.vals.push_back(dense[u * pr.n + i]);
      }
    v.row_ptr.push_back(int64_t(v.vals.size()));
  }
  for (int32_t i = 0; i < pr.n; ++i) {
    for (int32_t u = 0; u < pr.m; ++u)
      for (int64_t x = v.row_ptr[u]; x < v.row_ptr[u + 1]; ++x)
        if (v.col_idx[x] == i) {
          v.row_idx.push_back(u);
          v.csc_to_csr.push_back(x);
        }
    v.col_ptr[i + 1] = int64_t(v.row_idx.size());
  }
  return v;
}

HD_TEST(mf_ccd_reduces_objective_and_is_thread_independent) {
  const int64_t k = 4, ld = 4;
  Problem pr = make_problem(60, 40, 900, 8);
  CcdViews v = ccd_views(pr);
  std::vector<std::vector<float>> outs;
  for (int threads : {1, 2}) {
    auto P = random_rows(pr.m, ld, k, 3);
    std::vector<float> Q(pr.n * ld, 0.f), res = v.vals;
    auto objective = [&] {
      double s = 0;
      for (float x : res) s += double(x) * x;
      return s;
    };
    double before = objective();
    ccd::ccd_epoch<float>(pr.m, pr.n, v.row_ptr.data(), v.col_idx.data(), v.col_ptr.data(),
                          v.row_idx.data(), v.csc_to_csr.data(), res.data(), P.data(), Q.data(),
                          ld, k, 0.01f, 0.01f, 2, threads);
    double after = objective();
    HD_CHECK(after < 0.7 * before);
    // the residual the kernel keeps equals r - p.q recomputed from the factors
    for (int32_t u = 0; u < pr.m; ++u)
      for (int64_t x = v.row_ptr[u]; x < v.row_ptr[u + 1]; ++x) {
        double pq = 0;
        for (int64_t d = 0; d < k; ++d) pq += double(P[u * ld + d]) * Q[v.col_idx[x] * ld + d];
        HD_CHECK_NEAR(res[x], v.vals[x] - pq, 1e-4);
      }
    P.insert(P.end(), Q.begin(), Q.end());
    outs.push_back(P);
  }
  HD_CHECK(outs[0] == outs[1]);
}

// With biases: the residual stays r - (g + b_u + b_i + p.q), the sweep lowers the objective,
// and 1 and 2 threads give the same bits (float and double).
template <class T>
void check_ccd_with_biases() {
  const int64_t k = 3, ld = 3;
  Problem pr = make_problem(70, 50, 1200, 9);
  CcdViews v = ccd_views(pr);
  std::vector<std::vector<T>> outs;
  for (int threads : {1, 2}) {
    auto P0 = random_rows(pr.m, ld, k, 4);
    std::vector<T> P(P0.begin(), P0.end()), Q(pr.n * ld, T(0)), res(v.vals.begin(), v.vals.end());
    std::vector<T> bu(pr.m, T(0)), bi(pr.n, T(0)), g(1, T(0));
    const T reg = T(2);
    auto objective = [&] {
      double s = 0;
      for (T x : res) s += double(x) * x;
      for (T b : bu) s += double(reg) * b * b;
      for (T b : bi) s += double(reg) * b * b;
      return s;
    };
    double before = objective();
    for (int epoch = 0; epoch < 2; ++epoch)
      ccd::ccd_epoch<T>(pr.m, pr.n, v.row_ptr.data(), v.col_idx.data(), v.col_ptr.data(),
                        v.row_idx.data(), v.csc_to_csr.data(), res.data(), P.data(), Q.data(), ld,
                        k, T(0.01), T(0.01), 1, threads, {bu.data(), bi.data(), g.data(), reg});
    HD_CHECK(objective() < 0.6 * before);
    HD_CHECK(std::abs(double(g[0])) > 0.5);  // the ratings' mean is about 1
    for (int32_t u = 0; u < pr.m; ++u)
      for (int64_t x = v.row_ptr[u]; x < v.row_ptr[u + 1]; ++x) {
        const int32_t i = v.col_idx[x];
        double pred = double(g[0]) + bu[u] + bi[i];
        for (int64_t d = 0; d < k; ++d) pred += double(P[u * ld + d]) * Q[i * ld + d];
        HD_CHECK_NEAR(double(res[x]), v.vals[x] - pred, 1e-4);
      }
    for (auto* part : {&Q, &bu, &bi, &g, &res}) P.insert(P.end(), part->begin(), part->end());
    outs.push_back(P);
  }
  HD_CHECK(outs[0] == outs[1]);
}

HD_TEST(mf_ccd_with_biases_keeps_the_residual_and_is_thread_independent) {
  check_ccd_with_biases<float>();
  check_ccd_with_biases<double>();
}

// bucket: a permutation of the input, blocks in row-major order, (user, item) order inside a
// block for ways = 1, duplicates counted; both the one-pass (few users) and the two-pass (very
// many users) counting sorts.
HD_TEST(mf_sgd_bucket_orders_blocks_and_counts_duplicates) {
  for (int32_t m : {2, 50, 3000000}) {
    for (int ways : {1, 4}) {
      const int64_t grid = 3;
      const int32_t n_items = 40;
      Problem pr = make_problem(m, n_items, 900, 11);
      pr.u.push_back(pr.u[0]);  // one duplicate pair
      pr.i.push_back(pr.i[0]);
      pr.r.push_back(7.f);
      const int64_t n = int64_t(pr.r.size());
      std::vector<int32_t> ou(n), oi(n);
      std::vector<float> orr(n);
      std::vector<int64_t> ptr(grid * grid + 1);
      int64_t dups = sgd::bucket<float>(pr.u.data(), pr.i.data(), pr.r.data(), n, m, n_items,
                                        grid, ou.data(), oi.data(), orr.data(), ptr.data(), ways,
                                        2);
      HD_CHECK(dups >= 1);
      HD_CHECK(ptr[0] == 0 && ptr[grid * grid] == n);
      std::vector<std::tuple<int32_t, int32_t, float>> in, out;
      for (int64_t e = 0; e < n; ++e) {
        in.emplace_back(pr.u[e], pr.i[e], pr.r[e]);
        out.emplace_back(ou[e], oi[e], orr[e]);
      }
      std::sort(in.begin(), in.end());
      auto sorted_out = out;
      std::sort(sorted_out.begin(), sorted_out.end());
      HD_CHECK(in == sorted_out);
      for (int64_t b = 0; b < grid * grid; ++b)
        for (int64_t e = ptr[b]; e < ptr[b + 1]; ++e) {
          HD_CHECK(int64_t(ou[e]) * grid / m == b / grid);
          HD_CHECK(int64_t(oi[e]) * grid / n_items == b % grid);
          if (ways == 1 && e > ptr[b])
            HD_CHECK(std::make_pair(ou[e - 1], oi[e - 1]) <= std::make_pair(ou[e], oi[e]));
        }
    }
  }
}

// Set-up kernels: the same output for 1 and 2 threads; dense_rank against a sort.
HD_TEST(mf_sgd_setup_kernels_independent_of_threads) {
  namespace s = harpdaal::kernels::mf_sgd;
  std::mt19937_64 rng(5);
  std::vector<int64_t> ids(200000);
  for (auto& v : ids) v = int64_t(rng() % 70000) * 3;
  const int64_t size = 70000 * 3;
  std::vector<int32_t> t1(size), t2(size), i1(ids.size()), i2(ids.size());
  const int64_t u1 = s::dense_rank(ids.data(), int64_t(ids.size()), size, t1.data(), i1.data(), 1);
  const int64_t u2 = s::dense_rank(ids.data(), int64_t(ids.size()), size, t2.data(), i2.data(), 2);
  std::vector<int64_t> uniq(ids);
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  HD_CHECK(u1 == int64_t(uniq.size()) && u2 == u1);
  HD_CHECK(t1 == t2 && i1 == i2);
  for (size_t e = 0; e < ids.size(); e += 997)
    HD_CHECK(uniq[i1[e]] == ids[e]);
  ids[17] = -1;
  HD_CHECK(s::dense_rank(ids.data(), int64_t(ids.size()), size, t1.data(), i1.data(), 2) == -1);

  std::vector<float> a(3000 * 48, -1.f), b(3000 * 48, -2.f);
  s::normal_rows(a.data(), 3000, 48, 33, 0.5f, 99, 1, 0, 1);
  s::normal_rows(b.data(), 3000, 48, 33, 0.5f, 99, 1, 0, 2);
  HD_CHECK(a == b);
  double sum = 0, sq = 0;
  for (int64_t r = 0; r < 3000; ++r) {
    for (int64_t j = 33; j < 48; ++j) HD_CHECK(a[r * 48 + j] == 0.f);
    for (int64_t j = 0; j < 33; ++j) {
      sum += a[r * 48 + j];
      sq += double(a[r * 48 + j]) * a[r * 48 + j];
    }
  }
  const double n = 3000.0 * 33;
  HD_CHECK(std::abs(sum / n) < 0.01 && std::abs(std::sqrt(sq / n) - 0.5) < 0.01);

  std::vector<double> x(300001);
  std::normal_distribution<double> g(2.0, 3.0);
  for (auto& v : x) v = g(rng);
  double m1, s1, m2, s2;
  s::mean_std(x.data(), int64_t(x.size()), &m1, &s1, 1);
  s::mean_std(x.data(), int64_t(x.size()), &m2, &s2, 2);
  HD_CHECK(m1 == m2 && s1 == s2);
  HD_CHECK_NEAR(m1, 2.0, 0.05);
  HD_CHECK_NEAR(s1, 3.0, 0.05);
}

HD_TEST(mf_sgd_permute_rows_in_place_matches_a_gather) {
  namespace s = harpdaal::kernels::mf_sgd;
  std::mt19937_64 rng(11);
  for (int64_t n : {0, 1, 2, 7, 5000}) {
    const int64_t ld = 48;
    std::vector<float> src(size_t(n * ld));
    std::normal_distribution<float> g(0.f, 1.f);
    for (auto& v : src) v = g(rng);
    std::vector<int32_t> perm(static_cast<size_t>(n));
    for (int64_t x = 0; x < n; ++x) perm[x] = int32_t(x);
    if (n >= 7) {  // 0 fixed, (1 2) a 2-cycle, the rest random (long cycles)
      std::swap(perm[1], perm[2]);
      std::shuffle(perm.begin() + 3, perm.end(), rng);
    } else {
      std::shuffle(perm.begin(), perm.end(), rng);
    }
    std::vector<float> rows(src);
    HD_CHECK(s::permute_rows(rows.data(), perm.data(), n, ld, 2.f));
    bool same = true;
    for (int64_t x = 0; x < n; ++x)
      for (int64_t j = 0; j < ld; ++j)
        same = same && rows[x * ld + j] == src[int64_t(perm[x]) * ld + j] * 2.f;
    HD_CHECK(same);
  }
  std::vector<float> rows(4 * 16, 1.f), before(rows);
  const std::vector<int32_t> dup = {0, 1, 1, 3}, out_of_range = {0, 1, 2, 4}, negative = {0, -1, 2, 3};
  HD_CHECK(!s::permute_rows(rows.data(), dup.data(), 4, 16, 3.f));
  HD_CHECK(!s::permute_rows(rows.data(), out_of_range.data(), 4, 16, 3.f));
  HD_CHECK(!s::permute_rows(rows.data(), negative.data(), 4, 16, 3.f));
  HD_CHECK(rows == before);
}
