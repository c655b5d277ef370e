// floor_predict and floor_update: the floor tracks' Kalman filter over the arrays Python keeps
// (mctrt/association/floor_tracks.py), the GIL released while it works.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "arrays.hpp"
#include "mctrt/floor_filter.hpp"

namespace mctrt::bindings {
namespace {

struct TrackArrays {
  py::array_t<double, py::array::c_style> mean, cov, time, anchor, wander;
  FloorTrackArrays view() {
    return {mean.mutable_data(), cov.mutable_data(), time.mutable_data(), anchor.mutable_data(),
            wander.mutable_data(), std::size_t(time.shape(0))};
  }
};

TrackArrays track_arrays(const py::handle& mean, const py::handle& cov, const py::handle& time,
                         const py::handle& anchor, const py::handle& wander) {
  TrackArrays t{require_writable<double>(mean, "mean", {-1, 4}, "(S, 4)"),
                require_writable<double>(cov, "cov", {-1, 4, 4}, "(S, 4, 4)"),
                require_writable<double>(time, "time", {-1}, "(S,)"),
                require_writable<double>(anchor, "anchor", {-1, 2}, "(S, 2)"),
                require_writable<double>(wander, "wander", {-1}, "(S,)")};
  const py::ssize_t s = t.time.shape(0);
  if (t.mean.shape(0) != s || t.cov.shape(0) != s || t.anchor.shape(0) != s || t.wander.shape(0) != s)
    throw py::value_error("mean, cov, time, anchor and wander must have one row per slot (S)");
  return t;
}

// slots (K,) int64, each within [0, size); times (K,) float64.
void check_slots(const py::array_t<std::int64_t, py::array::c_style>& slots,
                 const py::array_t<double, py::array::c_style>& times, std::size_t size) {
  if (times.shape(0) != slots.shape(0)) throw py::value_error("slots and times must have the same length");
  for (py::ssize_t i = 0; i < slots.shape(0); ++i) {
    const std::int64_t s = slots.data()[i];
    if (s < 0 || std::size_t(s) >= size)
      throw py::value_error("slots[" + std::to_string(i) + "] = " + std::to_string(s) + " is outside the " +
                            std::to_string(size) + " slots");
  }
}

}  // namespace

void bind_floor(py::module_& m) {
  m.def(
      "close_pairs",
      [](const py::handle& xy_obj, const py::handle& cov_obj, double radius_m, double gate_sq) {
        const auto xy = require_array<double>(xy_obj, "xy", {-1, 2}, "(N, 2)");
        const py::ssize_t n = xy.shape(0);
        const auto cov = require_array<double>(cov_obj, "cov", {n, 2, 2}, "(N, 2, 2)");
        std::vector<std::int64_t> first, second;
        {
          py::gil_scoped_release release;
          close_pairs(xy.data(), cov.data(), std::size_t(n), radius_m, gate_sq, first, second);
        }
        const auto k = py::ssize_t(first.size());
        return py::make_tuple(copy_to_array(first.data(), {k}), copy_to_array(second.data(), {k}));
      },
      py::arg("xy"), py::arg("cov"), py::arg("radius_m"), py::arg("gate_sq"),
      R"doc(Pairs (first (K,), second (K,)) int64, first < second, of floor positions xy (N, 2) with
covariances cov (N, 2, 2), float64, within radius_m of each other in x and in y and within gate_sq
in squared Mahalanobis distance under the sum of their covariances.)doc");

  m.def(
      "mahalanobis_sq",
      [](const py::handle& diff_obj, const py::handle& cov_obj) {
        const auto diff = require_array<double>(diff_obj, "diff", {-1, -1}, "(K, D)");
        const py::ssize_t k = diff.shape(0), dim = diff.shape(1);
        if (dim < 1 || dim > 4) throw py::value_error("diff must have 1 to 4 columns; got " + describe(diff_obj));
        const auto cov = require_array<double>(cov_obj, "cov", {k, dim, dim}, "(K, D, D)");
        py::array_t<double> out(k);
        double* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          mahalanobis_sq(diff.data(), cov.data(), std::size_t(k), int(dim), o);
        }
        return out;
      },
      py::arg("diff"), py::arg("cov"),
      R"doc(Squared Mahalanobis distances (K,) of differences diff (K, D) under covariances cov (K, D, D),
float64, D <= 4; +inf where a covariance is not positive definite.)doc");

