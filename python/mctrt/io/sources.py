"""Camera sources: one reader thread per camera (video file, folder of images, RTSP/HTTP stream or
webcam) feeding a bounded queue, with reconnection and a status the dashboard shows.

Live mode keeps only the freshest frames (the queue drops its oldest frame when full, and counts it),
paces files at their frame rate and reconnects streams and webcams with exponential backoff and
jitter. Offline mode reads every frame of a file, as fast as the pipeline takes them (the queue
blocks instead of dropping). A camera that fails only changes its own status; the others go on.
The decoders (io/decode.py: PyAV for files and streams, OpenCV for webcams and images) release the
GIL while they decode, so the readers run in parallel.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import av
import cv2
import numpy as np

from mctrt import clock
from mctrt.config import InputConfig
from mctrt.errors import SourceError
from mctrt.io.decode import (AvCapture, Capture, CvCapture, DecodeError, ImageFolderCapture, ffmpeg_reason,
                             sequence_frame_rate)
from mctrt.io.paths import IMAGE_SUFFIXES, image_files, not_a_file
from mctrt.types import Frame

log = logging.getLogger(__name__)

# Camera states, as the API reports them.
CONNECTING, CONNECTED, RECONNECTING, ENDED, FAILED = "connecting", "connected", "reconnecting", "ended", "failed"
OFFLINE = "offline"  # a central's camera whose worker has gone silent (the reader's state is unknown there)
RETRY_LOG_EVERY_S = 30.0  # a camera that stays unreachable says so this often, not at every try

# FFmpeg's and OpenCV's own log lines ("moov atom not found", "[ WARN:0@6.1] ...") would reach stderr
# beside the clear message every failure gets here (the camera's status and the log). PyAV passes
# FFmpeg's lines on only when asked (av.logging.set_level); a user who sets OpenCV's variables keeps
# their own levels.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET, read when FFmpeg is first used
if "OPENCV_LOG_LEVEL" not in os.environ:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class FrameQueue:
    """A bounded FIFO of frames. When full, put() drops the oldest frame (counted in `dropped`) if
    drop_oldest, else waits for room. close() wakes every waiter; get() then drains what is left and
    returns None."""

    def __init__(self, capacity: int = 2, drop_oldest: bool = True) -> None:
        self.capacity = capacity
        self.drop_oldest = drop_oldest
        self.dropped = 0
        self.closed = False
        self._items: deque[Frame] = deque()
        self._cond = threading.Condition()

    def put(self, frame: Frame, stop: threading.Event | None = None) -> None:
        with self._cond:
            while len(self._items) >= self.capacity and not self.drop_oldest and not self.closed:
                if stop is not None and stop.is_set():
                    return
                self._cond.wait(0.1)
            if self.closed:
                return
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(frame)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The oldest frame, waiting up to `timeout` seconds (None: until one comes or the queue closes)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self.closed, timeout):
                return None
            frame = self._items.popleft() if self._items else None
            self._cond.notify_all()
            return frame

    def __len__(self) -> int:
        return len(self._items)

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


@dataclass(frozen=True)
class Backoff:
    """Waits between reconnection attempts: initial_s doubling up to max_s, each randomised by
    +-jitter (a fraction) so that many cameras behind one failed switch do not retry in lockstep."""

    initial_s: float = 0.5
    max_s: float = 30.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = min(self.max_s, self.initial_s * 2.0 ** min(max(0, attempt), 64))  # a float overflows past 2**1023
        return base * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass
class CameraStatus:
    """What the API reports per camera."""

    camera_id: str
    kind: str
    state: str = CONNECTING
    reason: str = ""
    frames_read: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    fps: float | None = None  # the source's own rate, once opened
    width: int | None = None
    height: int | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def open_webcam(index: int) -> cv2.VideoCapture:
    """OpenCV's capture of webcam `index`: on Linux through V4L2 where it opens, whose frames carry the
    driver's buffer stamps (CvCapture), since CAP_ANY may pick another backend (GStreamer) that has none."""
    if sys.platform.startswith("linux"):
        capture = cv2.VideoCapture(index, cv2.CAP_V4L2)
        if capture.isOpened():
            return capture
        capture.release()
    return cv2.VideoCapture(index, cv2.CAP_ANY)


