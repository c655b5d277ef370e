// Floor filter arithmetic written out for F = [I b*I; 0 a*I] and H = [I 0] (2x2 blocks): predict is a
// few multiply-adds and the update inverts a 2x2 innovation covariance in closed form.
#include "mctrt/floor_filter.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mctrt {
namespace {

// State and covariance of one track `dt` seconds after its last update. Velocity is an Ornstein-
// Uhlenbeck process per axis (people keep their speed and heading for about turn_time_s, then change
// them): with a = exp(-dt / tau) and b = tau (1 - a), F = [I b*I; 0 a*I], and the noise integrates
// the velocity's stationary variance sigma^2 (speed_sigma per axis) over dt.
void predict_one(const double* mean, const double* p, double dt, const FloorMotion& motion, double* out_mean,
                 double* out_p) {
  const double tau = motion.turn_time_s, a = std::exp(-dt / tau), b = tau * (1.0 - a);
  out_mean[0] = mean[0] + b * mean[2];
  out_mean[1] = mean[1] + b * mean[3];
  out_mean[2] = a * mean[2];
  out_mean[3] = a * mean[3];
  // F P F^T: with P = [[A, B], [B^T, C]], the blocks become A + b (B + B^T) + b^2 C, a (B + b C),
  // a (B^T + b C), a^2 C.
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 2; ++c) {
      const double pa = p[r * 4 + c], pb = p[r * 4 + c + 2], pbt = p[(r + 2) * 4 + c], pc = p[(r + 2) * 4 + c + 2];
      out_p[r * 4 + c] = pa + b * (pb + pbt) + b * b * pc;
      out_p[r * 4 + c + 2] = a * (pb + b * pc);
      out_p[(r + 2) * 4 + c] = a * (pbt + b * pc);
      out_p[(r + 2) * 4 + c + 2] = a * a * pc;
    }
  }
  const double var = motion.speed_sigma * motion.speed_sigma, x = dt / tau;
  const double q_pp = var * tau * tau * (2.0 * x - 3.0 + 4.0 * a - a * a);
  const double q_pv = var * tau * (1.0 - a) * (1.0 - a);
  const double q_vv = var * (1.0 - a * a);
  for (int axis = 0; axis < 2; ++axis) {
    out_p[axis * 4 + axis] += q_pp;
    out_p[axis * 4 + axis + 2] += q_pv;
    out_p[(axis + 2) * 4 + axis] += q_pv;
    out_p[(axis + 2) * 4 + axis + 2] += q_vv;
  }
}

}  // namespace

void floor_predict(const FloorTrackArrays& tracks, const std::int64_t* slots, const double* times, std::size_t k,
                   const FloorMotion& motion, double* out_mean, double* out_cov) {
  for (std::size_t i = 0; i < k; ++i) {
    const std::int64_t s = slots[i];
    const double dt = std::max(times[i] - tracks.time[s], 0.0);
    predict_one(tracks.mean + 4 * s, tracks.cov + 16 * s, dt, motion, out_mean + 4 * i, out_cov + 16 * i);
  }
}

void floor_update(FloorTrackArrays& tracks, const std::int64_t* slots, const double* times, const double* xy,
                  const double* xy_cov, std::size_t k, const FloorMotion& motion, double still_window_s) {
  for (std::size_t i = 0; i < k; ++i) {
    const std::int64_t s = slots[i];
    const double dt = std::max(times[i] - tracks.time[s], 0.0);
    double m[4], p[16];
    predict_one(tracks.mean + 4 * s, tracks.cov + 16 * s, dt, motion, m, p);
    // S = P[:2, :2] + R, its inverse in closed form; gain K = P[:, :2] S^-1 (4x2).
    const double* r = xy_cov + 4 * i;
    const double s00 = p[0] + r[0], s01 = p[1] + r[1], s10 = p[4] + r[2], s11 = p[5] + r[3];
    const double det = s00 * s11 - s01 * s10;
    const double i00 = s11 / det, i01 = -s01 / det, i10 = -s10 / det, i11 = s00 / det;
    double gain[8];
    for (int row = 0; row < 4; ++row) {
      gain[row * 2] = p[row * 4] * i00 + p[row * 4 + 1] * i10;
      gain[row * 2 + 1] = p[row * 4] * i01 + p[row * 4 + 1] * i11;
    }
    const double ex = xy[2 * i] - m[0], ey = xy[2 * i + 1] - m[1];
    for (int row = 0; row < 4; ++row) m[row] += gain[row * 2] * ex + gain[row * 2 + 1] * ey;
    double updated[16];  // P - K P[:2, :], then symmetrised against rounding
    for (int row = 0; row < 4; ++row)
      for (int col = 0; col < 4; ++col)
        updated[row * 4 + col] = p[row * 4 + col] - gain[row * 2] * p[col] - gain[row * 2 + 1] * p[4 + col];
    double* cov = tracks.cov + 16 * s;
    for (int row = 0; row < 4; ++row)
      for (int col = 0; col < 4; ++col) cov[row * 4 + col] = 0.5 * (updated[row * 4 + col] + updated[col * 4 + row]);
    std::copy(m, m + 4, tracks.mean + 4 * s);

    const double weight = 1.0 - std::exp(-dt / still_window_s);
    double* anchor = tracks.anchor + 2 * s;
    anchor[0] += weight * (m[0] - anchor[0]);
    anchor[1] += weight * (m[1] - anchor[1]);
    const double dx = m[0] - anchor[0], dy = m[1] - anchor[1];
    tracks.wander[s] += weight * (dx * dx + dy * dy - tracks.wander[s]);
    tracks.time[s] = std::max(times[i], tracks.time[s]);
  }
}

