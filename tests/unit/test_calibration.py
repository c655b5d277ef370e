"""CameraCalibration (image pixels <-> floor metres) in each of its forms, its errors, and how the
config loader reads inputs[].calibration."""

import json

import cv2
import numpy as np
import pytest
import yaml

from mctrt.config import CalibrationConfig, config_from_dict, load_config
from mctrt.errors import ConfigError
from mctrt.geometry import CameraCalibration, fit_homography
from mctrt.geometry.feet import FootLocator

# PETS09-S2L1's image_to_floor (configs/pets09.yaml): a real outdoor camera, no lens model.
PETS09_IMAGE_TO_FLOOR = [[0.0514008081, -0.580279628, 84.915885], [-0.134280347, -0.38407346, 115.745149],
                         [0.000894648679, 0.0187632686, 1]]
WIDTH, HEIGHT = 1280, 720
K = [[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]]
# Strong barrel distortion, like ../shared/data/lab4cam/config_camera_head_2025-04: OpenCV's default
# 5 undistortion iterations leave the image corners pixels short of the truth.
STRONG_DISTORTION = [-0.39, 0.19, 0.001, -0.002, -0.06]


def look_at(camera_m, target_m) -> np.ndarray:
    """The 4x4 world -> camera transform of a camera at camera_m looking at target_m (OpenCV axes:
    x right, y down, z forward; the world's z is up)."""
    forward = np.subtract(target_m, camera_m, dtype=float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = rotation, -rotation @ np.asarray(camera_m, float)
    return pose


CAMERA_M = (0.0, -6.0, 3.0)
POSE = look_at(CAMERA_M, (0.0, 2.0, 0.0))


def lens_camera(distortion=STRONG_DISTORTION) -> CameraCalibration:
    return CameraCalibration.from_lens(K, distortion, POSE)


def image_grid(step_px: int = 40, margin_px: int = 0) -> np.ndarray:
    u, v = np.meshgrid(np.arange(margin_px, WIDTH - margin_px + 1, step_px),
                       np.arange(margin_px, HEIGHT - margin_px + 1, step_px))
    return np.c_[u.ravel(), v.ravel()].astype(np.float64)


def calibration_json(pose=POSE, distortion=STRONG_DISTORTION, **extra) -> dict:
    """A calibration file as ../shared/data/lab4cam/config_camera/N.json writes it."""
    return {"resolution": {"width": WIDTH, "height": HEIGHT}, "intrinsic": {"doubles": np.ravel(K).tolist()},
            "distortion": {"doubles": list(distortion)},
            "extrinsic": [{"from": "1000", "tf": {"doubles": np.ravel(pose).tolist()}}], **extra}


# -- mapping ----------------------------------------------------------------------------------------------

def test_homography_round_trip_image_to_floor_to_image():
    camera = CameraCalibration.from_homography(PETS09_IMAGE_TO_FLOOR)
    pixels = image_grid()
    floor_m = camera.to_floor(pixels)
    assert np.isfinite(floor_m).all()  # PETS09's horizon is above the frame
    np.testing.assert_allclose(camera.to_image(floor_m), pixels, atol=1e-6)


def test_lens_form_projects_floor_points_as_opencv_does_and_to_floor_inverts_it():
    camera = lens_camera()
    floor_m = np.stack(np.meshgrid(np.linspace(-4, 4, 9), np.linspace(-2, 8, 11)), -1).reshape(-1, 2)
    world = np.c_[floor_m, np.zeros(len(floor_m))]
    rvec, _ = cv2.Rodrigues(POSE[:3, :3])
    expected_px = cv2.projectPoints(world, rvec, POSE[:3, 3], np.array(K), np.array(STRONG_DISTORTION))[0][:, 0, :]
    np.testing.assert_allclose(camera.to_image(floor_m), expected_px, atol=1e-6)
    np.testing.assert_allclose(camera.to_floor(expected_px), floor_m, atol=1e-6)
    np.testing.assert_allclose(camera.camera_position_m, CAMERA_M, atol=1e-9)


def test_to_floor_inverts_strong_distortion_at_the_image_corners():
    camera = lens_camera()
    pixels = image_grid(step_px=80)
    floor_m = camera.to_floor(pixels)
    on_floor = np.isfinite(floor_m).all(axis=1)
    corners = (pixels[:, 1] == HEIGHT) & ((pixels[:, 0] == 0) | (pixels[:, 0] == WIDTH))
    assert on_floor[corners].all()
    np.testing.assert_allclose(camera.to_image(floor_m[on_floor]), pixels[on_floor], atol=1e-3)


def test_pixels_above_the_horizon_are_not_on_the_floor():
    lens = CameraCalibration.from_lens(K, [], look_at((0.0, 0.0, 3.0), (0.0, 10.0, 0.0)))  # tilted 17 degrees down
    top, bottom = [[640.0, 0.0]], [[640.0, HEIGHT - 1.0]]
    assert np.isnan(lens.to_floor(top)).all()
    assert np.isfinite(lens.to_floor(bottom)).all()
    assert np.isnan(lens.to_image([[0.0, -5.0]])).all()  # behind the camera

    pets = CameraCalibration.from_homography(PETS09_IMAGE_TO_FLOOR)
    h = np.asarray(PETS09_IMAGE_TO_FLOOR)
    horizon_row = -(h[2, 0] * 100 + h[2, 2]) / h[2, 1]  # where w = 0, at column 100
    assert np.isnan(pets.to_floor([[100.0, horizon_row - 10]])).all()
    assert np.isfinite(pets.to_floor([[100.0, horizon_row + 10]])).all()


@pytest.mark.parametrize("camera", [CameraCalibration.from_homography(PETS09_IMAGE_TO_FLOOR),
                                    CameraCalibration.from_lens(K, [], POSE)], ids=["homography", "lens"])
def test_jacobian_matches_finite_differences(camera):
    pixels = image_grid(step_px=160, margin_px=40)
    pixels = pixels[np.isfinite(camera.undistorted_to_floor(pixels)).all(axis=1)]
    step_px = 1e-3
    numeric = np.empty((len(pixels), 2, 2))
    for axis in range(2):
        offset = np.zeros(2)
        offset[axis] = step_px
        numeric[:, :, axis] = (camera.undistorted_to_floor(pixels + offset)
                               - camera.undistorted_to_floor(pixels - offset)) / (2 * step_px)
    np.testing.assert_allclose(camera.jacobian(pixels), numeric, rtol=1e-5, atol=1e-9)


# -- point pairs ----------------------------------------------------------------------------------------

def pets_pairs() -> tuple[np.ndarray, np.ndarray]:
    image_px = np.array([[100, 200], [700, 210], [60, 560], [740, 540], [400, 380], [250, 450], [560, 300]], float)
    return image_px, CameraCalibration.from_homography(PETS09_IMAGE_TO_FLOOR).to_floor(image_px)


@pytest.mark.parametrize("pairs", [4, 7])
def test_point_pair_fit_is_exact_on_noiseless_pairs(pairs):
    image_px, floor_m = (points[:pairs] for points in pets_pairs())
    fitted = CameraCalibration.from_point_pairs(image_px, floor_m)
    np.testing.assert_allclose(fitted.image_to_floor, PETS09_IMAGE_TO_FLOOR, rtol=1e-6, atol=1e-9)
    assert fitted.residuals_m.shape == (len(image_px),) and fitted.residuals_m.max() < 1e-6
    np.testing.assert_allclose(fit_homography(image_px, floor_m), fitted.image_to_floor)


def test_point_pair_fit_takes_thousands_of_pairs():
    # ground truth gives a pair per box: 20000 pairs once meant a 40000 x 40000 SVD factor (12 GB)
    image_px = np.random.default_rng(0).uniform((0, 150), (768, 576), (20_000, 2))
    floor_m = CameraCalibration.from_homography(PETS09_IMAGE_TO_FLOOR).to_floor(image_px)
    fitted = CameraCalibration.from_point_pairs(image_px, floor_m)
    np.testing.assert_allclose(fitted.image_to_floor, PETS09_IMAGE_TO_FLOOR, rtol=1e-6, atol=1e-9)


def test_point_pair_fit_reports_each_pairs_residual_on_noisy_pairs():
    image_px, floor_m = pets_pairs()
    noisy_m = floor_m + np.random.default_rng(1).normal(0.0, 0.05, floor_m.shape)
    fitted = CameraCalibration.from_point_pairs(image_px, noisy_m)
    expected = np.linalg.norm(fitted.to_floor(image_px) - noisy_m, axis=1)
    np.testing.assert_allclose(fitted.residuals_m, expected)
    assert 0.005 < fitted.residuals_m.mean() < 0.1  # the noise, partly absorbed by the fit's 8 degrees of freedom


# -- errors ---------------------------------------------------------------------------------------------

SQUARE_PX = [[0, 0], [9, 0], [0, 9], [9, 9]]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        # a homography of rank 2 maps the image onto a line
        (lambda: CameraCalibration.from_homography([[1, 0, 0], [0, 1, 0], [0, 0, 0]]), "singular"),
        (lambda: CameraCalibration.from_homography([[1, 0], [0, 1]], "inputs[cam0].calibration.image_to_floor"),
         r"inputs\[cam0\]\.calibration\.image_to_floor must be a 3x3 matrix"),
        (lambda: CameraCalibration.from_homography([[1, 0, 0], [0, "a", 0], [0, 0, 1]]),
         "image_to_floor must be a 3x3"),
        (lambda: CameraCalibration.from_lens([[1000, 0], [0, 1000]], [], POSE),
         r"calibration\.intrinsics must be a 3x3"),
        (lambda: CameraCalibration.from_lens(K, [], POSE[:3]), r"calibration\.world_to_camera must be a 4x4"),
        (lambda: CameraCalibration.from_lens(K, [], np.diag([2.0, 2.0, 2.0, 1.0])),
         "world_to_camera: its top-left 3x3 is not a rotation"),
        (lambda: CameraCalibration.from_lens(K, [0.1, 0.2, 0.3], POSE), r"calibration\.distortion must list 4, 5, 8"),
        (lambda: CameraCalibration.from_lens(K, [[0.1, 0.2], [0.3]], POSE), r"calibration\.distortion must list"),
        # the camera's centre on the floor: K [r1 r2 t] is singular
        (lambda: CameraCalibration.from_lens(K, [], np.eye(4)), "the camera lies in the floor plane"),
        (lambda: CameraCalibration.from_point_pairs(SQUARE_PX[:3], SQUARE_PX[:3]),
         r"calibration\.image_points must list at least 4"),
        (lambda: CameraCalibration.from_point_pairs(SQUARE_PX, SQUARE_PX[:3]),
         r"calibration\.floor_points must list at least 4"),
        (lambda: CameraCalibration.from_point_pairs(SQUARE_PX + [[5, 5]], SQUARE_PX),
         "5 image_points but 4 floor_points"),
        (lambda: CameraCalibration.from_point_pairs(SQUARE_PX, [[0, 0], [1, 1], [2, 2], [3, 3]]),
         r"calibration\.floor_points lie on one line"),
        (lambda: CameraCalibration.from_homography([[1, 0, 0], [0, 1, 0], [0, 0, 0]], "inputs[cam0].calibration.image_to_floor"),
         r"inputs\[cam0\]\.calibration\.image_to_floor: the image-to-floor homography is singular"),
        (lambda: CameraCalibration.from_point_pairs([[0, 0], [1, 1], [2, 2], [3, 3]], SQUARE_PX),
         r"calibration\.image_points lie on one line"),
        # three of the four floor points on one line: no homography maps a square there
        (lambda: CameraCalibration.from_point_pairs(SQUARE_PX, [[0, 0], [1, 0], [2, 0], [0, 1]]),
         r"calibration: no homography fits these point pairs"),
        (lambda: CameraCalibration.from_lens(np.transpose(K), [], POSE), r"calibration\.intrinsics must be K = .*transposed"),
        (lambda: CameraCalibration.from_lens(K, [], POSE.T), r"calibration\.world_to_camera must be a 4x4 transform whose "
                                                              r"last row is \[0, 0, 0, 1\] \(is it transposed"),
    ],
)
def test_bad_calibration_raises_config_error_naming_the_key(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


def test_a_homography_alone_of_a_camera_looking_down_maps_its_whole_image_to_the_floor():
    """Tilted 2 degrees from straight down, its horizon lies 28,000 px beyond the image, on the side
    its rows grow towards: the image is on the floor, whatever the rows' direction says."""
    for tilt in (0.035, -0.035):
        down = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])
        rotation = cv2.Rodrigues(np.array([tilt, 0.0, 0.0]))[0] @ down
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = rotation, -rotation @ np.array([0.0, 0.0, 3.0])
        posed = CameraCalibration.from_lens(K, [], pose)
        bare = CameraCalibration.from_homography(posed.image_to_floor.tolist())
        pixels = image_grid(step_px=160)
        np.testing.assert_allclose(bare.to_floor(pixels), posed.to_floor(pixels), atol=1e-9)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("not json {", "is not a calibration file"),
        (json.dumps({"intrinsic": {"doubles": np.ravel(K).tolist()}}), "is not a calibration file .*KeyError"),
        (json.dumps({**calibration_json(), "distortion": [0.1, 0.2, 0.0, 0.0]}), "is not a calibration file"),
        (json.dumps({**calibration_json(), "resolution": {"height": HEIGHT}}), "is not a calibration file"),
        (json.dumps({**calibration_json(), "intrinsic": {"doubles": [1.0, 2.0]}}), "is not a calibration file"),
        (json.dumps([1, 2, 3]), "is not a calibration file"),
        (json.dumps({**calibration_json(), "resolution": {"width": 0, "height": -5}}), "resolution must give a whole"),
        (json.dumps({**calibration_json(), "resolution": {"width": 1288.7, "height": 728}}), "resolution must give"),
    ],
    ids=["missing", "not-json", "no-extrinsic", "distortion-not-a-mapping", "resolution-without-width",
         "intrinsic-not-3x3", "a-list", "resolution-not-positive", "resolution-not-whole"],
)
def test_missing_or_malformed_file_raises_config_error_naming_key_and_path(tmp_path, content, message):
    path = tmp_path / "cam0.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message) as error:
        CameraCalibration.from_file(path, "inputs[cam0].calibration.file")
    assert "inputs[cam0].calibration.file" in str(error.value) and str(path) in str(error.value)


