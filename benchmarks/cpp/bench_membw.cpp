// The machine's memory bandwidth: streaming read (sum) and write (non-temporal stores) of a buffer
// far larger than the caches, on 1 and T threads, with the widest vectors the CPU runs.
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "bench.hpp"
#include "kernels/common/isa.hpp"

namespace {

namespace hk = harpdaal::kernels;

// n is a multiple of 64 floats and p 64-byte aligned (the caller guarantees both).
__attribute__((target("avx512f"))) float read_avx512(const float* p, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t i = 0; i < n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
    s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
  }
  // Through memory, not _mm512_reduce_add_ps (GCC 12 warns -Wuninitialized inside it).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  float total = 0.0f;
  for (float x : lanes) total += x;
  return total;
}

__attribute__((target("avx512f"))) void write_avx512(float* p, int64_t n, float v) {
  __m512 x = _mm512_set1_ps(v);
  for (int64_t i = 0; i < n; i += 16) _mm512_stream_ps(p + i, x);
  _mm_sfence();
}

__attribute__((target("avx2"))) float read_avx2(const float* p, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t i = 0; i < n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_load_ps(p + i));
    s1 = _mm256_add_ps(s1, _mm256_load_ps(p + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_load_ps(p + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_load_ps(p + i + 24));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  float total = 0.0f;
  for (float x : lanes) total += x;
  return total;
}

__attribute__((target("avx2"))) void write_avx2(float* p, int64_t n, float v) {
  __m256 x = _mm256_set1_ps(v);
  for (int64_t i = 0; i < n; i += 8) _mm256_stream_ps(p + i, x);
  _mm_sfence();
}

float read_sse(const float* p, int64_t n) {
  __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t i = 0; i < n; i += 16) {
    s0 = _mm_add_ps(s0, _mm_load_ps(p + i));
    s1 = _mm_add_ps(s1, _mm_load_ps(p + i + 4));
    s2 = _mm_add_ps(s2, _mm_load_ps(p + i + 8));
    s3 = _mm_add_ps(s3, _mm_load_ps(p + i + 12));
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, _mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

void write_sse(float* p, int64_t n, float v) {
  __m128 x = _mm_set1_ps(v);
  for (int64_t i = 0; i < n; i += 4) _mm_stream_ps(p + i, x);
  _mm_sfence();
}

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};

void bench_membw(const hdbench::Options& opt, std::vector<hdbench::Record>& out) {
  const int64_t bytes = opt.quick ? (int64_t{64} << 20) : (int64_t{512} << 20);
  const int64_t n = bytes / int64_t(sizeof(float));
  std::unique_ptr<float, AlignedFree> buf(static_cast<float*>(std::aligned_alloc(64, bytes)));
  if (!buf) throw std::bad_alloc();
  float* p = buf.get();
  std::memset(p, 0, bytes);  // fault every page in before timing

  hk::Isa isa = hk::detected_isa();
  auto read = isa >= hk::Isa::avx512f ? &read_avx512 : isa == hk::Isa::avx2 ? &read_avx2 : &read_sse;
  auto write = isa >= hk::Isa::avx512f ? &write_avx512 : isa == hk::Isa::avx2 ? &write_avx2 : &write_sse;
  for (int nt : opt.threads) {
    oneapi::tbb::task_arena arena(nt);
    // Static split on 64-float (256-byte) boundaries: every part stays aligned.
    const int64_t blocks = n / 64, step = (blocks + nt - 1) / nt;
    auto part = [&](int i, int64_t& b, int64_t& e) {
      b = std::min(blocks, i * step) * 64;
      e = std::min(blocks, (i + 1) * step) * 64;
    };
    float sink = 0.0f;
    double rs = hdbench::best_seconds(opt.repeat, [&] {
      float parts[64] = {0};
      arena.execute([&] {
        oneapi::tbb::parallel_for(0, nt, [&](int i) {
          int64_t b, e;
          part(i, b, e);
          parts[i % 64] = read(p + b, e - b);
        });
      });
      for (float x : parts) sink += x;
    });
    hdbench::keep(sink);
    double ws = hdbench::best_seconds(opt.repeat, [&] {
      arena.execute([&] {
        oneapi::tbb::parallel_for(0, nt, [&](int i) {
          int64_t b, e;
          part(i, b, e);
          write(p + b, e - b, 1.0f);
        });
      });
    });
    const char* isa_name = hk::isa_name(isa);
    out.push_back({"memory_read", {{"isa", isa_name}},
                   {{"bytes", double(bytes)}, {"threads", double(nt)}, {"seconds", rs}, {"gbps", bytes / rs / 1e9}}});
    out.push_back({"memory_write_nt", {{"isa", isa_name}},
                   {{"bytes", double(bytes)}, {"threads", double(nt)}, {"seconds", ws}, {"gbps", bytes / ws / 1e9}}});
  }
}

hdbench::Register reg("memory_bandwidth", &bench_membw);

}  // namespace
