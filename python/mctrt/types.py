"""Plain data types: frames in, and the struct-of-arrays results that cross from C++ into Python
(box format in the name)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame of one camera.

    Attributes:
        camera_id: the camera's name (inputs[].camera_id).
        index: 1-based frame number of this source (MOTChallenge frame numbers): decoded frames counted,
            and in a file, after a packet that could not be decoded, its frames' place by their timestamps.
        capture_ts: time.monotonic() when the frame was read: capture -> result latency starts here.
        time_s: when the scene happened, in Unix seconds on the process's clock (mctrt.clock: wall time
            that a step of the system clock does not move): for webcams the read's time; for streams their
            own timestamps placed at the smallest delay seen (clock.StreamTimes); for files
            and image folders with a frame rate, live or offline, the run's start plus (index - 1) / fps,
            so events keep the video's timing and cameras their alignment, free of the reads' jitter.
        image: (H, W, 3) uint8 BGR.
    """

    camera_id: str
    index: int
    capture_ts: float
    time_s: float
    image: np.ndarray


_NO_IDS = np.zeros(0, np.int64)
_NO_IDS.flags.writeable = False


class Tracks:
    """The confirmed tracks of one camera in one frame, M rows, and the tracks that ended in it.

    Attributes:
        xyxy: (M, 4) float32, the box of the detection matched in this frame.
        track_id: (M,) int64, from 1, unique within one tracker.
        score: (M,) float32, the matched detection's score.
        det_index: (M,) int64, the matched detection's row in this frame's input; -1 for a box that
            is a prediction rather than a detection.
        removed_id: (K,) int64, tracks the tracker dropped for good in this frame (lost too long, or
            a duplicate). The tracker alone decides when a track ends; everything downstream
            (global IDs, re-ID schedule, results) follows this list.
    """

    __slots__ = ("xyxy", "track_id", "score", "det_index", "removed_id")

    def __init__(self, xyxy: np.ndarray, track_id: np.ndarray, score: np.ndarray, det_index: np.ndarray,
                 removed_id: np.ndarray = _NO_IDS) -> None:
        self.xyxy = xyxy
        self.track_id = track_id
        self.score = score
        self.det_index = det_index
        self.removed_id = removed_id

    def __len__(self) -> int:
        return len(self.track_id)

    def __repr__(self) -> str:
        return f"Tracks(M={len(self)}, track_id={self.track_id.tolist()}, removed_id={self.removed_id.tolist()})"


class Detections:
    """The detections of one image, N rows, in the image's own pixels.

    Attributes:
        xyxy: (N, 4) float32 boxes, clipped to the image.
        scores: (N,) float32 confidences.
        class_ids: (N,) int64 class indices of the model (COCO: 0 = person).
    """

    __slots__ = ("xyxy", "scores", "class_ids")

    def __init__(self, xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray) -> None:
        self.xyxy = xyxy
        self.scores = scores
        self.class_ids = class_ids

    def __len__(self) -> int:
        return len(self.scores)

    def __repr__(self) -> str:
        return f"Detections(N={len(self)})"
