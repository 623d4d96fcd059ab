// The harpdaal._core module: build information, ISA control and the registered submodules.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <mkl.h>
#include <memory>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/version.h>

#include "arrays.hpp"
#include "kernels/common/isa.hpp"

namespace py = pybind11;
namespace hk = harpdaal::kernels;

namespace harpdaal::bindings {
std::vector<std::pair<int, Registrar>>& registrars() {
  static std::vector<std::pair<int, Registrar>> list;
  return list;
}
}  // namespace harpdaal::bindings

namespace {

py::dict build_info() {
  py::dict d;
  d["version"] = HARPDAAL_VERSION;
#if defined(__clang__)
  d["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  d["compiler"] = std::string("gcc ") + __VERSION__;
#endif
  MKLVersion v;
  mkl_get_version(&v);
  d["mkl_version"] = std::to_string(v.MajorVersion) + "." + std::to_string(v.MinorVersion) +
                     "." + std::to_string(v.UpdateVersion);
  d["mkl_build"] = std::string(v.Build);
  d["mkl_cpu"] = std::string(v.Processor ? v.Processor : "");
  d["mkl_threading"] = "sequential (static link; harpdaal threads with oneTBB)";
  d["tbb_version"] = std::string(TBB_runtime_version());
  d["tbb_interface_version"] = TBB_runtime_interface_version();
  d["tbb_default_concurrency"] = oneapi::tbb::info::default_concurrency();
  d["isa_detected"] = hk::isa_name(hk::detected_isa());
  d["isa_active"] = hk::isa_name(hk::active_isa());
  return d;
}

// The process-wide cap harpdaal.set_thread_limit() installs (none while null).
std::unique_ptr<oneapi::tbb::global_control>& thread_cap() {
  static std::unique_ptr<oneapi::tbb::global_control> cap;
  return cap;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "harpdaal native kernels (see harpdaal.show_config())";
  m.def("build_info", &build_info, "Versions of harpdaal, MKL and oneTBB, and the ISA levels.");
  m.def("detected_isa", [] { return std::string(hk::isa_name(hk::detected_isa())); },
        "Highest ISA level this CPU can run: 'avx512', 'avx512f', 'avx2' or 'generic'.");
  m.def("active_isa", [] { return std::string(hk::isa_name(hk::active_isa())); },
        "ISA level the kernels currently dispatch to.");
  m.def("set_isa",
        [](const std::string& name) {
          try {
            hk::set_isa(name);
          } catch (const std::invalid_argument& e) {
            throw py::value_error(e.what());
          } catch (const std::runtime_error& e) {
            throw py::value_error(e.what());
          }
        },
        py::arg("isa"), "Force the ISA level ('avx512', 'avx512f', 'avx2', 'generic').");
  m.def("thread_limit",
        [] {
          return oneapi::tbb::global_control::active_value(
              oneapi::tbb::global_control::max_allowed_parallelism);
        },
        "oneTBB's process-wide thread limit now in force (another library in the process, such "
        "as daal4py.daalinit(), may have lowered it).");
  m.def("set_thread_limit",
        [](int n) {
          if (n < 0) throw py::value_error("set_thread_limit: n must be >= 0 (0 removes the cap)");
          thread_cap().reset();
          if (n > 0)
            thread_cap() = std::make_unique<oneapi::tbb::global_control>(
                oneapi::tbb::global_control::max_allowed_parallelism, static_cast<size_t>(n));
        },
        py::arg("n"), "Cap oneTBB's threads process-wide at n (0 removes harpdaal's cap).");
  auto& regs = harpdaal::bindings::registrars();
  std::sort(regs.begin(), regs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& r : regs) r.second(m);
}
