"""mctrt.splits: strips of one calibrated view keep the floor (a pixel of a strip lands where the same
pixel of the frame does) and the ground truth of the boxes mostly inside them, in their own pixels."""

import numpy as np
import pytest

from mctrt.errors import DataError
from mctrt.geometry import CameraCalibration
from mctrt.splits import Strip, parse_strips, strip_ground_truth

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
    kept = strip_ground_truth(rows, Strip("cam1", 320, 576, 0, 576))
    assert kept[:, 1].tolist() == [8, 9] and kept[:, 2].tolist() == [-15, 80] and kept[:, 3].tolist() == [50, 60]


@pytest.mark.parametrize(("text", "message"), [("0:300,abc", "is not x0:x1"), ("0:900", "does not fit"), ("", "lists no strip")])
def test_bad_strips_are_named(text, message):
    with pytest.raises(DataError, match=message):
        parse_strips(text, 768, 576)


def test_strips_are_named_in_order_with_rows_when_given():
    assert parse_strips("0:256,320:576/100:400", 768, 576) == [Strip("cam0", 0, 256, 0, 576), Strip("cam1", 320, 576, 100, 400)]