  m.def(
      "floor_predict",
      [](const py::handle& mean, const py::handle& cov, const py::handle& time, const py::handle& anchor,
         const py::handle& wander, const py::handle& slots_obj, const py::handle& times_obj,
         double acceleration_sigma) {
        TrackArrays tracks = track_arrays(mean, cov, time, anchor, wander);
        const auto slots = require_array<std::int64_t>(slots_obj, "slots", {-1}, "(K,)");
        const auto times = require_array<double>(times_obj, "times", {-1}, "(K,)");
        const FloorTrackArrays view = tracks.view();
        check_slots(slots, times, view.size);
        const py::ssize_t k = slots.shape(0);
        py::array_t<double> out_mean({k, py::ssize_t(4)}), out_cov({k, py::ssize_t(4), py::ssize_t(4)});
        double* om = out_mean.mutable_data();
        double* oc = out_cov.mutable_data();
        {
          py::gil_scoped_release release;
          floor_predict(view, slots.data(), times.data(), std::size_t(k), acceleration_sigma, om, oc);
        }
        return py::make_tuple(out_mean, out_cov);
      },
      py::arg("mean"), py::arg("cov"), py::arg("time"), py::arg("anchor"), py::arg("wander"), py::arg("slots"),
      py::arg("times"), py::arg("acceleration_sigma"),
      R"doc(States (K, 4) and covariances (K, 4, 4) of the floor tracks in `slots` (K,) int64 at `times`
(K,) float64, constant velocity with white acceleration (acceleration_sigma, m/s^2). The track arrays
(mean (S, 4), cov (S, 4, 4), time (S,), anchor (S, 2), wander (S,), float64) are not changed.)doc");

  m.def(
      "floor_update",
      [](const py::handle& mean, const py::handle& cov, const py::handle& time, const py::handle& anchor,
         const py::handle& wander, const py::handle& slots_obj, const py::handle& times_obj, const py::handle& xy_obj,
         const py::handle& xy_cov_obj, double acceleration_sigma, double still_window_s) {
        TrackArrays tracks = track_arrays(mean, cov, time, anchor, wander);
        const auto slots = require_array<std::int64_t>(slots_obj, "slots", {-1}, "(K,)");
        const auto times = require_array<double>(times_obj, "times", {-1}, "(K,)");
        const py::ssize_t k = slots.shape(0);
        const auto xy = require_array<double>(xy_obj, "xy", {k, 2}, "(K, 2)");
        const auto xy_cov = require_array<double>(xy_cov_obj, "xy_cov", {k, 2, 2}, "(K, 2, 2)");
        FloorTrackArrays view = tracks.view();
        check_slots(slots, times, view.size);
        if (!(still_window_s > 0)) throw py::value_error("still_window_s must be > 0");
        py::gil_scoped_release release;
        floor_update(view, slots.data(), times.data(), xy.data(), xy_cov.data(), std::size_t(k), acceleration_sigma,
                     still_window_s);
      },
      py::arg("mean"), py::arg("cov"), py::arg("time"), py::arg("anchor"), py::arg("wander"), py::arg("slots"),
      py::arg("times"), py::arg("xy"), py::arg("xy_cov"), py::arg("acceleration_sigma"), py::arg("still_window_s"),
      R"doc(Corrects the floor tracks in `slots` (K,) int64, in place, with floor positions xy (K, 2)
observed at `times` (K,) with covariances xy_cov (K, 2, 2); also moves each track's anchor and
wander (exponential averages with time constant still_window_s). The track arrays must be writeable
C-contiguous float64: mean (S, 4), cov (S, 4, 4), time (S,), anchor (S, 2), wander (S,).)doc");
}

}  // namespace mctrt::bindings
