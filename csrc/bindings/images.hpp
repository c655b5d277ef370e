// Arguments shared by the C++ and CUDA pre/post-processing bindings: frames, decode settings, and
// the per-image results handed back to Python.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "arrays.hpp"
#include "mctrt/nms.hpp"
#include "mctrt/preprocess.hpp"

namespace mctrt::bindings {

// A BGR frame: uint8 (H, W, 3) with packed pixels; rows may be strided (a crop of a bigger frame).
// The array is kept alive in keep_alive as long as the view is used.
inline ImageView image_view(const py::handle& obj, std::size_t index, std::vector<py::array>& keep_alive) {
  const std::string name = "images[" + std::to_string(index) + "]";
  const bool ok = py::isinstance<py::array>(obj) && py::reinterpret_borrow<py::array>(obj).dtype().equal(py::dtype::of<std::uint8_t>()) &&
                  py::reinterpret_borrow<py::array>(obj).ndim() == 3 && py::reinterpret_borrow<py::array>(obj).shape(2) == 3;
  if (!ok)
    throw py::value_error(name + " must be a uint8 BGR image of shape (H, W, 3); got " + describe(obj));
  auto arr = py::reinterpret_borrow<py::array>(obj);
  if (arr.strides(2) != 1 || arr.strides(1) != 3) arr = py::array::ensure(arr, py::array::c_style);
  if (arr.shape(0) == 0 || arr.shape(1) == 0) throw py::value_error(name + " is empty: " + describe(obj));
  keep_alive.push_back(arr);
  return {static_cast<const std::uint8_t*>(arr.data()), int(arr.shape(0)), int(arr.shape(1)),
          std::size_t(arr.strides(0))};
}

inline std::vector<ImageView> image_views(const py::list& images, std::vector<py::array>& keep_alive) {
  std::vector<ImageView> views;
  for (std::size_t i = 0; i < images.size(); ++i) views.push_back(image_view(images[i], i, keep_alive));
  return views;
}

inline DecodeSpec decode_spec(float conf_threshold, const std::vector<int>& classes, int num_classes) {
  DecodeSpec spec;
  spec.conf_threshold = conf_threshold;
  spec.class_allowed.assign(std::size_t(num_classes), 0);
  for (const int c : classes) {
    if (c < 0 || c >= num_classes)
      throw py::value_error("class " + std::to_string(c) + " is not in the model's 0.." + std::to_string(num_classes - 1));
    spec.class_allowed[std::size_t(c)] = 1;
  }
  return spec;
}

inline bool is_yolov8(const std::string& family) {
  if (family != "yolov8" && family != "yolox")
    throw py::value_error("family must be 'yolov8' or 'yolox'; got '" + family + "'");
  return family == "yolov8";
}

// (B, 3) float32 rows of (ratio, pad_x, pad_y).
inline py::array_t<float> transforms_array(const std::vector<LetterboxTransform>& transforms) {
  py::array_t<float> out{std::vector<py::ssize_t>{py::ssize_t(transforms.size()), 3}};
  float* t = out.mutable_data();
  for (std::size_t i = 0; i < transforms.size(); ++i) {
    t[3 * i] = transforms[i].ratio;
    t[3 * i + 1] = transforms[i].pad_x;
    t[3 * i + 2] = transforms[i].pad_y;
  }
  return out;
}

inline LetterboxTransform transform_row(const py::array_t<float, py::array::c_style>& transforms, std::size_t b) {
  const float* t = transforms.data() + 3 * b;
  return {t[0], t[1], t[2]};
}

// [(xyxy (N, 4) float32, scores (N,) float32, class_ids (N,) int32), ...]
inline py::list detections_list(const std::vector<DetectionList>& results) {
  py::list out;
  for (const DetectionList& d : results) {
    const py::ssize_t n = py::ssize_t(d.size());
    out.append(py::make_tuple(copy_to_array(d.xyxy.data(), {n, 4}), copy_to_array(d.score.data(), {n}),
                              copy_to_array(d.class_id.data(), {n})));
  }
  return out;
}

}  // namespace mctrt::bindings
