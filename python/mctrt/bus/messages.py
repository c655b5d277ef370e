"""The message between perception and the scene: one camera's step (CameraStep), and its wire form
on a bus (encode/decode: a flat map of byte strings, as a Redis stream entry holds).

Arrays travel as raw little-endian bytes, never as JSON lists. The fields, their types and units are
listed in docs/bus.md; SCHEMA_VERSION changes whenever a field changes meaning or a reader could not
skip it, and a reader refuses a newer version than its own rather than misreading it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from mctrt.errors import MctrtError
from mctrt.types import Frame, Tracks

SCHEMA_VERSION = 1

STEP = "step"
END = "end"  # a worker's camera has no more frames: its run ended by itself


class BusVersionError(MctrtError):
    """A message written by a newer (or unknown) version of the bus schema."""


@dataclass
class CameraStep:
    """What perception found in one camera's frame: everything the scene (association, events,
    results) needs, and nothing it does not.

    Attributes:
        camera_id: the camera.
        index: 1-based decoded frame number.
        time_s: capture time, Unix seconds (for files read offline: seconds from the video's start
            plus the run's origin; see Frame.time_s).
        capture_ts: time.monotonic() on this machine when the frame was read (a central derives it
            from time_s): where capture -> result latency starts.
        size: the image's (width, height) in pixels.
        detections: how many person boxes the detector found.
        tracks: the tracker's confirmed tracks (M rows) and the IDs it removed.
        embedded: (M,) bool, rows embedded in this step.
        embeddings: (M, D) float32 L2-normalised (rows not embedded are zero), or None when none is.
        give_up: (M,) bool, rows that waited long enough for an ID without an embedding.
        frame: the decoded frame (with its image) where perception and scene share a process; None on
            a central, which sees only this message.
        status: the camera reader's status (CameraStatus.as_dict()) when this step was made.
        kind: STEP, or END for a camera's last message of a worker run that ended by itself (its files
            read to the end, or --max-frames; not a stopped or killed worker); its other fields are empty.
        run: the worker run that made it: a restarted worker starts a new run, whose frame numbers
            and track IDs start again from 1 (the central ends the old run's tracks).
    """

    camera_id: str
    index: int
    time_s: float
    capture_ts: float
    size: tuple[int, int]
    detections: int
    tracks: Tracks
    embedded: np.ndarray
    embeddings: np.ndarray | None
    give_up: np.ndarray
    frame: Frame | None = None
    status: dict | None = None
    kind: str = STEP
    run: str = ""
    sent_s: float | None = field(default=None, compare=False)  # worker's clock (mctrt.clock) at publishing

    @classmethod
    def end(cls, camera_id: str, index: int, time_s: float, status: dict | None = None, run: str = "") -> CameraStep:
        """The end-of-stream marker after a camera's last frame `index`."""
        none = np.zeros(0, np.int64)
        return cls(camera_id, index, time_s, 0.0, (0, 0), 0,
                   Tracks(np.zeros((0, 4), np.float32), none, np.zeros(0, np.float32), none, none),
                   np.zeros(0, bool), None, np.zeros(0, bool), status=status, kind=END, run=run)


def encode(step: CameraStep, embedding_dtype: str = "float16") -> dict[str, bytes]:
    """The message as stream fields. Only the embedded rows' embeddings travel, as float16 (half the
    bytes; cosine similarities move by < 1e-3) or float32."""
    t = step.tracks
    fields = {
        "v": str(SCHEMA_VERSION), "kind": step.kind, "run": step.run, "camera": step.camera_id, "frame": str(step.index),
        "time": repr(float(step.time_s)), "width": str(step.size[0]), "height": str(step.size[1]),
        "detections": str(step.detections),
        "track_id": _bytes(t.track_id, "<i8"), "xyxy": _bytes(t.xyxy, "<f4"), "score": _bytes(t.score, "<f4"),
        "det_index": _bytes(t.det_index, "<i8"), "removed": _bytes(t.removed_id, "<i8"),
        "embedded": _bytes(step.embedded, "u1"), "give_up": _bytes(step.give_up, "u1"),
    }
    if step.embeddings is not None and step.embedded.any():
        if embedding_dtype not in _EMBEDDING_DTYPES:
            raise ValueError(f"embedding_dtype must be one of {sorted(_EMBEDDING_DTYPES)}; got {embedding_dtype!r}")
        rows = step.embeddings[step.embedded]
        fields["embeddings"] = _bytes(rows, _EMBEDDING_DTYPES[embedding_dtype])
        fields["embedding_dtype"] = embedding_dtype
        fields["embedding_dim"] = str(rows.shape[1])
    if step.status is not None:
        fields["status"] = json.dumps(step.status)
    if step.sent_s is not None:
        fields["sent"] = repr(float(step.sent_s))
    return {k: v.encode() if isinstance(v, str) else v for k, v in fields.items()}


def decode(fields: dict[bytes | str, bytes], capture_ts: float) -> CameraStep:
    """A CameraStep from stream fields (keys may be bytes or str); capture_ts is this machine's
    monotonic time for the capture. BusVersionError for a newer or foreign message."""
    f = {k.decode() if isinstance(k, bytes) else k: v for k, v in fields.items()}
    version = f.get("v", b"").decode()
    if not version.isdigit():
        raise BusVersionError(f"a bus message without a schema version (fields {sorted(f)}): it was not written by an "
                              "mctrt worker; give mctrt its own streams (bus.prefix)")
    if int(version) > SCHEMA_VERSION:
        raise BusVersionError(f"camera {f.get('camera', b'?').decode()}: its worker writes bus schema v{version}, this "
                              f"central reads up to v{SCHEMA_VERSION}; upgrade mctrt on the central first, then the "
                              "workers")
    text = {k: f[k].decode() for k in ("kind", "run", "camera", "frame", "time", "width", "height", "detections")}
    track_id = np.frombuffer(f["track_id"], "<i8").astype(np.int64)
    m = len(track_id)
    embedded = np.frombuffer(f["embedded"], "u1").astype(bool)
    embeddings = None
    if "embeddings" in f:
        dim = int(f["embedding_dim"])
        rows = np.frombuffer(f["embeddings"], _EMBEDDING_DTYPES[f["embedding_dtype"].decode()]).reshape(-1, dim)
        embeddings = np.zeros((m, dim), np.float32)
        embeddings[embedded] = rows
    tracks = Tracks(np.frombuffer(f["xyxy"], "<f4").astype(np.float32).reshape(m, 4), track_id,
                    np.frombuffer(f["score"], "<f4").astype(np.float32),
                    np.frombuffer(f["det_index"], "<i8").astype(np.int64),
                    np.frombuffer(f["removed"], "<i8").astype(np.int64))
    return CameraStep(text["camera"], int(text["frame"]), float(text["time"]), capture_ts,
                      (int(text["width"]), int(text["height"])), int(text["detections"]), tracks, embedded,
                      embeddings, np.frombuffer(f["give_up"], "u1").astype(bool),
                      status=json.loads(f["status"]) if "status" in f else None, kind=text["kind"], run=text["run"],
                      sent_s=float(f["sent"]) if "sent" in f else None)


_EMBEDDING_DTYPES = {"float16": "<f2", "float32": "<f4"}


def _bytes(array: np.ndarray, dtype: str) -> bytes:
    return np.ascontiguousarray(array, dtype=dtype).tobytes()
