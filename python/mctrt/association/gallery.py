"""The gallery of global identities and how tracks join them.

Each camera's tracker gives per-camera track IDs; this module gives each track a global ID:

- A track gets its global ID at its first re-ID embedding: it joins the best-matching *mature*
  identity (one with at least `maturity` embeddings) whose cosine similarity is at least
  `match_threshold`, solved for all waiting tracks at once as a linear assignment (mctrt.lapjv), or
  else founds a new identity. A track whose boxes never pass re-ID's quality gates gets a new
  identity without appearance after `max_wait_frames`.
- Time-of-flight gating: an identity is a candidate for a track starting in camera B only if the
  time since it was last seen (in camera A, its latest sighting) lies in the transit window of
  (A, B); an identity visible right now in A counts as 0 s, so it can only match in a camera whose
  window with A starts at 0 (overlapping views). An identity with a live track in camera B is never a
  candidate for another track of B: two people seen at once by one camera are two people.
- Correction rule: an identity founded by a track and never joined by any other track is
  provisional. If a later embedding of that track matches an established identity (mature,
  similarity >= match_threshold, passing the gates), the track moves to the established identity and
  the provisional one is retired; a Correction is returned (the event engine turns it into an
  `id_corrected` event and moves the person's state). Established identities are never rewritten,
  so the history of every other track stays as it was.
- A track joining an identity last seen in its own camera (a person coming back) needs
  `reentry_threshold` instead of `match_threshold`.
- Identities unseen for `ttl_s` are forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mctrt._native import core
from mctrt.config import AssociationConfig

TrackKey = tuple[str, int]  # (camera_id, track_id)


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
    tracks: set[TrackKey] = field(default_factory=set)  # live tracks carrying this ID now
    joined: bool = False  # some track other than the founder has carried it


@dataclass(frozen=True)
class Observation:
    """One live track in this step: its embedding when re-ID ran on it (L2-normalised), and whether
    it has waited long enough to get an ID without one."""

    camera_id: str
    track_id: int
    embedding: np.ndarray | None = None
    give_up_waiting: bool = False


@dataclass(frozen=True)
class Correction:
    """A track moved from a provisional identity to an established one."""

    camera_id: str
    track_id: int
    old_global_id: int
    new_global_id: int


class CrossCameraAssociator:
    """Global IDs for tracks of many cameras (see the module docstring for the rules). IDs start at 1
    and count per instance."""

    def __init__(self, config: AssociationConfig | None = None) -> None:
        self.config = config or AssociationConfig()
        self.identities: dict[int, Identity] = {}
        self.global_id_of: dict[TrackKey, int] = {}
        self.track_start: dict[TrackKey, float] = {}
        self.handoffs = 0  # tracks that joined an identity last seen in another camera
        self._next_id = 1

    # -- per step -------------------------------------------------------------------------------------

    def update(self, now: float, observations: list[Observation]) -> list[Correction]:
        """Give global IDs to waiting tracks and learn from new embeddings. `now`: scene time (s)."""
        corrections = []
        waiting: list[Observation] = []
        for obs in observations:
            key = (obs.camera_id, obs.track_id)
            self.track_start.setdefault(key, now)
            gid = self.global_id_of.get(key)
            if gid is None:
                if obs.embedding is not None and self.config.enabled:
                    waiting.append(obs)
                elif obs.give_up_waiting or not self.config.enabled:
                    self._found(key, now, obs.embedding)
                continue
            identity = self.identities[gid]
            self._seen(identity, obs.camera_id, now)
            if obs.embedding is not None:
                correction = self._maybe_correct(identity, obs, now)
                if correction is not None:
                    corrections.append(correction)
                else:
                    self._learn(identity, obs.embedding)
        self._match(waiting, now)
        self._forget(now)
        return corrections

    def end_track(self, camera_id: str, track_id: int) -> None:
        """The tracker has dropped this track for good."""
        key = (camera_id, track_id)
        gid = self.global_id_of.pop(key, None)
        self.track_start.pop(key, None)
        if gid is not None and gid in self.identities:
            self.identities[gid].tracks.discard(key)

    def stats(self) -> dict:
        multi = sum(1 for i in self.identities.values() if len(i.last_seen_by_camera) > 1)
        return {"gallery_size": len(self.identities), "global_ids": self._next_id - 1,
                "active_ids": sum(1 for i in self.identities.values() if i.tracks),
                "cross_camera_ids": multi, "handoffs": self.handoffs}

    # -- rules ----------------------------------------------------------------------------------------

    def _allowed(self, identity: Identity, camera_id: str, start: float) -> bool:
        """Time-of-flight gating and the one-camera rule, for a track of `camera_id` that began at `start`."""
        live = {cam for cam, _ in identity.tracks}
        if camera_id in live:
            return False
        if live:  # seen right now elsewhere: only overlapping views may share the person
            return all(self.config.window(cam, camera_id).min_s == 0.0 for cam in live)
        latest = max(identity.last_seen_by_camera, key=identity.last_seen_by_camera.get)
        gap = max(0.0, start - identity.last_seen_by_camera[latest])
        window = self.config.window(latest, camera_id)
        return window.min_s <= gap <= window.max_s

    def _extra_needed(self, identity: Identity, camera_id: str) -> float:
        """How much more similarity than match_threshold joining `identity` takes: a person last seen
        in this same camera must pass reentry_threshold."""
        latest = max(identity.last_seen_by_camera, key=identity.last_seen_by_camera.get)
        return max(0.0, self.config.reentry_threshold - self.config.match_threshold) if latest == camera_id else 0.0

    def _candidates(self, key: TrackKey, start: float, exclude: int | None = None) -> list[Identity]:
        return [i for i in self.identities.values()
                if i.global_id != exclude and i.embedding is not None and i.embeddings >= self.config.maturity
                and self._allowed(i, key[0], start)]

    def _match(self, waiting: list[Observation], now: float) -> None:
        if not waiting:
            return
        keys = [(o.camera_id, o.track_id) for o in waiting]
        allowed = [{i.global_id: i for i in self._candidates(k, self.track_start[k])} for k in keys]
        candidates = {gid: i for per_track in allowed for gid, i in per_track.items()}
        rows = np.stack([o.embedding for o in waiting]).astype(np.float32)
        if candidates:
            gallery = list(candidates.values())
            similarity = rows @ np.stack([i.embedding for i in gallery]).T
            for r, key in enumerate(keys):  # gates are per track: block the pairs they refuse
                similarity[r, [c for c, i in enumerate(gallery) if i.global_id not in allowed[r]]] = -2.0
                similarity[r] -= [self._extra_needed(i, key[0]) for i in gallery]
            row_to_col, _ = core.lapjv((1.0 - similarity).astype(np.float64), 1.0 - self.config.match_threshold)
        else:
            gallery, row_to_col = [], np.full(len(waiting), -1)
        for r, (obs, key) in enumerate(zip(waiting, keys)):
            col = int(row_to_col[r])
            if col < 0:
                self._found(key, now, obs.embedding)
                continue
            identity = gallery[col]
            if max(identity.last_seen_by_camera, key=identity.last_seen_by_camera.get) != key[0]:
                self.handoffs += 1
            identity.joined = True
            self._attach(identity, key, now)
            self._learn(identity, obs.embedding)

    def _maybe_correct(self, identity: Identity, obs: Observation, now: float) -> Correction | None:
        key = (obs.camera_id, obs.track_id)
        if identity.joined or identity.founder != key or not self.config.enabled:
            return None
        options = self._candidates(key, self.track_start[key], exclude=identity.global_id)
        if not options:
            return None
        similarity = np.array([float(obs.embedding @ i.embedding) - self._extra_needed(i, obs.camera_id) for i in options])
        best = int(np.argmax(similarity))
        if similarity[best] < self.config.match_threshold:
            return None
        target = options[best]
        del self.identities[identity.global_id]
        target.joined = True
        self._attach(target, key, now)
        self._learn(target, obs.embedding)
        return Correction(obs.camera_id, obs.track_id, identity.global_id, target.global_id)

    # -- bookkeeping ----------------------------------------------------------------------------------

    def _found(self, key: TrackKey, now: float, embedding: np.ndarray | None) -> Identity:
        identity = Identity(self._next_id, key, now, now)
        self._next_id += 1
        self.identities[identity.global_id] = identity
        self._attach(identity, key, now)
        if embedding is not None:
            self._learn(identity, embedding)
        return identity

    def _attach(self, identity: Identity, key: TrackKey, now: float) -> None:
        self.global_id_of[key] = identity.global_id
        identity.tracks.add(key)
        self._seen(identity, key[0], now)

    @staticmethod
    def _seen(identity: Identity, camera_id: str, now: float) -> None:
        identity.last_seen = max(identity.last_seen, now)
        identity.last_seen_by_camera[camera_id] = now

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
