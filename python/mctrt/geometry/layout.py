"""The floor as a map: where each calibrated camera stands and what part of the floor it sees, the
floor zones and lines, and bounds that frame them all (for the dashboard's floor view)."""

from __future__ import annotations

import numpy as np

from mctrt.config import PipelineConfig
from mctrt.geometry.calibration import NEAR_ZERO, CameraCalibration

_EDGE_SAMPLES = 24  # points per image edge when tracing a camera's view on the floor
MAX_VIEW_RANGE_M = 25.0  # a view is cut this far beyond the nearest floor point it shows


def field_of_view(calibration: CameraCalibration, image_size: tuple[int, int]) -> list[list[float]]:
    """The floor polygon (metres) the camera sees: its image border mapped to the floor, cut
    MAX_VIEW_RANGE_M beyond the nearest floor point it shows. Where the camera's position is known
    the cut is measured from its foot, and the border above the horizon is put at the cut along its
    line of sight (a camera on a building may see nothing nearer than 30 m, and its far edge is the
    horizon); with a bare homography that part of the border is left out."""
    w, h = image_size
    t = np.linspace(0.0, 1.0, _EDGE_SAMPLES, endpoint=False)
    border = np.concatenate([np.c_[t * w, np.zeros_like(t)], np.c_[np.full_like(t, w), t * h],
                             np.c_[(1 - t) * w, np.full_like(t, h)], np.c_[np.zeros_like(t), (1 - t) * h]])
    floor = calibration.to_floor(border)
    seen = ~np.isnan(floor[:, 0])
    if not seen.any():
        return []
    if calibration.camera_position_m is not None:
        origin = calibration.camera_position_m[:2]
        reach = MAX_VIEW_RANGE_M + np.linalg.norm(floor[seen] - origin, axis=1).min()
        rotation, k = calibration.world_to_camera[:3, :3], calibration.intrinsics
        pixels = np.c_[calibration.undistort(border), np.ones(len(border))]
        heading = (rotation.T @ np.linalg.solve(k, pixels.T)).T[:, :2]  # each line of sight, seen from above
        length = np.linalg.norm(heading, axis=1)
        aims = length > NEAR_ZERO  # straight down has no heading (and then sees the floor)
        above = ~seen & aims
        floor[above] = origin + heading[above] / length[above, None] * reach
        floor = floor[~np.isnan(floor[:, 0])]
    else:
        floor = floor[seen]
        near = calibration.to_floor(np.array([[w / 2.0, float(h)]]))[0]
        origin = near if np.isfinite(near).all() else floor.mean(axis=0)
        reach = MAX_VIEW_RANGE_M
    offset = floor - origin
    distance = np.linalg.norm(offset, axis=1)
    far = distance > reach
    floor[far] = origin + offset[far] / distance[far, None] * reach
    return np.round(floor, 3).tolist()


def floor_layout(config: PipelineConfig, image_sizes: dict[str, tuple[int, int]]) -> dict:
    """The floor view's map: cameras (calibrated or not, position and height when known, the floor
    they see once their image size is known), floor zones and lines, and [x_min, y_min, x_max,
    y_max] bounds around all of them (metres)."""
    cameras, points = [], []
    for item in config.inputs:
        entry = {"camera_id": item.camera_id, "calibrated": item.calibration is not None, "position": None,
                 "height_m": None, "view": []}
        if item.calibration is not None:
            calibration = item.calibration.camera
            if calibration.camera_position_m is not None:
                x, y, z = calibration.camera_position_m.tolist()
                entry["position"], entry["height_m"] = [round(x, 3), round(y, 3)], round(z, 3)
                points.append([x, y])
            size = image_sizes.get(item.camera_id) or calibration.resolution
            if size:
                entry["view"] = field_of_view(calibration, size)
                points += entry["view"]
        cameras.append(entry)
    zones = [{"name": z.name, "polygon_m": [list(p) for p in z.polygon_m], "dwell_threshold_s": z.dwell_threshold_s}
             for z in config.events.zones if z.on_floor]
    lines = [{"name": line.name, "points_m": [list(p) for p in line.points_m]} for line in config.events.lines
             if line.on_floor]
    for shape in [z["polygon_m"] for z in zones] + [line["points_m"] for line in lines]:
        points += shape
    bounds = None
    if points:
        array = np.asarray(points, np.float64)
        bounds = np.round(np.r_[array.min(axis=0), array.max(axis=0)], 3).tolist()
    return {"cameras": cameras, "zones": zones, "lines": lines, "bounds": bounds}
