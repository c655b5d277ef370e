"""The pipeline: camera readers -> Perception (detect, track, re-ID) -> Scene (floor positions, global
IDs, events, store, results files) -> listeners (the dashboard), with metrics; or, in a worker
(--role worker), Perception -> the bus, the scene being the central's (central.py).

Pipeline.process() is one step over a list of frames (at most one per camera); Pipeline.run() feeds it
from the camera readers until the inputs end (offline) or stop() is called (live). Everything here
runs on one thread; the readers decode on their own. Each camera's tracker alone decides when its
tracks end (Tracks.removed_id); the re-ID schedule, the foot locators, the associator and the results
follow it. The policy of each step lives in perception.py and scene.py.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mctrt import clock
from mctrt.bus.messages import CameraStep
from mctrt.config import PipelineConfig
from mctrt.events.health import CameraHealth
from mctrt.io.jpeg import Picture
from mctrt.io.sources import ENDED, FAILED, RECONNECTING, CameraReader, CameraStatus
from mctrt.metrics import StageTimer
from mctrt.models import Detector, Embedder
from mctrt.perception import Perception
from mctrt.scene import CameraResult, Scene, Watched
from mctrt.types import Frame

if TYPE_CHECKING:
    from mctrt.bus.redis_streams import RedisPublisher as Publisher

__all__ = ["CameraResult", "Pipeline"]

log = logging.getLogger(__name__)


class Pipeline(Watched):
    """Perception and the scene in one process (python -m mctrt.run), or perception and the bus (a
    worker), fed by the camera readers.

    Args:
        config: the loaded configuration.
        offline: read every frame of file inputs as fast as possible (no drops) and stop at their end.
        output_dir: write MOTChallenge results, world.txt and events.jsonl there.
        use_store: save events in the config's store (SQLite at store.path, or PostgreSQL at store.url).
        detector, embedder: already built models to use instead of the config's (tests, benchmarks).
        camera_ids: read only these of the config's cameras (a worker's; default: all).
        publisher: a worker's bus (--role worker): the camera steps go there instead of to a scene in
            this process (which is then None), and a run that ends by itself (not stopped, no error)
            ends each camera with an END marker: a worker that failed falls silent as a killed one does.
    """

    def __init__(self, config: PipelineConfig, *, offline: bool = False, output_dir: str | Path | None = None,
                 use_store: bool = True, detector: Detector | None = None, embedder: Embedder | None = None,
                 camera_ids: list[str] | None = None, publisher: Publisher | None = None) -> None:
        self.config = config
        self.inputs = [i for i in config.inputs if camera_ids is None or i.camera_id in camera_ids]
        self.perception = Perception(config, [i.camera_id for i in self.inputs], detector=detector, embedder=embedder)
        self.publisher = publisher
        # A worker's run: the central tells a restarted worker (frame numbers, track IDs from 1 again) by it.
        self.run_id = f"{socket.gethostname()}-{os.getpid()}-{time.time():.3f}"
        super().__init__(Scene(config, output_dir=output_dir, use_store=use_store) if publisher is None else None, offline)
        self.readers: list[CameraReader] = []
        self._next_frames: dict[str, Frame] = {}  # offline: each camera's frame read but not yet due
        self._closed = False
        self._ran_out = False  # run() ended by itself: every input ended, or --max-frames

    # -- one step -------------------------------------------------------------------------------------

    def process(self, frames: list[Frame]) -> list[CameraResult]:
        """Run every stage on these frames (one per camera at most) and hand the results to the sinks."""
        timer = StageTimer(self.metrics)
        steps = self.perception.step(frames, timer)
        if self.publisher is not None:
            for step in steps:
                step.status, step.run = self._status_of(step.camera_id), self.run_id
            self.publisher.publish(steps)
            server = self.config.server
            for frame in frames:  # only while a central's dashboard shows the camera, at its frame rate
                if self.publisher.wants_picture(frame.camera_id, 1.0 / server.jpeg_max_fps):
                    self.publisher.publish_picture(frame.camera_id, frame.index, Picture.of(
                        frame.image, server.jpeg_max_width, server.jpeg_quality))
            timer.done("output")
            results, events = [], []
        else:
            results, events = self.scene.step(steps, timer)
        finished = time.monotonic()
        for frame in frames:
            self.metrics.result(frame.camera_id, frame.capture_ts, finished)
        self._tell(results, events)
        return results

    # -- running --------------------------------------------------------------------------------------

    def run(self, progress: Callable[[Pipeline], None] | None = None, progress_every_s: float = 2.0,
            max_frames: int | None = None) -> None:
        """Read the cameras and process until they end (offline), each has given max_frames frames (live,
        a camera reconnecting by then is not waited for), or stop() is called."""
        # files' times: this run's start plus their own timeline; a worker's offline: from the video's start
        origin = 0.0 if self.publisher is not None and self.offline else clock.now()
        capacity = 4 if self.offline else 1
        self.readers = [CameraReader(c, offline=self.offline, capacity=capacity, clock_origin=origin)
                        for c in self.inputs]
        for reader in self.readers:
            reader.start()
        self._set_running(True)
        # Files read offline go as fast as they decode: frame rates and silences mean nothing there.
        # A worker has no health events: the central tells them from what arrives.
        health = None if self.offline or self.scene is None else CameraHealth(
            self.config.events.camera_health, self.config.camera_ids, clock.now())
        last_report = time.monotonic()
        overload = None if self.offline else DropWarning()
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
                if max_frames is not None and enough and all(
                        r.config.camera_id in enough or (_drained(r) and r.config.camera_id not in self._next_frames)
                        or (not self.offline and _away(r)) for r in self.readers):
                    break  # a camera that ended or failed short of max_frames is done too; live, one away too
                if health is not None:
                    reasons = {r.config.camera_id: r.status.reason for r in self.readers}
                    ended = {r.config.camera_id for r in self.readers if r.status.state == ENDED}
                    self._publish(health.update(clock.now(), arrived, reasons, ended))
                if overload is not None:
                    overload.check([r.status for r in self.readers], time.monotonic())
                if progress is not None and time.monotonic() - last_report >= progress_every_s:
                    progress(self)
                    last_report = time.monotonic()
            self._ran_out = not self._stop.is_set()  # not stopped, and no exception
        finally:
            for reader in self.readers:
                reader.stop()
            for reader in self.readers:  # a reader still inside FFmpeg when the process exits can abort it
                reader.join(timeout=5.0)
            self.close()
            self._set_running(False)

    def _next_offline(self) -> list[Frame] | None:
        """The frames filmed together: each camera's next frame (waiting for it) within half a frame
        interval of the earliest; the others wait for a later step. Cameras at one rate step together
        frame by frame; a 10 frames/s camera beside a 30 frames/s one joins every third step, as
        filmed (not its frame k with the other's frame k). A camera whose rate is unknown (its times
        are those of the reads) joins every step. None when all have ended (get() returns None only
        for a queue that is closed and empty)."""
        for reader in self.readers:
            cam = reader.config.camera_id
            if cam not in self._next_frames and (frame := reader.queue.get()) is not None:
                self._next_frames[cam] = frame
        rates = {r.config.camera_id: r.status.fps for r in self.readers}
        timed = [f for cam, f in self._next_frames.items() if rates[cam]]
        if timed:
            together = min(f.time_s for f in timed) + 0.5 / max(rates[f.camera_id] for f in timed)
        frames = [f for cam, f in self._next_frames.items() if not rates[cam] or f.time_s < together]
        for frame in frames:
            del self._next_frames[frame.camera_id]
        return frames or None

    def _next_live(self) -> list[Frame] | None:
        """The freshest frame of every camera that has a new one (waiting a little for any)."""
        deadline = time.monotonic() + 0.05
        while not self._stop.is_set():
            frames = [f for f in (r.queue.get(0) for r in self.readers) if f is not None]
            if frames:
                return frames
            if all(_drained(r) for r in self.readers):
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
        if self.publisher is not None:
            if self._ran_out:  # inputs ended or --max-frames (not stopped, not failed): tell the central
                self.publisher.publish([CameraStep.end(r.config.camera_id, r.status.frames_read, 0.0,
                                                       r.status.as_dict(), self.run_id) for r in self.readers])
            self.publisher.close()
            self._tell([], [])
            return
        self._tell([], self.scene.close())  # the closing events, and the listeners' last look at the counters

    def camera_status(self) -> list[dict]:
        """Each configured camera's reader status (connecting until the pipeline has started it)."""
        started = {r.status.camera_id: r.status for r in self.readers}
        return [(started.get(c.camera_id) or CameraStatus(c.camera_id, c.kind)).as_dict() for c in self.inputs]

    def _status_of(self, camera_id: str) -> dict | None:
        return next((r.status.as_dict() for r in self.readers if r.config.camera_id == camera_id), None)


