// Dense IoU matrix between two sets of xyxy boxes (the CPU reference for the CUDA kernel).
#pragma once

#include <cstddef>

namespace mctrt {

// a: (n, 4) xyxy, b: (m, 4) xyxy, out: (n, m) row-major. Boxes are not validated here.
template <typename T>
void iou_matrix(const T* a, std::size_t n, const T* b, std::size_t m, T* out);

}  // namespace mctrt
