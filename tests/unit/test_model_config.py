"""Detector and re-ID settings: defaults, checks, and reading them from a config file's mapping."""

from pathlib import Path

import numpy as np
import pytest

from mctrt.config import DetectorConfig, ReidConfig, config_from_dict, from_mapping
from mctrt.errors import ConfigError


def test_defaults_are_the_pipelines():
    """conf_threshold 0.05, not a detector's usual 0.25: the tracker holds tracks on boxes down to 0.1."""
    config = DetectorConfig("m.onnx")
    assert (config.backend, config.input_size, config.conf_threshold, config.nms_iou, config.classes) == (
        "auto", "auto", 0.05, 0.45, (0,))


def test_a_mapping_becomes_a_config_with_paths_relative_to_the_file():
    data = {"model": "models/y.onnx", "input_size": [384, 640], "classes": [0, 2], "backend": "torch",
            "backend_options": {"torch": {"cuda_graphs": True}}}
    config = from_mapping(DetectorConfig, data, "modules.detector", Path("/etc/mctrt"))
    assert config.model == "/etc/mctrt/models/y.onnx" and config.input_size == (384, 640) and config.classes == (0, 2)
    assert from_mapping(ReidConfig, {"model": "/abs/o.onnx"}, "modules.reid", Path("/x")).model == "/abs/o.onnx"


@pytest.mark.parametrize(("data", "message"), [
    ({"model": "m", "nms": 0.5}, r"modules.detector has unknown keys \['nms'\] \(did you mean nms_iou\?\); valid keys: model, backend"),
    ({"backend": "torch"}, "modules.detector.model is required"),
    ({"model": "m", "conf_threshold": "high"}, r"conf_threshold must be a number in \[0, 1\]; got 'high'"),
    ({"model": "m", "input_size": [360, 640]}, "input_size must be \\[H, W\\], positive multiples of 32"),
    ({"model": "m", "classes": []}, "classes must be a non-empty list"),
    ({"model": "m", "backend": "gpu"}, "backend must be one of auto, onnxruntime, openvino, tensorrt, torch; got 'gpu'"),
    ({"model": "m", "backend_options": {"cuda_graphs": True}}, "backend_options are keyed by backend"),
    ({"model": "m", "precision": "fp16"}, "precision must be one of fp32, int8; got 'fp16'"),
    ({"model": "m", "calibration": [3]}, "calibration must be a path or a list of paths"),
    ({"model": "m", "calibration_frames": 0}, "calibration_frames must be a whole number in 1..10000"),
])
def test_bad_settings_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping(DetectorConfig, data, "modules.detector")


def _site(detector: dict, inputs: list) -> dict:
    return {"inputs": inputs, "modules": {"detector": {"model": "/m.onnx", **detector}}}


def test_int8_calibrates_on_the_configs_own_videos_unless_told_otherwise(tmp_path):
    videos = [{"camera_id": "a", "path": "a.mp4"}, {"camera_id": "b", "path": "rtsp://cam/b"}]
    own = config_from_dict(_site({"precision": "int8"}, videos), tmp_path)
    assert own.detector.calibration == (str(tmp_path / "a.mp4"),)  # the file input, not the stream
    given = config_from_dict(_site({"precision": "int8", "calibration": "frames"}, videos), tmp_path)
    assert given.detector.calibration == (str(tmp_path / "frames"),)
    assert config_from_dict(_site({}, videos), tmp_path).detector.precision == "fp32"


def test_int8_with_only_streams_and_no_calibration_calibrates_on_the_cameras_as_it_runs(tmp_path):
    config = config_from_dict(_site({"precision": "int8"}, [{"camera_id": "b", "path": "rtsp://cam/b"}]), tmp_path)
    assert (config.detector.precision, config.detector.calibration) == ("int8", ())  # the Detector's live calibration


@pytest.mark.parametrize(("frames", "long_side", "size"), [
    ([(576, 768)], 640, (512, 640)),  # 4:3: 480 rows of pixels; 480 would shift the grid by half a cell
    ([(1080, 1920)], 640, (384, 640)),  # 16:9: 360 rows
    ([(1920, 1080)], 640, (640, 384)),  # portrait
    ([(576, 768)], 512, (384, 512)),
    ([(576, 256)], 640, (640, 320)),  # a strip 256 px wide: 284 columns
    ([(576, 768), (1080, 1920), (576, 768)], 640, (512, 640)),  # mixed shapes: the box around them all
])
def test_auto_input_size_keeps_every_cameras_scale_and_drops_the_padding(frames, long_side, size):
    from mctrt.models.detector import auto_input_size

    assert auto_input_size(frames, long_side) == size


@pytest.mark.parametrize("shape", [(576, 768), (1080, 1920), (728, 1288), (480, 640), (576, 448), (576, 256),
                                   (333, 517), (1000, 999), (100, 1900)])
def test_auto_input_size_puts_every_frame_on_the_square_inputs_grid(shape):
    """The letterbox pads a frame in the auto input by the square's padding less a multiple of 32 (the
    coarsest stride), so the model's cells cover the same pixels and its boxes stay the square's."""
    from mctrt.models.detector import auto_input_size
    from mctrt.models.yolo import letterbox_into

    letterbox = letterbox_into("yolov8")  # the detector's own pre-processing
    frame = np.zeros((*shape, 3), np.uint8)
    pads = []
    for size in [(640, 640), auto_input_size([shape], 640)]:
        ratio, pad_x, pad_y = letterbox([frame], np.empty((1, 3, *size), np.float32))[0]
        pads.append((ratio, pad_x, pad_y))
    (square_ratio, *square_pads), (ratio, *auto_pads) = pads
    assert ratio == square_ratio
    assert all(0 <= a <= s and (s - a) % 32 == 0 for a, s in zip(auto_pads, square_pads)), (square_pads, auto_pads)
    assert all(a < 32 for a in auto_pads)  # and no more padding than the grid needs


def test_auto_input_size_and_its_long_side_are_checked():
    assert DetectorConfig("m", input_size="auto").input_size == "auto"
    with pytest.raises(ConfigError, match='input_size must be \\[H, W\\] or "auto"; got \'big\''):
        DetectorConfig("m", input_size="big")
    with pytest.raises(ConfigError, match="input_long_side must be a positive multiple of 32; got 500"):
        DetectorConfig("m", input_long_side=500)


def test_reid_precision_and_its_calibration_are_checked():
    assert (ReidConfig("m").precision, ReidConfig("m").calibration_crops) == ("fp32", 128)
    with pytest.raises(ConfigError, match="ReidConfig.precision must be one of fp32, int8; got 'fp16'"):
        ReidConfig("m", precision="fp16")
    with pytest.raises(ConfigError, match="ReidConfig.calibration_crops must be a whole number in 1..10000; got 0"):
        ReidConfig("m", calibration_crops=0)
    site = {"inputs": [{"camera_id": "b", "path": "rtsp://cam/b"}],
            "modules": {"detector": {"model": "/m.onnx"}, "reid": {"model": "/r.onnx", "precision": "int8"}}}
    assert config_from_dict(site, Path("/x")).reid.precision == "int8"  # the YAML key reaches it
    site["modules"]["reid"]["precision"] = "int4"
    with pytest.raises(ConfigError, match="modules.reid.precision must be one of fp32, int8; got 'int4'"):
        config_from_dict(site, Path("/x"))
