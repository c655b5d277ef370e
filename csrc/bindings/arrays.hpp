// Argument checks shared by every binding: the only place that turns a Python object into a typed,
// C-contiguous numpy array, with errors that name the argument, the expected shape and the fix.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "mctrt/boxes.hpp"

namespace mctrt::bindings {

namespace py = pybind11;

inline std::string describe(const py::handle& obj) {
  if (!py::isinstance<py::array>(obj)) return "a " + std::string(py::str(py::type::handle_of(obj).attr("__name__")));
  const auto arr = py::reinterpret_borrow<py::array>(obj);
  std::string shape = "(";
  for (py::ssize_t d = 0; d < arr.ndim(); ++d) shape += (d ? ", " : "") + std::to_string(arr.shape(d));
  if (arr.ndim() == 1) shape += ",";
  return std::string(py::str(arr.dtype())) + " array of shape " + shape + ")";
}

inline bool shape_matches(const py::array& arr, std::initializer_list<py::ssize_t> shape) {
  if (arr.ndim() != py::ssize_t(shape.size())) return false;
  py::ssize_t d = 0;
  for (const py::ssize_t want : shape) {
    if (want >= 0 && arr.shape(d) != want) return false;
    ++d;
  }
  return true;
}

// `obj` must be a numpy array of dtype T and the given shape (-1 = any length); `expected` spells the
// shape for the message, e.g. "(N, 4)". Returns a C-contiguous array (a copy only if obj is strided).
template <typename T>
py::array_t<T, py::array::c_style> require_array(const py::handle& obj, const char* name,
                                                 std::initializer_list<py::ssize_t> shape, const char* expected) {
  const bool ok = py::isinstance<py::array>(obj) &&
                  py::reinterpret_borrow<py::array>(obj).dtype().equal(py::dtype::of<T>()) &&
                  shape_matches(py::reinterpret_borrow<py::array>(obj), shape);
  if (!ok) {  // the message is built only here: formatting a dtype costs more than a small solve
    const std::string want = std::string(py::str(py::dtype::of<T>()));
    throw py::value_error(std::string(name) + " must be a " + want + " numpy array of shape " + expected + "; got " +
                          describe(obj) + ". Convert with np.ascontiguousarray(" + name + ", dtype=np." + want + ")");
  }
  return py::array_t<T, py::array::c_style>::ensure(obj);
}

// An array the caller lets C++ change in place: dtype T, the given shape, C-contiguous and writeable
// already (a copy would silently drop the changes).
template <typename T>
py::array_t<T, py::array::c_style> require_writable(const py::handle& obj, const char* name,
                                                    std::initializer_list<py::ssize_t> shape, const char* expected) {
  auto arr = require_array<T>(obj, name, shape, expected);
  if (!arr.is(obj) || !arr.writeable())
    throw py::value_error(std::string(name) + " must be a writeable, C-contiguous array (it is changed in place); got " +
                          describe(obj));
  return arr;
}

// An output image batch (N, C, H, W) to write into: H and W of at least one pixel (a zero size has no
// letterbox or crop to fit, and planning one wrote out of bounds).
inline void require_size(const py::array& out, const char* name) {
  if (out.shape(2) < 1 || out.shape(3) < 1)
    throw py::value_error(std::string(name) + " must be at least 1x1 pixels (its last two dimensions); got " +
                          describe(out));
}

// Boxes from Python: a float32 (N, 4) xyxy array, finite and not inverted (ValueError otherwise).
inline py::array_t<float, py::array::c_style> require_boxes(const py::handle& obj, const char* name,
                                                            const char* expected) {
  auto boxes = require_array<float>(obj, name, {-1, 4}, expected);
  check_xyxy(boxes.data(), std::size_t(boxes.shape(0)), name);
  return boxes;
}

// A new C-contiguous array of `shape` holding a copy of `src`.
template <typename T>
py::array_t<T> copy_to_array(const T* src, std::initializer_list<py::ssize_t> shape) {
  py::array_t<T> out{std::vector<py::ssize_t>(shape)};
  if (out.size() > 0) std::memcpy(out.mutable_data(), src, std::size_t(out.size()) * sizeof(T));
  return out;
}

}  // namespace mctrt::bindings
