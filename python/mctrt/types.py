"""Plain result types that cross from C++ into Python: struct-of-arrays, box format in the name."""

from __future__ import annotations

import numpy as np


class Tracks:
    """The confirmed tracks of one camera in one frame, M rows.

    Attributes:
        xyxy: (M, 4) float32, the box of the detection matched in this frame.
        track_id: (M,) int64, from 1, unique within one tracker.
        score: (M,) float32, the matched detection's score.
        det_index: (M,) int64, the matched detection's row in this frame's input; -1 for a box that
            is a prediction rather than a detection.
    """

    __slots__ = ("xyxy", "track_id", "score", "det_index")

    def __init__(self, xyxy: np.ndarray, track_id: np.ndarray, score: np.ndarray, det_index: np.ndarray) -> None:
        self.xyxy = xyxy
        self.track_id = track_id
        self.score = score
        self.det_index = det_index

    def __len__(self) -> int:
        return len(self.track_id)

    def __repr__(self) -> str:
        return f"Tracks(M={len(self)}, track_id={self.track_id.tolist()})"
