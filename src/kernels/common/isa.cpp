#include "kernels/common/isa.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace harpdaal::kernels {
namespace {

Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // __builtin_cpu_supports checks CPUID and the OS-enabled state (XCR0) for AVX/AVX-512.
  const bool f = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                 __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (f && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2"))
    return Isa::avx512;
  if (f) return Isa::avx512f;  // Knights Landing: F/CD (and ER/PF, unused) without BW/DQ/VL
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("bmi2"))
    return Isa::avx2;
#endif
  return Isa::generic;
}

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{-1};
  return slot;
}

}  // namespace

bool cpu_is_intel() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_is("intel");
#else
  return false;
#endif
}

bool intel_path(const char* env, const char* intel_name, const char* other_name) {
  const char* value = std::getenv(env);
  if (value && std::string(value) == intel_name) return true;
  if (value && std::string(value) == other_name) return false;
  return cpu_is_intel();
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx512f: return "avx512f";
    case Isa::avx2: return "avx2";
    default: return "generic";
  }
}

Isa parse_isa(const std::string& name) {
  if (name == "avx512") return Isa::avx512;
  if (name == "avx512f") return Isa::avx512f;
  if (name == "avx2") return Isa::avx2;
  if (name == "generic") return Isa::generic;
  throw std::invalid_argument("unknown ISA '" + name +
                              "': expected one of avx512, avx512f, avx2, generic");
}

Isa detected_isa() {
  static const Isa isa = detect();
  return isa;
}

void set_isa(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(detected_isa()))
    throw std::runtime_error(std::string("ISA '") + isa_name(isa) +
                             "' was requested but this CPU supports at most '" +
                             isa_name(detected_isa()) + "'");
  active_slot().store(static_cast<int>(isa));
}

void set_isa(const std::string& name) { set_isa(parse_isa(name)); }

Isa active_isa() {
  int v = active_slot().load(std::memory_order_relaxed);
  if (v >= 0) return static_cast<Isa>(v);
  // First use: honour HARPDAAL_ISA, falling back to the detected level. The Python layer
  // validates the variable at import so that a bad value is an error, not a silent fallback.
  Isa chosen = detected_isa();
  if (const char* env = std::getenv("HARPDAAL_ISA"); env && *env) {
    try {
      Isa req = parse_isa(env);
      if (static_cast<int>(req) <= static_cast<int>(detected_isa())) chosen = req;
    } catch (const std::invalid_argument&) {
    }
  }
  int expected = -1;
  active_slot().compare_exchange_strong(expected, static_cast<int>(chosen));
  return static_cast<Isa>(active_slot().load());
}

}  // namespace harpdaal::kernels
