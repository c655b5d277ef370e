"""Hand-offs corrected in hindsight, for the results files (io/results.py, at the end of a run).

Online, a person who comes into view after a blind gap is linked when their track is a few frames
old: by where the people out of sight should be by then (their floor tracks walked on) and by a
glimpse of their looks. At the end of a run each ID's life is known whole, so every link across a
gap can be judged again with what came after it.

A *piece* is a stretch of one global ID's floor positions (world.txt's rows) with no pause over
PIECE_GAP_S; where one ends and a later one starts, the ID was out of every view (a blind gap) or
lost and found again. Each piece has its position and velocity at both ends (a straight line fitted
to its FIT_ROWS positions there) and its looks (the mean re-ID embedding of its rows). A link from
the end of piece i to the start of piece j, dt seconds later, costs

    motion: (|end_i + v_i dt - start_j|^2 + |start_j - v_j dt - end_i|^2) / (2 sigma^2),
            sigma = POSITION_SIGMA_M + SIGMA_PER_S dt   (i walked on, and j walked back)
    looks:  the cosine similarity of the two pieces' mean embeddings.

A piece j is proposed for i in place of i's online successor o where i -> j is better than i -> o
in both at once: in looks by MIN_LOOKS_GAIN and in motion by MIN_MOTION_GAIN. Neither alone is
trusted: OSNet x0.25 rates different PETS09 people as alike as the same one often enough, and people
turn and stop in blind gaps. Where j had an online predecessor k, the two links become i -> j and
k -> o only if the pair is better in both by the same margins; where j began a new ID, i -> j, and o
begins one. A piece that ended without a successor is joined to a later piece that began a new ID
when their motion costs under MERGE_MOTION and their looks are at least MERGE_LOOKS. Proposals go in
order of their gain (motion cost saved + LOOKS_WEIGHT x looks gained; a join's over its thresholds);
each piece end and start takes part in one change at most; links reach MAX_GAP_S at most, and only
from a piece whose rows in the camera files end before the next one's begin (spans(): a track that
came back waits for its ID a few frames, and one ID is one person at a time). Chains keep the ID of
their first piece; a chain cut loose gets a new one, above every ID the run gave.

Rows go with pieces (rows_in_pieces()): by their step, or, for a track's rows outside every piece
(it waited for its ID or its floor position), with the piece of the same track's nearest row.

The constants were chosen on benchmarks/bench_identity_many.py's 85 tuning cuts with one-off scripts
(docs/identity.md, "Hand-offs corrected in hindsight"), and checked on its 75 check cuts.
Limits: pieces need floor positions (calibrated cameras) and embeddings (the re-ID schedule's); IDs
seen in uncalibrated cameras only are left as they are, and a track of an uncalibrated camera that
no piece holds goes whole with the piece before its first row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PIECE_GAP_S = 0.35  # a pause longer than this (in world.txt's times) ends a piece
FIT_ROWS = 10  # positions an end's line is fitted to
POSITION_SIGMA_M = 0.3
SIGMA_PER_S = 0.3
MAX_GAP_S = 15.0
MIN_LOOKS_GAIN = 0.1
MIN_MOTION_GAIN = 2.0
LOOKS_WEIGHT = 20.0  # motion cost units per unit of similarity, to rank the swaps by gain
MERGE_MOTION = 2.0
MERGE_LOOKS = 0.85


@dataclass
class Piece:
    global_id: int
    first_step: int
    last_step: int
    start: tuple[float, np.ndarray, np.ndarray]  # (time, position, velocity) at its first row
    end: tuple[float, np.ndarray, np.ndarray]  # and at its last
    looks: np.ndarray | None  # unit mean embedding, None without one


def pieces_of(world: np.ndarray, looks: dict[int, tuple[np.ndarray, np.ndarray]]) -> list[Piece]:
    """The pieces of world.txt's rows (R, 6: time, frame, ID, x, y, the results writer's step), each
    with the mean of its ID's embeddings in its steps (`looks`: ID -> (steps (K,), embeddings (K, D)))."""
    pieces = []
    for gid, at in _groups(world[:, 2]):
        rows = world[at]
        rows = rows[np.argsort(rows[:, 5], kind="stable")]
        steps, vectors = looks.get(gid, (np.zeros(0), None))
        for part in np.split(rows, np.flatnonzero(np.diff(rows[:, 0]) > PIECE_GAP_S) + 1):
            first, last = int(part[0, 5]), int(part[-1, 5])
            inside = (steps >= first) & (steps <= last)
            total = vectors[inside].sum(axis=0, dtype=np.float64) if inside.any() else None
            norm = float(np.linalg.norm(total)) if total is not None else 0.0
            pieces.append(Piece(gid, first, last, _line(part, at_end=False), _line(part, at_end=True),
                                total / norm if norm > 0 else None))
    return pieces


