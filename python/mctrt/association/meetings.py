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
associator asks which are due (due) and which person each stays with (choose), and when a track
leaves its person, puts their floor track back (restore).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mctrt._native import core
from mctrt.association.floor_tracks import FloorTracks, mahalanobis_sq
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
        in `lost` (global IDs with a floor track and no live track) placed at most meeting_window_s
        ago, whom it has not met before."""
        cfg = self.config
        if not len(lost):
            return
        lost = lost[float(rows.time.max()) - self.floor.time[self.floor.slots(lost)] <= cfg.meeting_window_s]
        linked = np.flatnonzero((rows.gid > 0) & rows.placed)
        linked = linked[self.floor.find(rows.gid[linked]) >= 0]
        if self.open:
            linked = linked[[rows.keys[r] not in self.open for r in linked.tolist()]]
        if not len(lost) or not len(linked):
            return
        slots = self.floor.slots(lost)
        for time_s in np.unique(rows.time[linked]).tolist():  # a camera's rows share their capture time
            these = linked[rows.time[linked] == time_s]
            mean, cov = self.floor.predict(slots, np.full(len(slots), time_s))
            near = mahalanobis_sq(rows.xy[these][:, None] - mean[None], cov[None] + rows.cov[these][:, None])
            near = near <= cfg.gate_sigma ** 2
            for i in np.flatnonzero(near.any(axis=1)).tolist():
                r = int(these[i])
                key = rows.keys[r]
                others = set(lost[near[i]].tolist()) - self._met.get(key, set())
                if others:
                    self._open(rows, r, others)

    def _open(self, rows: StepRows, r: int, others: set[int]) -> None:
        key, gid = rows.keys[r], int(rows.gid[r])
        self._met.setdefault(key, set()).update(others)
        watch = self._next_watch
        self._next_watch += 1
        self.watched.start(watch, float(rows.time[r]), rows.xy[r], rows.cov[r])
        self.floor.copy(gid, self.watched, -watch)
        self.open[key] = Meeting(float(rows.time[r]), gid, others, watch)

    def follow(self, rows: StepRows, placed: np.ndarray) -> None:
        """Correct the own floor tracks of these placed rows that are in a meeting."""
        if not self.open or not len(placed):
            return
        mine = placed[[rows.keys[r] in self.open for r in placed.tolist()]]
        if len(mine):
            self.watched.update([self.open[rows.keys[r]].watch for r in mine.tolist()], rows.time[mine], rows.xy[mine],
                                rows.cov[mine])

    def due(self, rows: StepRows) -> list[tuple[int, Meeting]]:
        """(row, meeting) of the meetings of this step's rows that have lasted meeting_s."""
        if not self.open:
            return []
        out = []
        for r, key in enumerate(rows.keys):
            meeting = self.open.get(key)
            if meeting is not None and rows.time[r] - meeting.since >= self.config.meeting_s:
                out.append((r, meeting))
        return out

    def choose(self, rows: StepRows, r: int, meeting: Meeting, others: list[int]) -> int:
        """The person row r's track stays with: meeting.global_id or one of `others` (people still
        out of sight, with a floor track)."""
        if not others:
            return meeting.global_id
        cfg = self.config
        t = np.full(len(others) + 1, float(rows.time[r]))
        state, cov = self.watched.predict_state(self.watched.slots([meeting.watch] * len(t)), t)
        before, before_cov = self.watched.predict_state(self.watched.slots([-meeting.watch]), t[:1])
        theirs, their_cov = self.floor.predict_state(self.floor.slots(others), t[1:])
        theirs, their_cov = np.concatenate([before, theirs]), np.concatenate([before_cov, their_cov])
        total = np.ascontiguousarray(cov + their_cov)
        d4 = core.mahalanobis_sq(np.ascontiguousarray(state - theirs), total)
        fits = d4 - 2.0 * np.log1p(d4 / 2.0) <= cfg.gate_sigma ** 2  # on the 2-D scale, as MatchCosts.floor_costs
        nll = np.where(fits, d4 + np.linalg.slogdet(total)[1], np.inf)
        best = int(np.argmin(nll))
        return others[best - 1] if best and nll[best] + cfg.ambiguity_margin < nll[0] else meeting.global_id

    def restore(self, meeting: Meeting) -> None:
        """Put back the floor track of meeting.global_id as it was when the meeting began (what it
        learnt from the track since was someone else's motion)."""
        self.watched.copy(-meeting.watch, self.floor, meeting.global_id)

    def close(self, key: TrackKey) -> None:
        meeting = self.open.pop(key, None)
        if meeting is not None:
            self._met[key].add(meeting.global_id)  # compared with it too, should the track have left it
            self.watched.remove(meeting.watch)
            self.watched.remove(-meeting.watch)

    def forget(self, key: TrackKey) -> None:
        """The track has ended or lost its link."""
        self.close(key)
        self._met.pop(key, None)

    def merged(self, old: int, new: int) -> None:
        """Person `old` was retired into `new`."""
        for meeting in self.open.values():
            if meeting.global_id == old:
                meeting.global_id = new
            if old in meeting.others:
                meeting.others = (meeting.others - {old}) | ({new} - {meeting.global_id})
