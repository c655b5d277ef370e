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
CUDA, onnxruntime that can run here, and logs which and why.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from mctrt.config import check_backend
from mctrt.errors import BackendUnavailable, ConfigError, ModelError

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
            return "tensorrt is not installed (pip install tensorrt-cu12)"
        return _gpu_reason()
    if backend == "torch":
        if importlib.util.find_spec("torch") is None:
            return "torch is not installed"
        import torch

        if not torch.cuda.is_available():
            return f"torch {torch.__version__} sees no CUDA device"
        return None
    return None if importlib.util.find_spec("onnxruntime") else "onnxruntime is not installed (pip install onnxruntime)"


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
    kwargs = dict(options.get(name) or {})
    if name == "onnxruntime":
        from mctrt.models.backends.onnxruntime import OnnxRuntimeBackend as Backend
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
        kwargs = {"options": EngineOptions(**kwargs), "prepare": prepare}
    try:
        return Backend(model, source, **kwargs)
    except ModelError as exc:
        raise ModelError(f"{what} {source}: {exc}") from None
