"""Configuration dataclasses: every default mctrt uses lives here, once.

Each dataclass is frozen and checks itself on construction, raising ConfigError that names the field
and its valid range. Classes that configure C++ code mirror a C++ struct field for field; the ranges
are checked by the C++ side (one place), and a test keeps the defaults of both sides equal.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from mctrt._native import core
from mctrt.errors import ConfigError

# Field annotation -> Python types accepted for it (bools are never numbers here).
_ACCEPTED_TYPES = {"float": (int, float), "int": (int,), "bool": (bool,)}
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class ByteTrackConfig:
    """ByteTrack settings for one camera. Costs are 1 - IoU (times the score where fused), so a
    larger `*_match_thresh` accepts matches with less overlap.

    Defaults are those of the official ByteTrack evaluation (tools/track.py: track_thresh 0.6,
    match_thresh 0.9, track_buffer 30), which are looser than its demo's and suit low frame rates,
    where people move further between frames.

    Deliberate differences from the official code: IDs are given when a track is confirmed, so they
    run 1, 2, 3, ... with no gaps; a lost track whose buffer has run out is dropped in that frame
    (the official code keeps it matchable one frame longer); IoU has no "+1 pixel" term; boxes with
    zero width or height are ignored; a score exactly at track_thresh counts as low (the official code
    ignores it); the returned box is the matched detection's, not the Kalman estimate (which lags a
    moving person).

    Attributes:
        track_thresh: detections scoring above this are "high" and may start tracks; those between
            low_thresh and this only extend existing tracks. Higher: fewer false tracks, more misses.
        low_thresh: detections at or below this are ignored entirely.
        new_track_thresh: a leftover high detection starts a track only at this score or above
            (the official code uses track_thresh + 0.1). Higher: fewer short false tracks, later starts.
        match_thresh: largest cost accepted in the first association (high-score detections with
            tracked and lost tracks). Higher: tolerates faster motion, risks swapping people.
        second_match_thresh: largest cost (1 - IoU, unfused) for low-score detections.
        unconfirmed_match_thresh: largest cost for confirming a one-frame-old track.
        duplicate_iou: a tracked and a lost track overlapping more than this are one person; the
            younger is dropped.
        fuse_score: multiply IoU by the detection score in the first and tentative associations, so
            confident detections win close calls (the official code turns this off for MOT20).
        track_buffer: how long a lost track is kept for re-finding, in frames at 30 fps. Longer:
            survives longer occlusions, but a different person may inherit the ID.
        frame_rate: the video's frame rate; track_buffer is scaled by frame_rate / 30.
    """

    track_thresh: float = 0.6
    low_thresh: float = 0.1
    new_track_thresh: float = 0.7
    match_thresh: float = 0.9
    second_match_thresh: float = 0.5
    unconfirmed_match_thresh: float = 0.7
    duplicate_iou: float = 0.85
    fuse_score: bool = True
    track_buffer: int = 30
    frame_rate: float = 30.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) != (f.type == "bool") or not isinstance(value, _ACCEPTED_TYPES[f.type]):
                raise ConfigError(f"ByteTrackConfig.{f.name} must be {f.type}; got {value!r} ({type(value).__name__})")
            if f.type == "int" and not _INT32_MIN <= value <= _INT32_MAX:  # the C++ field is a 32-bit int
                raise ConfigError(f"ByteTrackConfig.{f.name} must be at most {_INT32_MAX}; got {value}")
        try:
            self.to_native().validate()
        except ValueError as exc:
            raise ConfigError(f"ByteTrackConfig.{exc}") from None

    def to_native(self) -> core.ByteTrackConfig:
        """The C++ struct with the same values."""
        native = core.ByteTrackConfig()
        for f in fields(self):
            setattr(native, f.name, getattr(self, f.name))
        return native
