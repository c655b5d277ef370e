"""ResultWriter: rows keep the global ID each track had at the time; at close, a track's rows held
back (waiting for an ID, or in doubt) take the ID it had next (or else the one before), corrections rewrite every row of the retired ID (chains
too), tracks that never had an ID are left out, an ID is one box per camera and frame, and world.txt
holds the floor positions; short gaps in one ID's rows are filled (world.txt's where a camera file shows
the person) and boxes and positions smoothed."""

import json
import os
import threading

import numpy as np
import pytest

from mctrt.io.results import WORLD_HEADER, ResultWriter


def box(x):
    return np.array([[x, 10, x + 20, 70]], np.float32)


def add(writer, frame, gid, tid, x, cam="a"):
    writer.add(cam, frame, np.array([gid], np.int64), np.array([tid], np.int64), box(x), np.array([0.9], np.float32))


def rows(path):
    return np.loadtxt(path, delimiter=",", ndmin=2)


def test_held_rows_take_the_id_their_track_had_next_and_tracks_without_one_are_left_out(tmp_path):
    writer = ResultWriter(tmp_path, ["a"])
    add(writer, 1, 0, 1, 0)  # track 1 waits two frames for its ID
    add(writer, 2, 0, 1, 1)
    add(writer, 2, 0, 2, 50)  # track 2 never gets an ID
    add(writer, 3, 4, 1, 2)
    add(writer, 4, 0, 1, 3)  # its link to person 4 in doubt (its tracker switched people) ...
    add(writer, 5, 0, 1, 4)
    add(writer, 6, 6, 1, 5)  # ... until it is detached and linked to another person
    add(writer, 7, 0, 1, 6)  # in doubt again as it ends: the ID it had before
    add(writer, 7, 0, 3, 80)  # track 3 held back, then given an ID that a correction renames
    add(writer, 8, 9, 3, 81)
    writer.rename(9, 8)
    live = rows(tmp_path / "a.txt")  # as the run goes: only the rows that had an ID then
    assert live[:, :2].tolist() == [[3, 4], [6, 6], [8, 9]]
    writer.close()
    out = rows(tmp_path / "a.txt")
    assert out[:, :2].tolist() == [[1, 4], [2, 4], [3, 4], [4, 6], [5, 6], [6, 6], [7, 6], [7, 8], [8, 8]]
    assert out[0, 2:6].tolist() == [0, 10, 20, 60] and out.shape[1] == 10


def test_waiting_rows_never_give_an_id_twice_in_a_frame(tmp_path):
    """Track 2 waits while track 1 shows person 4, then joins person 4 once track 1 has ended (lab4cam,
    INT8 detector: a second box on the seated person): its waiting rows beside track 1's are left out."""
    writer = ResultWriter(tmp_path, ["a"])
    add(writer, 1, 4, 1, 0)
    add(writer, 1, 0, 2, 50)
    add(writer, 2, 4, 1, 1)
    add(writer, 2, 0, 2, 51)
    add(writer, 3, 0, 2, 52)  # track 1 has ended
    add(writer, 4, 4, 2, 53)
    writer.close()
    out = rows(tmp_path / "a.txt")
    assert out[:, :3].tolist() == [[1, 4, 0], [2, 4, 1], [3, 4, 52], [4, 4, 53]]


def test_rows_in_doubt_that_keep_their_id_had_it_at_the_time(tmp_path):
    """Track 1 shows person 4 and is in doubt as it ends; track 2, waiting beside it with higher
    scores, joins person 4 afterwards: in the frames of both, track 1's rows keep the ID."""
    writer = ResultWriter(tmp_path, ["a"])
    for frame, (gid1, gid2) in enumerate([(4, 0), (0, 0), (0, 0), (None, 4)], start=1):
        gids, tids, xs = [], [], []
        for gid, tid, x in ((gid1, 1, 0), (gid2, 2, 50)):
            if gid is not None:
                gids.append(gid), tids.append(tid), xs.append(x + frame)
        writer.add("a", frame, np.array(gids, np.int64), np.array(tids, np.int64),
                   np.concatenate([box(x) for x in xs]), np.where(np.array(tids) == 1, 0.5, 0.9).astype(np.float32),
                   np.array([1] if gid1 is None else [], np.int64))
    writer.close()
    out = rows(tmp_path / "a.txt")
    assert out[:, :3].tolist() == [[1, 4, 1], [2, 4, 2], [3, 4, 3], [4, 4, 54]]