def test_calibration_file_gives_lens_pose_and_resolution(tmp_path):
    path = tmp_path / "cam0.json"
    path.write_text(json.dumps(calibration_json()))
    camera = CameraCalibration.from_file(path)
    assert camera.resolution == (WIDTH, HEIGHT)
    np.testing.assert_allclose(camera.camera_position_m, CAMERA_M, atol=1e-9)
    np.testing.assert_allclose(camera.to_image([[1.0, 2.0]]), lens_camera().to_image([[1.0, 2.0]]))


def test_a_pixel_where_the_lens_model_does_not_invert_is_not_undistorted_nor_placed():
    """Far below the frame (a foot estimated under a box cut by the lower edge) no pinhole pixel distorts
    back to it: undistorting gave some pixel anyway, and a floor position that jumped back towards the
    camera as the pixel went down."""
    camera = lens_camera()
    pixels = np.array([[640.0, 700.0], [640.0, 900.0], [100.0, 700.0], [100.0, 1400.0], [640.0, 4000.0]])
    undistorted = camera.undistort(pixels)
    valid = np.isfinite(undistorted).all(axis=1)
    assert valid[:3].all() and not valid[3:].any()
    rays = np.c_[undistorted[valid], np.ones(valid.sum())] @ np.linalg.inv(K).T
    back = cv2.projectPoints(rays[:, None, :], np.zeros(3), np.zeros(3), np.array(K), np.array(STRONG_DISTORTION))[0]
    np.testing.assert_allclose(back[:, 0, :], pixels[valid], atol=1e-3)
    assert np.isnan(camera.to_floor(pixels[3:])).all()


