"""Detector on real images with the shared models: people found, equal to a direct ONNX Runtime run,
and clear errors for wrong models.
"""

import logging

import cv2
import numpy as np
import pytest

from mctrt import Detector, iou_xyxy
from mctrt._native import core
from mctrt.errors import ConfigError, ModelError


@pytest.fixture(scope="module")
def yolov8(assets):
    return Detector(assets / "models/yolov8n_coco_fp32.onnx", input_size=(640, 640))  # the export's own


def image(assets, name):
    return cv2.imread(str(assets / "images" / name))


def test_bus_has_four_people(yolov8, assets):
    (people,) = yolov8.detect([image(assets, "bus.jpg")])
    assert len(people) == 4
    assert (people.class_ids == 0).all() and (people.scores >= 0.25).all()
    # the four pedestrians stand between x = 0 and 810 and y = 390 and 910 in this 810 x 1080 photo
    assert (people.xyxy[:, 1] > 350).all() and (people.xyxy[:, 3] < 920).all()


def test_a_batch_gives_the_same_as_one_by_one(yolov8, assets):
    images = [image(assets, "bus.jpg"), image(assets, "zidane.jpg")]
    together = yolov8.detect(images)
    for img, got in zip(images, together):
        (alone,) = yolov8.detect([img])
        np.testing.assert_array_equal(got.xyxy, alone.xyxy)
    assert len(together[1]) == 2  # zidane.jpg: two people


def test_yolox_finds_people_too(assets):
    detector = Detector(assets / "models/yolox_nano_coco_416.onnx")
    assert detector.family == "yolox" and detector.input_size == (416, 416)
    (people,) = detector.detect([image(assets, "zidane.jpg")])
    assert len(people) == 2


def test_output_equals_a_direct_onnxruntime_run_on_the_same_input(yolov8, assets):
    import onnxruntime as ort

    img = image(assets, "bus.jpg")
    (ours,) = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", conf_threshold=0.05,
                       input_size=(640, 640)).detect([img])
    batch = np.empty((1, 3, 640, 640), np.float32)
    transforms = core.letterbox_batch([img], batch, True, True, 1 / 255, 114.0)
    session = ort.InferenceSession(str(assets / "models/yolov8n_coco_fp32.onnx"), providers=["CPUExecutionProvider"])
    raw = session.run(None, {"images": batch})[0][0]
    person = raw[4] >= 0.05
    cx, cy, w, h = raw[:4, person]
    ratio, pad_x, pad_y = transforms[0]
    xyxy = (np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1) - [pad_x, pad_y, pad_x, pad_y]) / ratio
    xyxy = np.clip(xyxy, 0, [img.shape[1], img.shape[0]] * 2)
    scores = raw[4, person]
    # every box we return is one of onnxruntime's candidates with the same score ...
    for box, score in zip(ours.xyxy, ours.scores):
        k = int(np.argmin(np.abs(scores - score)))
        assert scores[k] == score
        np.testing.assert_allclose(box, xyxy[k], atol=1e-3)
    # ... and every other candidate overlaps a better returned box by more than the NMS threshold
    assert len(ours) >= 4
    returned = np.isin(scores, ours.scores)
    overlap = iou_xyxy(xyxy[~returned].astype(np.float32), ours.xyxy)
    better = ours.scores[None, :] >= scores[~returned][:, None]
    assert ((overlap > 0.45) & better).any(axis=1).all()


def test_a_fixed_batch_yolov8_export_is_made_batch_dynamic_as_it_loads(yolov8):
    # the shared export pins batch 1 in its Reshape constants; one session call runs the whole batch
    assert yolov8.backend.fixed_batch is None


def test_input_size_retargets_a_yolov8_export_as_it_loads(assets, tmp_path):
    from mctrt.models.prepare import prepare

    original = assets / "models/yolov8n_coco_fp32.onnx"
    prepared = prepare(original, tmp_path / "384x640.onnx", dynamic_batch=True, input_size=(384, 640))
    in_memory, from_file = Detector(original, input_size=(384, 640)), Detector(prepared, input_size=None)
    assert in_memory.input_size == (384, 640)
    images = [image(assets, "bus.jpg"), image(assets, "zidane.jpg")]
    for a, b in zip(in_memory.detect(images), from_file.detect(images)):
        assert len(a) > 0 and len(a) == len(b)
        # the same boxes; not to the bit: onnxruntime's two sessions may sum in another order (seen in CI
        # on a loaded machine, 1e-4 px apart)
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-2)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)


def test_yolox_cannot_be_retargeted(assets):
    with pytest.raises(ModelError, match="takes 416x416 input, not 320x320; only YOLOv8 exports can be re-targeted"):
        Detector(assets / "models/yolox_nano_coco_416.onnx", input_size=(320, 320))


def test_an_empty_frame_is_named_with_input_size_auto_too(assets):
    detector = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", input_size="auto")
    with pytest.raises(ValueError, match=r"images\[1\] is empty"):  # a ZeroDivisionError before
        detector.detect([np.zeros((64, 64, 3), np.uint8), np.zeros((0, 0, 3), np.uint8)])


def test_one_frame_given_as_an_array_says_to_give_a_list(yolov8):
    with pytest.raises(TypeError, match=r"detect takes a list of frames.*detect\(\[frame\]\)"):  # numpy's truth-value error before
        yolov8.detect(np.zeros((64, 64, 3), np.uint8))


def test_yolox_given_an_input_size_is_refused_before_anything_is_built(assets, monkeypatch):
    """build_engines and quantize took the model at its own 416 x 416 for a configured 384 x 640."""
    from mctrt.models import detector

    with pytest.raises(ModelError, match="takes 416x416 input, not 384x640; only YOLOv8 exports can be re-targeted"):
        detector.load_detector_model(assets / "models/yolox_nano_coco_416.onnx", (384, 640))


