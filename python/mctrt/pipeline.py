"""The pipeline: cameras -> one detector batch per step -> ByteTrack per camera -> re-ID for tracks
that are due -> global IDs -> events -> store, results files, metrics and listeners (the dashboard).

Pipeline.process() is one step over a list of frames (at most one per camera) and holds all the
per-frame policy; Pipeline.run() feeds it from the camera readers until the inputs end (offline) or
stop() is called (live). Everything here runs on one thread; the readers decode on their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mctrt.association import CrossCameraAssociator, Observation
from mctrt.config import PipelineConfig
from mctrt.events import EventEngine
from mctrt.io.results import ResultWriter
from mctrt.io.sources import ENDED, FAILED, CameraReader
from mctrt.metrics import Metrics
from mctrt.models import Detector, Embedder
from mctrt.store import EventStore
from mctrt.tracking import ByteTracker
from mctrt.types import Frame, Tracks


@dataclass
class CameraResult:
    """One camera's outcome in one step. global_ids[i] is 0 while track i still waits for its ID."""

    frame: Frame
    detections: int
    tracks: Tracks
    global_ids: np.ndarray
    events: list[dict] = field(default_factory=list)


@dataclass
class _TrackState:
    first_frame: int
    last_frame: int
    last_embedded: int | None = None


