// Per-ISA body of the SGD update and the dot product. HARPDAAL_ISA_NS names a namespace unique to
// the including file (generic / avx2 / avx512f / avx512) so the copies never merge at link time.
// avx512f and avx512 compile the same AVX-512 F code (nothing here needs BW/DQ/VL): same bits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif


#include "kernels/common/simd.hpp"
#include "kernels/mf_sgd/mf_sgd.hpp"

namespace harpdaal::kernels::mf_sgd::HARPDAAL_ISA_NS {

namespace vx = ::harpdaal::kernels::simd::HARPDAAL_ISA_NS;

namespace {

#if defined(__AVX512F__) || defined(__AVX2__)
using vx::hsum;
#endif

#if defined(__AVX512F__)
inline float dot_f(const float* p, const float* q, int64_t ld) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  int64_t d = 0;
  for (; d + 32 <= ld; d += 32) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(p + d), _mm512_loadu_ps(q + d), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(p + d + 16), _mm512_loadu_ps(q + d + 16), a1);
  }
  for (; d < ld; d += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(p + d), _mm512_loadu_ps(q + d), a0);
  return hsum(_mm512_add_ps(a0, a1));
}
inline void update_f(float* p, float* q, int64_t ld, float e, float ep, float eq, float lp,
                     float lq, float& sp_out, float& sq_out) {
  const __m512 ve = _mm512_set1_ps(e), vep = _mm512_set1_ps(ep), veq = _mm512_set1_ps(eq);
  const __m512 vlp = _mm512_set1_ps(lp), vlq = _mm512_set1_ps(lq);
  __m512 sp = _mm512_setzero_ps(), sq = _mm512_setzero_ps();
  for (int64_t d = 0; d < ld; d += 16) {
    __m512 vp = _mm512_loadu_ps(p + d), vq = _mm512_loadu_ps(q + d);
    __m512 gp = _mm512_fnmadd_ps(ve, vq, _mm512_mul_ps(vlp, vp));
    __m512 gq = _mm512_fnmadd_ps(ve, vp, _mm512_mul_ps(vlq, vq));
    sp = _mm512_fmadd_ps(gp, gp, sp);
    sq = _mm512_fmadd_ps(gq, gq, sq);
    _mm512_storeu_ps(p + d, _mm512_fnmadd_ps(vep, gp, vp));
    _mm512_storeu_ps(q + d, _mm512_fnmadd_ps(veq, gq, vq));
  }
  sp_out = hsum(sp);
  sq_out = hsum(sq);
}
#elif defined(__AVX2__)
inline float dot_f(const float* p, const float* q, int64_t ld) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  for (int64_t d = 0; d < ld; d += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p + d), _mm256_loadu_ps(q + d), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p + d + 8), _mm256_loadu_ps(q + d + 8), a1);
  }
  return hsum(_mm256_add_ps(a0, a1));
}
inline void update_f(float* p, float* q, int64_t ld, float e, float ep, float eq, float lp,
                     float lq, float& sp_out, float& sq_out) {
  const __m256 ve = _mm256_set1_ps(e), vep = _mm256_set1_ps(ep), veq = _mm256_set1_ps(eq);
  const __m256 vlp = _mm256_set1_ps(lp), vlq = _mm256_set1_ps(lq);
  __m256 sp = _mm256_setzero_ps(), sq = _mm256_setzero_ps();
  for (int64_t d = 0; d < ld; d += 8) {
    __m256 vp = _mm256_loadu_ps(p + d), vq = _mm256_loadu_ps(q + d);
    __m256 gp = _mm256_fnmadd_ps(ve, vq, _mm256_mul_ps(vlp, vp));
    __m256 gq = _mm256_fnmadd_ps(ve, vp, _mm256_mul_ps(vlq, vq));
    sp = _mm256_fmadd_ps(gp, gp, sp);
    sq = _mm256_fmadd_ps(gq, gq, sq);
    _mm256_storeu_ps(p + d, _mm256_fnmadd_ps(vep, gp, vp));
    _mm256_storeu_ps(q + d, _mm256_fnmadd_ps(veq, gq, vq));
  }
  sp_out = hsum(sp);
  sq_out = hsum(sq);
}
#endif

template <class T>
inline T dot(const T* p, const T* q, int64_t ld, int64_t k) {
#if defined(__AVX2__) || defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (ld % 16 == 0) return dot_f(p, q, ld);
  }
