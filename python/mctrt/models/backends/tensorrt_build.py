"""TensorRT engines: their options, the cache key and file name that name everything an engine
depends on, and building one from an ONNX graph (with INT8 calibration on real frames, prepared by
the function its Detector or Embedder gives). Running them is tensorrt.py's.

Written against the documented TensorRT 10 Python API; TensorRT itself is imported only when an
engine is built, so the options and names can be checked (and tested) without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mctrt.errors import BackendUnavailable, ModelError
from mctrt.models.quantize import CACHE_DIR, calibration_key

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class EngineOptions:
    """How an engine is built. max_batch bounds the optimisation profile (min 1, opt opt_batch; not
    given, opt_batch is 8 or max_batch where that is smaller)."""

    precision: str = "fp16"
    max_batch: int = 32
    opt_batch: int | None = None
    workspace_gib: float = 4.0
    engine_dir: str = CACHE_DIR
    calibration_images: str | None = None  # a folder of frames, needed for int8
    calibration_batches: int = 16

    def __post_init__(self) -> None:
        from mctrt.errors import ConfigError

        if self.opt_batch is None:
            object.__setattr__(self, "opt_batch", min(8, self.max_batch) if isinstance(self.max_batch, int) else 8)
        for name in ("max_batch", "opt_batch", "calibration_batches"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"TensorRT {name} must be a whole number >= 1; got {value!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"TensorRT precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}")
        if not 1 <= self.opt_batch <= self.max_batch:
            raise ConfigError(f"TensorRT batch sizes need 1 <= opt_batch <= max_batch; got {self.opt_batch}, {self.max_batch}")
        if self.precision == "int8" and not self.calibration_images:
            raise ConfigError("TensorRT int8 needs calibration_images: a folder of real frames from your cameras")


def _trt():
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailable(
            f"tensorrt is not installed ({exc}); pip install 'tensorrt-cu12>=10,<11', or use backend='torch' or 'onnxruntime'"
        ) from None
    major = int(trt.__version__.split(".")[0])
    if major != 10:  # 11 removed the precision flags and calibrators the builder uses (weak typing)
        raise BackendUnavailable(
            f"TensorRT {trt.__version__} is not supported: mctrt's tensorrt backend needs TensorRT 10 "
            "(pip install 'tensorrt-cu12>=10,<11'), or use backend='torch' or 'onnxruntime'")
    return trt


def _gpu() -> dict:
    from mctrt._native import cuda, cuda_status

    status = cuda_status()
    if cuda is None or not status.usable:
        raise BackendUnavailable(f"TensorRT needs an NVIDIA GPU, and there is none usable here: {status.reason}")
    return status.devices[0]


def require_tensorrt() -> None:
    """BackendUnavailable, saying how to get it, where TensorRT 10 or a usable GPU is missing."""
    _trt()
    _gpu()


def engine_key(onnx_bytes: bytes, trt_version: str, gpu: dict, options: EngineOptions) -> dict:
    """Everything an engine depends on; its file name is made from this. An int8 engine also depends on
    the frames it was calibrated on (and so does its calibration cache, named after it)."""
    key = {
        "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "tensorrt": trt_version,
        "gpu": gpu["name"],
        "compute_capability": gpu["compute_capability"],
        "precision": options.precision,
        "max_batch": options.max_batch,
        "opt_batch": options.opt_batch,
    }
    if options.precision == "int8":
        key["calibration"] = calibration_key([options.calibration_images], options.calibration_batches)
    return key


def engine_path(stem: str, key: dict, engine_dir: str | Path) -> Path:
    gpu = re.sub(r"[^A-Za-z0-9]+", "-", key["gpu"]).strip("-").lower()
    calibrated = f"-cal{key['calibration'][:8]}" if "calibration" in key else ""
    name = (f"{stem}-{key['onnx_sha256'][:12]}-trt{key['tensorrt']}-{gpu}-sm{key['compute_capability'].replace('.', '')}"
            f"-{key['precision']}{calibrated}-b{key['opt_batch']}-{key['max_batch']}.engine")
    return Path(engine_dir) / name


def _progress_monitor(trt, label: str):
    """A TensorRT IProgressMonitor printing the builder's current phase and step on one line."""

    class Progress(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self.steps: dict[str, int] = {}
            self.lock = threading.Lock()  # TensorRT may call from several threads
            self.started = time.monotonic()

        def phase_start(self, phase_name, parent_phase, num_steps):
            with self.lock:
                self.steps[phase_name] = num_steps

        def step_complete(self, phase_name, step):
            with self.lock:
                line = f"{label}: {phase_name} {step + 1}/{self.steps.get(phase_name, '?')}"
                print(f"\r{line}  ({time.monotonic() - self.started:.0f} s)".ljust(100), end="", file=sys.stderr, flush=True)
            return True  # never cancel the build

        def phase_finish(self, phase_name):
            pass

    return Progress()


def build_engine(model, source: Path, options: EngineOptions, prepare=None) -> Path:
    """Build (or find in the cache) the engine of ONNX ModelProto `model` read from `source`; its path.
    prepare(frames, out): the model's pre-processing, which INT8 calibration feeds real frames through."""
    trt = _trt()
    gpu = _gpu()
    onnx_bytes = model.SerializeToString()
    key = engine_key(onnx_bytes, trt.__version__, gpu, options)
    path = engine_path(source.stem, key, options.engine_dir)
    if path.is_file():
        log.info("tensorrt: using cached engine %s", path)
        return path

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_bytes):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT's ONNX parser refused it: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options.workspace_gib * 2**30))
    input_tensor = network.get_input(0)
    shape = tuple(input_tensor.shape)
    item = tuple(int(d) for d in shape[1:])
    if any(d < 0 for d in item):
        raise ModelError(f"input {input_tensor.name} has dynamic dimensions {shape}; only the batch may vary")
    profile = builder.create_optimization_profile()
    if shape[0] < 0:
        profile.set_shape(input_tensor.name, (1, *item), (options.opt_batch, *item), (options.max_batch, *item))
    else:
        profile.set_shape(input_tensor.name, shape, shape, shape)
    config.add_optimization_profile(profile)
    if options.precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    calibrator = None
    if options.precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        if prepare is None:
            raise ModelError("int8 needs the model's pre-processing to calibrate with: build it through Detector, "
                             "Embedder or mctrt.build_engines")
        # TensorRT calibrates at the calibration profile's opt shape: a fixed batch is that batch
        calibration_batch = options.opt_batch if shape[0] < 0 else int(shape[0])
        calibrator = _calibrator(trt, options, (calibration_batch, *item), path.with_suffix(".calib"), prepare)
        config.int8_calibrator = calibrator
        config.set_calibration_profile(profile)
    monitor = _progress_monitor(trt, f"building {path.name}")
    config.progress_monitor = monitor
    log.info("tensorrt: building %s (%s, batch 1..%d); this takes minutes, once", path.name, options.precision,
             options.max_batch)
    started = time.monotonic()
    serialized = builder.build_serialized_network(network, config)
    print(file=sys.stderr)
    if serialized is None:
        raise ModelError("TensorRT could not build an engine from it (its log above says why)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.partial")  # two processes building the same engine write apart
    tmp.write_bytes(bytes(serialized))
    tmp.replace(path)  # a build killed half-way never leaves a truncated engine under the real name
    path.with_suffix(".json").write_text(json.dumps({**key, "source": str(source), **asdict(options)}, indent=1))
    log.info("tensorrt: built %s in %.0f s", path, time.monotonic() - started)
    return path


