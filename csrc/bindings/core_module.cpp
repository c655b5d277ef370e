// mctrt._core: the pure C++ part of mctrt, always built. Python reaches it only through
// mctrt._native; the public API is re-exported by mctrt/__init__.py.
#include <pybind11/pybind11.h>

#include "errors.hpp"
#include "mctrt/preprocess.hpp"

namespace py = pybind11;

namespace mctrt::bindings {
void bind_boxes(py::module_& m);
void bind_detection(py::module_& m);
void bind_reid_preprocess(py::module_& m);
void bind_lap(py::module_& m);
void bind_tracking(py::module_& m);
void bind_floor(py::module_& m);
void bind_slot_map(py::module_& m);
}  // namespace mctrt::bindings

#ifndef MCTRT_VERSION
#define MCTRT_VERSION "0+unknown"
#endif
#ifndef MCTRT_BUILD_TYPE
#define MCTRT_BUILD_TYPE "unknown"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "mctrt's C++ core: detector pre/post-processing, IoU, linear assignment, Kalman filter, ByteTrack, the floor tracks' filter.";
  mctrt::bindings::register_error_translators();
  mctrt::bindings::bind_boxes(m);
  mctrt::bindings::bind_detection(m);
  mctrt::bindings::bind_reid_preprocess(m);
  mctrt::bindings::bind_lap(m);
  mctrt::bindings::bind_tracking(m);
  mctrt::bindings::bind_floor(m);
  mctrt::bindings::bind_slot_map(m);
  m.def(
      "build_info",
      [] {
        py::dict info;
        info["version"] = MCTRT_VERSION;
        info["build_type"] = MCTRT_BUILD_TYPE;
#if defined(__clang__)
        info["compiler"] = "clang " __clang_version__;
#elif defined(__GNUC__)
        info["compiler"] = "gcc " __VERSION__;
#else
        info["compiler"] = "unknown";
#endif
        info["cplusplus"] = long(__cplusplus);
        info["resampler"] = mctrt::resampler_kind();
        return info;
      },
      "How this module was compiled (version, build type, compiler) and the resampler this CPU runs.");
}