#endif
  (void)ld;
  T acc = 0;
  for (int64_t d = 0; d < k; ++d) acc += p[d] * q[d];
  return acc;
}

template <class T>
inline void update(T* p, T* q, int64_t ld, int64_t k, T e, T ep, T eq, T lp, T lq, T& sp, T& sq) {
#if defined(__AVX2__) || defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (ld % 16 == 0) {
      update_f(p, q, ld, e, ep, eq, lp, lq, sp, sq);
      return;
    }
  }
#endif
  (void)ld;
  T a = 0, b = 0;
  for (int64_t d = 0; d < k; ++d) {
    T gp = lp * p[d] - e * q[d];
    T gq = lq * q[d] - e * p[d];
    a += gp * gp;
    b += gq * gq;
    p[d] -= ep * gp;
    q[d] -= eq * gq;
  }
  sp = a;
  sq = b;
}

#if defined(__AVX2__) || defined(__AVX512F__)
// Vector traits, so one register-resident kernel serves both widths.
#if defined(__AVX512F__)
struct Vec {
  using reg = __m512;
  static constexpr int width = 16;
  static reg load(const float* x) { return _mm512_loadu_ps(x); }
  static void store(float* x, reg v) { _mm512_storeu_ps(x, v); }
  static reg set1(float v) { return _mm512_set1_ps(v); }
  static reg zero() { return _mm512_setzero_ps(); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg fnmadd(reg a, reg b, reg c) { return _mm512_fnmadd_ps(a, b, c); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static float sum(reg v) { return hsum(v); }
  // (sum of a's lanes, of b's, of c's, of d's): the same addition tree for each
  // the sum of all lanes in every lane (butterfly: 4 shuffles + 4 adds, no broadcast needed)
  static reg allsum(reg v) { return vx::allsum(v); }
  static float lane0(reg v) { return _mm512_cvtss_f32(v); }
  // lane x of an 8-lane vector in every lane
  static reg lane(__m256 v, int x) {
    // masked forms with explicit sources (GCC PR 105593, see simd.hpp)
    const __m512d wide = _mm512_mask_insertf64x4(_mm512_setzero_pd(), __mmask8(0xFF),
                                                  _mm512_setzero_pd(), _mm256_castps_pd(v), 0);
    return _mm512_mask_permutexvar_ps(_mm512_setzero_ps(), __mmask16(0xFFFF),
                                      _mm512_set1_epi32(x), _mm512_castpd_ps(wide));
  }
  // (sum of a's lanes, sum of b's lanes, the same again)
  static __m128 sum2(reg a, reg b) {
    __m256 x = _mm256_add_ps(vx::lo256(a), vx::hi256(a));
    __m256 y = _mm256_add_ps(vx::lo256(b), vx::hi256(b));
    __m256 h = _mm256_hadd_ps(x, y);  // x01 x23 y01 y23 | x45 x67 y45 y67
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    return _mm_hadd_ps(t, t);  // x, y, x, y
  }
  static __m128 reduce4(reg a, reg b, reg c, reg d) {
    return vx::reduce4(_mm256_add_ps(vx::lo256(a), vx::hi256(a)),
                       _mm256_add_ps(vx::lo256(b), vx::hi256(b)),
                       _mm256_add_ps(vx::lo256(c), vx::hi256(c)),
                       _mm256_add_ps(vx::lo256(d), vx::hi256(d)));
  }
};
#else
struct Vec {
  using reg = __m256;
  static constexpr int width = 8;
  static reg load(const float* x) { return _mm256_loadu_ps(x); }
  static void store(float* x, reg v) { _mm256_storeu_ps(x, v); }
  static reg set1(float v) { return _mm256_set1_ps(v); }
  static reg zero() { return _mm256_setzero_ps(); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg fnmadd(reg a, reg b, reg c) { return _mm256_fnmadd_ps(a, b, c); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static float sum(reg v) { return hsum(v); }
  static __m128 reduce4(reg a, reg b, reg c, reg d) { return vx::reduce4(a, b, c, d); }
  static reg allsum(reg v) {
    v = _mm256_add_ps(v, _mm256_permute2f128_ps(v, v, 1));
    v = _mm256_add_ps(v, _mm256_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm256_add_ps(v, _mm256_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
  }
  static float lane0(reg v) { return _mm256_cvtss_f32(v); }
  static reg lane(__m256 v, int x) { return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(x)); }
  static __m128 sum2(reg x, reg y) {
    __m256 h = _mm256_hadd_ps(x, y);
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    return _mm_hadd_ps(t, t);
  }
};
#endif

// The update of L ratings (L = 4, or 1 where the next four are not independent) with distinct
// users and distinct items, in lockstep (ld == NV * Vec::width). Their updates touch disjoint
// memory, so running them side by side gives the same bits as running them one after the
// other, and every rating gets the same arithmetic whichever L it was run with. Lockstep lets
// the core overlap L dependency chains (p.q -> error -> new rows), and the per-rating scalar
// work runs once per group in 8-lane vectors [4 users | 4 items]: biases, AdaGrad sums, rates
// (one sqrt and one divide for eight), errors (the four dot products reduced together by one
// transpose-and-add), squared row norms. Per rating:
// - p.q with two partial sums (half the chain of one);
// - the update in the form p' = (1 - eta_u l_u) p + (eta_u e) q: one multiply and one FMA per
//   register and row instead of a gradient (two operations) and a step (one);
// - the adaptive-rate statistics |g_p|^2 = l_u^2 |p|^2 - 2 l_u e p.q + e^2 |q|^2 (and the same
//   for g_q) from |p|^2 and |q|^2, summed alongside p.q, not from the gradient itself.
// While the L rows fit the register file they stay there between the sums and the update;
// wider rows are loaded again (L1 hits) rather than spilled. ADAPTIVE / BIAS are template
// arguments so the loop is straight-line code with every constant in a register.

// Constants of the update in the 8-lane layout [4 users | 4 items].
struct Consts {
  __m256 eta, reg, reg_bias, reg_sq, reg_2, inv_k, one;
  __m128 mu;
};

template <int NV, int L, bool adaptive, bool bias>
inline void update_lanes(const int32_t* users, const int32_t* items, const float* ratings,
                         int64_t e, const Factors<float>& P, const Factors<float>& Q,
                         const Consts& c) {
  static_assert(L == 1 || L == 4, "lanes: 1 or 4");
  using reg = typename Vec::reg;
  constexpr int64_t ld = int64_t(NV) * Vec::width;
  constexpr bool keep = NV * L <= 8;  // the L rows stay in registers between the phases
  int64_t u[L], i[L];
  float* p[L];
  float* q[L];
  // scalars by lane: [users 0..3 | items 0..3]; lanes >= L hold harmless fillers
  alignas(32) float s_bias[8] = {}, s_acc[8] = {1, 1, 1, 1, 1, 1, 1, 1}, s_norm[8] = {};
  alignas(16) float s_rating[4] = {};
#pragma GCC unroll 4
  for (int l = 0; l < L; ++l) {
    u[l] = users[e + l];
    i[l] = items[e + l];
    p[l] = P.rows + u[l] * ld;
    q[l] = Q.rows + i[l] * ld;
    s_rating[l] = ratings[e + l];
    if constexpr (bias) {
      s_bias[l] = P.bias[u[l]];
      s_bias[4 + l] = Q.bias[i[l]];
    }
    if constexpr (adaptive) {
      s_acc[l] = P.acc[u[l]];
      s_acc[4 + l] = Q.acc[i[l]];
    }
  }
  reg vp[L][keep ? NV : 1], vq[L][keep ? NV : 1];
  const reg z = Vec::zero();
  reg dots[4] = {z, z, z, z}, pnorms[4] = {z, z, z, z}, qnorms[4] = {z, z, z, z};
#pragma GCC unroll 4
  for (int l = 0; l < L; ++l) {
    reg d0 = z, d1 = z, m0 = z, m1 = z, n0 = z, n1 = z;
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      const reg x = Vec::load(p[l] + v * Vec::width), y = Vec::load(q[l] + v * Vec::width);
      if constexpr (keep) {
        vp[l][v] = x;
        vq[l][v] = y;
      }
      if (v % 2 == 0) {
        d0 = v == 0 ? Vec::mul(x, y) : Vec::fmadd(x, y, d0);
        if constexpr (adaptive) {
          m0 = v == 0 ? Vec::mul(x, x) : Vec::fmadd(x, x, m0);
          n0 = v == 0 ? Vec::mul(y, y) : Vec::fmadd(y, y, n0);
        }
      } else {
        d1 = v == 1 ? Vec::mul(x, y) : Vec::fmadd(x, y, d1);
        if constexpr (adaptive) {
          m1 = v == 1 ? Vec::mul(x, x) : Vec::fmadd(x, x, m1);
          n1 = v == 1 ? Vec::mul(y, y) : Vec::fmadd(y, y, n1);
        }
      }
    }
    dots[l] = NV > 1 ? Vec::add(d0, d1) : d0;
    pnorms[l] = NV > 1 ? Vec::add(m0, m1) : m0;
    qnorms[l] = NV > 1 ? Vec::add(n0, n1) : n0;
  }
  // wide rows: the update reads them again (L1 hits); without this the compiler keeps the first
  // lane's rows from the loads above and spills them to the stack
  if constexpr (!keep) asm volatile("" ::: "memory");
  if constexpr (adaptive) {
    _mm_store_ps(s_norm, Vec::reduce4(pnorms[0], pnorms[1], pnorms[2], pnorms[3]));
    _mm_store_ps(s_norm + 4, Vec::reduce4(qnorms[0], qnorms[1], qnorms[2], qnorms[3]));
  }
  // error e = r - mu - b_u - b_i - p.q per lane, then rates, shrink factors and steps
  __m256 vb = _mm256_load_ps(s_bias);
  __m128 target = _mm_sub_ps(_mm_load_ps(s_rating), c.mu);
  if constexpr (bias)
    target = _mm_sub_ps(target, _mm_add_ps(_mm256_castps256_ps128(vb), _mm256_extractf128_ps(vb, 1)));
  const __m128 err4 = _mm_sub_ps(target, Vec::reduce4(dots[0], dots[1], dots[2], dots[3]));
  const __m256 err = _mm256_set_m128(err4, err4);
  const __m256 acc = _mm256_load_ps(s_acc);
  const __m256 rate = adaptive ? _mm256_div_ps(c.eta, _mm256_sqrt_ps(acc)) : c.eta;
  const __m256 shrink = _mm256_fnmadd_ps(rate, c.reg, c.one);  // 1 - eta l
  const __m256 step = _mm256_mul_ps(rate, err);                // eta e
#pragma GCC unroll 4
  for (int l = 0; l < L; ++l) {
    // p' = (1 - eta_u l_u) p + eta_u e q, q' = (1 - eta_i l_i) q + eta_i e p
    const reg sp = Vec::lane(shrink, l), sq = Vec::lane(shrink, 4 + l);
    const reg tp = Vec::lane(step, l), tq = Vec::lane(step, 4 + l);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      reg x, y;
      if constexpr (keep) {
        x = vp[l][v];
        y = vq[l][v];
      } else {
        x = Vec::load(p[l] + v * Vec::width);
        y = Vec::load(q[l] + v * Vec::width);
      }
      Vec::store(p[l] + v * Vec::width, Vec::fmadd(tp, y, Vec::mul(sp, x)));
      Vec::store(q[l] + v * Vec::width, Vec::fmadd(tq, x, Vec::mul(sq, y)));
    }
  }
  if constexpr (bias) {  // b -= eta * (reg_bias * b - e)
    vb = _mm256_fnmadd_ps(rate, _mm256_fmsub_ps(c.reg_bias, vb, err), vb);
    _mm256_store_ps(s_bias, vb);
#pragma GCC unroll 4
    for (int l = 0; l < L; ++l) {
      P.bias[u[l]] = s_bias[l];
      Q.bias[i[l]] = s_bias[4 + l];
    }
  }
  if constexpr (adaptive) {
    // |g_p|^2 = l_u^2 |p|^2 - 2 l_u e p.q + e^2 |q|^2, |g_q|^2 likewise; p.q = target - e (as
    // summed above, up to rounding)
    const __m256 norm = _mm256_load_ps(s_norm);
    const __m256 other = _mm256_permute2f128_ps(norm, norm, 1);  // the other row's |.|^2
    const __m128 pq4 = _mm_sub_ps(target, err4);
    const __m256 pq = _mm256_set_m128(pq4, pq4);
    __m256 gg = _mm256_mul_ps(_mm256_mul_ps(err, err), other);
    gg = _mm256_fnmadd_ps(_mm256_mul_ps(c.reg_2, err), pq, gg);
    gg = _mm256_fmadd_ps(c.reg_sq, norm, gg);
    _mm256_store_ps(s_acc, _mm256_fmadd_ps(_mm256_max_ps(gg, _mm256_setzero_ps()), c.inv_k, acc));
#pragma GCC unroll 4
    for (int l = 0; l < L; ++l) {
      P.acc[u[l]] = s_acc[l];
      Q.acc[i[l]] = s_acc[4 + l];
    }
  }
}

// True when the four ratings from e on have pairwise distinct users and pairwise distinct items.
inline bool independent4(const int32_t* users, const int32_t* items, int64_t e) {
  const __m128i vu = _mm_loadu_si128(reinterpret_cast<const __m128i*>(users + e));
  const __m128i vi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(items + e));
  // lane x against lanes x+1 and x+2 (mod 4): all six pairs
  const __m128i u1 = _mm_shuffle_epi32(vu, _MM_SHUFFLE(0, 3, 2, 1));
  const __m128i u2 = _mm_shuffle_epi32(vu, _MM_SHUFFLE(1, 0, 3, 2));
  const __m128i i1 = _mm_shuffle_epi32(vi, _MM_SHUFFLE(0, 3, 2, 1));
  const __m128i i2 = _mm_shuffle_epi32(vi, _MM_SHUFFLE(1, 0, 3, 2));
  const __m128i clash =
      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi32(vu, u1), _mm_cmpeq_epi32(vu, u2)),
                   _mm_or_si128(_mm_cmpeq_epi32(vi, i1), _mm_cmpeq_epi32(vi, i2)));
  return _mm_testz_si128(clash, clash);
}

