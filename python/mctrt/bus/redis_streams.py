"""Camera steps over Redis Streams: one stream per camera (PREFIX:step:<camera_id>), written by the
worker that reads the camera, read by the central in one consumer group ("central") that
acknowledges an entry only after its effects are committed, so a central that restarts resumes from
its pending entries (at-least-once delivery; the central drops what it has already processed).
"""

from __future__ import annotations

import logging
import socket
import time
from collections import deque

import redis

from mctrt import clock
from mctrt.bus.messages import BusVersionError, CameraStep, decode, encode
from mctrt.config import BusConfig
from mctrt.errors import MctrtError
from mctrt.io.jpeg import Picture

log = logging.getLogger(__name__)

GROUP = "central"


class BusError(MctrtError):
    """Redis cannot be reached or refuses a command."""


def stream_name(prefix: str, camera_id: str) -> str:
    return f"{prefix}:step:{camera_id}"


def picture_stream(prefix: str, camera_id: str) -> str:
    """A camera's pictures for the dashboard (the last two, only while one watches)."""
    return f"{prefix}:picture:{camera_id}"


def watch_key(prefix: str, camera_id: str) -> str:
    """Set (with an expiry) while a central's dashboard shows the camera's video."""
    return f"{prefix}:watch:{camera_id}"


def connect(url: str) -> redis.Redis:
    """A client for the Redis at url, checked with PING; BusError naming the URL and the fix."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=10.0)
        client.ping()
    except ValueError as exc:
        raise BusError(f"bus URL {url!r} is not a Redis URL ({exc}); give redis://HOST:PORT/DB") from None
    except redis.RedisError as exc:
        raise BusError(f"cannot reach Redis at {url} ({exc}); start redis-server there (Debian: apt install "
                       "redis-server) or give --bus the right address") from None
    return client


class RedisPublisher:
    """A worker's side: publish(steps) adds one entry per camera step to its camera's stream.

    While Redis is unreachable the steps wait in a bounded buffer (the oldest dropped beyond it,
    counted in `dropped`) and the publisher tries again with backoff; nothing raises mid-run.
    """

    def __init__(self, config: BusConfig, camera_ids: list[str], url: str | None = None) -> None:
        self.config = config
        self.url = url or config.url
        self.client = connect(self.url)
        self._cameras = list(camera_ids)
        self._watched: set[str] = set()
        self._watch_checked = -1e9
        self._picture_sent: dict[str, float] = {}
        self._buffer: deque[CameraStep] = deque()
        self.dropped = 0
        self.published = 0
        self._retry_at = 0.0
        self._backoff_s = 0.5

    def publish(self, steps: list[CameraStep]) -> None:
        now = clock.now()
        for step in steps:
            step.sent_s = now
            if len(self._buffer) >= self.config.buffer:
                self._buffer.popleft()
                self.dropped += 1
            self._buffer.append(step)
        self.flush()

    def flush(self, wait: bool = False) -> bool:
        """Send what is buffered; False when Redis is unreachable (kept for later). wait: retry now,
        ignoring the backoff (at the end of a run)."""
        if not self._buffer or (not wait and time.monotonic() < self._retry_at):
            return not self._buffer
        pipe = self.client.pipeline(transaction=False)
        for step in self._buffer:
            pipe.xadd(stream_name(self.config.prefix, step.camera_id), encode(step, self.config.embedding_dtype),
                      maxlen=self.config.max_len, approximate=True)
        try:
            pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, socket.error) as exc:
            # ResponseError: Redis refusing writes (MISCONF, OOM, READONLY after a failover): held alike
            if self._backoff_s == 0.5:
                log.warning("bus %s unreachable or refusing writes (%s): holding up to %d steps, retrying", self.url,
                            exc, self.config.buffer)
            self._retry_at = time.monotonic() + self._backoff_s
            self._backoff_s = min(self._backoff_s * 2, 10.0)
            return False
        if self._backoff_s != 0.5:
            log.info("bus %s reachable again; %d steps sent, %d dropped while it was not", self.url, len(self._buffer),
                     self.dropped)
        self.published += len(self._buffer)
        self._buffer.clear()
        self._backoff_s = 0.5
        return True

    def wants_picture(self, camera_id: str, every_s: float) -> bool:
        """Whether to send a picture of this camera now: a central's dashboard watches it (checked
        once a second) and the last one went at least every_s ago."""
        now = time.monotonic()
        if now < self._retry_at:  # Redis is unreachable: no picture, and no check that would wait on it
            return False
        if now - self._watch_checked >= 1.0:
            self._watch_checked = now
            keys = [watch_key(self.config.prefix, cam) for cam in self._cameras]
            try:
                self._watched = {cam for cam, on in zip(self._cameras, self.client.mget(keys)) if on}
            except redis.RedisError:
                self._watched = set()
        if camera_id not in self._watched or now - self._picture_sent.get(camera_id, -1e9) < every_s:
            return False
        self._picture_sent[camera_id] = now
        return True

    def publish_picture(self, camera_id: str, index: int, picture: Picture) -> None:
        """The newest picture of a camera for the dashboard (the stream keeps the last two)."""
        fields = {"frame": str(index), "width": str(picture.width), "height": str(picture.height),
                  "scale": repr(picture.scale), "jpeg": picture.jpeg}
        try:
            self.client.xadd(picture_stream(self.config.prefix, camera_id), fields, maxlen=2, approximate=False)
        except redis.RedisError:
            pass  # pictures are for watching now: one that cannot go is not kept

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is left (trying for up to timeout_s), then disconnect."""
        deadline = time.monotonic() + timeout_s
        while not self.flush(wait=True) and time.monotonic() < deadline:
            time.sleep(0.5)
        if self._buffer:
            log.error("bus %s: %d steps could not be sent before closing", self.url, len(self._buffer))
        self.client.close()


