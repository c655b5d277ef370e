// iou_xyxy: the IoU matrix between two sets of boxes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "arrays.hpp"
#include "mctrt/boxes.hpp"
#include "mctrt/iou.hpp"

namespace mctrt::bindings {

void bind_boxes(py::module_& m) {
  m.def(
      "iou_xyxy",
      [](const py::handle& a_obj, const py::handle& b_obj) {
        const auto a = require_array<float>(a_obj, "a", {-1, 4}, "(N, 4)");
        const auto b = require_array<float>(b_obj, "b", {-1, 4}, "(M, 4)");
        const std::size_t n = std::size_t(a.shape(0)), m = std::size_t(b.shape(0));
        check_xyxy(a.data(), n, "a");
        check_xyxy(b.data(), m, "b");
        py::array_t<float> out({py::ssize_t(n), py::ssize_t(m)});
        float* dst = out.mutable_data();
        {
          py::gil_scoped_release release;
          iou_matrix(a.data(), n, b.data(), m, dst);
        }
        return out;
      },
      py::arg("a"), py::arg("b"),
      R"doc(IoU of every box in `a` with every box in `b`.

a: (N, 4) float32 xyxy; b: (M, 4) float32 xyxy. Returns (N, M) float32; 0 where boxes do not overlap
or have no area. Raises ValueError on a wrong shape or dtype, a non-finite value or an inverted box.)doc");
}

}  // namespace mctrt::bindings
