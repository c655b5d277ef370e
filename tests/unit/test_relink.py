"""Hand-offs corrected in hindsight (association/relink.py), and the results writer applying them."""

import numpy as np

from mctrt.association.relink import pieces_of, relabelled, relinked, rows_in_pieces, spans
from mctrt.io.mot import read_mot
from mctrt.io.results import ResultWriter

RATE = 10.0  # steps a second
P_LOOKS, Q_LOOKS = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]


def walk(gid, steps, start, velocity):
    """world.txt rows (time, frame, ID, x, y, step) of one ID walking in a straight line."""
    steps = np.asarray(list(steps), np.float64)
    xy = np.asarray(start) + np.outer((steps - steps[0]) / RATE, velocity)
    return np.c_[steps / RATE, steps + 1, np.full(len(steps), gid), xy, steps]


def crossing(swapped: bool):
    """P walks right along y = 0, Q along y = 3, both through a blind gap between x = 4 and x = 6
    (steps 40-59); online, the IDs after the gap are swapped or not."""
    after_p, after_q = (2, 1) if swapped else (1, 2)
    world = np.concatenate([walk(1, range(0, 40), (0, 0), (1, 0)), walk(after_p, range(60, 100), (6, 0), (1, 0)),
                            walk(2, range(0, 40), (0, 3), (1, 0)), walk(after_q, range(60, 100), (6, 3), (1, 0))])
    looks = {gid: (np.array([10.0, 80.0]), np.stack([first, later])) for gid, first, later in
             [(1, P_LOOKS, P_LOOKS if after_p == 1 else Q_LOOKS), (2, Q_LOOKS, Q_LOOKS if after_q == 2 else P_LOOKS)]}
    return world, looks


def test_a_swapped_hand_off_is_swapped_back():
    world, looks = crossing(swapped=True)
    pieces = pieces_of(world, looks)
    assert len(pieces) == 4
    changed = relinked(pieces, next_id=3)
    ids = relabelled(pieces, changed, world[:, 2], rows_in_pieces(pieces, world[:, 2], world[:, 5]))
    after = world[:, 5] >= 60
    # each person keeps one ID: the one before the gap
    assert set(ids[after & (world[:, 4] == 0)]) == {1} and set(ids[after & (world[:, 4] == 3)]) == {2}
    assert np.array_equal(ids[~after], world[~after, 2])


def test_right_hand_offs_stay():
    world, looks = crossing(swapped=False)
    pieces = pieces_of(world, looks)
    assert relinked(pieces, next_id=3) == {}


def test_looks_alone_do_not_swap():
    """Looks say swapped, but the people's motion says the links are right: nothing changes."""
    world, looks = crossing(swapped=False)
    looks = {1: (looks[1][0], np.stack([P_LOOKS, Q_LOOKS])), 2: (looks[2][0], np.stack([Q_LOOKS, P_LOOKS]))}
    assert relinked(pieces_of(world, looks), next_id=3) == {}


def test_motion_alone_does_not_swap():
    """Motion says swapped (the people after the gap are where the other should be), looks do not agree."""
    world, looks = crossing(swapped=True)
    same = (np.array([10.0, 80.0]), np.stack([P_LOOKS, P_LOOKS]))
    assert relinked(pieces_of(world, {1: same, 2: same}), next_id=3) == {}


def test_a_person_split_over_two_ids_is_joined_to_the_best_of_them():
    """ID 1 vanishes at x = 4; ID 3 (found first in the ID order) and ID 2 both look like them, but
    ID 2 starts where they would be and ID 3 a metre off: ID 2 is theirs; ID 4, walking back, is not."""
    world = np.concatenate([walk(1, range(0, 40), (0, 0), (1, 0)), walk(3, range(60, 100), (6, 1), (1, 0)),
                            walk(2, range(60, 100), (6, 0), (1, 0)), walk(4, range(60, 100), (6, 3), (-1, 0))])
    looks = {gid: (np.array([10.0 if gid == 1 else 80.0]), P_LOOKS[None]) for gid in (1, 2, 3, 4)}
    pieces = pieces_of(world, looks)
    changed = relinked(pieces, next_id=5)
    assert [(pieces[k].global_id, gid) for k, gid in changed.items()] == [(2, 1)]


