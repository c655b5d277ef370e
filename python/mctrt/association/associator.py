"""CrossCameraAssociator: one global ID per person across all cameras.

Each camera's tracker gives per-camera track IDs; this module links every track to a global ID and
keeps a floor track per global ID (floor_tracks.py) fused from the calibrated cameras that see the
person. The tracker alone decides when a track ends (Tracks.removed_id); a track keeps its link
until then. The rules, in the order update() applies them each step:

1. One camera, one person per ID: if a camera shows two tracks linked to one ID, the one nearer to
   the ID's floor track (or else the longer-linked) keeps it; the other is detached.
2. Tracks must agree with their ID's floor track: a track whose floor position lies beyond
   gate_sigma of the ID's prediction (its capture time, both uncertainties) for split_after_s is
   detached, as its tracker switched people or it was linked to the wrong one; meanwhile it does
   not move the ID. If every track of an ID disagrees but two or more cameras agree with one
   another, the person moved unexpectedly and they are believed; if they disagree with one another
   too (the ID's floor track lies between two people), the track linked first keeps the ID, with
   those agreeing with it, and the later ones are detached. While a track disagrees, its link is in
   doubt (in_doubt): live it shows the ID; the results files give those rows the ID the doubt ends
   with (the same one, or the track's next after it is detached: its tracker had switched people
   when the disagreement began). A track without a floor position cannot settle its doubt: after
   split_after_s the doubt lapses and the track keeps its ID.
2b. Trackers swap people who cross (meetings.py): a track that comes within gate_sigma of someone
   lost from sight moments ago (meeting_window_s) is watched for meeting_s, then stays with
   whichever of its ID and the people it met it moved like (position and velocity), leaving its ID
   only by ambiguity_margin; an ID it leaves gets back its floor track from when they met. The
   same swap seen by overlapping cameras moves each of their tracks (one per camera).
3. The floor track of every ID is corrected with its tracks' positions, each at its own capture
   time; the ID's appearance learns each new embedding (EMA).
4. Tracks waiting for an ID are matched to the known IDs as one assignment (mctrt.lapjv), with the
   costs of costs.py. A pair is possible when
   - the ID has no track in the waiting track's camera in this step (two people at once in one
     camera are two people),
   - the time since the ID was last seen fits the transit window of the two cameras (an ID seen
     right now elsewhere may only match in a camera whose window with that one starts at 0 s:
     overlapping views), and
   - on the floor (both calibrated, the ID placed within max_gap_s): the track is within gate_sigma
     of where the ID should be at its capture time (for an ID out of sight: where it would have
     walked on to, and moving as it moved), the ID has not left the site (walked on to that time, it
     is off the floor the cameras cover; a blind spot between views is on it),
     and the embeddings, when both exist, are at least min_similarity alike; or the ID was still
     (seated, standing) when last seen and the track is where it stood; the cost is the squared
     Mahalanobis distance plus appearance_weight * (1 - cosine similarity), a neutral
     1 - match_threshold standing in for a missing embedding; where someone another camera shows
     right now is within the gate, each other person's cost also gains the log of how much more
     floor their predicted position covers (a likelihood), so that someone out of sight for
     seconds, predicted vaguely over metres, does not take a track standing where cameras see
     someone;
   - by appearance alone (where the floor cannot tell): the cosine similarity reaches
     match_threshold, or reentry_threshold for an ID last seen in the track's own camera or placed
     on the floor too long ago; the cost is gate_sigma^2 plus the appearance term, so a floor match
     is preferred.
   A track whose two best options are within ambiguity_margin of each other waits (until it has
   waited max_wait_frames), and so does one whose options the assignment gave to other tracks (one
   person back in two overlapping views at once: next step they are seen in the overlap). A track
   with no option waits for its first embedding (a person
   re-entering must get a chance to be recognised), then founds a new ID; new tracks of
   different cameras standing at one place, each in the other's view, found one ID together.
5. Corrections (an `id_corrected` event; results files rewrite the retired ID). Two IDs that one
   camera has ever shown at once are two people and never merged (else the rewritten results would
   show one ID twice in that camera's frames).
   - by the floor: two IDs whose floor tracks agree for merge_after_s while no camera shows both,
     and each camera showing one has the other's place in view, are one person; the younger ID is
     retired into the older;
   - by appearance, where the floor cannot tell: an ID founded by one track and never joined by
     another is provisional; if a later embedding of that track matches an established ID
     (mature, match_threshold, the gates above, its transit window judged from when the track
     appeared), the provisional ID is retired into it.
6. IDs unseen for ttl_s are forgotten.
"""