class RedisSubscriber:
    """The central's side: read() the camera streams in the consumer group, ack() what is committed.

    The first reads return this consumer's pending entries (delivered before a restart, never
    acknowledged); then new ones.
    """

    def __init__(self, config: BusConfig, camera_ids: list[str], url: str | None = None,
                 consumer: str = "central") -> None:
        self.config = config
        self.url = url or config.url
        self.client = connect(self.url)
        self.consumer = consumer
        self.streams = {stream_name(config.prefix, cam): cam for cam in camera_ids}
        self._create_groups()
        self._acks: list[tuple[str, bytes]] = []  # not yet sent (Redis unreachable)
        self._refused: set[str] = set()  # streams whose messages this central cannot read (a newer schema)
        self.backlogged: set[str] = set()  # cameras whose last read was a full batch: more waits there
        self._checkpoint: bytes | None = None
        # first this consumer's pending entries, from each stream's start (cursor: the last ID read), then new ones
        self._cursor: dict[str, str | bytes] | None = dict.fromkeys(self.streams, "0")

    def _create_groups(self) -> None:
        for stream in self.streams:
            try:
                self.client.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise BusError(f"bus {self.url}: cannot create the consumer group on {stream}: {exc}") from None

    def read(self, block_ms: int = 100, count: int = 256) -> list[tuple[CameraStep, tuple[str, bytes]]]:
        """Camera steps (capture_ts: when they arrived here) and their (stream, entry ID) to acknowledge;
        [] when none came within block_ms."""
        pending = self._cursor is not None
        ids = dict(self._cursor) if pending else dict.fromkeys(self.streams, ">")
        try:
            replies = self.client.xreadgroup(GROUP, self.consumer, ids, count=count, block=None if pending else block_ms)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("bus %s unreachable (%s); retrying", self.url, exc)
            time.sleep(min(1.0, block_ms / 1000))
            return []
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("bus %s lost its streams (a Redis restarted without persistence?): made again", self.url)
            self._create_groups()
            return []
        out, arrived = [], time.monotonic()
        self.backlogged = set()
        for stream, entries in replies or []:
            stream = stream.decode() if isinstance(stream, bytes) else stream
            if len(entries) >= count:  # a full batch: more waits on this stream
                self.backlogged.add(self.streams[stream])
            for entry_id, fields in entries:
                if pending:
                    self._cursor[stream] = entry_id
                if not fields:  # a pending entry trimmed away before it was acknowledged
                    self.client.xack(stream, GROUP, entry_id)
                    continue
                try:
                    out.append((decode(fields, capture_ts=arrived), (stream, entry_id)))
                except BusVersionError as exc:  # left unacknowledged: a central upgraded later reads it again
                    if stream not in self._refused:
                        log.error("bus %s: %s (its messages are left on the stream, unread)", stream, exc)
                        self._refused.add(stream)
        if pending and not any(entries for _, entries in replies or []):
            self._cursor = None
        return out

    def ack(self, tokens: list[tuple[str, bytes]], checkpoint: bytes | None = None) -> None:
        """Acknowledge these entries; with checkpoint, save it (the central's state after them) in the
        same transaction (MULTI): a central without a store of its own keeps its checkpoint here. While
        Redis is unreachable they wait and go with the next call (acknowledging twice is harmless)."""
        self._acks += tokens
        if checkpoint is not None:
            self._checkpoint = checkpoint
        by_stream: dict[str, list[bytes]] = {}
        for stream, entry_id in self._acks:
            by_stream.setdefault(stream, []).append(entry_id)
        pipe = self.client.pipeline(transaction=self._checkpoint is not None)
        for stream, ids in by_stream.items():
            pipe.xack(stream, GROUP, *ids)
        if self._checkpoint is not None:
            pipe.set(f"{self.config.prefix}:checkpoint", self._checkpoint)
        try:
            pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("bus %s unreachable (%s): %d acknowledgements wait for it", self.url, exc, len(self._acks))
            return
        self._acks, self._checkpoint = [], None

    def watch(self, camera_ids: list[str], ttl_s: float = 5.0) -> None:
        """Ask these cameras' workers for pictures for the next ttl_s seconds."""
        pipe = self.client.pipeline(transaction=False)
        for cam in camera_ids:
            pipe.set(watch_key(self.config.prefix, cam), b"1", px=int(ttl_s * 1000))
        try:
            pipe.execute()
        except redis.RedisError:
            pass

    def latest_picture(self, camera_id: str) -> tuple[int, Picture] | None:
        """(frame, picture): the newest picture the camera's worker sent, or None."""
        try:
            entries = self.client.xrevrange(picture_stream(self.config.prefix, camera_id), count=1)
        except redis.RedisError:
            return None
        if not entries:
            return None
        f = entries[0][1]
        return int(f[b"frame"]), Picture(f[b"jpeg"], int(f[b"width"]), int(f[b"height"]), float(f[b"scale"]))

    def checkpoint(self) -> bytes | None:
        """The state ack() last saved, or None."""
        return self.client.get(f"{self.config.prefix}:checkpoint")

    def close(self) -> None:
        self.client.close()
