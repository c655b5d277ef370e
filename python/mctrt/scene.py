"""The scene: every camera's CameraSteps -> floor positions (calibrated cameras) -> global IDs ->
events -> the store and the results files. It needs no image, so it runs beside perception
(python -m mctrt.run) or alone, fed by workers over a bus (--role central).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mctrt.association import CameraTracks, CrossCameraAssociator
from mctrt.bus.messages import CameraStep
from mctrt.config import PipelineConfig
from mctrt.events import EventEngine
from mctrt.geometry.feet import CameraFrame, FootLocator
from mctrt.io.results import ResultWriter
from mctrt.metrics import Metrics, StageTimer
from mctrt.store import open_store
from mctrt.types import Frame, Tracks

log = logging.getLogger(__name__)

ASSUMED_FPS = 10.0  # the cameras' frame rate for the results' windows until it is measured


class FrameRate:
    """The rate of numbered, timed things (a camera's frames, the scene's steps): the median of the
    numbers per second between consecutive ones, known once there are ten that span a second. Numbers
    or times going back (a restarted worker) are no measure; a silence (a reconnection) or a burst of
    buffered frames is outvoted."""

    def __init__(self) -> None:
        self.fps: float | None = None  # as measured so far
        self.known = False
        self._last: tuple[int, float] | None = None
        self._rates: list[float] = []
        self._span_s = 0.0

    def add(self, number: int, time_s: float) -> bool:
        """Whether fps changed."""
        last, self._last = self._last, (number, time_s)
        if self.known or last is None or number <= last[0] or time_s <= last[1]:
            return False
        self._rates.append((number - last[0]) / (time_s - last[1]))
        self._span_s += time_s - last[1]
        self.fps = float(np.median(self._rates))
        self.known = self._span_s >= 1.0 and len(self._rates) >= 10
        return True


@dataclass
class CameraResult:
    """One camera's outcome in one step. global_ids[i] is 0 while track i still waits for its ID;
    floor_xy[i] is where it stands (metres; NaN when unknown or the camera is not calibrated)."""

    step: CameraStep
    global_ids: np.ndarray
    floor_xy: np.ndarray | None = None
    events: list[dict] = field(default_factory=list)

    @property
    def camera_id(self) -> str:
        return self.step.camera_id

    @property
    def frame(self) -> Frame | None:
        """The decoded frame, where perception runs in this process."""
        return self.step.frame

    @property
    def tracks(self) -> Tracks:
        return self.step.tracks


class Scene:
    """Foot locators, the associator, the event engine and the sinks for the cameras of one config.

    Args:
        config: the loaded configuration.
        output_dir: write MOTChallenge results, world.txt and events.jsonl there.
        use_store: save events in the config's store (SQLite at store.path, or PostgreSQL at store.url).
        hold_events: keep events for the store until commit() (a central commits them with its checkpoint).
        resume: parts() of a scene to go on from (a central's checkpoint) instead of starting afresh;
            its calibrations are the checkpoint's: a changed calibration takes effect after a clean stop.
    """

    def __init__(self, config: PipelineConfig, *, output_dir: str | Path | None = None, use_store: bool = True,
                 hold_events: bool = False, resume: tuple | None = None) -> None:
        self.config = config
        self.feet = FootLocator({i.camera_id: i.calibration.camera for i in config.inputs if i.calibration is not None},
                                config.association.floor)
        for cam, calibration in self.feet.calibrations.items():
            if calibration.residuals_m is not None:
                log.info("camera %s: calibration fitted from %d point pairs, residuals mean %.3f m, max %.3f m "
                         "(python -m mctrt.calibrate draws it)", cam, len(calibration.residuals_m),
                         calibration.residuals_m.mean(), calibration.residuals_m.max())
        self.store = open_store(config.store) if use_store else None
        # Events for the store wait in `held` until commit() when a central checkpoints them with its state.
        self.held: list[dict] | None = [] if hold_events else None
        if resume is not None:  # a central's checkpoint: people, visits and floor tracks as they were
            self.associator, self.events, self.feet = resume
        else:
            # IDs continue after those of earlier runs into the same store: one ID, one person.
            first_id = self.store.highest_global_id() + 1 if self.store is not None else 1
            if first_id > 1:
                log.info("store %s holds earlier runs' people: global IDs go on from %d (--no-store, or another "
                         "store, starts at 1)", self.store.name, first_id)
            self.associator = CrossCameraAssociator(config.association, config.camera_ids, self.feet.views_of,
                                                    first_id, site=self.feet.on_site)
            self.events = EventEngine(config.events)
            if self.store is not None:
                closed = self.events.close_unclosed(self.store.unclosed_visits())
                if closed:
                    log.warning("store %s: %d visits a run left open (it stopped without closing them) are closed now, "
                                "at each person's last stored event, with reason 'unclosed'",
                                self.store.name, len(closed))
                    self.store.add(closed)
        self.writer = (ResultWriter(output_dir, config.camera_ids, 0, config.reid_schedule.border_margin_px,
                                    relink=config.output.relink) if output_dir is not None else None)
        # The results' windows are seconds, their rows frames: counted at each camera's own frame rate,
        # and world.txt's and the settling's in steps at the steps' rate (offline, the fastest camera's;
        # live, the processing's), each measured from numbers and times.
        self._rates = {cam: FrameRate() for cam in config.camera_ids}
        self._step_rate = FrameRate()
        self._steps = 0
        if self.writer is not None:
            self._set_windows()
        self._closed = False

    def parts(self) -> tuple:
        """What a central checkpoints (picklable; Scene(resume=...) takes it back): the associator,
        the event engine and the foot locator."""
        return self.associator, self.events, self.feet

    def step(self, steps: list[CameraStep], timer: StageTimer) -> tuple[list[CameraResult], list[dict]]:
        """Global IDs and events for these camera steps (one per camera at most), written to the sinks."""
        cameras = [CameraTracks(s.camera_id, s.time_s, s.tracks.track_id, s.tracks.removed_id, s.embedded,
                                s.embeddings, s.give_up) for s in steps]
        placed = [k for k, s in enumerate(steps) if self._calibrated(s)]
        floor = self.feet.locate([CameraFrame(steps[k].camera_id, steps[k].tracks, steps[k].size, steps[k].time_s)
                                  for k in placed])
        for k, points in zip(placed, floor):
            cameras[k].floor = points
        timer.done("floor")
        global_ids, corrections = self.associator.update(cameras)
        now = max(s.time_s for s in steps)
        positions = self.associator.floor_positions(since=min(s.time_s for s in steps))
        timer.done("associate")
        results, all_events = [], []
        for c in corrections:
            all_events += self.events.correct(c.old_global_id, c.new_global_id, c.time_s, c.reason)
        for step, gids, cam in zip(steps, global_ids, cameras):
            known = gids > 0
            trk = step.tracks
            events = self.events.update(step.camera_id, step.time_s, step.index, gids[known], trk.track_id[known],
                                        trk.xyxy[known])
            all_events += events
            floor_xy = cam.floor.xy if cam.floor is not None else None
            results.append(CameraResult(step, gids, floor_xy, events))
        all_events += self.events.expire(now, [s.camera_id for s in steps])
        all_events += self.events.update_floor(now, positions)
        timer.done("events")
        self._output(results, all_events, corrections, positions, now, max(s.index for s in steps))
        timer.done("output")
        return results, all_events

    def publish(self, events: list[dict], count: bool = False) -> None:
        """Events outside a step (camera health, the end of a run) to the store and the results.
        count: add them to the run's event counts (the event engine counts its own)."""
        if not events:
            return
        if count:
            for event in events:
                self.events.counts[event["type"]] += 1
        self._store(events)
        if self.writer is not None:
            self.writer.add_events(events)

    def _store(self, events: list[dict]) -> None:
        if self.held is not None:
            self.held += events
        elif self.store is not None:
            self.store.add(events)

    def commit(self, checkpoint: tuple[str, bytes] | None = None) -> None:
        """Store the held events (hold_events: a central's), with checkpoint (name, state) in the same
        transaction."""
        held, self.held = self.held, []
        if self.store is not None:
            try:
                self.store.add(held, checkpoint)
            except BaseException:
                self.held = held + self.held  # not stored: kept for the next commit (their steps stay unacknowledged)
                raise

    def _calibrated(self, step: CameraStep) -> bool:
        """Whether this camera's tracks go on the floor: it is calibrated, for the size of its images."""
        if step.camera_id not in self.feet:
            return False
        expected = self.feet.calibrations[step.camera_id].resolution
        if expected is not None and expected != step.size:
            log.error("camera %s: its calibration is for %dx%d images but it gives %dx%d; its people are matched by "
                      "appearance only until inputs[%s].calibration is redone for this resolution",
                      step.camera_id, *expected, *step.size, step.camera_id)
            self.feet.drop(step.camera_id)
            return False
        return True

    def _set_windows(self) -> None:
        out = self.config.output

        def frames(fps: float) -> tuple[int, ...]:
            return tuple(round(s * fps) for s in (out.fill_gaps_s, out.smooth_s, out.settle_after_s))

        cameras = {cam: frames(rate.fps)[:2] for cam, rate in self._rates.items() if rate.fps}
        self.writer.set_windows(*frames(self._step_rate.fps or ASSUMED_FPS), cameras)

    def _measure_rates(self, steps: list[CameraStep], now: float) -> None:
        changed = self._step_rate.add(self._steps, now)
        for s in steps:
            rate = self._rates.get(s.camera_id) or self._rates.setdefault(s.camera_id, FrameRate())
            if rate.add(s.index, s.time_s):
                changed = True
                if rate.known:
                    out = self.config.output
                    log.info("results: camera %s gives %.3g frames/s: fill_gaps_s and smooth_s count %d and %d of "
                             "its frames", s.camera_id, rate.fps, round(out.fill_gaps_s * rate.fps),
                             round(out.smooth_s * rate.fps))
        if changed:
            self._set_windows()

    def _output(self, results: list[CameraResult], events: list[dict], corrections, positions, now: float,
                frame_index: int) -> None:
        self._store(events)
        if self.writer is not None:
            self._steps += 1
            if not self.writer.windows_fixed:
                self._measure_rates([r.step for r in results], now)
            for r in results:
                t = r.tracks
                # rows whose link is in doubt are held back, as a waiting track's are: they take the ID it ends with
                held = np.where(self.associator.in_doubt(r.camera_id, t.track_id), 0, r.global_ids)
                self.writer.add(r.camera_id, r.step.index, held, t.track_id, t.xyxy, t.score, t.removed_id, r.step.size,
                                r.step.embedded, r.step.embeddings)
            for c in corrections:
                self.writer.rename(c.old_global_id, c.new_global_id)
            self.writer.add_positions(now, frame_index, positions)
            self.writer.add_events(events)

    def close(self, checkpoint: tuple[str, bytes] | None = None) -> list[dict]:
        """End every track, close every visit, flush the sinks (idempotent); the closing events.
        Held events are committed, with checkpoint."""
        if self._closed:
            return []
        self._closed = True
        self.associator.end_all()
        events = self.events.finish()
        self.publish(events)
        if self.held is not None:
            self.commit(checkpoint)
        if self.writer is not None:
            self.writer.close()
        if self.store is not None:
            self.store.close()
        return events

    def state(self) -> dict:
        """The association stats, event counts and zone occupancy as the last step left them."""
        return {"association": self.associator.stats(), "events": dict(self.events.counts),
                "zones": self.events.occupancy()}


class Watched:
    """What a Pipeline and a Central share for those who watch them run (the dashboard, the summary):
    listeners told of every step, metrics, and the scene's state as the last step left it, safe to
    read from any thread (snapshot). scene: None in a worker, which has none."""

    def __init__(self, scene: Scene | None, offline: bool) -> None:
        self.scene = scene
        self.offline = offline
        self.metrics = Metrics()
        # Called on the running thread after each step with its results and events; must not block.
        self.listeners: list[Callable[[list[CameraResult], list[dict]], None]] = []
        self.running = False
        self.run_s = 0.0  # how long the last run() went, from its start to its end (the summary's frames/s)
        self._run_started = 0.0
        self.interrupted = False  # stop() came while the run was going (not after it ended by itself)
        self._stop = threading.Event()
        self._state_lock = threading.Lock()
        self._state = self._scene_state()

    def _set_running(self, running: bool) -> None:
        now = time.monotonic()
        if running:
            self._run_started = now
        else:
            self.run_s = now - self._run_started
        self.running = running

    def stop(self) -> None:
        """End the run, from any thread (a signal handler, the dashboard's server)."""
        self.interrupted = self.interrupted or self.running
        self._stop.set()

    def camera_status(self) -> list[dict]:
        raise NotImplementedError

    def snapshot(self) -> dict:
        """running, offline, metrics (Metrics.snapshot) and cameras (camera_status) as they are now;
        association (the associator's stats), events (counts by type) and zones (occupancy) as the
        last step left them."""
        with self._state_lock:
            state = self._state
        return {"running": self.running, "offline": self.offline, "metrics": self.metrics.snapshot(),
                "cameras": self.camera_status(), **state}

    def _tell(self, results: list[CameraResult], events: list[dict]) -> None:
        state = self._scene_state()
        with self._state_lock:
            self._state = state
        for listener in self.listeners:
            listener(results, events)

    def _publish(self, events: list[dict]) -> None:
        """Events outside a step (camera health, the end of a run) to every sink."""
        if events:
            if self.scene is not None:
                self.scene.publish(events, count=True)
            self._tell([], events)

    def _scene_state(self) -> dict:
        return self.scene.state() if self.scene is not None else {"association": {}, "events": {}, "zones": {}}
