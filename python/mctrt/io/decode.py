"""Decoders behind a camera reader: PyAV (FFmpeg) for files and network streams, OpenCV for webcams
and for folders of images (a MOTChallenge sequence's img1/, frames exported from a recording).

Files and streams are decoded with PyAV rather than cv2.VideoCapture because OpenCV's FFmpeg backend
scales every frame of a source whose resolution changes mid-stream to its first size, and reports
that first size, so a camera switched from 1080p to 720p would go unnoticed while its calibration and
zones in pixels no longer fit. PyAV hands over each frame as decoded, with its own size, and tells a
packet that cannot be decoded (skipped and counted: the frames after it are still good) from the end
of the source. The BGR pixels are the same as OpenCV's (both convert with FFmpeg's swscale; checked
byte for byte on the first 200-300 frames of PETS09-S2L1, of a pets09_split2 camera (H.264) and of a
lab4cam camera (H.264, 4:4:4), and on a strip written by mctrt.splits (MPEG-4)).
"""

from __future__ import annotations

import configparser
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np

from mctrt.io.paths import image_files


class Capture(Protocol):
    """An opened source: its rate, size and frame count as its header says (0 where unknown)."""

    fps: float
    width: int
    height: int
    frame_count: int
    skipped: int  # packets (or images) that could not be decoded, so far
    skip_reason: str  # the last one's (FFmpeg's words)
    skip_unit: str  # what `skipped` counts, for messages
    position: int | None  # the last frame's place in the source (0 first) by its timestamp; None: unknown

    def read(self) -> np.ndarray | None:
        """The next frame (H, W, 3) BGR uint8, or None at the end of the source. Raises DecodeError
        when the source breaks (a container that cannot be read on, a stream that errs)."""

    def rewind(self) -> None:
        """Back to the first frame (files)."""

    def close(self) -> None: ...


class DecodeError(Exception):
    """A source that broke while it was read (FFmpeg's reason in the message)."""


def ffmpeg_reason(exc: Exception) -> str:
    """FFmpeg's words for a failure, without PyAV's errno and file name around them."""
    return getattr(exc, "strerror", None) or str(exc)


_AVFMT_NOTIMESTAMPS = 0x0080  # libavformat's flag for formats whose packets carry no timestamps


class AvCapture:
    """A file or a network stream, decoded by PyAV."""

    skip_unit = "packet(s)"

    def __init__(self, url: str, options: dict[str, str] | None = None, timeout_s: tuple[float, float] | None = None,
                 live: bool = False) -> None:
        """live: a stream, decoded for low delay. Raises av.error.FFmpegError (an OSError or a
        ValueError) when it cannot be opened, ValueError when it has no video."""
        self._container = av.open(url, options=options or {}, timeout=timeout_s)
        if not self._container.streams.video:
            self._container.close()
            raise ValueError("it holds no video stream")
        self._stream = self._container.streams.video[0]
        # Frame threads decode several frames at once, each thread holding one back: fastest for files,
        # but on a live stream they delay every frame by as many as there are threads
        self._stream.thread_type = "SLICE" if live else "AUTO"
        # A raw elementary stream (.h264 and the like) has no timestamps: FFmpeg's average rate is then its
        # default of 25, and the rate the stream itself declares (its SPS timing) is the guessed one
        self._no_timestamps = bool(self._container.format.flags & _AVFMT_NOTIMESTAMPS)
        first, second = self._stream.average_rate, self._stream.guessed_rate
        rate = (second or first if self._no_timestamps else first or second) or Fraction(0)
        self.fps = float(rate)
        self.width, self.height = self._stream.width, self._stream.height
        self.frame_count = int(self._stream.frames or 0)
        self.skipped, self.skip_reason = 0, ""
        self.position = None
        self.time_s: float | None = None  # the last frame's timestamp, in seconds of the stream
        start = self._stream.start_time
        self._start_s = float(start * self._stream.time_base) if start is not None and self._stream.time_base else 0.0
        self._frames = self._decoded()

    def _decoded(self):
        for packet in self._container.demux(self._stream):
            try:
                yield from packet.decode()
            except av.error.FFmpegError as exc:  # a corrupt packet: the next keyframe decodes again
                self.skipped += 1
                self.skip_reason = ffmpeg_reason(exc)

    def read(self) -> np.ndarray | None:
        try:
            frame = next(self._frames, None)
        except av.error.FFmpegError as exc:
            raise DecodeError(ffmpeg_reason(exc)) from exc
        if frame is None:
            return None
        self.time_s = None if self._no_timestamps else frame.time  # FFmpeg invents 25 a second for such
        self.position = round((frame.time - self._start_s) * self.fps) if frame.time is not None and self.fps else None
        # FFmpeg pads each row to its alignment: a frame whose width is not a multiple of it comes as
        # a strided view, which the C++ pre-processing and hashing need contiguous
        return np.ascontiguousarray(frame.to_ndarray(format="bgr24"))

    def rewind(self) -> None:
        self._container.seek(0)
        self._frames = self._decoded()

    def close(self) -> None:
        self._container.close()


