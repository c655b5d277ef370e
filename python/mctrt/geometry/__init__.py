"""Floor geometry: camera calibration (image <-> floor metres) and where each tracked person stands."""

from mctrt.geometry.calibration import CameraCalibration, fit_homography

__all__ = ["CameraCalibration", "fit_homography"]
