#include <random>
#include <vector>

#include "harness.hpp"
#include "kernels/common/isa.hpp"
#include "kernels/common/row_norms.hpp"

namespace hk = harpdaal::kernels;

HD_TEST(isa_parse_and_limits) {
  HD_CHECK(hk::parse_isa("avx2") == hk::Isa::avx2);
  HD_CHECK_THROWS(hk::parse_isa("sse9"), std::invalid_argument);
  HD_CHECK(static_cast<int>(hk::active_isa()) <= static_cast<int>(hk::detected_isa()));
}

template <class T>
static void check_row_norms(int64_t n, int64_t d, int threads) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> g;
  std::vector<T> x(n * d), out(n, T(-1));
  for (auto& v : x) v = static_cast<T>(g(rng));
  hk::common::row_sq_norms<T>(x.data(), n, d, out.data(), threads);
  for (int64_t i = 0; i < n; ++i) {
    double ref = 0;
    for (int64_t j = 0; j < d; ++j) ref += double(x[i * d + j]) * double(x[i * d + j]);
    HD_CHECK_NEAR(out[i], ref, sizeof(T) == 4 ? 1e-5 : 1e-12);
  }
}

HD_TEST(row_sq_norms_matches_reference) {
  for (int64_t d : {1, 3, 16, 17, 64, 100}) {
    check_row_norms<float>(257, d, 2);
    check_row_norms<double>(257, d, 1);
  }
  check_row_norms<float>(0, 8, 2);
}
