"""C++ letterbox and decode + NMS against short cv2/numpy references."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mctrt._native import core


def reference_letterbox(image, out_h, out_w, centre, to_rgb, scale, pad=114.0):
    """Ultralytics' letterbox with cv2, then float, channel order, scale and CHW with numpy."""
    h, w = image.shape[:2]
    ratio = min(out_h / h, out_w / w)
    new_w, new_h = max(1, round(w * ratio)), max(1, round(h * ratio))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    left = round((out_w - new_w) / 2 - 0.1) if centre else 0
    top = round((out_h - new_h) / 2 - 0.1) if centre else 0
    canvas = np.full((out_h, out_w, 3), pad, np.float32)
    canvas[top : top + new_h, left : left + new_w] = resized
    if to_rgb:
        canvas = canvas[:, :, ::-1]
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)) * scale, (ratio, left, top)


# (641, 1280): 320.5 rows at ratio 0.5, a tie that rounds to even (320) as Ultralytics' round() does
@pytest.mark.parametrize("shape", [(480, 640), (576, 768), (333, 517), (1080, 1920), (100, 50), (640, 640), (641, 1280)])
@pytest.mark.parametrize(("centre", "to_rgb", "scale"), [(True, True, 1 / 255), (False, False, 1.0)], ids=["yolov8", "yolox"])
def test_letterbox_matches_cv2_within_one_level(shape, centre, to_rgb, scale):
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    image = cv2.GaussianBlur(image, (5, 5), 2)  # natural-ish content, not pure noise
    out = np.empty((1, 3, 640, 640), np.float32)
    transforms = core.letterbox_batch([image], out, centre, to_rgb, scale, 114.0)
    want, (ratio, left, top) = reference_letterbox(image, 640, 640, centre, to_rgb, scale)
    np.testing.assert_allclose(transforms[0], [ratio, left, top], rtol=1e-6)
    assert np.abs(out[0] - want).max() <= 1.0 * scale + 1e-6  # cv2 rounds to uint8 with fixed-point weights


def test_letterbox_batch_handles_mixed_sizes_and_strided_crops():
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)
    images = [big, big[100:400, 200:700], rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)]
    out = np.empty((3, 3, 320, 320), np.float32)
    core.letterbox_batch(images, out, True, True, 1 / 255, 114.0)
    for k, image in enumerate(images):
        want, _ = reference_letterbox(np.ascontiguousarray(image), 320, 320, True, True, 1 / 255)
        assert np.abs(out[k] - want).max() <= 1 / 255 + 1e-6


RESAMPLE_BOTH_WAYS = """
import sys
import numpy as np
from mctrt._native import core
rng = np.random.default_rng(3)
# widths that leave a scalar tail after the 8-wide steps; down- and up-scaling; a crop at the far corner
images = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((1080, 1917, 3), (97, 61, 3), (333, 517, 3))]
letterboxed = np.empty((3, 3, 320, 320), np.float32)
core.letterbox_batch(images, letterboxed, True, True, 1 / 255, 114.0)
boxes = [np.array([[1800.5, 900.2, 1917, 1080], [0, 0, 40, 300]], np.float32), np.zeros((0, 4), np.float32),
         np.array([[10, 20, 517, 333], [500, 300, 517, 333]], np.float32)]
crops = np.empty((4, 3, 256, 128), np.float32)
core.crop_resize_batch(images, boxes, crops)
np.savez(sys.argv[1], letterboxed=letterboxed, crops=crops, resampler=core.build_info()["resampler"])
"""