def test_a_floor_point_the_lens_model_folds_into_the_image_is_not_in_view():
    """Right under the camera, the pinhole image has the point 1400 px below the frame; the distortion
    polynomial, far outside its range, folds it back inside: no camera sees it."""
    camera = lens_camera()
    points = np.array([[0.0, -5.5], [-2.0, -5.0], [0.0, 2.0]])
    pixels = camera.to_image(points)
    assert ((pixels >= 0) & (pixels < (WIDTH, HEIGHT))).all()  # all three land inside the frame
    assert camera.lens_agrees(points, pixels).tolist() == [False, False, True]
    locator = FootLocator({"cam": camera})
    locator.image_sizes["cam"] = (WIDTH, HEIGHT)
    assert locator.in_view("cam", points).tolist() == [False, False, True]
    assert locator.views_of(points)["cam"].tolist() == [False, False, True]


def test_lab4cam_calibration_files_load(assets):
    for folder in ("config_camera", "config_camera_head_2025-04"):
        for number in range(4):
            camera = CameraCalibration.from_file(assets / f"data/lab4cam/{folder}/{number}.json")
            assert camera.resolution == (1288, 728)
            assert 2.5 < camera.camera_position_m[2] < 3.5  # ceiling-mounted, about 3 m up
            origin_px = camera.to_image(np.zeros((1, 2)))[0]  # the floor's origin is in every view
            assert (0 <= origin_px).all() and (origin_px < (1288, 728)).all()


