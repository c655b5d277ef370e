// The ByteTrack/DeepSORT Kalman filter for one box.
//
// State space (8): x = (cx, cy, a, h, vcx, vcy, va, vh), with a = width / height, positions in
// pixels and velocities in pixels per frame. Constant-velocity motion (dt = 1 frame); the
// observation is the first four entries (xyah). Process and observation noise scale with the box
// height h, so small, far-away people are allowed proportionally smaller motion; the aspect ratio
// gets a small fixed noise because people rarely change shape quickly.
//
// All arithmetic is in double: the filter runs for thousands of frames and its output feeds
// threshold decisions, where float32 drift would change which detection a track takes.
#pragma once

#include <array>
#include <cstddef>

namespace mctrt {

struct KalmanState {
  std::array<double, 8> mean{};         // x
  std::array<double, 64> covariance{};  // P, 8x8 row-major
};

class KalmanFilter {
 public:
  // Standard deviations relative to the box height (the weights of ByteTrack and DeepSORT).
  static constexpr double kStdWeightPosition = 1.0 / 20;
  static constexpr double kStdWeightVelocity = 1.0 / 160;

  // velocity_noise: the process noise of the velocities per frame, relative to the box height (std);
  // ByteTrack's kStdWeightVelocity unless a tracker asks for another.
  explicit KalmanFilter(double velocity_noise = kStdWeightVelocity) : velocity_noise_(velocity_noise) {}
  double velocity_noise() const { return velocity_noise_; }

  // A new track from one xyah measurement: zero velocity, wide velocity uncertainty.
  KalmanState initiate(const std::array<double, 4>& xyah) const;

  // dt frames ahead (1: one frame; fractions and gaps of dropped frames alike): x = F x,
  // P = F P F' + dt Q, with F moving positions by dt times the velocities. Q uses the height before
  // the step. dt = 1 gives exactly the per-frame filter of ByteTrack and DeepSORT.
  void predict(KalmanState& state, double dt = 1.0) const;
  void multi_predict(KalmanState* states, std::size_t n) const;

  // Projection to measurement space: mean (4,), innovation covariance S = H P H' + R (4x4).
  void project(const KalmanState& state, std::array<double, 4>& mean, std::array<double, 16>& cov) const;

  // Correct with an xyah measurement. Returns false, leaving the state unchanged, if the innovation
  // covariance is not positive definite (a degenerate state).
  [[nodiscard]] bool update(KalmanState& state, const std::array<double, 4>& xyah) const;

  // Squared Mahalanobis distance of a measurement to the projected state; with only_position,
  // on (cx, cy) alone (chi-square with 2 instead of 4 degrees of freedom).
  // Throws std::invalid_argument when the covariance is not positive definite (a degenerate state).
  double gating_distance(const KalmanState& state, const std::array<double, 4>& xyah, bool only_position) const;
  // The same distance, NaN for a degenerate state (for callers that decide per pair).
  double squared_distance(const KalmanState& state, const std::array<double, 4>& xyah, bool only_position) const;

 private:
  double velocity_noise_;
};

}  // namespace mctrt