def test_corrections_rewrite_every_row_of_the_retired_id_chains_included(tmp_path):
    writer = ResultWriter(tmp_path, ["a", "b"])
    add(writer, 1, 3, 1, 0)
    add(writer, 1, 5, 1, 0, cam="b")
    add(writer, 2, 7, 2, 0, cam="b")
    writer.rename(7, 5)
    writer.rename(5, 3)
    writer.add_positions(0.1, 1, [{"global_id": 5, "x": 1.0, "y": 2.0}, {"global_id": 3, "x": 1.1, "y": 2.0}])
    writer.add_events([{"type": "id_corrected", "old_global_id": 5, "global_id": 3}])
    writer.close()
    assert set(rows(tmp_path / "b.txt")[:, 1]) == {3} and set(rows(tmp_path / "a.txt")[:, 1]) == {3}
    lines = (tmp_path / "world.txt").read_text().splitlines()
    assert lines[0] == WORLD_HEADER and lines[1:] == ["0.100,1,3,1.100,2.000"]  # 3's own position, not retired 5's
    assert json.loads((tmp_path / "events.jsonl").read_text())["old_global_id"] == 5


def test_short_gaps_in_an_ids_rows_are_filled_with_interpolated_boxes_of_score_zero(tmp_path):
    writer = ResultWriter(tmp_path, ["a", "b"], fill_gaps_frames=3)
    add(writer, 1, 4, 1, 0)
    add(writer, 2, 4, 1, 10)
    add(writer, 3, 7, 3, 200)  # another person: never bridged to ID 4
    add(writer, 5, 4, 2, 40)  # track 1 lost for two frames, found again as track 2 of the same person
    add(writer, 9, 4, 2, 80)  # three frames missing: filled
    add(writer, 14, 4, 2, 130)  # four missing: more than 3, left
    add(writer, 8, 4, 5, 0, cam="b")  # ID 4 in another camera: its own rows
    add(writer, 10, 4, 5, 20, cam="b")
    writer.close()
    out = rows(tmp_path / "a.txt")
    four = out[out[:, 1] == 4]
    assert four[:, 0].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 14]
    assert four[:, 2].tolist() == [0, 10, 20, 30, 40, 50, 60, 70, 80, 130]  # left edges on the line between
    assert (four[:, 3:6] == [10, 20, 60]).all() and four[:, 7:].tolist() == [[-1, -1, -1]] * 10
    assert four[:, 6].tolist() == [0.9, 0.9, 0, 0, 0.9, 0, 0, 0, 0.9, 0.9]  # no detection behind a filled row
    assert out[out[:, 1] == 7][:, 0].tolist() == [3]
    assert rows(tmp_path / "b.txt")[:, [0, 2, 6]].tolist() == [[8, 0, 0.9], [9, 10, 0], [10, 20, 0.9]]
    assert out[:, 0].tolist() == sorted(out[:, 0].tolist())  # still sorted by frame
    assert writer.filled == 6


