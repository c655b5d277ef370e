// lapjv: linear assignment on a dense cost matrix.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <limits>
#include <string>
#include <vector>

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

  m.def(
      "lapjv_sparse",
      [](const py::handle& rows_obj, const py::handle& cols_obj, const py::handle& costs_obj, std::size_t n_rows,
         std::size_t n_cols, double cost_limit) -> py::tuple {
        const auto rows = require_array<std::int64_t>(rows_obj, "rows", {-1}, "(K,)");
        const auto cols = require_array<std::int64_t>(cols_obj, "cols", {-1}, "(K,)");
        const auto costs = require_array<double>(costs_obj, "costs", {-1}, "(K,)");
        const std::size_t k = std::size_t(rows.shape(0));
        if (std::size_t(cols.shape(0)) != k || std::size_t(costs.shape(0)) != k)
          throw py::value_error("rows, cols and costs must have the same length");
        std::vector<LapEntry> entries(k);
        for (std::size_t e = 0; e < k; ++e) {
          const std::int64_t r = rows.data()[e], c = cols.data()[e];
          if (r < 0 || c < 0 || std::size_t(r) >= n_rows || std::size_t(c) >= n_cols)
            throw py::value_error("entry " + std::to_string(e) + " = (" + std::to_string(r) + ", " +
                                  std::to_string(c) + ") is outside the " + std::to_string(n_rows) + " x " +
                                  std::to_string(n_cols) + " problem");
          entries[e] = {std::uint32_t(r), std::uint32_t(c), costs.data()[e]};
        }
        py::array_t<std::int64_t> row_to_col{py::ssize_t(n_rows)}, col_to_row{py::ssize_t(n_cols)};
        std::int64_t* r2c = row_to_col.mutable_data();
        std::int64_t* c2r = col_to_row.mutable_data();
        {
          py::gil_scoped_release release;
          thread_local LapSolver solver;
          solver.solve_sparse(n_rows, n_cols, entries, cost_limit, r2c, c2r);
        }
        return py::make_tuple(row_to_col, col_to_row);
      },
      py::arg("rows"), py::arg("cols"), py::arg("costs"), py::arg("n_rows"), py::arg("n_cols"), py::arg("cost_limit"),
      R"doc(lapjv with a finite cost_limit on a sparse problem: only the listed (rows[k], cols[k]) pairs, at
costs[k], can be matched; every other pair costs at least the limit. Solved component by component.
rows, cols: (K,) int64; costs: (K,) float64. Returns (row_to_col (n_rows,), col_to_row (n_cols,)).)doc");
}

}  // namespace mctrt::bindings