class CvCapture:
    """A webcam, read by OpenCV (V4L2 and the like).

    Read through OpenCV's V4L2 backend (Linux), each frame carries the time the driver stamped its
    buffer with, given as POS_MSEC: when the camera delivered it, not when this reader got round to it (a
    loaded machine reads tens of ms late, and the tracker loses IDs to such jitter). Other backends'
    POS_MSEC means other things, so there frames are timed by their reads."""

    skip_unit = "frame(s)"

    def __init__(self, capture: cv2.VideoCapture) -> None:
        self._capture = capture
        self.fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        self.width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.frame_count = 0
        self.skipped, self.skip_reason = 0, ""
        self.position = None
        try:
            self._stamped = capture.getBackendName() == "V4L2"
        except cv2.error:  # no backend to name
            self._stamped = False
        self.time_s: float | None = None  # the last frame's buffer timestamp (V4L2; seconds of its clock)

    def read(self) -> np.ndarray | None:
        ok, image = self._capture.read()
        if not ok:
            return None
        stamp_ms = self._capture.get(cv2.CAP_PROP_POS_MSEC) if self._stamped else 0.0
        self.time_s = stamp_ms / 1000.0 if stamp_ms > 0 else None
        return image

    def rewind(self) -> None:
        pass

    def close(self) -> None:
        self._capture.release()


class ImageFolderCapture:
    """A folder of images played as a video: one frame per image, in name order (io.paths.image_files),
    each read by OpenCV as it is needed. An image that cannot be read is skipped and counted, and the
    frames after it keep their numbers (position)."""

    skip_unit = "image(s)"

    def __init__(self, folder: str | Path, files: list[Path], fps: float) -> None:
        self.folder, self._files = Path(folder), files
        self.fps = fps
        self.frame_count = len(files)
        self.skipped, self.skip_reason = 0, ""
        self.position: int | None = None
        self._next = 0
        first = self._first_image()
        self.height, self.width = first.shape[:2] if first is not None else (0, 0)

    def _first_image(self) -> np.ndarray | None:
        return next((image for image, _ in map(decode_image, self._files) if image is not None), None)

    def read(self) -> np.ndarray | None:
        while self._next < len(self._files):
            path, self.position = self._files[self._next], self._next
            self._next += 1
            image, why = decode_image(path)
            if image is not None:
                return image
            self.skipped += 1
            self.skip_reason = f"{path.name} {why}"
        return None

    def rewind(self) -> None:
        self._next = 0

    def close(self) -> None:
        pass


def decode_image(path: Path) -> tuple[np.ndarray | None, str]:
    """(BGR image, "") or (None, why not). A JPEG cut short (a copy not finished) would decode with
    its lower part grey, and libjpeg would say so on stderr: one without its end marker is refused."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if path.suffix.lower() in (".jpg", ".jpeg") and b"\xff\xd9" not in data[-64:]:  # some writers pad after it
        return None, "is truncated (no JPEG end marker)"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # lets go of the GIL while it decodes
    return (image, "") if image is not None else (None, "is not an image OpenCV can read")


def sequence_frame_rate(folder: str | Path) -> float:
    """The frame rate a MOTChallenge sequence declares (`frameRate` in seqinfo.ini, in the folder or the
    one above it, as SEQ/seqinfo.ini sits beside SEQ/img1/), or 0 where none does."""
    folder = Path(folder)
    for ini in (folder / "seqinfo.ini", folder.parent / "seqinfo.ini"):
        parser = configparser.ConfigParser()
        try:
            parser.read(ini, encoding="utf-8")
            rate = float(parser.get("Sequence", "frameRate", fallback="0"))
        except (configparser.Error, ValueError, OSError, UnicodeDecodeError):
            continue
        if 0 < rate < 1000:
            return rate
    return 0.0
