"""What association works with: each camera's tracks of a step (CameraTracks), the same for all
cameras as flat arrays (StepRows), people (Identity), a track's link to one (Link), and the
corrections association makes (Correction)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mctrt.geometry.feet import FloorPoints

TrackKey = tuple[str, int]  # (camera_id, track_id)


@dataclass
class CameraTracks:
    """One camera's tracks in one step, M rows, as association needs them.

    Attributes:
        camera_id: the camera.
        time_s: capture time of its frame (scene seconds).
        track_id: (M,) int64 live track IDs; removed_id: (K,) int64 IDs the tracker removed.
        embedded: (M,) bool rows with a new embedding; embeddings: (M, D) float32, L2-normalised
            (rows not embedded are ignored), or None when no row is.
        give_up: (M,) bool rows that waited long enough for an ID without an embedding.
        floor: where the tracks stand (FloorPoints), or None for an uncalibrated camera.
    """

    camera_id: str
    time_s: float
    track_id: np.ndarray
    removed_id: np.ndarray
    embedded: np.ndarray
    embeddings: np.ndarray | None
    give_up: np.ndarray
    floor: FloorPoints | None = None


@dataclass(frozen=True)
class Correction:
    """old_global_id turned out to be new_global_id (reason: "floor" or "appearance")."""

    old_global_id: int
    new_global_id: int
    time_s: float
    reason: str


@dataclass
class Identity:
    """One person across cameras."""

    global_id: int
    founder: TrackKey
    first_seen: float
    last_seen: float
    embedding: np.ndarray | None = None
    embeddings: int = 0  # how many embeddings have gone into `embedding`
    last_seen_by_camera: dict[str, float] = field(default_factory=dict)
    tracks: set[TrackKey] = field(default_factory=set)  # live tracks linked to it
    joined: bool = False  # a track other than its founder has been linked to it
    floor_since: float | None = None  # when it was first placed on the floor

    @property
    def latest_camera(self) -> str:
        return max(self.last_seen_by_camera, key=self.last_seen_by_camera.get)


@dataclass
class Link:
    global_id: int
    since: float  # when it was made


@dataclass
class StepRows:
    """Every camera's tracks of one step as flat arrays (R rows)."""

    camera: np.ndarray  # (R,) index into the step's camera list
    keys: list[TrackKey]
    time: np.ndarray
    xy: np.ndarray  # (R, 2), NaN without a position
    cov: np.ndarray  # (R, 2, 2)
    embedded: np.ndarray
    embeddings: np.ndarray | None  # (R, D)
    give_up: np.ndarray
    gid: np.ndarray  # (R,) int64, 0 while waiting
    placed: np.ndarray = None  # (R,) bool: rows with a floor position
    cameras_of: dict[int, set[str]] = field(default_factory=dict)  # ID -> cameras showing it in this step
    linked: list[int] = field(default_factory=list)  # rows matched to an ID in this step, in order (rule 4)

    def __post_init__(self) -> None:
        self.placed = ~np.isnan(self.xy[:, 0])
        self._row_of: dict[TrackKey, int] | None = None
        self._capture: tuple[np.ndarray, np.ndarray] | None = None

    def capture_times(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The distinct capture times (T,) of these rows, ascending, and each row's index among them
        (a camera's rows share their time): for predicting people once to each time."""
        if self._capture is None:
            self._capture = np.unique(self.time, return_inverse=True)
        times, block = self._capture
        if len(times) == 1:  # cameras read in step (files): one time
            return times, block[rows]
        present = np.bincount(block[rows], minlength=len(times)) > 0
        return times[present], (np.cumsum(present) - 1)[block[rows]]

    def row_of(self, keys) -> list[tuple[TrackKey, int]]:
        """(key, row) of those of these track keys that have a row in this step."""
        if self._row_of is None:
            self._row_of = dict(zip(self.keys, range(len(self.keys))))
        return [(key, self._row_of[key]) for key in keys if key in self._row_of]
