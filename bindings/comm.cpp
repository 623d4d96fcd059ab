// Bindings of the comm helpers (src/comm): packing, combiners, regroup plans, ring schedules.
// Arrays are checked like every kernel argument (exact dtype, C-contiguous, never copied); the
// partitions handed to pack/unpack/combine may have any shape, so their check is dtype-generic.
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "arrays.hpp"
#include "comm/combine.hpp"
#include "comm/pack.hpp"
#include "comm/schedule.hpp"

namespace py = pybind11;
using namespace harpdaal::bindings;
namespace hc = harpdaal::comm;

namespace {

// A C-contiguous ndarray of any dtype and shape (a partition), checked like checked_array.
py::array contiguous_array(const py::handle& obj, const std::string& name, bool writable) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(name + ": expected a numpy.ndarray, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  auto arr = py::reinterpret_borrow<py::array>(obj);
  if (!(arr.flags() & py::array::c_style))
    throw py::value_error(name + ": array is not C-contiguous (pass numpy.ascontiguousarray(...) once)");
  if (writable && !arr.writeable()) throw py::value_error(name + ": output array is read-only");
  return arr;
}

std::vector<py::array> partition_list(const py::sequence& parts, const char* name, bool writable) {
  std::vector<py::array> out;
  out.reserve(parts.size());
  for (size_t i = 0; i < parts.size(); ++i)
    out.push_back(contiguous_array(parts[i], std::string(name) + "[" + std::to_string(i) + "]",
                                   writable));
  return out;
}

int64_t packed_offsets(const py::handle& nbytes_obj, const py::handle& offsets_obj) {
  auto nbytes = checked_array<int64_t>(nbytes_obj, "nbytes", {any_dim});
  auto offsets = checked_array<int64_t>(offsets_obj, "offsets", {nbytes.shape(0) + 1}, true);
  return hc::packed_offsets(in_ptr(nbytes), nbytes.shape(0), out_ptr(offsets));
}

void check_layout(const std::vector<py::array>& parts, const int64_t* offsets, int64_t buf_bytes,
                  const char* name) {
  for (size_t i = 0; i < parts.size(); ++i) {
    int64_t room = offsets[i + 1] - offsets[i];
    if (offsets[i] < 0 || room < static_cast<int64_t>(parts[i].nbytes()) ||
        offsets[i + 1] > buf_bytes)
      throw py::value_error(std::string(name) + "[" + std::to_string(i) + "]: " +
                            std::to_string(parts[i].nbytes()) +
                            " bytes do not fit its slot in the buffer (offsets[" +
                            std::to_string(i) + "]=" + std::to_string(offsets[i]) + ", buffer " +
                            std::to_string(buf_bytes) + " bytes)");
  }
}

void pack(const py::sequence& parts_obj, const py::handle& offsets_obj,
          const py::handle& buffer_obj, int n_threads) {
  auto parts = partition_list(parts_obj, "parts", false);
  auto n = static_cast<int64_t>(parts.size());
  auto offsets = checked_array<int64_t>(offsets_obj, "offsets", {n + 1});
  auto buffer = checked_array<uint8_t>(buffer_obj, "buffer", {any_dim}, true);
  check_layout(parts, in_ptr(offsets), buffer.shape(0), "parts");
  std::vector<const void*> ptrs(parts.size());
  std::vector<int64_t> sizes(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    ptrs[i] = parts[i].data();
    sizes[i] = parts[i].nbytes();
  }
  const int64_t* op = in_ptr(offsets);
  uint8_t* bp = out_ptr(buffer);
  py::gil_scoped_release nogil;
  hc::pack(ptrs.data(), sizes.data(), n, op, bp, n_threads);
}

void unpack(const py::handle& buffer_obj, const py::handle& offsets_obj,
            const py::sequence& parts_obj, int n_threads) {
  auto parts = partition_list(parts_obj, "parts", true);
  auto n = static_cast<int64_t>(parts.size());
  auto buffer = checked_array<uint8_t>(buffer_obj, "buffer", {any_dim});
  auto offsets = checked_array<int64_t>(offsets_obj, "offsets", {n + 1});
  check_layout(parts, in_ptr(offsets), buffer.shape(0), "parts");
  std::vector<void*> ptrs(parts.size());
  std::vector<int64_t> sizes(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    ptrs[i] = parts[i].mutable_data();
    sizes[i] = parts[i].nbytes();
  }
  const int64_t* op = in_ptr(offsets);
  const uint8_t* bp = in_ptr(buffer);
  py::gil_scoped_release nogil;
  hc::unpack(bp, op, n, ptrs.data(), sizes.data(), n_threads);
}

template <class T>
void combine_typed(hc::CombineOp op, py::array& dst, const py::array& src, int n_threads) {
  T* d = static_cast<T*>(dst.mutable_data());
  const T* s = static_cast<const T*>(src.data());
  int64_t n = dst.size();
  py::gil_scoped_release nogil;
  hc::combine<T>(op, d, s, n, n_threads);
}

void combine(const py::handle& dst_obj, const py::handle& src_obj, const std::string& op_name,
             int n_threads) {
  hc::CombineOp op = hc::parse_combine_op(op_name);  // invalid_argument -> ValueError
  auto dst = contiguous_array(dst_obj, "dst", true);
  auto src = contiguous_array(src_obj, "src", false);
  if (!dst.dtype().equal(src.dtype()))
    throw py::type_error("src: dtype " + std::string(py::str(src.dtype())) +
                         " differs from dst's " + std::string(py::str(dst.dtype())));
  if (dst.ndim() != src.ndim() || dst.size() != src.size())
    throw py::value_error("src: shape " + shape_str(src) + " differs from dst's " + shape_str(dst));
  for (py::ssize_t i = 0; i < dst.ndim(); ++i)
    if (dst.shape(i) != src.shape(i))
      throw py::value_error("src: shape " + shape_str(src) + " differs from dst's " +
                            shape_str(dst));
  if (dst.dtype().equal(py::dtype::of<float>())) combine_typed<float>(op, dst, src, n_threads);
  else if (dst.dtype().equal(py::dtype::of<double>())) combine_typed<double>(op, dst, src, n_threads);
  else if (dst.dtype().equal(py::dtype::of<int32_t>())) combine_typed<int32_t>(op, dst, src, n_threads);
  else if (dst.dtype().equal(py::dtype::of<int64_t>())) combine_typed<int64_t>(op, dst, src, n_threads);
  else
    throw py::type_error("dst: combiners support float32, float64, int32 and int64, got " +
                         std::string(py::str(dst.dtype())));
}

void default_destinations(const py::handle& ids_obj, int64_t n_ranks, const py::handle& dest_obj) {
  auto ids = checked_array<int64_t>(ids_obj, "ids", {any_dim});
  auto dest = checked_array<int64_t>(dest_obj, "dest", {ids.shape(0)}, true);
  hc::default_destinations(in_ptr(ids), ids.shape(0), n_ranks, out_ptr(dest));
}

void regroup_plan(const py::handle& dest_obj, const py::handle& nbytes_obj, int64_t n_ranks,
                  const py::handle& order_obj, const py::handle& counts_obj,
                  const py::handle& byte_counts_obj, const py::handle& byte_displs_obj) {
  if (n_ranks < 1) throw py::value_error("n_ranks must be >= 1, got " + std::to_string(n_ranks));
  auto dest = checked_array<int64_t>(dest_obj, "dest", {any_dim});
  int64_t n = dest.shape(0);
  auto nbytes = checked_array<int64_t>(nbytes_obj, "nbytes", {n});
  auto order = checked_array<int64_t>(order_obj, "order", {n}, true);
  auto counts = checked_array<int64_t>(counts_obj, "counts", {n_ranks}, true);
  auto bc = checked_array<int64_t>(byte_counts_obj, "byte_counts", {n_ranks}, true);
  auto bd = checked_array<int64_t>(byte_displs_obj, "byte_displs", {n_ranks}, true);
  hc::regroup_plan(in_ptr(dest), in_ptr(nbytes), n, n_ranks, out_ptr(order), out_ptr(counts),
                   out_ptr(bc), out_ptr(bd));
}

void rotation_sources(const py::handle& targets_obj, const py::handle& sources_obj) {
  auto targets = checked_array<int64_t>(targets_obj, "targets", {any_dim});
  auto sources = checked_array<int64_t>(sources_obj, "sources", {targets.shape(0)}, true);
  hc::rotation_sources(in_ptr(targets), targets.shape(0), out_ptr(sources));
}

void ring_targets(int64_t n_ranks, int64_t shift, const py::handle& targets_obj) {
  if (n_ranks < 1) throw py::value_error("n_ranks must be >= 1, got " + std::to_string(n_ranks));
  auto targets = checked_array<int64_t>(targets_obj, "targets", {n_ranks}, true);
  hc::ring_targets(n_ranks, shift, out_ptr(targets));
}

void register_comm(py::module_& m) {
  auto c = m.def_submodule("comm", "local side of the collectives (no MPI)");
  c.attr("pack_alignment") = hc::pack_alignment;
  c.def("packed_offsets", &packed_offsets, py::arg("nbytes"), py::arg("offsets"),
        "offsets[i] = aligned byte offset of partition i, offsets[n] = total; returns the total.");
  c.def("pack", &pack, py::arg("parts"), py::arg("offsets"), py::arg("buffer"),
        py::arg("n_threads") = 0, "Copy each partition into buffer at its offset (uint8 buffer).");
  c.def("unpack", &unpack, py::arg("buffer"), py::arg("offsets"), py::arg("parts"),
        py::arg("n_threads") = 0, "Copy each slot of buffer back into its partition.");
  c.def("combine", &combine, py::arg("dst"), py::arg("src"), py::arg("op"),
        py::arg("n_threads") = 1, "dst = op(dst, src) element-wise; op in 'sum', 'min', 'max'.");
  c.def("default_destinations", &default_destinations, py::arg("ids"), py::arg("n_ranks"),
        py::arg("dest"), "dest = ids mod n_ranks (ids must be >= 0).");
  c.def("regroup_plan", &regroup_plan, py::arg("dest"), py::arg("nbytes"), py::arg("n_ranks"),
        py::arg("order"), py::arg("counts"), py::arg("byte_counts"), py::arg("byte_displs"),
        "Send order grouped by destination, per-rank counts, byte counts and displacements.");
  c.def("rotation_sources", &rotation_sources, py::arg("targets"), py::arg("sources"),
        "Validate that targets is a permutation and write its inverse into sources.");
  c.def("ring_targets", &ring_targets, py::arg("n_ranks"), py::arg("shift"), py::arg("targets"),
        "targets[r] = (r + shift) mod n_ranks.");
}

Register reg(10, &register_comm);

}  // namespace
