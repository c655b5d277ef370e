"""python -m mctrt.calibrate: check a camera calibration by eye, or fit one from ground truth.

    python -m mctrt.calibrate --config configs/lab4cam.yaml                  # every calibrated camera
    python -m mctrt.calibrate --config C --camera cam0 --frame 50 --output DIR --grid-m 0.5
    python -m mctrt.calibrate --fit-gt ../shared/data/pets09_s2l1/gt/gt.txt  # image_to_floor from MOT15 GT

Checking draws, on frame N (1-based) of each calibrated camera's input, the floor as the calibration
sees it: a grid line every grid-m metres (each a polyline of many projected points, so a lens's
distortion shows as curvature), the floor axes at (0, 0) (x red, y green, 1 m long) and, for a
point-pairs calibration, each image point beside where its floor point projects, with the residual.
A straight floor edge that the grid follows, and floor marks that fall on the right crossings, mean
the calibration fits. It writes DIR/<camera_id>_calibration.png (DIR: ./calibration) and prints the
calibration's form, the camera's floor position and height when known, and the point-pair residuals.

Fitting reads MOTChallenge 2015 ground truth (frame,id,left,top,w,h,flag,wx,wy,wz; rows with flag 0
left out), pairs each box's foot point (bottom centre) with its floor point (wx, wy), and prints the
least-squares homography as a line to paste under inputs[].calibration, and the residuals.

Exit status: 0 when done, 1 when some cameras' inputs could not be read (the others were drawn), 2 for
a bad configuration, an unknown camera, or when nothing could be drawn or fitted.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mctrt.config import CalibrationConfig, InputConfig, load_config
from mctrt.errors import DataError, MctrtError, SourceError
from mctrt.geometry import CameraCalibration
from mctrt.io.decode import DecodeError
from mctrt.io.mot import read_mot
from mctrt.io.sources import open_capture

# Colours are BGR.
GRID_COLOUR = (255, 255, 0)  # cyan: rare on floors and clothes
X_AXIS_COLOUR = (0, 0, 255)
Y_AXIS_COLOUR = (0, 255, 0)
IMAGE_POINT_COLOUR = (0, 255, 255)
PROJECTED_POINT_COLOUR = (255, 0, 255)
AXIS_LENGTH_M = 1.0
AXIS_THICKNESS_PX = 3
SAMPLES_PER_CELL = 16  # points per grid cell along a line: enough for the lens's curvature to look smooth
MIN_CELL_PX = 6  # no grid where a cell is thinner than this: towards the horizon the lines merge into a smear
FLOOR_SAMPLE_STEP_PX = 8  # spacing of the pixel sample that finds the part of the floor in view
# A floor point whose distorted image position does not undistort back to it lies where the lens
# polynomial folds over (far outside the view): its projection would draw a false line in the image.
SUBPIXEL_BITS = 4  # cv2 drawing with fractional coordinates (1/16 px)
MOT15_COLUMNS = 10  # frame,id,left,top,w,h,flag,wx,wy,wz
SIGNIFICANT_DIGITS = 9  # enough that a pasted matrix maps pixels to the floor within a micrometre


# -- the calibration's form, in words ------------------------------------------------------------------

def form_name(config: CalibrationConfig) -> str:
    """The calibration's form, short: for the image's caption."""
    if config.image_to_floor is not None:
        return "image_to_floor"
    if config.file is not None:
        return f"file {Path(config.file).name}"
    return "lens" if config.intrinsics is not None else "point pairs"


def describe_form(config: CalibrationConfig) -> str:
    """The calibration's form, in full: for the printed report."""
    if config.image_to_floor is not None:
        return "image_to_floor (a 3x3 homography, no lens model)"
    if config.file is not None:
        return f"file {config.file} (intrinsics, distortion, world -> camera)"
    if config.intrinsics is not None:
        return "lens (intrinsics, distortion, world_to_camera)"
    return f"point pairs ({len(config.image_points)} image points <-> floor points, fitted)"


# -- projecting the floor into the image ----------------------------------------------------------------

def _pinhole_px(calibration: CameraCalibration, points_m: np.ndarray) -> np.ndarray:
    """(N, 2) floor metres -> (N, 2) undistorted pixels: the homography alone, no lens, and no check
    for points behind the camera (callers keep only points to_image() found in front)."""
    p = np.c_[points_m, np.ones(len(points_m))] @ calibration.floor_to_image.T
    with np.errstate(divide="ignore", invalid="ignore"):
        return p[:, :2] / p[:, 2:3]