template <int NV, bool adaptive, bool bias>
void train_block_fixed(const int32_t* users, const int32_t* items, const float* ratings,
                       int64_t begin, int64_t end, Factors<float> P, Factors<float> Q,
                       int64_t k, const Params<float>& prm) {
  constexpr int64_t ld = int64_t(NV) * Vec::width;
  const float lu = prm.reg_user, li = prm.reg_item;
  Consts c;
  c.eta = _mm256_set1_ps(prm.learning_rate);
  c.reg = _mm256_setr_ps(lu, lu, lu, lu, li, li, li, li);
  c.reg_bias = _mm256_set1_ps(prm.reg_bias);
  c.reg_sq = _mm256_mul_ps(c.reg, c.reg);
  c.reg_2 = _mm256_add_ps(c.reg, c.reg);
  c.inv_k = _mm256_set1_ps(1.f / float(k));
  c.one = _mm256_set1_ps(1.f);
  c.mu = _mm_set1_ps(prm.global_mean);
  constexpr int64_t kAhead = 16;  // ratings ahead to prefetch rows for
  // always inlined: as a function of its own GCC finds it free of side effects (a prefetch
  // does not count as one) and deletes every call to it
  auto prefetch = [&](int64_t from, int64_t to) __attribute__((always_inline)) {
    for (int64_t x = from; x < std::min(to, end); ++x) {
      const float* qn = Q.rows + int64_t(items[x]) * ld;
      const float* pn = P.rows + int64_t(users[x]) * ld;
#pragma GCC unroll 8
      for (int64_t o = 0; o < ld; o += 16) {
        vx::prefetch_t0(qn + o);
        vx::prefetch_t0(pn + o);
      }
    }
  };
  prefetch(begin, begin + kAhead);
  int64_t e = begin;
  while (e + 4 <= end) {
    if (independent4(users, items, e)) {
      prefetch(e + kAhead, e + kAhead + 4);
      update_lanes<NV, 4, adaptive, bias>(users, items, ratings, e, P, Q, c);
      e += 4;
    } else {
      prefetch(e + kAhead, e + kAhead + 1);
      update_lanes<NV, 1, adaptive, bias>(users, items, ratings, e, P, Q, c);
      e += 1;
    }
  }
  for (; e < end; ++e) update_lanes<NV, 1, adaptive, bias>(users, items, ratings, e, P, Q, c);
}

