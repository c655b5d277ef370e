// IoU matrix on the CPU: the fallback path and the reference for the CUDA kernel.
#include "mctrt/iou.hpp"

#include "mctrt/boxes.hpp"

namespace mctrt {

template <typename T>
void iou_matrix(const T* a, std::size_t n, const T* b, std::size_t m, T* out) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < m; ++j) out[i * m + j] = iou_pair(a + 4 * i, b + 4 * j);
}

template void iou_matrix<float>(const float*, std::size_t, const float*, std::size_t, float*);
template void iou_matrix<double>(const double*, std::size_t, const double*, std::size_t, double*);

}  // namespace mctrt