def test_each_camera_fills_and_smooths_over_its_own_windows(tmp_path):
    """Cameras at different rates: the same seconds are more frames of the faster one. Camera a fills
    gaps of up to 6 frames, b of up to 2 and smooths over 1 either side; c has no windows of its own
    and takes the steps' (none)."""
    writer = ResultWriter(tmp_path, ["a", "b", "c"])
    writer.set_windows(0, 0, 0, {"a": (6, 0), "b": (2, 1)})
    for cam in ("a", "b", "c"):
        add(writer, 1, 4, 1, 0, cam)
        add(writer, 5, 4, 1, 40, cam)  # three frames missing
        add(writer, 6, 4, 1, 56, cam)
    writer.close()
    a, b, c = (rows(tmp_path / f"{cam}.txt") for cam in ("a", "b", "c"))
    assert a[:, 0].tolist() == [1, 2, 3, 4, 5, 6] and a[:, 2].tolist() == [0, 10, 20, 30, 40, 56]
    assert b[:, 0].tolist() == [1, 5, 6] and b[:, 2].tolist() == [0, 48, 48]  # 5 and 6 smoothed together
    assert c[:, 0].tolist() == [1, 5, 6] and c[:, 2].tolist() == [0, 40, 56]


def test_a_gap_that_begins_or_ends_at_the_image_border_is_left(tmp_path):
    """Someone whose box reaches the border may have left the view in the gap (a person walking out of
    one side and back): those frames are not filled; a gap clear of the border is."""
    writer = ResultWriter(tmp_path, ["a"], fill_gaps_frames=5, border_margin_px=2)
    for frame, gid, x in [(1, 4, 0), (4, 4, 10), (6, 4, 30), (10, 4, 70), (2, 7, 200), (5, 7, 279)]:
        writer.add("a", frame, np.array([gid], np.int64), np.array([gid], np.int64), box(x),
                   np.array([0.9], np.float32), image_size=(300, 200))
    writer.close()
    out = rows(tmp_path / "a.txt")
    four, seven = out[out[:, 1] == 4], out[out[:, 1] == 7]
    assert four[:, 0].tolist() == [1, 4, 5, 6, 7, 8, 9, 10]  # frame 1's box touches the left edge (x 0)
    assert seven[:, 0].tolist() == [2, 5]  # frame 5's right edge, 299, is within 2 px of the width


def test_no_gap_is_filled_across_a_restart_or_a_change_of_image_size(tmp_path):
    """A restarted worker numbers its frames from 1 again, and a camera may change resolution: rows of
    one ID on either side of such a break are never bridged (nor one dropped as a duplicate)."""
    writer = ResultWriter(tmp_path, ["a", "b"], fill_gaps_frames=5)

    def add_sized(cam, frame, x, size):
        writer.add(cam, frame, np.array([4], np.int64), np.array([1], np.int64), box(x), np.array([0.9], np.float32),
                   image_size=size)

    add_sized("a", 5, 50, (300, 200))
    add_sized("a", 8, 80, (300, 200))  # a worker's run ends at frame 8 ...
    add_sized("a", 2, 20, (300, 200))  # ... and its restart begins again at frame 2
    add_sized("a", 5, 60, (300, 200))
    add_sized("b", 1, 10, (300, 200))
    add_sized("b", 3, 30, (600, 400))  # the camera's resolution changed
    writer.close()
    np.testing.assert_allclose(rows(tmp_path / "a.txt")[:, [0, 2]], [[5, 50], [6, 60], [7, 70], [8, 80], [2, 20],
                                                                   [3, 33.33], [4, 46.67], [5, 60]], atol=0.01)
    assert rows(tmp_path / "b.txt")[:, 0].tolist() == [1, 3]