// Rows wider than 32 floats: one rating at a time, the whole update with both rows held in NV
// registers each (ld == NV * Vec::width): p and q are loaded once. Each update is one long
// dependency chain (rows -> p.q -> error -> new rows), and the core overlaps consecutive ratings
// only as far as the waiting operations fit its schedulers, so the chain is kept short:
// - p.q in four partial sums (two FMAs deep at k = 128 instead of eight), then a butterfly that
//   leaves the total in every lane (the error is then formed as a vector: no scalar round trip
//   and no broadcast on the chain);
// - the adaptive-rate statistics |g_p|^2 = l_u^2 |p|^2 - 2 l_u e p.q + e^2 |q|^2 (and the same
//   for g_q) come from |p|^2 and |q|^2, summed alongside p.q in two partial sums each, instead
//   of a sum over g_p after the gradient is known;
// - both rates eta / sqrt(G) come from one 2-lane sqrt and divide.
// ADAPTIVE / BIAS are template arguments so the loop is straight-line code with every constant
// in a register.
template <int NV, bool adaptive, bool bias>
void train_block_single(const int32_t* users, const int32_t* items, const float* ratings,
                       int64_t begin, int64_t end, Factors<float> P, Factors<float> Q,
                       int64_t k, const Params<float>& prm) {
  static_assert(NV >= 2, "single: rows of two registers or more");
  using reg = typename Vec::reg;
  constexpr int64_t ld = int64_t(NV) * Vec::width;
  const float eta = prm.learning_rate, lb = prm.reg_bias, mu = prm.global_mean;
  const float lu = prm.reg_user, li = prm.reg_item;
  const float inv_k = 1.f / float(k);
  const reg vlp = Vec::set1(lu), vlq = Vec::set1(li);
  const __m128 veta = _mm_set1_ps(eta), vlb = _mm_set1_ps(lb);
  const __m128 vlsq = _mm_set_ps(0.f, 0.f, li * li, lu * lu);
  const __m128 vl2 = _mm_set_ps(0.f, 0.f, 2.f * li, 2.f * lu);
  const __m128 vinv_k = _mm_set1_ps(inv_k);
  constexpr int kAhead = 16;  // ratings ahead to prefetch rows for
  for (int64_t e = begin; e < end; ++e) {
    const int64_t u = users[e], i = items[e];
    float* p = P.rows + u * ld;
    float* q = Q.rows + i * ld;
    if (e + kAhead < end) {
      const float* qn = Q.rows + int64_t(items[e + kAhead]) * ld;
      const float* pn = P.rows + int64_t(users[e + kAhead]) * ld;
      for (int64_t c = 0; c < ld; c += 16) {
        vx::prefetch_t0(qn + c);
        vx::prefetch_t0(pn + c);
      }
    }
    reg vp[NV], vq[NV];
    for (int v = 0; v < NV; ++v) {
      vp[v] = Vec::load(p + v * Vec::width);
      vq[v] = Vec::load(q + v * Vec::width);
    }
    // user and item scalars side by side in 2 lanes: [user, item, -, -]
    float target = ratings[e] - mu;  // off the chain: r - mu - b_u - b_i
    __m128 vb = _mm_setzero_ps();
    if constexpr (bias) {
      vb = _mm_set_ps(0.f, 0.f, Q.bias[i], P.bias[u]);
      target -= _mm_cvtss_f32(_mm_add_ss(vb, _mm_movehdup_ps(vb)));
    }
    constexpr int NA = NV >= 4 ? 4 : 2;  // partial sums: a chain of NV / NA FMAs
    reg part[NA];
    for (int v = 0; v < NA; ++v) part[v] = Vec::mul(vp[v], vq[v]);
    for (int v = NA; v < NV; ++v) part[v % NA] = Vec::fmadd(vp[v], vq[v], part[v % NA]);
    if constexpr (NA == 4) {
      part[0] = Vec::add(part[0], part[2]);
      part[1] = Vec::add(part[1], part[3]);
    }
    const reg acc = Vec::add(part[0], part[1]);
    const reg ve = Vec::sub(Vec::set1(target), Vec::allsum(acc));
    const __m128 verr = _mm_broadcastss_ps(_mm_set_ss(Vec::lane0(ve)));
    __m128 rate = veta, g = _mm_setzero_ps(), pp_qq = _mm_setzero_ps();
    if constexpr (adaptive) {
      g = _mm_set_ps(0.f, 0.f, Q.acc[i], P.acc[u]);
      rate = _mm_div_ps(veta, _mm_sqrt_ps(g));
      reg a = Vec::mul(vp[0], vp[0]), b = Vec::mul(vq[0], vq[0]);
      reg a1 = Vec::mul(vp[1], vp[1]), b1 = Vec::mul(vq[1], vq[1]);
      for (int v = 2; v < NV; v += 2) {
        a = Vec::fmadd(vp[v], vp[v], a);
        b = Vec::fmadd(vq[v], vq[v], b);
        if (v + 1 < NV) {
          a1 = Vec::fmadd(vp[v + 1], vp[v + 1], a1);
          b1 = Vec::fmadd(vq[v + 1], vq[v + 1], b1);
        }
      }
      pp_qq = Vec::sum2(Vec::add(a, a1), Vec::add(b, b1));  // |p|^2, |q|^2, |p|^2, |q|^2
    }
    const reg vep = Vec::set1(_mm_cvtss_f32(rate));
    const reg veq = Vec::set1(_mm_cvtss_f32(_mm_movehdup_ps(rate)));
    for (int v = 0; v < NV; ++v) {
      const reg gp = Vec::fnmadd(ve, vq[v], Vec::mul(vlp, vp[v]));
      const reg gq = Vec::fnmadd(ve, vp[v], Vec::mul(vlq, vq[v]));
      Vec::store(p + v * Vec::width, Vec::fnmadd(vep, gp, vp[v]));
      Vec::store(q + v * Vec::width, Vec::fnmadd(veq, gq, vq[v]));
    }
    if constexpr (bias) {  // b -= eta * (reg_bias * b - e), both at once
      vb = _mm_fnmadd_ps(rate, _mm_fmsub_ps(vlb, vb, verr), vb);
      P.bias[u] = _mm_cvtss_f32(vb);
      Q.bias[i] = _mm_cvtss_f32(_mm_movehdup_ps(vb));
    }
    if constexpr (adaptive) {
      // |g_p|^2 = l_u^2 |p|^2 - 2 l_u e p.q + e^2 |q|^2, |g_q|^2 likewise (lanes: user, item);
      // p.q = target - e (as summed above, up to rounding)
      const __m128 pq = _mm_sub_ps(_mm_set1_ps(target), verr);
      const __m128 swapped = _mm_shuffle_ps(pp_qq, pp_qq, _MM_SHUFFLE(2, 3, 0, 1));
      __m128 gg = _mm_mul_ps(_mm_mul_ps(verr, verr), swapped);
      gg = _mm_fnmadd_ps(_mm_mul_ps(vl2, verr), pq, gg);
      gg = _mm_fmadd_ps(vlsq, pp_qq, gg);
      g = _mm_fmadd_ps(_mm_max_ps(gg, _mm_setzero_ps()), vinv_k, g);
      P.acc[u] = _mm_cvtss_f32(g);
      Q.acc[i] = _mm_cvtss_f32(_mm_movehdup_ps(g));
    }
  }
}

