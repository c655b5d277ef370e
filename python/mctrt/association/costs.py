"""MatchCosts: what it costs to give a track waiting for a global ID each known person (rule 4 of
associator.py): on the floor, the distance from where they should be (position, and velocity for
someone out of sight), for a person standing still where they stood, and by appearance alone
where the floor cannot tell; and the views, transit windows and one-camera rule that forbid pairs.
It reads the associator's state and changes none of it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mctrt.association.floor_tracks import FloorTracks, mahalanobis_sq
from mctrt.association.step import Identity, StepRows, TrackKey
from mctrt.config import AssociationConfig

INFEASIBLE = 1e9
_WALK_ON_STEP_S = 0.25  # where a person out of sight would be, looked at this often


class MatchCosts:
    """Rule 4's costs over the associator's people (identities), floor tracks (floor), the floor
    tracks of waiting tracks (pending, keyed through pending_id) and the cameras' views (in_view)."""

    def __init__(self, config: AssociationConfig, identities: dict[int, Identity], floor: FloorTracks,
                 pending: FloorTracks, pending_id: dict[TrackKey, int],
                 in_view: dict[str, Callable[[np.ndarray], np.ndarray]]) -> None:
        self.config = config
        self.identities = identities
        self.floor = floor
        self.pending = pending
        self.pending_id = pending_id
        self.in_view = in_view

    def options(self, rows: StepRows, r: int, appearance_only: bool = False,
                 exclude: int | None = None) -> tuple[np.ndarray, list[int]]:
        """Costs (N,) of giving row r each known ID (INFEASIBLE where a rule forbids it), and the IDs."""
        cfg, floor_cfg = self.config, self.config.floor
        gids = [g for g in self.identities if g != exclude]
        n = len(gids)
        if not n:
            return np.zeros(0), gids
        camera_id, time_s = rows.keys[r][0], float(rows.time[r])
        cost = np.full(n, INFEASIBLE)
        ids = [self.identities[g] for g in gids]
        seen_from = self.cameras_seeing(rows.xy[r]) if rows.placed[r] else {}
        allowed = np.array([self.allowed(i, camera_id, time_s, rows, seen_from) for i in ids])
        similarity = np.full(n, np.nan)
        if rows.embedded[r]:
            mature = np.array([i.embedding is not None and i.embeddings >= cfg.maturity for i in ids])
            if mature.any():
                gallery = np.stack([i.embedding if m else np.zeros_like(rows.embeddings[r]) for i, m in zip(ids, mature)])
                similarity = np.where(mature, gallery @ rows.embeddings[r], np.nan)
        appearance_term = floor_cfg.appearance_weight * (1.0 - np.where(np.isnan(similarity), cfg.match_threshold, similarity))
        has_floor = np.array([g in self.floor for g in gids])
        on_floor = np.zeros(n, bool)
        if rows.placed[r] and has_floor.any():
            with_floor = np.flatnonzero(has_floor)
            slots = self.floor.slots([gids[k] for k in with_floor])
            recent = time_s - self.floor.time[slots] <= floor_cfg.max_gap_s
            recent &= ~self.walked_away(rows, [gids[k] for k in with_floor], slots)
            with_floor, slots = with_floor[recent], slots[recent]
            on_floor[with_floor] = True
            if len(slots) and not appearance_only:
                floor_cost = self.floor_cost(rows, r, slots, [gids[k] for k in with_floor])
                ok = floor_cost <= floor_cfg.gate_sigma ** 2
                ok &= np.isnan(similarity[with_floor]) | (similarity[with_floor] >= floor_cfg.min_similarity)
                ok &= allowed[with_floor]
                cost[with_floor] = np.where(ok, floor_cost + appearance_term[with_floor], INFEASIBLE)
        if rows.placed[r] and not appearance_only:
            still = self.still_cost(rows, r, gids, has_floor & ~on_floor & allowed)
            on_floor |= still < INFEASIBLE
            cost = np.minimum(cost, still + appearance_term)
        # Appearance alone must be as sure as for a person coming back into one camera when it is the same
        # camera, or when both sides were on the floor but too long ago for the floor to tell.
        stale_floor = has_floor & rows.placed[r] & ~on_floor
        needed = np.where(stale_floor | np.array([i.latest_camera == camera_id for i in ids]), cfg.reentry_threshold,
                          cfg.match_threshold)
        by_appearance = allowed & ~on_floor & (similarity >= needed)
        cost = np.where(by_appearance, floor_cfg.gate_sigma ** 2 + appearance_term, cost)
        return cost, gids

    def walked_away(self, rows: StepRows, gids: list[int], slots: np.ndarray) -> np.ndarray:
        """(N,) bool: people out of sight who, walking on as they were, would not come into any calibrated
        camera's view within max_gap_s: they left the covered area, and the floor does not bring them
        back (someone entering where they left is more likely someone else; appearance may still).
        Computed once per person and step."""
        cache = rows.walked_away
        todo = [k for k, g in enumerate(gids) if g not in cache and g not in rows.cameras_of]
        if todo and self.in_view:
            steps = np.arange(0.0, self.config.floor.max_gap_s + 1e-9, _WALK_ON_STEP_S)
            mean = self.floor.mean[slots[todo]]
            path = (mean[:, None, :2] + steps[None, :, None] * mean[:, None, 2:]).reshape(-1, 2)
            seen = np.zeros(len(path), bool)
            for in_view in self.in_view.values():
                seen |= in_view(path)
            seen = seen.reshape(len(todo), len(steps))[:, 1:].any(axis=1)
            for k, visible in zip(todo, seen.tolist()):
                cache[gids[k]] = not visible
        return np.array([cache.get(g, False) for g in gids], bool)

    def still_cost(self, rows: StepRows, r: int, gids: list[int], candidates: np.ndarray) -> np.ndarray:
        """The floor cost (N,) of row r for people out of sight longer than max_gap_s who were still
        when last placed: on the floor for still_window_s at least, and straying less than
        still_radius_m (rms) from where they were on average. They are looked for there, within
        still_radius_m more than their position's uncertainty, unless appearance vetoes it
        (min_similarity, as inside any floor gate; a row waits for its embedding when the person has
        one). A person seated at a desk is found again there; one walking is not guessed at."""
        cfg = self.config.floor
        cost = np.full(len(gids), INFEASIBLE)
        k = np.flatnonzero(candidates)
        if not len(k):
            return cost
        ids = [self.identities[gids[i]] for i in k]
        slots = self.floor.slots([gids[i] for i in k])
        placed_for = self.floor.time[slots] - np.array([i.floor_start[2] for i in ids])
        still = (placed_for >= cfg.still_window_s) & (self.floor.wander[slots] <= cfg.still_radius_m ** 2)
        still &= np.array([i.embedding is None or (rows.embedded[r] and float(i.embedding @ rows.embeddings[r])
                                                   >= cfg.min_similarity) for i in ids])
        k, slots = k[still], slots[still]
        if len(k):
            spread = self.floor.cov[slots, :2, :2] + rows.cov[r] + cfg.still_radius_m ** 2 * np.eye(2)
            d2 = mahalanobis_sq(rows.xy[r] - self.floor.anchor[slots], spread)
            cost[k] = np.where(d2 <= cfg.gate_sigma ** 2, d2, INFEASIBLE)
        return cost

    def floor_cost(self, rows: StepRows, r: int, slots: np.ndarray, gids: list[int]) -> np.ndarray:
        """The floor part of row r's cost for IDs whose floor tracks are in these slots: the squared
        Mahalanobis distance of its position from theirs, predicted to its capture time. For an ID out
        of sight, position and velocity together, against the row's own floor track (4-D, put on the
        same scale: -2 log of its chi-square tail probability): a track that appeared must also move
        the way the person was moving, as far as it is known yet."""
        time_s = float(rows.time[r])
        times = np.full(len(slots), time_s)
        mean, cov = self.floor.predict(slots, times)
        cost = mahalanobis_sq(rows.xy[r] - mean, cov + rows.cov[r])
        key = rows.keys[r]
        out_of_sight = np.array([g not in rows.cameras_of for g in gids])
        if key in self.pending_id and out_of_sight.any():
            state, state_cov = self.floor.predict_state(slots[out_of_sight], times[out_of_sight])
            own, own_cov = self.pending.predict_state(self.pending.slots([self.pending_id[key]]), times[:1])
            diff = state - own
            d2 = np.einsum("ki,kij,kj->k", diff, np.linalg.inv(state_cov + own_cov), diff)
            cost[out_of_sight] = d2 - 2.0 * np.log1p(d2 / 2.0)
        return cost

    def allowed(self, identity: Identity, camera_id: str, time_s: float, rows: StepRows,
                 seen_from: dict[str, bool]) -> bool:
        """The one-camera rule, the views and the transit windows (rule 4). seen_from: which calibrated
        cameras see the row's floor position."""
        live = rows.cameras_of.get(identity.global_id, ())
        if camera_id in live:
            return False
        if live:  # seen right now elsewhere: only overlapping views may share the person
            return all(self.config.window(cam, camera_id).min_s == 0.0 for cam in live)
        latest = identity.latest_camera
        gap = max(0.0, time_s - identity.last_seen_by_camera[latest])
        window = self.config.window(latest, camera_id)
        return window.min_s <= gap <= window.max_s

    def cameras_seeing(self, point: np.ndarray) -> dict[str, bool]:
        """For each calibrated camera, whether a person standing at this floor point (2,) is in its view."""
        return {cam: bool(in_view(point[None])[0]) for cam, in_view in self.in_view.items()}

    def all_see(self, cameras, point: np.ndarray) -> bool:
        return all(self.in_view[cam](point[None])[0] for cam in cameras if cam in self.in_view)
