"""Embedder: OSNet person re-identification features for boxes in frames.

Crops are cut, resized and normalised in C++ straight from the full frames (all boxes of all frames
in one call), then embedded as one batch. Features are L2-normalised, so their dot product is the
cosine similarity.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

import logging

from mctrt._native import core, cuda, cuda_kernels_for
from mctrt.config import ReidConfig
from mctrt.errors import ModelError
from mctrt.models.backends import open_backend, open_or_keep, runs_on_cpu
from mctrt.models.onnx_io import load_onnx
from mctrt.models.quantize import cached_or_live_int8

log = logging.getLogger(__name__)


class Embedder:
    """Appearance features of people.

    Args:
        model: path of an OSNet-style ONNX file: (batch, 3, H, W) ImageNet-normalised RGB in, (batch, D) out.
        backend: "auto" (tensorrt, then torch on CUDA, then onnxruntime), or a backend's name.
        backend_options: per backend, its settings, e.g. {"torch": {"cuda_graphs": True}}.
        precision, calibration_crops: see mctrt.config.ReidConfig (INT8 calibrated on the first crops
            embed() is given).
    On a GPU backend the crops are cut and resized by a CUDA kernel straight into the model's input.
    """

    def __init__(self, model: str | Path, *, backend: str = "auto", backend_options: Mapping[str, Mapping] | None = None,
                 precision: str = "fp32", calibration_crops: int = 128) -> None:
        self.config = ReidConfig(str(model), backend, dict(backend_options or {}), precision, calibration_crops)
        self.path = path = Path(model)
        options = dict(backend_options or {})
        # re-ID runs in bursts between detections: its idle threads must not spin on the detector's cores
        options["onnxruntime"] = {"spin": False, **dict(options.get("onnxruntime") or {})}
        # the number of crops changes every step: a few padded shapes, not one first call per count
        options["torch"] = {"pad_batches": True, **dict(options.get("torch") or {})}
        self._options = options
        proto = load_onnx(path, "re-ID model")
        self._live = None  # INT8: a LiveCalibration sampling embed()'s crops
        if precision == "int8" and runs_on_cpu(backend):
            proto, self._live = cached_or_live_int8(proto, path, whole_crops_into, calibration_crops, "re-ID model")
        elif precision == "int8":
            log.info("re-ID precision int8 is for the CPU backends; %s runs its own precision", backend)
        self.backend = open_backend(proto, path, backend, "re-ID model", options, prepare=upright_crops_into)
        shape, out = self.backend.input_shape, self.backend.output_shapes[0]
        if len(shape) != 4 or shape[1] != 3 or not all(isinstance(d, int) for d in shape[2:]) or len(out) != 2:
            raise ModelError(
                f"re-ID model {path} has input {shape} and output {out}; expected (batch, 3, H, W) in and (batch, D) out"
            )
        self.input_size = (int(shape[2]), int(shape[3]))
        self.dim = int(out[1]) if isinstance(out[1], int) else None
        self._crops = np.empty((0, 3, *self.input_size), np.float32)  # grows to the largest batch seen
        self._gpu = cuda.CropKernels() if cuda_kernels_for(self.backend.device, Path(path).name) else None

    @classmethod
    def from_config(cls, config: ReidConfig) -> Embedder:
        return cls(config.model, backend=config.backend, backend_options=config.backend_options,
                   precision=config.precision, calibration_crops=config.calibration_crops)

    def wait_for_int8(self, timeout: float | None = None) -> bool:
        """As Detector.wait_for_int8, for the crops' calibration."""
        return self._live is None or self._live.wait(timeout)

    def embed(self, images: list[np.ndarray], boxes_per_image: list[np.ndarray]) -> np.ndarray:
        """(sum K, D) float32 L2-normalised features, in order: image 0's boxes, then image 1's, ...

        images: BGR uint8 (H, W, 3) frames; boxes_per_image: one (K, 4) float32 xyxy array per frame.
        """
        total = sum(len(b) for b in boxes_per_image)
        if total == 0:
            return np.empty((0, self.dim or 0), np.float32)
        live = self._live
        if live is not None and (quantized := live.poll(person_crops(images, boxes_per_image), self.path)) is not None:
            # INT8 calibrated on the run's crops: ready now, the float model ran until here
            self.backend = open_or_keep(quantized, self.path, self.config.backend, "re-ID model", self._options, self.backend)
        self._live = None if self._live is None or self._live.finished else self._live
        if self._gpu is not None and self.dim is not None and self.backend.fixed_batch is None:
            features = self._embed_on_gpu(images, boxes_per_image, total)
        else:
            if len(self._crops) < total:
                self._crops = np.empty((total, 3, *self.input_size), np.float32)
            crops = self._crops[:total]
            core.crop_resize_batch(list(images), list(boxes_per_image), crops)
            features = np.asarray(self.backend.run(crops), dtype=np.float32)
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        return features / np.maximum(norms, 1e-12)

    def _embed_on_gpu(self, images: list[np.ndarray], boxes_per_image: list[np.ndarray], total: int) -> np.ndarray:
        """Crops cut on the GPU into the model's input, in batches of at most the backend's max_batch."""
        backend = self.backend
        step = backend.max_batch or total
        boxes = [np.asarray(b, np.float32).reshape(-1, 4) for b in boxes_per_image]
        starts = np.cumsum([0] + [len(b) for b in boxes])  # box k of image i is number starts[i] + k overall
        features = np.empty((total, self.dim), np.float32)
        for first in range(0, total, step):
            last = min(first + step, total)
            chunk = [b[max(first - s, 0) : max(last - s, 0)] for b, s in zip(boxes, starts[:-1])]
            n = last - first
            self._gpu.crop_resize(list(images), chunk, backend.input_pointer(n), backend.input_dtype, *self.input_size,
                                  backend.stream)
            cuda.copy_to_host(backend.execute(n), features[first:last], backend.stream)
        return features