# -- CalibrationConfig and the loader -------------------------------------------------------------------

def test_calibration_config_needs_exactly_one_form():
    with pytest.raises(ConfigError, match="needs exactly one form .* got none"):
        CalibrationConfig()
    with pytest.raises(ConfigError, match="got image_to_floor and file"):
        CalibrationConfig(image_to_floor=PETS09_IMAGE_TO_FLOOR, file="cam0.json")
    with pytest.raises(ConfigError, match="gives a lens but no world_to_camera"):
        CalibrationConfig(intrinsics=K, distortion=[])
    with pytest.raises(ConfigError, match="needs both image_points"):
        CalibrationConfig(image_points=[[0, 0], [1, 0], [0, 1], [1, 1]])
    assert isinstance(CalibrationConfig(image_to_floor=PETS09_IMAGE_TO_FLOOR).camera, CameraCalibration)


def minimal_config(calibration) -> dict:
    return {"inputs": [{"camera_id": "cam0", "path": "cam0.mp4", "calibration": calibration}],
            "modules": {"detector": {"model": "detector.onnx"}}}


def test_loader_accepts_each_calibration_form(tmp_path):
    (tmp_path / "calib").mkdir()
    (tmp_path / "calib/cam0.json").write_text(json.dumps(calibration_json()))
    image_px, floor_m = pets_pairs()
    forms = {
        "image_to_floor": {"image_to_floor": PETS09_IMAGE_TO_FLOOR},
        "lens": {"intrinsics": K, "distortion": STRONG_DISTORTION, "world_to_camera": POSE.tolist()},
        "file": {"file": "../calib/cam0.json"},  # relative to the config file, in configs/
        "point pairs": {"image_points": image_px.tolist(), "floor_points": floor_m.tolist()},
    }
    expected_floor_m = {"image_to_floor": floor_m[:1], "point pairs": floor_m[:1],
                        "lens": lens_camera().to_floor(image_px[:1]), "file": lens_camera().to_floor(image_px[:1])}
    config_dir = tmp_path / "configs"
    config_dir.mkdir()
    for name, calibration in forms.items():
        path = config_dir / "config.yaml"
        path.write_text(yaml.safe_dump(minimal_config(calibration)))
        camera = load_config(path).inputs[0].calibration.camera
        np.testing.assert_allclose(camera.to_floor(image_px[:1]), expected_floor_m[name], atol=1e-6, err_msg=name)