class DropWarning:
    """A live run processes each camera's newest frame and drops those that came while it was busy: by
    design, but a camera losing most of its frames is tracked badly (people move far between the frames
    it keeps). Logs a warning the first time a camera drops more than `share` of its frames over
    `window_s`, naming the fixes."""

    def __init__(self, window_s: float = 10.0, share: float = 0.5) -> None:
        self.window_s, self.share = window_s, share
        self.since: dict[str, tuple[float, int, int]] = {}  # camera -> when, frames read, dropped
        self.warned: set[str] = set()

    def check(self, statuses: list[CameraStatus], now: float) -> list[str]:
        """The cameras warned about now."""
        warned = []
        for status in statuses:
            if status.camera_id in self.warned:
                continue
            then, read, dropped = self.since.setdefault(status.camera_id, (now, status.frames_read, status.frames_dropped))
            if now - then < self.window_s:
                continue
            self.since[status.camera_id] = (now, status.frames_read, status.frames_dropped)
            read, dropped = status.frames_read - read, status.frames_dropped - dropped
            if read >= 10 and dropped > self.share * read:
                log.warning("camera %s: %d of its last %d frames were dropped (processed %.1f of %.1f frames/s): "
                            "the pipeline cannot keep up. Fewer cameras, a lower inputs[].fps, a smaller "
                            "modules.detector.input_size or a GPU help; events.camera_health.min_fps reports it as "
                            "an event", status.camera_id, dropped, read, (read - dropped) / (now - then),
                            read / (now - then))
                self.warned.add(status.camera_id)
                warned.append(status.camera_id)
        return warned


def _away(reader: CameraReader) -> bool:
    """A live camera that is not delivering now (reconnecting, its queue empty): a run of max_frames
    does not wait for it once the cameras that deliver have given theirs, or a dead camera would
    keep it running for ever."""
    return reader.status.state == RECONNECTING and not len(reader.queue)


def _drained(reader: CameraReader) -> bool:
    """The reader has ended or failed and every frame it read has been taken."""
    return reader.status.state in (ENDED, FAILED) and not len(reader.queue)
