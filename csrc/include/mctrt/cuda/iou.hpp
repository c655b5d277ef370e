// IoU matrix on the GPU; equals mctrt::iou_matrix (iou.hpp) on the same boxes.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

namespace mctrt::cuda {

// Device pointers: a (n, 4) xyxy, b (m, 4) xyxy, out (n, m). Enqueued on `stream`, not synchronised.
void iou_matrix_async(const float* a, std::size_t n, const float* b, std::size_t m, float* out, cudaStream_t stream);

// Host pointers: copies in, runs on a private stream, copies out and waits. Allocates per call;
// meant for tests and one-off use, not a per-frame loop.
void iou_matrix_host(const float* a, std::size_t n, const float* b, std::size_t m, float* out);

}  // namespace mctrt::cuda
