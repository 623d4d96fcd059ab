// A minimal self-registering C++ test harness (no dependency): HD_TEST(name) { HD_CHECK(...); }
// The binary prints one line per test and a closing "N passed, M failed" line.
#pragma once
#include <cmath>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hdtest {

struct Case {
  std::string name;
  std::function<void()> fn;
};
std::vector<Case>& cases();
struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { cases().push_back({name, std::move(fn)}); }
};
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace hdtest

#define HD_CONCAT2(a, b) a##b
#define HD_CONCAT(a, b) HD_CONCAT2(a, b)
#define HD_TEST(name)                                                        \
  static void name();                                                        \
  static hdtest::Registrar HD_CONCAT(hd_reg_, name)(#name, &name);           \
  static void name()

#define HD_CHECK(cond)                                                                       \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::ostringstream hd_os;                                                              \
      hd_os << __FILE__ << ":" << __LINE__ << ": check failed: " #cond;                      \
      throw hdtest::Failure(hd_os.str());                                                    \
    }                                                                                        \
  } while (0)

#define HD_CHECK_NEAR(a, b, tol)                                                             \
  do {                                                                                       \
    double hd_a = static_cast<double>(a), hd_b = static_cast<double>(b);                     \
    if (!(std::fabs(hd_a - hd_b) <= (tol) * (1.0 + std::fabs(hd_b)))) {                      \
      std::ostringstream hd_os;                                                              \
      hd_os << __FILE__ << ":" << __LINE__ << ": " #a " = " << hd_a << " vs " #b " = " << hd_b \
            << " (tol " << (tol) << ")";                                                     \
      throw hdtest::Failure(hd_os.str());                                                    \
    }                                                                                        \
  } while (0)

#define HD_CHECK_THROWS(expr, exc_type)                                                      \
  do {                                                                                       \
    bool hd_thrown = false;                                                                  \
    try {                                                                                    \
      expr;                                                                                  \
    } catch (const exc_type&) {                                                              \
      hd_thrown = true;                                                                      \
    }                                                                                        \
    if (!hd_thrown) throw hdtest::Failure(std::string(__FILE__) + ": expected " #exc_type); \
  } while (0)
