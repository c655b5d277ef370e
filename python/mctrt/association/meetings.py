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

Crossings (config crossings): trackers also swap two people who stay in view. A linked track within
gate_sigma of the floor track of another person its own camera shows meets them the same way; when
both tracks' meetings are open and one is due, the two are judged together: they swap IDs when the
sum of each one's cost under the other's person (as it was when they met) beats the sum as they
are by ambiguity_margin. (On the 85 tuning cuts of bench_identity_many.py: +0.0016, standard error
0.0011, 2 cuts better by 0.06 and 0.07, none worse; no setting of its own was tuned.)
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
        track), or of another person its own camera shows (crossings), whom it has not met before."""
        linked = np.flatnonzero((rows.gid > 0) & rows.placed)
        linked = linked[self.floor.find(rows.gid[linked]) >= 0]
        shown = np.unique(rows.gid[linked]) if self.config.crossings else np.zeros(0, np.int64)
        people = np.concatenate([lost, shown]).astype(np.int64)
        if not len(linked) or not len(people):
            return
        gate2 = self.config.gate_sigma ** 2
        slots = self.floor.slots(people)
        times, block = rows.capture_times(linked)
        mean, cov = self.floor.predict_grid(slots, times)  # everyone, at each of those times
        near = core.pairwise_mahalanobis_sq(rows.xy[linked], rows.cov[linked], np.ascontiguousarray(mean[..., :2]),
                                            np.ascontiguousarray(cov[..., :2, :2]), block)[0] <= gate2
        if len(shown):  # a person shown counts only for another person's track in a camera showing them
            pair = rows.camera[linked] * (int(people.max()) + 1) + rows.gid[linked]
            in_camera = np.isin(rows.camera[linked][:, None] * (int(people.max()) + 1) + shown[None, :], pair)
            near[:, len(lost):] &= in_camera & (rows.gid[linked][:, None] != shown[None, :])
        opening: list[tuple[int, set[int]]] = []
        for k in np.flatnonzero(near.any(axis=1)).tolist():
            key = rows.keys[int(linked[k])]
            if key in self.open:
                continue
            others = set(people[near[k]].tolist()).difference(self._met.get(key, ()))
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
        of sight) and placed). Two tracks that met while both shown are judged together: they swap
        IDs when each moved like the other's person (the summed costs, by ambiguity_margin); both
        are listed then, the other even if its own meeting was not yet due. All compared at once;
        close() them once acted upon."""
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
        crossings = self._crossings(rows, due, dict(mine), lost)
        everyone = due + [(rp, partner) for _, rp, partner in crossings]  # a partner may be listed twice
        row = np.array([r for r, _ in everyone], np.int64)
        t = rows.time[row]
        own, own_cov = self.watched.predict_state(self.watched.slots([m.watch for _, m in everyone]), t)
        before, before_cov = self.watched.predict_state(self.watched.slots([-m.watch for _, m in everyone]), t)
        pairs = [(d, g) for d, (_, m) in enumerate(due) for g in sorted(m.others) if g in self.floor and lost(g)]
        of = np.array([d for d, _ in pairs], np.int64)
        theirs, their_cov = self.floor.predict_state(self.floor.slots([g for _, g in pairs]), t[of])
        p = np.arange(len(due), len(everyone))  # each crossing's partner in `everyone`
        c = np.array([d for d, _, _ in crossings], np.int64)
        # Costs: each as it is, each lost person met, and each crossing's two the other way round
        nll = _nll(np.concatenate([own, own[of], own[c], own[p]]), np.concatenate([own_cov, own_cov[of], own_cov[c], own_cov[p]]),
                   np.concatenate([before, theirs, before[p], before[c]]),
                   np.concatenate([before_cov, their_cov, before_cov[p], before_cov[c]]), cfg.gate_sigma)
        kept, lost_nll, swapped = np.split(nll, [len(everyone), len(everyone) + len(pairs)])
        swapped = swapped[:len(c)] + swapped[len(c):]
        chosen: dict[int, int] = {}  # row -> the ID its track moves to
        for i, (d, rp, partner) in enumerate(crossings):
            if swapped[i] + cfg.ambiguity_margin < kept[d] + kept[p[i]]:
                chosen[due[d][0]], chosen[rp] = partner.global_id, due[d][1].global_id
        for d, (r, _) in enumerate(due):
            mine = np.flatnonzero(of == d)
            if r not in chosen and len(mine):
                best = int(mine[np.argmin(lost_nll[mine])])
                if lost_nll[best] + cfg.ambiguity_margin < kept[d]:
                    chosen[r] = pairs[best][1]
        settled = {r for r, _ in due}
        return [(r, m, chosen.get(r, m.global_id)) for r, m in due + [(rp, m) for _, rp, m in crossings if rp not in settled]]

    def _crossings(self, rows: StepRows, due: list[tuple[int, Meeting]], row_of: dict[TrackKey, int],
                   lost: Callable[[int], bool]) -> list[tuple[int, int, Meeting]]:
        """(index in due, row, meeting) of the other track of each due meeting with a person still
        shown: the track of that person in the same camera whose open meeting is with this one's."""
        if not self.config.crossings:
            return []
        shown: dict[tuple[int, int], int] = {}
        for key, meeting in self.open.items():
            r = row_of.get(key)
            if r is not None and rows.gid[r] == meeting.global_id:
                shown[(int(rows.camera[r]), meeting.global_id)] = r
        out, taken = [], set()
        for d, (r, meeting) in enumerate(due):
            if r in taken or rows.gid[r] != meeting.global_id:
                continue
            for g in sorted(meeting.others):
                rp = shown.get((int(rows.camera[r]), g))
                if rp is None or rp in taken or lost(g) or meeting.global_id not in self.open[rows.keys[rp]].others:
                    continue
                out.append((d, rp, self.open[rows.keys[rp]]))
                taken.update((r, rp))
                break
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
        for meeting in self.open.values():
            if meeting.global_id == old:
                meeting.global_id = new
            if old in meeting.others:
                meeting.others = (meeting.others - {old}) | ({new} - {meeting.global_id})


def _nll(own: np.ndarray, own_cov: np.ndarray, theirs: np.ndarray, their_cov: np.ndarray, gate_sigma: float) -> np.ndarray:
    """The negative log-likelihood (up to a constant) of states own (K, 4) under predictions theirs,
    both uncertain; inf beyond gate_sigma (on the 2-D scale, as MatchCosts.floor_costs)."""
    if not len(own):
        return np.zeros(0)
    total = np.ascontiguousarray(own_cov + their_cov)
    d4 = core.mahalanobis_sq(np.ascontiguousarray(own - theirs), total)
    fits = d4 - 2.0 * np.log1p(d4 / 2.0) <= gate_sigma ** 2
    return np.where(fits, d4 + np.linalg.slogdet(total)[1], np.inf)
