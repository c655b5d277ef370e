"""A pure-Python ByteTracker: the oracle the C++ tracker must match frame by frame.

It follows the ByteTrack paper and its official code (ifzhang/ByteTrack, `BYTETracker.update`) step by
step, written for reading rather than speed. Where mctrt deliberately differs from the official code,
this reference differs the same way, and says so:

- IDs are handed out when a confirmed track is first output, so they run 1, 2, 3, ... without the gaps
  the official code leaves for tentative tracks that never confirm (or are dropped as duplicates in
  the frame they confirm).
- A lost track whose buffer has run out is dropped in the same frame (the official code keeps it in
  its lost list, matchable, for one extra frame).
- IoU is the continuous one (no "+1 pixel" convention of the cython_bbox the official code used).
- Detections with zero width or height are ignored (they have no aspect ratio).
- A score exactly at track_thresh counts as low (the official code ignores it).
- A returned box is the box of the detection matched in this frame, not the Kalman estimate (which
  lags a moving person); every returned track was matched in this frame.
- Defaults are those of the official evaluation script (tools/track.py: track_thresh 0.6,
  match_thresh 0.9, track_buffer 30), not of its demo.

Linear assignment uses scipy on the extended square matrix (what `lap.lapjv(extend_cost=True,
cost_limit=...)` solves): every row and column may stay unmatched at half the limit each, so a pair is
only matched when that is cheaper than leaving both ends unmatched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

import reference_kalman as kf

TRACKED, LOST, REMOVED = "tracked", "lost", "removed"


def xyxy_to_xyah(box: np.ndarray) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] + w / 2, box[1] + h / 2, w / h, h], dtype=np.float64)


def xyah_to_xyxy(xyah: np.ndarray) -> np.ndarray:
    w, h = xyah[2] * xyah[3], xyah[3]
    return np.array([xyah[0] - w / 2, xyah[1] - h / 2, xyah[0] + w / 2, xyah[1] + h / 2])


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            iw = min(p[2], q[2]) - max(p[0], q[0])
            ih = min(p[3], q[3]) - max(p[1], q[1])
            if iw <= 0 or ih <= 0:
                continue
            inter = iw * ih
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def linear_assignment(cost: np.ndarray, limit: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Matches (row, col) sorted by row, unmatched rows, unmatched cols."""
    n, m = cost.shape
    if n == 0 or m == 0:
        return [], list(range(n)), list(range(m))
    extended = np.full((n + m, n + m), limit / 2.0)
    extended[n:, m:] = 0.0
    extended[:n, :m] = cost
    rows, cols = linear_sum_assignment(extended)
    matches = sorted((int(r), int(c)) for r, c in zip(rows, cols) if r < n and c < m)
    matched_rows = {r for r, _ in matches}
    matched_cols = {c for _, c in matches}
    return matches, [r for r in range(n) if r not in matched_rows], [c for c in range(m) if c not in matched_cols]


@dataclass
class Detection:
    xyxy: np.ndarray
    score: float
    index: int


@dataclass
class Track:
    mean: np.ndarray
    covariance: np.ndarray
    score: float
    det_index: int
    det_xyxy: np.ndarray
    frame_id: int
    start_frame: int
    state: str = TRACKED
    is_activated: bool = False
    track_id: int = 0  # public ID, given on confirmation
    key: int = field(default=0)  # internal identity, given at creation

    @property
    def xyxy(self) -> np.ndarray:
        return xyah_to_xyxy(self.mean[:4])


def joint(a: list[Track], b: list[Track]) -> list[Track]:
    seen = {t.key for t in a}
    return a + [t for t in b if t.key not in seen]


def sub(a: list[Track], b: list[Track]) -> list[Track]:
    drop = {t.key for t in b}
    return [t for t in a if t.key not in drop]