def _calibrator(trt, options: EngineOptions, shape: tuple[int, ...], cache: Path, prepare):
    """An entropy calibrator fed with real frames, prepared by prepare(frames, out) as the model's
    Detector or Embedder prepares them, in batches of the input `shape` (batch, C, H, W)."""
    import cv2

    from mctrt._native import cuda

    folder = Path(options.calibration_images)
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"))
    batch = shape[0]
    if len(files) < batch:
        raise ModelError(
            f"calibration folder {folder} holds {len(files)} .jpg/.png frames; give at least one batch ({batch}) "
            "of frames from your cameras (a few hundred calibrate best)"
        )
    host = np.empty(shape, np.float32)
    device = cuda.DeviceBuffer(host.nbytes)
    stream = cuda.Stream()
    batches = [files[i : i + batch] for i in range(0, len(files) - batch + 1, batch)][: options.calibration_batches]

    class Calibrator(trt.IInt8EntropyCalibrator2):
        def get_batch_size(self):
            return batch

        def get_batch(self, names):
            if not batches:
                return None
            prepare([cv2.imread(str(p)) for p in batches.pop(0)], host)
            device.upload(host, stream.handle)
            return [device.ptr]

        def read_calibration_cache(self):
            return cache.read_bytes() if cache.is_file() else None

        def write_calibration_cache(self, data):
            cache.write_bytes(bytes(data))

    calibrator = Calibrator()
    calibrator._keep = (device, stream)  # the device memory lives as long as the calibrator
    return calibrator
