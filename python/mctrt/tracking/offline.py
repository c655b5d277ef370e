"""Track precomputed detections (a MOTChallenge det file) frame by frame, for evaluation and tests."""

from __future__ import annotations

import numpy as np

from mctrt.config import ByteTrackConfig
from mctrt.io.mot import iter_detection_frames, result_rows
from mctrt.tracking.byte_tracker import ByteTracker


def track_detections(det_rows: np.ndarray, config: ByteTrackConfig, num_frames: int | None = None) -> np.ndarray:
    """Run one ByteTracker over detection rows; returns MOTChallenge result rows (R, 10)."""
    tracker = ByteTracker(config)
    out = [
        result_rows(frame, t.track_id, t.xyxy, t.score)
        for frame, xyxy, scores in iter_detection_frames(det_rows, num_frames)
        if len(t := tracker.update(xyxy, scores))
    ]
    return np.concatenate(out) if out else np.empty((0, 10))
