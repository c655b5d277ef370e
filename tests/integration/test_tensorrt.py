"""TensorRT: engine options, the cache key, the build command's errors (everywhere), and real engine
builds and runs (marker tensorrt: only where TensorRT and a GPU exist; never run on this project's
machines, which cannot install TensorRT).
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mctrt import Detector, iou_xyxy
from mctrt.errors import ConfigError
from mctrt.models.backends.tensorrt_build import EngineOptions, engine_key, engine_path

GPU = {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"precision": "int4"}, "precision must be one of fp32, fp16, int8"),
    ({"opt_batch": 64, "max_batch": 32}, "1 <= opt_batch <= max_batch"),
    ({"precision": "int8"}, "int8 needs calibration_images"),
    ({"max_batch": "16"}, "max_batch must be a whole number >= 1; got '16'"),
    ({"opt_batch": 0}, "opt_batch must be a whole number >= 1"),
])
def test_engine_options_are_checked(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        EngineOptions(**kwargs)


def test_a_max_batch_below_8_alone_sets_the_batch_optimised_for():
    assert EngineOptions(max_batch=4).opt_batch == 4 and EngineOptions().opt_batch == 8
    assert EngineOptions(max_batch=16, opt_batch=2).opt_batch == 2


def test_the_engine_file_names_everything_it_depends_on(tmp_path):
    options = EngineOptions()
    key = engine_key(b"graph", "10.8.0", GPU, options)
    path = engine_path("yolov8n", key, tmp_path)
    assert path.parent == tmp_path
    assert path.name == f"yolov8n-{key['onnx_sha256'][:12]}-trt10.8.0-nvidia-h100-80gb-hbm3-sm90-fp16-b8-32.engine"
    others = [
        engine_key(b"graph2", "10.8.0", GPU, options),  # another model (or the same re-targeted)
        engine_key(b"graph", "10.9.0", GPU, options),
        engine_key(b"graph", "10.8.0", {**GPU, "name": "NVIDIA L4", "compute_capability": "8.9"}, options),
        engine_key(b"graph", "10.8.0", GPU, EngineOptions(precision="fp32")),
        engine_key(b"graph", "10.8.0", GPU, EngineOptions(max_batch=64)),
    ]
    assert len({engine_path("yolov8n", k, tmp_path) for k in [key, *others]}) == 6


def test_an_int8_engine_file_names_the_frames_it_was_calibrated_on(tmp_path):
    """Other frames, or more of them, built the same file name: the stale engine (and its calibration
    cache) came back."""
    for site in ("a", "b"):
        (tmp_path / site).mkdir()
        cv2.imwrite(str(tmp_path / site / "0.jpg"), np.full((8, 8, 3), ord(site), np.uint8))
    paths = {engine_path("yolov8n", engine_key(b"graph", "10.8.0", GPU, EngineOptions(
        precision="int8", calibration_images=str(tmp_path / site), calibration_batches=batches)), tmp_path)
        for site, batches in (("a", 16), ("b", 16), ("a", 2))}
    assert len(paths) == 3 and all("-int8-cal" in p.name for p in paths)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mctrt.build_engines", *args], capture_output=True, text=True)


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here")
def test_build_engines_without_tensorrt_says_how_to_get_it(assets):
    result = run_cli("--detector", str(assets / "models/yolov8n_coco_fp32.onnx"))
    assert result.returncode == 2
    assert "tensorrt is not installed" in result.stderr and "pip install 'tensorrt-cu12>=10,<11'" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here")
def test_build_engines_reads_a_pipeline_config_as_the_pipeline_does(assets):
    # configs/demo.yaml: ${MCTRT_ASSETS} expanded, the re-ID schedule's keys known; it gets as far as TensorRT
    result = run_cli("--config", str(Path(__file__).resolve().parents[2] / "configs/demo.yaml"))
    assert result.returncode == 2 and "tensorrt is not installed" in result.stderr, result.stderr


def _auto_config(tmp_path, assets, path: str, model: str = "yolov8n_coco_fp32.onnx") -> Path:
    config = tmp_path / "c.yaml"
    config.write_text(f"inputs: [{{camera_id: a, path: '{path}'}}]\nmodules:\n  detector:\n"
                      f"    model: {assets / 'models' / model}\n    input_size: auto\n")
    return config


def _video_16_9(path: Path) -> None:
    """A one-frame 1280 x 720 video."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (1280, 720))
    writer.write(np.zeros((720, 1280, 3), np.uint8))
    writer.release()


