"""Inference backends. A backend loads one model, states its input and outputs, and runs a batch.

open_backend() is the one place that checks a model path and picks a backend by name.
"""

from __future__ import annotations

from pathlib import Path

from mctrt.errors import BackendUnavailable, ConfigError, ModelError

BACKENDS = ("auto", "onnxruntime", "tensorrt", "torch")


def open_backend(model: str | Path, backend: str, what: str):
    """Load `model` (a `what`, e.g. "detector model", for messages) on the named backend.

    "auto" is the best backend available; today that is onnxruntime.
    """
    from mctrt.models.backends.onnxruntime import OnnxRuntimeBackend

    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    path = Path(model)
    if not path.is_file():
        raise ModelError(f"{what} {path} does not exist; give the path of its .onnx file")
    if backend in ("tensorrt", "torch"):
        raise BackendUnavailable(f"the {backend} backend is not implemented yet; use backend='onnxruntime'")
    return OnnxRuntimeBackend(path)