def test_a_camera_resuming_after_a_silence_is_not_smoothed_or_filled_across_it(tmp_path):
    """A stream that reconnects counts its frames on (5, then 6) though many steps went by: its rows
    after the silence start a new stretch, neither smoothed with nor filled from those before."""
    writer = ResultWriter(tmp_path, ["a", "b"], fill_gaps_frames=3, smooth_frames=1)
    step = 0
    for frame, x in [(1, 0), (2, 10), (3, 20), (4, 30), (5, 40)]:
        add(writer, frame, 4, 1, x)
        writer.add_positions(step / 10, frame, [])
        step += 1
    for _ in range(30):  # camera a silent for 30 steps (more than 4 x (3 + 1 + 1)); camera b goes on
        add(writer, step + 1, 9, 1, 0, cam="b")
        writer.add_positions(step / 10, step + 1, [])
        step += 1
    for frame, x in [(6, 200), (7, 210), (9, 230)]:
        add(writer, frame, 4, 1, x)
        writer.add_positions(step / 10, frame, [])
        step += 1
    writer.close()
    out = rows(tmp_path / "a.txt")
    assert out[:, 0].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9]  # frame 8 filled, within the new stretch
    np.testing.assert_allclose(out[:, 2], [5, 10, 20, 30, 35, 205, 210, 220, 225])  # 5: (30 + 40) / 2, not with 200


def test_boxes_are_smoothed_over_their_run_of_consecutive_frames(tmp_path):
    """Each box becomes the mean of its ID's boxes up to smooth_frames either side, within the run of
    consecutive frames it is in: a jittery walk along a line is put back on the line, the run's ends
    average what they have, and a box after a gap is not pulled towards the boxes before it."""
    writer = ResultWriter(tmp_path, ["a"], smooth_frames=1)
    for frame, x in [(1, 0), (2, 14), (3, 16), (4, 30), (5, 40), (9, 200)]:  # 10 px a frame, +-4 px of jitter
        add(writer, frame, 4, 1, x)
    writer.close()
    out = rows(tmp_path / "a.txt")
    np.testing.assert_allclose(out[:, 2], [7, 10, 20, 28.67, 35, 200], atol=0.01)
    assert (out[:, 3:6] == [10, 20, 60]).all() and (out[:, 6] == 0.9).all()  # sizes and scores as they were


def test_no_gap_is_filled_by_default_in_the_writer(tmp_path):
    """The writer fills only when asked (Scene passes output.fill_gaps_s in frames: 20 by default at 10 frames/s)."""
    writer = ResultWriter(tmp_path, ["a"])
    add(writer, 1, 4, 1, 0)
    add(writer, 3, 4, 1, 20)
    writer.close()
    assert rows(tmp_path / "a.txt")[:, 0].tolist() == [1, 3]


def test_a_run_with_nobody_writes_empty_files(tmp_path):
    ResultWriter(tmp_path, ["a"]).close()
    assert (tmp_path / "a.txt").read_text() == "" and (tmp_path / "world.txt").read_text().strip() == WORLD_HEADER


def test_results_are_on_disk_as_the_run_goes_before_close(tmp_path):
    writer = ResultWriter(tmp_path, ["a"])
    add(writer, 1, 0, 1, 0)  # waiting for its ID: held back until close
    add(writer, 2, 4, 1, 1)
    writer.add_positions(0.2, 2, [{"global_id": 4, "x": 1.0, "y": 2.0}])
    writer.add_events([{"type": "first_seen", "global_id": 4}])
    # a run killed here leaves these
    assert rows(tmp_path / "a.txt")[:, :2].tolist() == [[2, 4]]
    assert (tmp_path / "world.txt").read_text().splitlines() == [WORLD_HEADER, "0.200,2,4,1.000,2.000"]
    assert json.loads((tmp_path / "events.jsonl").read_text())["global_id"] == 4
    writer.close()
    assert rows(tmp_path / "a.txt")[:, :2].tolist() == [[1, 4], [2, 4]]


def test_a_rerun_into_the_same_folder_keeps_the_earlier_results(tmp_path):
    first = ResultWriter(tmp_path, ["a"])
    add(first, 1, 3, 1, 0)
    first.add_events([{"type": "first_seen", "global_id": 3}])
    first.close()
    second = ResultWriter(tmp_path, ["a"])
    second.close()
    assert second.previous is not None and second.previous.parent == tmp_path
    assert rows(second.previous / "a.txt")[:, 1].tolist() == [3]
    assert json.loads((second.previous / "events.jsonl").read_text())["global_id"] == 3
    assert (tmp_path / "events.jsonl").read_text() == "" and (tmp_path / "a.txt").read_text() == ""
    third = ResultWriter(tmp_path, ["a"])
    third.close()
    assert third.previous != second.previous  # a third run keeps the second's