def _cell_px(calibration: CameraCalibration, undistorted_px: np.ndarray, grid_m: float) -> np.ndarray:
    """(N,) how many pixels one grid cell spans there, along its most foreshortened side."""
    metres_per_px = np.linalg.norm(calibration.jacobian(undistorted_px), ord=2, axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return grid_m / metres_per_px


def drawable_mask(calibration: CameraCalibration, points_m: np.ndarray, image_px: np.ndarray, size: tuple[int, int],
                  grid_m: float | None) -> np.ndarray:
    """(N,) which projected floor points may be drawn: in front of the camera, inside the image, where
    the lens model is one-to-one and (with grid_m) where a grid cell is wide enough to read."""
    width, height = size
    ok = np.isfinite(image_px).all(axis=1)
    ok[ok] = ((image_px[ok] >= 0) & (image_px[ok] <= [width - 1, height - 1])).all(axis=1)
    ok[ok] = calibration.lens_agrees(points_m[ok], image_px[ok])
    if grid_m is not None and ok.any():
        ok[ok] = _cell_px(calibration, _pinhole_px(calibration, points_m[ok]), grid_m) >= MIN_CELL_PX
    return ok


def floor_in_view(calibration: CameraCalibration, size: tuple[int, int], grid_m: float) -> np.ndarray | None:
    """[[x_min, y_min], [x_max, y_max]] floor metres seen where a grid cell is readable, rounded out to
    the grid; None when no floor is in view."""
    width, height = size
    u, v = np.meshgrid(np.arange(0, width, FLOOR_SAMPLE_STEP_PX), np.arange(0, height, FLOOR_SAMPLE_STEP_PX))
    pixels = np.c_[u.ravel(), v.ravel()].astype(np.float64)
    undistorted = calibration.undistort(pixels)
    floor_m = calibration.undistorted_to_floor(undistorted)
    seen = np.isfinite(floor_m).all(axis=1)
    seen[seen] = _cell_px(calibration, undistorted[seen], grid_m) >= MIN_CELL_PX
    if not seen.any():
        return None
    low, high = floor_m[seen].min(axis=0), floor_m[seen].max(axis=0)
    return np.array([np.floor(low / grid_m), np.ceil(high / grid_m)]) * grid_m


def project_polyline(calibration: CameraCalibration, points_m: np.ndarray, size: tuple[int, int],
                     grid_m: float | None = None) -> list[np.ndarray]:
    """The drawable runs (each (K, 2) pixels, K >= 2) of a floor polyline (N, 2) metres."""
    image_px = calibration.to_image(points_m)
    ok = drawable_mask(calibration, points_m, image_px, size, grid_m)
    breaks = np.flatnonzero(np.diff(ok.astype(np.int8))) + 1
    runs = np.split(np.arange(len(points_m)), breaks)
    return [image_px[run] for run in runs if len(run) >= 2 and ok[run[0]]]


def grid_lines_m(box_m: np.ndarray, grid_m: float) -> list[np.ndarray]:
    """Floor polylines (N, 2) metres: one per grid line across box_m, SAMPLES_PER_CELL points per cell."""
    (x_min, y_min), (x_max, y_max) = box_m
    xs = np.arange(round((x_max - x_min) / grid_m) + 1) * grid_m + x_min
    ys = np.arange(round((y_max - y_min) / grid_m) + 1) * grid_m + y_min
    along_x = np.linspace(x_min, x_max, max(2, (len(xs) - 1) * SAMPLES_PER_CELL + 1))
    along_y = np.linspace(y_min, y_max, max(2, (len(ys) - 1) * SAMPLES_PER_CELL + 1))
    return ([np.c_[np.full_like(along_y, x), along_y] for x in xs]
            + [np.c_[along_x, np.full_like(along_x, y)] for y in ys])


# -- drawing --------------------------------------------------------------------------------------------

def _polylines(image: np.ndarray, runs: list[np.ndarray], colour, thickness: int) -> None:
    if runs:
        scaled = [np.round(run * (1 << SUBPIXEL_BITS)).astype(np.int32) for run in runs]
        cv2.polylines(image, scaled, False, colour, thickness, cv2.LINE_AA, SUBPIXEL_BITS)


def _label(image: np.ndarray, text: str, at_px, colour, scale: float = 0.6) -> None:
    """Text on a dark box, readable on any floor (an outline drawn as thicker text does not line up:
    the glyphs' advance depends on the thickness)."""
    x, y = int(round(at_px[0])), int(round(at_px[1]))
    stroke = max(1, round(2 * scale))
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, stroke)
    x = max(2, min(x, image.shape[1] - width - 3))  # kept inside the image
    y = max(height + 2, min(y, image.shape[0] - baseline - 1))
    cv2.rectangle(image, (x - 2, y - height - 2), (x + width + 2, y + baseline), (0, 0, 0), -1)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, stroke, cv2.LINE_AA)