def test_loader_refuses_unknown_calibration_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"inputs\[cam0\]\.calibration has unknown keys \['focal_px'\]"):
        config_from_dict(minimal_config({"image_to_floor": PETS09_IMAGE_TO_FLOOR, "focal_px": 1000}), tmp_path)


def test_loader_names_the_camera_when_its_calibration_file_is_missing(tmp_path):
    with pytest.raises(ConfigError, match=r"inputs\[cam0\]\.calibration\.file: .*missing\.json does not exist"):
        config_from_dict(minimal_config({"file": "missing.json"}), tmp_path)


# -- a lens and pose fitted to a homography (benchmarks/bench_identity_many.py --posed) --------------------

def fitted_pose(image_to_floor, width, height):
    import sys
    from pathlib import Path
    benchmarks = str(Path(__file__).resolve().parents[2] / "benchmarks")
    if benchmarks not in sys.path:  # the benchmark imports its neighbours by name
        sys.path.insert(0, benchmarks)
    from bench_identity_many import fitted_pose as fit
    return fit(np.asarray(image_to_floor, np.float64), width, height)


def test_fitted_pose_recovers_a_camera_from_its_homography():
    # a camera with its principal point at the image centre, as fitted_pose assumes
    truth = CameraCalibration.from_lens(K, [], POSE)
    k, pose = fitted_pose(truth.image_to_floor, WIDTH, HEIGHT)
    np.testing.assert_allclose(k, K, atol=1e-6 * K[0][0])
    np.testing.assert_allclose(pose, POSE, atol=1e-6)
    assert -pose[:3, :3].T @ pose[:3, 3] == pytest.approx(CAMERA_M)


