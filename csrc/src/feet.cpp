// The foot rule and the homography's derivative, box by box (see mctrt/geometry/feet.py).
#include "mctrt/feet.hpp"

#include <cmath>
#include <limits>

namespace mctrt {

void foot_points(const FootRule& rule, const double* xyxy, const double* image_wh, const double* time_s,
                 const std::int64_t* rows, const bool* occluded, std::size_t n, FullBoxes full, double* foot,
                 double* body, bool* hidden, bool* estimated, bool* cut_side) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < n; ++i) {
    const double x0 = xyxy[4 * i], y0 = xyxy[4 * i + 1], x1 = xyxy[4 * i + 2], y1 = xyxy[4 * i + 3];
    const double width = image_wh[2 * i], height = image_wh[2 * i + 1];
    const std::int64_t row = rows[i];
    const double h = y1 - y0;
    const double recent = time_s[i] - full.time[row] <= rule.height_memory_s ? full.height[row] : nan;
    const double margin = rule.edge_margin_px;
    const bool cut_bottom = y1 >= height - margin, cut_top = y0 <= margin;
    const bool cut_left = x0 <= margin, cut_right = x1 >= width - margin;
    const bool shrunk = h < rule.occlusion_ratio * recent;  // false without a recent height (NaN)
    const bool bottom_moved = std::abs(y1 - full.bottom[row]) > std::abs(y0 - full.top[row]);
    hidden[i] = cut_bottom || (shrunk && bottom_moved) || occluded[i];
    estimated[i] = hidden[i] && !cut_top && !std::isnan(recent);
    cut_side[i] = cut_left || cut_right;
    body[i] = estimated[i] ? recent : h;
    const double half_width = 0.5 * rule.width_ratio * body[i];
    foot[2 * i] = cut_left && !cut_right ? x1 - half_width : cut_right && !cut_left ? x0 + half_width : 0.5 * (x0 + x1);
    foot[2 * i + 1] = estimated[i] ? y0 + recent : y1;
    if (!cut_bottom && !cut_top && !shrunk && !occluded[i]) {
      // Halfway to the new height: a box of two people merged (or of the tracker jumping to another
      // person) must not make the person taller at once, or the next whole box reads as hidden legs.
      full.height[row] = std::isnan(recent) ? h : 0.5 * (recent + h);
      full.top[row] = y0;
      full.bottom[row] = y1;
      full.time[row] = time_s[i];
    }
  }
}

void feet_to_floor(const FootRule& rule, const double* to_floor, const double* floor_sign, const std::int64_t* camera,
                   const double* foot, const double* body, const bool* hidden, const bool* estimated,
                   const bool* cut_side, std::size_t n, double near_zero, double* xy, double* cov) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double floor_var = rule.floor_sigma_m * rule.floor_sigma_m;
  for (std::size_t i = 0; i < n; ++i) {
    const double* g = to_floor + 9 * camera[i];
    const double u = foot[2 * i], v = foot[2 * i + 1];
    const double w = g[6] * u + g[7] * v + g[8];
    const double fx = (g[0] * u + g[1] * v + g[2]) / w, fy = (g[3] * u + g[4] * v + g[5]) / w;
    const bool placed = w * floor_sign[camera[i]] > near_zero && !(hidden[i] && !estimated[i]);
    xy[2 * i] = placed ? fx : nan;
    xy[2 * i + 1] = placed ? fy : nan;
    // cov = J diag(su^2, sv^2) J^T + floor_sigma^2 I, J the homography's derivative at the foot
    const double sigma_v = (estimated[i] ? rule.estimated_foot_sigma : rule.foot_sigma) * body[i];
    const double sigma_u = cut_side[i] ? std::fmax(sigma_v, rule.estimated_foot_sigma * body[i]) : sigma_v;
    const double a = (g[0] - fx * g[6]) / w * sigma_u, b = (g[1] - fx * g[7]) / w * sigma_v;
    const double c = (g[3] - fy * g[6]) / w * sigma_u, d = (g[4] - fy * g[7]) / w * sigma_v;
    double* out = cov + 4 * i;
    out[0] = a * a + b * b + floor_var;
    out[1] = out[2] = a * c + b * d;
    out[3] = c * c + d * d + floor_var;
  }
}

}  // namespace mctrt
