// KalmanFilter, ByteTrackConfig and ByteTracker. The tracker's update is the per-frame crossing:
// arrays in, arrays out, the GIL released while it works.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <array>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>

#include "arrays.hpp"
#include "mctrt/byte_tracker.hpp"
#include "mctrt/kalman_filter.hpp"

namespace mctrt::bindings {
namespace {

KalmanState state_from(const py::handle& mean_obj, const py::handle& cov_obj) {
  const auto mean = require_array<double>(mean_obj, "mean", {8}, "(8,)");
  const auto cov = require_array<double>(cov_obj, "covariance", {8, 8}, "(8, 8)");
  KalmanState s;
  std::copy(mean.data(), mean.data() + 8, s.mean.begin());
  std::copy(cov.data(), cov.data() + 64, s.covariance.begin());
  return s;
}

std::array<double, 4> xyah_from(const py::handle& obj) {
  const auto a = require_array<double>(obj, "xyah", {4}, "(4,)");
  return {a.data()[0], a.data()[1], a.data()[2], a.data()[3]};
}

py::tuple state_to_tuple(const KalmanState& s) {
  return py::make_tuple(copy_to_array(s.mean.data(), {8}), copy_to_array(s.covariance.data(), {8, 8}));
}

// The tracker plus a lock: one tracker serves one camera, but a second Python thread calling it
// while the GIL is released must wait rather than corrupt it.
struct LockedTracker {
  explicit LockedTracker(const ByteTrackConfig& config) : tracker(config) {}

  // Runs fn(tracker) under the lock, taken without holding the GIL.
  template <typename Fn>
  auto locked(Fn fn) {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex);
    return fn(tracker);
  }

