"""The floor as a map: where each calibrated camera stands and what part of the floor it sees, the
floor zones and lines, and bounds that frame them all (for the dashboard's floor view)."""

from __future__ import annotations

import numpy as np

from mctrt.config import PipelineConfig
from mctrt.geometry.calibration import CameraCalibration

_EDGE_SAMPLES = 24  # points per image edge when tracing a camera's view on the floor
MAX_VIEW_RANGE_M = 25.0  # a view is cut this far from the camera (or from its nearest floor point)


def field_of_view(calibration: CameraCalibration, image_size: tuple[int, int]) -> list[list[float]]:
    """The floor polygon (metres) the camera sees: its image border mapped to the floor, the part
    above the horizon left out and the rest cut at MAX_VIEW_RANGE_M."""
    w, h = image_size
    t = np.linspace(0.0, 1.0, _EDGE_SAMPLES, endpoint=False)
    border = np.concatenate([np.c_[t * w, np.zeros_like(t)], np.c_[np.full_like(t, w), t * h],
                             np.c_[(1 - t) * w, np.full_like(t, h)], np.c_[np.zeros_like(t), (1 - t) * h]])
    floor = calibration.to_floor(border)
    floor = floor[~np.isnan(floor[:, 0])]
    if not len(floor):
        return []
    if calibration.camera_position_m is not None:
        origin = calibration.camera_position_m[:2]
    else:
        near = calibration.to_floor(np.array([[w / 2.0, float(h)]]))[0]
        origin = near if np.isfinite(near).all() else floor.mean(axis=0)
    offset = floor - origin
    distance = np.linalg.norm(offset, axis=1)
    far = distance > MAX_VIEW_RANGE_M
    floor[far] = origin + offset[far] / distance[far, None] * MAX_VIEW_RANGE_M
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
