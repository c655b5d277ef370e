"""Inference backends. A backend loads one ONNX model and runs batches of it.

Every backend has:
    name: str, device: "cpu" | "cuda"
    input_shape, output_shapes: tuples of ints, or strings/None for dynamic dimensions
    fixed_batch: int | None (the batch size the model insists on, if any)
    max_batch: int | None (the largest batch it takes, if bounded)
    run(batch: np.ndarray float32) -> np.ndarray: the first output, on the host.
Backends on a GPU ("cuda") also let pre- and post-processing stay on the device:
    stream: int, the CUDA stream everything of this model is enqueued on
    input_dtype: "float32" | "float16"
    input_pointer(batch_size) -> int: device address of the (batch_size, ...) input to fill
    execute(batch_size) -> int: enqueue a run on that input; returns the device address of the
        first output (float32, contiguous), valid until the next call.

open_backend() is the one place that picks a backend; "auto" takes the first of tensorrt, torch on
CUDA, onnxruntime that can run here, and logs which and why. On the CPU, where openvino is installed
too, "auto" times both on the model at start-up and keeps the faster (logged with both timings).
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from mctrt.config import check_backend
from mctrt.errors import BackendUnavailable, ConfigError, MctrtError, ModelError

log = logging.getLogger(__name__)


def _gpu_reason() -> str | None:
    """None when mctrt's CUDA module sees a GPU, else why not."""
    from mctrt._native import cuda_status

    status = cuda_status()
    return None if status.usable else status.reason


def _why_not(backend: str) -> str | None:
    """None when `backend` can run here (on a GPU for tensorrt and torch under "auto"), else why not."""
    if backend == "tensorrt":
        if importlib.util.find_spec("tensorrt") is None:
            return "tensorrt is not installed (pip install 'tensorrt-cu12>=10,<11')"
        return _gpu_reason()
    if backend == "torch":
        if importlib.util.find_spec("torch") is None:
            return "torch is not installed"
        import torch

        if not torch.cuda.is_available():
            return f"torch {torch.__version__} sees no CUDA device"
        return None
    if backend == "openvino":
        return None if importlib.util.find_spec("openvino") else "openvino is not installed (pip install 'mctrt[openvino]')"
    return None if importlib.util.find_spec("onnxruntime") else "onnxruntime is not installed (pip install onnxruntime)"


CPU_BACKENDS = ("onnxruntime", "openvino")
OPENVINO_MARGIN = 0.9  # "auto" takes openvino when it ran in under 90 % of onnxruntime's time


def runs_on_cpu(backend: str) -> bool:
    """Whether `backend` ("auto" included) resolves to a CPU backend here (nothing is logged)."""
    if backend == "auto":
        return all(_why_not(gpu) is not None for gpu in ("tensorrt", "torch"))
    return backend in CPU_BACKENDS


def choose_backend(backend: str) -> str:
    """The backend "auto" resolves to here (logged with the reasons), or `backend` itself (a name
    check_backend accepted)."""
    if backend != "auto":
        return backend
    skipped = []
    for candidate in ("tensorrt", "torch", "onnxruntime"):
        reason = _why_not(candidate)
        if reason is None:
            log.info("backend auto: using %s%s", candidate, f" ({'; '.join(skipped)})" if skipped else "")
            return candidate
        skipped.append(f"not {candidate}: {reason}")
    raise BackendUnavailable("no inference backend can run here: " + "; ".join(skipped))


def open_backend(model, source: Path, backend: str, what: str, options: Mapping[str, Mapping] | None = None,
                 prepare: Callable[[list, np.ndarray], None] | None = None):
    """Load the ONNX ModelProto `model` (read from `source`, a `what`) on the named backend.

    options: per backend name, keyword arguments for it, e.g. {"torch": {"cuda_graphs": True},
    "tensorrt": {"precision": "int8", ...}}; only the chosen backend's are used.
    prepare(frames, out): writes frames into a batch of the model's input as its user does (TensorRT's
    INT8 calibration feeds it real frames that way).
    """
    options = dict(options or {})
    check_backend(what, backend, options)
    name = choose_backend(backend)
    if backend == "auto" and name == "onnxruntime" and _why_not("openvino") is None:
        return _faster_on_cpu(model, source, what, options)
    return _open(name, model, source, what, options, prepare)


