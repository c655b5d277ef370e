// Validation of boxes that come from outside (Python callers, files).
#include "mctrt/boxes.hpp"

#include <cmath>
#include <stdexcept>

namespace mctrt {

void check_xyxy(const float* xyxy, std::size_t n, const std::string& name) {
  for (std::size_t i = 0; i < n; ++i) {
    const float* box = xyxy + 4 * i;
    const bool finite = std::isfinite(box[0]) && std::isfinite(box[1]) && std::isfinite(box[2]) && std::isfinite(box[3]);
    if (finite && box[2] >= box[0] && box[3] >= box[1]) continue;
    const std::string row = name + "[" + std::to_string(i) + "]";
    if (!finite) throw std::invalid_argument(row + " has a non-finite coordinate; boxes must be finite");
    throw std::invalid_argument(row + " = (" + std::to_string(box[0]) + ", " + std::to_string(box[1]) + ", " +
                                std::to_string(box[2]) + ", " + std::to_string(box[3]) +
                                ") is inverted; expected xyxy = (left, top, right, bottom) with right >= left and "
                                "bottom >= top");
  }
}

}  // namespace mctrt
