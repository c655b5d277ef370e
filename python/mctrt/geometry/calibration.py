"""CameraCalibration: where a camera's pixels lie on the floor (z = 0, metres), and back.

Three ways in, one model out: a 3x3 homography from (undistorted) image pixels to floor metres, plus,
when known, the lens (intrinsics and distortion: pixels are undistorted before the homography) and
the camera's position above the floor.

- image_to_floor: the homography itself (the config's fixed contract).
- intrinsics + distortion + world_to_camera (4x4, metres, floor z = 0): the floor plane seen through
  the lens; floor -> undistorted pixel is K [r1 r2 t].
- image_points <-> floor_points (>= 4 pairs): a least-squares homography (DLT on normalised points),
  with each pair's residual in metres kept for the user to check.

Pixels above the horizon do not lie on the floor: to_floor() gives NaN for them (a homography would
put them behind the camera).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from mctrt.errors import ConfigError

NEAR_ZERO = 1e-9  # |w| below this is on the horizon (or the camera's plane): no point there
LENS_ROUND_TRIP_PX = 0.5  # a projected pixel that undistorts farther than this from its pinhole pixel is a fold
# cv2.undistortPoints stops after 5 fixed-point iterations by default: too few for strong barrel
# distortion (k1 near -0.4 leaves image corners tens of pixels short); iterate until the distorted
# re-projection is within a micro-pixel of the input.
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-6)


def _matrix(value, shape: tuple[int, ...], where: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a {'x'.join(map(str, shape))} matrix of numbers; got {value!r}") from None
    if array.shape != shape or not np.isfinite(array).all():
        raise ConfigError(f"{where} must be a {'x'.join(map(str, shape))} matrix of finite numbers; got {value!r}")
    return array


def apply_homography(h: np.ndarray, points: np.ndarray, floor_sign: float) -> np.ndarray:
    """Points (N, 2) through the homography h (3, 3); NaN rows for points whose third coordinate does
    not have floor_sign: beyond the horizon (image to floor) or behind the camera (floor to image)."""
    x, y = points[:, 0], points[:, 1]
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    out = np.empty((len(points), 2))
    with np.errstate(divide="ignore", invalid="ignore"):  # w = 0 is set to NaN below
        out[:, 0] = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w
        out[:, 1] = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w
    out[~(w * floor_sign > NEAR_ZERO)] = np.nan
    return out


def _bare_floor_sign(image_to_floor: np.ndarray) -> float:
    """floor_sign for a homography alone (see CameraCalibration.__init__)."""
    corners_w = np.array([[0.0, 0.0, 1.0], [4096.0, 0.0, 1.0], [0.0, 4096.0, 1.0], [4096.0, 4096.0, 1.0]]) @ image_to_floor[2]
    if (corners_w > 0).all() or (corners_w < 0).all():
        return float(np.sign(corners_w[0]))
    return float(np.sign(image_to_floor[2] @ np.array([0.0, 1e6, 1.0]))) or 1.0


def fit_homography(image_px: np.ndarray, floor_m: np.ndarray) -> np.ndarray:
    """Least-squares homography (3, 3) mapping image_px (N, 2) to floor_m (N, 2), N >= 4 (Hartley's
    normalised DLT: both point sets moved to their centroid and scaled to mean distance sqrt 2)."""

    def normaliser(points: np.ndarray) -> np.ndarray:
        centre = points.mean(axis=0)
        scale = np.sqrt(2.0) / max(float(np.linalg.norm(points - centre, axis=1).mean()), NEAR_ZERO)
        return np.array([[scale, 0, -scale * centre[0]], [0, scale, -scale * centre[1]], [0, 0, 1]])

    a_norm, b_norm = normaliser(image_px), normaliser(floor_m)
    a = np.c_[image_px, np.ones(len(image_px))] @ a_norm.T
    b = np.c_[floor_m, np.ones(len(floor_m))] @ b_norm.T
    rows = []
    for (x, y, _), (u, v, _) in zip(a, b):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    # The solution is V's last column. full_matrices=False keeps U at (2N, 9) instead of (2N, 2N)
    # (gigabytes for a few thousand pairs); zero rows up to 9 keep V complete with only 4 pairs.
    system = np.asarray(rows)
    system = np.vstack([system, np.zeros((max(0, 9 - len(system)), 9))])
    _, _, vt = np.linalg.svd(system, full_matrices=False)
    h = np.linalg.inv(b_norm) @ vt[-1].reshape(3, 3) @ a_norm
    return h / h[2, 2] if abs(h[2, 2]) > NEAR_ZERO else h


class CameraCalibration:
    """One camera's image <-> floor mapping.

    Attributes:
        image_to_floor: (3, 3) homography from undistorted pixels to floor metres.
        intrinsics: (3, 3) K, or None (pixels are then used as they are).
        distortion: OpenCV distortion coefficients (k1, k2, p1, p2[, k3...]), or None.
        camera_position_m: (3,) the camera's centre (x, y, height) in floor metres, or None when only
            a homography is known.
        residuals_m: (N,) floor distance between each fitted point pair's image point, mapped, and
            its floor point; None unless fitted from point pairs.
        resolution: (width, height) the calibration was made for, or None when not stated.
    """

    def __init__(self, image_to_floor: np.ndarray, *, intrinsics: np.ndarray | None = None,
                 distortion: np.ndarray | None = None, world_to_camera: np.ndarray | None = None,
                 residuals_m: np.ndarray | None = None, resolution: tuple[int, int] | None = None,
                 floor_side_w: float = 0.0, where: str = "calibration") -> None:
        if not np.isfinite(image_to_floor).all() or np.linalg.cond(image_to_floor) > 1e12:
            raise ConfigError(f"{where}: the image-to-floor homography is singular (its rows are dependent); it maps "
                              "the image onto a line, not the floor: recalibrate")
        self.image_to_floor = np.asarray(image_to_floor, np.float64)
        self.floor_to_image = np.linalg.inv(self.image_to_floor)
        self.intrinsics = intrinsics
        self.distortion = distortion
        self.world_to_camera = world_to_camera
        self.residuals_m = residuals_m
        self.resolution = resolution
        self.camera_position_m = None
        if world_to_camera is not None:
            rotation, translation = world_to_camera[:3, :3], world_to_camera[:3, 3]
            self.camera_position_m = -rotation.T @ translation
        # floor_sign: the horizon is where the homography's third coordinate w is 0; pixels on the floor
        # are on the side where w has this sign. The lens model knows which (w > 0 in front of the camera, as H = inv(K [r1 r2 t])
        # is kept unscaled); fitted pairs show it (their image points are on the floor); for a bare
        # homography, the side of every pixel of any image up to 4096 px square when the horizon misses
        # them all (a camera looking down), else the side the image rows grow towards, as for any
        # upright camera.
        self.floor_sign = float(np.sign(floor_side_w)) if floor_side_w else _bare_floor_sign(self.image_to_floor)

    # -- construction ---------------------------------------------------------------------------------

    @classmethod
    def from_homography(cls, image_to_floor, where: str = "calibration.image_to_floor") -> CameraCalibration:
        return cls(_matrix(image_to_floor, (3, 3), where), where=where)

    @classmethod
    def from_lens(cls, intrinsics, distortion, world_to_camera, *, resolution: tuple[int, int] | None = None,
                  where: str = "calibration") -> CameraCalibration:
        """From K (3x3), distortion (4, 5, 8, 12 or 14 coefficients, OpenCV order) and the 4x4
        world-to-camera transform (metres; the floor is the world's z = 0 plane)."""
        k = _matrix(intrinsics, (3, 3), f"{where}.intrinsics")
        if not (np.allclose(k[2], [0.0, 0.0, 1.0]) and k[1, 0] == 0.0 and k[0, 0] > 0.0 and k[1, 1] > 0.0):
            raise ConfigError(f"{where}.intrinsics must be K = [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0 (is "
                              f"it transposed?); got {k.tolist()!r}")
        bad_distortion = ConfigError(f"{where}.distortion must list 4, 5, 8, 12 or 14 numbers (OpenCV's k1, k2, p1, "
                                     f"p2, k3, ...) or none ([]); got {distortion!r}")
        try:
            dist = np.asarray(distortion if distortion is not None else [], np.float64).ravel()
        except (TypeError, ValueError):
            raise bad_distortion from None
        if dist.size not in (0, 4, 5, 8, 12, 14) or not np.isfinite(dist).all():
            raise bad_distortion
        pose = _matrix(world_to_camera, (4, 4), f"{where}.world_to_camera")
        if not np.allclose(pose[3], [0.0, 0.0, 0.0, 1.0]):
            raise ConfigError(f"{where}.world_to_camera must be a 4x4 transform whose last row is [0, 0, 0, 1] (is it "
                              f"transposed?); got {pose.tolist()!r}")
        rotation = pose[:3, :3]
        if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-4) or np.linalg.det(rotation) < 0:
            raise ConfigError(f"{where}.world_to_camera: its top-left 3x3 is not a rotation; give the 4x4 transform "
                              "from world (floor) coordinates to camera coordinates")
        floor_to_image = k @ np.c_[rotation[:, 0], rotation[:, 1], pose[:3, 3]]
        if abs(np.linalg.det(floor_to_image)) < NEAR_ZERO:
            raise ConfigError(f"{where}: the camera lies in the floor plane (world_to_camera puts its centre at z = 0), "
                              "so it sees the floor edge-on; give the transform from floor metres to the camera's frame")
        return cls(np.linalg.inv(floor_to_image), intrinsics=k, distortion=dist if dist.size and dist.any() else None,
                   world_to_camera=pose, resolution=resolution, floor_side_w=1.0)

    @classmethod
    def from_point_pairs(cls, image_points, floor_points, where: str = "calibration") -> CameraCalibration:
        image_px = np.asarray(image_points, np.float64)
        floor_m = np.asarray(floor_points, np.float64)
        for name, array in (("image_points", image_px), ("floor_points", floor_m)):
            if array.ndim != 2 or array.shape[1] != 2 or len(array) < 4 or not np.isfinite(array).all():
                raise ConfigError(f"{where}.{name} must list at least 4 [x, y] points; got {array.tolist()!r}")
        if len(image_px) != len(floor_m):
            raise ConfigError(f"{where}: {len(image_px)} image_points but {len(floor_m)} floor_points; give one floor "
                              "point (metres) per image point (pixels)")
        for name, array, spread in (("image_points", image_px, "the image"), ("floor_points", floor_m, "the floor")):
            if np.linalg.matrix_rank(np.c_[array, np.ones(len(array))]) < 3:
                raise ConfigError(f"{where}.{name} lie on one line; spread them over {spread} (a quadrilateral at least)")
        h = fit_homography(image_px, floor_m)
        try:
            calibration = cls(h, floor_side_w=float(h[2] @ np.r_[image_px.mean(axis=0), 1.0]))
        except ConfigError:
            raise ConfigError(f"{where}: no homography fits these point pairs; check that no three image_points (or "
                              "floor_points) lie on one line, that none repeats, and that each image point pairs with "
                              "its floor point, in the same order") from None
        calibration.residuals_m = np.linalg.norm(calibration.to_floor(image_px) - floor_m, axis=1)
        if not np.isfinite(calibration.residuals_m).all():
            raise ConfigError(f"{where}: the fitted homography puts some image_points beyond the horizon; check that "
                              "each image point and floor point pair up, in the same order")
        return calibration

    @classmethod
    def from_file(cls, path: str | Path, where: str = "calibration.file") -> CameraCalibration:
        """A calibration JSON with `intrinsic`, `distortion` and `extrinsic[0].tf` (each a `doubles`
        list, row-major; the extrinsic is world -> camera), and optionally `resolution`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            k = np.reshape(data["intrinsic"]["doubles"], (3, 3))
            dist = data.get("distortion", {}).get("doubles", [])
            pose = np.reshape(data["extrinsic"][0]["tf"]["doubles"], (4, 4))
            resolution = data.get("resolution")
            size = (resolution["width"], resolution["height"]) if isinstance(resolution, dict) else None
            if size is not None:
                if not all(isinstance(n, (int, float)) and not isinstance(n, bool) and n > 0 and float(n).is_integer()
                           for n in size):
                    raise ValueError(f"resolution must give a whole width and height > 0 in pixels; got {resolution!r}")
                size = (int(size[0]), int(size[1]))
        except FileNotFoundError:
            raise ConfigError(f"{where}: {path} does not exist; give the path of the camera's calibration JSON") from None
        except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{where}: {path} is not a calibration file with intrinsic, distortion and extrinsic "
                              f"(4x4 world -> camera) entries ({type(exc).__name__}: {exc})") from None
        return cls.from_lens(k, dist, pose, resolution=size, where=f"{where} ({path})")

    # -- mapping --------------------------------------------------------------------------------------

    def undistort(self, points_px: np.ndarray) -> np.ndarray:
        """(N, 2) pixels -> (N, 2) pixels as an ideal pinhole camera would have seen them; NaN rows where
        the lens model does not invert (far outside the frame, as a foot estimated below a box cut by
        the lower edge can be): no pinhole pixel there distorts back to the pixel given."""
        points_px = np.asarray(points_px, np.float64).reshape(-1, 2)
        if self.distortion is None or not len(points_px):
            return points_px
        src, k, identity = points_px[:, None, :], self.intrinsics, np.eye(3)
        if hasattr(cv2, "undistortPointsIter"):  # OpenCV 4.x; 5.x gave undistortPoints the criteria instead
            out = cv2.undistortPointsIter(src, k, self.distortion, identity, k, _UNDISTORT_CRITERIA)[:, 0, :]
        else:
            out = cv2.undistortPoints(src, k, self.distortion, R=identity, P=k, criteria=_UNDISTORT_CRITERIA)[:, 0, :]
        rays = np.c_[out, np.ones(len(out))] @ np.linalg.inv(k).T
        back = cv2.projectPoints(rays[:, None, :], np.zeros(3), np.zeros(3), k, self.distortion)[0][:, 0, :]
        with np.errstate(invalid="ignore"):
            out[~(np.linalg.norm(back - points_px, axis=1) < LENS_ROUND_TRIP_PX)] = np.nan
        return out

    def to_floor(self, points_px: np.ndarray) -> np.ndarray:
        """(N, 2) image pixels -> (N, 2) floor metres; NaN rows for pixels at or above the horizon."""
        return self.undistorted_to_floor(self.undistort(points_px))

    def undistorted_to_floor(self, points_px: np.ndarray) -> np.ndarray:
        return apply_homography(self.image_to_floor, points_px, self.floor_sign)

    @property
    def knows_pose(self) -> bool:
        """Whether the camera's pose (and so the vertical) is known: set for from_lens/from_file."""
        return self.world_to_camera is not None

    def floor_below(self, points_px: np.ndarray, height_m: float) -> np.ndarray:
        """(N, 2) undistorted pixels of points height_m above the floor -> (N, 2) floor metres right
        below them; NaN rows where that line of sight does not reach the height in front of the
        camera. Needs the pose (knows_pose): the plane z = height_m is seen through K [r1 r2 h r3 + t]."""
        if not self.knows_pose:
            raise ValueError("floor_below needs the camera's pose (intrinsics and world_to_camera)")
        rotation, translation = self.world_to_camera[:3, :3], self.world_to_camera[:3, 3]
        plane_to_image = self.intrinsics @ np.c_[rotation[:, 0], rotation[:, 1], height_m * rotation[:, 2] + translation]
        # the third coordinate of inv(plane_to_image) @ pixel is 1 / depth: positive in front of the camera
        return apply_homography(np.linalg.inv(plane_to_image), np.asarray(points_px, np.float64).reshape(-1, 2), 1.0)

    def jacobian(self, points_px: np.ndarray) -> np.ndarray:
        """(N, 2) undistorted pixels -> (N, 2, 2) d(floor x, y) / d(pixel u, v) of the homography: how a
        pixel of error there becomes metres (it grows with the distance from the camera)."""
        h, x, y = self.image_to_floor, points_px[:, 0], points_px[:, 1]
        w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
        out = np.empty((len(points_px), 2, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            for row in (0, 1):  # d(f / w) / du = (df/du - (f / w) dw/du) / w for f the row's numerator
                floor = (h[row, 0] * x + h[row, 1] * y + h[row, 2]) / w
                for col in (0, 1):
                    out[:, row, col] = (h[row, col] - floor * h[2, col]) / w
        return out

    def lens_agrees(self, points_m: np.ndarray, image_px: np.ndarray) -> np.ndarray:
        """(N,) bool: whether to_image()'s pixels (N, 2) of these floor points (N, 2) are where the lens
        model is one-to-one: undistorted, each comes back to the point's pinhole pixel. Far outside
        the frame a distortion polynomial folds back, and a point metres behind the image's edge
        lands inside it. Without distortion: all True."""
        points_m = np.asarray(points_m, np.float64).reshape(-1, 2)
        ok = np.isfinite(image_px).all(axis=1)
        if self.distortion is not None and ok.any():
            pinhole = apply_homography(self.floor_to_image, points_m[ok], self.floor_sign)
            ok[ok] = np.linalg.norm(self.undistort(image_px[ok]) - pinhole, axis=1) < LENS_ROUND_TRIP_PX
        return ok

    def to_image(self, points_m: np.ndarray) -> np.ndarray:
        """(N, 2) floor metres -> (N, 2) image pixels (through the lens when it is known); NaN rows for
        floor points behind the camera."""
        points_m = np.asarray(points_m, np.float64).reshape(-1, 2)
        out = apply_homography(self.floor_to_image, points_m, self.floor_sign)
        if self.distortion is not None and self.world_to_camera is not None and len(points_m):
            pose = self.world_to_camera
            rvec, _ = cv2.Rodrigues(pose[:3, :3])
            world = np.zeros((len(points_m), 1, 3))
            world[:, 0, :2] = points_m
            lens = cv2.projectPoints(world, rvec, pose[:3, 3], self.intrinsics, self.distortion)[0][:, 0, :]
            out = np.where(np.isnan(out), np.nan, np.asarray(lens, np.float64))  # behind the camera stays NaN
        return out
