"""LiveHub: the hand-off from the pipeline's thread to the asyncio server, and the fan-out to clients.

The pipeline calls on_results() after each step. That call only keeps references (the newest result
per camera, a copy of the counters and of the floor positions that are the pipeline's to change) and
schedules a wake-up on the event loop, so no client can ever slow a step down. On the loop, one sender
task per camera encodes its newest frame as a JPEG (in a worker thread: OpenCV releases the GIL) at
most jpeg_max_fps times a second, and only while someone watches; each client has its own small queue
that drops its oldest message when full, so a slow client loses frames and the others do not wait for
it. The people on the floor (with their trails) go the same way, as JSON, at the same rate at most.

A video message is one binary WebSocket message: a 4-byte big-endian header length, the header
(UTF-8 JSON: camera_id, frame, captured_at, sent_at, width, height, scale, detections, tracks), then
the JPEG. Box coordinates are the source image's pixels; multiply by scale for the JPEG's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from mctrt import clock
from mctrt.config import ServerConfig
from mctrt.io.jpeg import Picture
from mctrt.metrics import LatencyWindow
from mctrt.pipeline import CameraResult, Pipeline
from mctrt.server.floor import PeopleOnFloor

log = logging.getLogger(__name__)


class ClientQueue:
    """A bounded queue for one client, used on the event loop only: put() never waits and drops the
    oldest item when full (counted); get() waits for an item, or returns None once closed."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.dropped = 0
        self.closed = False
        self._items: deque = deque()
        self._ready = asyncio.Event()

    def put(self, item) -> None:
        if self.closed:
            return
        if len(self._items) >= self.capacity:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self._ready.set()

    async def get(self):
        while not self._items:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        self.closed = True
        self._ready.set()


def encode_frame(result: CameraResult, config: ServerConfig, picture: Picture | None = None) -> tuple[bytes, float]:
    """A video message for one camera result, and the capture time (Unix seconds) it carries.
    picture: the frame as a worker sent it (a central's results carry no image); else it is encoded
    from the result's frame."""
    if picture is None:
        picture = Picture.of(result.frame.image, config.jpeg_max_width, config.jpeg_quality)
    captured_at = clock.wall_at(result.step.capture_ts)
    tracks = result.tracks
    header = {
        "camera_id": result.camera_id, "frame": result.step.index, "captured_at": captured_at,
        "sent_at": clock.now(), "width": picture.width, "height": picture.height, "scale": picture.scale,
        "detections": result.step.detections,
        "tracks": [{"track_id": int(t), "global_id": int(g), "box": [round(float(v), 1) for v in box],
                    "score": round(float(s), 3)}
                   for t, g, box, s in zip(tracks.track_id, result.global_ids, tracks.xyxy, tracks.score)],
    }
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + picture.jpeg, captured_at