def test_no_link_makes_one_id_two_people_at_once():
    """The same join, but ID 2's track was in a camera file (waiting for its floor position) while ID 1
    was still seen: joined, one ID would be two people in those steps."""
    world = np.concatenate([walk(1, range(0, 40), (0, 0), (1, 0)), walk(2, range(60, 100), (6, 0), (1, 0))])
    looks = {gid: (np.array([10.0 if gid == 1 else 80.0]), P_LOOKS[None]) for gid in (1, 2)}
    pieces = pieces_of(world, looks)
    assert len(relinked(pieces, next_id=3)) == 1
    ids, steps = np.array([1] * 40 + [2] * 70), np.r_[np.arange(0, 40), np.arange(30, 100)].astype(np.float64)
    tracks = np.r_[np.full(40, 1), np.full(70, 2)]
    span = spans(pieces, [rows_in_pieces(pieces, ids, steps, tracks)], [steps])
    assert span.tolist() == [[0, 39], [30, 99]]
    assert relinked(pieces, next_id=3, span=span) == {}


def test_a_tracks_rows_before_its_floor_positions_follow_its_piece():
    """Rows a track showed while it waited for a floor position belong to the piece its later rows are
    in, not to the piece its ID had before the gap; a track with no floor position keeps one piece."""
    world = np.concatenate([walk(1, range(0, 40), (0, 0), (1, 0)), walk(1, range(60, 100), (6, 0), (1, 0))])
    pieces = pieces_of(world, {})
    steps = np.r_[np.arange(55, 70), np.arange(42, 58)].astype(np.float64)
    where = rows_in_pieces(pieces, np.ones(len(steps)), steps, np.r_[np.full(15, 7), np.full(16, 8)])
    assert where[:15].tolist() == [1] * 15  # track 7: steps 55-59 waited, then piece 1
    assert set(where[15:].tolist()) == {0}  # track 8, only in the gap (an uncalibrated view): one piece throughout


def test_pieces_without_looks_or_beyond_the_longest_gap_stay():
    world, looks = crossing(swapped=True)
    assert relinked(pieces_of(world, {}), next_id=3) == {}
    world[world[:, 5] >= 60, 0] += 60.0  # the second pieces start a minute later
    assert relinked(pieces_of(world, looks), next_id=3) == {}


def test_the_writer_relinks_its_files_at_close(tmp_path):
    """Two cameras either side of a blind gap; camera b's tracks got each other's IDs online, after
    waiting 6 frames for them (held back, without floor positions)."""
    world, _ = crossing(swapped=True)
    results = {}
    for relink in (True, False):
        out = tmp_path / str(relink)
        writer = ResultWriter(out, ["a", "b"], relink=relink)
        for step in range(100):
            here = world[world[:, 5] == step]
            camera = "a" if step < 40 else "b"
            waiting = 60 <= step < 66
            if step < 40 or step >= 60:
                gids = here[:, 2].astype(np.int64) * (not waiting)
                boxes = np.array([[10 + 5 * x, 100 + 50 * y, 40 + 5 * x, 200 + 50 * y] for x, y in here[:, 3:5]], np.float32)
                tracks = np.array([1 if y == 0 else 2 for y in here[:, 4]], np.int64)  # P's track 1, Q's 2
                embedded = np.ones(len(here), bool) if step % 10 == 0 else np.zeros(len(here), bool)
                looks = np.stack([P_LOOKS if y == 0 else Q_LOOKS for y in here[:, 4]])
                writer.add(camera, step + 1, gids, tracks, boxes, np.full(len(here), 0.9, np.float32),
                           image_size=(1000, 1000), embedded=embedded, embeddings=looks)
            placed = [] if waiting else here
            writer.add_positions(step / RATE, step + 1, [{"global_id": int(g), "x": x, "y": y} for _, _, g, x, y, _ in placed])
        writer.close()
        results[relink] = (read_mot(out / "b.txt", what="results"), writer.relinked)
    def ids_of(rows):  # each person's IDs in camera b: P's boxes are at y 100, Q's at 250
        return {y: set(rows[rows[:, 3] == y, 1].astype(int).tolist()) for y in (100.0, 250.0)}

    rows, count = results[True]
    assert len(rows) == 80 and count == 2 and ids_of(rows) == {100.0: {1}, 250.0: {2}}  # the waiting rows too
    rows, count = results[False]
    assert len(rows) == 80 and count == 0 and ids_of(rows) == {100.0: {2}, 250.0: {1}}