def test_world_rows_are_one_per_person_and_step_in_time_order_when_frame_numbers_drift(tmp_path):
    """Live, a step carries the highest frame number of its cameras, so two steps may carry one
    (cameras started apart, or at different rates): each step's row stays, in the order of time."""
    writer = ResultWriter(tmp_path, ["a"])
    for time_s, frame, x in [(1.0, 12, 1.0), (1.1, 11, 1.1), (1.2, 12, 1.2)]:
        writer.add_positions(time_s, frame, [{"global_id": 1, "x": x, "y": 0.0}])
    writer.close()
    world = np.loadtxt(tmp_path / "world.txt", delimiter=",", skiprows=1, ndmin=2)
    assert world[:, 0].tolist() == [1.0, 1.1, 1.2] and world[:, 3].tolist() == [1.0, 1.1, 1.2]


def test_world_positions_are_filled_where_a_camera_file_shows_the_person_and_smoothed(tmp_path):
    """A person whose floor position is missing for a few steps while a camera's (filled) rows show them
    gets positions on the line between; steps no camera file shows them in (a blind gap between views)
    stay empty, and so does a gap longer than fill_gaps_frames. Then each position is the mean of its
    own and up to smooth_frames either side in the ID's consecutive frames."""
    writer = ResultWriter(tmp_path, ["a", "b"], fill_gaps_frames=3, smooth_frames=1)
    boxes = {1: ("a", 0), 2: ("a", 10), 5: ("a", 40),  # camera a: frames 3 and 4 filled in its own file
             9: ("b", 0), 30: ("b", 0)}  # frames 6-8: nobody shows ID 4 (the gap between the views)
    positions = {1: 0.0, 2: 0.1, 5: 0.4, 9: 0.8, 30: 3.0}  # positions at frames 3-4 and 6-8 missing
    for frame in range(1, 31):  # a step a frame: its cameras' rows, then its positions, if any
        if frame in boxes:
            add(writer, frame, 4, 1 if boxes[frame][0] == "a" else 2, boxes[frame][1], cam=boxes[frame][0])
        writer.add_positions(frame / 10, frame, [{"global_id": 4, "x": positions[frame], "y": 1.0}] if frame in positions else [])
    writer.close()
    world = np.loadtxt(tmp_path / "world.txt", delimiter=",", skiprows=1, ndmin=2)
    assert world[:, 1].tolist() == [1, 2, 3, 4, 5, 9, 30]  # 3-4 filled; 6-8 not seen, 10-29 too long
    np.testing.assert_allclose(world[:, 0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 3.0])
    # on the line 0.1 m a frame, then smoothed +-1 frame: the straight walk stays; the run's ends average
    # what they have; frames 9 and 30 are runs of their own
    np.testing.assert_allclose(world[:, 3], [0.05, 0.1, 0.2, 0.3, 0.35, 0.8, 3.0])
    assert (world[:, 4] == 1.0).all() and (world[:, 2] == 4).all()


