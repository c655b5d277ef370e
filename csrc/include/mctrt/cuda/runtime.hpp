// What the CUDA runtime and driver say about this machine, without ever failing: mctrt.info and
// the backend choice need an answer and a reason, not an exception.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace mctrt::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  std::size_t total_memory_bytes = 0;
};

struct RuntimeStatus {
  int runtime_version = 0;  // CUDA runtime this module was built with, e.g. 13000
  int driver_version = 0;   // highest CUDA version the installed driver supports; 0 without a driver
  std::vector<DeviceInfo> devices;
  std::string error;  // why there are no devices, empty when there are
};

RuntimeStatus runtime_status();

// The CUDA runtime version this module was compiled against (CUDART_VERSION), e.g. 13000.
int built_runtime_version();

}  // namespace mctrt::cuda
