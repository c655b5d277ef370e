"""Perception: one step of camera frames -> detections (one batch for all cameras) -> ByteTrack per
camera -> re-ID embeddings for the tracks that are due (one batch) -> one CameraStep per camera.

It is the part of the pipeline that needs the images; everything after it (the Scene) works on
CameraSteps alone, so the two can run in one process or on different machines over a bus.
"""

from __future__ import annotations

import numpy as np

from mctrt.association import ReidScheduler
from mctrt.bus.messages import CameraStep
from mctrt.config import PipelineConfig
from mctrt.metrics import StageTimer
from mctrt.models import Detector, Embedder
from mctrt.tracking import ByteTracker
from mctrt.types import Frame


class Perception:
    """Detector, per-camera trackers and the re-ID schedule for some cameras of a config.

    Args:
        config: the loaded configuration.
        camera_ids: the cameras this process perceives (all of the config's by default).
        detector, embedder: already built models to use instead of the config's (tests, benchmarks).
    """

    def __init__(self, config: PipelineConfig, camera_ids: list[str] | None = None, *,
                 detector: Detector | None = None, embedder: Embedder | None = None) -> None:
        self.detector = detector or Detector.from_config(config.detector)
        self.embedder = embedder or (Embedder.from_config(config.reid) if config.reid is not None else None)
        self.trackers = {cam: ByteTracker(config.tracker) for cam in camera_ids or config.camera_ids}
        self.reid_schedule = ReidScheduler(config.reid_schedule, enabled=self.embedder is not None)

    def step(self, frames: list[Frame], timer: StageTimer) -> list[CameraStep]:
        """Each frame's CameraStep (frames: one per camera at most), timing the stages on `timer`."""
        detections = self.detector.detect([f.image for f in frames])
        timer.done("detect")
        # capture times: the trackers predict across the real gap (dropped frames, uneven rates)
        tracks = [self.trackers[f.camera_id].update(d.xyxy, d.scores, f.time_s) for f, d in zip(frames, detections)]
        timer.done("track")
        sizes = [(f.image.shape[1], f.image.shape[0]) for f in frames]
        plans = [self.reid_schedule.plan(f.camera_id, f.index, size, t) for f, size, t in zip(frames, sizes, tracks)]
        features = None
        if any(p.due.any() for p in plans):
            features = self.embedder.embed([f.image for f in frames], [t.xyxy[p.due] for t, p in zip(tracks, plans)])
        steps, start = [], 0
        for frame, size, det, trk, plan in zip(frames, sizes, detections, tracks, plans):
            embeddings = None
            if plan.due.any():
                embeddings = np.zeros((len(trk), features.shape[1]), np.float32)
                embeddings[plan.due] = features[start:start + int(plan.due.sum())]
                start += int(plan.due.sum())
            steps.append(CameraStep(frame.camera_id, frame.index, frame.time_s, frame.capture_ts, size, len(det), trk,
                                    plan.due, embeddings, plan.give_up, frame=frame))
        timer.done("reid")
        return steps
