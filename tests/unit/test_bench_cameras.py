"""benchmarks/bench_cameras.py's replicas: named apart, each pair on a stretch of floor of its own."""

import sys
from pathlib import Path

import numpy as np

BENCHMARKS = str(Path(__file__).resolve().parents[2] / "benchmarks")
if BENCHMARKS not in sys.path:  # the benchmark imports its neighbours by name
    sys.path.insert(0, BENCHMARKS)

from bench_cameras import STRETCH_M, replicated  # noqa: E402
from bench_identity_many import parse_setting  # noqa: E402

from mctrt.config import config_from_dict  # noqa: E402

H = [[0.02, 0.0, -3.0], [0.0, 0.03, -5.0], [0.0, 0.0, 1.0]]


def test_replicas_are_named_apart_and_each_pair_stands_on_its_own_floor(tmp_path):
    config = config_from_dict({
        "inputs": [{"camera_id": "west", "path": "w.mp4", "calibration": {"image_to_floor": H}},
                   {"camera_id": "east", "path": "e.mp4", "calibration": {"image_to_floor": H}}],
        "modules": {"detector": {"model": "unused.onnx"}}, "store": {"path": None}}, tmp_path)
    five = replicated(config, 5)
    assert [i.camera_id for i in five.inputs] == ["west", "east", "west-1", "east-1", "west-2"]
    pixel = np.array([[100.0, 200.0]])
    where = [i.calibration.camera.to_floor(pixel)[0] for i in five.inputs]
    for k, copy in ((2, 1), (4, 2)):
        np.testing.assert_allclose(where[k], where[0] + [copy * STRETCH_M, 0.0], atol=1e-9)
    np.testing.assert_allclose(where[1], where[0])  # the originals are left as they are
    assert replicated(config, 2) == config


def test_bench_settings_keep_whole_numbers_whole():
    assert parse_setting("m: maturity=1, floor.gate_sigma=2.5, tracker.low_thresh=-1") == (
        "m", {"maturity": 1, "floor.gate_sigma": 2.5, "tracker.low_thresh": -1})
    assert isinstance(parse_setting("m: maturity=1")[1]["maturity"], int)
