// iou_xyxy: the IoU matrix between two sets of boxes.
#include <pybind11/pybind11.h>

#include "iou_call.hpp"
#include "mctrt/iou.hpp"

namespace mctrt::bindings {

void bind_boxes(py::module_& m) {
  m.def(
      "iou_xyxy",
      [](const py::handle& a, const py::handle& b) { return iou_xyxy_call(a, b, iou_matrix<float>); },
      py::arg("a"), py::arg("b"),
      R"doc(IoU of every box in `a` with every box in `b`.

a: (N, 4) float32 xyxy; b: (M, 4) float32 xyxy. Returns (N, M) float32; 0 where boxes do not overlap
or have no area. Raises ValueError on a wrong shape or dtype, a non-finite value or an inverted box.)doc");
}

}  // namespace mctrt::bindings
