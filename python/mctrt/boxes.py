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


def xyxy_to_tlwh(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) xyxy -> (N, 4) tlwh, same dtype."""
    out = np.array(xyxy, copy=True)
    out[:, 2:4] -= out[:, 0:2]
    return out
