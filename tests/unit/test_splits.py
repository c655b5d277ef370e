"""mctrt.splits: strips of one calibrated view keep the floor (a pixel of a strip lands where the same
pixel of the frame does) and the ground truth of the boxes mostly inside them, in their own pixels."""

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from mctrt.config import load_config
from mctrt.errors import ConfigError, DataError
from mctrt.geometry import CameraCalibration
from mctrt.io.mot import read_mot
from mctrt.splits import Strip, main, make_split, parse_strips, strip_ground_truth

FRAME_TO_FLOOR = np.array([[0.05, -0.58, 85.0], [-0.13, -0.38, 116.0], [0.0009, 0.019, 1.0]])
DEMO = Path(__file__).parents[2] / "configs" / "demo.yaml"


def write_video(path: Path, frames: int = 3, noise: bool = False) -> Path:
    """A 100x60 MJPG video; with noise its frames are random, so each takes about as many bytes."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (100, 60))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 256, (60, 100, 3), np.uint8) if noise else np.zeros((60, 100, 3), np.uint8))
    writer.release()
    return path


def write_gt(path: Path, frames: int = 1) -> Path:
    """One person (ID 1, box to column 51) in each of frames 1..frames."""
    np.savetxt(path, [[f, 1, 30, 10, 21, 40, 1, -1, -1, -1] for f in range(1, frames + 1)], delimiter=",", fmt="%g")
    return path


def frames_in(video: Path) -> int:
    capture = cv2.VideoCapture(str(video))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_a_strips_homography_is_the_frames_shifted_by_its_origin():
    strip = Strip("cam1", 320, 576, 100, 500)
    frame = CameraCalibration.from_homography(FRAME_TO_FLOOR)
    cut = CameraCalibration.from_homography(strip.homography(FRAME_TO_FLOOR))
    pixels = np.array([[400.0, 300.0], [330.0, 480.0]])
    assert np.allclose(cut.to_floor(pixels - [320, 100]), frame.to_floor(pixels))


def test_ground_truth_keeps_boxes_at_least_60_percent_inside_in_the_strips_pixels():
    rows = np.array([[1, 7, 300, 50, 40, 100, 1, 0, 0, 0],    # 20 of 40 px inside: 50 %, left out
                     [1, 8, 305, 50, 40, 100, 1, 0, 0, 0],    # 25 of 40 px: 62.5 %, kept
                     [2, 9, 400, 60, 30, 90, 1, 0, 0, 0]], float)  # wholly inside
    kept = strip_ground_truth(rows, Strip("cam1", 320, 576, 0, 576, (768, 576)))
    assert kept[:, 1].tolist() == [8, 9] and kept[:, 2].tolist() == [0, 80] and kept[:, 3].tolist() == [50, 60]
    assert kept[:, 4].tolist() == [25, 30]  # cut at the strip's left edge, where it cuts the frame


def test_ground_truth_is_cut_at_a_strips_edges_inside_the_frame_as_the_shared_split_was(assets):
    """pets09_split2 (west 0:448, east 320:768) cut its boxes at 448 and 320, not at the frame's edges."""
    truth = read_mot(assets / "data/pets09_s2l1/gt/gt.txt")
    for name, (x0, x1) in {"west": (0, 448), "east": (320, 768)}.items():
        made = strip_ground_truth(truth, Strip(name, x0, x1, 0, 576, (768, 576)))
        shared = read_mot(assets / f"data/pets09_split2/{name}/gt/gt.txt")
        made, shared = (rows[np.lexsort((rows[:, 1], rows[:, 0]))] for rows in (made, shared))
        np.testing.assert_allclose(made[:, :6], shared[:, :6], atol=0.006)  # the shared file has 2 decimals


@pytest.mark.parametrize(("text", "message"), [("0:300,abc", "is not x0:x1"), ("0:900", "does not fit"), ("", "lists no strip")])
def test_bad_strips_are_named(text, message):
    with pytest.raises(DataError, match=message):
        parse_strips(text, 768, 576)


def test_strips_are_named_in_order_with_rows_when_given():
    assert parse_strips("0:256,320:576/100:400", 768, 576) == [Strip("cam0", 0, 256, 0, 576, (768, 576)),
                                                                Strip("cam1", 320, 576, 100, 400, (768, 576))]


