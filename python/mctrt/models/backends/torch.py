"""PyTorch backend: the ONNX graph converted to a torch module (onnx_to_torch), FP16 on CUDA, with
optional CUDA graphs; the GPU path for users with PyTorch but not TensorRT. It also runs on the CPU
(FP32), which is how CI checks the conversion.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from mctrt.errors import BackendUnavailable, ConfigError
from mctrt.models.onnx_io import io_shapes
from mctrt.models.backends.onnx_to_torch import onnx_to_torch

log = logging.getLogger(__name__)

WARMUP_RUNS = 3  # before a CUDA graph is captured: lets cuDNN pick its algorithms outside the graph
WARM_PADDED_UP_TO = 64  # pad_batches runs the padded shapes up to this once at start (1, 2, 4 ... 64)


class TorchBackend:
    """Args: model (ONNX ModelProto), source (its file, for messages); device "cuda" or "cpu" (default:
    cuda when available); half: FP16 weights and input (default: on CUDA); cuda_graphs: capture one
    CUDA graph per batch size and replay it (CUDA only); pad_batches: on CUDA, run each batch padded to
    the next power of two (for batches whose size varies: the Embedder sets it), run each of the
    shapes up to WARM_PADDED_UP_TO once at start, and take larger batches in chunks of that many, so
    that a live stream never stalls mid-run on a shape's first call."""

    name = "torch"

    def __init__(self, model, source: Path, *, device: str | None = None, half: bool | None = None,
                 cuda_graphs: bool = False, pad_batches: bool = False) -> None:
        try:
            import torch
        except ImportError as exc:
            raise BackendUnavailable(f"torch is not installed ({exc}); pip install torch") from None
        self.torch = torch
        if device not in (None, "cpu", "cuda"):  # "cuda:1" and the like would skip the CUDA paths below
            raise ConfigError(f"backend_options.torch.device must be cpu or cuda (the current CUDA device); got {device!r}")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailable(f"torch {torch.__version__} sees no CUDA device; use device='cpu'")
        self.half = (self.device == "cuda") if half is None else bool(half)
        self.cuda_graphs = bool(cuda_graphs) and self.device == "cuda"
        self.input_shape, self.output_shapes = io_shapes(model)
        self.fixed_batch = self.input_shape[0] if isinstance(self.input_shape[0], int) else None
        self.pad_batches = (bool(pad_batches) and self.device == "cuda" and self.fixed_batch is None
                            and all(isinstance(d, int) for d in self.input_shape[1:]))  # shapes that can be warmed
        self.max_batch = WARM_PADDED_UP_TO if self.pad_batches else None  # larger batches go in chunks (else any size)
        self.dtype = torch.float16 if self.half else torch.float32
        self.input_dtype = "float16" if self.half else "float32"
        self.module = onnx_to_torch(model).to(self.device, self.dtype).eval()
        self._stream = torch.cuda.Stream() if self.device == "cuda" else None
        self.stream = self._stream.cuda_stream if self._stream is not None else 0
        self._inputs: dict[int, object] = {}  # batch size -> static input tensor
        self._outputs: dict[int, object] = {}  # batch size -> float32 output of the last run
        self._graphs: dict[int, object] = {}
        log.info("torch: %s on %s, %s%s", source.name, self.device, self.input_dtype, ", CUDA graphs" if self.cuda_graphs else "")
        if self.pad_batches:
            self._warm_padded_shapes()

    @property
    def batch_sizes(self) -> list[int]:
        """The batch sizes that have an input buffer so far (with padding, the padded ones)."""
        return sorted(self._inputs)

    def _warm_padded_shapes(self) -> None:
        size = 1
        while size <= WARM_PADDED_UP_TO:
            self._execute(size)
            size *= 2
        self._stream.synchronize()

    def _forward(self, x):
        # contiguous: consumers read the output by address as row-major (YOLOX's ends in a transpose)
        return self.module(x)[0].float().contiguous()

    def _slot(self, batch_size: int) -> int:
        """The batch size buffers (and graphs) are kept for: with CUDA graphs, or pad_batches on CUDA, the
        next power of two, so that varying batches (re-ID crops) share a few shapes. Each new shape costs
        its first call far more than the padding: a captured graph, or without graphs cuDNN's set-up (on
        an H200, 225-275 ms on the first call of each new number of crops, 7 ms after)."""
        return 1 << (batch_size - 1).bit_length() if self.cuda_graphs or self.pad_batches else batch_size

    def input_tensor(self, batch_size: int):
        """The input tensor on the device whose first batch_size items the model reads; allocated once."""
        slot = self._slot(batch_size)
        tensor = self._inputs.get(slot)
        if tensor is None:
            shape = (slot, *self.input_shape[1:])
            if self._stream is None:
                tensor = self.torch.zeros(shape, dtype=self.dtype)
            else:  # allocated (and zeroed) on the stream that later fills and reads it
                with self.torch.cuda.stream(self._stream):
                    tensor = self.torch.zeros(shape, dtype=self.dtype, device=self.device)
            self._inputs[slot] = tensor
        return tensor

    def input_pointer(self, batch_size: int) -> int:
        return self.input_tensor(batch_size).data_ptr()

    def execute(self, batch_size: int) -> int:
        """Run on input_tensor(batch_size), enqueued on self.stream; the output's device address (its first
        batch_size items are this batch's)."""
        return self._execute(batch_size).data_ptr()

    def _execute(self, batch_size: int):
        torch = self.torch
        slot = self._slot(batch_size)
        x = self.input_tensor(batch_size)
        with torch.inference_mode():
            if self._stream is None:
                self._outputs[slot] = self._forward(x)
            elif not self.cuda_graphs:
                with torch.cuda.stream(self._stream):
                    self._outputs[slot] = self._forward(x)
            else:
                graph = self._graphs.get(slot)
                if graph is None:
                    graph = self._capture(slot, x)
                with torch.cuda.stream(self._stream):
                    graph.replay()
        return self._outputs[slot]

    def _capture(self, batch_size: int, x):
        torch = self.torch
        with torch.cuda.stream(self._stream):
            for _ in range(WARMUP_RUNS):
                self._forward(x)
        self._stream.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=self._stream):
            self._outputs[batch_size] = self._forward(x)
        self._graphs[batch_size] = graph
        return graph

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(B, ...) float32 input on the host -> the first output on the host."""
        step = 1 if self.fixed_batch == 1 else self.max_batch
        if step and len(batch) > step:
            return np.concatenate([self.run(batch[i : i + step]) for i in range(0, len(batch), step)])
        torch = self.torch
        x = self.input_tensor(len(batch))
        n = len(batch)
        if self._stream is None:
            x[:n].copy_(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)))
            return self._execute(n)[:n].numpy()
        with torch.cuda.stream(self._stream):
            x[:n].copy_(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device, non_blocking=False))
        out = self._execute(n)
        with torch.cuda.stream(self._stream):
            host = out[:n].cpu()
        return host.numpy()
