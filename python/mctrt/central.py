"""The central (python -m mctrt.run --role central): the scene for every camera of a config, fed by
camera workers over the bus. It reads the camera streams, orders their steps by capture time
(bus/ordering.py), runs each scene step (association, events, store, results) and acknowledges the
step's messages only after that, so a central that restarts takes up what it had not finished.

It offers what the dashboard reads of a Pipeline (config, scene, listeners, snapshot, camera_status,
run, stop), so the same server runs on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from mctrt.bus.messages import STEP, CameraStep
from mctrt.bus.ordering import StepOrderer
from mctrt.config import PipelineConfig
from mctrt.events.health import CameraHealth
from mctrt.io.sources import ENDED, CameraStatus
from mctrt.metrics import LatencyWindow, Metrics, StageTimer
from mctrt.scene import CameraResult, Scene

log = logging.getLogger(__name__)


class Subscriber(Protocol):
    """The central's side of a transport (RedisSubscriber)."""

    def read(self, block_ms: int = 100) -> list[tuple[CameraStep, object]]: ...
    def ack(self, tokens: list) -> None: ...
    def close(self) -> None: ...


class Central:
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
        self.offline = offline
        self.subscriber = subscriber
        self.scene = Scene(config, output_dir=output_dir, use_store=use_store)
        self.orderer: StepOrderer = StepOrderer(config.camera_ids, config.bus.step_window_s,
                                                None if offline else config.bus.lateness_s)
        self.metrics = Metrics()
        self.listeners: list[Callable[[list[CameraResult], list[dict]], None]] = []
        self.running = False
        self.origin = time.time()
        self.duplicates = 0  # redelivered steps already processed, skipped
        self.bus_delay = LatencyWindow()  # a worker's publishing -> its step's processing here (wall clocks)
        self._done_index = dict.fromkeys(config.camera_ids, 0)  # the newest frame processed per camera
        self._status = {i.camera_id: CameraStatus(i.camera_id, i.kind).as_dict() for i in config.inputs}
        self._stop = threading.Event()
        self._closed = False
        self._state_lock = threading.Lock()
        self._state = self.scene.state()

    def run(self, progress: Callable[[Central], None] | None = None, progress_every_s: float = 2.0,
            max_frames: int | None = None) -> None:
        """Process the workers' steps until every camera has ended (offline) or stop() is called."""
        self.running = True
        health = None if self.offline else CameraHealth(self.config.events.camera_health, self.config.camera_ids,
                                                        time.time())
        last_report = time.monotonic()
        try:
            while not self._stop.is_set():
                arrived = self._receive()
                for group in self.orderer.ready(None if self.offline else time.time()):
                    self.process(group)
                if self.orderer.ends:
                    self.subscriber.ack([token for _, token in self.orderer.ends])
                    for end, _ in self.orderer.ends:
                        self._status[end.camera_id] = end.status or {**self._status[end.camera_id], "state": ENDED}
                    self.orderer.ends.clear()
                if self.offline and self.orderer.done:
                    break
                if max_frames is not None and all(i >= max_frames for i in self._done_index.values()):
                    break
                if health is not None:
                    reasons = {cam: s.get("reason", "") for cam, s in self._status.items()}
                    self._publish(health.update(time.time(), arrived, reasons))
                if progress is not None and time.monotonic() - last_report >= progress_every_s:
                    progress(self)
                    last_report = time.monotonic()
        finally:
            self.close()
            self.running = False

    def _receive(self) -> list[str]:
        """Read what the workers sent into the orderer; the cameras heard from."""
        arrived = []
        now, wall = time.monotonic(), time.time()
        for step, token in self.subscriber.read(block_ms=50):
            cam = step.camera_id
            arrived.append(cam)
            if step.status is not None:
                self._status[cam] = step.status
            if step.kind == STEP and step.index <= self._done_index[cam]:
                self.duplicates += 1  # delivered again (a restart, a worker resending): its effects are in
                self.subscriber.ack([token])
                continue
            if self.offline:
                step.time_s += self.origin
            else:  # the latency from capture, on this machine's clock
                step.capture_ts = now - max(0.0, wall - step.time_s)
            self.orderer.add(step, token)
        return arrived

    def process(self, group: list[tuple[CameraStep, object]]) -> list[CameraResult]:
        """One scene step; its messages are acknowledged once its effects are written."""
        steps = [step for step, _ in group]
        now = time.time()
        for step in steps:
            if step.sent_s is not None:
                self.bus_delay.add(max(0.0, now - step.sent_s))
        timer = StageTimer(self.metrics)
        results, events = self.scene.step(steps, timer)
        self.subscriber.ack([token for _, token in group])
        finished = time.monotonic()
        for step in steps:
            self._done_index[step.camera_id] = max(self._done_index[step.camera_id], step.index)
            self.metrics.result(step.camera_id, step.capture_ts, finished)
        self._tell(results, events)
        return results

    def _tell(self, results: list[CameraResult], events: list[dict]) -> None:
        state = self.scene.state()
        with self._state_lock:
            self._state = state
        for listener in self.listeners:
            listener(results, events)

    def _publish(self, events: list[dict]) -> None:
        if events:
            self.scene.publish(events)
            self._tell([], events)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """End every track, close every visit and flush the sinks (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.orderer.pending():
            log.warning("central: %d camera steps received but not processed (the run stopped first); they stay "
                        "pending on the bus for the next central", self.orderer.pending())
        self._tell([], self.scene.close())
        self.subscriber.close()

    def camera_status(self) -> list[dict]:
        """Each camera's status as its worker last reported it (connecting until one has)."""
        return [dict(self._status[cam]) for cam in self.config.camera_ids]

    def snapshot(self) -> dict:
        """As Pipeline.snapshot, plus the bus: late and duplicate steps, steps waiting for the watermark, and
        the delay from a worker's publishing to the step's processing here (ordering included)."""
        with self._state_lock:
            state = self._state
        bus = {"late": self.orderer.late, "duplicates": self.duplicates, "waiting": self.orderer.pending(),
               "delay": self.bus_delay.summary()}
        return {"running": self.running, "offline": self.offline, "metrics": self.metrics.snapshot(),
                "cameras": self.camera_status(), "bus": bus, **state}

