// Runtime instruction-set dispatch: detected once, overridable by HARPDAAL_ISA or set_isa().
#pragma once
#include <string>

namespace harpdaal::kernels {

enum class Isa : int { generic = 0, avx2 = 1, avx512 = 2 };

// Highest level this CPU (and OS, via XCR0) can run.
Isa detected_isa();
// Level the kernels dispatch to; starts as HARPDAAL_ISA if set (validated) else detected_isa().
Isa active_isa();
// Force a level. Throws std::invalid_argument for an unknown name and std::runtime_error when
// the CPU cannot run the requested level.
void set_isa(Isa isa);
void set_isa(const std::string& name);
const char* isa_name(Isa isa);
Isa parse_isa(const std::string& name);

// Pick the implementation for the active level; call once per kernel entry, never in a loop.
template <class Fn>
Fn dispatch(Fn generic, Fn avx2, Fn avx512) {
  switch (active_isa()) {
    case Isa::avx512: return avx512;
    case Isa::avx2: return avx2;
    default: return generic;
  }
}

}  // namespace harpdaal::kernels