void close_pairs(const double* xy, const double* cov, std::size_t n, double radius_m, double gate_sq,
                 std::vector<std::int64_t>& first, std::vector<std::int64_t>& second) {
  std::vector<std::int64_t> order;  // the placed points (NaN rows have no place), by x
  order.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(xy[2 * i]) && std::isfinite(xy[2 * i + 1])) order.push_back(std::int64_t(i));
  std::sort(order.begin(), order.end(), [xy](std::int64_t a, std::int64_t b) { return xy[2 * a] < xy[2 * b]; });
  for (std::size_t p = 0; p < order.size(); ++p) {
    const std::int64_t a = order[p];
    for (std::size_t q = p + 1; q < order.size() && xy[2 * order[q]] - xy[2 * a] <= radius_m; ++q) {
      const std::int64_t b = order[q];
      const double dx = xy[2 * b] - xy[2 * a], dy = xy[2 * b + 1] - xy[2 * a + 1];
      if (!(std::abs(dy) <= radius_m)) continue;
      double s[4];
      for (int e = 0; e < 4; ++e) s[e] = cov[4 * a + e] + cov[4 * b + e];
      const double det = s[0] * s[3] - s[1] * s[2];
      const double d2 = (s[3] * dx * dx - (s[1] + s[2]) * dx * dy + s[0] * dy * dy) / det;
      if (det > 0 && d2 <= gate_sq) {
        first.push_back(std::min(a, b));
        second.push_back(std::max(a, b));
      }
    }
  }
}

void pairwise_mahalanobis_sq(const double* xy_a, const double* cov_a, std::size_t na, const double* xy_b,
                             const double* cov_b, std::size_t nb, double* d2, double* logdet,
                             const std::int64_t* block) {
  for (std::size_t i = 0; i < na; ++i) {
    const double* a = cov_a + 4 * i;
    const std::size_t first = block ? std::size_t(block[i]) * nb : 0;  // row i's block of B positions
    const double* pb = xy_b + 2 * first;
    const double* cb = cov_b + 4 * first;
    for (std::size_t j = 0; j < nb; ++j) {
      const double* b = cb + 4 * j;
      const double s00 = a[0] + b[0], s01 = a[1] + b[1], s11 = a[3] + b[3];
      const double x = xy_a[2 * i] - pb[2 * j], y = xy_a[2 * i + 1] - pb[2 * j + 1];
      const double det = s00 * s11 - s01 * s01;
      d2[i * nb + j] = (s11 * x * x - 2 * s01 * x * y + s00 * y * y) / det;
      logdet[i * nb + j] = std::log(det);
    }
  }
}

void mahalanobis_sq(const double* diff, const double* cov, std::size_t k, int dim, double* out) {
  for (std::size_t i = 0; i < k; ++i) {
    const double* d = diff + i * dim;
    const double* s = cov + i * dim * dim;
    double l[16], y[4];  // S = L L^T; then |L^-1 d|^2
    bool ok = true;
    for (int r = 0; r < dim && ok; ++r) {
      for (int c = 0; c <= r; ++c) {
        double v = s[r * dim + c];
        for (int j = 0; j < c; ++j) v -= l[r * 4 + j] * l[c * 4 + j];
        if (r == c) {
          ok = v > 0;
          l[r * 4 + r] = ok ? std::sqrt(v) : 0.0;
        } else {
          l[r * 4 + c] = v / l[c * 4 + c];
        }
      }
    }
    double total = 0.0;
    for (int r = 0; r < dim && ok; ++r) {
      double v = d[r];
      for (int j = 0; j < r; ++j) v -= l[r * 4 + j] * y[j];
      y[r] = v / l[r * 4 + r];
      total += y[r] * y[r];
    }
    out[i] = ok ? total : std::numeric_limits<double>::infinity();
  }
}

}  // namespace mctrt
