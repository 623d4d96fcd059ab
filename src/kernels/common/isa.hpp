// Runtime instruction-set dispatch: detected once, overridable by HARPDAAL_ISA or set_isa().
#pragma once
#include <string>

namespace harpdaal::kernels {

// Levels, lowest first (each one runs on every CPU that runs a higher one):
//   generic  baseline x86-64 (the compiler's default flags)
//   avx2     AVX2 + FMA + BMI2 (Haswell and later)
//   avx512f  AVX-512 F + CD only, with AVX2 + FMA (Knights Landing): no BW/DQ/VL instructions
//   avx512   AVX-512 F/CD/BW/DQ/VL + BMI2 (Skylake-SP and later)
enum class Isa : int { generic = 0, avx2 = 1, avx512f = 2, avx512 = 3 };

// Highest level this CPU (and OS, via XCR0) can run.
Isa detected_isa();
// Level the kernels dispatch to; starts as HARPDAAL_ISA if set (validated) else detected_isa().
Isa active_isa();
// Force a level. Throws std::invalid_argument for an unknown name and std::runtime_error when
// the CPU cannot run the requested level.
void set_isa(Isa isa);
void set_isa(const std::string& name);
const char* isa_name(Isa isa);
// True on a GenuineIntel CPU: where MKL runs its own AVX-512/AVX2 code. On other vendors the
// statically linked MKL takes a generic path (sgemm at about half of OpenBLAS's speed on AMD
// Zen 4), so kernels that call MKL for small dense products use their own tiles there.
bool cpu_is_intel();
// A kernel's choice between its path measured fastest on Intel CPUs (true) and the one measured
// fastest elsewhere (false): the environment variable `env` set to `intel_name` or `other_name`
// forces it, else cpu_is_intel(). Read it once (a function-local static) per kernel family.
bool intel_path(const char* env, const char* intel_name, const char* other_name);
Isa parse_isa(const std::string& name);

// The one dispatch of every kernel: pick the implementation for the active level, one per level
// in the order of Isa. Call once per kernel entry, never in a loop. A kernel family with no
// avx512f body of its own passes its avx2 one there (and says so where it dispatches).
template <class Fn>
Fn dispatch(Fn generic, Fn avx2, Fn avx512f, Fn avx512) {
  switch (active_isa()) {
    case Isa::avx512: return avx512;
    case Isa::avx512f: return avx512f;
    case Isa::avx2: return avx2;
    default: return generic;
  }
}

}  // namespace harpdaal::kernels
