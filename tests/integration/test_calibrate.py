"""python -m mctrt.calibrate as a user runs it: the floor drawn on each camera, the fit from ground
truth, and its errors."""

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import yaml

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def calibrate(*args: str, cwd: Path, assets: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **({"MCTRT_ASSETS": str(assets)} if assets else {})}
    return subprocess.run([sys.executable, "-m", "mctrt.calibrate", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def first_frame(path: Path) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    ok, frame = capture.read()
    capture.release()
    assert ok, path
    return frame


def grid_coloured(image: np.ndarray) -> np.ndarray:
    """Pixels of the grid's cyan (BGR 255, 255, 0), which PETS09's footage hardly has."""
    b, g, r = (image[:, :, c].astype(int) for c in range(3))
    return (b > 200) & (g > 200) & (r < 100)


def test_each_demo_camera_gets_its_floor_grid_drawn(tmp_path, assets, demo_config):
    config = demo_config(tmp_path)
    result = calibrate("--config", str(config), cwd=tmp_path, assets=assets)
    assert result.returncode == 0, result.stderr
    for camera in ("west", "east"):
        assert f"{camera}: image_to_floor" in result.stdout
        png = tmp_path / "calibration" / f"{camera}_calibration.png"  # the default --output
        assert f"png: {Path('calibration') / png.name}" in result.stdout
        drawn, raw = cv2.imread(str(png)), first_frame(assets / f"data/pets09_split2/{camera}/{camera}.mp4")
        assert drawn.shape == raw.shape
        changed = np.abs(drawn.astype(int) - raw.astype(int)).max(axis=2) > 40
        assert changed.mean() > 0.02, f"{camera}: only {changed.mean():.2%} of the pixels were drawn on"
        assert grid_coloured(drawn).sum() > 20 * grid_coloured(raw).sum() + 1000


def test_point_pairs_are_drawn_with_their_residuals(tmp_path, assets):
    image_px = [[100, 300], [400, 300], [120, 550], [420, 540], [250, 420]]
    floor_m = [[-12.5, -1.9], [-9.7, -7.6], [-20.0, -9.7], [-17.8, -12.8], [-16.1, -8.8]]
    config = {"inputs": [{"camera_id": "west", "path": str(assets / "data/pets09_split2/west/west.mp4"),
                          "calibration": {"image_points": image_px, "floor_points": floor_m}}],
              "modules": {"detector": {"model": str(assets / "models/yolov8n_coco_fp32.onnx")}}}
    (tmp_path / "pairs.yaml").write_text(yaml.safe_dump(config))
    result = calibrate("--config", "pairs.yaml", "--output", "out", "--frame", "20", cwd=tmp_path, assets=assets)
    assert result.returncode == 0, result.stderr
    assert "west: point pairs (5 image points" in result.stdout
    rows = re.findall(r"^  [1-5] +\(.*\) +([0-9.]+) +([0-9.]+)$", result.stdout, re.MULTILINE)
    assert len(rows) == 5
    residuals_m, residuals_px = np.array(rows, float).T
    assert 0 < residuals_m.max() < 0.5 and 0 < residuals_px.max() < 20  # the floor points are rounded: not exact
    mean_m = float(re.search(r"residuals: mean ([0-9.]+) m \([0-9.]+ px\)", result.stdout).group(1))
    assert abs(residuals_m.mean() - mean_m) < 1e-3  # the table is printed to 1 mm
    assert (tmp_path / "out/west_calibration.png").is_file()


def test_fit_gt_reproduces_the_pets09_config(tmp_path, assets):
    result = calibrate("--fit-gt", str(assets / "data/pets09_s2l1/gt/gt.txt"), cwd=tmp_path, assets=assets)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("image_to_floor: "))
    fitted = np.array(yaml.safe_load(line)["image_to_floor"])
    configured = yaml.safe_load((CONFIGS / "pets09.yaml").read_text())["inputs"][0]["calibration"]["image_to_floor"]
    np.testing.assert_allclose(fitted, configured, rtol=1e-6)
    median_m = float(re.search(r"residuals: median ([0-9.]+) m", result.stdout).group(1))
    assert median_m < 0.05


def test_fit_gt_leaves_out_rows_without_a_floor_position(tmp_path, assets):
    """MOTChallenge writes wx = wy = -1 where the floor position is unknown: such rows were fitted as
    people standing at (-1, -1), and 3 % of them moved the fit's median residual 0.03 -> 0.46 m."""
    rows = np.loadtxt(assets / "data/pets09_s2l1/gt/gt.txt", delimiter=",")
    rows[::33, 7:9] = -1
    np.savetxt(tmp_path / "gt.txt", rows, delimiter=",", fmt="%.6g")
    result = calibrate("--fit-gt", str(tmp_path / "gt.txt"), cwd=tmp_path, assets=assets)
    assert result.returncode == 0, result.stderr
    unplaced = int(((rows[:, 6] != 0) & (rows[:, 7] == -1)).sum())
    assert unplaced > 100 and f"and {unplaced} with no floor position (wx = wy = -1))" in result.stdout
    assert float(re.search(r"residuals: median ([0-9.]+) m", result.stdout).group(1)) < 0.05


def test_unknown_camera_exits_2_naming_it(tmp_path, assets, demo_config):
    result = calibrate("--config", str(demo_config(tmp_path)), "--camera", "north", cwd=tmp_path, assets=assets)
    assert result.returncode == 2
    assert result.stderr.startswith("error: --camera north is not in") and "west, east" in result.stderr
    assert not (tmp_path / "calibration").exists()


def test_an_unreadable_input_still_lets_the_other_cameras_be_drawn(tmp_path, assets, demo_config):
    config = demo_config(tmp_path)
    config.write_text(config.read_text().replace("east/east.mp4", "east/missing.mp4"))
    result = calibrate("--config", str(config), "--output", "out", cwd=tmp_path, assets=assets)
    assert result.returncode == 1
    assert result.stderr.startswith("error: video file") and "missing.mp4" in result.stderr
    assert "inputs[east].path" in result.stderr  # the fix
    assert (tmp_path / "out/west_calibration.png").is_file()
    assert not (tmp_path / "out/east_calibration.png").exists()


def test_a_config_error_exits_2(tmp_path):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({
        "inputs": [{"camera_id": "cam0", "path": "cam0.mp4", "calibration": {"file": "nowhere.json"}}],
        "modules": {"detector": {"model": "detector.onnx"}}}))
    result = calibrate("--config", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: bad.yaml: inputs[cam0].calibration.file:")  # the file, then the key
    assert "nowhere.json does not exist" in result.stderr


def test_lab4cam_config_checks_out_at_the_videos_resolution(tmp_path, assets):
    result = calibrate("--config", str(CONFIGS / "lab4cam.yaml"), "--camera", "cam2", cwd=tmp_path, assets=assets)
    assert result.returncode == 0, result.stderr
    assert "config_camera/2.json" in result.stdout and "height 2.99 m" in result.stdout
    assert "calibrated for 1288x728 px; frame 1 is 1288x728 px: matches" in result.stdout
    assert (tmp_path / "calibration/cam2_calibration.png").is_file()