def test_avx2_and_portable_resamplers_give_identical_values(tmp_path):
    if core.build_info()["resampler"] != "avx2":
        pytest.skip("this CPU runs the portable resampler only (no AVX2)")
    runs = {}
    for simd in ("1", "0"):
        path = tmp_path / f"simd{simd}.npz"
        env = {**os.environ, "MCTRT_SIMD": simd}
        subprocess.run([sys.executable, "-c", RESAMPLE_BOTH_WAYS, str(path)], env=env, check=True)
        runs[simd] = np.load(path)
    assert (str(runs["1"]["resampler"]), str(runs["0"]["resampler"])) == ("avx2", "portable")
    np.testing.assert_array_equal(runs["1"]["letterboxed"], runs["0"]["letterboxed"])
    np.testing.assert_array_equal(runs["1"]["crops"], runs["0"]["crops"])


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ([np.zeros((10, 10, 3), np.float32)], r"images\[0\] must be a uint8 BGR image of shape \(H, W, 3\)"),
        ([np.zeros((10, 10), np.uint8)], r"images\[0\] must be a uint8 BGR image"),
        ([np.zeros((0, 10, 3), np.uint8)], r"images\[0\] is empty"),
    ],
)
def test_letterbox_rejects_bad_images(images, message):
    with pytest.raises(ValueError, match=message):
        core.letterbox_batch(images, np.empty((1, 3, 64, 64), np.float32), True, True, 1.0, 114.0)


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (np.empty((1, 3, 64, 64), np.float32, order="F"), "out must be a writeable, C-contiguous array"),
        (np.empty((1, 3, 128, 64), np.float32)[:, :, ::2], "out must be a writeable, C-contiguous array"),
        (np.empty((1, 3, 64, 0), np.float32), r"out must be at least 1x1 pixels"),  # wrote out of bounds
        (np.empty((1, 3, 0, 64), np.float32), r"out must be at least 1x1 pixels"),
    ],
    ids=["fortran-order", "strided", "no-width", "no-height"],
)
def test_letterbox_and_crops_refuse_an_out_they_cannot_write_into(out, message):
    """A copy was written into and thrown away: the caller's array stayed as it was, with no error."""
    image = np.full((32, 32, 3), 200, np.uint8)
    with pytest.raises(ValueError, match=message):
        core.letterbox_batch([image], out, True, True, 1.0, 114.0)
    with pytest.raises(ValueError, match=message):
        core.crop_resize_batch([image], [np.array([[0, 0, 16, 16]], np.float32)], out)


def reference_nms(xyxy, scores, classes, iou_threshold, max_det):
    order = np.lexsort((np.arange(len(scores)), -scores))
    kept = []
    for i in order:
        if len(kept) == max_det:
            break
        ok = True
        for k in kept:
            if classes[k] != classes[i]:
                continue
            lt = np.maximum(xyxy[k, :2], xyxy[i, :2])
            rb = np.minimum(xyxy[k, 2:], xyxy[i, 2:])
            inter = np.prod(np.clip(rb - lt, 0, None))
            union = np.prod(xyxy[k, 2:] - xyxy[k, :2]) + np.prod(xyxy[i, 2:] - xyxy[i, :2]) - inter
            if union > 0 and inter / union > iou_threshold:
                ok = False
                break
        if ok:
            kept.append(i)
    return kept


def reference_yolov8(raw, conf, allowed):
    """(4 + C, A) -> candidates with their best allowed class."""
    scores = np.where(np.array(allowed)[:, None], raw[4:], -1)
    cls = scores.argmax(0)
    best = scores.max(0)
    keep = best >= conf
    cx, cy, w, h = raw[:4, keep]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(np.float32), best[keep], cls[keep]


@pytest.mark.parametrize("classes", [[0], [0, 2, 5], list(range(8))])
def test_yolov8_decode_and_nms_match_the_reference(classes):
    rng = np.random.default_rng(len(classes))
    num_classes, anchors = 8, 600
    raw = np.zeros((1, 4 + num_classes, anchors), np.float32)
    centres = rng.uniform(50, 590, (2, anchors))
    raw[0, 0:2] = centres + rng.normal(0, 4, (2, anchors))  # clusters of overlapping boxes
    raw[0, 2:4] = rng.uniform(20, 120, (2, anchors))
    raw[0, 4:] = rng.random((num_classes, anchors)) ** 4
    raw[0, 0:2, 300:] = raw[0, 0:2, :300]  # exact duplicates
    allowed = [c in classes for c in range(num_classes)]
    transforms = np.array([[1.0, 0.0, 0.0]], np.float32)
    sizes = np.array([[640, 640]], np.int64)
    ((xyxy, scores, class_ids),) = core.postprocess(raw, "yolov8", transforms, sizes, 0.1, 0.45, classes, num_classes,
                                                    300, 640, 640)
    cand_xyxy, cand_scores, cand_cls = reference_yolov8(raw[0], 0.1, allowed)
    kept = reference_nms(cand_xyxy, cand_scores, cand_cls, 0.45, 300)
    np.testing.assert_allclose(xyxy, np.clip(cand_xyxy[kept], 0, 640), rtol=1e-6)
    np.testing.assert_array_equal(scores, cand_scores[kept])
    np.testing.assert_array_equal(class_ids, cand_cls[kept])


