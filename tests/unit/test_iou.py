"""iou_xyxy: table-driven cases, a numpy reference on random boxes, and input errors."""

import numpy as np
import pytest

from mctrt import iou_xyxy


def box(*xyxy):
    return np.array([xyxy], dtype=np.float32)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (box(0, 0, 10, 10), box(0, 0, 10, 10), 1.0),  # identical
        (box(0, 0, 10, 10), box(20, 20, 30, 30), 0.0),  # disjoint
        (box(0, 0, 10, 10), box(10, 0, 20, 10), 0.0),  # touching edges share no area
        (box(0, 0, 10, 10), box(5, 0, 15, 10), 50 / 150),  # half overlap
        (box(0, 0, 10, 10), box(2, 2, 8, 8), 36 / 100),  # contained
        (box(0, 0, 0, 10), box(0, 0, 10, 10), 0.0),  # zero-area box
        (box(0, 0, 0, 0), box(0, 0, 0, 0), 0.0),  # two points: no union, defined as 0
    ],
)
def test_known_overlaps(a, b, expected):
    assert iou_xyxy(a, b)[0, 0] == pytest.approx(expected, rel=1e-6)


def numpy_iou(a, b):
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0)


def test_matches_numpy_on_random_boxes():
    rng = np.random.default_rng(1)
    tl = rng.uniform(0, 100, (2, 50, 2))
    wh = rng.uniform(0, 40, (2, 50, 2))
    a, b = (np.concatenate([tl[k], tl[k] + wh[k]], axis=1).astype(np.float32) for k in range(2))
    np.testing.assert_allclose(iou_xyxy(a, b), numpy_iou(a.astype(np.float64), b.astype(np.float64)), atol=1e-6)


def test_empty_inputs_give_empty_matrices():
    assert iou_xyxy(np.empty((0, 4), np.float32), box(0, 0, 1, 1)).shape == (0, 1)
    assert iou_xyxy(box(0, 0, 1, 1), np.empty((0, 4), np.float32)).shape == (1, 0)


@pytest.mark.parametrize(
    ("a", "message"),
    [
        (np.zeros((3, 3), np.float32), r"a must be a float32 numpy array of shape \(N, 4\); got float32 array of shape \(3, 3\)"),
        (np.zeros((3, 4), np.float64), r"got float64 array of shape \(3, 4\)\. Convert with np.ascontiguousarray"),
        ([[0, 0, 1, 1]], "got a list"),
        (box(0, 0, np.nan, 1), r"a\[0\] has a non-finite coordinate"),
        (box(5, 0, 1, 1), r"a\[0\] = \(5.0+, 0.0+, 1.0+, 1.0+\) is inverted"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(a, message):
    with pytest.raises(ValueError, match=message):
        iou_xyxy(a, box(0, 0, 1, 1))


def test_strided_input_is_accepted():
    boxes = np.zeros((4, 8), np.float32)
    boxes[:, :4] = [0, 0, 10, 10]
    assert iou_xyxy(boxes[:, :4], box(0, 0, 10, 10)).ravel().tolist() == [1.0] * 4
