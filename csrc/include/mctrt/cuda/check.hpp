// Checked CUDA calls: every runtime call and kernel launch goes through MCTRT_CUDA_CHECK, which
// throws mctrt::CudaError naming the file, the line, the call and CUDA's own message.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "mctrt/errors.hpp"

namespace mctrt::cuda {

inline void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw CudaError(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: " +
                  cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

}  // namespace mctrt::cuda

#define MCTRT_CUDA_CHECK(call) ::mctrt::cuda::check((call), #call, __FILE__, __LINE__)
// After a <<<...>>> launch: reports bad launch configurations at once, not at the next sync.
#define MCTRT_CUDA_CHECK_LAUNCH() ::mctrt::cuda::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
