"""Detector and re-ID settings: defaults, checks, and reading them from a config file's mapping."""

from pathlib import Path

import pytest

from mctrt.config import DetectorConfig, ReidConfig, from_mapping
from mctrt.errors import ConfigError


def test_defaults_are_the_detectors():
    config = DetectorConfig("m.onnx")
    assert (config.backend, config.input_size, config.conf_threshold, config.nms_iou, config.classes) == (
        "auto", None, 0.25, 0.45, (0,))


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
    ({"model": "m", "backend": "gpu"}, "backend must be one of auto, onnxruntime, tensorrt, torch; got 'gpu'"),
    ({"model": "m", "backend_options": {"cuda_graphs": True}}, "backend_options are keyed by backend"),
])
def test_bad_settings_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping(DetectorConfig, data, "modules.detector")