def test_fitted_pose_refuses_a_homography_that_fixes_no_focal_length():
    # a camera looking straight down: focal length and height trade off, the homography cannot tell them apart
    straight_down = np.linalg.inv([[200.0, 0.0, 640.0], [0.0, -200.0, 360.0], [0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match="fixes no focal length"):
        fitted_pose(straight_down, WIDTH, HEIGHT)


def test_fitted_pose_places_pets09_floor_points_where_its_homography_does():
    width, height = 768, 576
    k, pose = fitted_pose(PETS09_IMAGE_TO_FLOOR, width, height)
    camera = -pose[:3, :3].T @ pose[:3, 3]
    assert camera[2] > 2.0  # above the floor, looking down at it
    posed = CameraCalibration.from_lens(k, [], pose, resolution=(width, height))
    u, v = np.meshgrid(np.arange(0, width + 1, 64), np.arange(height // 3, height + 1, 48))
    pixels = np.c_[u.ravel(), v.ravel()].astype(np.float64)  # the lower two thirds: floor, not sky
    truth = CameraCalibration.from_homography(PETS09_IMAGE_TO_FLOOR).to_floor(pixels)
    miss = np.linalg.norm(posed.to_floor(pixels) - truth, axis=1)
    assert (miss <= 0.03 * np.linalg.norm(truth - camera[:2], axis=1)).all()