@pytest.mark.parametrize(("make", "message"), [
    (lambda path, assets: path.write_bytes(b""), "is not an ONNX model"),
    (lambda path, assets: path.write_bytes((assets / "models/osnet_x0_25_market1501.onnx").read_bytes()),
     "output shape .* is neither YOLOv8's"),
])
def test_an_empty_or_wrong_model_file_is_named_as_the_detector(tmp_path, assets, make, message):
    path = tmp_path / "model.onnx"
    make(path, assets)
    with pytest.raises(ModelError, match=f"detector model {path}(:)? {message}"):
        Detector(path, backend="onnxruntime")


def test_missing_model_names_the_file(tmp_path):
    with pytest.raises(ModelError, match=f"detector model {tmp_path / 'none.onnx'} does not exist"):
        Detector(tmp_path / "none.onnx")


def test_a_file_that_is_not_onnx_is_rejected(tmp_path):
    path = tmp_path / "fake.onnx"
    path.write_text("not a model")
    with pytest.raises(ModelError, match=f"detector model {path} is not a readable ONNX file"):
        Detector(path)


def test_a_reid_model_is_not_a_detector(assets):
    with pytest.raises(ModelError, match="neither YOLOv8's .* nor YOLOX's"):
        Detector(assets / "models/osnet_x0_25_market1501.onnx")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"backend": "magic"}, ConfigError, "backend must be one of auto, onnxruntime, openvino, tensorrt, torch"),
        ({"conf_threshold": 1.5}, ConfigError, r"conf_threshold must be a number in \[0, 1\]; got 1.5"),
        ({"classes": (0, 80)}, ConfigError, r"classes \[80\] are not in the model's 0..79"),
        ({"input_size": (400, 640)}, ConfigError, r"input_size must be \[H, W\], positive multiples of 32"),
    ],
)
def test_bad_settings_are_rejected_with_the_reason(assets, kwargs, error, message):
    with pytest.raises(error, match=message):
        Detector(assets / "models/yolov8n_coco_fp32.onnx", **kwargs)


def test_auto_input_size_is_chosen_from_the_first_frames_and_finds_the_same_people(assets, caplog):
    from mctrt.models.quantize import agreement, sample_frames

    caplog.set_level(logging.INFO, logger="mctrt.models.detector")
    frames = sample_frames([str(assets / "data/pets09_s2l1/pets09_s2l1.avi")], 10)  # 768 x 576
    auto = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", input_size="auto")
    assert auto.backend is None  # nothing is loaded before the cameras' frames are seen
    square = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", input_size=(640, 640))
    found = agreement(square, auto, frames)
    assert auto.input_size == (512, 640)
    assert "detector input auto: 512x640 for frames of 768x576 (long side 640)" in caplog.text
    # the same pixels of each frame on the same grid, with less padding: measured 51 of 51 found, scores
    # -0.0009 (sd 0.0033); on a grid half a cell off (480 x 640) they move by 0.022 (sd) on these frames
    assert found["found_by_other"] >= 0.97 and found["found_by_reference"] >= 0.97, found
    assert abs(found["score_change_mean"]) <= 0.005 and found["score_change_sd"] <= 0.008, found


def test_auto_is_the_default_and_grows_the_input_when_a_frame_of_a_new_shape_comes(assets, caplog):
    """A camera that joins late with another shape (here a portrait frame after landscape ones) gets an
    input that holds it at the long side's scale, not a letterbox that shrinks it and loses its people."""
    caplog.set_level(logging.INFO, logger="mctrt.models.detector")
    detector = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime")
    landscape, portrait = image(assets, "zidane.jpg"), image(assets, "bus.jpg")  # 1280 x 720, 810 x 1080
    detector.detect([landscape])
    assert detector.input_size == (384, 640)
    (found,) = detector.detect([portrait])
    assert detector.input_size == (640, 640)  # the box around 384 x 640 and 640 x 512
    assert "detector input auto: 384x640 -> 640x640 for frames of 1280x720, 810x1080" in caplog.text
    square = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", input_size=(640, 640))
    (want,) = square.detect([portrait])
    np.testing.assert_allclose(found.xyxy, want.xyxy, atol=1e-2)  # as a fixed input of that size finds them
    detector.detect([landscape, portrait])
    assert caplog.text.count("detector input auto:") == 2  # shapes seen before build nothing again


def test_auto_input_size_checks_the_model_file_at_once_and_leaves_yolox_its_own(assets, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=f"detector model {bad} is not a readable ONNX file"):
        Detector(bad, input_size="auto")
    yolox = Detector(assets / "models/yolox_nano_coco_416.onnx", backend="onnxruntime", input_size="auto")
    assert yolox.backend is not None and yolox.input_size == (416, 416)



@pytest.mark.parametrize(("settings", "message"), [
    ({"classes": (80,)}, r"classes \[80\] are not in the model's 0..79"),
    ({"backend_options": {"onnxruntime": {"thread": 2}}}, "onnxruntime backend has no option thread"),
    ({"precision": "int8", "calibration": "/nonexistent/site.mp4"}, "calibration source /nonexistent/site.mp4 does not exist"),
])
def test_auto_input_size_refuses_bad_settings_at_once_as_a_fixed_size_does(assets, settings, message):
    """They were found by the first detect(), inside a running pipeline (a traceback, exit 1)."""
    with pytest.raises((ConfigError, ModelError), match=message):
        Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", input_size="auto", **settings)
