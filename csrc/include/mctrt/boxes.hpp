// Box formats and overlap, the one place they are defined on the C++ side.
// xyxy = (left, top, right, bottom); xyah = (centre x, centre y, width / height, height).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

#include "mctrt/host_device.hpp"

namespace mctrt {

template <typename T>
inline std::array<double, 4> xyxy_to_xyah(const T* xyxy) {
  const double w = double(xyxy[2]) - double(xyxy[0]);
  const double h = double(xyxy[3]) - double(xyxy[1]);
  return {double(xyxy[0]) + w / 2, double(xyxy[1]) + h / 2, w / h, h};
}

inline std::array<double, 4> xyah_to_xyxy(const double* xyah) {
  const double w = xyah[2] * xyah[3];
  const double h = xyah[3];
  return {xyah[0] - w / 2, xyah[1] - h / 2, xyah[0] + w / 2, xyah[1] + h / 2};
}

// Intersection over union of two xyxy boxes; 0 when they do not overlap or have no area.
// (Also called by CUDA kernels, hence the plain comparisons instead of std::min/max.)
template <typename T>
MCTRT_HOST_DEVICE inline T iou_pair(const T* a, const T* b) {
  const T iw = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
  const T ih = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
  if (!(iw > 0 && ih > 0)) return T(0);
  const T inter = iw * ih;
  const T uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return uni > 0 ? inter / uni : T(0);
}

// Throws std::invalid_argument naming `name` and the first bad row if any coordinate is not finite
// or a box is inverted (right < left or bottom < top). Zero-area boxes are allowed.
void check_xyxy(const float* xyxy, std::size_t n, const std::string& name);

}  // namespace mctrt