def play_walks(writer, steps=200, seed=3, live=False):
    """Two cameras, people walking past with jitter, missed frames, tracks waiting for their ID at
    first and ending; floor positions for most of them: the same calls for any writer. live: as a live
    central sees it: frames dropped while busy (numbers jumping), camera b in every other step only,
    camera a restarting (its frame and track numbers from 1 again) two thirds of the way."""
    rng = np.random.default_rng(seed)
    people = []  # [camera, track, global ID, x, steps held back: waiting for the first ID, or in doubt]
    next_track, next_id = {"a": 1, "b": 1}, 1
    frame = {"a": 0, "b": 0}
    for step in range(steps):
        if rng.random() < 0.15:
            cam = str(rng.choice(["a", "b"]))
            people.append([cam, next_track[cam], next_id, 0.0, int(rng.integers(0, 3))])
            next_track[cam], next_id = next_track[cam] + 1, next_id + 1
        gone = [p for p in people if p[3] > 250]
        people = [p for p in people if p[3] <= 250]
        if live and step == 2 * steps // 3:  # a restarted worker: frames and tracks numbered anew
            frame["a"], next_track["a"] = 0, 1
        for cam in ("a", "b"):
            if live and cam == "b" and step % 2:
                continue
            frame[cam] += 1 + (int(rng.integers(0, 3)) if live else 0)
            here = [p for p in people if p[0] == cam and rng.random() > 0.2]  # 1 in 5 boxes missed
            removed = np.array([p[1] for p in gone if p[0] == cam], np.int64)
            gids = np.array([0 if p[4] > 0 else p[2] for p in here], np.int64)
            xyxy = np.array([[p[3] + rng.normal(0, 2), 10, p[3] + 20, 70] for p in here], np.float32).reshape(-1, 4)
            writer.add(cam, frame[cam], gids, np.array([p[1] for p in here], np.int64), xyxy,
                       np.full(len(here), 0.9, np.float32), removed, (300, 200))
        for p in people:
            p[3] += 6.0
            p[4] = max(0, p[4] - 1)
            if p[4] == 0 and rng.random() < 0.03:  # a link in doubt for a few steps, which may end with another ID
                p[4] = int(rng.integers(1, 6))
                if rng.random() < 0.5:
                    p[2], next_id = next_id, next_id + 1
        writer.add_positions(step / 10, max(frame.values()), [{"global_id": p[2], "x": p[3] / 100, "y": 1.0}
                                                              for p in people if p[4] == 0 and rng.random() > 0.3])


@pytest.mark.parametrize("live", [False, True])
def test_rows_settled_as_the_run_goes_are_the_rows_a_writer_keeping_all_would_write(tmp_path, live):
    """A long run's rows are settled once settle_after_steps old (their final form written aside and
    the rows forgotten, but for the few that later rows fill and smooth against): the files are the
    same, byte for byte, as a writer that kept everything to the end writes, and memory stays bounded."""
    kept, settled = (ResultWriter(tmp_path / name, ["a", "b"], fill_gaps_frames=3, smooth_frames=1,
                                  settle_after_steps=after) for name, after in (("kept", 0), ("settled", 40)))
    held = []
    for writer in (kept, settled):
        play_walks(writer, steps=400, live=live)
        held.append(writer.held_bytes)
    for writer in (kept, settled):
        writer.close()
    for name in ("a.txt", "b.txt", "world.txt"):
        assert (tmp_path / "settled" / name).read_text() == (tmp_path / "kept" / name).read_text(), name
    assert settled.filled == kept.filled > 0
    assert held[1] < held[0] / 4  # some 42 + 5 + 20 steps of rows, not 400
    assert not (tmp_path / "settled" / ".mctrt-settled").exists()


def test_a_correction_after_rows_were_settled_renames_only_the_rows_not_yet_settled(tmp_path):
    """Settled rows are final: a correction that comes later is in events.jsonl, not in them."""
    writer = ResultWriter(tmp_path, ["a"], settle_after_steps=4)
    settled = 20 - writer.settle_after_steps  # raised to what filling, smoothing and first IDs need: 8
    for frame in range(1, 21):
        add(writer, frame, 7, 1, 5 * frame)
        writer.add_positions(frame / 10, frame, [])
    writer.rename(7, 3)  # the first `settled` frames are settled by now (settling every step, so short a run)
    writer.close()
    out = rows(tmp_path / "a.txt")
    assert out[:, 0].tolist() == list(range(1, 21)) and settled == 12
    assert out[:, 1].tolist() == [7] * settled + [3] * (20 - settled)