def draw_axes(image: np.ndarray, calibration: CameraCalibration) -> bool:
    """The floor's x (red) and y (green) axes from (0, 0); False when the origin is not in view."""
    size = (image.shape[1], image.shape[0])
    steps = np.linspace(0.0, AXIS_LENGTH_M, SAMPLES_PER_CELL + 1)
    origin_seen = False
    for name, direction, colour in (("x", (1.0, 0.0), X_AXIS_COLOUR), ("y", (0.0, 1.0), Y_AXIS_COLOUR)):
        axis_m = steps[:, None] * np.asarray(direction)
        runs = project_polyline(calibration, axis_m, size)
        _polylines(image, runs, colour, AXIS_THICKNESS_PX)
        ends_px = calibration.to_image(axis_m[[0, -1]])
        ends_ok = drawable_mask(calibration, axis_m[[0, -1]], ends_px, size, None)
        if ends_ok[1]:
            _label(image, name, ends_px[1] + 6, colour, 0.8)
        origin_seen = origin_seen or bool(ends_ok[0])
        if ends_ok[0]:
            cv2.circle(image, tuple(int(v) for v in np.round(ends_px[0])), 5, (255, 255, 255), -1, cv2.LINE_AA)
    return origin_seen


def pair_residuals_px(calibration: CameraCalibration, config: CalibrationConfig) -> np.ndarray:
    """(N,) pixels between each image point and where its floor point projects (NaN: behind the camera)."""
    image_px = np.asarray(config.image_points, np.float64)
    return np.linalg.norm(calibration.to_image(np.asarray(config.floor_points, np.float64)) - image_px, axis=1)


def draw_point_pairs(image: np.ndarray, calibration: CameraCalibration, config: CalibrationConfig) -> None:
    """Each image point (yellow circle), where its floor point projects (magenta cross), the gap, and
    the residual in centimetres."""
    projected_px = calibration.to_image(np.asarray(config.floor_points, np.float64))
    for number, (image_px, floor_px, residual_m) in enumerate(
            zip(np.asarray(config.image_points, np.float64), projected_px, calibration.residuals_m), start=1):
        at = tuple(int(v) for v in np.round(image_px))
        cv2.circle(image, at, 6, IMAGE_POINT_COLOUR, 2, cv2.LINE_AA)
        if np.isfinite(floor_px).all():
            to = tuple(int(v) for v in np.round(floor_px))
            cv2.line(image, at, to, PROJECTED_POINT_COLOUR, 1, cv2.LINE_AA)
            cv2.drawMarker(image, to, PROJECTED_POINT_COLOUR, cv2.MARKER_CROSS, 12, 2, cv2.LINE_AA)
        _label(image, f"{number}: {residual_m * 100:.1f} cm", image_px + [8, -8], IMAGE_POINT_COLOUR, 0.5)


@dataclass
class FloorDrawing:
    """A frame with the floor drawn on it, and what of the floor it shows.

    Attributes:
        image: (H, W, 3) BGR uint8.
        floor_box_m: [[x_min, y_min], [x_max, y_max]] the grid's extent in floor metres, or None when
            no floor is in view.
        origin_seen: whether the floor's (0, 0) is in view (and its axes drawn).
    """

    image: np.ndarray
    floor_box_m: np.ndarray | None
    origin_seen: bool


def draw_calibration(frame: np.ndarray, camera_id: str, config: CalibrationConfig, grid_m: float) -> FloorDrawing:
    """A copy of the frame with the floor grid, axes and point pairs drawn."""
    calibration, image = config.camera, frame.copy()
    size = (image.shape[1], image.shape[0])
    box_m = floor_in_view(calibration, size, grid_m)
    if box_m is not None:
        runs = [run for line in grid_lines_m(box_m, grid_m)
                for run in project_polyline(calibration, line, size, grid_m)]
        _polylines(image, runs, GRID_COLOUR, 1)
    origin_seen = draw_axes(image, calibration)
    if config.image_points is not None:
        draw_point_pairs(image, calibration, config)
    _label(image, f"{camera_id}: {form_name(config)}, grid {grid_m:g} m", (10, 28), (255, 255, 255), 0.7)
    return FloorDrawing(image, box_m, origin_seen)