def test_a_strip_of_odd_width_is_written_one_column_narrower_and_its_ground_truth_says_so(tmp_path):
    """The MPEG-4 encoder writes even sizes: a 51 px strip came out 50 px wide, its ground truth still
    reaching column 51."""
    strips = make_split(write_video(tmp_path / "v.avi"), write_gt(tmp_path / "gt.txt"), np.eye(3), "0:51,60:100",
                        tmp_path / "out")
    assert [(s.x1 - s.x0, s.y1 - s.y0) for s in strips] == [(50, 60), (40, 60)]
    video = cv2.VideoCapture(str(tmp_path / "out/cam0/cam0.mp4"))
    assert (video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (50, 60)
    video.release()
    assert read_mot(tmp_path / "out/cam0/gt/gt.txt")[0, 2:6].tolist() == [30, 10, 20, 40]


def test_the_config_of_a_split_made_from_a_two_camera_config_loads(tmp_path, monkeypatch):
    """Made from configs/demo.yaml, the split's config kept its transit windows naming west and east
    (refused at load: not cameras of the split) and its ${MCTRT_ASSETS:-...} model paths unexpanded
    (then relative to the split's folder)."""
    monkeypatch.delenv("MCTRT_ASSETS", raising=False)
    make_split(write_video(tmp_path / "v.avi"), write_gt(tmp_path / "gt.txt"), np.eye(3), "0:50,60:100",
               tmp_path / "out", base_config=DEMO)
    config = load_config(tmp_path / "out" / "config.yaml")
    assert config.camera_ids == ["cam0", "cam1"]
    assert Path(config.detector.model) == (DEMO.parent / "../../shared/models/yolov8n_coco_fp32.onnx").resolve()


def test_a_splits_floor_plan_and_int8_frames_stay_where_the_base_config_has_them(tmp_path):
    """Paths other than the models' were copied as written, then relative to the split's folder."""
    base = yaml.safe_load(DEMO.read_text())
    base["modules"]["detector"].update(precision="int8", calibration=["frames"])
    base["server"]["floor_plan"] = {"image": "plan.png"}
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "base.yaml").write_text(yaml.safe_dump(base))
    make_split(write_video(tmp_path / "v.avi"), write_gt(tmp_path / "gt.txt"), np.eye(3), "0:50,60:100",
               tmp_path / "out", base_config=tmp_path / "site" / "base.yaml")
    config = load_config(tmp_path / "out" / "config.yaml")
    assert config.server.floor_plan.image == str(tmp_path / "site" / "plan.png")
    assert config.detector.calibration == (str(tmp_path / "site" / "frames"),)


def split_cli(tmp_path: Path, *, image_to_floor: str = "[[1, 0, 0], [0, 1, 0], [0, 0, 1]]", frames: str | None = None,
              base_config: Path = DEMO) -> int:
    """`python -m mctrt.splits` on a 3-frame video into tmp_path/out; its exit status."""
    argv = ["--video", str(write_video(tmp_path / "v.avi")), "--gt", str(write_gt(tmp_path / "gt.txt")),
            "--image-to-floor", image_to_floor, "--strips", "0:50,60:100", "--base-config", str(base_config),
            "--out", str(tmp_path / "out")]
    return main(argv + (["--frames", frames] if frames is not None else []))


def demo_with_tracker(**settings) -> str:
    demo = yaml.safe_load(DEMO.read_text())
    demo["modules"]["tracker"].update(settings)
    return yaml.safe_dump(demo)


@pytest.mark.parametrize(("text", "message"), [
    (None, "does not exist"),
    ("inputs: [x\n", "is not valid YAML"),
    ("- modules\n", "must be a mapping of sections"),
    # YAML, but mctrt run would refuse the split's config made from it: a misspelt tracker key
    (demo_with_tracker(track_tresh=0.5), r"would not load: modules.tracker has unknown keys \['track_tresh'\]"),
])
def test_a_base_config_that_would_not_load_is_refused_before_anything_is_written(tmp_path, text, message):
    if text is not None:
        (tmp_path / "base.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        make_split(write_video(tmp_path / "v.avi"), write_gt(tmp_path / "gt.txt"), np.eye(3), "0:50,60:100",
                   tmp_path / "out", base_config=tmp_path / "base.yaml")
    assert not (tmp_path / "out").exists()