from __future__ import annotations

import logging
import numpy as np

from mctrt._native import core
from mctrt.association.costs import INFEASIBLE, MatchCosts, Site, Views
from mctrt.association.floor_tracks import FloorTracks, mahalanobis_sq
from mctrt.association.meetings import Meetings
from mctrt.association.step import CameraTracks, Correction, Identity, Link, StepRows, TrackKey
from mctrt.config import AssociationConfig

log = logging.getLogger(__name__)
_ID_BITS = 44  # a (camera, ID) pair as one int64: camera index << _ID_BITS | ID
_MERGE_RADIUS_M = 3.0  # pairs farther apart than this in x or y are never compared for a merge (a quick pre-filter)


class CrossCameraAssociator:
    """Global IDs for the tracks of many cameras (rules in the module docstring). IDs count up from
    first_id (1 unless a store already holds people)."""

    def __init__(self, config: AssociationConfig | None = None, camera_ids: list[str] | None = None,
                 views: Views | None = None, first_id: int = 1, site: Site | None = None) -> None:
        """views: which calibrated cameras see given floor points (FootLocator.views_of); without it,
        no camera's view is known. site: which floor points lie on the floor the cameras cover
        (FootLocator.on_site); without it, no ID is taken to have left the site."""
        self.config = config or AssociationConfig()
        floor = self.config.floor
        self.floor = FloorTracks(floor.speed_sigma, floor.turn_time_s, floor.still_window_s)
        self.identities: dict[int, Identity] = {}
        self.links: dict[TrackKey, Link] = {}
        self.handoffs = 0  # tracks that joined an ID last seen in another camera
        self.corrections = 0
        self._first_id = self._next_id = first_id
        self._waiting_since: dict[TrackKey, float] = {}
        # Floor tracks of the tracks still waiting for an ID: their own motion, to compare with that of
        # people out of sight.
        self._pending = FloorTracks(floor.speed_sigma, floor.turn_time_s)
        self._pending_id: dict[TrackKey, int] = {}
        self._next_pending = 1
        self._apart_since: dict[TrackKey, float] = {}  # tracks disagreeing with their ID's floor track, since
        self._together_since: dict[tuple[int, int], float] = {}
        self._distinct: dict[int, set[int]] = {}  # IDs one camera showed together: never one person
        self._shown = np.zeros(0, np.int64)  # the (camera, ID) pairs of the last step (_ID_BITS)
        self.meetings = Meetings(floor, self.floor)
        self._lost: set[int] = set()  # IDs whose last track ended or left (some may have one again)
        self._camera_index: dict[str, int] = {}
        self.costs = MatchCosts(self.config, self.identities, self.floor, self._pending, self._pending_id,
                                self._camera_index, views or (lambda points: {}), site)
        for cam in camera_ids or ():
            self._camera(cam)

    # -- per step -------------------------------------------------------------------------------------

    def update(self, cameras: list[CameraTracks]) -> tuple[list[np.ndarray], list[Correction]]:
        """Link this step's tracks to global IDs. Returns each camera's global IDs (M,) int64 aligned
        with its tracks (0 while a track waits), and the corrections made."""
        for cam in cameras:
            for tid in cam.removed_id.tolist():
                self._end_track((cam.camera_id, tid))
        rows = self._rows(cameras)
        corrections: list[Correction] = []
        if len(rows.keys):
            self._one_track_per_camera(rows)
            self._follow_floor(rows)
            self._settle_meetings(rows)
            corrections += self._learn_appearance(rows)
            self._match_waiting(rows)
            self._note_shown_together(rows)
            corrections += self._merge_colocated(rows)
        self._forget(max((c.time_s for c in cameras), default=0.0))
        out, start = [], 0
        for cam in cameras:
            out.append(rows.gid[start:start + len(cam.track_id)].copy())
            start += len(cam.track_id)
        self.corrections += len(corrections)
        return out, corrections

    def end_all(self) -> None:
        """Every track has ended (the end of a run)."""
        for key in list(self.links):
            self._end_track(key)

    def global_id(self, camera_id: str, track_id: int) -> int | None:
        link = self.links.get((camera_id, track_id))
        return None if link is None else link.global_id

    def in_doubt(self, camera_id: str, track_ids: np.ndarray) -> np.ndarray:
        """(M,) bool aligned with track_ids: which of the camera's tracks disagree with their ID's
        floor track, not yet for split_after_s (rule 2; a doubt that no floor position settles by
        then lapses)."""
        if not self._apart_since:
            return np.zeros(len(track_ids), bool)
        return np.array([(camera_id, tid) in self._apart_since for tid in track_ids.tolist()], bool)

    def floor_positions(self, since: float = -np.inf) -> list[dict]:
        """The floor tracks of the people linked to a live track and placed on the floor at or after
        `since` (scene seconds): global_id, x, y, vx, vy (metres, m/s), time (their last correction)
        and the cameras whose tracks are linked to them."""
        gids = self._on_floor_now()
        slots = self.floor.slots(gids)
        recent = self.floor.time[slots] >= since
        slots = slots[recent]
        return [{"global_id": gid, "x": x, "y": y, "vx": vx, "vy": vy, "time": time_s,
                 "cameras": sorted({cam for cam, _ in self.identities[gid].tracks})}
                for gid, (x, y, vx, vy), time_s in zip(np.asarray(gids)[recent].tolist(), self.floor.mean[slots].tolist(),
                                                       self.floor.time[slots].tolist())]

    def stats(self) -> dict:
        multi = sum(1 for i in self.identities.values() if len(i.last_seen_by_camera) > 1)
        return {"gallery_size": len(self.identities), "global_ids": self._next_id - self._first_id,
                "active_ids": sum(1 for i in self.identities.values() if i.tracks),
                "cross_camera_ids": multi, "handoffs": self.handoffs, "corrections": self.corrections,
                "floor_tracks": len(self._on_floor_now())}

    def _on_floor_now(self) -> list[int]:
        """The IDs with a floor track and a live track."""
        return [gid for gid in self.floor.ids if (identity := self.identities.get(gid)) is not None and identity.tracks]

    # -- the step's rows ------------------------------------------------------------------------------

    def _camera(self, camera_id: str) -> int:
        index = self._camera_index.get(camera_id)
        if index is None:
            index = self._camera_index[camera_id] = len(self._camera_index)
        return index

    def _rows(self, cameras: list[CameraTracks]) -> StepRows:
        keys = [(c.camera_id, tid) for c in cameras for tid in c.track_id.tolist()]
        n = len(keys)
        camera = np.concatenate([np.full(len(c.track_id), self._camera(c.camera_id)) for c in cameras] or [np.zeros(0)])
        time = np.concatenate([np.full(len(c.track_id), c.time_s) for c in cameras] or [np.zeros(0)])
        xy = np.full((n, 2), np.nan)
        cov = np.zeros((n, 2, 2))
        embeddings = None
        start = 0
        for c in cameras:
            m = len(c.track_id)
            if c.floor is not None and m:
                xy[start:start + m], cov[start:start + m] = c.floor.xy, c.floor.cov
            if c.embeddings is not None and c.embedded.any():
                if embeddings is None:
                    embeddings = np.zeros((n, c.embeddings.shape[1]), np.float32)
                embeddings[start:start + m] = c.embeddings
            start += m
        embedded = np.concatenate([c.embedded for c in cameras]) if n else np.zeros(0, bool)
        give_up = np.concatenate([c.give_up for c in cameras]) if n else np.zeros(0, bool)
        gid = np.zeros(n, np.int64)
        links = self.links
        for r, key in enumerate(keys):
            link = links.get(key)
            if link is not None:
                gid[r] = link.global_id
        if not self.config.enabled:
            give_up[:] = True
        return StepRows(camera.astype(np.int64), keys, time, xy, cov, embedded & (embeddings is not None),
                        embeddings, give_up, gid)

    # -- rule 1: one track per ID per camera ----------------------------------------------------------

    def _one_track_per_camera(self, rows: StepRows) -> None:
        linked = np.flatnonzero(rows.gid)
        if len(linked) < 2:
            return
        pair = rows.gid[linked] * (len(self._camera_index) + 1) + rows.camera[linked]
        values, counts = np.unique(pair, return_counts=True)
        for value in values[counts > 1]:
            clash = linked[pair == value]
            gid = int(rows.gid[clash[0]])
            if gid in self.floor and rows.placed[clash].any():
                predicted, _ = self.floor.predict(self.floor.slots([gid] * len(clash)), rows.time[clash])
                distance = np.where(rows.placed[clash], np.linalg.norm(rows.xy[clash] - predicted, axis=1), np.inf)
                keep = clash[int(np.argmin(distance))]
            else:
                keep = min(clash, key=lambda r: self.links[rows.keys[r]].since)
            for r in clash:
                if r != keep:
                    self._detach(rows, r)

    # -- rules 2 and 3: following each ID on the floor ---------------------------------------------------

    def _follow_floor(self, rows: StepRows) -> None:
        """Correct each ID's floor track with its tracks' positions that agree with it (within
        gate_sigma of its prediction at their capture time). A track that keeps disagreeing for
        split_after_s is detached: its tracker switched people, or it was linked to the wrong one.
        An ID whose tracks all disagree with it but agree with one another (2+ cameras) moved in a
        way the motion model did not expect: those positions are taken."""
        self.meetings.follow(rows)
        apart = self._apart_since
        for r in np.flatnonzero((rows.gid > 0) & ~rows.placed).tolist() if apart else ():
            # a doubt that no position settles within split_after_s lapses: the track keeps its ID
            if rows.time[r] - apart.get(rows.keys[r], np.inf) >= self.config.floor.split_after_s:
                del apart[rows.keys[r]]
        placed = np.flatnonzero((rows.gid > 0) & rows.placed)
        if not len(placed):
            return
        gids = rows.gid[placed]
        slots = self.floor.find(gids)
        known = slots >= 0
        agree = np.ones(len(placed), bool)
        if known.any():
            k = placed[known]
            mean, cov = self.floor.predict(slots[known], rows.time[k])
            agree[known] = mahalanobis_sq(rows.xy[k] - mean, cov + rows.cov[k]) <= self.config.floor.gate_sigma ** 2
        for gid in (np.unique(gids[~agree]).tolist() if not agree.all() else ()):
            mine = np.flatnonzero(gids == gid)
            if agree[mine].any() or len(set(rows.camera[placed[mine]].tolist())) < 2:
                continue
            first = placed[mine[0]]
            d2 = mahalanobis_sq(rows.xy[placed[mine]] - rows.xy[first], rows.cov[placed[mine]] + rows.cov[first])
            if (d2 <= self.config.floor.gate_sigma ** 2).all():
                agree[mine] = True
            else:  # two people: the track linked first keeps the ID, with those agreeing with it
                first = placed[mine[int(np.argmin([self.links[rows.keys[r]].since for r in placed[mine].tolist()]))]]
                d2 = mahalanobis_sq(rows.xy[placed[mine]] - rows.xy[first], rows.cov[placed[mine]] + rows.cov[first])
                agree[mine[d2 <= self.config.floor.gate_sigma ** 2]] = True
        for r in placed[agree].tolist() if apart else ():  # back in agreement
            apart.pop(rows.keys[r], None)
        for r in placed[~agree].tolist():
            since = apart.setdefault(rows.keys[r], float(rows.time[r]))
            if rows.time[r] - since >= self.config.floor.split_after_s:
                self._detach(rows, r)
        placed, gids, known = placed[agree], gids[agree], known[agree]
        order = np.lexsort((rows.time[placed], gids))
        placed, gids, known = placed[order], gids[order], known[order]
        first = np.concatenate([[True], gids[1:] != gids[:-1]])
        for r in placed[first & ~known].tolist():  # an ID placed for the first time starts its floor track
            self._start_floor(self.identities[int(rows.gid[r])], rows, r)
        batch = placed[~(first & ~known)]  # each ID's positions in the order they were captured
        self.floor.update(rows.gid[batch], rows.time[batch], rows.xy[batch], rows.cov[batch])

    # -- rule 2b: meetings ----------------------------------------------------------------------------

    def _settle_meetings(self, rows: StepRows) -> None:
        """Rule 2b (meetings.py): each track whose meeting is due stays with its ID or moves to one of
        the people it met; then tracks coming upon people lost moments ago open meetings."""
        if self.config.floor.meeting_s <= 0 or not self.config.enabled:
            return
        settled = self.meetings.settle(rows, lambda g: g in self.identities and not self.identities[g].tracks)
        moved_from: dict[int, int] = {}  # person -> the ID whose tracks moved to them in this step
        for r, meeting, chosen in settled:
            key = rows.keys[r]
            free = not self.identities[chosen].tracks
            if not free and moved_from.get(chosen) == meeting.global_id:
                # the same swap seen by another camera: its track follows the first, if its camera has none
                free = key[0] not in {k[0] for k in self.identities[chosen].tracks}
            if chosen != meeting.global_id and rows.gid[r] == meeting.global_id and free:
                moved_from[chosen] = meeting.global_id
                log.debug("t=%.1f %s moves from %d to %d after a meeting", rows.time[r], key, meeting.global_id, chosen)
                left, joined = self.identities[meeting.global_id], self.identities[chosen]
                left.tracks.discard(key)
                self._lost.add(left.global_id)
                self._apart_since.pop(key, None)  # disagreeing with the ID it left says nothing of this one
                self.links[key] = Link(chosen, float(rows.time[r]))
                joined.tracks.add(key)
                joined.joined = True
                rows.gid[r] = chosen
                if not left.tracks:
                    self.meetings.restore(meeting)
                if rows.placed[r]:
                    self.floor.update(rows.gid[[r]], rows.time[[r]], rows.xy[[r]], rows.cov[[r]])
        self.meetings.close([rows.keys[r] for r, _, _ in settled])
        self.meetings.start(rows, self._lost_lately(float(rows.time.max())))

    def _lost_lately(self, now: float) -> np.ndarray:
        """The IDs that no track shows, placed on the floor within meeting_window_s of now."""
        candidates = np.array(sorted(g for g in self._lost if g in self.identities and not self.identities[g].tracks),
                              np.int64)
        slots = self.floor.find(candidates)
        placed = slots >= 0
        lost = candidates[placed][now - self.floor.time[slots[placed]] <= self.config.floor.meeting_window_s]
        self._lost = set(lost.tolist())  # the others are seen again, gone, or placed too long ago: never met again
        return lost

    def _learn_appearance(self, rows: StepRows) -> list[Correction]:
        """Sightings for every linked row; each new embedding teaches its ID, or corrects a provisional
        ID into an established one where the floor cannot compare them."""
        corrections = []
        for r in np.flatnonzero(rows.gid).tolist():
            key = rows.keys[r]
            identity = self.identities[int(rows.gid[r])]
            self._seen(identity, key[0], float(rows.time[r]))
            rows.cameras_of.setdefault(identity.global_id, set()).add(key[0])
        gallery = None  # built on first need, rebuilt after a correction retires someone
        for r in np.flatnonzero((rows.gid > 0) & rows.embedded).tolist():
            identity = self.identities[int(rows.gid[r])]
            if identity.joined or identity.founder != rows.keys[r] or not self.config.enabled:
                self._learn(identity, rows.embeddings[r])
                continue
            gallery = gallery or self.costs.gallery(rows)
            correction = self._appearance_correction(identity, rows, r, gallery)
            if correction is None:
                self._learn(identity, rows.embeddings[r])
            else:
                corrections.append(correction)
                gallery = None
        return corrections

    def _appearance_correction(self, identity: Identity, rows: StepRows, r: int, gallery) -> Correction | None:
        """A provisional ID (founded by this row's track, never joined) whose track now matches an
        established one by appearance alone is retired into it."""
        cost = self.costs.options(rows, r, gallery, appearance_only=True, exclude=identity.global_id,
                                  appeared_s=identity.first_seen)
        cost[np.isin(gallery.gids, list(self._distinct.get(identity.global_id, ())))] = INFEASIBLE
        if not len(cost) or cost.min() >= INFEASIBLE:
            return None
        target = self.identities[int(gallery.gids[int(np.argmin(cost))])]
        self._learn(target, rows.embeddings[r])
        return self._merge(identity.global_id, target.global_id, float(rows.time[r]), "appearance", rows)

    # -- rule 4: matching waiting tracks ---------------------------------------------------------------

    def _match_waiting(self, rows: StepRows) -> None:
        waiting = np.flatnonzero(rows.gid == 0)
        if not len(waiting):
            return
        for r in waiting.tolist():
            self._waiting_since.setdefault(rows.keys[r], float(rows.time[r]))
        self._follow_pending(rows, waiting)
        people = self.costs.gallery(rows)
        gallery = people.gids.tolist()
        costs = np.full((len(waiting), len(gallery)), INFEASIBLE)
        decide = np.zeros(len(waiting), bool)
        margin = self.config.floor.ambiguity_margin
        floor = self.costs.floor_costs(rows, waiting, people) if self.config.enabled and gallery else None
        for i, r in enumerate(waiting.tolist()):
            if self.config.enabled and gallery:
                costs[i] = self.costs.options(rows, r, people, floor_cost=floor[i])
            options = np.sort(costs[i][costs[i] < INFEASIBLE])
            if not len(options):  # founds a new ID, once appearance has had its chance
                decide[i] = rows.embedded[r] or rows.give_up[r]
                continue
            # joins one, once it is clear which
            decide[i] = rows.give_up[r] or len(options) == 1 or options[1] - options[0] >= margin
        chosen = waiting[decide]
        if not len(chosen):
            return
        if gallery:
            row_to_col, _ = core.lapjv(costs[decide], INFEASIBLE / 2)
        else:
            row_to_col = np.full(len(chosen), -1)
        founded: list[int] = []
        if log.isEnabledFor(logging.DEBUG):
            for i, r in enumerate(waiting.tolist()):
                options = {gallery[c]: round(float(costs[i, c]), 2) for c in np.argsort(costs[i])[:3] if costs[i, c] < INFEASIBLE}
                log.debug("t=%.1f %s xy=%s emb=%s give_up=%s decide=%s options=%s", rows.time[r], rows.keys[r],
                          np.round(rows.xy[r], 2), rows.embedded[r], rows.give_up[r], decide[i], options)
        for r, col in zip(chosen.tolist(), row_to_col.tolist()):
            if col >= 0:
                identity = self.identities[gallery[col]]
                if identity.latest_camera != rows.keys[r][0]:
                    self.handoffs += 1
                identity.joined = True
                self._link(rows, r, identity)
            elif not rows.give_up[r] and (costs[np.flatnonzero(waiting == r)[0]] < INFEASIBLE).any():
                continue  # its options went to other tracks: it waits a step (the person may be seen by then)
            else:
                founded.append(r)
        self._found_together(rows, founded)
        self._place_linked(rows)

    def _follow_pending(self, rows: StepRows, waiting: np.ndarray) -> None:
        """Start or correct the floor tracks of waiting rows that have a position."""
        updates, starts = [], []
        for r in waiting[rows.placed[waiting]].tolist():
            key = rows.keys[r]
            if key in self._pending_id:
                updates.append(r)
                continue
            self._pending_id[key] = self._next_pending + len(starts)
            starts.append(r)
        if starts:
            ids = np.arange(self._next_pending, self._next_pending + len(starts))
            self._next_pending += len(starts)
            self._pending.start_many(ids, rows.time[starts], rows.xy[starts], rows.cov[starts])
        if updates:
            self._pending.update([self._pending_id[rows.keys[r]] for r in updates], rows.time[updates], rows.xy[updates],
                                 rows.cov[updates])

    def _found_together(self, rows: StepRows, founded: list[int]) -> None:
        """New IDs for unmatched rows; rows of different cameras standing together, each in the
        other's view, share one."""
        limit = self.config.floor.gate_sigma ** 2
        placed = [r for r in founded if rows.placed[r]] if self.config.enabled else []
        position = {r: k for k, r in enumerate(placed)}
        if placed:
            xy, cov = rows.xy[placed], rows.cov[placed]
            d2 = core.pairwise_mahalanobis_sq(xy, cov, xy, cov)[0]
            together = d2 <= limit
            seen = self.costs.views_of(xy)
            for k, r in enumerate(placed):  # each must be in the other's view
                together[k] &= seen.get(rows.keys[r][0], True)
                together[:, k] &= seen.get(rows.keys[r][0], True)
        identity_at: dict[int, Identity] = {}  # position in placed -> the ID its row got
        for r in founded:
            partner, k = None, position.get(r)
            if k is not None:
                best = limit
                for other in np.flatnonzero(together[k, :k]).tolist():  # placed rows founded before r, in order
                    identity = identity_at[other]
                    if rows.keys[r][0] not in rows.cameras_of.get(identity.global_id, ()) and d2[k, other] <= best:
                        best, partner = float(d2[k, other]), identity
            if partner is None:
                key = rows.keys[r]
                partner = Identity(self._next_id, key, float(rows.time[r]), float(rows.time[r]))
                self._next_id += 1
                self.identities[partner.global_id] = partner
            else:
                partner.joined = True
            self._link(rows, r, partner)
            if k is not None:
                identity_at[k] = partner

    # -- rule 5: merges -------------------------------------------------------------------------------

    def _merge_colocated(self, rows: StepRows) -> list[Correction]:
        placed = (rows.gid > 0) & rows.placed
        fresh = np.unique(rows.gid[placed])
        if len(fresh) < 2 or not self.config.enabled:
            self._together_since.clear()
            return []
        now = float(rows.time.max())
        slots = self.floor.slots(fresh)
        mean, cov = self.floor.predict(slots, np.full(len(slots), now))
        a, b = core.close_pairs(np.ascontiguousarray(mean), np.ascontiguousarray(cov), _MERGE_RADIUS_M,
                                self.config.floor.gate_sigma ** 2)  # a < b: fresh is sorted, so the older ID first
        undecided = [k for k, (gi, gj) in enumerate(zip(fresh[a].tolist(), fresh[b].tolist()))
                     if gj not in self._distinct.get(gi, ())]  # most pairs close by are known to be two people
        a, b = a[undecided], b[undecided]
        if not len(a):
            self._together_since = {}
            return []
        # Which cameras show each ID, as an (F, C) matrix (pairs that one camera shows are distinct).
        shows = np.zeros((len(fresh), len(self._camera_index)), bool)
        linked = np.flatnonzero(rows.gid > 0)
        at = np.searchsorted(fresh, rows.gid[linked])
        known = (at < len(fresh)) & (fresh[np.minimum(at, len(fresh) - 1)] == rows.gid[linked])
        shows[at[known], rows.camera[linked][known]] = True
        # A camera that shows one but not the other may simply not see the other's place: (C, F) bool,
        # asked for the IDs of these pairs only.
        sees = np.ones((len(self._camera_index), len(fresh)), bool)
        involved = np.unique(np.concatenate([a, b]))
        for cam, seen in self.costs.views_of(mean[involved]).items():
            sees[self._camera_index[cam], involved] = seen
        ok = ~(shows[a] & ~sees[:, b].T).any(axis=1) & ~(shows[b] & ~sees[:, a].T).any(axis=1)
        together = {}
        for gi, gj in zip(fresh[a[ok]].tolist(), fresh[b[ok]].tolist()):
            ei, ej = self.identities[gi].embedding, self.identities[gj].embedding
            if ei is not None and ej is not None and float(ei @ ej) < self.config.floor.min_similarity:
                continue
            together[(gi, gj)] = self._together_since.get((gi, gj), now)
        self._together_since = together
        corrections = []
        for (gi, gj), since in sorted(together.items()):
            # a merge earlier in this loop may have made the two distinct (each was another's pair)
            if now - since >= self.config.floor.merge_after_s and gi in self.identities and gj in self.identities \
                    and gj not in self._distinct.get(gi, ()):
                log.debug("t=%.1f merge %d into %d", now, gj, gi)
                corrections.append(self._merge(gj, gi, now, "floor", rows))
        return corrections

    def _note_shown_together(self, rows: StepRows) -> None:
        """IDs that one camera shows in one step are two people, for good (rules 5 and the appearance
        correction never merge them), however far apart they stand now: people come close later, or a
        tracker drifts from one onto the other's place. Only (camera, ID) pairs new since the last
        step can make new pairs, so a steady scene costs one set difference per step."""
        linked = rows.gid > 0
        shown = np.unique((rows.camera[linked] << _ID_BITS) | rows.gid[linked])
        new = np.setdiff1d(shown, self._shown, assume_unique=True)
        self._shown = shown
        id_mask = (1 << _ID_BITS) - 1
        for cam in np.unique(new >> _ID_BITS).tolist():
            here = (shown[(shown >> _ID_BITS) == cam] & id_mask).tolist()
            for gid in (new[(new >> _ID_BITS) == cam] & id_mask).tolist():
                for other in here:
                    if other != gid:
                        self._distinct.setdefault(gid, set()).add(other)
                        self._distinct.setdefault(other, set()).add(gid)

    def _merge(self, old: int, new: int, time_s: float, reason: str, rows: StepRows) -> Correction:
        """Retire ID `old` into `new`: its tracks, sightings, appearance and floor track join `new`."""
        gone, kept = self.identities.pop(old), self.identities[new]
        for key in gone.tracks:
            self.links[key].global_id = new
            kept.tracks.add(key)
        rows.gid[rows.gid == old] = new
        rows.cameras_of.setdefault(new, set()).update(rows.cameras_of.pop(old, ()))
        kept.first_seen = min(kept.first_seen, gone.first_seen)
        kept.last_seen = max(kept.last_seen, gone.last_seen)
        for cam, t in gone.last_seen_by_camera.items():
            kept.last_seen_by_camera[cam] = max(t, kept.last_seen_by_camera.get(cam, t))
        if gone.embedding is not None:
            if kept.embedding is None:
                kept.embedding, kept.embeddings = gone.embedding, gone.embeddings
            else:
                total = kept.embeddings + gone.embeddings
                mixed = (kept.embeddings * kept.embedding + gone.embeddings * gone.embedding) / total
                kept.embedding = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
                kept.embeddings = total
        kept.joined = True
        if gone.floor_since is not None and (kept.floor_since is None or gone.floor_since < kept.floor_since):
            kept.floor_since = gone.floor_since
        self.floor.merge(old, new)
        for other in self._distinct.pop(old, ()):
            self._distinct[other].discard(old)
            if other != new:
                self._distinct[other].add(new)
                self._distinct.setdefault(new, set()).add(other)
        self._together_since = {p: t for p, t in self._together_since.items() if old not in p}
        self.meetings.merged(old, new)
        return Correction(old, new, time_s, reason)

    # -- bookkeeping ----------------------------------------------------------------------------------

    def _link(self, rows: StepRows, r: int, identity: Identity) -> None:
        key = rows.keys[r]
        time_s = float(rows.time[r])
        self.links[key] = Link(identity.global_id, time_s)
        self._stop_waiting(key)
        identity.tracks.add(key)
        rows.gid[r] = identity.global_id
        rows.cameras_of.setdefault(identity.global_id, set()).add(key[0])
        self._seen(identity, key[0], time_s)
        rows.linked.append(r)
        if rows.embedded[r]:
            self._learn(identity, rows.embeddings[r])

    def _place_linked(self, rows: StepRows) -> None:
        """The floor tracks of the IDs just linked, each ID's rows in capture order: started for IDs
        new to the floor, corrected with the other positions in one call."""
        linked = np.array(rows.linked, np.int64)
        linked = linked[rows.placed[linked]]
        linked = linked[np.lexsort((rows.time[linked], rows.gid[linked]))]  # each ID's rows in capture order
        gids = rows.gid[linked]
        starts = np.zeros(len(linked), bool)
        starts[np.unique(gids, return_index=True)[1]] = True  # an ID new to the floor: its first row starts it, the rest correct it
        starts &= self.floor.find(gids) < 0
        for r in linked[starts].tolist():
            self._start_floor(self.identities[int(rows.gid[r])], rows, r)
        update = linked[~starts]
        if len(update):
            self.floor.update(rows.gid[update], rows.time[update], rows.xy[update], rows.cov[update])

    def _start_floor(self, identity: Identity, rows: StepRows, r: int) -> None:
        self.floor.start(identity.global_id, float(rows.time[r]), rows.xy[r], rows.cov[r])
        identity.floor_since = float(rows.time[r])

    def _detach(self, rows: StepRows, r: int) -> None:
        """Row r's track loses its ID (rules 1 and 2) and is matched again at once."""
        key = rows.keys[r]
        link = self.links.pop(key)
        self._apart_since.pop(key, None)
        self.meetings.forget(key)
        log.debug("t=%.1f detach %s from %d", rows.time[r], key, link.global_id)
        identity = self.identities.get(link.global_id)
        if identity is not None:
            identity.tracks.discard(key)
            self._lost.add(identity.global_id)
        rows.gid[r] = 0
        rows.give_up[r] = True

    def _end_track(self, key: TrackKey) -> None:
        self._stop_waiting(key)
        self._apart_since.pop(key, None)
        self.meetings.forget(key)
        link = self.links.pop(key, None)
        if link is not None and link.global_id in self.identities:
            self.identities[link.global_id].tracks.discard(key)
            self._lost.add(link.global_id)

    def _stop_waiting(self, key: TrackKey) -> None:
        self._waiting_since.pop(key, None)
        pending = self._pending_id.pop(key, None)
        if pending is not None:
            self._pending.remove(pending)

    @staticmethod
    def _seen(identity: Identity, camera_id: str, time_s: float) -> None:
        identity.last_seen = max(identity.last_seen, time_s)
        identity.last_seen_by_camera[camera_id] = max(time_s, identity.last_seen_by_camera.get(camera_id, time_s))

    def _learn(self, identity: Identity, embedding: np.ndarray) -> None:
        if identity.embedding is None:
            mixed = embedding.astype(np.float32)
        else:
            mixed = self.config.ema * identity.embedding + (1.0 - self.config.ema) * embedding
        identity.embedding = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
        identity.embeddings += 1

    def _forget(self, now: float) -> None:
        stale = [g for g, i in self.identities.items() if not i.tracks and now - i.last_seen > self.config.ttl_s]
        for g in stale:
            del self.identities[g]
            self.floor.remove(g)
            for other in self._distinct.pop(g, ()):
                self._distinct[other].discard(g)
