"""Embedder: OSNet person re-identification features for boxes in frames.

Crops are cut, resized and normalised in C++ straight from the full frames (all boxes of all frames
in one call), then embedded as one batch. Features are L2-normalised, so their dot product is the
cosine similarity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mctrt._native import core
from mctrt.errors import ModelError
from mctrt.models.backends import open_backend


class Embedder:
    """Appearance features of people.

    Args:
        model: path of an OSNet-style ONNX file: (batch, 3, H, W) ImageNet-normalised RGB in, (batch, D) out.
        backend: "auto" (the best available; today onnxruntime), or a backend's name.
    """

    def __init__(self, model: str | Path, *, backend: str = "auto") -> None:
        path = Path(model)
        self.backend = open_backend(path, backend, "re-ID model")
        shape, out = self.backend.input_shape, self.backend.output_shapes[0]
        if len(shape) != 4 or shape[1] != 3 or not all(isinstance(d, int) for d in shape[2:]) or len(out) != 2:
            raise ModelError(
                f"re-ID model {path} has input {shape} and output {out}; expected (batch, 3, H, W) in and (batch, D) out"
            )
        self.input_size = (int(shape[2]), int(shape[3]))
        self.dim = int(out[1]) if isinstance(out[1], int) else None
        self._crops = np.empty((0, 3, *self.input_size), np.float32)  # grows to the largest batch seen

    def embed(self, images: list[np.ndarray], boxes_per_image: list[np.ndarray]) -> np.ndarray:
        """(sum K, D) float32 L2-normalised features, in order: image 0's boxes, then image 1's, ...

        images: BGR uint8 (H, W, 3) frames; boxes_per_image: one (K, 4) float32 xyxy array per frame.
        """
        total = sum(len(b) for b in boxes_per_image)
        if total == 0:
            return np.empty((0, self.dim or 0), np.float32)
        if len(self._crops) < total:
            self._crops = np.empty((total, 3, *self.input_size), np.float32)
        crops = self._crops[:total]
        core.crop_resize_batch(list(images), list(boxes_per_image), crops)
        features = np.asarray(self.backend.run(crops), dtype=np.float32)
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        return features / np.maximum(norms, 1e-12)