def test_boxes_are_mapped_back_through_the_letterbox_and_clipped():
    raw = np.zeros((1, 5, 10), np.float32)
    raw[0, :, 0] = [320, 320, 64, 128, 0.9]  # centre of a 640 input
    raw[0, :, 1] = [10, 320, 40, 40, 0.8]    # sticks out of the left padding
    transforms = np.array([[0.5, 0.0, 80.0]], np.float32)  # a 960 x 1280 frame, centred
    ((xyxy, _, _),) = core.postprocess(raw, "yolov8", transforms, np.array([[960, 1280]], np.int64), 0.5, 0.45,
                                       [0], 1, 300, 640, 640)
    np.testing.assert_allclose(xyxy, [[576, 352, 704, 608], [0, 440, 60, 520]])


MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def reference_crop(image, box, out_h=256, out_w=128):
    """Integer crop (corners floored, clamped), cv2 resize, RGB, / 255, ImageNet normalisation, CHW."""
    h, w = image.shape[:2]
    x0, y0 = min(max(int(np.floor(box[0])), 0), w - 1), min(max(int(np.floor(box[1])), 0), h - 1)
    x1, y1 = min(max(int(np.floor(box[2])), x0 + 1), w), min(max(int(np.floor(box[3])), y0 + 1), h)
    crop = cv2.resize(image[y0:y1, x0:x1], (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    rgb = crop[:, :, ::-1].astype(np.float32) / 255
    return ((rgb - MEAN) / STD).transpose(2, 0, 1)


def test_reid_crops_match_cv2_within_one_level():
    rng = np.random.default_rng(5)
    frames = [cv2.GaussianBlur(rng.integers(0, 256, (576, 768, 3), dtype=np.uint8), (5, 5), 2) for _ in range(2)]
    boxes = [np.array([[10.4, 20.6, 60.2, 180.9], [700, 400, 800, 600], [-20, -5, 30, 40]], np.float32),
             np.array([[300, 100, 340, 120]], np.float32)]  # a box off the edge; a box wider than tall
    out = np.empty((4, 3, 256, 128), np.float32)
    core.crop_resize_batch(frames, boxes, out)
    k = 0
    for frame, frame_boxes in zip(frames, boxes):
        for box in frame_boxes:
            diff = np.abs(out[k] - reference_crop(frame, box)) * STD[:, None, None]
            assert diff.max() <= 1 / 255 + 1e-6, k
            k += 1


def test_a_box_far_beyond_the_frame_is_cropped_to_the_frame():
    """Coordinates past the int range were floored to INT_MIN: a 1 x 1 crop of the corner."""
    frame = cv2.GaussianBlur(np.random.default_rng(3).integers(0, 256, (100, 200, 3), dtype=np.uint8), (5, 5), 2)
    out = np.empty((2, 3, 64, 32), np.float32)
    core.crop_resize_batch([frame], [np.array([[0, 0, 200, 100], [0, 0, 3e9, 3e9]], np.float32)], out)
    np.testing.assert_array_equal(out[0], out[1])


def test_reid_crops_need_one_box_array_per_image():
    with pytest.raises(ValueError, match="boxes_per_image has 1 entries for 2 images"):
        core.crop_resize_batch([np.zeros((8, 8, 3), np.uint8)] * 2, [np.zeros((0, 4), np.float32)],
                               np.empty((0, 3, 4, 4), np.float32))
