// harpdaal_cpp_bench: the machine's limits (sgemm GFLOP/s, memory bandwidth) and harpdaal's
// kernels against them, printed as one JSON document on stdout.
//   harpdaal_cpp_bench [--quick] [--only SUBSTR] [--repeat N] [--threads 1,2]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>

#include <oneapi/tbb/info.h>
#include <oneapi/tbb/version.h>

#include "bench.hpp"
#include "kernels/common/isa.hpp"
#include "mkl.h"

namespace hdbench {
std::vector<Bench>& registry() {
  static std::vector<Bench> list;
  return list;
}
}  // namespace hdbench

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!(v == v) || v > 1e300 || v < -1e300) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

int usage(const char* why) {
  std::fprintf(stderr, "harpdaal_cpp_bench: %s\nusage: harpdaal_cpp_bench [--quick] [--only SUBSTR] "
               "[--repeat N] [--threads 1,2]\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  namespace hk = harpdaal::kernels;
  hdbench::Options opt;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      opt.quick = true;
      opt.repeat = 2;
    } else if ((a == "--only" || a == "--repeat" || a == "--threads") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--only") {
        only = v;
      } else if (a == "--repeat") {
        opt.repeat = std::atoi(v.c_str());
        if (opt.repeat < 1) return usage("--repeat must be >= 1");
      } else {
        opt.threads.clear();
        std::stringstream ss(v);
        for (std::string item; std::getline(ss, item, ',');) {
          int t = std::atoi(item.c_str());
          if (t < 1) return usage("--threads must be a list of integers >= 1");
          opt.threads.push_back(t);
        }
        if (opt.threads.empty()) return usage("--threads must not be empty");
      }
    } else {
      return usage(("unknown or incomplete argument: " + a).c_str());
    }
  }

  char mkl_version[256] = {0};
  mkl_get_version_string(mkl_version, sizeof mkl_version);
  std::vector<hdbench::Record> records;
  std::vector<std::string> errors;
  for (const auto& b : hdbench::registry()) {
    if (!only.empty() && b.name.find(only) == std::string::npos) continue;
    std::fprintf(stderr, "running %s ...\n", b.name.c_str());
    try {
      b.fn(opt, records);
    } catch (const std::exception& e) {
      errors.push_back(b.name + ": " + e.what());
    }
  }

  std::printf("{\n \"schema\": \"harpdaal-cpp-bench/1\",\n \"quick\": %s,\n \"repeat\": %d,\n",
              opt.quick ? "true" : "false", opt.repeat);
  std::printf(" \"machine\": {\"isa_detected\": %s, \"mkl\": %s, \"tbb\": %s, \"tbb_default_concurrency\": %d},\n",
              json_string(hk::isa_name(hk::detected_isa())).c_str(), json_string(mkl_version).c_str(),
              json_string(TBB_VERSION_STRING).c_str(), oneapi::tbb::info::default_concurrency());
  std::printf(" \"note\": %s,\n",
              json_string("times are the best of `repeat`; numpy's own BLAS (OpenBLAS) sgemm is "
                          "measured from Python: harpdaal bench records it under limits.numpy_sgemm")
                  .c_str());
  std::printf(" \"results\": [");
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    std::printf("%s\n  {\"bench\": %s", i ? "," : "", json_string(r.bench).c_str());
    for (const auto& [k, v] : r.labels) std::printf(", %s: %s", json_string(k).c_str(), json_string(v).c_str());
    for (const auto& [k, v] : r.fields) std::printf(", %s: %s", json_string(k).c_str(), json_number(v).c_str());
    std::printf("}");
  }
  std::printf("\n ],\n \"errors\": [");
  for (size_t i = 0; i < errors.size(); ++i)
    std::printf("%s%s", i ? ", " : "", json_string(errors[i]).c_str());
  std::printf("]\n}\n");
  return errors.empty() ? 0 : 1;
}
