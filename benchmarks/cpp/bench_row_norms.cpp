// harpdaal's row_sq_norms kernel at every ISA level this CPU runs, against the memory limit
// (it reads n*d floats once: GB/s comparable with memory_read).
#include <cstdint>
#include <random>
#include <vector>

#include "bench.hpp"
#include "kernels/common/isa.hpp"
#include "kernels/common/row_norms.hpp"

namespace {

namespace hk = harpdaal::kernels;

void bench_row_norms(const hdbench::Options& opt, std::vector<hdbench::Record>& out) {
  const int64_t d = 64, n = opt.quick ? (int64_t{1} << 14) : (int64_t{1} << 21);  // 512 MB full
  std::vector<float> x(n * d), norms(n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& v : x) v = u(rng);
  const hk::Isa before = hk::active_isa();
  for (hk::Isa isa : {hk::Isa::generic, hk::Isa::avx2, hk::Isa::avx512f, hk::Isa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(hk::detected_isa())) continue;
    hk::set_isa(isa);
    for (int nt : opt.threads) {
      double s = hdbench::best_seconds(opt.repeat, [&] {
        harpdaal::kernels::common::row_sq_norms<float>(x.data(), n, d, norms.data(), nt);
      });
      hdbench::keep(norms[0]);
      const double bytes = double(n) * double(d) * sizeof(float);
      out.push_back({"row_sq_norms_f32", {{"isa", hk::isa_name(isa)}},
                     {{"n", double(n)}, {"d", double(d)}, {"threads", double(nt)}, {"seconds", s},
                      {"gbps", bytes / s / 1e9}, {"gflops", 2.0 * n * d / s / 1e9}}});
    }
  }
  hk::set_isa(before);
}

hdbench::Register reg("row_sq_norms", &bench_row_norms);

}  // namespace
