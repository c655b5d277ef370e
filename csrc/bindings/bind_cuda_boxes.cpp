// iou_xyxy on the GPU, taking and returning host arrays (one-off use and tests).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "arrays.hpp"
#include "mctrt/boxes.hpp"
#include "mctrt/cuda/iou.hpp"

namespace mctrt::bindings {

void bind_cuda_boxes(py::module_& m) {
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
          cuda::iou_matrix_host(a.data(), n, b.data(), m, dst);
        }
        return out;
      },
      py::arg("a"), py::arg("b"),
      "Same as mctrt.iou_xyxy, computed by a CUDA kernel. Raises mctrt.errors.CudaError without a usable GPU.");
}

}  // namespace mctrt::bindings