def rows_in_pieces(pieces: list[Piece], ids: np.ndarray, steps: np.ndarray, tracks: np.ndarray | None = None) -> np.ndarray:
    """The piece (index) of each row (ID, step; of track `tracks`, where given), -1 for an ID without one:
    the piece whose steps hold the row; else the piece of the nearest row of the same track that has
    one (a track that came back from a gap waits for its ID, and for a floor position, a few frames:
    those rows are the piece's person's); else, for a track no piece holds (an uncalibrated camera's),
    the last piece of its ID that starts at or before its first row (or the ID's first piece)."""
    out = np.full(len(ids), -1, np.int64)
    of_id: dict[int, list[int]] = {}
    for k in sorted(range(len(pieces)), key=lambda k: pieces[k].first_step):
        of_id.setdefault(pieces[k].global_id, []).append(k)
    for gid, rows in _groups(ids):
        own = of_id.get(gid)
        if not own:
            continue
        firsts = np.array([pieces[k].first_step for k in own], np.float64)
        lasts = np.array([pieces[k].last_step for k in own], np.float64)
        before = np.clip(np.searchsorted(firsts, steps[rows], side="right") - 1, 0, None)
        held = steps[rows] <= lasts[before]
        found = np.where(held & (steps[rows] >= firsts[before]), before, -1)
        for track in (np.unique(tracks[rows]) if tracks is not None else []):
            mine = tracks[rows] == track
            inside = mine & (found >= 0)
            outside = np.flatnonzero(mine & (found < 0))
            if not len(outside):
                continue
            if inside.any():
                at = np.flatnonzero(inside)
                nearest = np.abs(steps[rows][outside][:, None] - steps[rows][at][None, :]).argmin(axis=1)
                found[outside] = found[at[nearest]]
            else:
                found[outside] = before[outside[np.argmin(steps[rows][outside])]]
        found = np.where(found >= 0, found, before)
        out[rows] = np.array(own)[found]
    return out