class ReferenceByteTracker:
    def __init__(
        self,
        *,
        track_thresh: float = 0.6,
        low_thresh: float = 0.1,
        new_track_thresh: float = 0.7,
        match_thresh: float = 0.9,
        second_match_thresh: float = 0.5,
        unconfirmed_match_thresh: float = 0.7,
        duplicate_iou: float = 0.85,
        fuse_score: bool = True,
        track_buffer: int = 30,
        frame_rate: float = 30.0,
        distance_gate: float = 0.0,
        motion_gate: float = 0.0,
        velocity_noise: float = 1 / 160,
        confirm_frames: int = 0,
    ) -> None:
        # the official tracker has no third association and no motion gate: it is compared with
        # mctrt's turned off
        assert distance_gate == 0.0, "the reference has no distance association"
        assert motion_gate == 0.0, "the reference has no motion gate"
        assert confirm_frames == 0, "the reference starts tracks from confident boxes only"
        assert velocity_noise == 1 / 160, "the reference's motion noise is ByteTrack's own"
        self.track_thresh = track_thresh
        self.low_thresh = low_thresh
        self.new_track_thresh = new_track_thresh
        self.match_thresh = match_thresh
        self.second_match_thresh = second_match_thresh
        self.unconfirmed_match_thresh = unconfirmed_match_thresh
        self.duplicate_iou = duplicate_iou
        self.fuse_score = fuse_score
        self.max_time_lost = int(frame_rate / 30.0 * track_buffer)
        self.frame_id = 0
        self.tracked: list[Track] = []
        self.lost: list[Track] = []
        self._next_key = 1
        self._next_id = 1
        # How often each rarer rule fired, so parity tests can show they exercised it.
        self.events = {"refound": 0, "tentative_dropped": 0, "lost_expired": 0, "duplicates": 0}

    def _confirm(self, track: Track) -> None:
        track.is_activated = True  # its ID comes with its first output, so that none goes unused

    def _cost(self, tracks: list[Track], dets: list[Detection], fuse: bool) -> np.ndarray:
        iou = iou_matrix([t.xyxy for t in tracks], [d.xyxy for d in dets])
        if fuse and iou.size:
            iou = iou * np.array([d.score for d in dets])[None, :]
        return 1.0 - iou

    def _absorb(self, track: Track, det: Detection) -> None:
        """Kalman update with a matched detection (official `update` and `re_activate`)."""
        track.mean, track.covariance = kf.update(track.mean, track.covariance, xyxy_to_xyah(det.xyxy))
        track.state = TRACKED
        track.score = det.score
        track.det_index = det.index
        track.det_xyxy = det.xyxy
        track.frame_id = self.frame_id
        self._confirm(track)

    def update(self, xyxy: np.ndarray, scores: np.ndarray):
        self.frame_id += 1
        activated: list[Track] = []
        refound: list[Track] = []
        newly_lost: list[Track] = []
        removed: list[Track] = []

        # Scores are float32; thresholds are compared in float32 too.
        valid = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
        high = valid & (scores > np.float32(self.track_thresh))
        low = valid & (scores > np.float32(self.low_thresh)) & ~high
        dets = [Detection(xyxy[i].astype(np.float64), float(scores[i]), int(i)) for i in np.flatnonzero(high)]
        dets_low = [Detection(xyxy[i].astype(np.float64), float(scores[i]), int(i)) for i in np.flatnonzero(low)]

        unconfirmed = [t for t in self.tracked if not t.is_activated]
        confirmed = [t for t in self.tracked if t.is_activated]

        # First association: high-score detections with confirmed and lost tracks, predicted.
        pool = joint(confirmed, self.lost)
        for t in pool:
            mean = t.mean.copy()
            if t.state != TRACKED:
                mean[7] = 0.0  # a lost track's height stops changing
            t.mean, t.covariance = kf.predict(mean, t.covariance)
        matches, u_track, u_det = linear_assignment(self._cost(pool, dets, self.fuse_score), self.match_thresh)
        for it, idet in matches:
            track = pool[it]
            (activated if track.state == TRACKED else refound).append(track)
            self._absorb(track, dets[idet])

        # Second association: low-score detections with the still-unmatched tracked tracks.
        remaining = [pool[i] for i in u_track if pool[i].state == TRACKED]
        matches, u_remaining, _ = linear_assignment(self._cost(remaining, dets_low, False), self.second_match_thresh)
        for it, idet in matches:
            self._absorb(remaining[it], dets_low[idet])
            activated.append(remaining[it])
        for it in u_remaining:
            remaining[it].state = LOST
            newly_lost.append(remaining[it])

        # Tentative tracks (one frame old) against the high-score detections left over.
        dets = [dets[i] for i in u_det]
        matches, u_unconfirmed, u_det = linear_assignment(
            self._cost(unconfirmed, dets, self.fuse_score), self.unconfirmed_match_thresh
        )
        for it, idet in matches:
            self._absorb(unconfirmed[it], dets[idet])
            activated.append(unconfirmed[it])
        for it in u_unconfirmed:
            unconfirmed[it].state = REMOVED
            removed.append(unconfirmed[it])
            self.events["tentative_dropped"] += 1

        # New tracks from confident leftovers.
        for idet in u_det:
            det = dets[idet]
            if det.score < np.float32(self.new_track_thresh):
                continue
            mean, cov = kf.initiate(xyxy_to_xyah(det.xyxy))
            track = Track(mean, cov, det.score, det.index, det.xyxy, self.frame_id, self.frame_id, key=self._next_key)
            self._next_key += 1
            if self.frame_id == 1:
                self._confirm(track)
            activated.append(track)

        for t in self.lost:
            if self.frame_id - t.frame_id > self.max_time_lost:
                t.state = REMOVED
                removed.append(t)
                self.events["lost_expired"] += 1

        self.tracked = [t for t in self.tracked if t.state == TRACKED]
        self.tracked = joint(self.tracked, activated)
        self.tracked = joint(self.tracked, refound)
        self.lost = sub(self.lost, self.tracked)
        self.lost.extend(newly_lost)
        self.lost = sub(self.lost, removed)
        self.events["refound"] += len(refound)
        self.tracked, self.lost = self._remove_duplicates(self.tracked, self.lost)

        out = [t for t in self.tracked if t.is_activated]
        for t in out:  # in the order they were confirmed; after duplicates are dropped
            if t.track_id == 0:
                t.track_id = self._next_id
                self._next_id += 1
        return (
            np.array([t.det_xyxy for t in out], dtype=np.float64).reshape(-1, 4),
            np.array([t.track_id for t in out], dtype=np.int64),
            np.array([t.score for t in out], dtype=np.float64),
            np.array([t.det_index for t in out], dtype=np.int64),
        )

    def _remove_duplicates(self, tracked: list[Track], lost: list[Track]) -> tuple[list[Track], list[Track]]:
        """A tracked and a lost track on the same spot: keep the one with the longer history."""
        iou = iou_matrix([t.xyxy for t in tracked], [t.xyxy for t in lost])
        drop_tracked, drop_lost = set(), set()
        for p, q in zip(*np.nonzero(iou > self.duplicate_iou)):
            age_p = tracked[p].frame_id - tracked[p].start_frame
            age_q = lost[q].frame_id - lost[q].start_frame
            if age_p > age_q:
                drop_lost.add(q)
            else:
                drop_tracked.add(p)
        self.events["duplicates"] += len(drop_tracked) + len(drop_lost)
        return (
            [t for i, t in enumerate(tracked) if i not in drop_tracked],
            [t for i, t in enumerate(lost) if i not in drop_lost],
        )
