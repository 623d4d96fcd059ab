#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "harness.hpp"
#include "kernels/als/als.hpp"

namespace als = harpdaal::kernels::als;

namespace {

template <class T>
struct Problem {
  int64_t n_rows = 40, n_cols = 30, k = 7;
  std::vector<int64_t> indptr;
  std::vector<int32_t> indices;
  std::vector<T> values, X, Y, G;

  explicit Problem(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g;
    std::uniform_real_distribution<double> u01;
    indptr.push_back(0);
    for (int64_t r = 0; r < n_rows; ++r) {
      for (int32_t c = 0; c < n_cols; ++c)
        if (u01(rng) < 0.2) {
          indices.push_back(c);
          values.push_back(T(1 + 4 * u01(rng)));
        }
      indptr.push_back(int64_t(indices.size()));
    }
    for (int64_t i = 0; i < n_rows * k; ++i) X.push_back(T(0.3 * g(rng)));
    for (int64_t i = 0; i < n_cols * k; ++i) Y.push_back(T(0.3 * g(rng)));
    G.resize(k * k);
    als::gram<T>(Y.data(), n_cols, k, G.data(), 2);
  }

  // Row u's A x - b in double (the residual of the exact system).
  double residual(int64_t u, const std::vector<T>& x_all, double reg, double alpha) const {
    std::vector<double> A(k * k, 0.0), b(k, 0.0);
    for (int64_t i = 0; i < n_cols; ++i)
      for (int64_t a = 0; a < k; ++a)
        for (int64_t c = 0; c < k; ++c) A[a * k + c] += double(Y[i * k + a]) * Y[i * k + c];
    for (int64_t a = 0; a < k; ++a) A[a * k + a] += reg;
    for (int64_t e = indptr[u]; e < indptr[u + 1]; ++e) {
      const T* y = &Y[int64_t(indices[e]) * k];
      const double c = alpha * values[e];
      for (int64_t a = 0; a < k; ++a) {
        b[a] += c * y[a];
        for (int64_t j = 0; j < k; ++j) A[a * k + j] += (c - 1) * double(y[a]) * y[j];
      }
    }
    double worst = 0;
    for (int64_t a = 0; a < k; ++a) {
      double s = -b[a];
      for (int64_t c = 0; c < k; ++c) s += A[a * k + c] * x_all[u * k + c];
      worst = std::max(worst, std::fabs(s));
    }
    return worst;
  }
};

template <class T>
void check_solver(als::Solver solver, int steps, int rounds, double tol) {
  Problem<T> p(11);
  for (int it = 0; it < rounds; ++it)
    als::solve_rows<T>(p.indptr.data(), p.indices.data(), p.values.data(), p.n_rows, p.Y.data(),
                       p.G.data(), p.k, T(0.1), T(2), solver, steps, p.X.data(), 2);
  for (int64_t u = 0; u < p.n_rows; ++u) HD_CHECK(p.residual(u, p.X, 0.1, 2.0) < tol);
}

}  // namespace

HD_TEST(als_gram_matches_reference) {
  Problem<double> p(3);
  for (int64_t a = 0; a < p.k; ++a)
    for (int64_t c = 0; c < p.k; ++c) {
      double s = 0;
      for (int64_t i = 0; i < p.n_cols; ++i) s += p.Y[i * p.k + a] * p.Y[i * p.k + c];
      HD_CHECK_NEAR(p.G[a * p.k + c], s, 1e-12);
    }
}

HD_TEST(als_cholesky_solves_the_row_systems) {
  check_solver<double>(als::Solver::cholesky, 1, 1, 1e-9);
  check_solver<float>(als::Solver::cholesky, 1, 1, 2e-4);
}

HD_TEST(als_cg_converges_to_the_row_systems) {
  check_solver<double>(als::Solver::cg, 10, 3, 1e-8);
  check_solver<float>(als::Solver::cg, 10, 3, 2e-3);
}

HD_TEST(als_loss_drops_after_a_half_step) {
  Problem<float> p(5);
  auto loss = [&] {
    return als::loss<float>(p.indptr.data(), p.indices.data(), p.values.data(), p.n_rows,
                            p.X.data(), p.Y.data(), p.G.data(), p.k, 0.1f, 2.f, 1);
  };
  const double before = loss();
  als::solve_rows<float>(p.indptr.data(), p.indices.data(), p.values.data(), p.n_rows,
                         p.Y.data(), p.G.data(), p.k, 0.1f, 2.f, als::Solver::cg, 3, p.X.data(),
                         1);
  HD_CHECK(loss() < before);
}