def test_a_step_does_not_wait_for_a_settling(tmp_path):
    """A settling runs on the writer's own thread: with one held back (it waits for a gate), steps go
    on; released, it writes the rows it would have written on the caller's thread."""
    kept, settled = ResultWriter(tmp_path / "kept", ["a"]), ResultWriter(tmp_path / "settled", ["a"], settle_after_steps=120)
    gate, threads, settle = threading.Event(), [], settled._settle

    def held_back(*args, **kwargs):
        threads.append(threading.current_thread())
        assert gate.wait(timeout=60)
        return settle(*args, **kwargs)

    settled._settle = held_back
    every = settled._settle_every
    for writer in (kept, settled):
        for frame in range(1, settled.settle_after_steps + 2 * every):
            add(writer, frame, 7, 1, frame % 50)
            writer.add_positions(frame / 10, frame, [{"global_id": 7, "x": frame / 100, "y": 1.0}])
    # the first settling came due a step before the last and is still held back: the last step went on
    assert len(threads) == 1 and threads[0] is not threading.current_thread()
    assert not (tmp_path / "settled" / ".mctrt-settled" / "a.txt").exists()
    gate.set()
    settled.wait_settled()
    assert rows(tmp_path / "settled" / ".mctrt-settled" / "a.txt")[:, 0].tolist() == [1, 2]
    for writer in (kept, settled):
        writer.close()
    for name in ("a.txt", "world.txt"):
        assert (tmp_path / "settled" / name).read_text() == (tmp_path / "kept" / name).read_text(), name