def test_an_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(DataError, match="--out .* is a file; give a folder"):
        make_split(write_video(tmp_path / "v.avi"), write_gt(tmp_path / "gt.txt"), np.eye(3), "0:50", tmp_path / "out")


@pytest.mark.parametrize(("image_to_floor", "message"), [
    ("[[1, 2, 3], [4, 5]]", "must be a 3x3 matrix of numbers"),  # ragged
    ("[[1, 0], [0, 1]]", "must be a 3x3 matrix of finite numbers"),  # 2x2
    ("[[1, 2, 3], [2, 4, 6], [0, 0, 1]]", "homography is singular"),  # rows dependent
    ("[[1, 0, 0]", "is not valid JSON"),
    ("no_such_file.json", "is neither a JSON 3x3 list .* nor the path of a JSON file"),
])
def test_a_bad_image_to_floor_is_named_with_the_form_expected(tmp_path, capsys, image_to_floor, message):
    assert split_cli(tmp_path, image_to_floor=image_to_floor) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --image-to-floor") and re.search(message, error)
    assert not (tmp_path / "out").exists()


def test_image_to_floor_may_be_the_path_of_a_json_file(tmp_path):
    (tmp_path / "h.json").write_text(json.dumps(FRAME_TO_FLOOR.tolist()))
    assert split_cli(tmp_path, image_to_floor=str(tmp_path / "h.json")) == 0
    cam1 = load_config(tmp_path / "out" / "config.yaml").inputs[1]
    expected = Strip("cam1", 60, 100, 0, 60).homography(FRAME_TO_FLOOR)
    np.testing.assert_allclose(cam1.calibration.image_to_floor, expected, rtol=1e-9)


@pytest.mark.parametrize(("frames", "message"), [
    ("abc", "--frames 'abc' is not first:last"),
    ("20:1", "--frames 20:1: it ends before it starts"),
    ("0:2", "--frames 0:2: frames are numbered from 1"),
    ("2:5", "--frames 2:5 goes past the end of --video .*, which has 3 frames"),  # the video has 3
])
def test_frames_that_are_not_a_range_within_the_video_are_refused_before_anything_is_written(tmp_path, capsys, frames,
                                                                                               message):
    assert split_cli(tmp_path, frames=frames) == 2
    assert re.match(f"error: {message}", capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def truncated_video(path: Path) -> Path:
    """A 10-frame video cut to half its bytes: it still says 10 frames, and gives about 5."""
    data = write_video(path, frames=10, noise=True).read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


@pytest.mark.parametrize("frames", [None, (1, 10)])
def test_a_truncated_videos_ground_truth_ends_with_its_last_frame_and_says_so(tmp_path, caplog, frames):
    """The ground truth of frames the video never gave would count as misses of every tracker."""
    video = truncated_video(tmp_path / "v.avi")
    make_split(video, write_gt(tmp_path / "gt.txt", 10), np.eye(3), "0:50,60:100", tmp_path / "out", frames)
    written = frames_in(tmp_path / "out/cam0/cam0.mp4")
    assert 0 < written < 10
    assert read_mot(tmp_path / "out/cam0/gt/gt.txt")[:, 0].tolist() == list(range(1, written + 1))
    assert f"gave {written} of the 10 frames" in caplog.text and f"frames 1:{written} only" in caplog.text


def test_a_truncated_video_that_ends_before_the_first_frame_asked_for_is_refused(tmp_path):
    video = truncated_video(tmp_path / "v.avi")
    with pytest.raises(DataError, match="ended before frame 9 .*it reports 10 frames.*truncated"):
        make_split(video, write_gt(tmp_path / "gt.txt", 10), np.eye(3), "0:50", tmp_path / "out", (9, 10))


def test_a_strip_under_2_pixels_is_refused_as_the_encoder_cannot_write_it(tmp_path):
    with pytest.raises(DataError, match="cam1 is under 2 pixels wide"):
        make_split(write_video(tmp_path / "v.avi"), write_gt(tmp_path / "gt.txt"), np.eye(3), "0:50,60:61",
                   tmp_path / "out")
    assert not (tmp_path / "out").exists()
