"""The central (python -m mctrt.run --role central): the scene for every camera of a config, fed by
camera workers over the bus. It reads the camera streams, orders their steps by capture time
(bus/ordering.py) and runs each scene step (association, events, store, results).

Crashes lose nothing and repeat nothing: every bus.checkpoint_s the central saves its state (people,
visits, floor tracks, the last frame processed per camera) together with the events of the steps
since the last checkpoint, in one store transaction (in Redis when it has no store), and only then
acknowledges those steps' messages. A central killed between checkpoints restarts from the last one
and reads its unacknowledged messages again, in the same order: the same steps give the same events.
A message already processed (a crash between the commit and the acknowledgement, a worker resending)
is skipped. A central that stops cleanly closes every visit and leaves no state to resume: the next
one starts afresh. Results files (--output) hold what the last central run wrote.

It offers what the dashboard reads of a Pipeline (config, scene, listeners, snapshot, camera_status,
run, stop), so the same server runs on it.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from mctrt import clock
from mctrt.bus.messages import END, STEP, CameraStep
from mctrt.bus.ordering import StepOrderer
from mctrt.config import PipelineConfig
from mctrt.errors import MctrtError
from mctrt.events.health import CameraHealth
from mctrt.io.jpeg import Picture
from mctrt.io.sources import ENDED, OFFLINE, CameraStatus
from mctrt.metrics import LatencyWindow, StageTimer
from mctrt.scene import CameraResult, Scene, Watched
from mctrt.store import open_store

log = logging.getLogger(__name__)
# What a checkpoint's pickled state holds; raised when that changes, so that a newer central starts afresh
# from an older one's checkpoint instead of misreading it. 2: event visits kept per camera and per zone;
# 3: a line side kept with its time, zones with a hysteresis; 4: a line side kept with where it was seen.
CHECKPOINT_FORMAT = 4
# The dashboard's video: a camera is watched for WATCH_S after the dashboard last asked for its picture (the
# workers are told so every WATCH_S / 2.5, their watch expiring after WATCH_S); the newest picture is fetched
# at most every PICTURE_POLL_S.
WATCH_S, PICTURE_POLL_S = 5.0, 0.05


class Subscriber(Protocol):
    """The central's side of a transport (RedisSubscriber)."""

    backlogged: set[str]  # cameras whose streams held more than the last read gave

    def read(self, block_ms: int = 100) -> list[tuple[CameraStep, object]]: ...
    def ack(self, tokens: list, checkpoint: bytes | None = None) -> None: ...
    def checkpoint(self) -> bytes | None: ...
    def watch(self, camera_ids: list[str], ttl_s: float = 5.0) -> None: ...
    def latest_picture(self, camera_id: str) -> tuple[int, Picture] | None: ...
    def close(self) -> None: ...


