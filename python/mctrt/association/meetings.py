"""Meetings (rule 2b of associator.py): trackers swap people who cross. When a track linked to a
person comes upon someone lost from sight moments ago (within gate_sigma of where they should be,
lost for at most meeting_window_s), the track may have been taken over by them. For meeting_s the
track is watched on a floor track of its own, and its person's floor track as it was when they met
is kept aside; then the track stays with whichever of them moves most like it did since: the least
negative log-likelihood of its position and velocity (4-D) under each one's prediction (so a vague
prediction of someone long lost does not win by being vague), by ambiguity_margin at least to leave
its person, and within gate_sigma (on the 2-D scale) at all. The person it leaves, if no other
track shows them, gets back the floor track they had when they met: what it learnt since was
someone else's motion. Limit: a person met who is seen again before the meeting ends (a new track
joined them) is no longer a candidate, so a swap whose other half was already linked stays.
(Making new tracks where they met wait for the outcome instead cost 0.015 IDF1 on the 85 PETS09
tuning cuts of benchmarks/bench_identity_many.py.)

A track compares itself with each lost person once. Meetings decide nothing by themselves: the
associator asks which are due and which person each stays with (settle), and when a track leaves
its person, puts their floor track back (restore).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mctrt._native import core
from mctrt.association.floor_tracks import FloorTracks
from mctrt.association.step import StepRows, TrackKey
from mctrt.config.floor import FloorAssociationConfig


@dataclass
class Meeting:
    """A linked track that came upon people out of sight."""

    since: float
    global_id: int  # the person it was linked to when they met
    others: set[int]  # the people out of sight it met
    watch: int  # its own floor track in Meetings.watched; -watch there: its person's as it was then


class Meetings:
    """The open meetings, keyed by track; `floor` is the associator's floor tracks of people."""

    def __init__(self, config: FloorAssociationConfig, floor: FloorTracks) -> None:
        self.config = config
        self.floor = floor
        self.open: dict[TrackKey, Meeting] = {}
        self.watched = FloorTracks(config.speed_sigma, config.turn_time_s)
        self._met: dict[TrackKey, set[int]] = {}  # the people each track has been compared with
        self._next_watch = 1

    def start(self, rows: StepRows, lost: np.ndarray) -> None:
        """Open a meeting for each placed, linked row (not in one) within gate_sigma of a person
        in `lost` (global IDs with a floor track placed at most meeting_window_s ago and no live
        track) whom it has not met before."""
        if not len(lost):
            return
        gate2 = self.config.gate_sigma ** 2
        linked = np.flatnonzero((rows.gid > 0) & rows.placed)
        linked = linked[self.floor.find(rows.gid[linked]) >= 0]
        if not len(linked):
            return
        slots = self.floor.slots(lost)
        times, block = rows.capture_times(linked)
        mean, cov = self.floor.predict_grid(slots, times)  # everyone lost, at each of those times
        near = core.pairwise_mahalanobis_sq(rows.xy[linked], rows.cov[linked], np.ascontiguousarray(mean[..., :2]),
                                            np.ascontiguousarray(cov[..., :2, :2]), block)[0] <= gate2
        opening: list[tuple[int, set[int]]] = []
        for k in np.flatnonzero(near.any(axis=1)).tolist():
            key = rows.keys[int(linked[k])]
            if key in self.open:
                continue
            others = set(lost[near[k]].tolist()).difference(self._met.get(key, ()))
            if others:
                opening.append((int(linked[k]), others))
        if opening:
            self._open(rows, opening)

    def _open(self, rows: StepRows, opening: list[tuple[int, set[int]]]) -> None:
        r = np.array([row for row, _ in opening], np.int64)
        watch = np.arange(self._next_watch, self._next_watch + len(r), dtype=np.int64)
        self._next_watch += len(r)
        self.watched.start_many(watch, rows.time[r], rows.xy[r], rows.cov[r])
        self.floor.copy(rows.gid[r], self.watched, -watch)
        for (row, others), w in zip(opening, watch.tolist()):
            key = rows.keys[row]
            self._met.setdefault(key, set()).update(others)
            self.open[key] = Meeting(float(rows.time[row]), int(rows.gid[row]), others, w)

    def follow(self, rows: StepRows) -> None:
        """Correct the own floor tracks of the tracks in a meeting with their placed rows."""
        if not self.open:
            return
        mine = rows.row_of(self.open)
        r = np.array([r for _, r in mine], np.int64)
        keep = rows.placed[r] & (rows.gid[r] > 0)
        if keep.any():
            watch = np.array([self.open[key].watch for key, _ in mine], np.int64)
            r = r[keep]
            self.watched.update(watch[keep], rows.time[r], rows.xy[r], rows.cov[r])

    def settle(self, rows: StepRows, lost: Callable[[int], bool]) -> list[tuple[int, Meeting, int]]:
        """The meetings of this step's rows that have lasted meeting_s, as (row, meeting, the ID its
        track stays with: meeting.global_id or one of the people it met that are still `lost` (out
        of sight) and placed). All compared at once; close() them once acted upon."""
        if not self.open:
            return []
        mine = rows.row_of(self.open)
        r = np.array([r for _, r in mine], np.int64)
        since = np.array([self.open[key].since for key, _ in mine])
        lasted = np.flatnonzero(rows.time[r] - since >= self.config.meeting_s)
        due = sorted((int(r[d]), self.open[mine[d][0]]) for d in lasted)
        if not due:
            return []
        cfg = self.config
        row = np.array([r for r, _ in due], np.int64)
        t = rows.time[row]
        own, own_cov = self.watched.predict_state(self.watched.slots([m.watch for _, m in due]), t)
        before, before_cov = self.watched.predict_state(self.watched.slots([-m.watch for _, m in due]), t)
        pairs = [(d, g) for d, (_, m) in enumerate(due) for g in sorted(m.others) if g in self.floor and lost(g)]
        of = np.array([d for d, _ in pairs], np.int64)  # each candidate's meeting: first their IDs, then the others
        theirs, their_cov = self.floor.predict_state(self.floor.slots([g for _, g in pairs]), t[of])
        of = np.concatenate([np.arange(len(due)), of])
        theirs, their_cov = np.concatenate([before, theirs]), np.concatenate([before_cov, their_cov])
        total = np.ascontiguousarray(own_cov[of] + their_cov)
        d4 = core.mahalanobis_sq(np.ascontiguousarray(own[of] - theirs), total)
        fits = d4 - 2.0 * np.log1p(d4 / 2.0) <= cfg.gate_sigma ** 2  # on the 2-D scale, as MatchCosts.floor_costs
        nll = np.where(fits, d4 + np.linalg.slogdet(total)[1], np.inf)
        out = []
        for d, (r, meeting) in enumerate(due):
            chosen = meeting.global_id
            mine = len(due) + np.flatnonzero(of[len(due):] == d)
            if len(mine):
                best = int(mine[np.argmin(nll[mine])])
                if nll[best] + cfg.ambiguity_margin < nll[d]:
                    chosen = pairs[best - len(due)][1]
            out.append((r, meeting, chosen))
        return out

    def restore(self, meeting: Meeting) -> None:
        """Put back the floor track of meeting.global_id as it was when the meeting began (what it
        learnt from the track since was someone else's motion)."""
        self.watched.copy(-meeting.watch, self.floor, meeting.global_id)

    def close(self, keys: list[TrackKey]) -> None:
        """End these tracks' meetings (those they have)."""
        ended = []
        for key in keys:
            meeting = self.open.pop(key, None)
            if meeting is not None:
                self._met[key].add(meeting.global_id)  # compared with it too, should the track have left it
                ended += (meeting.watch, -meeting.watch)
        if ended:
            self.watched.remove(ended)

    def forget(self, key: TrackKey) -> None:
        """The track has ended or lost its link."""
        self.close([key])
        self._met.pop(key, None)

    def merged(self, old: int, new: int) -> None:
        """Person `old` was retired into `new`."""
        for met in self._met.values():
            if old in met:
                met.discard(old)
                met.add(new)
        for meeting in self.open.values():
            if meeting.global_id == old:
                meeting.global_id = new
            if old in meeting.others:
                meeting.others = (meeting.others - {old}) | ({new} - {meeting.global_id})
