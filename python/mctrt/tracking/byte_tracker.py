"""ByteTracker: the Python face of the C++ tracker (mctrt/csrc/src/byte_tracker.cpp).

One tracker per camera. update() crosses into C++ once per frame with two arrays and comes back with
four; the GIL is released while it works.
"""

from __future__ import annotations

import numpy as np

from mctrt._native import core
from mctrt.config import ByteTrackConfig
from mctrt.types import Tracks


class ByteTracker:
    """ByteTrack for one camera.

    >>> tracker = ByteTracker(ByteTrackConfig(frame_rate=10))
    >>> tracks = tracker.update(xyxy, scores)  # doctest: +SKIP
    """

    def __init__(self, config: ByteTrackConfig | None = None) -> None:
        self.config = config if config is not None else ByteTrackConfig()
        self._native = core.ByteTracker(self.config.to_native())

    def update(self, xyxy: np.ndarray, scores: np.ndarray, time: float | None = None) -> Tracks:
        """Advance one frame.

        Args:
            xyxy: (N, 4) float32 detection boxes in pixels (N may be 0).
            scores: (N,) float32 detection scores.
            time: the frame's capture time in seconds. Given, the tracker predicts across the real gap
                since the last frame (dropped frames, uneven rates) and keeps a lost track for
                track_buffer / 30 seconds; None: one frame at config.frame_rate has passed.

        Returns:
            The confirmed tracks matched in this frame, and those removed in it (see Tracks).

        Raises:
            ValueError: a wrong shape or dtype, a non-finite value, or an inverted box; the tracker's
                state is left unchanged.
        """
        return Tracks(*self._native.update(xyxy, scores, float("nan") if time is None else time))

    def reset(self) -> np.ndarray:
        """Forget every track; the next confirmed track gets ID 1 again. Returns the IDs (K,) int64 of
        the confirmed tracks this ends."""
        return self._native.reset()

    @property
    def frame_id(self) -> int:
        """Frames processed since creation or reset."""
        return self._native.frame_id

    @property
    def num_tracked(self) -> int:
        """Tracks currently tracked, tentative ones included."""
        return self._native.num_tracked

    @property
    def num_lost(self) -> int:
        """Tracks lost but still kept for re-finding."""
        return self._native.num_lost
