"""ONNX Runtime backend: the CPU default, and CUDA where onnxruntime-gpu is installed."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from mctrt.errors import BackendUnavailable, ModelError

log = logging.getLogger(__name__)


class OnnxRuntimeBackend:
    """One InferenceSession. Models whose batch dimension is fixed to 1 run a batch image by image.

    threads: the CPU threads one inference uses (`backend_options: {onnxruntime: {threads: N}}`);
    default: onnxruntime's, one per physical core. Give each of several processes on one machine its
    share (two workers on two cores: 1 each), or they slow each other down.
    spin: whether those threads wait for work by spinning (onnxruntime's default): quickest for one
    model run back to back, but a model run in short bursts between other work (re-ID between
    detections) leaves its threads spinning on the cores the next detection needs. The Embedder turns
    it off; on this project's 2-core AMD EPYC that took the INT8 pipeline from 22-24 to 33-35 frames/s.
    """

    name = "onnxruntime"
    device = "cpu"  # host in, host out, even on onnxruntime-gpu's CUDA provider

    def __init__(self, model, source: Path, threads: int | None = None, spin: bool = True) -> None:
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
            raise ModelError(f"backend_options.onnxruntime.threads must be a whole number >= 1; got {threads!r}")
        if not isinstance(spin, bool):
            raise ModelError(f"backend_options.onnxruntime.spin must be true or false; got {spin!r}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailable(f"onnxruntime is not installed ({exc}); pip install onnxruntime") from None
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        try:
            options = ort.SessionOptions()
            if threads is not None:
                options.intra_op_num_threads = threads
            if not spin:
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self.session = ort.InferenceSession(model.SerializeToString(), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for unloadable models
            raise ModelError(f"onnxruntime could not load it: {exc}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(f"it has {len(inputs)} inputs; a detector or embedder has one image input")
        self.input_name = inputs[0].name
        self.input_shape = tuple(inputs[0].shape)  # dims are ints, or strings/None when dynamic
        self.output_shapes = [tuple(o.shape) for o in self.session.get_outputs()]
        self.fixed_batch = self.input_shape[0] if isinstance(self.input_shape[0], int) else None
        self.max_batch = None  # any batch size
        log.info("onnxruntime: %s on %s", source.name, ", ".join(self.session.get_providers()))

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(B, ...) float32 input -> the first output, (B, ...)."""
        if self.fixed_batch == 1 and len(batch) != 1:
            return np.concatenate([self.session.run(None, {self.input_name: batch[i : i + 1]})[0] for i in range(len(batch))])
        return self.session.run(None, {self.input_name: batch})[0]
