"""mctrt.splits: strips of one calibrated view keep the floor (a pixel of a strip lands where the same
pixel of the frame does) and the ground truth of the boxes mostly inside them, in their own pixels."""

import cv2
import numpy as np
import pytest

from mctrt.errors import DataError
from mctrt.geometry import CameraCalibration
from mctrt.io.mot import read_mot
from mctrt.splits import Strip, make_split, parse_strips, strip_ground_truth

FRAME_TO_FLOOR = np.array([[0.05, -0.58, 85.0], [-0.13, -0.38, 116.0], [0.0009, 0.019, 1.0]])


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
    writer = cv2.VideoWriter(str(tmp_path / "v.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (100, 60))
    for _ in range(3):
        writer.write(np.zeros((60, 100, 3), np.uint8))
    writer.release()
    np.savetxt(tmp_path / "gt.txt", [[1, 1, 30, 10, 21, 40, 1, -1, -1, -1]], delimiter=",", fmt="%g")  # to column 51
    strips = make_split(tmp_path / "v.avi", tmp_path / "gt.txt", np.eye(3), "0:51,60:100", tmp_path / "out")
    assert [(s.x1 - s.x0, s.y1 - s.y0) for s in strips] == [(50, 60), (40, 60)]
    video = cv2.VideoCapture(str(tmp_path / "out/cam0/cam0.mp4"))
    assert (video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (50, 60)
    video.release()
    assert read_mot(tmp_path / "out/cam0/gt/gt.txt")[0, 2:6].tolist() == [30, 10, 20, 40]


def test_the_config_of_a_split_made_from_a_two_camera_config_loads(tmp_path, monkeypatch):
    """Made from configs/demo.yaml, the split's config kept its transit windows naming west and east
    (refused at load: not cameras of the split) and its ${MCTRT_ASSETS:-...} model paths unexpanded
    (then relative to the split's folder)."""
    from pathlib import Path

    from mctrt.config import load_config

    monkeypatch.delenv("MCTRT_ASSETS", raising=False)
    writer = cv2.VideoWriter(str(tmp_path / "v.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (100, 60))
    for _ in range(3):
        writer.write(np.zeros((60, 100, 3), np.uint8))
    writer.release()
    np.savetxt(tmp_path / "gt.txt", [[1, 1, 30, 10, 21, 40, 1, -1, -1, -1]], delimiter=",", fmt="%g")
    demo = Path(__file__).parents[2] / "configs" / "demo.yaml"
    make_split(tmp_path / "v.avi", tmp_path / "gt.txt", np.eye(3), "0:50,60:100", tmp_path / "out", base_config=demo)
    config = load_config(tmp_path / "out" / "config.yaml")
    assert config.camera_ids == ["cam0", "cam1"]
    assert Path(config.detector.model) == (demo.parent / "../../shared/models/yolov8n_coco_fp32.onnx").resolve()
