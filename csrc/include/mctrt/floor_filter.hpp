// The floor tracks' Kalman filter, over many tracks at once.
//
// State (4) = (x, y, vx, vy) in metres and m/s with a 4x4 covariance. Velocity follows an
// Ornstein-Uhlenbeck process per axis (FloorMotion): it keeps its value for about turn_time_s and
// varies by speed_sigma around zero over longer times, so a prediction goes on in the direction of
// walking at first and then slows, and its uncertainty grows like a walker's (quadratically over a
// second, linearly over many). Measurements are floor positions (2) with their own 2x2 covariance. Tracks live in the caller's arrays (struct of arrays, indexed by slot): Python
// owns who is tracked (mctrt/association/floor_tracks.py), C++ the per-step arithmetic.
//
// Each track also keeps `anchor`, an exponential average of its positions with time constant
// still_window_s, and `wander`, the same average of the squared distance from there: small for a
// person seated or standing, large for one walking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mctrt {

struct FloorMotion {
  double speed_sigma;  // a walker's velocity spread per axis, m/s
  double turn_time_s;  // how long a velocity persists, s (> 0)
};

struct FloorTrackArrays {
  double* mean;    // (S, 4)
  double* cov;     // (S, 4, 4)
  double* time;    // (S,) time of the last update
  double* anchor;  // (S, 2)
  double* wander;  // (S,)
  std::size_t size;
};

// The states (K, 4) and covariances (K, 4, 4) of tracks `slots` at `times` (K), written to out_mean
// and out_cov; the tracks are not changed. A time before a track's last update counts as that time:
// observations a few ms out of order are simultaneous.
void floor_predict(const FloorTrackArrays& tracks, const std::int64_t* slots, const double* times, std::size_t k,
                   const FloorMotion& motion, double* out_mean, double* out_cov);

// Corrects tracks `slots` with positions xy (K, 2) observed at `times` with covariances xy_cov
// (K, 2, 2), one after the other (a slot listed twice is corrected twice, in order).
void floor_update(FloorTrackArrays& tracks, const std::int64_t* slots, const double* times, const double* xy,
                  const double* xy_cov, std::size_t k, const FloorMotion& motion, double still_window_s);

// Squared Mahalanobis distances out[i] = d_i^T S_i^-1 d_i of differences diff (K, dim) under
// covariances cov (K, dim, dim), dim <= 4, through a Cholesky factor; +inf where S_i is not positive
// definite.
void mahalanobis_sq(const double* diff, const double* cov, std::size_t k, int dim, double* out);

// Squared Mahalanobis distances d2 (A, B) of every pair of floor positions xy_a (A, 2) and xy_b (B, 2)
// under the sum of their covariances cov_a (A, 2, 2) and cov_b (B, 2, 2), and the log-determinants
// logdet (A, B) of those sums (how much floor the pair's spread covers): the gate of every waiting
// track against every person at once. Closed form, as the covariances are symmetric and positive
// definite (each has the floor's own noise in it): only their upper off-diagonal element is read, and
// unlike mahalanobis_sq nothing checks definiteness. NaN positions give NaN distances.
// With block (A,), xy_b and cov_b hold T blocks of B positions each ((T, B, 2), (T, B, 2, 2)) and row i
// is compared with block block[i] only: tracks of cameras with different capture times against
// people predicted to each of those times, in one call. block's values must lie in [0, T).
void pairwise_mahalanobis_sq(const double* xy_a, const double* cov_a, std::size_t na, const double* xy_b,
                             const double* cov_b, std::size_t nb, double* d2, double* logdet,
                             const std::int64_t* block = nullptr);

// Pairs (i, j), i < j, of floor positions xy (N, 2) with covariances cov (N, 2, 2) that are within
// radius_m of each other in x and in y and within gate_sq of each other in squared Mahalanobis
// distance (under cov_i + cov_j): who might be one person. Found by sweeping the points sorted by x.
void close_pairs(const double* xy, const double* cov, std::size_t n, double radius_m, double gate_sq,
                 std::vector<std::int64_t>& first, std::vector<std::int64_t>& second);

}  // namespace mctrt