class Central(Watched):
    """See the module docstring.

    Args:
        config: the loaded configuration (all cameras, as the workers' configs name them).
        subscriber: where the camera steps come from.
        offline: the workers read files offline: wait for every camera (no lateness), end when every
            camera's END marker has come, and put the steps' times (seconds from each video's start)
            after this run's start.
        output_dir, use_store: as for Pipeline.
    """

    def __init__(self, config: PipelineConfig, subscriber: Subscriber, *, offline: bool = False,
                 output_dir: str | Path | None = None, use_store: bool = True) -> None:
        self.config = config
        self.subscriber = subscriber
        self.use_store = use_store and (config.store.url is not None or config.store.path is not None)
        saved, stopped = self._saved_state()
        super().__init__(Scene(config, output_dir=output_dir, use_store=use_store, hold_events=True,
                               resume=saved["scene"] if saved else None), offline)
        self.orderer: StepOrderer = StepOrderer(config.camera_ids, config.bus.step_window_s,
                                                None if offline else config.bus.lateness_s)
        # offline: the workers' times count from each video's start; the central's clock origin is added
        self.origin = saved["origin"] if saved else clock.now()
        self.resumed = saved is not None
        self.duplicates = 0  # redelivered steps already processed, skipped
        # a worker's publishing -> its step's arrival here (wall clocks), and arrival -> processing (ordering)
        self.bus_delay, self.ordering_wait = LatencyWindow(), LatencyWindow()
        # per camera: the worker run and newest frame processed, and its live tracks (checkpointed) ...
        self._done_index = saved["done"] if saved else dict.fromkeys(config.camera_ids, 0)
        self._run: dict[str, str] = saved["runs"] if saved else {}
        self._live: dict[str, set[int]] = saved["live"] if saved else {cam: set() for cam in config.camera_ids}
        # ... and the newest frame (and its run) taken in, processed or not, for telling repeats; after a
        # clean stop, the last central's, whose acknowledgements may not have reached Redis
        self._accepted = {cam: stopped.get("done", {}).get(cam, done) for cam, done in self._done_index.items()}
        self._accepted_run = {**stopped.get("runs", {}), **self._run}
        self._unacked: list = []  # tokens of the steps processed since the last checkpoint
        self._checkpointed = time.monotonic()
        self._status = {i.camera_id: CameraStatus(i.camera_id, i.kind).as_dict() for i in config.inputs}
        self._heard: dict[str, float] = {}  # camera -> when its worker's last message came (monotonic)
        self._wanted: dict[str, float] = {}  # camera -> when the dashboard last asked for its picture
        self._pictures: dict[str, Picture] = {}
        self._pictures_polled = self._watch_sent = -1e9
        self._closed = False
        if saved:
            log.warning("central: resuming from the checkpoint a central that did not stop cleanly left (frames done: "
                        "%s); its unacknowledged steps are read again", self._done_index)

    def _saved_state(self) -> tuple[dict | None, dict]:
        """The checkpoint to resume from, if the last central did not stop cleanly; and what one that
        did had processed ({} otherwise)."""
        if self.use_store:
            store = open_store(self.config.store)
            try:
                blob = store.checkpoint(self.config.bus.prefix)
            finally:
                store.close()
        else:
            blob = self.subscriber.checkpoint()
        if not blob:  # none, or b"": a clean stop before checkpoint format 4
            return None, {}
        try:
            state = pickle.loads(blob)
        except Exception:  # classes of another mctrt version
            state = None
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            log.warning("central: the checkpoint under bus.prefix %r was written by another mctrt version (its state is "
                        "not this one's): starting afresh; the events it had committed stay in the store, and the "
                        "steps it had not acknowledged are read again", self.config.bus.prefix)
            return None, {}
        if state.get("clean"):  # a site may change its cameras between runs
            return None, state
        if set(state["done"]) != set(self.config.camera_ids):
            raise MctrtError(f"central: the checkpoint under bus.prefix {self.config.bus.prefix!r} is of cameras "
                             f"{sorted(state['done'])}, not this config's {sorted(self.config.camera_ids)}; give this "
                             "site its own bus.prefix")
        return state, {}

    def _checkpoint(self, final: bool = False) -> list[dict]:
        """Commit the held events with the state they lead to, then acknowledge their steps. final: the
        central stops cleanly: close the scene (every visit) and leave only what it processed, so the
        next central starts afresh yet knows the steps whose acknowledgements did not reach Redis (it
        was unreachable) for repeats; returns the closing events."""
        done = {"format": CHECKPOINT_FORMAT, "done": self._done_index, "runs": self._run}
        state = pickle.dumps({**done, "clean": True} if final else
                             {**done, "scene": self.scene.parts(), "live": self._live, "origin": self.origin},
                             protocol=pickle.HIGHEST_PROTOCOL)
        checkpoint = (self.config.bus.prefix, state) if self.use_store else None
        closing = self.scene.close(checkpoint) if final else []
        if not final:
            self.scene.commit(checkpoint)
        self.subscriber.ack(self._unacked, checkpoint=None if self.use_store else state)
        self._unacked = []
        self._checkpointed = time.monotonic()
        return closing

    def run(self, progress: Callable[[Central], None] | None = None, progress_every_s: float = 2.0,
            max_frames: int | None = None) -> None:
        """Process the workers' steps until every camera's worker has ended its run (read its files to the
        end, or its --max-frames), each camera has max_frames frames, or stop() is called."""
        self._set_running(True)
        health = None if self.offline else CameraHealth(self.config.events.camera_health, self.config.camera_ids,
                                                        clock.now())
        last_report = time.monotonic()
        try:
            while not self._stop.is_set():
                arrived = self._receive()
                self._poll_pictures()
                for group in self.orderer.ready(None if self.offline else clock.now()):
                    self.process(group)
                    if max_frames is not None and min(self._done_index.values()) >= max_frames:
                        break
                # held events without steps too: health events while no camera sends
                if (self._unacked or self.scene.held) and time.monotonic() - self._checkpointed >= self.config.bus.checkpoint_s:
                    self._checkpoint()
                if self.orderer.done:  # every camera's worker has ended its run
                    break
                if max_frames is not None and min(self._done_index.values()) >= max_frames:
                    break
                if health is not None:
                    reasons = {cam: s.get("reason", "") for cam, s in self._status.items()}
                    ended = {cam for cam, s in self._status.items() if s.get("state") == ENDED}
                    self._publish(health.update(clock.now(), arrived, reasons, ended))
                if progress is not None and time.monotonic() - last_report >= progress_every_s:
                    progress(self)
                    last_report = time.monotonic()
        finally:
            self.close()
            self._set_running(False)

    def picture(self, camera_id: str) -> Picture | None:
        """The newest picture of the camera its worker sent. Asking is watching: for a few seconds after,
        the worker sends pictures of it (the dashboard's video), and only then."""
        self._wanted[camera_id] = time.monotonic()
        return self._pictures.get(camera_id)

    def _poll_pictures(self) -> None:
        now = time.monotonic()
        # a copy: the server's thread adds to _wanted
        watched = [cam for cam, asked in list(self._wanted.items()) if now - asked < WATCH_S]
        if not watched or now - self._pictures_polled < PICTURE_POLL_S:
            return
        self._pictures_polled = now
        if now - self._watch_sent >= WATCH_S / 2.5:
            self.subscriber.watch(watched, ttl_s=WATCH_S)
            self._watch_sent = now
        for cam in watched:
            latest = self.subscriber.latest_picture(cam)
            if latest is not None:
                self._pictures[cam] = latest[1]

    def _receive(self) -> list[str]:
        """Read what the workers sent into the orderer; the cameras heard from."""
        arrived = []
        received = self.subscriber.read(block_ms=50)
        now = time.monotonic()  # after the read: it blocks until something comes
        wall = clock.wall_at(now)
        for step, token in received:
            cam = step.camera_id
            arrived.append(cam)
            self._heard[cam] = now
            if step.status is not None:
                self._status[cam] = step.status
            elif step.kind == END:
                self._status[cam] = {**self._status[cam], "state": ENDED}
            if step.kind == STEP:
                if step.run == self._accepted_run.get(cam) and step.index <= self._accepted[cam]:
                    self.duplicates += 1  # delivered again (a restart, a worker resending): taken in already
                    self.subscriber.ack([token])
                    continue
                self._accepted[cam], self._accepted_run[cam] = step.index, step.run
            if self.offline:
                step.time_s += self.origin
            else:  # the latency from capture, on this machine's clock
                step.capture_ts = now - max(0.0, wall - step.time_s)
            if step.sent_s is not None:
                self.bus_delay.add(max(0.0, wall - step.sent_s))
            self.orderer.add(step, (token, now))  # with when it arrived, for the ordering wait
        self.orderer.backlogged = set(self.subscriber.backlogged)
        return arrived

    def process(self, group: list[tuple[CameraStep, tuple[object, float]]]) -> list[CameraResult]:
        """One scene step: (step, (its bus token, when it arrived)) per camera. Its messages are acknowledged
        at the checkpoint that writes its effects."""
        steps = [step for step, _ in group]
        now = time.monotonic()
        for _, (_, arrived) in group:
            self.ordering_wait.add(now - arrived)
        restarted = [s for s in steps if self._run.get(s.camera_id, s.run) != s.run]
        if restarted:  # a worker restarted: its old tracks end before its new ones (IDs from 1 again) begin
            _, events = self.scene.step([self._ending(s) for s in restarted], StageTimer(self.metrics))
            self._tell([], events)
        timer = StageTimer(self.metrics)
        results, events = self.scene.step(steps, timer)
        self._unacked += [token for _, (token, _) in group]
        finished = time.monotonic()
        for step in steps:
            cam = step.camera_id
            self._done_index[cam], self._run[cam] = step.index, step.run
            self._live[cam] = (self._live[cam] | set(step.tracks.track_id.tolist())) - set(step.tracks.removed_id.tolist())
            self.metrics.result(cam, step.capture_ts, finished)
        self._tell(results, events)
        return results

    def _ending(self, step: CameraStep) -> CameraStep:
        """A step of step's camera, at its time, that removes every track of the camera's old worker run."""
        ended = CameraStep.end(step.camera_id, step.index, step.time_s)
        ended.kind, ended.size = STEP, step.size
        ended.tracks.removed_id = np.array(sorted(self._live[step.camera_id]), np.int64)
        self._live[step.camera_id] = set()
        return ended

    def close(self) -> None:
        """End every track, close every visit and flush the sinks (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.orderer.pending():
            log.warning("central: %d camera steps received but not processed (the run stopped first); they stay "
                        "pending on the bus for the next central", self.orderer.pending())
        if self.orderer.done:
            self._unacked += [token for _, (token, _) in self.orderer.ends]  # last: a resumed central needs them
        self._tell([], self._checkpoint(final=True))  # the closing events
        self.subscriber.close()

    def camera_status(self) -> list[dict]:
        """Each camera's status as its worker last reported it (connecting until one has); live, a camera
        whose worker has sent nothing for camera_health.offline_after_s is offline."""
        out = []
        silent_s = self.config.events.camera_health.offline_after_s
        for cam in self.config.camera_ids:
            status, heard = dict(self._status[cam]), self._heard.get(cam)
            if (not self.offline and heard is not None and status["state"] != ENDED
                    and time.monotonic() - heard > silent_s):
                status.update(state=OFFLINE, reason=f"its worker has sent nothing for {time.monotonic() - heard:.0f} s")
            out.append(status)
        return out

    def snapshot(self) -> dict:
        """Watched.snapshot, plus the bus: late and duplicate steps, steps waiting for the watermark,
        the delay from a worker's publishing to a step's arrival here (delay), and from its arrival to
        its processing (ordering_wait: waiting for the other cameras' steps of its time)."""
        bus = {"late": self.orderer.late, "duplicates": self.duplicates, "waiting": self.orderer.pending(),
               "delay": self.bus_delay.summary(), "ordering_wait": self.ordering_wait.summary()}
        return {**super().snapshot(), "bus": bus}

