"""What mctrt knows of YOLO detectors: each family's letterbox (YOLOv8: centred, RGB / 255; YOLOX:
top-left, BGR 0..255), the pad value, which family a graph is from its output shape, and frames
prepared as a family's input (for TensorRT's INT8 calibration, exactly as the Detector does)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mctrt._native import core
from mctrt.errors import ModelError

# family -> (centre, to_rgb, scale) of its letterbox
LETTERBOX = {"yolov8": (True, True, 1.0 / 255), "yolox": (False, False, 1.0)}
PAD_VALUE = 114.0


def family(output_shape: tuple) -> tuple[str, int, int]:
    """('yolov8' | 'yolox', number of classes, number of anchors) from the output shape, or ModelError."""
    if len(output_shape) == 3 and all(isinstance(d, int) for d in output_shape[1:]):
        _, a, b = output_shape
        if 4 < a < b:
            return "yolov8", a - 4, b
        if 5 < b < a:
            return "yolox", b - 5, a
    raise ModelError(
        f"output shape {output_shape} is neither YOLOv8's (1, 4 + classes, anchors) nor YOLOX's (1, anchors, 5 + classes)"
    )


def letterbox_into(family_name: str) -> Callable[[list[np.ndarray], np.ndarray], None]:
    """A function writing frames into a batch of the family's input (B, 3, H, W) float32."""
    centre, to_rgb, scale = LETTERBOX[family_name]
    return lambda images, out: core.letterbox_batch(images, out, centre, to_rgb, scale, PAD_VALUE)