  ByteTracker tracker;
  std::mutex mutex;
};

void bind_kalman(py::module_& m) {
  py::class_<KalmanFilter>(m, "KalmanFilter", R"doc(The ByteTrack/DeepSORT constant-velocity Kalman filter.

State (8,) = (cx, cy, a, h, vcx, vcy, va, vh) with a = width / height; covariance (8, 8); measurements
are xyah (4,). All arrays are float64. Methods return new arrays and never modify their arguments.)doc")
      .def(py::init([](double velocity_noise) {
             if (!(velocity_noise > 0) || !std::isfinite(velocity_noise))
               throw py::value_error("velocity_noise must be a positive fraction of the box height");
             return KalmanFilter(velocity_noise);
           }),
           py::arg("velocity_noise") = KalmanFilter::kStdWeightVelocity,
           "velocity_noise: the velocities' process noise per frame, a fraction of the box height (std)")
      .def_property_readonly("velocity_noise", &KalmanFilter::velocity_noise)
      .def_readonly_static("std_weight_position", &KalmanFilter::kStdWeightPosition)
      .def_readonly_static("std_weight_velocity", &KalmanFilter::kStdWeightVelocity)
      .def(
          "initiate", [](const KalmanFilter& kf, const py::handle& xyah) { return state_to_tuple(kf.initiate(xyah_from(xyah))); },
          py::arg("xyah"), "xyah (4,) -> (mean (8,), covariance (8, 8)) of a new track.")
      .def(
          "predict",
          [](const KalmanFilter& kf, const py::handle& mean, const py::handle& cov, double dt) {
            if (!(dt >= 0) || !std::isfinite(dt)) throw py::value_error("dt must be a finite number of frames >= 0");
            KalmanState s = state_from(mean, cov);
            kf.predict(s, dt);
            return state_to_tuple(s);
          },
          py::arg("mean"), py::arg("covariance"), py::arg("dt") = 1.0,
          "dt frames ahead (default one): (mean (8,), covariance (8, 8)).")
      .def(
          "multi_predict",
          [](const KalmanFilter& kf, const py::handle& means_obj, const py::handle& covs_obj) {
            const auto means = require_array<double>(means_obj, "means", {-1, 8}, "(N, 8)");
            const auto covs = require_array<double>(covs_obj, "covariances", {-1, 8, 8}, "(N, 8, 8)");
            if (covs.shape(0) != means.shape(0))
              throw py::value_error("covariances has " + std::to_string(covs.shape(0)) + " rows but means has " +
                                    std::to_string(means.shape(0)) + "; pass one (8, 8) covariance per mean");
            const std::size_t n = std::size_t(means.shape(0));
            std::vector<KalmanState> states(n);
            for (std::size_t k = 0; k < n; ++k) {
              std::copy(means.data() + 8 * k, means.data() + 8 * k + 8, states[k].mean.begin());
              std::copy(covs.data() + 64 * k, covs.data() + 64 * k + 64, states[k].covariance.begin());
            }
            kf.multi_predict(states.data(), n);
            py::array_t<double> out_means({py::ssize_t(n), py::ssize_t(8)});
            py::array_t<double> out_covs({py::ssize_t(n), py::ssize_t(8), py::ssize_t(8)});
            for (std::size_t k = 0; k < n; ++k) {
              std::copy(states[k].mean.begin(), states[k].mean.end(), out_means.mutable_data() + 8 * k);
              std::copy(states[k].covariance.begin(), states[k].covariance.end(), out_covs.mutable_data() + 64 * k);
            }
            return py::make_tuple(out_means, out_covs);
          },
          py::arg("means"), py::arg("covariances"), "Batched predict: (N, 8), (N, 8, 8) -> same shapes.")
      .def(
          "project",
          [](const KalmanFilter& kf, const py::handle& mean, const py::handle& cov) {
            std::array<double, 4> pm;
            std::array<double, 16> pc;
            kf.project(state_from(mean, cov), pm, pc);
            return py::make_tuple(copy_to_array(pm.data(), {4}), copy_to_array(pc.data(), {4, 4}));
          },
          py::arg("mean"), py::arg("covariance"), "To measurement space: (mean (4,), innovation covariance (4, 4)).")
      .def(
          "update",
          [](const KalmanFilter& kf, const py::handle& mean, const py::handle& cov, const py::handle& xyah) {
            KalmanState s = state_from(mean, cov);
            if (!kf.update(s, xyah_from(xyah)))
              throw py::value_error("covariance is degenerate: its projection is not positive definite");
            return state_to_tuple(s);
          },
          py::arg("mean"), py::arg("covariance"), py::arg("xyah"), "Correct with a measurement xyah (4,).")
      .def(
          "gating_distance",
          [](const KalmanFilter& kf, const py::handle& mean, const py::handle& cov, const py::handle& meas_obj,
             bool only_position) {
            const KalmanState s = state_from(mean, cov);
            const auto meas = require_array<double>(meas_obj, "measurements", {-1, 4}, "(M, 4)");
            const std::size_t n = std::size_t(meas.shape(0));
            py::array_t<double> out(py::ssize_t{static_cast<py::ssize_t>(n)});
            for (std::size_t k = 0; k < n; ++k) {
              const double* z = meas.data() + 4 * k;
              out.mutable_data()[k] = kf.gating_distance(s, {z[0], z[1], z[2], z[3]}, only_position);
            }
            return out;
          },
          py::arg("mean"), py::arg("covariance"), py::arg("measurements"), py::arg("only_position") = false,
          "Squared Mahalanobis distances (M,) of xyah measurements (M, 4) to the projected state.");
}

void bind_config(py::module_& m) {
  py::class_<ByteTrackConfig>(m, "ByteTrackConfig",
                              "C++ mirror of mctrt.config.ByteTrackConfig (use that one; this exists for the binding).")
      .def(py::init<>())
      .def_readwrite("track_thresh", &ByteTrackConfig::track_thresh)
      .def_readwrite("low_thresh", &ByteTrackConfig::low_thresh)
      .def_readwrite("new_track_thresh", &ByteTrackConfig::new_track_thresh)
      .def_readwrite("match_thresh", &ByteTrackConfig::match_thresh)
      .def_readwrite("second_match_thresh", &ByteTrackConfig::second_match_thresh)
      .def_readwrite("unconfirmed_match_thresh", &ByteTrackConfig::unconfirmed_match_thresh)
      .def_readwrite("duplicate_iou", &ByteTrackConfig::duplicate_iou)
      .def_readwrite("distance_gate", &ByteTrackConfig::distance_gate)
      .def_readwrite("motion_gate", &ByteTrackConfig::motion_gate)
      .def_readwrite("velocity_noise", &ByteTrackConfig::velocity_noise)
      .def_readwrite("confirm_frames", &ByteTrackConfig::confirm_frames)
      .def_readwrite("fuse_score", &ByteTrackConfig::fuse_score)
      .def_readwrite("track_buffer", &ByteTrackConfig::track_buffer)
      .def_readwrite("frame_rate", &ByteTrackConfig::frame_rate)
      .def("validate", &ByteTrackConfig::validate, "Raises ValueError naming the first field out of range.")
      .def_property_readonly("max_frames_lost", &ByteTrackConfig::max_frames_lost);
}

void bind_tracker(py::module_& m) {
  py::class_<LockedTracker>(m, "ByteTracker", "ByteTrack for one camera (see mctrt.tracking.ByteTracker).")
      .def(py::init<const ByteTrackConfig&>(), py::arg("config"))
      .def(
          "update",
          [](LockedTracker& self, const py::handle& xyxy_obj, const py::handle& scores_obj, double time) {
            const auto xyxy = require_array<float>(xyxy_obj, "xyxy", {-1, 4}, "(N, 4)");
            const auto scores = require_array<float>(scores_obj, "scores", {-1}, "(N,)");
            if (scores.shape(0) != xyxy.shape(0))
              throw py::value_error("scores has " + std::to_string(scores.shape(0)) + " entries but xyxy has " +
                                    std::to_string(xyxy.shape(0)) + " boxes; pass one score per box");
            // Lock without the GIL (a waiting thread must not hold it), then keep the lock while the
            // GIL is taken back to copy the output, so no other update can overwrite it meanwhile.
            std::unique_lock<std::mutex> lock(self.mutex, std::defer_lock);
            const TrackList* out = nullptr;
            {
              py::gil_scoped_release release;
              lock.lock();
              out = &self.tracker.update(xyxy.data(), scores.data(), std::size_t(xyxy.shape(0)), time);
            }
            const py::ssize_t n = py::ssize_t(out->size());
            const py::ssize_t k = py::ssize_t(out->removed_id.size());
            return py::make_tuple(copy_to_array(out->xyxy.data(), {n, 4}), copy_to_array(out->track_id.data(), {n}),
                                  copy_to_array(out->score.data(), {n}), copy_to_array(out->det_index.data(), {n}),
                                  copy_to_array(out->removed_id.data(), {k}));
          },
          py::arg("xyxy"), py::arg("scores"), py::arg("time") = std::numeric_limits<double>::quiet_NaN(),
          "xyxy (N, 4) float32, scores (N,) float32, time (capture seconds, NaN: one frame later) -> (xyxy (M, 4) float32, track_id (M,) int64, "
          "score (M,) float32, det_index (M,) int64, removed_id (K,) int64).")
      .def(
          "reset",
          [](LockedTracker& self) {
            const auto removed = self.locked([](ByteTracker& t) { return t.reset(); });
            return copy_to_array(removed.data(), {py::ssize_t(removed.size())});
          },
          "Forget every track and start IDs at 1 again; returns the confirmed tracks' IDs (K,) int64.")
      .def_property_readonly("frame_id",
                             [](LockedTracker& self) { return self.locked([](ByteTracker& t) { return t.frame_id(); }); })
      .def_property_readonly(
          "num_tracked", [](LockedTracker& self) { return self.locked([](ByteTracker& t) { return t.num_tracked(); }); })
      .def_property_readonly(
          "num_lost", [](LockedTracker& self) { return self.locked([](ByteTracker& t) { return t.num_lost(); }); });
}

}  // namespace

void bind_tracking(py::module_& m) {
  bind_kalman(m);
  bind_config(m);
  bind_tracker(m);
}

}  // namespace mctrt::bindings