# -- checking the cameras of a config -------------------------------------------------------------------

def read_frame(item: InputConfig, frame_number: int) -> np.ndarray:
    """The frame_number-th (1-based) decoded frame of the camera's input; SourceError says why not.
    Frames are read one by one, as the pipeline numbers them (seeking is not frame-exact in every codec)."""
    capture = open_capture(item)
    try:
        for index in range(1, frame_number + 1):
            try:
                image = capture.read()
            except DecodeError:
                image = None
            if image is None:
                read = index - 1
                fix = (f"give --frame {read} or less" if read
                       else "check that it is a readable video (or folder of images)")
                raise SourceError(f"inputs[{item.camera_id}]: {item.path} gave {read} frame(s), not frame "
                                    f"{frame_number}; {fix}", permanent=True)
    finally:
        capture.close()
    return image


def check_camera(item: InputConfig, frame_number: int, grid_m: float, output_dir: Path) -> Path:
    """Draw and describe one calibrated camera; prints its report and returns the PNG's path."""
    config = item.calibration
    calibration = config.camera
    frame = read_frame(item, frame_number)
    height, width = frame.shape[:2]
    print(f"{item.camera_id}: {describe_form(config)}")
    if calibration.camera_position_m is not None:
        x, y, z = calibration.camera_position_m
        print(f"  camera at floor (x, y) = ({x:.2f}, {y:.2f}) m, height {z:.2f} m")
    if calibration.resolution is not None:
        match = "matches" if calibration.resolution == (width, height) else (
            "DIFFERS: pixels will be misplaced; recalibrate at the input's resolution or fix the input")
        print(f"  calibrated for {calibration.resolution[0]}x{calibration.resolution[1]} px; frame {frame_number} is "
              f"{width}x{height} px: {match}")
    drawing = draw_calibration(frame, item.camera_id, config, grid_m)
    if drawing.floor_box_m is None:
        print("  no floor in view (every pixel is above the horizon): check the calibration")
    else:
        (x_min, y_min), (x_max, y_max) = drawing.floor_box_m
        print(f"  floor in view: x {x_min:g}..{x_max:g} m, y {y_min:g}..{y_max:g} m "
              f"(grid drawn where a {grid_m:g} m cell spans >= {MIN_CELL_PX} px)")
    if not drawing.origin_seen:
        print("  the floor origin (0, 0) is not in view: no axes drawn")
    if config.image_points is not None:
        residuals_m, residuals_px = calibration.residuals_m, pair_residuals_px(calibration, config)
        print("  pair  image px              floor m            residual m  residual px")
        for number, (image_px, floor_m, res_m, res_px) in enumerate(
                zip(config.image_points, config.floor_points, residuals_m, residuals_px), start=1):
            print(f"  {number:<4}  ({image_px[0]:8.1f}, {image_px[1]:7.1f})  ({floor_m[0]:7.2f}, {floor_m[1]:7.2f})  "
                  f"{res_m:10.3f}  {res_px:11.1f}")
        print(f"  residuals: mean {residuals_m.mean():.3f} m ({np.nanmean(residuals_px):.1f} px), "
              f"max {residuals_m.max():.3f} m ({np.nanmax(residuals_px):.1f} px)")
    png = output_dir / f"{item.camera_id}_calibration.png"
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        written = cv2.imwrite(str(png), drawing.image)
    except OSError:
        written = False
    if not written:
        raise MctrtError(f"cannot write {png}; give an --output folder you can write to")
    print(f"  png: {png}")
    return png


