// The floor's per-step loops: the foot rule and the feet's floor positions (mctrt/geometry/feet.py),
// the floor tracks' Kalman filter over the arrays Python keeps (mctrt/association/floor_tracks.py),
// Mahalanobis distances and close pairs for association.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "arrays.hpp"
#include "mctrt/feet.hpp"
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

FloorMotion floor_motion(double speed_sigma, double turn_time_s) {
  if (!(speed_sigma >= 0)) throw py::value_error("speed_sigma must be >= 0");
  if (!(turn_time_s > 0)) throw py::value_error("turn_time_s must be > 0");
  return {speed_sigma, turn_time_s};
}

}  // namespace

namespace {

void bind_feet(py::module_& m) {
  py::class_<FootRule>(m, "FootRule", "The foot rule's settings (mctrt.config.FloorAssociationConfig), for foot_points and feet_to_floor.")
      .def(py::init([](double height_memory_s, double edge_margin_px, double occlusion_ratio, double width_ratio,
                       double foot_sigma, double estimated_foot_sigma, double floor_sigma_m) {
             return FootRule{height_memory_s, edge_margin_px,      occlusion_ratio, width_ratio,
                             foot_sigma,      estimated_foot_sigma, floor_sigma_m};
           }),
           py::kw_only(), py::arg("height_memory_s"), py::arg("edge_margin_px"), py::arg("occlusion_ratio"),
           py::arg("width_ratio"), py::arg("foot_sigma"), py::arg("estimated_foot_sigma"), py::arg("floor_sigma_m"));

  m.def(
      "foot_points",
      [](const FootRule& rule, const py::handle& xyxy_obj, const py::handle& image_wh_obj, const py::handle& time_obj,
         const py::handle& rows_obj, const py::handle& occluded_obj, const py::handle& height, const py::handle& top,
         const py::handle& bottom, const py::handle& time) {
        const auto xyxy = require_array<double>(xyxy_obj, "xyxy", {-1, 4}, "(N, 4)");
        const py::ssize_t n = xyxy.shape(0);
        const auto image_wh = require_array<double>(image_wh_obj, "image_wh", {n, 2}, "(N, 2)");
        const auto time_s = require_array<double>(time_obj, "time_s", {n}, "(N,)");
        const auto rows = require_array<std::int64_t>(rows_obj, "rows", {n}, "(N,)");
        const auto occluded = require_array<bool>(occluded_obj, "occluded", {n}, "(N,)");
        auto full_height = require_writable<double>(height, "full_height", {-1}, "(S,)");
        auto full_top = require_writable<double>(top, "full_top", {full_height.shape(0)}, "(S,)");
        auto full_bottom = require_writable<double>(bottom, "full_bottom", {full_height.shape(0)}, "(S,)");
        auto full_time = require_writable<double>(time, "full_time", {full_height.shape(0)}, "(S,)");
        for (py::ssize_t i = 0; i < n; ++i)
          if (rows.data()[i] < 0 || rows.data()[i] >= full_height.shape(0))
            throw py::value_error("rows[" + std::to_string(i) + "] is outside the table");
        py::array_t<double> foot({n, py::ssize_t(2)}), body(n);
        py::array_t<bool> hidden(n), estimated(n), cut_side(n);
        const FullBoxes full{full_height.mutable_data(), full_top.mutable_data(), full_bottom.mutable_data(),
                             full_time.mutable_data()};
        foot_points(rule, xyxy.data(), image_wh.data(), time_s.data(), rows.data(), occluded.data(), std::size_t(n), full,
                    foot.mutable_data(), body.mutable_data(), hidden.mutable_data(), estimated.mutable_data(),
                    cut_side.mutable_data());
        return py::make_tuple(foot, body, hidden, estimated, cut_side);
      },
      py::arg("rule"), py::arg("xyxy"), py::arg("image_wh"), py::arg("time_s"), py::arg("rows"), py::arg("occluded"),
      py::arg("full_height"), py::arg("full_top"), py::arg("full_bottom"), py::arg("full_time"),
      R"doc(The foot rule (mctrt/geometry/feet.py) for boxes xyxy (N, 4) of images image_wh (N, 2) at times
time_s (N,), float64, whose tracks' last full boxes are at rows (N,) int64 of the columns full_height,
full_top, full_bottom, full_time (S,) float64 (read, then updated where a box is whole); occluded (N,)
bool marks boxes whose lower part a nearer person hides. Returns
(foot (N, 2) pixels, body (N,) height, hidden (N,), estimated (N,), cut_side (N,) bool).)doc");

  m.def(
      "feet_to_floor",
      [](const FootRule& rule, const py::handle& to_floor_obj, const py::handle& sign_obj, const py::handle& camera_obj,
         const py::handle& foot_obj, const py::handle& body_obj, const py::handle& hidden_obj,
         const py::handle& estimated_obj, const py::handle& cut_side_obj, double near_zero) {
        const auto to_floor = require_array<double>(to_floor_obj, "to_floor", {-1, 3, 3}, "(C, 3, 3)");
        const py::ssize_t c = to_floor.shape(0);
        const auto sign = require_array<double>(sign_obj, "floor_sign", {c}, "(C,)");
        const auto camera = require_array<std::int64_t>(camera_obj, "camera", {-1}, "(N,)");
        const py::ssize_t n = camera.shape(0);
        const auto foot = require_array<double>(foot_obj, "foot", {n, 2}, "(N, 2)");
        const auto body = require_array<double>(body_obj, "body", {n}, "(N,)");
        const auto hidden = require_array<bool>(hidden_obj, "hidden", {n}, "(N,)");
        const auto estimated = require_array<bool>(estimated_obj, "estimated", {n}, "(N,)");
        const auto cut_side = require_array<bool>(cut_side_obj, "cut_side", {n}, "(N,)");
        for (py::ssize_t i = 0; i < n; ++i)
          if (camera.data()[i] < 0 || camera.data()[i] >= c)
            throw py::value_error("camera[" + std::to_string(i) + "] is not one of the " + std::to_string(c) + " homographies");
        py::array_t<double> xy({n, py::ssize_t(2)}), cov({n, py::ssize_t(2), py::ssize_t(2)});
        feet_to_floor(rule, to_floor.data(), sign.data(), camera.data(), foot.data(), body.data(), hidden.data(),
                      estimated.data(), cut_side.data(), std::size_t(n), near_zero, xy.mutable_data(), cov.mutable_data());
        return py::make_tuple(xy, cov);
      },
      py::arg("rule"), py::arg("to_floor"), py::arg("floor_sign"), py::arg("camera"), py::arg("foot"), py::arg("body"),
      py::arg("hidden"), py::arg("estimated"), py::arg("cut_side"), py::arg("near_zero"),
      R"doc(Undistorted foot points (N, 2) through their camera's image -> floor homography (to_floor (C, 3, 3),
floor_sign (C,), camera (N,) int64) to (xy (N, 2) metres, NaN where not placed, cov (N, 2, 2)); body,
hidden, estimated and cut_side as foot_points returned them.)doc");
}

}  // namespace

