"""FloorTracks: one floor track per global ID, fused from every calibrated camera that sees the person.

State (4,) = (x, y, vx, vy) in metres and metres per second, with a (4, 4) covariance. A walker's
velocity persists for about turn_time_s and spreads by speed_sigma per axis (an Ornstein-Uhlenbeck
process): out of sight, a person is extrapolated along their velocity for a few seconds, not on and
on, and the position's uncertainty grows quadratically over a second and linearly over many (on
PETS09-S2L1's ground-truth walking, such a damped extrapolation misses less than a straight one
after a few seconds). Measurements are floor positions (2,) with their own covariance (2, 2) (see
geometry/feet.py). Every operation works on many tracks at once: this class keeps the arrays and
who is in which slot, the C++ core (core.floor_predict, core.floor_update; csrc/src/floor_filter.cpp)
does the arithmetic. Predictions are made for the capture time of the observation they are compared with, so cameras that lag one
another still agree.
"""

from __future__ import annotations

import numpy as np

from mctrt._native import core


class FloorTracks:
    """Floor tracks keyed by global ID.

    Each track also keeps where it has been on average lately (`anchor`, an exponential average of
    its positions with time constant still_window_s) and how far it strays from there (`wander`, the
    same average of the squared distance): a person seated or standing has a small wander, one
    walking (even in circles) a large one.

    Args:
        speed_sigma: a walker's velocity spread per axis (m/s), also that of a newly started track.
        turn_time_s: how long a velocity persists (s).
        still_window_s: the time constant of anchor and wander.
    """

    def __init__(self, speed_sigma: float = 1.0, turn_time_s: float = 5.0, still_window_s: float = 3.0,
                 capacity: int = 64) -> None:
        self.speed_sigma = speed_sigma
        self.turn_time_s = turn_time_s
        self.still_window_s = still_window_s
        self.mean = np.zeros((capacity, 4))
        self.cov = np.zeros((capacity, 4, 4))
        self.time = np.zeros(capacity)
        self.anchor = np.zeros((capacity, 2))
        self.wander = np.zeros(capacity)
        self._slots = core.SlotMap()  # global ID -> slot of the arrays

    def __contains__(self, global_id: int) -> bool:
        return global_id in self._slots

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def ids(self) -> list[int]:
        """The global IDs with a floor track, ascending."""
        return self._slots.keys()

    def slots(self, global_ids) -> np.ndarray:
        """(N,) int64 slots of these global IDs, which must all have a floor track (KeyError otherwise)."""
        slots = self.find(global_ids)
        if (slots < 0).any():
            raise KeyError(f"no floor track for global IDs {np.asarray(global_ids)[slots < 0].tolist()}")
        return slots

    def find(self, global_ids) -> np.ndarray:
        """(N,) int64 slots of these global IDs, -1 for those without a floor track."""
        return self._slots.find(np.asarray(global_ids, np.int64).reshape(-1))

    # -- lifetime -------------------------------------------------------------------------------------

    def start(self, global_id: int, time_s: float, xy: np.ndarray, cov: np.ndarray) -> None:
        """A new track at xy (2,) with covariance cov (2, 2), standing still as far as is known."""
        self.start_many([global_id], [time_s], np.reshape(xy, (1, 2)), np.reshape(cov, (1, 2, 2)))

    def start_many(self, global_ids, times, xy: np.ndarray, cov: np.ndarray) -> None:
        """start() for K IDs at once: times (K,), xy (K, 2), cov (K, 2, 2)."""
        slots = self._slots.find_or_add(np.asarray(global_ids, np.int64).reshape(-1))[0]
        while len(slots) and slots.max() >= len(self.time):
            self._grow()
        self.mean[slots] = 0.0
        self.mean[slots, :2] = xy
        self.cov[slots] = 0.0
        self.cov[slots, :2, :2] = cov
        self.cov[slots, 2, 2] = self.cov[slots, 3, 3] = self.speed_sigma ** 2
        self.time[slots] = times
        self.anchor[slots] = xy
        self.wander[slots] = 0.0

    def copy(self, global_ids, into: FloorTracks, as_ids) -> None:
        """Copy these IDs' tracks (K,) into another FloorTracks (`into`, with the same settings) under
        as_ids (K,), replacing any it has there."""
        as_ids = np.asarray(as_ids, np.int64).reshape(-1)
        mine = self.slots(global_ids)  # first: an unknown ID must leave `into` as it was
        theirs = into._slots.find_or_add(as_ids)[0]
        while len(theirs) and theirs.max() >= len(into.time):
            into._grow()
        for source, target in zip(self._arrays(), into._arrays()):
            target[theirs] = source[mine]

    def remove(self, global_ids) -> None:
        """Forget these IDs' tracks (one ID, or an array)."""
        self._slots.release(np.asarray(global_ids, np.int64).reshape(-1))

    # -- filtering ------------------------------------------------------------------------------------

    def predict_state(self, slots: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whole states (K, 4) and covariances (K, 4, 4) of these slots at these times (K,), without
        changing any state. A time before a track's last update counts as that time: observations a
        few ms out of order are simultaneous."""
        return core.floor_predict(*self._arrays(), np.asarray(slots, np.int64), np.asarray(times, np.float64),
                                  self.speed_sigma, self.turn_time_s)

    def predict_grid(self, slots: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """predict_state of every one of these slots (K,) at every one of these times (T,), in one call:
        states (T, K, 4) and covariances (T, K, 4, 4). Rows of cameras capturing at different moments
        are each compared with their own time's (core.pairwise_mahalanobis_sq's block)."""
        slots = np.asarray(slots, np.int64)
        mean, cov = self.predict_state(np.tile(slots, len(times)), np.repeat(times, len(slots)))
        return mean.reshape(len(times), len(slots), 4), cov.reshape(len(times), len(slots), 4, 4)

    def predict(self, slots: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (K, 2) and their covariances (K, 2, 2) of these slots at these times, without
        changing any state."""
        mean, cov = self.predict_state(slots, times)
        return mean[:, :2], cov[:, :2, :2]

    def update(self, global_ids, times: np.ndarray, xy: np.ndarray, cov: np.ndarray) -> None:
        """Correct the tracks of these global IDs with positions xy (K, 2) observed at times (K,) with
        covariances cov (K, 2, 2), in the order given (an ID listed twice is corrected twice)."""
        if not len(global_ids):
            return
        core.floor_update(*self._arrays(), self.slots(global_ids), np.asarray(times, np.float64),
                          np.ascontiguousarray(xy, np.float64), np.ascontiguousarray(cov, np.float64),
                          self.speed_sigma, self.turn_time_s, self.still_window_s)

    def merge(self, old_id: int, new_id: int) -> None:
        """old_id is now new_id: keep the newer of the two states (or old_id's if new_id has none)."""
        old, new = (int(s) for s in self.find([old_id, new_id]))
        if old < 0:
            return
        if new < 0:
            self._slots.rename(old_id, new_id)
            return
        if self.time[old] > self.time[new]:
            for array in self._arrays():
                array[new] = array[old]
        self.remove(old_id)

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return self.mean, self.cov, self.time, self.anchor, self.wander

    def state(self, global_id: int) -> tuple[np.ndarray, float]:
        """(x, y, vx, vy) and the time of the last update."""
        slot = int(self.slots([global_id])[0])
        return self.mean[slot].copy(), float(self.time[slot])

    def _grow(self) -> None:
        extra = max(len(self.time), 16)
        self.mean, self.cov, self.time, self.anchor, self.wander = (
            np.concatenate([a, np.zeros((extra, *a.shape[1:]))]) for a in self._arrays())


def mahalanobis_sq(diff: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distances (...,) of differences (..., 2) under covariances (..., 2, 2), their
    leading axes broadcast (core.mahalanobis_sq); inf where a covariance is not positive definite."""
    if diff.ndim == 2 and cov.ndim == 3 and len(diff) == len(cov):  # the common case: no broadcasting to do
        return core.mahalanobis_sq(np.ascontiguousarray(diff, np.float64), np.ascontiguousarray(cov, np.float64))
    shape = np.broadcast_shapes(np.shape(diff)[:-1], np.shape(cov)[:-2])
    diff = np.ascontiguousarray(np.broadcast_to(diff, (*shape, 2)), np.float64).reshape(-1, 2)
    cov = np.ascontiguousarray(np.broadcast_to(cov, (*shape, 2, 2)), np.float64).reshape(-1, 2, 2)
    return core.mahalanobis_sq(diff, cov).reshape(shape)
