"""Box-format conversions in Python, the one place for them (the C++ side has boxes.hpp).

tlwh = (left, top, width, height), as in MOTChallenge files; xyxy = (left, top, right, bottom).
"""

from __future__ import annotations

import numpy as np

from mctrt._native import core

iou_xyxy = core.iou_xyxy


def tlwh_to_xyxy(tlwh: np.ndarray) -> np.ndarray:
    """(N, 4) tlwh -> (N, 4) xyxy, same dtype."""
    out = np.array(tlwh, copy=True)
    out[:, 2:4] += out[:, 0:2]
    return out


def clear_of_border(xyxy: np.ndarray, image_size: tuple[int, int], margin: float) -> np.ndarray:
    """(N,) bool: which (N, 4) xyxy boxes keep `margin` pixels from every side of a (width, height)
    image; a box that reaches the border may be cut by it (a person only partly in view)."""
    width, height = image_size
    x0, y0, x1, y1 = np.asarray(xyxy).T
    return (x0 >= margin) & (y0 >= margin) & (x1 <= width - margin) & (y1 <= height - margin)


def xyxy_to_tlwh(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) xyxy -> (N, 4) tlwh, same dtype."""
    out = np.array(xyxy, copy=True)
    out[:, 2:4] -= out[:, 0:2]
    return out