void bind_floor(py::module_& m) {
  bind_feet(m);
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
      "pairwise_mahalanobis_sq",
      [](const py::handle& xy_a_obj, const py::handle& cov_a_obj, const py::handle& xy_b_obj,
         const py::handle& cov_b_obj, const py::handle& block_obj) {
        const auto xy_a = require_array<double>(xy_a_obj, "xy_a", {-1, 2}, "(A, 2)");
        const py::ssize_t na = xy_a.shape(0);
        const auto cov_a = require_array<double>(cov_a_obj, "cov_a", {na, 2, 2}, "(A, 2, 2)");
        py::array_t<double, py::array::c_style> xy_b, cov_b;
        py::array_t<std::int64_t, py::array::c_style> block;
        py::ssize_t nb = 0;
        if (block_obj.is_none()) {
          xy_b = require_array<double>(xy_b_obj, "xy_b", {-1, 2}, "(B, 2)");
          nb = xy_b.shape(0);
          cov_b = require_array<double>(cov_b_obj, "cov_b", {nb, 2, 2}, "(B, 2, 2)");
        } else {
          xy_b = require_array<double>(xy_b_obj, "xy_b", {-1, -1, 2}, "(T, B, 2)");
          const py::ssize_t nt = xy_b.shape(0);
          nb = xy_b.shape(1);
          cov_b = require_array<double>(cov_b_obj, "cov_b", {nt, nb, 2, 2}, "(T, B, 2, 2)");
          block = require_array<std::int64_t>(block_obj, "block", {na}, "(A,)");
          for (py::ssize_t i = 0; i < na; ++i)
            if (block.data()[i] < 0 || block.data()[i] >= nt)
              throw py::value_error("block must lie in [0, " + std::to_string(nt) + "); row " + std::to_string(i) +
                                    " has " + std::to_string(block.data()[i]));
        }
        py::array_t<double> d2({na, nb}), logdet({na, nb});
        double* d = d2.mutable_data();
        double* l = logdet.mutable_data();
        const std::int64_t* rows_block = block_obj.is_none() ? nullptr : block.data();
        {
          py::gil_scoped_release release;
          pairwise_mahalanobis_sq(xy_a.data(), cov_a.data(), std::size_t(na), xy_b.data(), cov_b.data(),
                                  std::size_t(nb), d, l, rows_block);
        }
        return py::make_tuple(d2, logdet);
      },
      py::arg("xy_a"), py::arg("cov_a"), py::arg("xy_b"), py::arg("cov_b"), py::arg("block") = py::none(),
      R"doc(Squared Mahalanobis distances (A, B) of every pair of floor positions xy_a (A, 2) and xy_b
(B, 2) under the sum of their covariances cov_a (A, 2, 2) and cov_b (B, 2, 2), float64, and the
log-determinants (A, B) of those sums; as (d2, logdet). NaN positions give NaN. With block (A,)
int64, xy_b and cov_b hold T blocks ((T, B, 2), (T, B, 2, 2)) and row i is compared with block
block[i] only (people predicted to each row's capture time).)doc");

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
         const py::handle& wander, const py::handle& slots_obj, const py::handle& times_obj, double speed_sigma,
         double turn_time_s) {
        const FloorMotion motion = floor_motion(speed_sigma, turn_time_s);
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
          floor_predict(view, slots.data(), times.data(), std::size_t(k), motion, om, oc);
        }
        return py::make_tuple(out_mean, out_cov);
      },
      py::arg("mean"), py::arg("cov"), py::arg("time"), py::arg("anchor"), py::arg("wander"), py::arg("slots"),
      py::arg("times"), py::arg("speed_sigma"), py::arg("turn_time_s"),
      R"doc(States (K, 4) and covariances (K, 4, 4) of the floor tracks in `slots` (K,) int64 at `times`