def open_or_keep(model, source: Path, backend: str, what: str, options: Mapping[str, Mapping] | None, current):
    """`model` (a copy of the one `current` runs, e.g. its INT8 copy) opened as open_backend opens it; where
    that fails, `current`, and a warning: a run must not stop over a faster copy it could do without."""
    try:
        return open_backend(model, source, backend, what, options)
    except MctrtError as exc:
        log.warning("%s %s: its new copy could not be opened (%s); it goes on as it was", what, source, exc)
        return current


def _faster_on_cpu(model, source: Path, what: str, options: Mapping[str, Mapping]):
    """onnxruntime, or openvino where it runs the model clearly faster here (OPENVINO_MARGIN): each
    warmed up, then timed three times in alternation on one batch of zeros (a convolutional net's
    time does not depend on the pixels), the best of each kept. A model with a dynamic image size
    keeps onnxruntime. A cap on onnxruntime's threads holds for openvino too (unless it has its own), so
    that both are timed, and run, within it."""
    threads = (options.get("onnxruntime") or {}).get("threads")
    if threads is not None:
        options = {**options, "openvino": {"threads": threads, **(options.get("openvino") or {})}}
    backends = {name: _open(name, model, source, what, options, None) for name in CPU_BACKENDS}
    shape = backends["onnxruntime"].input_shape
    if not all(isinstance(d, int) for d in shape[1:]):
        log.info("backend auto: onnxruntime for %s (its input size %s is not fixed, so it was not timed)", source.name, shape)
        return backends["onnxruntime"]
    batch = np.zeros((1, *shape[1:]), np.float32)
    best = {name: float("inf") for name in backends}
    for name, backend in backends.items():
        backend.run(batch)
    for _ in range(3):
        for name, backend in backends.items():
            started = time.perf_counter()
            backend.run(batch)
            best[name] = min(best[name], time.perf_counter() - started)
    # openvino only by a clear margin, so that noise in one timing does not flip the choice between runs
    chosen = "openvino" if best["openvino"] < OPENVINO_MARGIN * best["onnxruntime"] else "onnxruntime"
    log.info("backend auto: %s for %s (one run on this CPU: %s)", chosen, source.name,
             ", ".join(f"{name} {seconds * 1e3:.1f} ms" for name, seconds in best.items()))
    return backends[chosen]


def check_tensorrt(options: Mapping[str, Mapping] | None = None) -> None:
    """What opening a tensorrt backend would refuse, found without building its engine (minutes): an
    option it lacks, TensorRT or a GPU missing. For a model whose input is sized later ("auto")."""
    from mctrt.models.backends.tensorrt_build import require_tensorrt

    _backend_class("tensorrt", dict((options or {}).get("tensorrt") or {}))
    require_tensorrt()


def _backend_class(name: str, kwargs: Mapping):
    """The backend class for `name`, with kwargs checked against what it takes."""
    if name == "onnxruntime":
        from mctrt.models.backends.onnxruntime import OnnxRuntimeBackend as Backend
    elif name == "openvino":
        from mctrt.models.backends.openvino import OpenVinoBackend as Backend
    elif name == "torch":
        from mctrt.models.backends.torch import TorchBackend as Backend
    else:
        from mctrt.models.backends.tensorrt import TensorRtBackend as Backend
        from mctrt.models.backends.tensorrt_build import EngineOptions
    takes = EngineOptions.__dataclass_fields__ if name == "tensorrt" else inspect.signature(Backend).parameters
    unknown = sorted(set(kwargs) - set(takes) - {"model", "source"})
    if unknown:
        raise ConfigError(f"{name} backend has no option {', '.join(unknown)}; it takes {', '.join(k for k in takes if k not in ('model', 'source'))}")
    if name == "tensorrt":
        EngineOptions(**kwargs)  # its own checks (precision, batch sizes)
    return Backend


def _open(name: str, model, source: Path, what: str, options: Mapping[str, Mapping], prepare):
    kwargs = dict(options.get(name) or {})
    Backend = _backend_class(name, kwargs)
    if name == "tensorrt":
        from mctrt.models.backends.tensorrt_build import EngineOptions

        kwargs = {"options": EngineOptions(**kwargs), "prepare": prepare}
    try:
        return Backend(model, source, **kwargs)
    except ModelError as exc:
        raise ModelError(f"{what} {source}: {exc}") from None
