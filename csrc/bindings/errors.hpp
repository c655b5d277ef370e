// Translation of mctrt's C++ errors to the Python classes of mctrt.errors (defined there, once).
#pragma once

#include <pybind11/pybind11.h>

#include "mctrt/errors.hpp"

namespace mctrt::bindings {

namespace py = pybind11;

inline void register_error_translators() {
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const mctrt::CudaError& e) {
      py::set_error(py::module_::import("mctrt.errors").attr("CudaError"), e.what());
    } catch (const mctrt::Error& e) {
      py::set_error(py::module_::import("mctrt.errors").attr("MctrtError"), e.what());
    }
  });
}

}  // namespace mctrt::bindings
