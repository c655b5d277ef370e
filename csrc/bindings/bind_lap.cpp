// lapjv: linear assignment on a dense cost matrix.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <limits>

#include "arrays.hpp"
#include "mctrt/lapjv.hpp"

namespace mctrt::bindings {
namespace {

template <typename T>
py::tuple solve(const py::array_t<T, py::array::c_style>& cost, double cost_limit) {
  const std::size_t n = std::size_t(cost.shape(0)), m = std::size_t(cost.shape(1));
  py::array_t<std::int64_t> row_to_col{py::ssize_t(n)}, col_to_row{py::ssize_t(m)};
  std::int64_t* r2c = row_to_col.mutable_data();
  std::int64_t* c2r = col_to_row.mutable_data();
  {
    py::gil_scoped_release release;
    thread_local LapSolver solver;  // keeps its scratch between calls; one per thread since the GIL is released
    solver.solve(cost.data(), n, m, cost_limit, r2c, c2r);
  }
  return py::make_tuple(row_to_col, col_to_row);
}

}  // namespace

void bind_lap(py::module_& m) {
  m.def(
      "lapjv",
      [](const py::handle& cost_obj, double cost_limit) -> py::tuple {
        if (py::isinstance<py::array>(cost_obj)) {
          const auto arr = py::reinterpret_borrow<py::array>(cost_obj);
          if (arr.dtype().equal(py::dtype::of<float>()))
            return solve(require_array<float>(arr, "cost", {-1, -1}, "(N, M)"), cost_limit);
          if (arr.dtype().equal(py::dtype::of<double>()))
            return solve(require_array<double>(arr, "cost", {-1, -1}, "(N, M)"), cost_limit);
          const char kind = arr.dtype().kind();
          if (kind == 'f' || kind == 'i' || kind == 'u')  // other real dtypes: solved in float64, as scipy does
            return solve(require_array<double>(arr.attr("astype")("float64"), "cost", {-1, -1}, "(N, M)"),
                         cost_limit);
        }
        throw py::value_error("cost must be a real-valued (float or integer) numpy array of shape (N, M); got " +
                              describe(cost_obj) + ". Convert with np.asarray(cost, dtype=np.float64)");
      },
      py::arg("cost"), py::arg("cost_limit") = std::numeric_limits<double>::infinity(),
      R"doc(Minimum-cost assignment of rows to columns (Jonker-Volgenant).

cost: (N, M) float32 or float64 (integers are taken as float64). Without a limit, min(N, M) pairs are
matched and the total cost equals scipy.optimize.linear_sum_assignment's. With a finite cost_limit,
leaving a row or a column unmatched costs cost_limit / 2, so pairs cost at or above the limit are
never matched and +inf entries are allowed (they mark forbidden pairs).

Returns (row_to_col (N,) int64, col_to_row (M,) int64), -1 where unmatched.
Raises ValueError on a wrong shape or dtype, NaN, -inf, or +inf without a finite cost_limit.)doc");
}

}  // namespace mctrt::bindings
