// Device discovery for mctrt.info: every CUDA error becomes a reason string, never an exception.
#include <cuda_runtime.h>

#include <string>

#include "mctrt/cuda/runtime.hpp"

namespace mctrt::cuda {

int built_runtime_version() { return CUDART_VERSION; }

RuntimeStatus runtime_status() {
  RuntimeStatus status;
  status.runtime_version = built_runtime_version();
  if (cudaDriverGetVersion(&status.driver_version) != cudaSuccess) status.driver_version = 0;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    status.error = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    cudaGetLastError();  // reset the runtime's last error so later calls start clean
    return status;
  }
  if (count == 0) status.error = "the CUDA driver reports no devices";
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) continue;
    status.devices.push_back({d, prop.name, prop.major, prop.minor, prop.totalGlobalMem});
  }
  return status;
}

}  // namespace mctrt::cuda