def check_config(config_path: str, camera: str | None, frame_number: int, grid_m: float, output_dir: Path) -> int:
    try:
        config = load_config(config_path)
    except MctrtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cameras = [item.camera_id for item in config.inputs]
    if camera is not None and camera not in cameras:
        print(f"error: --camera {camera} is not in {config_path}; its cameras are {', '.join(cameras)}",
              file=sys.stderr)
        return 2
    selected = [item for item in config.inputs if camera in (None, item.camera_id)]
    uncalibrated = [item.camera_id for item in selected if item.calibration is None]
    for camera_id in uncalibrated:
        print(f"{camera_id}: not calibrated (no inputs[{camera_id}].calibration; its people are matched by appearance)")
    calibrated = [item for item in selected if item.calibration is not None]
    if not calibrated:
        print(f"error: {', '.join(uncalibrated)} in {config_path} has no calibration to check; add "
              "inputs[].calibration (see configs/demo.yaml)", file=sys.stderr)
        return 2
    failed = 0
    for item in calibrated:
        try:
            check_camera(item, frame_number, grid_m, output_dir)
        except MctrtError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    return 0 if not failed else 1 if failed < len(calibrated) else 2


# -- fitting from ground truth ----------------------------------------------------------------------------

def fit_ground_truth(path: str | Path) -> tuple[CameraCalibration, int, int, int]:
    """The image_to_floor fit of MOT15 ground truth's foot points to its floor points: (calibration,
    pairs used, rows left out for flag 0, rows left out with no floor position: wx = wy = -1, as
    MOTChallenge writes unknown ones). DataError/ConfigError say what is wrong with the file."""
    rows = read_mot(path, what="ground-truth file")
    if rows.shape[1] < MOT15_COLUMNS:
        raise DataError(f"ground-truth file {path} has {rows.shape[1]} columns; --fit-gt needs MOTChallenge 2015 rows "
                        "with floor coordinates: frame,id,left,top,w,h,flag,wx,wy,wz")
    kept = rows[rows[:, 6] != 0]
    unplaced = (kept[:, 7] == -1) & (kept[:, 8] == -1)
    if len(kept) and unplaced.all():
        raise DataError(f"ground-truth file {path} has no floor coordinates (wx, wy are all -1); --fit-gt needs "
                        "ground truth with each person's floor position")
    placed = kept[~unplaced]
    foot_px = np.c_[placed[:, 2] + placed[:, 4] / 2, placed[:, 3] + placed[:, 5]]
    calibration = CameraCalibration.from_point_pairs(foot_px, placed[:, 7:9], where=f"--fit-gt {path}")
    return calibration, len(placed), len(rows) - len(kept), int(unplaced.sum())


def format_matrix(matrix: np.ndarray) -> str:
    """A 3x3 matrix as one YAML flow line."""
    return "[" + ", ".join("[" + ", ".join(f"{v:.{SIGNIFICANT_DIGITS}g}" for v in row) + "]" for row in matrix) + "]"


def fit_command(path: str) -> int:
    try:
        calibration, used, flag_0, unplaced = fit_ground_truth(path)
    except MctrtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    residuals_m = calibration.residuals_m
    print(f"fitted from {used} foot points of {path} ({flag_0} rows with flag 0 left out"
          + (f", and {unplaced} with no floor position (wx = wy = -1))" if unplaced else ")"))
    print(f"image_to_floor: {format_matrix(calibration.image_to_floor)}")
    print(f"residuals: median {np.median(residuals_m):.3f} m, p95 {np.percentile(residuals_m, 95):.3f} m, "
          f"max {residuals_m.max():.3f} m")
    return 0


def one_based_frame(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"frames are numbered from 1; got {value}")
    return value


def positive_metres(text: str) -> float:
    value = float(text)
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"the grid spacing must be a positive number of metres; got {text}")
    return value


def main(argv: list[str] | None = None, prog: str = "python -m mctrt.calibrate") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    task = parser.add_mutually_exclusive_group(required=True)
    task.add_argument("--config", help="draw the floor into each calibrated camera of this YAML configuration")
    task.add_argument("--fit-gt", metavar="GT.txt", help="fit image_to_floor from MOTChallenge 2015 ground truth")
    parser.add_argument("--camera", help="only this camera_id")
    parser.add_argument("--frame", type=one_based_frame, default=1, help="the 1-based frame to draw on (default 1)")
    parser.add_argument("--output", default="calibration",
                        help="folder for <camera_id>_calibration.png (default ./calibration)")
    parser.add_argument("--grid-m", type=positive_metres, default=1.0,
                        help="grid spacing on the floor, metres (default 1)")
    args = parser.parse_args(argv)
    if args.fit_gt is not None:
        return fit_command(args.fit_gt)
    return check_config(args.config, args.camera, args.frame, args.grid_m, Path(args.output))


if __name__ == "__main__":
    sys.exit(main())