// Register-resident kernel for ld up to 128 floats, or nullptr.
using FixedFn = void (*)(const int32_t*, const int32_t*, const float*, int64_t, int64_t,
                         Factors<float>, Factors<float>, int64_t, const Params<float>&);
template <int NV>
FixedFn fixed_variant(bool adaptive, bool bias) {
  // four ratings in lockstep up to 32 floats per row; one at a time, rows in registers, above
  // (k=128 on W-MF: 28.4 against 26.2M updates/s for the lockstep kernel, whole fits)
  if constexpr (NV * Vec::width <= 32) {
    if (adaptive) return bias ? &train_block_fixed<NV, true, true> : &train_block_fixed<NV, true, false>;
    return bias ? &train_block_fixed<NV, false, true> : &train_block_fixed<NV, false, false>;
  } else {
    if (adaptive) return bias ? &train_block_single<NV, true, true> : &train_block_single<NV, true, false>;
    return bias ? &train_block_single<NV, false, true> : &train_block_single<NV, false, false>;
  }
}

inline FixedFn fixed_kernel(int64_t ld, bool adaptive, bool bias) {
  if (ld % Vec::width != 0) return nullptr;
  switch (ld / Vec::width) {
    case 1: return fixed_variant<1>(adaptive, bias);
    case 2: return fixed_variant<2>(adaptive, bias);
    case 3: return fixed_variant<3>(adaptive, bias);
    case 4: return fixed_variant<4>(adaptive, bias);
    case 5: return fixed_variant<5>(adaptive, bias);
    case 6: return fixed_variant<6>(adaptive, bias);
    case 7: return fixed_variant<7>(adaptive, bias);
    case 8: return fixed_variant<8>(adaptive, bias);
#if !defined(__AVX512F__)
    case 10: return fixed_variant<10>(adaptive, bias);
    case 12: return fixed_variant<12>(adaptive, bias);
    case 14: return fixed_variant<14>(adaptive, bias);
    case 16: return fixed_variant<16>(adaptive, bias);
#endif
    default: return nullptr;
  }
}
#endif

}  // namespace