def test_build_engines_sizes_an_auto_input_from_the_configs_videos_as_the_pipeline_will(assets, tmp_path):
    from mctrt.build_engines import models_from_config
    from mctrt.models.detector import auto_input_size

    _video_16_9(tmp_path / "a.avi")
    config = _auto_config(tmp_path, assets, "a.avi")
    detector = dict(models_from_config(config))["detector"]
    assert detector.input_size == auto_input_size([(720, 1280)]) == (384, 640)  # the Detector's own rule
    assert dict(models_from_config(config, (480, 640)))["detector"].input_size == (480, 640)
    # YOLOX keeps its own size, as the Detector keeps it: no re-targeting, the videos not even needed
    yolox = _auto_config(tmp_path, assets, "missing.avi", "yolox_nano_coco_416.onnx")
    assert dict(models_from_config(yolox))["detector"].input_size is None


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here")
def test_build_engines_cli_sizes_an_auto_input_and_gets_as_far_as_tensorrt(assets, tmp_path):
    _video_16_9(tmp_path / "a.avi")
    result = run_cli("--config", str(_auto_config(tmp_path, assets, "a.avi")))
    assert result.returncode == 2 and "tensorrt is not installed" in result.stderr, result.stderr
    assert "detector input auto: 384x640" in result.stderr


@pytest.mark.parametrize("path", ["rtsp://127.0.0.1/cam", "0"])
def test_build_engines_asks_for_a_size_when_the_cameras_are_not_files(assets, tmp_path, path):
    result = run_cli("--config", str(_auto_config(tmp_path, assets, path)))
    assert result.returncode == 2
    assert "input_size auto is chosen from the cameras' first frames" in result.stderr and "--input-size" in result.stderr


def test_build_engines_names_a_missing_video_it_would_size_from(assets, tmp_path):
    result = run_cli("--config", str(_auto_config(tmp_path, assets, "gone.mp4")))
    assert result.returncode == 2 and "gone.mp4 does not exist" in result.stderr and "inputs[a].path" in result.stderr


def test_build_engines_refuses_a_bad_config(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("inputs: [{camera_id: a, path: a.mp4}]\nmodules:\n  detector:\n    model: m.onnx\n    conf: 0.3\n")
    result = run_cli("--config", str(config))
    assert result.returncode == 2
    assert "modules.detector has unknown keys ['conf']; valid keys: model, backend, input_size" in result.stderr
    assert run_cli().returncode == 2 and "nothing to build" in run_cli().stderr


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_fp16_engine_finds_what_onnxruntime_finds_and_is_cached(assets, tmp_path):
    path = assets / "models/yolov8n_coco_fp32.onnx"
    images = [cv2.imread(str(assets / "images" / n)) for n in ("bus.jpg", "zidane.jpg")]
    reference = Detector(path, backend="onnxruntime", input_size=(640, 640)).detect(images)
    options = {"tensorrt": {"engine_dir": str(tmp_path), "max_batch": 4, "opt_batch": 2}}
    detector = Detector(path, backend="tensorrt", backend_options=options, input_size=(640, 640))  # built now
    (engine,) = tmp_path.glob("*.engine")
    built = engine.stat().st_mtime_ns
    for want, got in zip(reference, detector.detect(images)):
        confident = want.scores >= 0.4
        iou = iou_xyxy(want.xyxy[confident], got.xyxy)
        assert (iou.max(axis=1) >= 0.9).all()
    Detector(path, backend="tensorrt", backend_options=options, input_size=(640, 640))  # the second load finds the engine
    assert engine.stat().st_mtime_ns == built and len(list(tmp_path.glob("*.engine"))) == 1
    np.testing.assert_equal(detector.backend.max_batch, 4)


@pytest.mark.parametrize(("version", "usable"), [("10.8.0", True), ("11.0.0", False), ("9.3.0", False)])
def test_only_tensorrt_10_is_taken_as_the_builder_uses_its_precision_flags(monkeypatch, version, usable):
    """TensorRT 11 removed BuilderFlag.FP16/INT8 and the calibrators (weak typing): with it installed, a
    build crashed with AttributeError where backend auto should pass it over with a reason."""
    import types

    from mctrt.models.backends import BackendUnavailable
    from mctrt.models.backends.tensorrt_build import _trt

    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(__version__=version))
    if usable:
        assert _trt().__version__ == version
    else:
        with pytest.raises(BackendUnavailable, match=f"TensorRT {version} is not supported.*tensorrt-cu12>=10,<11"):
            _trt()


def test_a_gpu_backend_without_usable_cuda_kernels_takes_host_arrays_and_says_why(monkeypatch, caplog):
    """torch may see a GPU that mctrt's CUDA module cannot use (built for a newer CUDA than the
    driver): the models then pre- and post-process on the CPU instead of failing in the kernels."""
    from mctrt import _native

    monkeypatch.setattr(_native, "cuda_status", lambda: _native.CudaStatus(
        compiled=True, usable=False, reason="no usable GPU: cudaErrorInsufficientDriver"))
    assert not _native.cuda_kernels_for("cuda", "yolov8n.onnx")
    assert "yolov8n.onnx: pre- and post-processing on the CPU" in caplog.text
    assert "cudaErrorInsufficientDriver" in caplog.text
    assert not _native.cuda_kernels_for("cpu", "yolov8n.onnx")
