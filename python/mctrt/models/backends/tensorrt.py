"""TensorRT backend: engines (built and cached by tensorrt_build.py) run with the TensorRT 10 named-tensor API.

An engine is a cache of its ONNX graph, only valid for one TensorRT version, GPU model and
precision; its file name carries all of them (see engine_key), so a changed model, driver stack or
GPU builds a new one instead of loading a stale one. Device buffers for the largest batch are
allocated once; pre-processing writes straight into the input tensor (input_pointer) and everything
runs on one CUDA stream.

TensorRT cannot be installed on the machines this project is developed and tested on: this module
is written against the documented TensorRT 10 Python API and its tests skip without `tensorrt`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from mctrt.errors import ModelError
from mctrt.models.backends.tensorrt_build import EngineOptions, _gpu, _trt, build_engine
from mctrt.models.onnx_io import io_shapes

log = logging.getLogger(__name__)


class TensorRtBackend:
    """Runs a cached (or freshly built) engine of the model."""

    name = "tensorrt"
    device = "cuda"

    def __init__(self, model, source: Path, options: EngineOptions | None = None, prepare=None) -> None:
        from mctrt._native import cuda

        trt = _trt()
        _gpu()
        options = options or EngineOptions()
        self.input_shape, self.output_shapes = io_shapes(model)
        self.path = path = build_engine(model, source, options, prepare)
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise ModelError(f"TensorRT could not load the engine {path}; delete it to rebuild")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self.input_name = inputs[0]
        self.input_dtype = "float16" if self.engine.get_tensor_dtype(self.input_name) == trt.float16 else "float32"
        if self.engine.get_tensor_dtype(self.outputs[0]) != trt.float32:
            raise ModelError(f"engine {path}: its first output is not float32; rebuild it")
        _, _, largest = self.engine.get_tensor_profile_shape(self.input_name, 0)  # min, opt, max shapes
        self.max_batch = int(tuple(largest)[0])
        self.fixed_batch = self.input_shape[0] if isinstance(self.input_shape[0], int) else None
        self.stream_object = cuda.Stream()
        self.stream = self.stream_object.handle
        # one buffer per tensor, sized for the largest batch, allocated once
        self._buffers = {}
        for name in names:
            shape = self.engine.get_tensor_shape(name)
            per_item = int(np.prod([d for d in tuple(shape)[1:]]))
            itemsize = 2 if self.engine.get_tensor_dtype(name) == trt.float16 else 4
            self._buffers[name] = cuda.DeviceBuffer(self.max_batch * per_item * itemsize)
            self.context.set_tensor_address(name, self._buffers[name].ptr)
        self._batch = None
        log.info("tensorrt: %s, batch up to %d, %s input", path.name, self.max_batch, self.input_dtype)

    def input_pointer(self, batch_size: int) -> int:
        self._check_batch(batch_size)
        return self._buffers[self.input_name].ptr

    def execute(self, batch_size: int) -> int:
        self._check_batch(batch_size)
        if self._batch != batch_size:
            shape = (batch_size, *self.input_shape[1:])
            if not self.context.set_input_shape(self.input_name, shape):  # outside the engine's profile
                raise ModelError(f"TensorRT engine {self.path.name} does not take input {shape} (outside its "
                                 "optimisation profile): give it the batch sizes it was built for, or delete it to rebuild")
            self._batch = batch_size
        if not self.context.execute_async_v3(self.stream):
            raise ModelError("TensorRT failed to enqueue the engine (its log says why)")
        return self._buffers[self.outputs[0]].ptr

    def _check_batch(self, batch_size: int) -> None:
        if not 1 <= batch_size <= self.max_batch:
            raise ValueError(f"batch of {batch_size} is outside this engine's 1..{self.max_batch}; build it with a larger max_batch")

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Host in, host out (used where pre-processing ran on the CPU)."""
        if len(batch) > self.max_batch:
            return np.concatenate([self.run(batch[i : i + self.max_batch]) for i in range(0, len(batch), self.max_batch)])
        data = np.ascontiguousarray(batch, dtype=np.float16 if self.input_dtype == "float16" else np.float32)
        self._buffers[self.input_name].upload(data, self.stream)
        self.execute(len(batch))
        shape = tuple(self.context.get_tensor_shape(self.outputs[0]))
        out = np.empty(shape, np.float32)
        self._buffers[self.outputs[0]].download(out, self.stream)
        self.stream_object.synchronize()
        return out