@pytest.mark.parametrize("half_written", [False, True], ids=["before writing", "half written"])
@pytest.mark.parametrize("in_flight_at_close", [True, False], ids=["the one in flight at close", "one, retried by the next"])
def test_a_settling_that_fails_is_logged_and_its_rows_are_settled_later(tmp_path, monkeypatch, caplog, in_flight_at_close,
                                                                        half_written):
    """A settling's write fails (a full disk, say), before it wrote anything or halfway through a file:
    the error is logged, the run goes on, and the next settling, or close() where the failed one was in
    flight, settles its rows: the files are those a writer keeping all rows writes (no half line left
    in them)."""
    import mctrt.io.results as results

    format_rows, write, failures = results.csv_text, os.write, []

    def failing_now():
        return threading.current_thread().name.startswith("mctrt-settle") and (in_flight_at_close or not failures)

    def fails_before_writing(rows, fmt):
        if failing_now():
            failures.append(1)
            raise OSError(28, "No space left on device")
        return format_rows(rows, fmt)

    def fails_halfway(fd, data):
        if failing_now() and len(data) > 1:
            failures.append(write(fd, data[: len(data) // 2]))
            raise OSError(28, "No space left on device")
        return write(fd, data)

    kept, settled = (ResultWriter(tmp_path / name, ["a", "b"], fill_gaps_frames=3, smooth_frames=1,
                                  settle_after_steps=after) for name, after in (("kept", 0), ("settled", 40)))
    if half_written:
        monkeypatch.setattr(results.os, "write", fails_halfway)
    else:
        monkeypatch.setattr(results, "csv_text", fails_before_writing)
    # one settling a step after settle_after_steps: the last step's in flight at close, or five more after it
    steps = settled.settle_after_steps + (1 if in_flight_at_close else 6)
    with caplog.at_level("ERROR", logger="mctrt.io.results"):
        for writer in (kept, settled):
            play_walks(writer, steps=steps)
        settled.close()
    monkeypatch.undo()
    kept.close()
    assert "No space left on device" in caplog.text and failures
    assert not half_written or failures[0] > 0  # it did leave part of a file written
    assert settled.filled == kept.filled > 0  # the retried rows' filled ones counted once
    for name in ("a.txt", "b.txt", "world.txt"):
        assert (tmp_path / "settled" / name).read_text() == (tmp_path / "kept" / name).read_text(), name
    assert not (tmp_path / "settled" / ".mctrt-settled").exists()


def test_a_killed_runs_settled_rows_are_kept_with_its_other_files(tmp_path):
    writer = ResultWriter(tmp_path, ["a"], settle_after_steps=4)
    for frame in range(1, 21):
        add(writer, frame, 7, 1, 5 * frame)
        writer.add_positions(frame / 10, frame, [])
    writer.wait_settled()  # its last settling done (a killed process's thread is gone with it)
    # killed here: no close()
    second = ResultWriter(tmp_path, ["a"])
    settled = 20 - writer.settle_after_steps
    assert rows(second.previous / ".mctrt-settled" / "a.txt")[:, 0].tolist() == list(range(1, settled + 1))
    second.close()
    assert (tmp_path / "a.txt").read_text() == ""


def test_a_track_number_used_again_after_its_track_ended_is_another_track(tmp_path):
    """A restarted worker numbers its tracks from 1 again; the old track 1 ended first (its removal
    came through add). The new track 1's waiting rows take its own first ID, not the old track's."""
    writer = ResultWriter(tmp_path, ["a"])
    for frame in range(1, 4):
        add(writer, frame, 7, 1, frame)
    writer.add("a", 4, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4), np.float32),
               np.zeros(0, np.float32), np.array([1], np.int64))
    for frame, gid in [(5, 0), (6, 0), (7, 9)]:
        add(writer, frame, gid, 1, 50 + frame)
    writer.close()
    assert rows(tmp_path / "a.txt")[:, :2].tolist() == [[1, 7], [2, 7], [3, 7], [5, 9], [6, 9], [7, 9]]


def test_a_rerun_with_other_cameras_moves_the_earlier_cameras_files_too(tmp_path):
    """mctrt.eval scores every .txt of the folder: an earlier run's cameras a and b left beside this
    run's c would be scored with it."""
    first = ResultWriter(tmp_path, ["a", "b"])
    add(first, 1, 3, 1, 0)
    first.close()
    second = ResultWriter(tmp_path, ["c"])
    second.close()
    assert sorted(p.name for p in tmp_path.glob("*.txt")) == ["c.txt", "world.txt"]
    assert {"a.txt", "b.txt", "world.txt", "events.jsonl"} <= {p.name for p in second.previous.iterdir()}


def test_a_rerun_leaves_the_users_own_text_files_where_they_are(tmp_path):
    """Ground truth or notes kept in the output folder are no earlier run's results: they stay."""
    (tmp_path / "gt.txt").write_text("1,1,10,20,30,80,1,1,1.0\n")  # MOT17 ground truth: 9 columns
    (tmp_path / "split_gt.txt").write_text("1,1,10,20,30,80,1,-1,-1,-1\n")  # as mctrt.splits writes it: a result's shape
    (tmp_path / "notes.txt").write_text("camera a is the door\n")
    first = ResultWriter(tmp_path, ["a"])
    add(first, 1, 3, 1, 0)
    first.close()
    second = ResultWriter(tmp_path, ["a"])
    second.close()
    assert sorted(p.name for p in second.previous.iterdir()) == [".mctrt-results", "a.txt", "events.jsonl", "world.txt"]
    assert (tmp_path / "gt.txt").read_text().startswith("1,1,10") and (tmp_path / "notes.txt").exists()
    assert (tmp_path / "split_gt.txt").exists()


def test_a_manifest_naming_a_path_out_of_the_folder_moves_nothing_outside(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "precious.txt").write_text("keep me")
    (tmp_path / "out" / ".mctrt-results").write_text("../precious.txt\n.mctrt-results\n")  # itself: moved twice
    ResultWriter(tmp_path / "out", ["a"]).close()
    assert (tmp_path / "precious.txt").read_text() == "keep me"
