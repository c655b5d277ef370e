"""FootLocator: where each calibrated camera's tracks stand on the floor, and how sure that is.

The rule, per box (pixels; margin = edge_margin_px), run for every box of a step in C++
(core.foot_points and core.feet_to_floor, csrc/src/feet.cpp):

- The foot point is the bottom centre of the box.
- Hidden feet: a box touching the image's lower edge, or one that shrank below occlusion_ratio of
  its track's full height with its bottom (not its top) moving (something in front of the legs),
  or, in a camera whose pose is known, one whose bottom centre lies inside a box of the same camera
  reaching lower by over a tenth of its height (a nearer person in front of the legs). The foot is
  then estimated as the box top plus that full height, if the track had a whole box within
  height_memory_s and the top is not cut. Otherwise, where the pose is known, the box top is taken
  to be head_height_m above the floor and the person stands below it, the spread of that height
  (head_height_sigma_m: seated or standing, short or tall) added to the uncertainty along the line
  of sight; elsewhere the track has no position this frame. Only posed cameras test for a nearer
  person: with a bare homography a person never seen whole cannot be placed, and on PETS09's tuning
  cuts the test cost 0.007 IDF1 (README).
  The full height moves halfway to each whole box's height: one box of two people merged (or of
  the tracker jumping to another person) does not make the person taller at once, which would make
  their next whole box read as hidden legs. Limits: a person who was never seen whole (seated behind a desk from the start) and is
  not behind a person is placed where the box ends; a person bending or sitting down changes height
  for real, which reads as a moving top, not hidden feet; placed from the head, a seated person is
  put too near the camera (by a fifth of their distance from it for a 1.3 m head against 1.6 m,
  at a camera 3 m up: about one standard deviation of the spread the height's uncertainty gives).
- A box cut by the left or right edge: its centre is taken half a body width in from its edge that is
  inside the image (the body width being width_ratio of its height, or of the track's full
  height), so a person walking in or out of view is placed where they are, not where the visible
  half of them is; its horizontal error is then estimated_foot_sigma times the height.
- The pixel error (foot_sigma, or estimated_foot_sigma, times the box height) is carried to the
  floor through the homography's derivative at the foot, so it grows with the distance from the
  camera, plus floor_sigma_m for the calibration itself.
- A position whose standard deviation passes MAX_FLOOR_SIGMA_M (a foot just below the horizon of a
  homography, thousands of metres off) is no position: it would say nothing, and overflow the
  floor tracks fused from it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from mctrt._native import core
from mctrt.config.floor import FloorAssociationConfig
from mctrt.geometry.calibration import NEAR_ZERO, CameraCalibration, apply_homography
from mctrt.geometry.layout import field_of_view
from mctrt.tracking.track_table import TrackTable
from mctrt.types import Tracks

MAX_FLOOR_SIGMA_M = 5.0  # a position less sure than this (per axis, on average) is none; PETS09's farthest are ~1 m


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


@dataclass
class CameraFrame:
    """One calibrated camera's tracks in one frame, as the FootLocator takes them."""

    camera_id: str
    tracks: Tracks
    image_size: tuple[int, int]  # (width, height)
    time_s: float