def person_crops(images: list[np.ndarray], boxes_per_image: list[np.ndarray]) -> list[np.ndarray]:
    """Each box's pixels (a view into its frame), cut as embed()'s C++ cuts them (crop_rect: every edge
    floored and clamped into the frame, at least 1 px); boxes with a coordinate that is not finite left out."""
    crops = []
    for image, boxes in zip(images, boxes_per_image):
        height, width = image.shape[:2]
        xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
        for x0, y0, x1, y1 in np.floor(xyxy[np.isfinite(xyxy).all(axis=1)]):
            left, top = int(np.clip(x0, 0, width - 1)), int(np.clip(y0, 0, height - 1))
            right, bottom = int(np.clip(x1, left + 1, width)), int(np.clip(y1, top + 1, height))
            crops.append(image[top:bottom, left:right])
    return crops


def whole_crops_into(crops: list[np.ndarray], out: np.ndarray) -> None:
    """Person crops into a batch of the model's input, each whole, prepared as embed() prepares a box."""
    core.crop_resize_batch([np.ascontiguousarray(c) for c in crops],
                           [np.array([[0, 0, c.shape[1], c.shape[0]]], np.float32) for c in crops], out)


def upright_crops_into(images: list[np.ndarray], out: np.ndarray) -> None:
    """Frames into a batch of the model's input (B, 3, H, W) for TensorRT's INT8 calibration: from each
    frame the tallest crop of the input's own shape (upright, like a person's box) that fits, centred,
    prepared exactly as embed() prepares boxes. A whole landscape frame squeezed into the upright
    input would calibrate on shapes and scales re-ID never sees."""
    aspect = out.shape[3] / out.shape[2]  # width / height of the model's input
    boxes = []
    for image in images:
        height, width = image.shape[:2]
        h = min(height, width / aspect)
        w = h * aspect
        x0, y0 = (width - w) / 2, (height - h) / 2
        boxes.append(np.array([[x0, y0, x0 + w, y0 + h]], np.float32))
    core.crop_resize_batch(images, boxes, out)
