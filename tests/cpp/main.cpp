// Runs every HD_TEST. `--isa LEVEL` forces the dispatch level first (skips if the CPU lacks it),
// `--filter SUBSTR` runs the matching tests only.
#include <cstdio>
#include <cstring>
#include <exception>

#include "harness.hpp"
#include "kernels/common/isa.hpp"

namespace hdtest {
std::vector<Case>& cases() {
  static std::vector<Case> list;
  return list;
}
}  // namespace hdtest

int main(int argc, char** argv) {
  namespace hk = harpdaal::kernels;
  const char* filter = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--isa") == 0) {
      hk::Isa want = hk::parse_isa(argv[i + 1]);
      if (static_cast<int>(want) > static_cast<int>(hk::detected_isa())) {
        std::printf("ISA %s not supported by this CPU: skipped\n0 passed, 0 failed\n", argv[i + 1]);
        return 0;
      }
      hk::set_isa(want);
    } else if (std::strcmp(argv[i], "--filter") == 0) {
      filter = argv[i + 1];
    }
  }
  std::printf("harpdaal C++ tests, ISA %s\n", hk::isa_name(hk::active_isa()));
  int passed = 0, failed = 0;
  for (const auto& c : hdtest::cases()) {
    if (filter && c.name.find(filter) == std::string::npos) continue;
    try {
      c.fn();
      ++passed;
      std::printf("PASS %s\n", c.name.c_str());
    } catch (const std::exception& e) {
      ++failed;
      std::printf("FAIL %s: %s\n", c.name.c_str(), e.what());
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