(K,) float64; velocity persists for about turn_time_s and spreads by speed_sigma (m/s) per axis
(an Ornstein-Uhlenbeck process, csrc/include/mctrt/floor_filter.hpp). The track arrays
(mean (S, 4), cov (S, 4, 4), time (S,), anchor (S, 2), wander (S,), float64) are not changed.)doc");

  m.def(
      "floor_update",
      [](const py::handle& mean, const py::handle& cov, const py::handle& time, const py::handle& anchor,
         const py::handle& wander, const py::handle& slots_obj, const py::handle& times_obj, const py::handle& xy_obj,
         const py::handle& xy_cov_obj, double speed_sigma, double turn_time_s, double still_window_s) {
        const FloorMotion motion = floor_motion(speed_sigma, turn_time_s);
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
        floor_update(view, slots.data(), times.data(), xy.data(), xy_cov.data(), std::size_t(k), motion, still_window_s);
      },
      py::arg("mean"), py::arg("cov"), py::arg("time"), py::arg("anchor"), py::arg("wander"), py::arg("slots"),
      py::arg("times"), py::arg("xy"), py::arg("xy_cov"), py::arg("speed_sigma"), py::arg("turn_time_s"),
      py::arg("still_window_s"),
      R"doc(Corrects the floor tracks in `slots` (K,) int64, in place, with floor positions xy (K, 2)
observed at `times` (K,) with covariances xy_cov (K, 2, 2); also moves each track's anchor and
wander (exponential averages with time constant still_window_s). The track arrays must be writeable
C-contiguous float64: mean (S, 4), cov (S, 4, 4), time (S,), anchor (S, 2), wander (S,).)doc");
}

}  // namespace mctrt::bindings