class Pipeline:
    """Detector, trackers, re-ID, association, events and sinks for the cameras of one config.

    Args:
        config: the loaded configuration.
        offline: read every frame of file inputs as fast as possible (no drops) and stop at their end.
        output_dir: write MOTChallenge results and events.jsonl there.
        use_store: save events in the config's SQLite store (when store.path is set).
        detector, embedder: already built models to use instead of the config's (tests, benchmarks).
    """

    def __init__(self, config: PipelineConfig, *, offline: bool = False, output_dir: str | Path | None = None,
                 use_store: bool = True, detector: Detector | None = None, embedder: Embedder | None = None) -> None:
        self.config = config
        self.offline = offline
        self.detector = detector or Detector.from_config(config.detector)
        self.embedder = embedder or (Embedder.from_config(config.reid) if config.reid is not None else None)
        self.trackers = {cam: ByteTracker(config.tracker) for cam in config.camera_ids}
        self.max_frames_lost = config.tracker.to_native().max_frames_lost
        self.associator = CrossCameraAssociator(config.association)
        self.events = EventEngine(config.events)
        self.store = EventStore(config.store.path) if use_store and config.store.path else None
        self.writer = ResultWriter(output_dir, config.camera_ids) if output_dir is not None else None
        self.metrics = Metrics()
        self.readers: list[CameraReader] = []
        # Called on the pipeline's thread after each step with its results and events; must not block.
        self.listeners: list[Callable[[list[CameraResult], list[dict]], None]] = []
        self.running = False
        self._tracks: dict[tuple[str, int], _TrackState] = {}
        self._last_frame: dict[str, int] = {}
        self._stop = threading.Event()
        self._closed = False

    # -- one step -------------------------------------------------------------------------------------

    def process(self, frames: list[Frame]) -> list[CameraResult]:
        """Run every stage on these frames (one per camera at most) and hand the results to the sinks."""
        timer = _StageTimer(self.metrics)
        detections = self.detector.detect([f.image for f in frames])
        timer.done("detect")
        tracks = [self.trackers[f.camera_id].update(d.xyxy, d.scores) for f, d in zip(frames, detections)]
        timer.done("track")
        observations = self._reid(frames, tracks)
        timer.done("reid")
        now = max(f.time_s for f in frames)
        corrections = self.associator.update(now, observations)
        ended = self._end_lost_tracks(frames)
        timer.done("associate")
        results, all_events = [], []
        for c in corrections:
            all_events += self.events.correct(c.old_global_id, c.new_global_id, now)
        for frame, det, trk in zip(frames, detections, tracks):
            gids = np.array([self.associator.global_id_of.get((frame.camera_id, t), 0) for t in trk.track_id.tolist()],
                            np.int64)
            known = gids > 0
            events = self.events.update(frame.camera_id, frame.time_s, frame.index, gids[known], trk.track_id[known],
                                        trk.xyxy[known])
            all_events += events
            results.append(CameraResult(frame, len(det), trk, gids, events))
        timer.done("events")
        self._output(results, all_events, ended)
        timer.done("output")
        finished = time.monotonic()
        for frame in frames:
            self.metrics.result(frame.camera_id, frame.capture_ts, finished)
        self._tell(results, all_events)
        return results

    def _tell(self, results: list[CameraResult], events: list[dict]) -> None:
        for listener in self.listeners:
            listener(results, events)

    def _reid(self, frames: list[Frame], tracks: list[Tracks]) -> list[Observation]:
        """Embeddings for the tracks that are due (new, or every_n_frames since the last) and whose box
        passes the quality gates, all cameras in one batch; an Observation for every live track."""
        schedule = self.config.reid_schedule
        due_boxes, due_keys, observations = [], [], []
        for frame, trk in zip(frames, tracks):
            h, w = frame.image.shape[:2]
            m = schedule.border_margin_px
            chosen = []
            for i, tid in enumerate(trk.track_id.tolist()):
                key = (frame.camera_id, tid)
                state = self._tracks.get(key)
                if state is None:
                    state = self._tracks[key] = _TrackState(frame.index, frame.index)
                state.last_frame = frame.index
                x0, y0, x1, y1 = trk.xyxy[i].tolist()
                good = (y1 - y0 >= schedule.min_box_height and x1 - x0 >= schedule.min_box_width
                        and trk.score[i] >= schedule.min_score and x0 >= m and y0 >= m and x1 <= w - m and y1 <= h - m)
                due = state.last_embedded is None or frame.index - state.last_embedded >= schedule.every_n_frames
                if self.embedder is not None and good and due:
                    chosen.append(i)
                    due_keys.append((key, state))
            due_boxes.append(trk.xyxy[chosen])
        embeddings = {}
        if due_keys:
            features = self.embedder.embed([f.image for f in frames], due_boxes)
            for (key, state), feature in zip(due_keys, features):
                state.last_embedded = state.last_frame
                embeddings[key] = feature
        for frame, trk in zip(frames, tracks):
            for tid in trk.track_id.tolist():
                key = (frame.camera_id, tid)
                waited = frame.index - self._tracks[key].first_frame >= schedule.max_wait_frames
                observations.append(Observation(frame.camera_id, tid, embeddings.get(key),
                                                give_up_waiting=waited or self.embedder is None))
        return observations

    def _end_lost_tracks(self, frames: list[Frame]) -> list[tuple[str, int, int | None]]:
        """Tracks their tracker can no longer bring back; returns (camera, track, global ID) of each."""
        for frame in frames:
            self._last_frame[frame.camera_id] = frame.index
        ended = [key for key, s in self._tracks.items() if self._last_frame[key[0]] - s.last_frame > self.max_frames_lost]
        return [self._end(key) for key in ended]

    def _end(self, key: tuple[str, int]) -> tuple[str, int, int | None]:
        del self._tracks[key]
        gid = self.associator.global_id_of.get(key)
        self.associator.end_track(*key)
        return (*key, gid)

    def _output(self, results: list[CameraResult], events: list[dict], ended) -> None:
        if self.store is not None:
            self.store.add(events)
        if self.writer is not None:
            for r in results:
                self.writer.add(r.frame.camera_id, r.frame.index, r.tracks.track_id, r.tracks.xyxy, r.tracks.score)
            for cam, tid, gid in ended:
                self.writer.end_track(cam, tid, gid)
            self.writer.add_events(events)

    # -- running --------------------------------------------------------------------------------------

    def run(self, progress: Callable[[Pipeline], None] | None = None, progress_every_s: float = 2.0) -> None:
        """Read the cameras and process until they end (offline) or stop() is called."""
        origin = time.time()
        capacity = 4 if self.offline else 1
        self.readers = [CameraReader(c, offline=self.offline, capacity=capacity, clock_origin=origin)
                        for c in self.config.inputs]
        for reader in self.readers:
            reader.start()
        self.running = True
        last_report = time.monotonic()
        try:
            while not self._stop.is_set():
                frames = self._next_offline() if self.offline else self._next_live()
                if frames is None:
                    break
                if frames:
                    self.process(frames)
                if progress is not None and time.monotonic() - last_report >= progress_every_s:
                    progress(self)
                    last_report = time.monotonic()
        finally:
            for reader in self.readers:
                reader.stop()
            self.close()
            self.running = False

    def stop(self) -> None:
        self._stop.set()

    def _next_offline(self) -> list[Frame] | None:
        """One frame from each camera still reading (waiting for each), None when all have ended (get()
        returns None only for a queue that is closed and empty)."""
        frames = [f for f in (r.queue.get() for r in self.readers) if f is not None]
        return frames or None

    def _next_live(self) -> list[Frame] | None:
        """The freshest frame of every camera that has a new one (waiting a little for any)."""
        deadline = time.monotonic() + 0.05
        while not self._stop.is_set():
            frames = [f for f in (r.queue.get(0) for r in self.readers) if f is not None]
            if frames:
                return frames
            if all(r.status.state in (ENDED, FAILED) and not len(r.queue) for r in self.readers):
                return None
            if time.monotonic() > deadline:
                return []
            time.sleep(0.002)
        return None

    def close(self) -> None:
        """End every track, close every visit and flush the sinks (idempotent)."""
        if self._closed:
            return
        self._closed = True
        ended = [self._end(key) for key in list(self._tracks)]
        events = self.events.finish()
        self._output([], events, ended)
        self._tell([], events)
        if self.writer is not None:
            self.writer.close()
        if self.store is not None:
            self.store.close()

    def camera_status(self) -> list[dict]:
        return [r.status.as_dict() for r in self.readers]


class _StageTimer:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.last = time.perf_counter()

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.metrics.stage(stage, now - self.last)
        self.last = now
