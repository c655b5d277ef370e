// The Python contract of iou_xyxy, shared by its CPU (bind_boxes.cpp) and CUDA (bind_cuda_boxes.cpp)
// entry points: two (N, 4) / (M, 4) float32 box arrays in, an (N, M) float32 matrix out, the GIL
// released while `kernel(a, n, b, m, out)` runs.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "arrays.hpp"

namespace mctrt::bindings {

template <typename Kernel>
py::array_t<float> iou_xyxy_call(const py::handle& a_obj, const py::handle& b_obj, Kernel kernel) {
  const auto a = require_boxes(a_obj, "a", "(N, 4)");
  const auto b = require_boxes(b_obj, "b", "(M, 4)");
  const std::size_t n = std::size_t(a.shape(0)), m = std::size_t(b.shape(0));
  py::array_t<float> out({py::ssize_t(n), py::ssize_t(m)});
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    kernel(a.data(), n, b.data(), m, dst);
  }
  return out;
}

}  // namespace mctrt::bindings
