"""FootLocator: where each of one camera's tracks stands on the floor, and how sure that is.

The rule, per box (pixels; margin = edge_margin_px):

- The foot point is the bottom centre of the box.
- Hidden feet: a box touching the image's lower edge, or one that shrank below occlusion_ratio of
  its track's last full height with its bottom (not its top) moving (something in front of the
  legs). The foot is then estimated as the box top plus that last full height, if the track had a
  full box within height_memory_s and the top is not cut; otherwise the track has no position this
  frame. Limits: a person who was never seen whole (seated behind a desk from the start) cannot be
  estimated and is placed where the box ends; a person bending or sitting down changes height for
  real, which reads as a moving top, not hidden feet.
- A box cut by the left or right edge: its centre is taken half a body width in from its edge that is
  inside the image (the body width being width_ratio of its height, or of the track's last full
  height), so a person walking in or out of view is placed where they are, not where the visible
  half of them is; its horizontal error is then estimated_foot_sigma times the height.
- The pixel error (foot_sigma, or estimated_foot_sigma, times the box height) is carried to the
  floor through the homography's derivative at the foot, so it grows with the distance from the
  camera, plus floor_sigma_m for the calibration itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mctrt.config.floor import FloorAssociationConfig
from mctrt.geometry.calibration import CameraCalibration
from mctrt.tracking.track_table import TrackTable
from mctrt.types import Tracks


@dataclass
class FloorPoints:
    """Where one camera's tracks stand, M rows aligned with its Tracks.

    Attributes:
        xy: (M, 2) float64 floor metres; NaN rows where the track has no position this frame.
        cov: (M, 2, 2) float64 covariance of xy (m^2).
        estimated: (M,) bool, the foot was estimated from the track's recent height.
    """

    xy: np.ndarray
    cov: np.ndarray
    estimated: np.ndarray

    @classmethod
    def empty(cls, m: int) -> FloorPoints:
        return cls(np.full((m, 2), np.nan), np.zeros((m, 2, 2)), np.zeros(m, bool))


class FootLocator:
    """Foot points of one calibrated camera's tracks, on the floor (see the module docstring)."""

    def __init__(self, calibration: CameraCalibration, config: FloorAssociationConfig | None = None) -> None:
        self.calibration = calibration
        self.config = config or FloorAssociationConfig()
        self._tracks = TrackTable({"full_height": np.nan, "full_top": np.nan, "full_bottom": np.nan,
                                   "full_time": -np.inf})
        self.image_size: tuple[int, int] | None = None  # of the last frame

    def locate(self, tracks: Tracks, image_size: tuple[int, int], time_s: float) -> FloorPoints:
        """Floor positions of these tracks (one frame of size (width, height)) at scene time time_s."""
        self._tracks.release(tracks.removed_id)
        self.image_size = image_size
        m = len(tracks)
        if m == 0:
            return FloorPoints.empty(0)
        cfg, table = self.config, self._tracks
        width, height = image_size
        x0, y0, x1, y1 = (tracks.xyxy[:, k].astype(np.float64) for k in range(4))
        h = y1 - y0
        rows = table.rows(tracks.track_id)
        recent = np.where(time_s - table["full_time"][rows] <= cfg.height_memory_s, table["full_height"][rows], np.nan)
        margin = cfg.edge_margin_px
        cut_bottom = y1 >= height - margin
        cut_top = y0 <= margin
        cut_left, cut_right = x0 <= margin, x1 >= width - margin
        with np.errstate(invalid="ignore"):
            shrunk = h < cfg.occlusion_ratio * recent
            bottom_moved = np.abs(y1 - table["full_bottom"][rows]) > np.abs(y0 - table["full_top"][rows])
        hidden_feet = cut_bottom | (shrunk & bottom_moved)
        estimated = hidden_feet & ~cut_top & np.isfinite(recent)
        body = np.where(estimated, recent, h)
        half_width = 0.5 * cfg.width_ratio * body
        centre = np.where(cut_left & ~cut_right, x1 - half_width, np.where(cut_right & ~cut_left, x0 + half_width,
                                                                            (x0 + x1) / 2.0))
        foot = np.c_[centre, np.where(estimated, y0 + recent, y1)]

        full = ~cut_bottom & ~cut_top & ~shrunk
        full_rows = rows[full]
        table["full_height"][full_rows] = h[full]
        table["full_top"][full_rows] = y0[full]
        table["full_bottom"][full_rows] = y1[full]
        table["full_time"][full_rows] = time_s

        undistorted = self.calibration.undistort(foot)
        xy = self.calibration.undistorted_to_floor(undistorted)
        xy[hidden_feet & ~estimated] = np.nan
        sigma_v = np.where(estimated, cfg.estimated_foot_sigma, cfg.foot_sigma) * body
        sigma_u = np.where(cut_left | cut_right, np.maximum(sigma_v, cfg.estimated_foot_sigma * body), sigma_v)
        jac = self.calibration.jacobian(undistorted)
        # cov = J diag(su^2, sv^2) J^T + floor_sigma^2 I, for every row at once.
        scaled = jac * np.stack([sigma_u, sigma_v], axis=1)[:, None, :]
        cov = scaled @ scaled.transpose(0, 2, 1) + (cfg.floor_sigma_m ** 2) * np.eye(2)
        return FloorPoints(xy, cov, estimated)

    def in_view(self, points_m: np.ndarray) -> np.ndarray:
        """(N,) bool: whether a person standing at these floor points (N, 2) would be in this camera's
        view: the foot pixel inside the last frame, at least view_margin of its width from the left and
        right edges (nearer, a person is cut off and easily missed). Before any frame: all False."""
        points_m = np.asarray(points_m, np.float64).reshape(-1, 2)
        if self.image_size is None:
            return np.zeros(len(points_m), bool)
        width, height = self.image_size
        margin = self.config.view_margin * width
        pixels = self.calibration.to_image(points_m)
        with np.errstate(invalid="ignore"):
            return ((pixels[:, 0] >= margin) & (pixels[:, 0] <= width - margin)
                    & (pixels[:, 1] >= 0) & (pixels[:, 1] <= height))