template <class T>
void train_block(const int32_t* users, const int32_t* items, const T* ratings, int64_t begin,
                 int64_t end, Factors<T> P, Factors<T> Q, int64_t ld, int64_t k,
                 const Params<T>& prm) {
#if defined(__AVX2__) || defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (k > 0) {
      if (FixedFn fn = fixed_kernel(ld, prm.adaptive, P.bias != nullptr && Q.bias != nullptr)) {
        fn(users, items, ratings, begin, end, P, Q, k, prm);
        return;
      }
    }
  }
#endif
  const T eta = prm.learning_rate, lp = prm.reg_user, lq = prm.reg_item, lb = prm.reg_bias;
  const T mu = prm.global_mean, inv_k = T(1) / T(k > 0 ? k : 1);
  const bool bias = P.bias != nullptr && Q.bias != nullptr;
  for (int64_t e = begin; e < end; ++e) {
    const int64_t u = users[e], i = items[e];
    T* p = P.rows + u * ld;
    T* q = Q.rows + i * ld;
    if (e + 2 < end) {  // (no prefetch on the generic level)
      vx::prefetch_t0(Q.rows + int64_t(items[e + 2]) * ld);
      vx::prefetch_t0(P.rows + int64_t(users[e + 2]) * ld);
    }
    T pred = mu + dot(p, q, ld, k);
    if (bias) pred += P.bias[u] + Q.bias[i];
    const T err = ratings[e] - pred;
    T ep = eta, eq = eta;
    if (prm.adaptive) {
      ep = eta / std::sqrt(P.acc[u]);
      eq = eta / std::sqrt(Q.acc[i]);
    }
    T sp, sq;
    update(p, q, ld, k, err, ep, eq, lp, lq, sp, sq);
    if (bias) {
      P.bias[u] -= ep * (lb * P.bias[u] - err);
      Q.bias[i] -= eq * (lb * Q.bias[i] - err);
    }
    if (prm.adaptive) {
      P.acc[u] += sp * inv_k;
      Q.acc[i] += sq * inv_k;
    }
  }
}