def relabelled(pieces: list[Piece], changed: dict[int, int], ids: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The IDs of rows after relinked()'s changes, given each row's piece (rows_in_pieces)."""
    out = ids.copy()
    for k, gid in changed.items():
        out[where == k] = gid
    return out


def spans(pieces: list[Piece], where: list[np.ndarray], steps: list[np.ndarray]) -> np.ndarray:
    """(P, 2) the first and last step of each piece's rows in the camera files (rows_in_pieces of each
    file, and its rows' steps), its world rows' where it has none there."""
    out = np.array([[p.first_step, p.last_step] for p in pieces], np.float64).reshape(-1, 2)
    for w, s in zip(where, steps):
        ok = w >= 0
        np.minimum.at(out[:, 0], w[ok], s[ok])
        np.maximum.at(out[:, 1], w[ok], s[ok])
    return out


def _groups(ids: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(ID, indices of its rows) for each ID in `ids`, in order of ID."""
    order = np.argsort(ids, kind="stable")
    unique, starts = np.unique(ids[order], return_index=True)
    return list(zip(unique.astype(int).tolist(), np.split(order, starts[1:])))


def _line(rows: np.ndarray, at_end: bool) -> tuple[float, np.ndarray, np.ndarray]:
    """(time, position, velocity) at one end of a piece: a line fitted to its FIT_ROWS rows there."""
    part = rows[-FIT_ROWS:] if at_end else rows[:FIT_ROWS]
    t0 = float(part[-1, 0] if at_end else part[0, 0])
    if len(part) < 3 or np.ptp(part[:, 0]) <= 0:
        return t0, part[-1 if at_end else 0, 3:5].astype(np.float64), np.zeros(2)
    a = np.c_[np.ones(len(part)), part[:, 0] - t0]
    coef = np.linalg.lstsq(a, part[:, 3:5], rcond=None)[0]
    return t0, coef[0], coef[1]


def _cost(a: Piece, b: Piece) -> tuple[float, float] | None:
    """(motion, looks) of a link from the end of a to the start of b, or None where b does not start
    within MAX_GAP_S after a ends or either has no looks."""
    (te, pe, ve), (ts, ps, vs) = a.end, b.start
    dt = ts - te
    if not 0 < dt <= MAX_GAP_S or a.looks is None or b.looks is None:
        return None
    sigma = POSITION_SIGMA_M + SIGMA_PER_S * dt
    ahead, back = pe + ve * dt - ps, ps - vs * dt - pe
    return float(ahead @ ahead + back @ back) / (2 * sigma * sigma), float(a.looks @ b.looks)


def relinked(pieces: list[Piece], next_id: int, span: np.ndarray | None = None) -> dict[int, int]:
    """Piece index -> the global ID it takes, for the pieces whose ID changes (new IDs from next_id).
    span (P, 2): the steps each piece's camera rows cover (spans()); a link needs its first piece's to
    end before its second's begin (one ID, one person at a time), as the online links do."""
    n = len(pieces)
    span = span if span is not None else np.array([[p.first_step, p.last_step] for p in pieces], np.float64)

    def after(a: int, b: int) -> bool:
        return span[a, 1] < span[b, 0]

    order = sorted(range(n), key=lambda k: (pieces[k].global_id, pieces[k].first_step))
    online = {a: b for a, b in zip(order, order[1:]) if pieces[a].global_id == pieces[b].global_id}
    before = {b: a for a, b in online.items()}
    by_start = sorted(range(n), key=lambda k: pieces[k].start[0])
    starts = np.array([pieces[k].start[0] for k in by_start])
    proposals = []  # (gain, i, j)
    for i, piece in enumerate(pieces):
        o = online.get(i)
        now = _cost(piece, pieces[o]) if o is not None else None
        if o is not None and now is None:
            continue
        lo, hi = np.searchsorted(starts, [piece.end[0], piece.end[0] + MAX_GAP_S], side="right")
        for j in by_start[lo:hi]:
            other = _cost(piece, pieces[j]) if j not in (i, o) and after(i, j) else None
            if other is None:
                continue
            if now is not None:
                if other[1] > now[1] + MIN_LOOKS_GAIN and other[0] < now[0] - MIN_MOTION_GAIN:
                    proposals.append((now[0] - other[0] + LOOKS_WEIGHT * (other[1] - now[1]), i, j))
            elif j not in before and other[0] < MERGE_MOTION and other[1] >= MERGE_LOOKS:
                proposals.append((MERGE_MOTION - other[0] + LOOKS_WEIGHT * (other[1] - MERGE_LOOKS), i, j))
    links, used = dict(online), set()
    for _, i, j in sorted(proposals, reverse=True):
        k, o = before.get(j), online.get(i)
        ends, begins = {i} | ({k} if k is not None else set()), {j} | ({o} if o is not None else set())
        if {("end", e) for e in ends} & used or {("start", s) for s in begins} & used:
            continue
        if k is not None:  # a swap: better for the pair in both
            if o is None or not after(k, o):
                continue
            pair_now = [_cost(pieces[i], pieces[o]), _cost(pieces[k], pieces[j])]
            pair_new = [_cost(pieces[i], pieces[j]), _cost(pieces[k], pieces[o])]
            if None in pair_now or None in pair_new:
                continue
            if not (sum(c[1] for c in pair_new) > sum(c[1] for c in pair_now) + MIN_LOOKS_GAIN
                    and sum(c[0] for c in pair_new) < sum(c[0] for c in pair_now) - MIN_MOTION_GAIN):
                continue
            links[k] = o
        links[i] = j
        used |= {("end", e) for e in ends} | {("start", s) for s in begins}
    linked_to = set(links.values())
    changed, taken = {}, set()
    for first in sorted((k for k in range(n) if k not in linked_to), key=lambda k: pieces[k].first_step):
        gid = pieces[first].global_id
        if gid in taken:  # its ID goes on in an earlier chain
            gid, next_id = next_id, next_id + 1
        taken.add(gid)
        k = first
        while k is not None:
            if pieces[k].global_id != gid:
                changed[k] = gid
            k = links.get(k)
    return changed