class LiveHub:
    """Listens to a pipeline; serves its newest frames, stats and events to WebSocket clients."""

    def __init__(self, pipeline: Pipeline, config: ServerConfig) -> None:
        self.pipeline = pipeline
        self.config = config
        self.camera_ids = list(pipeline.config.camera_ids)
        self.video_clients: dict[str, set[ClientQueue]] = {cam: set() for cam in self.camera_ids}
        self.stats_clients: set[ClientQueue] = set()
        self.positions_clients: set[ClientQueue] = set()
        self.floor = PeopleOnFloor(config.trail_s)  # the event loop's copy of the people on the floor
        self.capture_to_send = LatencyWindow()
        self.dropped_for_clients = 0  # of clients that have gone; live ones count in their queues
        self._lock = threading.Lock()
        self._latest: dict[str, CameraResult] = {}
        self._pending_events: list[dict] = []
        self._frame_ready = {cam: asyncio.Event() for cam in self.camera_ids}
        self._new_client = dict.fromkeys(self.camera_ids, False)
        self._floor_enabled = any(i.calibration is not None for i in pipeline.config.inputs)
        self._positions_ready = asyncio.Event()
        self._new_positions_client = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []
        self._encoder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jpeg")
        pipeline.listeners.append(self.on_results)

    # -- the pipeline's thread ------------------------------------------------------------------------

    def _placed_people(self, results: list[CameraResult]) -> tuple[float, list[dict]] | None:
        """(the step's scene time, the people placed on the floor within max_gap_s of it), or None
        when no camera is calibrated or there was no step (the pipeline closing)."""
        if not self._floor_enabled or not results:
            return None
        step_time_s = max(r.step.time_s for r in results)
        recent_s = step_time_s - self.pipeline.config.association.floor.max_gap_s  # older ones are not placed
        return step_time_s, self.pipeline.scene.associator.floor_positions(since=recent_s)

    def on_results(self, results: list[CameraResult], events: list[dict]) -> None:
        placed = self._placed_people(results)
        with self._lock:
            for r in results:
                self._latest[r.camera_id] = r
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._arrived, [r.camera_id for r in results], events, placed)
            except RuntimeError:  # the loop has closed: the server is gone
                pass

    # -- the event loop -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the sender tasks on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._tasks = [asyncio.create_task(self._send_video(cam), name=f"video-{cam}") for cam in self.camera_ids]
        self._tasks.append(asyncio.create_task(self._send_stats(), name="stats"))
        self._tasks.append(asyncio.create_task(self._send_positions(), name="positions"))

    async def stop(self) -> None:
        self._loop = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for queue in [self.stats_clients, self.positions_clients, *self.video_clients.values()]:
            for client in queue:
                client.close()
        self._encoder.shutdown(wait=True)

    def _arrived(self, cameras: list[str], events: list[dict], placed: tuple[float, list[dict]] | None) -> None:
        for cam in cameras:
            self._frame_ready[cam].set()
        if events:
            self._pending_events.extend(events)
        if placed is not None:
            self.floor.update(*placed)  # every step, watched or not: the trails must not have holes
            self._positions_ready.set()

    def stats(self) -> dict:
        """The Stats object of /api/stats and /ws/stats (its schema: server/openapi.py)."""
        snap = self.pipeline.snapshot()
        metrics = snap["metrics"]
        with self._lock:
            latest = dict(self._latest)
        cameras = []
        for status in snap["cameras"]:
            cam = status["camera_id"]
            last = latest.get(cam)
            cameras.append({
                "camera_id": cam, "kind": status["kind"], "state": status["state"], "reason": status["reason"],
                "fps": metrics["fps"].get(cam, 0.0), "source_fps": status["fps"], "frames": metrics["frames"].get(cam, 0),
                "frames_read": status["frames_read"], "frames_dropped": status["frames_dropped"],
                "reconnects": status["reconnects"], "width": status["width"], "height": status["height"],
                "detections": last.step.detections if last else 0, "tracks": len(last.tracks.track_id) if last else 0})
        return {
            "time": clock.now(), "mode": "offline" if snap["offline"] else "live",
            "running": snap["running"], "uptime_s": metrics["uptime_s"], "total_frames": metrics["total_frames"],
            "fps_total": sum(metrics["fps"].values()), "cameras": cameras, "stages": metrics["stages"],
            "capture_to_result": metrics["capture_to_result"], "capture_to_send": self.capture_to_send.summary(),
            "association": snap["association"], "events": snap["events"], "zones": snap["zones"],
            "clients": self.client_stats(),
        }

    def image_sizes(self) -> dict[str, tuple[int, int]]:
        """Each camera's (width, height) as its reader reports it, else as its newest frame shows it."""
        with self._lock:
            latest = dict(self._latest)
        sizes = {cam: r.step.size for cam, r in latest.items()}
        for status in self.pipeline.camera_status():
            if status["width"] and status["height"]:
                sizes[status["camera_id"]] = (status["width"], status["height"])
        return sizes

    def client_stats(self) -> dict:
        live = [c for clients in self.video_clients.values() for c in clients]
        return {"video": len(live), "stats": len(self.stats_clients), "positions": len(self.positions_clients),
                "dropped_frames": self.dropped_for_clients + sum(c.dropped for c in live)}

    def add_client(self, camera_id: str | None) -> ClientQueue:
        """A queue for a new video client of camera_id, or for a stats client (None)."""
        if camera_id is None:
            client = ClientQueue(max(self.config.client_queue, 16))
            self.stats_clients.add(client)
        else:
            client = ClientQueue(self.config.client_queue)
            self.video_clients[camera_id].add(client)
            self._new_client[camera_id] = True  # send it the newest frame at once, even if sent before
            self._frame_ready[camera_id].set()
        return client

    def add_positions_client(self) -> ClientQueue:
        """A queue for a new client of the people on the floor; it gets the newest positions at once."""
        client = ClientQueue(self.config.client_queue)
        self.positions_clients.add(client)
        self._new_positions_client = True
        self._positions_ready.set()
        return client

    def remove_client(self, client: ClientQueue) -> None:
        client.close()
        self.stats_clients.discard(client)
        self.positions_clients.discard(client)
        for clients in self.video_clients.values():
            if client in clients:
                clients.discard(client)
                self.dropped_for_clients += client.dropped

    async def _send_video(self, camera_id: str) -> None:
        loop = asyncio.get_running_loop()
        ready, period, last_sent = self._frame_ready[camera_id], 1.0 / self.config.jpeg_max_fps, -1e9
        sent = None
        while True:
            await ready.wait()
            ready.clear()
            clients = self.video_clients[camera_id]
            if not clients:
                continue
            wait = last_sent + period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # rate limit; the newest frame is taken after the wait
            with self._lock:
                result = self._latest.get(camera_id)
            if result is None or (result is sent and not self._new_client[camera_id]):
                continue
            picture = None
            if result.frame is None:  # a central's: the newest picture its worker sent, if any yet
                picture = self.pipeline.picture(camera_id)
                if picture is None:
                    continue
            self._new_client[camera_id] = False
            last_sent = time.monotonic()
            try:
                message, captured_at = await loop.run_in_executor(self._encoder, encode_frame, result, self.config,
                                                                  picture)
            except Exception:  # one bad frame must not end this camera's video
                log.exception("camera %s: cannot encode a frame for the dashboard", camera_id)
                continue
            sent = result
            self.capture_to_send.add(clock.now() - captured_at)
            for client in list(self.video_clients[camera_id]):
                client.put(message)

    async def _send_stats(self) -> None:
        """Stats every stats_interval_s; new events within a quarter of a second."""
        next_stats = 0.0
        while True:
            if self._pending_events and self.stats_clients:
                message = json.dumps({"type": "events", "events": self._pending_events})
                for client in list(self.stats_clients):
                    client.put(message)
            self._pending_events = []
            now = time.monotonic()
            if now >= next_stats:
                next_stats = now + self.config.stats_interval_s
                if self.stats_clients:
                    message = json.dumps({"type": "stats", "stats": self.stats()})
                    for client in list(self.stats_clients):
                        client.put(message)
            await asyncio.sleep(min(0.25, self.config.stats_interval_s))

    async def _send_positions(self) -> None:
        """The people on the floor, at most jpeg_max_fps times a second, only while someone watches."""
        ready, period, last_sent = self._positions_ready, 1.0 / self.config.jpeg_max_fps, -1e9
        sent_time_s = None
        while True:
            await ready.wait()
            ready.clear()
            if not self.positions_clients:
                continue
            wait = last_sent + period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # rate limit; the newest positions are taken after the wait
            if self.floor.time_s is None or (self.floor.time_s == sent_time_s and not self._new_positions_client):
                continue
            self._new_positions_client = False
            last_sent, sent_time_s = time.monotonic(), self.floor.time_s
            message = json.dumps({"type": "positions", **self.floor.body()})
            for client in list(self.positions_clients):
                client.put(message)
