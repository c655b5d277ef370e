// iou_xyxy on the GPU, taking and returning host arrays (one-off use and tests).
#include <pybind11/pybind11.h>

#include "iou_call.hpp"
#include "mctrt/cuda/iou.hpp"

namespace mctrt::bindings {

void bind_cuda_boxes(py::module_& m) {
  m.def(
      "iou_xyxy",
      [](const py::handle& a, const py::handle& b) { return iou_xyxy_call(a, b, cuda::iou_matrix_host); },
      py::arg("a"), py::arg("b"),
      "Same as mctrt.iou_xyxy, computed by a CUDA kernel. Raises mctrt.errors.CudaError without a usable GPU.");
}

}  // namespace mctrt::bindings