def open_capture(config: InputConfig) -> Capture:
    """The opened source of an input (io/decode.py), or SourceError saying why not and how to fix it."""
    if config.kind == "webcam":
        capture = open_webcam(int(config.path))
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"webcam {config.path} cannot be opened: is it connected, and free (not used by "
                              f"another program)? fix inputs[{config.camera_id}].path if it has another index",
                              permanent=False)
        return CvCapture(capture)
    if config.kind == "file":
        path = Path(config.path)
        if path.is_dir():
            return open_image_folder(config)
        if (why := not_a_file(path)) is not None:
            raise SourceError(f"video file {path} {why}; fix inputs[{config.camera_id}].path", permanent=True)
        try:
            return AvCapture(config.path)
        except (av.error.FFmpegError, ValueError) as exc:
            raise SourceError(
                f"video file {config.path} cannot be decoded (corrupt, or not a video FFmpeg reads: "
                f"{ffmpeg_reason(exc)}); "
                f"check the file or fix inputs[{config.camera_id}].path", permanent=True) from None
    options = {"rtsp_transport": config.rtsp_transport} if config.path.lower().startswith("rtsp") else {}
    started = time.monotonic()
    try:
        return AvCapture(config.path, options, (config.open_timeout_s, config.read_timeout_s), live=True)
    except av.error.FFmpegError as exc:
        # A server that closed at once or spoke nonsense did not time out: FFmpeg's own words then.
        waited = time.monotonic() - started >= 0.9 * config.open_timeout_s
        why = why_unreachable(config.path, config.open_timeout_s, None if waited else ffmpeg_reason(exc))
        raise SourceError(f"stream {config.path} {why}", permanent=False) from None
    except ValueError as exc:  # no video in it
        raise SourceError(f"stream {config.path} opened but {exc}; fix inputs[{config.camera_id}].path", permanent=False) from None


def open_image_folder(config: InputConfig) -> ImageFolderCapture:
    """A folder of images as a camera (io.paths.image_files), at inputs[].fps or the rate its
    seqinfo.ini declares; SourceError saying what is missing."""
    folder = Path(config.path)
    fix = f"fix inputs[{config.camera_id}].path"
    try:
        files = image_files(folder)
    except OSError as exc:  # a folder this user may not list
        raise SourceError(f"folder {folder} cannot be read ({exc.strerror or exc}); {fix} or its permissions",
                          permanent=True) from None
    if not files:
        raise SourceError(f"folder {config.path} holds no images ({', '.join(IMAGE_SUFFIXES)}); give a folder of "
                          f"frames, or a video file, and {fix}", permanent=True)
    capture = ImageFolderCapture(folder, files, config.fps or sequence_frame_rate(folder))
    if not capture.width:
        raise SourceError(f"none of the {len(files)} images in {folder} can be read (corrupt, or not images); "
                          f"check the files or {fix}", permanent=True)
    if not capture.fps:
        raise SourceError(f"image folder {folder} does not say its frame rate: set inputs[{config.camera_id}].fps "
                          "to the rate its frames were taken at (or put a MOTChallenge seqinfo.ini with frameRate "
                          "beside them)", permanent=True)
    return capture


def why_unreachable(url: str, open_timeout_s: float, ffmpeg_said: str | None = None) -> str:
    """Why a stream did not open, as far as its host and port tell (asked only after it failed): the
    name does not resolve, nothing listens there (refused), no answer, or it answers but FFmpeg
    could not open the stream there (ffmpeg_said: its reason, when it failed before the timeout)."""
    parts = urlsplit(url)
    default = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        host, port = parts.hostname, parts.port or default
    except ValueError:  # a port that is not a number
        return "has no valid host:port; fix the URL"
    if not host or port is None:
        return f"did not open within {open_timeout_s:g} s; is it reachable?"
    try:
        with socket.create_connection((host, port), timeout=min(open_timeout_s, 3.0)):
            pass
    except socket.gaierror:
        return f"cannot be reached: the host name {host} does not resolve; fix the URL or the DNS"
    except ConnectionRefusedError:
        return f"refused the connection: nothing listens on {host}:{port}; is the camera (or its server) running?"
    except OSError as exc:
        return f"cannot be reached at {host}:{port} ({exc.strerror or exc}); is it on this network?"
    failed = (f"but the stream could not be opened ({ffmpeg_said})" if ffmpeg_said
              else f"but did not give a stream within {open_timeout_s:g} s")
    return f"answers on {host}:{port} {failed}; check the path in the URL, its credentials, and rtsp_transport"


