// The ISA levels and kernels::dispatch; and the avx512f bodies (AVX-512 F only, for Knights
// Landing) against the avx512 ones: every kernel family compiles the same AVX-512 code at both
// levels, so on a CPU that runs both they must give the same bits.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "comm/combine.hpp"
#include "harness.hpp"
#include "kernels/common/isa.hpp"
#include "kernels/common/row_norms.hpp"
#include "kernels/kmeans/kmeans.hpp"
#include "kernels/lda/doc_bucket.hpp"
#include "kernels/mf_sgd/mf_sgd.hpp"

namespace hk = harpdaal::kernels;

namespace {

// Runs fn with the dispatch forced to `isa`, then restores the level the binary runs at.
template <class Fn>
void at_isa(hk::Isa isa, Fn&& fn) {
  const hk::Isa before = hk::active_isa();
  hk::set_isa(isa);
  try {
    fn();
  } catch (...) {
    hk::set_isa(before);
    throw;
  }
  hk::set_isa(before);
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T>
std::vector<T> normal(size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(g(rng));
  return v;
}

// The bit comparisons need a CPU that runs both AVX-512 levels (a line says when they cannot run).
bool has_both_avx512() {
  if (hk::detected_isa() == hk::Isa::avx512) return true;
  std::printf("(this CPU lacks AVX-512 BW/DQ/VL: avx512f vs avx512 not compared)\n");
  return false;
}

}  // namespace

HD_TEST(isa_levels_are_ordered_and_named) {
  const hk::Isa all[] = {hk::Isa::generic, hk::Isa::avx2, hk::Isa::avx512f, hk::Isa::avx512};
  for (int i = 0; i < 4; ++i) {
    HD_CHECK(static_cast<int>(all[i]) == i);
    HD_CHECK(hk::parse_isa(hk::isa_name(all[i])) == all[i]);
  }
  HD_CHECK(std::string(hk::isa_name(hk::Isa::avx512f)) == "avx512f");
  HD_CHECK_THROWS(hk::parse_isa("avx512bw"), std::invalid_argument);
  HD_CHECK_THROWS(hk::parse_isa("AVX512F"), std::invalid_argument);
}

HD_TEST(dispatch_picks_the_body_of_the_active_level) {
  const int top = static_cast<int>(hk::detected_isa());
  for (int i = 0; i <= top; ++i) {
    at_isa(static_cast<hk::Isa>(i), [&] {
      HD_CHECK(hk::active_isa() == static_cast<hk::Isa>(i));
      HD_CHECK(hk::dispatch(10, 11, 12, 13) == 10 + i);
    });
  }
  for (int i = top + 1; i < 4; ++i)
    HD_CHECK_THROWS(hk::set_isa(static_cast<hk::Isa>(i)), std::runtime_error);
}

HD_TEST(avx512f_row_norms_and_combine_match_avx512_bits) {
  if (!has_both_avx512()) return;
  for (int64_t d : {1, 7, 16, 33, 100}) {
    const int64_t n = 37;
    const auto xf = normal<float>(size_t(n * d), 1);
    const auto xd = normal<double>(size_t(n * d), 2);
    std::vector<float> of[2];
    std::vector<double> od[2];
    const hk::Isa levels[2] = {hk::Isa::avx512f, hk::Isa::avx512};
    for (int l = 0; l < 2; ++l)
      at_isa(levels[l], [&] {
        of[l].assign(size_t(n), -1.f);
        od[l].assign(size_t(n), -1.0);
        hk::common::row_sq_norms<float>(xf.data(), n, d, of[l].data(), 1);
        hk::common::row_sq_norms<double>(xd.data(), n, d, od[l].data(), 1);
      });
    HD_CHECK(same_bits(of[0], of[1]));
    HD_CHECK(same_bits(od[0], od[1]));
  }
  namespace hc = harpdaal::comm;
  for (auto op : {hc::CombineOp::sum, hc::CombineOp::min, hc::CombineOp::max}) {
    const auto a = normal<float>(1001, 3), b = normal<float>(1001, 4);
    std::vector<float> out[2] = {a, a};
    at_isa(hk::Isa::avx512f, [&] { hc::combine<float>(op, out[0].data(), b.data(), 1001, 1); });
    at_isa(hk::Isa::avx512, [&] { hc::combine<float>(op, out[1].data(), b.data(), 1001, 1); });
    HD_CHECK(same_bits(out[0], out[1]));
  }
}

template <class T>
static void kmeans_same_bits(int64_t n, int64_t d, int64_t k, hk::kmeans::Method method) {
  namespace km = hk::kmeans;
  const auto x = normal<T>(size_t(n * d), unsigned(7 + k));
  const std::vector<T> c(x.begin(), x.begin() + k * d);
  std::vector<T> w(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) w[size_t(i)] = T(1 + i % 3);
  struct Out {
    std::vector<int32_t> labels;
    std::vector<double> sums, weights;
    double inertia = 0;
    std::vector<T> dist, centers;
  } out[2];
  const hk::Isa levels[2] = {hk::Isa::avx512f, hk::Isa::avx512};
  for (int l = 0; l < 2; ++l)
    at_isa(levels[l], [&] {
      Out& o = out[l];
      o.labels.assign(size_t(n), -1);
      o.sums.assign(size_t(k * d), 0.0);
      o.weights.assign(size_t(k), 0.0);
      km::lloyd_partial<T>(x.data(), n, d, w.data(), c.data(), k, o.labels.data(), o.sums.data(),
                           o.weights.data(), &o.inertia, 2, method);
      o.dist.assign(size_t(n), T(-1));
      km::assigned_sq_dist<T>(x.data(), n, d, c.data(), k, o.labels.data(), o.dist.data(), 2);
      o.centers = c;
      std::vector<int32_t> fit_labels(size_t(n), -1);
      km::lloyd_fit<T>(x.data(), n, d, w.data(), o.centers.data(), k, 5, 0.0, fit_labels.data(),
                       2, method);
    });
  HD_CHECK(out[0].labels == out[1].labels);
  HD_CHECK(same_bits(out[0].sums, out[1].sums));
  HD_CHECK(same_bits(out[0].weights, out[1].weights));
  HD_CHECK(std::memcmp(&out[0].inertia, &out[1].inertia, sizeof(double)) == 0);
  HD_CHECK(same_bits(out[0].dist, out[1].dist));
  HD_CHECK(same_bits(out[0].centers, out[1].centers));
}

HD_TEST(avx512f_kmeans_matches_avx512_bits) {
  if (!has_both_avx512()) return;
  namespace km = hk::kmeans;
  // k < 16 (row-dot tile), k = 100 (last tile by last_dot), full and half last tiles; odd d
  for (int64_t k : {3, 10, 40, 100}) {
    for (int64_t d : {5, 64, 129}) {
      kmeans_same_bits<float>(301, d, k, km::Method::fused);
      kmeans_same_bits<double>(301, d, k, km::Method::fused);
    }
    kmeans_same_bits<float>(301, 33, k, km::Method::gemm);
    kmeans_same_bits<double>(301, 33, k, km::Method::gemm);
  }
}

HD_TEST(avx512f_mf_sgd_matches_avx512_bits) {
  if (!has_both_avx512()) return;
  namespace mf = hk::mf_sgd;
  const int64_t n_users = 40, n_items = 30, n = 600;
  std::mt19937_64 rng(11);
  std::vector<int32_t> users(n), items(n);
  std::vector<float> ratings(n);
  for (int64_t e = 0; e < n; ++e) {
    users[size_t(e)] = int32_t(rng() % n_users);
    items[size_t(e)] = int32_t(rng() % n_items);
    ratings[size_t(e)] = float(1 + rng() % 5);
  }
  // ld = 16 * NV: the register-resident kernels (NV <= 8), then the dot/update loops (ld = 160)
  for (int64_t k : {10, 16, 40, 128, 150}) {
    const int64_t ld = (k + 15) / 16 * 16;
    for (bool adaptive : {false, true}) {
      std::vector<float> res[2], pred[2];
      double sse[2] = {0, 0};
      const hk::Isa levels[2] = {hk::Isa::avx512f, hk::Isa::avx512};
      for (int l = 0; l < 2; ++l)
        at_isa(levels[l], [&] {
          auto p = normal<float>(size_t(n_users * ld), 5);
          auto q = normal<float>(size_t(n_items * ld), 6);
          for (int64_t r = 0; r < n_users; ++r)
            for (int64_t f = k; f < ld; ++f) p[size_t(r * ld + f)] = 0.f;
          for (int64_t r = 0; r < n_items; ++r)
            for (int64_t f = k; f < ld; ++f) q[size_t(r * ld + f)] = 0.f;
          std::vector<float> pa(size_t(n_users), 1.f), qa(size_t(n_items), 1.f);
          std::vector<float> pb(size_t(n_users), 0.1f), qb(size_t(n_items), -0.1f);
          mf::Params<float> prm;
          prm.learning_rate = 0.01f;
          prm.global_mean = 3.f;
          prm.reg_bias = 0.02f;
          prm.adaptive = adaptive;
          mf::train_block<float>(users.data(), items.data(), ratings.data(), 0, n,
                                 {p.data(), pa.data(), pb.data()},
                                 {q.data(), qa.data(), qb.data()}, ld, k, prm);
          res[l] = p;
          res[l].insert(res[l].end(), q.begin(), q.end());
          res[l].insert(res[l].end(), pa.begin(), pa.end());
          res[l].insert(res[l].end(), qb.begin(), qb.end());
          pred[l].assign(size_t(n), 0.f);
          mf::predict<float>(users.data(), items.data(), n, p.data(), q.data(), pb.data(),
                             qb.data(), ld, k, 3.f, pred[l].data(), 2);
          sse[l] = mf::sum_squared_error<float>(users.data(), items.data(), ratings.data(), n,
                                                p.data(), q.data(), pb.data(), qb.data(), ld, k,
                                                3.f, 2);
        });
      HD_CHECK(same_bits(res[0], res[1]));
      HD_CHECK(same_bits(pred[0], pred[1]));
      HD_CHECK(std::memcmp(&sse[0], &sse[1], sizeof(double)) == 0);
    }
  }
}

HD_TEST(avx512f_lda_doc_bucket_matches_avx512_bits) {
  if (!has_both_avx512()) return;
  namespace lda = hk::lda;
  std::mt19937_64 rng(13);
  const int32_t K = 90;
  std::vector<int32_t> nw(K);
  for (auto& c : nw) c = int32_t(rng() % 40);
  for (int32_t n = 0; n <= 80; ++n) {
    std::vector<int32_t> nz(K);
    for (int32_t t = 0; t < K; ++t) nz[size_t(t)] = (t * 37) % K;
    std::vector<float> coef(K + 16, 0.f);
    for (int32_t j = 0; j < n; ++j) coef[size_t(j)] = 0.001f + float(rng() % 1000) * 1e-4f;
    const float u01 = float(rng() % 1000) / 1000.f;
    std::vector<float> v[2], bs[2];
    int32_t pick[2];
    const lda::DocBucketDrawFn draws[2] = {&lda::avx512f::doc_bucket_draw,
                                           &lda::avx512::doc_bucket_draw};
    for (int l = 0; l < 2; ++l) {
      v[l].assign(K + 16, -1.f);
      bs[l].assign(K / 16 + 2, -1.f);
      pick[l] = draws[l](nz.data(), n, coef.data(), nw.data(), 0.01f, 0.05f, u01, v[l].data(),
                         bs[l].data());
    }
    HD_CHECK(pick[0] == pick[1]);
    HD_CHECK(same_bits(v[0], v[1]));
    HD_CHECK(same_bits(bs[0], bs[1]));
  }
}
