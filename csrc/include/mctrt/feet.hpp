// Foot points of tracked boxes and their place on the floor: the per-box rule of
// mctrt/geometry/feet.py (the module docstring there states it), one loop over every calibrated
// camera's boxes of a step.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mctrt {

struct FootRule {
  double height_memory_s;       // a full height older than this is forgotten
  double edge_margin_px;        // a box this near an image edge is cut by it
  double occlusion_ratio;       // shorter than this part of the full height: legs hidden
  double width_ratio;           // body width / height, to place a box cut at the side
  double foot_sigma;            // foot pixel error, as a part of the body height
  double estimated_foot_sigma;  // the same for an estimated foot
  double floor_sigma_m;         // calibration error on the floor
};

// Each track's full box (its height smoothed over its whole boxes), by row of the caller's table
// (per-track columns of length S).
struct FullBoxes {
  double* height;
  double* top;
  double* bottom;
  double* time;
};

// What each box says about its feet: foot (N, 2) pixels, body (N) the height used for the person,
// and per box whether the feet are hidden, estimated (hidden but placed from the full height)
// and cut at the side. occluded (N) marks boxes whose lower part the caller found hidden behind a
// nearer person. Reads and then updates `full` at rows[i] (a box that is whole becomes the track's
// full box).
void foot_points(const FootRule& rule, const double* xyxy, const double* image_wh, const double* time_s,
                 const std::int64_t* rows, const bool* occluded, std::size_t n, FullBoxes full, double* foot,
                 double* body, bool* hidden, bool* estimated, bool* cut_side);

// Foot points (N, 2), undistorted, through their camera's image -> floor homography
// (to_floor[camera[i]], 3x3, with its floor side floor_sign) to floor metres xy (N, 2), NaN where
// the foot is hidden and not estimated or beyond the horizon, and their covariance (N, 2, 2): the
// pixel error carried through the homography's derivative, plus the calibration's.
void feet_to_floor(const FootRule& rule, const double* to_floor, const double* floor_sign, const std::int64_t* camera,
                   const double* foot, const double* body, const bool* hidden, const bool* estimated,
                   const bool* cut_side, std::size_t n, double near_zero, double* xy, double* cov);

}  // namespace mctrt