class CameraReader(threading.Thread):
    """Reads one camera into its FrameQueue until stopped (or, for a file without loop, its end)."""

    def __init__(self, config: InputConfig, *, offline: bool = False, capacity: int = 2,
                 backoff: Backoff = Backoff(), clock_origin: float | None = None) -> None:
        super().__init__(name=f"camera-{config.camera_id}", daemon=True)
        if offline and config.kind != "file":
            raise ValueError(f"inputs[{config.camera_id}]: offline mode reads files only; {config.path} is a {config.kind}")
        self.config = config
        self.offline = offline
        self.queue = FrameQueue(max(capacity, 1), drop_oldest=not offline)
        self.status = CameraStatus(config.camera_id, config.kind)
        self.backoff = backoff
        self._stopping = threading.Event()
        self._origin = clock.now() if clock_origin is None else clock_origin
        self._index = 0
        self._retry_logged = time.monotonic()  # the first failure is logged as the state changes
        self._size: tuple[int, int] | None = None  # (width, height) of the frames so far
        self._resized = ""  # why the frames' size changed, once it has
        self._skip_logged = 0.0

    def stop(self) -> None:
        self._stopping.set()
        self.queue.close()

    def run(self) -> None:
        attempt = 0
        try:
            while not self._stopping.is_set():
                try:
                    capture = open_capture(self.config)
                except SourceError as failure:
                    if failure.permanent:
                        return self._set(FAILED, str(failure))
                    self._set(RECONNECTING, str(failure))
                    delay = self.backoff.delay(attempt)
                    if attempt and time.monotonic() - self._retry_logged >= RETRY_LOG_EVERY_S:
                        self._retry_logged = time.monotonic()
                        log.warning("camera %s: still unreachable after %d tries; the next in %.1f s",
                                    self.config.camera_id, attempt + 1, delay)
                    self._stopping.wait(delay)
                    attempt += 1
                    self.status.reconnects += 1
                    continue
                read_before = self.status.frames_read
                try:
                    finished = self._read(capture)
                finally:
                    capture.close()
                if finished:
                    return
                self.status.reconnects += 1
                if self.status.frames_read > read_before:
                    attempt = 0  # it delivered: after a drop, reconnect at once
                else:  # it opened but gave no frame: wait as after a failed open, or it spins
                    self._stopping.wait(self.backoff.delay(attempt))
                    attempt += 1
        except Exception as exc:  # a reader must never take the process down; say why it stopped
            log.exception("camera %s: reader stopped", self.config.camera_id)
            self._set(FAILED, f"reader error: {exc}")
        finally:
            self.queue.close()

    def _set(self, state: str, reason: str = "") -> None:
        if (state, reason) != (self.status.state, self.status.reason):
            log.log(logging.WARNING if state in (FAILED, RECONNECTING) else logging.INFO,
                    "camera %s: %s%s", self.config.camera_id, state, f" ({reason})" if reason else "")
        self.status.state, self.status.reason = state, reason

    def _cut_short(self, read: int, declared: int, broken: str = "") -> str:
        """Why a file stopped decoding before its end, or "" when it reached it: the container could
        not be read on (`broken`, FFmpeg's words), or fewer frames than its header declares (beyond
        the slack of a count estimated from the duration) means the rest is corrupt or missing."""
        if broken:
            of = f" of the {declared} frames it declares" if declared > read else ""
            return f"video file {self.config.path} stopped decoding after {read}{of} ({broken})"
        if declared <= 0 or read >= declared - max(2, declared // 100):
            return ""
        return (f"video file {self.config.path} stopped decoding after {read} of the {declared} frames it declares "
                "(the rest is corrupt or missing)")

    def _skipped(self, capture: Capture) -> str:
        return (f"{capture.skipped} {capture.skip_unit} could not be decoded and were skipped "
                f"(the last: {capture.skip_reason})"
                if capture.skipped else "")

    def _note_skipped(self, capture: Capture) -> None:
        """Log undecodable packets: the first at once, then at most every RETRY_LOG_EVERY_S (a lossy
        stream may lose many), and keep the count in the camera's status."""
        self.status.reason = self._skipped(capture)
        if not self._skip_logged or time.monotonic() - self._skip_logged >= RETRY_LOG_EVERY_S:
            self._skip_logged = time.monotonic()
            log.warning("camera %s: %s, before frame %d", self.config.camera_id, self.status.reason, self._index)

    def _check_size(self, image: np.ndarray) -> None:
        """Report frames whose size differs from the earlier ones' (within a stream, or across
        reconnects): calibration, image-space lines and zones are in pixels of that size. The frames
        are passed on as they are."""
        size = (image.shape[1], image.shape[0])
        self.status.width, self.status.height = size
        if self._size is not None and size != self._size:
            self._resized = (f"the frames changed size from {self._size[0]}x{self._size[1]} to {size[0]}x{size[1]} "
                             f"at frame {self._index}; calibration, lines and zones in pixels are for the old "
                             "size: fix the camera's resolution or its config")
            self.status.reason = self._resized
            log.warning("camera %s: %s", self.config.camera_id, self._resized)
        self._size = size

    def _read(self, capture: Capture) -> bool:
        """Read until the source ends or breaks. True when this reader is done for good."""
        fps = self.config.fps or capture.fps
        self.status.fps = fps if 0 < fps < 1000 else None
        self.status.width, self.status.height = capture.width or None, capture.height or None
        self._set(CONNECTED)
        is_file = self.config.kind == "file"
        # a folder's count is of its files, unreadable ones included (skipped, not a cut-short file)
        declared = capture.frame_count if is_file and not isinstance(capture, ImageFolderCapture) else 0
        first_index, skipped = self._index, 0
        stream_times = clock.StreamTimes()  # a stream's frames: their own timestamps, this connection's
        while not self._stopping.is_set():
            try:
                image, broken = capture.read(), ""
            except DecodeError as exc:
                image, broken = None, str(exc)
            if image is None:
                if not is_file:
                    self._set(RECONNECTING, "the stream stopped sending frames" + (f" ({broken})" if broken else ""))
                    return False
                if self._index == first_index:
                    self._set(FAILED, f"video file {self.config.path} has no decodable frames")
                    return True
                cut = self._cut_short(self._index - first_index, declared, broken)
                if self.config.loop and not self.offline:
                    if cut:
                        self._set(CONNECTED, f"{cut}; looping over the frames before it")
                    capture.rewind()
                    first_index = self._index
                    continue
                if cut:
                    self._set(FAILED, f"{cut}; the {self._index - first_index} frames before it were used")
                else:
                    notes = [note for note in (self._skipped(capture), self._resized) if note]
                    end = "end of the images" if isinstance(capture, ImageFolderCapture) else "end of file"
                    self._set(ENDED, "; ".join([f"{end} after {self._index} frames", *notes]))
                return True
            self._index += 1
            if capture.skipped > skipped:
                skipped = capture.skipped
                if is_file and capture.position is not None:  # the frames lost count: number on as the file does
                    self._index = max(self._index, first_index + capture.position + 1)
                self._note_skipped(capture)
            self._check_size(image)
            now = time.monotonic()
            if is_file and self.status.fps:
                # The file's own timeline, live too (no read's jitter), where a live file is paced: each
                # frame read at its time, or, once further behind than a stream may be (a file that
                # decodes slower than it plays), going on from later, as a stream that dropped frames.
                scene_time = self._origin + (self._index - 1) / self.status.fps
                if not self.offline:
                    early = scene_time - clock.wall_at(now)
                    if early > 0:
                        self._stopping.wait(early)
                        now = time.monotonic()
                    elif early < -clock.StreamTimes.MAX_LAG_S:
                        self._origin -= early + clock.StreamTimes.MAX_LAG_S
                        scene_time -= early + clock.StreamTimes.MAX_LAG_S
            else:
                scene_time = stream_times.time_of(getattr(capture, "time_s", None), clock.wall_at(now))
            self.status.frames_read += 1
            self.queue.put(Frame(self.config.camera_id, self._index, now, scene_time, image), self._stopping)
            self.status.frames_dropped = self.queue.dropped
        return True
