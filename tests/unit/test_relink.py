"""Hand-offs corrected in hindsight (association/relink.py), and the results writer applying them."""

import numpy as np

from mctrt.association.relink import pieces_of, relabelled, relinked
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
    ids = relabelled(pieces, changed, world[:, 2], world[:, 5])
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


def test_a_person_split_over_two_ids_is_joined_and_a_stranger_is_not():
    world = np.concatenate([walk(1, range(0, 40), (0, 0), (1, 0)), walk(2, range(60, 100), (6, 0), (1, 0)),
                            walk(3, range(60, 100), (6, 3), (-1, 0))])
    looks = {1: (np.array([10.0]), P_LOOKS[None]), 2: (np.array([80.0]), P_LOOKS[None]),
             3: (np.array([80.0]), P_LOOKS[None])}
    pieces = pieces_of(world, looks)
    changed = relinked(pieces, next_id=4)
    assert [(pieces[k].global_id, gid) for k, gid in changed.items()] == [(2, 1)]


def test_pieces_without_looks_or_beyond_the_longest_gap_stay():
    world, looks = crossing(swapped=True)
    assert relinked(pieces_of(world, {}), next_id=3) == {}
    world[world[:, 5] >= 60, 0] += 60.0  # the second pieces start a minute later
    assert relinked(pieces_of(world, looks), next_id=3) == {}


def test_the_writer_relinks_its_files_at_close(tmp_path):
    """Two cameras either side of a blind gap; camera b's tracks got each other's IDs online."""
    world, _ = crossing(swapped=True)
    results = {}
    for relink in (True, False):
        out = tmp_path / str(relink)
        writer = ResultWriter(out, ["a", "b"], relink=relink)
        for step in range(100):
            here = world[world[:, 5] == step]
            camera = "a" if step < 40 else "b"
            if step < 40 or step >= 60:
                gids = here[:, 2].astype(np.int64)
                boxes = np.array([[10 + 5 * x, 100 + 50 * y, 40 + 5 * x, 200 + 50 * y] for x, y in here[:, 3:5]], np.float32)
                tracks = np.array([1 if y == 0 else 2 for y in here[:, 4]], np.int64)  # P's track 1, Q's 2
                embedded = np.ones(len(here), bool) if step % 10 == 0 else np.zeros(len(here), bool)
                looks = np.stack([P_LOOKS if y == 0 else Q_LOOKS for y in here[:, 4]])
                writer.add(camera, step + 1, gids, tracks, boxes, np.full(len(here), 0.9, np.float32),
                           image_size=(1000, 1000), embedded=embedded, embeddings=looks)
            writer.add_positions(step / RATE, step + 1, [{"global_id": int(g), "x": x, "y": y} for _, _, g, x, y, _ in here])
        writer.close()
        results[relink] = (read_mot(out / "b.txt", what="results"), writer.relinked)
    rows, count = results[True]
    by_track_row = {int(gid): float(y) for _, gid, _, y in rows[:, :4]}
    assert count == 2 and by_track_row == {1: 100.0, 2: 250.0}  # P (top, y 100) is 1 again, Q 2
    rows, count = results[False]
    assert count == 0 and {int(gid): float(y) for _, gid, _, y in rows[:, :4]} == {2: 100.0, 1: 250.0}
