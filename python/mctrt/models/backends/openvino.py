"""OpenVINO backend (CPU): the optional extra `pip install "mctrt[openvino]"`.

Where it is installed, backend "auto" on a machine without a usable GPU backend times it against
onnxruntime on the model itself at start-up and keeps the faster, logging both timings: Intel's
own benchmarks show large gains on recent Xeons, and on other CPUs it can be slower.
FP32 inference stays FP32 (INFERENCE_PRECISION_HINT f32: OpenVINO would otherwise pick bf16 on CPUs
that have it); a static INT8 (QDQ) model runs as INT8.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from mctrt.errors import BackendUnavailable, ModelError

log = logging.getLogger(__name__)


class OpenVinoBackend:
    """One compiled model and its infer request. Any batch size (the models are batch-dynamic)."""

    name = "openvino"
    device = "cpu"

    def __init__(self, model, source: Path, threads: int | None = None) -> None:
        """threads: the most CPU threads one inference uses (INFERENCE_NUM_THREADS); None: all cores."""
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
            raise ModelError(f"backend_options.openvino.threads must be a whole number >= 1; got {threads!r}")
        try:
            import openvino as ov
        except ImportError as exc:
            raise BackendUnavailable(f"openvino is not installed ({exc}); pip install 'mctrt[openvino]'") from None
        core = ov.Core()
        try:
            settings = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
            if threads is not None:
                settings["INFERENCE_NUM_THREADS"] = threads
            compiled = core.compile_model(core.read_model(model.SerializeToString()), "CPU", settings)
        except Exception as exc:  # OpenVINO raises RuntimeError and its own types
            raise ModelError(f"openvino could not load it: {exc}") from None
        if len(compiled.inputs) != 1:
            raise ModelError(f"it has {len(compiled.inputs)} inputs; a detector or embedder has one image input")
        dims = lambda shape: tuple(d.get_length() if d.is_static else None for d in shape)  # noqa: E731
        self.input_shape = dims(compiled.inputs[0].get_partial_shape())
        self.output_shapes = [dims(o.get_partial_shape()) for o in compiled.outputs]
        self.fixed_batch = self.input_shape[0]
        self.max_batch = None
        self.threads = int(compiled.get_property("INFERENCE_NUM_THREADS"))  # as OpenVINO took it (0: its choice)
        self._request = compiled.create_infer_request()
        log.info("openvino %s: %s on CPU", ov.__version__.split("-")[0], source.name)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(B, ...) float32 input -> the first output, (B, ...), a copy the next run does not touch."""
        if self.fixed_batch == 1 and len(batch) != 1:
            return np.concatenate([self.run(batch[i : i + 1]) for i in range(len(batch))])
        return self._request.infer({0: batch}, share_inputs=False, share_outputs=False)[0]