class FootLocator:
    """Foot points of the tracks of every calibrated camera, on the floor (see the module docstring).
    All cameras of a step are placed in one pass of array operations; each keeps its own per-track
    state (the full height)."""

    _CAMERA_SHIFT = 1 << 40  # a track's key: camera index * shift + track ID

    def __init__(self, calibrations: dict[str, CameraCalibration], config: FloorAssociationConfig | None = None) -> None:
        self.calibrations = dict(calibrations)
        self.config = config or FloorAssociationConfig()
        self._index = {cam: k for k, cam in enumerate(self.calibrations)}
        ordered = list(self.calibrations.values())
        self._to_floor = np.stack([c.image_to_floor for c in ordered]) if ordered else np.zeros((0, 3, 3))
        self._to_image = np.stack([c.floor_to_image for c in ordered]) if ordered else np.zeros((0, 3, 3))
        self._sign = np.array([c.floor_sign for c in ordered], np.float64)
        self._special = {cam for cam, c in self.calibrations.items() if c.knows_pose or c.distortion is not None}
        self._rule = _foot_rule(self.config)
        self._tracks = TrackTable({"full_height": np.nan, "full_top": np.nan, "full_bottom": np.nan,
                                   "full_time": -np.inf})
        self.image_sizes: dict[str, tuple[int, int]] = {}  # of each camera's last frame
        self._views: tuple = (None, None)  # (image sizes, _view_arrays() for them)
        self._site: tuple = (None, None, None)  # (image sizes, the site's corners for them, its edges)

    def __getstate__(self) -> dict:  # a central's checkpoint; the rule (C++ settings) is rebuilt from the config
        return {k: v for k, v in self.__dict__.items() if k != "_rule"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _rule=_foot_rule(state["config"]))

    def __contains__(self, camera_id: str) -> bool:
        return camera_id in self._index

    def drop(self, camera_id: str) -> None:
        """Stop placing this camera's tracks (its calibration does not fit its images)."""
        self._index.pop(camera_id, None)
        self.image_sizes.pop(camera_id, None)

    def locate(self, frames: list[CameraFrame]) -> list[FloorPoints]:
        """Floor positions of these calibrated cameras' tracks, one FloorPoints per frame."""
        table = self._tracks
        index = np.array([self._index[f.camera_id] for f in frames], np.int64)
        removed = [f.tracks.removed_id for f in frames]
        if any(len(r) for r in removed):
            table.release(self._keys(np.repeat(index, [len(r) for r in removed]), np.concatenate(removed)))
        for f in frames:
            self.image_sizes[f.camera_id] = f.image_size
        counts = [len(f.tracks) for f in frames]
        if not sum(counts):
            return [FloorPoints.empty(0) for _ in frames]
        camera = np.repeat(index, counts)
        xyxy = np.concatenate([f.tracks.xyxy for f in frames]).astype(np.float64)
        image_wh = np.repeat(np.array([f.image_size for f in frames], np.float64), counts, axis=0)
        time_s = np.repeat(np.array([f.time_s for f in frames], np.float64), counts)
        rows = table.rows(self._keys(camera, np.concatenate([f.tracks.track_id for f in frames])))
        slices = self._slices(counts)
        # Cameras whose pose or lens is known need more than the one pass below, camera by camera.
        special = [(f, s, self.calibrations[f.camera_id].knows_pose) for f, s in zip(frames, slices)
                   if s.stop > s.start and f.camera_id in self._special]
        occluded = np.zeros(len(xyxy), bool)
        for _, s, p in special:
            if p:
                occluded[s] = self._occluded(xyxy[s])
        foot, body, hidden, estimated, cut_side = core.foot_points(
            self._rule, xyxy, image_wh, time_s, rows, occluded, table["full_height"], table["full_top"],
            table["full_bottom"], table["full_time"])
        spread = []  # (rows, (K, 2) floor metres per standard deviation of the head's height) placed from the head
        for f, s, p in special:  # only lenses need OpenCV
            calibration = self.calibrations[f.camera_id]
            head = np.flatnonzero(hidden[s] & ~estimated[s] & (xyxy[s, 1] > self.config.edge_margin_px)) if p else ()
            if len(head):  # the box top above the foot point (cut sides allowed for), before undistorting it
                top = np.c_[foot[s][head, 0], xyxy[s][head, 1]]
            if calibration.distortion is not None:
                foot[s] = calibration.undistort(foot[s])
            if len(head):
                spread.append(self._place_by_head(calibration, s.start + head, calibration.undistort(top), foot, body,
                                                  estimated))
        xy, cov = core.feet_to_floor(self._rule, self._to_floor, self._sign, camera, foot, body, hidden, estimated,
                                     cut_side, NEAR_ZERO)
        for placed, along in spread:
            cov[placed] += along[:, :, None] * along[:, None, :]
        vague = ~(np.trace(cov, axis1=1, axis2=2) <= 2.0 * MAX_FLOOR_SIGMA_M ** 2) | ~np.isfinite(xy).all(axis=1)
        xy[vague] = np.nan
        return [FloorPoints(xy[s], cov[s], estimated[s]) for s in slices]

    @staticmethod
    def _slices(counts: list[int]) -> list[slice]:
        """Each camera's rows of the step's arrays, from the cameras' row counts."""
        return [slice(end - n, end) for n, end in zip(counts, itertools.accumulate(counts))]

    @staticmethod
    def _occluded(xyxy: np.ndarray) -> np.ndarray:
        """(N,) bool for one camera's boxes (N, 4): the bottom centre lies inside another box that
        reaches lower by over a tenth of this box's height: a nearer person stands in front of the legs."""
        x0, y0, x1, y1 = (xyxy[:, k] for k in range(4))
        middle, reach = 0.5 * (x0 + x1), y1 + 0.1 * (y1 - y0)
        inside = (x0[None] < middle[:, None]) & (middle[:, None] < x1[None]) & (y0[None] < y1[:, None]) \
            & (reach[:, None] < y1[None])
        np.fill_diagonal(inside, False)
        return inside.any(axis=1)

    def _place_by_head(self, calibration: CameraCalibration, rows: np.ndarray, top: np.ndarray, foot: np.ndarray,
                       body: np.ndarray, estimated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Place rows whose feet are hidden from their box tops (undistorted pixels, K, 2), taken
        head_height_m above the floor: their foot pixel becomes that of the floor point below, body
        the pixels between, and they count as estimated. Returns the rows placed and, per row, how far
        (floor metres) one standard deviation of the height moves them along the line of sight."""
        cfg = self.config
        lower, middle, higher = (calibration.floor_below(top, cfg.head_height_m + k * cfg.head_height_sigma_m)
                                 for k in (-1, 0, 1))
        below = apply_homography(calibration.floor_to_image, middle, calibration.floor_sign)
        ok = np.isfinite(lower).all(axis=1) & np.isfinite(higher).all(axis=1) & (below[:, 1] > top[:, 1])
        placed = rows[ok]
        foot[placed] = below[ok]
        body[placed] = below[ok, 1] - top[ok, 1]
        estimated[placed] = True
        return placed, 0.5 * (lower[ok] - higher[ok])

    def in_view(self, camera_id: str, points_m: np.ndarray) -> np.ndarray:
        """(N,) bool: whether a person standing at these floor points (N, 2) would be in this camera's
        view: the foot pixel inside its last frame, at least view_margin of its width from the left and
        right edges (nearer, a person is cut off and easily missed). Before any frame: all False."""
        points_m = np.asarray(points_m, np.float64).reshape(-1, 2)
        size = self.image_sizes.get(camera_id)
        if size is None:
            return np.zeros(len(points_m), bool)
        calibration = self.calibrations[camera_id]
        pixels = calibration.to_image(points_m)
        inside = self._inside(pixels[:, 0], pixels[:, 1], *size)
        inside[inside] = calibration.lens_agrees(points_m[inside], pixels[inside])  # not a fold of the lens model
        return inside

    def views_of(self, points_m: np.ndarray) -> dict[str, np.ndarray]:
        """in_view of every camera that has had a frame: camera_id -> (N,) bool. The cameras without
        lens distortion are projected together, in one matrix product."""
        points_m = np.asarray(points_m, np.float64).reshape(-1, 2)
        lens, plane, to_image, sign, size = self._view_arrays()
        if not len(points_m):
            return {cam: np.zeros(0, bool) for cam in lens + plane}
        out = {cam: self.in_view(cam, points_m) for cam in lens}
        if plane:
            homogeneous = np.ones((3, len(points_m)))
            homogeneous[:2] = points_m.T
            projected = to_image @ homogeneous  # (C, 3, N)
            w = projected[:, 2]
            w = np.where(w * sign > NEAR_ZERO, w, np.nan)  # behind the camera: NaN, so never inside
            inside = self._inside(projected[:, 0] / w, projected[:, 1] / w, size[:, :1], size[:, 1:])
            out.update(zip(plane, inside))
        return out

    def on_site(self, points_m: np.ndarray) -> np.ndarray:
        """(N,) bool: whether floor points lie on the site, the convex hull of the floor that the
        cameras with a frame see (layout.field_of_view). A person out of sight on the site is in a
        blind spot between views; one off it has left. Before any frame: all False."""
        points_m = np.asarray(points_m, np.float64).reshape(-1, 2)
        key = tuple(self.image_sizes.items())
        if self._site[0] != key:
            seen = [p for cam, size in self.image_sizes.items() for p in field_of_view(self.calibrations[cam], size)]
            corners = cv2.convexHull(np.array(seen, np.float32)).reshape(-1, 2).astype(np.float64) if len(seen) >= 3 else None
            edge = None if corners is None else np.roll(corners, -1, axis=0) - corners  # (K, 2)
            self._site = (key, corners, edge)
        _, corners, edge = self._site
        if corners is None:
            return np.zeros(len(points_m), bool)
        # inside a convex polygon: on one side of every edge
        side = edge[None, :, 0] * (points_m[:, None, 1] - corners[None, :, 1]) \
            - edge[None, :, 1] * (points_m[:, None, 0] - corners[None, :, 0])
        return (side >= 0).all(axis=1) | (side <= 0).all(axis=1)

    def _view_arrays(self) -> tuple:
        """The cameras with a frame, lens ones apart, and the plane ones' floor -> image homographies
        (C, 3, 3), floor sides (C, 1) and image sizes (C, 2): made again only when a camera's image
        size changes."""
        key = tuple(self.image_sizes.items())
        if self._views[0] != key:
            lens = [cam for cam in self.image_sizes if self.calibrations[cam].distortion is not None]
            plane = [cam for cam in self.image_sizes if self.calibrations[cam].distortion is None]
            index = [self._index[cam] for cam in plane]
            size = np.array([self.image_sizes[cam] for cam in plane], np.float64).reshape(-1, 2)
            self._views = (key, (lens, plane, self._to_image[index], self._sign[index, None], size))
        return self._views[1]

    def _inside(self, u: np.ndarray, v: np.ndarray, width, height) -> np.ndarray:
        """Pixels inside the image less view_margin of its width on the left and right (NaN: outside)."""
        margin = self.config.view_margin * width
        return (u >= margin) & (u <= width - margin) & (v >= 0) & (v <= height)

    def _keys(self, camera: np.ndarray, track_ids: np.ndarray) -> np.ndarray:
        """Table keys of tracks (N,) of cameras (N,) by index."""
        return camera * self._CAMERA_SHIFT + np.asarray(track_ids, np.int64)


def _foot_rule(cfg: FloorAssociationConfig) -> core.FootRule:
    return core.FootRule(height_memory_s=cfg.height_memory_s, edge_margin_px=cfg.edge_margin_px,
                         occlusion_ratio=cfg.occlusion_ratio, width_ratio=cfg.width_ratio, foot_sigma=cfg.foot_sigma,
                         estimated_foot_sigma=cfg.estimated_foot_sigma, floor_sigma_m=cfg.floor_sigma_m)