template <class T>
void predict_range(const int32_t* users, const int32_t* items, int64_t begin, int64_t end,
                   const T* P, const T* Q, const T* ub, const T* ib, int64_t ld, int64_t k, T mu,
                   T* out) {
  for (int64_t e = begin; e < end; ++e) {
    const int64_t u = users[e], i = items[e];
    T v = mu + dot(P + u * ld, Q + i * ld, ld, k);
    if (ub) v += ub[u];
    if (ib) v += ib[i];
    out[e] = v;
  }
}

template <class T>
double sse_range(const int32_t* users, const int32_t* items, const T* ratings, int64_t begin,
                 int64_t end, const T* P, const T* Q, const T* ub, const T* ib, int64_t ld,
                 int64_t k, T mu) {
  double acc = 0;
  for (int64_t e = begin; e < end; ++e) {
    const int64_t u = users[e], i = items[e];
    T v = mu + dot(P + u * ld, Q + i * ld, ld, k);
    if (ub) v += ub[u];
    if (ib) v += ib[i];
    double d = double(ratings[e]) - double(v);
    acc += d * d;
  }
  return acc;
}

#define HARPDAAL_MF_INST(T)                                                                    \
  template void train_block<T>(const int32_t*, const int32_t*, const T*, int64_t, int64_t,     \
                               Factors<T>, Factors<T>, int64_t, int64_t, const Params<T>&);     \
  template void predict_range<T>(const int32_t*, const int32_t*, int64_t, int64_t, const T*,   \
                                 const T*, const T*, const T*, int64_t, int64_t, T, T*);        \
  template double sse_range<T>(const int32_t*, const int32_t*, const T*, int64_t, int64_t,     \
                               const T*, const T*, const T*, const T*, int64_t, int64_t, T);
HARPDAAL_MF_INST(float)
HARPDAAL_MF_INST(double)
#undef HARPDAAL_MF_INST

}  // namespace harpdaal::kernels::mf_sgd::HARPDAAL_ISA_NS
