// Kalman filter arithmetic, written out for the block structure of the model instead of generic
// 8x8 products: F = [I I; 0 I] and H = [I 0] (4x4 blocks), so predict is a few additions and the
// update needs only a 4x4 Cholesky solve.
#include "mctrt/kalman_filter.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace mctrt {
namespace {

constexpr int kDim = 8;
constexpr int kObs = 4;

inline double& at(std::array<double, 64>& p, int r, int c) { return p[r * kDim + c]; }
inline double at(const std::array<double, 64>& p, int r, int c) { return p[r * kDim + c]; }

// In-place lower Cholesky factor of an n x n SPD matrix (row-major, n <= 4). Returns false if the
// matrix is not positive definite (a degenerate state, e.g. a zero-height box).
bool cholesky(double* a, int n) {
  for (int j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (int i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (int k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
  }
  return true;
}

// Inverse of a 4x4 SPD matrix through its Cholesky factor: S^-1 = L^-T L^-1, with four square
// roots and four divisions (divisions are slow; the rest are multiply-adds).
bool spd_inverse4(const double* s, double* s_inv) {
  double l[16];
  for (int k = 0; k < 16; ++k) l[k] = s[k];
  if (!cholesky(l, 4)) return false;
  double li[16] = {};  // L^-1, lower triangular
  for (int i = 0; i < 4; ++i) {
    const double inv_d = 1.0 / l[i * 4 + i];
    li[i * 4 + i] = inv_d;
    for (int j = 0; j < i; ++j) {
      double acc = 0.0;
      for (int k = j; k < i; ++k) acc += l[i * 4 + k] * li[k * 4 + j];
      li[i * 4 + j] = -inv_d * acc;
    }
  }
  for (int i = 0; i < 4; ++i)
    for (int j = i; j < 4; ++j) {
      double acc = 0.0;
      for (int k = j; k < 4; ++k) acc += li[k * 4 + i] * li[k * 4 + j];
      s_inv[i * 4 + j] = s_inv[j * 4 + i] = acc;
    }
  return true;
}

}  // namespace

KalmanState KalmanFilter::initiate(const std::array<double, 4>& xyah) const {
  KalmanState s;
  for (int i = 0; i < kObs; ++i) s.mean[i] = xyah[i];
  const double h = xyah[3];
  const double std_pos = 2 * kStdWeightPosition * h;
  const double std_vel = 10 * kStdWeightVelocity * h;
  const double std[kDim] = {std_pos, std_pos, 1e-2, std_pos, std_vel, std_vel, 1e-5, std_vel};
  for (int i = 0; i < kDim; ++i) at(s.covariance, i, i) = std[i] * std[i];
  return s;
}

void KalmanFilter::predict(KalmanState& s, double dt) const {
  const double h = s.mean[3];
  const double std_pos = kStdWeightPosition * h;
  const double std_vel = velocity_noise_ * h;
  const double noise[kDim] = {std_pos, std_pos, 1e-2, std_pos, std_vel, std_vel, 1e-5, std_vel};

  for (int i = 0; i < kObs; ++i) s.mean[i] += dt * s.mean[i + kObs];

  // P = [A B; B' D] -> F P F' = [A + dt B + dt B' + dt^2 D, B + dt D; B' + dt D, D] (at dt = 1 the
  // products are exact, so the sums are the per-frame filter's, bit for bit)
  std::array<double, 64>& p = s.covariance;
  for (int r = 0; r < kObs; ++r) {
    for (int c = 0; c < kObs; ++c) {
      const double a = at(p, r, c), b = at(p, r, c + kObs), bt = at(p, r + kObs, c), d = at(p, r + kObs, c + kObs);
      at(p, r, c) = a + dt * b + dt * bt + dt * dt * d;
      at(p, r, c + kObs) = b + dt * d;
      at(p, r + kObs, c) = bt + dt * d;
    }
  }
  for (int i = 0; i < kDim; ++i) at(p, i, i) += noise[i] * noise[i] * dt;
}

void KalmanFilter::multi_predict(KalmanState* states, std::size_t n) const {
  for (std::size_t k = 0; k < n; ++k) predict(states[k]);
}

void KalmanFilter::project(const KalmanState& s, std::array<double, 4>& mean, std::array<double, 16>& cov) const {
  const double std_pos = kStdWeightPosition * s.mean[3];
  const double noise[kObs] = {std_pos, std_pos, 1e-1, std_pos};
  for (int r = 0; r < kObs; ++r) {
    mean[r] = s.mean[r];
    for (int c = 0; c < kObs; ++c) cov[r * kObs + c] = at(s.covariance, r, c);
    cov[r * kObs + r] += noise[r] * noise[r];
  }
}

bool KalmanFilter::update(KalmanState& s, const std::array<double, 4>& xyah) const {
  std::array<double, 4> projected;
  std::array<double, 16> innovation_cov;
  project(s, projected, innovation_cov);
  double s_inv[kObs * kObs];
  if (!spd_inverse4(innovation_cov.data(), s_inv)) return false;
  // Gain K = P H' S^-1 (8 x 4); P H' is the first four columns of P. Innermost loops run along
  // rows so that they vectorise.
  double gain[kDim * kObs] = {};
  for (int i = 0; i < kDim; ++i)
    for (int r = 0; r < kObs; ++r) {
      const double p = at(s.covariance, i, r);
      for (int c = 0; c < kObs; ++c) gain[i * kObs + c] += p * s_inv[r * kObs + c];
    }

  double innovation[kObs];
  for (int r = 0; r < kObs; ++r) innovation[r] = xyah[r] - projected[r];
  for (int i = 0; i < kDim; ++i)
    for (int r = 0; r < kObs; ++r) s.mean[i] += gain[i * kObs + r] * innovation[r];

  // P -= K S K' = K (H P), since K S = P H'. H P is the first four rows of P, read before writing.
  double hp[kObs * kDim];
  for (int k = 0; k < kObs * kDim; ++k) hp[k] = s.covariance[k];
  for (int i = 0; i < kDim; ++i)
    for (int r = 0; r < kObs; ++r) {
      const double g = gain[i * kObs + r];
      for (int j = 0; j < kDim; ++j) at(s.covariance, i, j) -= g * hp[r * kDim + j];
    }
  return true;
}

double KalmanFilter::squared_distance(const KalmanState& s, const std::array<double, 4>& xyah,
                                      bool only_position) const {
  std::array<double, 4> mean;
  std::array<double, 16> cov;
  project(s, mean, cov);
  const int n = only_position ? 2 : kObs;
  double l[16];
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) l[r * n + c] = cov[r * kObs + c];
  if (!cholesky(l, n)) return std::numeric_limits<double>::quiet_NaN();
  // d' S^-1 d = |L^-1 d|^2 (forward substitution only).
  double z[kObs];
  double sq = 0.0;
  for (int i = 0; i < n; ++i) {
    double v = xyah[i] - mean[i];
    for (int k = 0; k < i; ++k) v -= l[i * n + k] * z[k];
    z[i] = v / l[i * n + i];
    sq += z[i] * z[i];
  }
  return sq;
}

double KalmanFilter::gating_distance(const KalmanState& s, const std::array<double, 4>& xyah,
                                     bool only_position) const {
  const double sq = squared_distance(s, xyah, only_position);
  if (std::isnan(sq))
    throw std::invalid_argument("Kalman gating: innovation covariance is not positive definite (degenerate box?)");
  return sq;
}

}  // namespace mctrt
