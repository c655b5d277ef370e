"""MatchCosts: what it costs to give a track waiting for a global ID each known person (rule 4 of
associator.py): on the floor, the distance from where they should be (position, and velocity for
someone out of sight), for a person standing still where they stood, and by appearance alone
where the floor cannot tell; and the transit windows and one-camera rule that forbid pairs.

The known people are turned into arrays once per matching pass (Gallery), so that one track's costs
against all of them are a handful of array operations. MatchCosts reads the associator's state and
changes none of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mctrt._native import core
from mctrt.association.floor_tracks import FloorTracks, mahalanobis_sq
from mctrt.association.step import Identity, StepRows, TrackKey
from mctrt.config import AssociationConfig

INFEASIBLE = 1e9
Views = Callable[[np.ndarray], dict[str, np.ndarray]]  # floor points (P, 2) -> camera_id -> (P,) bool in its view
Site = Callable[[np.ndarray], np.ndarray]  # floor points (P, 2) -> (P,) bool on the floor the cameras cover


@dataclass
class Gallery:
    """The known people as arrays (N rows), for one matching pass over one step's rows.

    Attributes:
        gids: (N,) their global IDs.
        latest, last_seen: (N,) the camera index and time of their latest sighting.
        seen_now: (N, C) bool, the cameras showing them in this step.
        embeddings: (N, D) their appearance (zeros where none); mature: (N,) enough embeddings to be
            matched; has_embedding: (N,) any at all.
        slot: (N,) their floor track's slot, -1 where they have none; floor_since: (N,) when it started.
        walked_away: (N,) bool, out of sight and off the covered floor by now (see walked_away).
    """

    gids: np.ndarray
    latest: np.ndarray
    last_seen: np.ndarray
    seen_now: np.ndarray
    embeddings: np.ndarray | None
    mature: np.ndarray
    has_embedding: np.ndarray
    slot: np.ndarray
    floor_since: np.ndarray
    walked_away: np.ndarray
    live: np.ndarray = field(init=False)  # (N,) bool: seen by a camera in this step

    def __post_init__(self) -> None:
        self.live = self.seen_now.any(axis=1)


class MatchCosts:
    """Rule 4's costs over the associator's people (identities), floor tracks (floor), the floor
    tracks of waiting tracks (pending, keyed through pending_id), the cameras (camera_index: name ->
    index), their views (views_of: which calibrated cameras see given floor points) and the site
    (on_site: which floor points lie on the floor they cover, blind spots between views included)."""

    def __init__(self, config: AssociationConfig, identities: dict[int, Identity], floor: FloorTracks,
                 pending: FloorTracks, pending_id: dict[TrackKey, int], camera_index: dict[str, int],
                 views: Views, site: Site | None = None) -> None:
        self.config = config
        self.identities = identities
        self.floor = floor
        self.pending = pending
        self.pending_id = pending_id
        self.camera_index = camera_index
        self.views_of = views
        self.on_site = site
        self._windows = (0, np.zeros((0, 0)), np.zeros((0, 0)))  # camera count, min_s and max_s by camera pair

    # -- the gallery ----------------------------------------------------------------------------------

    def gallery(self, rows: StepRows) -> Gallery:
        """The known people as arrays, for matching this step's rows (rebuild when people come or go)."""
        ids = list(self.identities.values())
        n, cameras, index = len(ids), len(self.camera_index), self.camera_index
        gids = np.empty(n, np.int64)
        latest = np.empty(n, np.int64)
        last_seen, floor_since = np.empty(n), np.full(n, np.inf)
        mature, has_embedding = np.zeros(n, bool), np.zeros(n, bool)
        seen_now = np.zeros((n, cameras), bool)
        embeddings = None
        maturity = self.config.maturity
        for k, identity in enumerate(ids):
            gids[k] = identity.global_id
            by_camera = identity.last_seen_by_camera
            cam = max(by_camera, key=by_camera.get)
            latest[k], last_seen[k] = index[cam], by_camera[cam]
            for shown in rows.cameras_of.get(identity.global_id, ()):
                seen_now[k, index[shown]] = True
            if identity.embedding is not None:
                if embeddings is None:
                    embeddings = np.zeros((n, len(identity.embedding)), np.float32)
                embeddings[k] = identity.embedding
                has_embedding[k] = True
                mature[k] = identity.embeddings >= maturity
            if identity.floor_since is not None:
                floor_since[k] = identity.floor_since
        gallery = Gallery(gids, latest, last_seen, seen_now, embeddings, mature, has_embedding,
                          self.floor.find(gids), floor_since, np.zeros(n, bool))
        gallery.walked_away = self.walked_away(gallery, float(rows.time.max()) if len(rows.time) else 0.0)
        return gallery

    def walked_away(self, gallery: Gallery, time_s: float) -> np.ndarray:
        """(N,) bool: people out of sight whom their floor track, walked on to time_s (along their
        last velocity, slowing over turn_time_s), has off the site: they left the floor the cameras
        cover, and the floor does not bring them back (someone entering where they left is more
        likely someone else; appearance may still). One it has on the site is in a blind spot between
        views, or hidden, and the floor keeps looking for them there. Without a site, nobody has left.

        Judged where they would be now, not on where walking on would take them later: people at
        the site's edge turn and stop, and one taken for gone at once is a new ID when they come back."""
        out = np.zeros(len(gallery.gids), bool)
        if self.on_site is None:
            return out
        todo = np.flatnonzero((gallery.slot >= 0) & ~gallery.live)
        todo = todo[time_s - self.floor.time[gallery.slot[todo]] <= self.config.floor.max_gap_s]  # others: too old anyway
        if len(todo):
            now, _ = self.floor.predict(gallery.slot[todo], np.full(len(todo), time_s))
            out[todo] = ~self.on_site(now)
        return out

    # -- one row's costs ------------------------------------------------------------------------------

    def options(self, rows: StepRows, r: int, gallery: Gallery, appearance_only: bool = False,
                exclude: int | None = None, floor_cost: np.ndarray | None = None,
                appeared_s: float | None = None) -> np.ndarray:
        """Costs (N,) of giving row r each person of the gallery (INFEASIBLE where a rule forbids it);
        floor_cost: the row's floor costs (N,) from floor_costs(), when they were made for many rows;
        appeared_s: when the row's person appeared, where that was before this step (see allowed)."""
        cfg, floor_cfg = self.config, self.config.floor
        n = len(gallery.gids)
        cost = np.full(n, INFEASIBLE)
        if not n:
            return cost
        camera, time_s = int(rows.camera[r]), float(rows.time[r])
        allowed = self.allowed(gallery, camera, time_s, appeared_s) & (gallery.gids != exclude)
        similarity = np.full(n, np.nan)
        if rows.embedded[r] and gallery.embeddings is not None:
            similarity = np.where(gallery.mature, gallery.embeddings @ rows.embeddings[r], np.nan)
        appearance_term = floor_cfg.appearance_weight * (1.0 - np.where(np.isnan(similarity), cfg.match_threshold, similarity))
        has_floor = gallery.slot >= 0
        on_floor = np.zeros(n, bool)
        if rows.placed[r] and has_floor.any():
            k = np.flatnonzero(has_floor)
            k = k[self.recent(gallery, k, time_s)]
            on_floor[k] = True
            if len(k) and not appearance_only:
                if floor_cost is None:
                    floor_cost = self.floor_costs(rows, np.array([r]), gallery)[0]
                ok = (floor_cost[k] <= floor_cfg.gate_sigma ** 2) & allowed[k]
                ok &= np.isnan(similarity[k]) | (similarity[k] >= floor_cfg.min_similarity)
                cost[k] = np.where(ok, floor_cost[k] + appearance_term[k], INFEASIBLE)
        if rows.placed[r] and not appearance_only:
            still = self.still_cost(rows, r, gallery, has_floor & ~on_floor & allowed)
            on_floor |= still < INFEASIBLE
            cost = np.minimum(cost, still + appearance_term)
        # Appearance alone must be as sure as for a person coming back into one camera when it is the same
        # camera, or when both sides were on the floor but too long ago for the floor to tell.
        stale_floor = has_floor & rows.placed[r] & ~on_floor
        needed = np.where(stale_floor | (gallery.latest == camera), cfg.reentry_threshold, cfg.match_threshold)
        by_appearance = allowed & ~on_floor & (similarity >= needed)
        return np.where(by_appearance, floor_cfg.gate_sigma ** 2 + appearance_term, cost)

    def allowed(self, gallery: Gallery, camera: int, time_s: float, appeared_s: float | None = None) -> np.ndarray:
        """(N,) bool: the one-camera rule and the transit windows, for a row of this camera index at
        time_s. A person seen in this step by this camera is someone else; one seen by other cameras
        may only be matched in a camera whose window with each of those starts at 0 s (overlapping
        views); one out of sight, when the time since their latest sighting fits that camera pair's
        window. appeared_s (a track judged long after it appeared: a correction): the window is
        judged from its appearance, and a person seen since then was seen at the same time as it, so
        only in an overlapping view."""
        window_min, window_max = self._window_matrices()
        overlapping = window_min[:, camera] == 0.0
        live_ok = ~gallery.seen_now[:, camera] & ~(gallery.seen_now & ~overlapping[None, :]).any(axis=1)
        low, high = window_min[gallery.latest, camera], window_max[gallery.latest, camera]
        if appeared_s is None:
            gap = np.maximum(0.0, time_s - gallery.last_seen)
            lost_ok = (low <= gap) & (gap <= high)
        else:
            gap = appeared_s - gallery.last_seen
            lost_ok = np.where(gap < 0, low == 0.0, (low <= gap) & (gap <= high))
        return np.where(gallery.live, live_ok, lost_ok)

    def still_cost(self, rows: StepRows, r: int, gallery: Gallery, candidates: np.ndarray) -> np.ndarray:
        """The floor cost (N,) of row r for people out of sight longer than max_gap_s who were still
        when last placed: on the floor for still_window_s at least, and straying less than
        still_radius_m (rms) from where they were on average. They are looked for there, within
        still_radius_m more than their position's uncertainty, unless appearance vetoes it
        (min_similarity, as inside any floor gate; a row waits for its embedding when the person has
        one). A person seated at a desk is found again there; one walking is not guessed at."""
        cfg = self.config.floor
        cost = np.full(len(gallery.gids), INFEASIBLE)
        k = np.flatnonzero(candidates)
        if not len(k):
            return cost
        slots = gallery.slot[k]
        still = (self.floor.time[slots] - gallery.floor_since[k] >= cfg.still_window_s)
        still &= self.floor.wander[slots] <= cfg.still_radius_m ** 2
        if rows.embedded[r] and gallery.embeddings is not None:
            alike = gallery.embeddings[k] @ rows.embeddings[r] >= cfg.min_similarity
            still &= ~gallery.has_embedding[k] | alike
        else:
            still &= ~gallery.has_embedding[k]
        k, slots = k[still], slots[still]
        if len(k):
            spread = self.floor.cov[slots, :2, :2] + rows.cov[r] + cfg.still_radius_m ** 2 * np.eye(2)
            d2 = mahalanobis_sq(rows.xy[r] - self.floor.anchor[slots], spread)
            cost[k] = np.where(d2 <= cfg.gate_sigma ** 2, d2, INFEASIBLE)
        return cost

    def floor_costs(self, rows: StepRows, waiting: np.ndarray, gallery: Gallery) -> np.ndarray:
        """The floor part of the costs (W, N) of the waiting rows for every gallery person placed within
        max_gap_s of the row's capture time and not walked away (NaN elsewhere, and for rows without a
        position): the squared Mahalanobis distance of the row's position from theirs, predicted to its
        capture time. For a person out of sight, position and velocity together, against the row's own
        floor track (4-D, put on the same scale: -2 log of its chi-square tail probability): a track
        that appeared must also move the way the person was moving, as far as it is known yet. Where
        someone another camera shows right now fits a row, the others' costs (and so their gate) grow
        by how much vaguer their predictions are (_vaguer). Each person is predicted once to each capture
        time of the rows (a camera's rows share theirs), all in one call."""
        out = np.full((len(waiting), len(gallery.gids)), np.nan)
        has_floor = np.flatnonzero(gallery.slot >= 0)
        placed = np.flatnonzero(rows.placed[waiting])
        if not len(has_floor) or not len(placed):
            return out
        these = waiting[placed]
        times, block = rows.capture_times(these)
        recent = self.recent_at(gallery, has_floor, times)  # (T, K)
        anytime = recent.any(axis=0)
        k, recent = has_floor[anytime], recent[:, anytime]
        if not len(k):
            return out
        state, cov = self.floor.predict_grid(gallery.slot[k], times)  # (T, K, 4), (T, K, 4, 4)
        d2, logdet = core.pairwise_mahalanobis_sq(rows.xy[these], rows.cov[these], np.ascontiguousarray(state[..., :2]),
                                                  np.ascontiguousarray(cov[..., :2, :2]), block)
        away = np.flatnonzero(~gallery.live[k])
        own = [i for i, r in enumerate(these.tolist()) if rows.keys[r] in self.pending_id]
        if len(away) and own:
            pending = self.pending.slots([self.pending_id[rows.keys[these[i]]] for i in own])
            own_state, own_cov = self.pending.predict_state(pending, rows.time[these[own]])
            theirs = (block[own][:, None], away[None, :])  # (O, A): each own row's time, each person away
            diff = (state[theirs] - own_state[:, None]).reshape(-1, 4)
            d4 = core.mahalanobis_sq(diff, (cov[theirs] + own_cov[:, None]).reshape(-1, 4, 4))
            d2[np.ix_(own, away)] = (d4 - 2.0 * np.log1p(d4 / 2.0)).reshape(len(own), len(away))
        d2[~recent[block]] = np.nan  # not placed within max_gap_s of that row's time, or walked away by then
        out[np.ix_(placed, k)] = d2 + self._vaguer(rows.camera[these], gallery.seen_now[k], logdet, d2)
        return out

    def _vaguer(self, cameras: np.ndarray, seen_now: np.ndarray, logdet: np.ndarray, d2: np.ndarray) -> np.ndarray:
        """(R, K) what each person's floor cost gains for a vaguer prediction than that of the person
        another camera shows right now who fits the row best (the log of how much more floor their
        spread covers: the likelihood's other term), for rows of these cameras (R,) that such a person
        fits (within gate_sigma), else 0. seen_now (K, C): who each camera shows; logdet and d2 (R, K):
        the log-determinant of each pair's combined covariance, and its cost. Otherwise someone out of
        sight for seconds, whose prediction covers metres, is nearer in standard deviations than the
        person three cameras see standing right there."""
        here = seen_now[:, cameras].T  # (R, K) shown by the row's own camera: someone else
        elsewhere = seen_now.sum(axis=1)[None, :] > here
        fits = elsewhere & ~here & (d2 <= self.config.floor.gate_sigma ** 2)
        if not fits.any():
            return np.zeros_like(d2)
        reference = np.where(fits, logdet, np.inf).min(axis=1, keepdims=True)
        return np.where(np.isfinite(reference), np.maximum(0.0, logdet - reference), 0.0)

    def recent(self, gallery: Gallery, k: np.ndarray, time_s: float) -> np.ndarray:
        """(K,) bool: which of the gallery's people k (all with a floor track) the floor can still
        place at time_s: placed within max_gap_s, and not walked off the site."""
        return self.recent_at(gallery, k, np.array([time_s]))[0]

    def recent_at(self, gallery: Gallery, k: np.ndarray, times: np.ndarray) -> np.ndarray:
        """recent() at each of these times (T,): (T, K) bool."""
        age = times[:, None] - self.floor.time[gallery.slot[k]][None, :]
        return (age <= self.config.floor.max_gap_s) & ~gallery.walked_away[k][None, :]

    def _window_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """Transit windows' min_s and max_s for every pair of camera indices (C, C)."""
        count = len(self.camera_index)
        if self._windows[0] != count:
            names = sorted(self.camera_index, key=self.camera_index.get)
            low = np.array([[self.config.window(a, b).min_s for b in names] for a in names]).reshape(count, count)
            high = np.array([[self.config.window(a, b).max_s for b in names] for a in names]).reshape(count, count)
            self._windows = (count, low, high)
        return self._windows[1], self._windows[2]
