"""python -m mctrt.models prepare: a rewritten YOLOv8 reproduces the original's detections.

Tolerances: a dynamic-batch or person-only model must give the original's raw output exactly; a model
re-targeted to 384 x 640 sees the same pixels of a 16:9 frame (less padding) and must find the same
people, each box within IoU 0.9 of the original's and its score within 0.05.
"""

import subprocess
import sys

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from onnx import load, numpy_helper

from mctrt import Detector, iou_xyxy
from mctrt.errors import ModelError
from mctrt.models.prepare import anchor_grid, is_yolov8_export, prepare


@pytest.fixture(scope="module")
def original(assets):
    return assets / "models/yolov8n_coco_fp32.onnx"


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_regenerated_anchors_equal_the_exported_ones(original):
    inits = {t.name: numpy_helper.to_array(t) for t in load(str(original)).graph.initializer}
    centres, strides = anchor_grid(640, 640)
    exported_centres = [v for v in inits.values() if v.shape == (1, 2, 8400)]
    exported_strides = [v for v in inits.values() if v.shape == (1, 8400)]
    assert exported_centres and exported_strides
    for v in exported_centres:
        np.testing.assert_array_equal(v, centres)
    np.testing.assert_array_equal(exported_strides[0], strides)


def test_dynamic_batch_gives_the_original_output_for_every_image(original, tmp_path):
    prepared = prepare(original, tmp_path / "dyn.onnx", dynamic_batch=True)
    batch = np.random.default_rng(0).random((3, 3, 640, 640), dtype=np.float32)
    want = np.concatenate([session(original).run(None, {"images": batch[i : i + 1]})[0] for i in range(3)])
    got = session(prepared).run(None, {"images": batch})[0]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_person_only_keeps_boxes_and_the_person_score(original, tmp_path):
    prepared = prepare(original, tmp_path / "person.onnx", person_only=True)
    image = np.random.default_rng(1).random((1, 3, 640, 640), dtype=np.float32)
    want = session(original).run(None, {"images": image})[0]
    got = session(prepared).run(None, {"images": image})[0]
    assert got.shape == (1, 5, 8400)
    np.testing.assert_allclose(got, want[:, :5], atol=1e-6)


def test_a_person_only_model_is_still_a_yolov8_export_and_can_be_retargeted(original, tmp_path):
    """The Slice that keeps the person score hid the Sigmoid: the model was taken for an unknown graph,
    input_size auto silently ran it at 640 x 640 and a fixed size was refused."""
    prepared = prepare(original, tmp_path / "person.onnx", person_only=True)
    assert is_yolov8_export(load(str(prepared)))
    assert Detector(prepared, backend="onnxruntime", input_size=(384, 640)).input_size == (384, 640)


def frames(assets):
    yield cv2.imread(str(assets / "images/zidane.jpg"))
    for seq in ("MOT17-02-FRCNN", "MOT17-04-FRCNN", "MOT17-09-FRCNN"):
        yield cv2.imread(str(assets / "data/mot17_mini" / seq / "img1/000001.jpg"))


def test_retargeted_to_16_by_9_finds_the_same_people(original, assets, tmp_path):
    prepared = prepare(original, tmp_path / "384x640.onnx", dynamic_batch=True, input_size=(384, 640), person_only=True)
    before = Detector(original, conf_threshold=0.4, input_size=(640, 640))
    after = Detector(prepared, conf_threshold=0.4, input_size=None)  # the size it was prepared at
    assert after.input_size == (384, 640) and after.backend.fixed_batch is None
    images = list(frames(assets))
    for image, old, new in zip(images, before.detect(images), after.detect(images)):
        assert len(old) > 0
        iou = iou_xyxy(old.xyxy, new.xyxy)
        for k in range(len(old)):
            if old.scores[k] < 0.5:
                continue  # near the threshold a box may drop out at another input size
            best = int(np.argmax(iou[k]))
            assert iou[k, best] >= 0.9
            assert abs(new.scores[best] - old.scores[k]) <= 0.05


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("yolox_nano_coco_416.onnx", "not a YOLOv8 detection export: the output is not a Concat of boxes and class scores"),
        ("osnet_x0_25_market1501.onnx", "not a YOLOv8 detection export"),
    ],
)
def test_other_models_are_refused_with_the_reason(assets, tmp_path, model, message):
    with pytest.raises(ModelError, match=message):
        prepare(assets / "models" / model, tmp_path / "out.onnx", dynamic_batch=True)


def test_input_size_must_be_a_multiple_of_32(original, tmp_path):
    with pytest.raises(ModelError, match="input size 400x640 must be positive multiples of 32"):
        prepare(original, tmp_path / "out.onnx", input_size=(400, 640))


def test_cli_writes_the_prepared_model(original, tmp_path):
    out = tmp_path / "cli.onnx"
    result = subprocess.run([sys.executable, "-m", "mctrt.models", "prepare", str(original), str(out), "--dynamic-batch",
                             "--person-only"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert session(out).get_outputs()[0].shape == ["batch", 5, 8400]
