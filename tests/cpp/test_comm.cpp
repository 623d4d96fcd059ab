#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "comm/combine.hpp"
#include "comm/pack.hpp"
#include "comm/schedule.hpp"
#include "harness.hpp"

namespace hc = harpdaal::comm;

HD_TEST(comm_pack_unpack_roundtrip) {
  std::mt19937 rng(3);
  // Sizes cover empty, unaligned and multi-chunk (> 1 MiB) partitions.
  std::vector<int64_t> sizes = {0, 1, 63, 64, 65, 1000, (int64_t{1} << 20) + 17, 5};
  int64_t n = static_cast<int64_t>(sizes.size());
  std::vector<std::vector<char>> parts(sizes.size());
  std::vector<const void*> in(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    parts[i].resize(static_cast<size_t>(sizes[i]));
    for (auto& c : parts[i]) c = static_cast<char>(rng());
    in[i] = parts[i].data();
  }
  std::vector<int64_t> offsets(sizes.size() + 1);
  int64_t total = hc::packed_offsets(sizes.data(), n, offsets.data());
  HD_CHECK(total == offsets.back());
  for (int64_t i = 0; i < n; ++i) {
    HD_CHECK(offsets[i] % hc::pack_alignment == 0);
    HD_CHECK(offsets[i + 1] - offsets[i] >= sizes[i]);
    HD_CHECK(offsets[i + 1] - offsets[i] < sizes[i] + hc::pack_alignment);
  }
  for (int threads : {1, 2}) {
    std::vector<char> buf(static_cast<size_t>(total), 'x');
    hc::pack(in.data(), sizes.data(), n, offsets.data(), buf.data(), threads);
    for (int64_t i = 0; i < n; ++i) {
      if (sizes[i] > 0)  // memcmp on an empty vector's null data() is undefined
        HD_CHECK(std::memcmp(buf.data() + offsets[i], parts[i].data(), sizes[i]) == 0);
      for (int64_t b = offsets[i] + sizes[i]; b < offsets[i + 1]; ++b) HD_CHECK(buf[b] == 0);
    }
    std::vector<std::vector<char>> back(sizes.size());
    std::vector<void*> out(sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) {
      back[i].assign(static_cast<size_t>(sizes[i]), 0);
      out[i] = back[i].data();
    }
    hc::unpack(buf.data(), offsets.data(), n, out.data(), sizes.data(), threads);
    for (size_t i = 0; i < sizes.size(); ++i) HD_CHECK(back[i] == parts[i]);
  }
  int64_t bad[] = {4, -1};
  int64_t off2[3];
  HD_CHECK_THROWS(hc::packed_offsets(bad, 2, off2), std::invalid_argument);
}

template <class T>
static void check_combine(int64_t n, int threads) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int> u(-1000, 1000);
  std::vector<T> a(n), b(n);
  for (int64_t i = 0; i < n; ++i) {
    a[i] = static_cast<T>(u(rng));
    b[i] = static_cast<T>(u(rng));
  }
  for (hc::CombineOp op : {hc::CombineOp::sum, hc::CombineOp::min, hc::CombineOp::max}) {
    std::vector<T> d = a;
    hc::combine<T>(op, d.data(), b.data(), n, threads);
    for (int64_t i = 0; i < n; ++i) {
      T want = op == hc::CombineOp::sum   ? static_cast<T>(a[i] + b[i])
               : op == hc::CombineOp::min ? (a[i] < b[i] ? a[i] : b[i])
                                          : (a[i] > b[i] ? a[i] : b[i]);
      HD_CHECK(d[i] == want);
    }
  }
}

HD_TEST(comm_combine_matches_scalar) {
  for (int64_t n : {0, 1, 7, 16, 33, 1000, 200003}) {
    check_combine<float>(n, 2);
    check_combine<double>(n, 1);
    check_combine<int32_t>(n, 2);
    check_combine<int64_t>(n, 1);
  }
  HD_CHECK(hc::parse_combine_op("max") == hc::CombineOp::max);
  HD_CHECK_THROWS(hc::parse_combine_op("prod"), std::invalid_argument);
}

HD_TEST(comm_combine_min_max_extremes) {
  std::vector<float> d = {std::numeric_limits<float>::infinity(), -0.5f, 3.0f};
  std::vector<float> s = {1.0f, -std::numeric_limits<float>::infinity(), 3.0f};
  hc::combine<float>(hc::CombineOp::min, d.data(), s.data(), 3, 1);
  HD_CHECK(d[0] == 1.0f && d[1] == -std::numeric_limits<float>::infinity() && d[2] == 3.0f);
}

HD_TEST(comm_regroup_plan) {
  std::vector<int64_t> ids = {5, 2, 8, 3, 0, 7};
  std::vector<int64_t> dest(ids.size());
  hc::default_destinations(ids.data(), 6, 3, dest.data());
  HD_CHECK((dest == std::vector<int64_t>{2, 2, 2, 0, 0, 1}));
  std::vector<int64_t> nbytes = {10, 64, 65, 0, 128, 1};
  std::vector<int64_t> order(6), counts(3), bc(3), bd(3);
  hc::regroup_plan(dest.data(), nbytes.data(), 6, 3, order.data(), counts.data(), bc.data(),
                   bd.data());
  HD_CHECK((order == std::vector<int64_t>{3, 4, 5, 0, 1, 2}));
  HD_CHECK((counts == std::vector<int64_t>{2, 1, 3}));
  HD_CHECK((bc == std::vector<int64_t>{128, 64, 64 + 64 + 128}));
  HD_CHECK((bd == std::vector<int64_t>{0, 128, 192}));
  std::vector<int64_t> neg = {-1};
  HD_CHECK_THROWS(hc::default_destinations(neg.data(), 1, 3, dest.data()), std::invalid_argument);
  std::vector<int64_t> far = {3};
  HD_CHECK_THROWS(hc::regroup_plan(far.data(), nbytes.data(), 1, 3, order.data(), counts.data(),
                                   bc.data(), bd.data()),
                  std::invalid_argument);
  HD_CHECK_THROWS(hc::default_destinations(ids.data(), 6, 0, dest.data()), std::invalid_argument);
}

HD_TEST(comm_rotation_schedules) {
  std::vector<int64_t> t(4), s(4);
  hc::ring_targets(4, 1, t.data());
  HD_CHECK((t == std::vector<int64_t>{1, 2, 3, 0}));
  hc::ring_targets(4, -1, t.data());
  HD_CHECK((t == std::vector<int64_t>{3, 0, 1, 2}));
  hc::rotation_sources(t.data(), 4, s.data());
  HD_CHECK((s == std::vector<int64_t>{1, 2, 3, 0}));
  std::vector<int64_t> perm = {2, 0, 3, 1};
  hc::rotation_sources(perm.data(), 4, s.data());
  for (int64_t r = 0; r < 4; ++r) HD_CHECK(perm[s[r]] == r);
  std::vector<int64_t> dup = {1, 1, 0, 2};
  HD_CHECK_THROWS(hc::rotation_sources(dup.data(), 4, s.data()), std::invalid_argument);
  std::vector<int64_t> out = {0, 4, 1, 2};
  HD_CHECK_THROWS(hc::rotation_sources(out.data(), 4, s.data()), std::invalid_argument);
}
