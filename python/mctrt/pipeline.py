"""The pipeline: cameras -> one detector batch per step -> ByteTrack per camera -> re-ID for tracks
that are due -> floor positions (calibrated cameras) -> global IDs -> events -> store, results files,
metrics and listeners (the dashboard).

Pipeline.process() is one step over a list of frames (at most one per camera) and holds all the
per-frame policy; Pipeline.run() feeds it from the camera readers until the inputs end (offline) or
stop() is called (live). Everything here runs on one thread; the readers decode on their own. Each
camera's tracker alone decides when its tracks end (Tracks.removed_id); the re-ID schedule, the
foot locators, the associator and the results follow it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mctrt.association import CameraTracks, CrossCameraAssociator, ReidScheduler
from mctrt.config import PipelineConfig
from mctrt.events import EventEngine
from mctrt.events.health import CameraHealth
from mctrt.geometry.feet import CameraFrame, FootLocator
from mctrt.io.results import ResultWriter
from mctrt.io.sources import ENDED, FAILED, CameraReader, CameraStatus
from mctrt.metrics import Metrics
from mctrt.models import Detector, Embedder
from mctrt.store import EventStore
from mctrt.tracking import ByteTracker
from mctrt.types import Frame, Tracks

log = logging.getLogger(__name__)


@dataclass
class CameraResult:
    """One camera's outcome in one step. global_ids[i] is 0 while track i still waits for its ID;
    floor_xy[i] is where it stands (metres; NaN when unknown or the camera is not calibrated)."""

    frame: Frame
    detections: int
    tracks: Tracks
    global_ids: np.ndarray
    floor_xy: np.ndarray | None = None
    events: list[dict] = field(default_factory=list)


class Pipeline:
    """Detector, trackers, re-ID, association, events and sinks for the cameras of one config.

    Args:
        config: the loaded configuration.
        offline: read every frame of file inputs as fast as possible (no drops) and stop at their end.
        output_dir: write MOTChallenge results, world.txt and events.jsonl there.
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
        self.reid_schedule = ReidScheduler(config.reid_schedule, enabled=self.embedder is not None)
        self.feet = FootLocator({i.camera_id: i.calibration.camera for i in config.inputs if i.calibration is not None},
                                config.association.floor)
        for cam, calibration in self.feet.calibrations.items():
            if calibration.residuals_m is not None:
                log.info("camera %s: calibration fitted from %d point pairs, residuals mean %.3f m, max %.3f m "
                         "(python -m mctrt.calibrate draws it)", cam, len(calibration.residuals_m),
                         calibration.residuals_m.mean(), calibration.residuals_m.max())
        self.store = EventStore(config.store.path) if use_store and config.store.path else None
        # IDs continue after those of earlier runs into the same store: one ID, one person.
        first_id = self.store.highest_global_id() + 1 if self.store is not None else 1
        self.associator = CrossCameraAssociator(config.association, config.camera_ids, self.feet.views_of, first_id,
                                                site=self.feet.on_site)
        self.events = EventEngine(config.events)
        if self.store is not None:
            closed = self.events.close_unclosed(self.store.unclosed_visits())
            if closed:
                log.warning("store %s: %d visits a run left open (it stopped without closing them) are closed now, "
                            "at each person's last stored event, with reason 'unclosed'", config.store.path, len(closed))
                self.store.add(closed)
        self.writer = ResultWriter(output_dir, config.camera_ids) if output_dir is not None else None
        self.metrics = Metrics()
        self.readers: list[CameraReader] = []
        # Called on the pipeline's thread after each step with its results and events; must not block.
        self.listeners: list[Callable[[list[CameraResult], list[dict]], None]] = []
        self.running = False
        self._stop = threading.Event()
        self._closed = False
        self._state_lock = threading.Lock()
        self._state = self._step_state()

    # -- one step -------------------------------------------------------------------------------------

    def process(self, frames: list[Frame]) -> list[CameraResult]:
        """Run every stage on these frames (one per camera at most) and hand the results to the sinks."""
        timer = _StageTimer(self.metrics)
        detections = self.detector.detect([f.image for f in frames])
        timer.done("detect")
        # capture times: the trackers predict across the real gap (dropped frames, uneven rates)
        tracks = [self.trackers[f.camera_id].update(d.xyxy, d.scores, f.time_s) for f, d in zip(frames, detections)]
        timer.done("track")
        cameras = self._reid(frames, tracks)
        timer.done("reid")
        placed = [k for k, frame in enumerate(frames) if self._calibrated(frame)]
        floor = self.feet.locate([CameraFrame(frames[k].camera_id, tracks[k], (frames[k].image.shape[1],
                                              frames[k].image.shape[0]), frames[k].time_s) for k in placed])
        for k, points in zip(placed, floor):
            cameras[k].floor = points
        timer.done("floor")
        global_ids, corrections = self.associator.update(cameras)
        now = max(f.time_s for f in frames)
        positions = self.associator.floor_positions(since=min(f.time_s for f in frames))
        timer.done("associate")
        results, all_events = [], []
        for c in corrections:
            all_events += self.events.correct(c.old_global_id, c.new_global_id, c.time_s, c.reason)
        for frame, det, trk, gids, cam in zip(frames, detections, tracks, global_ids, cameras):
            known = gids > 0
            events = self.events.update(frame.camera_id, frame.time_s, frame.index, gids[known], trk.track_id[known],
                                        trk.xyxy[known])
            all_events += events
            floor_xy = cam.floor.xy if cam.floor is not None else None
            results.append(CameraResult(frame, len(det), trk, gids, floor_xy, events))
        all_events += self.events.update_floor(now, positions)
        timer.done("events")
        self._output(results, all_events, corrections, positions, now, max(f.index for f in frames))
        timer.done("output")
        finished = time.monotonic()
        for frame in frames:
            self.metrics.result(frame.camera_id, frame.capture_ts, finished)
        self._tell(results, all_events)
        return results

    def _tell(self, results: list[CameraResult], events: list[dict]) -> None:
        state = self._step_state()
        with self._state_lock:
            self._state = state
        for listener in self.listeners:
            listener(results, events)

    def _publish(self, events: list[dict]) -> None:
        """Events outside a step (camera health, the end of a run) to every sink."""
        if not events:
            return
        if self.store is not None:
            self.store.add(events)
        if self.writer is not None:
            self.writer.add_events(events)
        self._tell([], events)

    def _reid(self, frames: list[Frame], tracks: list[Tracks]) -> list[CameraTracks]:
        """Embeddings for the tracks that are due, all cameras in one batch; association's view of
        every camera's tracks."""
        plans = [self.reid_schedule.plan(f.camera_id, f.index, (f.image.shape[1], f.image.shape[0]), t)
                 for f, t in zip(frames, tracks)]
        features = None
        if any(p.due.any() for p in plans):
            features = self.embedder.embed([f.image for f in frames], [t.xyxy[p.due] for t, p in zip(tracks, plans)])
        cameras, start = [], 0
        for frame, trk, plan in zip(frames, tracks, plans):
            embeddings = None
            if plan.due.any():
                embeddings = np.zeros((len(trk), features.shape[1]), np.float32)
                embeddings[plan.due] = features[start:start + int(plan.due.sum())]
                start += int(plan.due.sum())
            cameras.append(CameraTracks(frame.camera_id, frame.time_s, trk.track_id, trk.removed_id, plan.due,
                                        embeddings, plan.give_up))
        return cameras

    def _calibrated(self, frame: Frame) -> bool:
        """Whether this camera's tracks go on the floor: it is calibrated, for the size of its images."""
        if frame.camera_id not in self.feet:
            return False
        h, w = frame.image.shape[:2]
        expected = self.feet.calibrations[frame.camera_id].resolution
        if expected is not None and expected != (w, h):
            log.error("camera %s: its calibration is for %dx%d images but it gives %dx%d; its people are matched by "
                      "appearance only until inputs[%s].calibration is redone for this resolution",
                      frame.camera_id, *expected, w, h, frame.camera_id)
            self.feet.drop(frame.camera_id)
            return False
        return True

    def _output(self, results: list[CameraResult], events: list[dict], corrections, positions, now: float,
                frame_index: int) -> None:
        if self.store is not None:
            self.store.add(events)
        if self.writer is not None:
            for r in results:
                self.writer.add(r.frame.camera_id, r.frame.index, r.global_ids, r.tracks.track_id, r.tracks.xyxy,
                                r.tracks.score)
            for c in corrections:
                self.writer.rename(c.old_global_id, c.new_global_id)
            self.writer.add_positions(now, frame_index, positions)
            self.writer.add_events(events)

    # -- running --------------------------------------------------------------------------------------

    def run(self, progress: Callable[[Pipeline], None] | None = None, progress_every_s: float = 2.0,
            max_frames: int | None = None) -> None:
        """Read the cameras and process until they end (offline), each has given max_frames frames, or
        stop() is called."""
        origin = time.time()
        capacity = 4 if self.offline else 1
        self.readers = [CameraReader(c, offline=self.offline, capacity=capacity, clock_origin=origin)
                        for c in self.config.inputs]
        for reader in self.readers:
            reader.start()
        self.running = True
        # Files read offline go as fast as they decode: frame rates and silences mean nothing there.
        health = None if self.offline else CameraHealth(self.config.events.camera_health, self.config.camera_ids,
                                                         time.time())
        last_report = time.monotonic()
        enough: set[str] = set()  # cameras that gave max_frames frames
        try:
            while not self._stop.is_set():
                frames = self._next_offline() if self.offline else self._next_live()
                if frames is None:
                    break
                arrived = [f.camera_id for f in frames]
                if max_frames is not None:
                    enough |= {f.camera_id for f in frames if f.index >= max_frames}
                    frames = [f for f in frames if f.index <= max_frames]
                if frames:
                    self.process(frames)
                if max_frames is not None and len(enough) == len(self.readers):
                    break
                if health is not None:
                    reasons = {r.config.camera_id: r.status.reason for r in self.readers}
                    self._publish(health.update(time.time(), arrived, reasons))
                if progress is not None and time.monotonic() - last_report >= progress_every_s:
                    progress(self)
                    last_report = time.monotonic()
        finally:
            for reader in self.readers:
                reader.stop()
            for reader in self.readers:  # a reader still inside FFmpeg when the process exits can abort it
                reader.join(timeout=5.0)
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
        self.associator.end_all()
        events = self.events.finish()
        self._publish(events)
        if not events:
            self._tell([], [])  # the listeners' last look at the counters
        if self.writer is not None:
            self.writer.close()
        if self.store is not None:
            self.store.close()

    def camera_status(self) -> list[dict]:
        """Each configured camera's reader status (connecting until the pipeline has started it)."""
        started = {r.status.camera_id: r.status for r in self.readers}
        return [(started.get(c.camera_id) or CameraStatus(c.camera_id, c.kind)).as_dict() for c in self.config.inputs]

    def snapshot(self) -> dict:
        """What the pipeline is doing, for every reader of it (the dashboard's stats, /health, the
        cameras' API, the run's summary), safe from any thread: running, offline, metrics
        (Metrics.snapshot) and cameras (camera_status) as they are now; association (the associator's
        stats), events (counts by type) and zones (occupancy) as the last step left them."""
        with self._state_lock:
            state = self._state
        return {"running": self.running, "offline": self.offline, "metrics": self.metrics.snapshot(),
                "cameras": self.camera_status(), **state}

    def _step_state(self) -> dict:
        """The parts of snapshot() only the pipeline's thread may read (they change within a step)."""
        return {"association": self.associator.stats(), "events": dict(self.events.counts),
                "zones": self.events.occupancy()}


class _StageTimer:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.last = time.perf_counter()

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.metrics.stage(stage, now - self.last)
        self.last = now
