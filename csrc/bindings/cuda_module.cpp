// mctrt._cuda: CUDA kernels, built only when a CUDA compiler is found. Importing it never touches a
// GPU (the runtime is linked statically and loads the driver on first use), so it imports on a
// machine without one; runtime_status() then says why there is no device.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "errors.hpp"
#include "mctrt/cuda/runtime.hpp"

namespace py = pybind11;

namespace mctrt::bindings {
void bind_cuda_boxes(py::module_& m);
void bind_cuda_detection(py::module_& m);
}  // namespace mctrt::bindings

#ifndef MCTRT_CUDA_ARCHITECTURES
#define MCTRT_CUDA_ARCHITECTURES "unknown"
#endif

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "mctrt's CUDA kernels.";
  mctrt::bindings::register_error_translators();
  mctrt::bindings::bind_cuda_boxes(m);
  mctrt::bindings::bind_cuda_detection(m);
  m.def(
      "runtime_status",
      [] {
        mctrt::cuda::RuntimeStatus status;
        {
          py::gil_scoped_release release;  // the first CUDA call may take a while to load the driver
          status = mctrt::cuda::runtime_status();
        }
        py::list devices;
        for (const auto& d : status.devices) {
          py::dict dev;
          dev["index"] = d.index;
          dev["name"] = d.name;
          dev["compute_capability"] = std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor);
          dev["total_memory_bytes"] = d.total_memory_bytes;
          devices.append(dev);
        }
        py::dict out;
        out["runtime_version"] = status.runtime_version;
        out["driver_version"] = status.driver_version;
        out["devices"] = devices;
        out["error"] = status.error;
        return out;
      },
      "CUDA runtime and driver versions, the visible devices, and why there are none (never raises).");
  m.def(
      "build_info",
      [] {
        py::dict info;
        info["cuda_runtime_version"] = mctrt::cuda::built_runtime_version();
        info["architectures"] = MCTRT_CUDA_ARCHITECTURES;
        return info;
      },
      "How this module was compiled: CUDA version and the GPU architectures it holds code for.");
}
