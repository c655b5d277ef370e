"""ByteTracker behaviour on small hand-made scenes: confirmation, IDs, the lost buffer, bad input,
threads. Frame-by-frame equality with the reference implementation is in tests/parity.
"""

import sys
import threading
import time

import numpy as np
import pytest

from mctrt import ByteTrackConfig, ByteTracker, KalmanFilter, Tracks


def frame(*people, score=0.9):
    """Detections for one frame: each person is an xyxy tuple, or (xyxy, score)."""
    boxes, scores = [], []
    for p in people:
        xyxy, s = (p, score) if len(p) == 4 else p
        boxes.append(xyxy)
        scores.append(s)
    return np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32)


A = (100, 100, 140, 200)
B = (400, 100, 440, 200)
EMPTY = frame()


def ids(tracks: Tracks) -> list[int]:
    return tracks.track_id.tolist()


def test_ids_start_at_one_in_every_tracker():
    first, second = ByteTracker(), ByteTracker()
    assert ids(first.update(*frame(A))) == [1]
    first.update(*frame(A, B))
    assert ids(first.update(*frame(A, B))) == [1, 2]
    assert ids(second.update(*frame(B))) == [1]


def test_first_frame_confirms_at_once_later_tracks_on_their_second_frame():
    tracker = ByteTracker()
    assert ids(tracker.update(*frame(A))) == [1]
    assert ids(tracker.update(*frame(A, B))) == [1]  # B is tentative
    assert ids(tracker.update(*frame(A, B))) == [1, 2]


def test_tentative_track_not_matched_on_its_second_frame_is_dropped():
    tracker = ByteTracker()
    tracker.update(*frame(A))
    tracker.update(*frame(A, B))
    tracker.update(*frame(A))  # B missed once while tentative: gone
    assert ids(tracker.update(*frame(A, B))) == [1]
    assert ids(tracker.update(*frame(A, B))) == [1, 2]


def test_low_score_detection_extends_a_track_but_never_starts_one():
    tracker = ByteTracker()
    tracker.update(*frame(A))
    tracks = tracker.update(*frame((A, 0.3)))
    assert ids(tracks) == [1]
    assert tracks.score.tolist() == pytest.approx([0.3])
    for _ in range(5):
        assert ids(tracker.update(*frame((A, 0.3), (B, 0.3)))) == [1]


def test_score_between_track_and_new_track_thresholds_starts_nothing():
    config = ByteTrackConfig()
    between = (config.track_thresh + config.new_track_thresh) / 2
    tracker = ByteTracker(config)
    for _ in range(5):
        assert len(tracker.update(*frame((B, between)))) == 0


def test_scores_at_or_below_low_thresh_are_ignored():
    tracker = ByteTracker()
    tracker.update(*frame(A))
    assert len(tracker.update(*frame((A, ByteTrackConfig().low_thresh)))) == 0
    assert tracker.num_lost == 1


@pytest.mark.parametrize(("gap", "same_id"), [(1, True), (10, True), (11, False), (20, False)])
def test_lost_track_keeps_its_id_only_within_the_buffer(gap, same_id):
    # 10 fps: track_buffer 30 (at 30 fps) keeps a lost track for 10 frames after it was last seen.
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10))
    for _ in range(5):
        tracker.update(*frame(A))
    for _ in range(gap):
        assert len(tracker.update(*EMPTY)) == 0
    assert tracker.num_lost == (1 if gap <= 10 else 0)
    back = tracker.update(*frame(A))
    if same_id:
        assert ids(back) == [1]
    else:
        assert ids(back) == []  # a new, tentative track
        assert ids(tracker.update(*frame(A))) == [2]


@pytest.mark.parametrize(("duplicate_iou", "lost_after"), [(0.85, 0), (1.0, 1)])
def test_double_detection_of_one_person_leaves_one_track_with_the_older_id(duplicate_iou, lost_after):
    # A detector firing twice on one person for two frames starts a second track (ID 2). When the
    # double stops, ID 2 goes unmatched and would be kept as lost on top of ID 1; the duplicate rule
    # drops it at once (duplicate_iou = 1.0 switches the rule off, and ID 2 lingers as lost).
    a_shifted = (102, 101, 142, 201)
    tracker = ByteTracker(ByteTrackConfig(duplicate_iou=duplicate_iou))
    for _ in range(5):
        tracker.update(*frame(A))
    tracker.update(*frame(A, a_shifted))
    assert ids(tracker.update(*frame(A, a_shifted))) == [1, 2]
    assert ids(tracker.update(*frame(A))) == [1]
    assert (tracker.num_tracked, tracker.num_lost) == (1, lost_after)


def test_returned_box_and_index_are_the_matched_detection():
    tracker = ByteTracker()
    tracker.update(*frame(A, B))
    xyxy, scores = frame((B, 0.8), (A, 0.95))
    tracks = tracker.update(xyxy, scores)
    for row in range(len(tracks)):
        d = tracks.det_index[row]
        np.testing.assert_array_equal(tracks.xyxy[row], xyxy[d])
        assert tracks.score[row] == scores[d]
    assert sorted(zip(tracks.det_index.tolist(), ids(tracks))) == [(0, 2), (1, 1)]


def test_boxes_without_area_are_ignored():
    tracker = ByteTracker()
    assert ids(tracker.update(*frame(A, (300, 100, 300, 200), (500, 100, 540, 100)))) == [1]
    assert tracker.num_tracked == 1


def test_empty_frame_returns_typed_empty_arrays_and_marks_tracks_lost():
    tracker = ByteTracker()
    tracker.update(*frame(A))
    tracks = tracker.update(*EMPTY)
    assert len(tracks) == 0
    assert tracks.xyxy.shape == (0, 4) and tracks.xyxy.dtype == np.float32
    assert tracks.track_id.dtype == np.int64 and tracks.det_index.dtype == np.int64
    assert tracker.num_tracked == 0 and tracker.num_lost == 1


@pytest.mark.parametrize(
    ("xyxy", "scores", "message"),
    [
        (np.zeros((2, 4), np.float64), np.zeros(2, np.float32), r"xyxy must be a float32 numpy array of shape \(N, 4\)"),
        (np.zeros((2, 5), np.float32), np.zeros(2, np.float32), r"got float32 array of shape \(2, 5\)"),
        (np.zeros((2, 4), np.float32), np.zeros(3, np.float32), "scores has 3 entries but xyxy has 2 boxes"),
        (np.zeros((2, 4), np.float32), np.zeros((2, 1), np.float32), r"scores must be a float32 numpy array of shape \(N,\)"),
        (np.array([[0, 0, 1, np.nan]], np.float32), np.ones(1, np.float32), r"xyxy\[0\] has a non-finite coordinate"),
        (np.array([[0, 0, 1, 1], [5, 5, 1, 9]], np.float32), np.ones(2, np.float32), r"xyxy\[1\] = .* is inverted"),
        (np.array([[0, 0, 1, 1]], np.float32), np.array([np.inf], np.float32), r"scores\[0\] is not finite"),
        ("boxes", np.ones(1, np.float32), "xyxy must be a float32 numpy array.*got a str"),
    ],
)
def test_bad_input_raises_value_error_and_leaves_the_tracker_unchanged(xyxy, scores, message):
    tracker = ByteTracker()
    tracker.update(*frame(A))
    with pytest.raises(ValueError, match=message):
        tracker.update(xyxy, scores)
    assert tracker.frame_id == 1
    assert ids(tracker.update(*frame(A))) == [1]


def test_reset_forgets_tracks_restarts_ids_and_names_the_tracks_it_ended():
    tracker = ByteTracker()
    tracker.update(*frame(A))
    tracker.update(*frame(A, B))
    tracker.update(*frame(A, B))
    assert sorted(tracker.reset().tolist()) == [1, 2]
    assert tracker.frame_id == 0 and tracker.num_tracked == 0
    assert ids(tracker.update(*frame(B))) == [1]


def test_a_lost_track_is_reported_removed_once_in_the_update_that_drops_it():
    config = ByteTrackConfig(track_buffer=30, frame_rate=3)  # a lost track is kept 3 updates
    tracker = ByteTracker(config)
    tracker.update(*frame(A, B))
    removed = []
    for _ in range(6):
        tracks = tracker.update(*frame(B))
        assert ids(tracks) == [2]
        removed.append(tracks.removed_id.tolist())
    assert removed == [[], [], [], [1], [], []]  # lost on update 2, removed after 3 more
    assert tracker.num_lost == 0


def test_tentative_tracks_are_never_reported_removed():
    tracker = ByteTracker()
    tracker.update(*frame(A))
    tracker.update(*frame(A, B))  # B tentative
    assert tracker.update(*frame(A)).removed_id.tolist() == []  # B dropped before it had an ID


def test_the_dropped_twin_of_a_duplicate_pair_is_reported_removed(synthetic_scene):
    """Every ID that stops being output is reported removed exactly once, and only after its last
    output (duplicates included: the synthetic scene doubles some detections)."""
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10))
    last_seen, removed_at = {}, {}
    for step, (xyxy, scores) in enumerate(synthetic_scene(seed=5, frames=200)):
        tracks = tracker.update(xyxy, scores)
        for tid in tracks.track_id.tolist():
            assert tid not in removed_at, f"track {tid} output after its removal"
            last_seen[tid] = step
        for tid in tracks.removed_id.tolist():
            assert tid not in removed_at and tid in last_seen
            removed_at[tid] = step
    alive = set(tracker.reset().tolist())
    assert alive.isdisjoint(removed_at) and alive | set(removed_at) == set(last_seen)


def crowd(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n non-overlapping boxes on a grid."""
    k = int(np.ceil(np.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(k), np.arange(k)), axis=-1).reshape(-1, 2)[:n] * 50.0
    return np.c_[grid, grid + 40].astype(np.float32), np.full(n, 0.9, np.float32)


def test_update_releases_the_gil():
    # With a huge switch interval the interpreter never preempts the main thread, so the counter
    # thread can only run while update() has released the GIL. It sleeps between increments so that
    # it hands the GIL straight back when update() returns.
    xyxy, scores = crowd(1500)
    tracker = ByteTracker()
    tracker.update(xyxy, scores)
    counter = [0]
    started, stop = threading.Event(), threading.Event()

    def spin():
        started.set()
        while not stop.is_set():
            counter[0] += 1
            time.sleep(0.0002)

    old_interval = sys.getswitchinterval()
    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    started.wait()
    sys.setswitchinterval(1000.0)
    try:
        before = counter[0]
        start = time.perf_counter()
        # until the other thread ran (it can, only while update releases the GIL), or 10 s on a loaded machine
        while counter[0] == before and time.perf_counter() - start < 10.0:
            tracker.update(xyxy, scores)
        during = counter[0] - before
    finally:
        sys.setswitchinterval(old_interval)
        stop.set()
        thread.join()
    assert during > 0


def test_concurrent_updates_on_one_tracker_are_serialised(synthetic_scene):
    frames = synthetic_scene(seed=3, frames=100)
    tracker = ByteTracker()

    def run():
        for xyxy, scores in frames:
            tracker.update(xyxy, scores)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tracker.frame_id == 4 * len(frames)


# -- time and distance: people who move more than their width between processed frames ---------------

def walker(step_px: float, frames: int, every: int = 1, t0: float = 100.0, fps: float = 10.0):
    """A 30 x 80 px person walking right at step_px per frame of a fps video; every `every`-th frame
    kept: (capture time, detections) per kept frame."""
    return [(t0 + k / fps, frame((50 + step_px * k, 100, 80 + step_px * k, 180)))
            for k in range(0, frames, every)]


@pytest.mark.parametrize(("timed", "gate", "one_id"), [(False, 0.0, False), (True, 0.0, False), (True, 9.21, True)])
def test_a_walker_seen_every_third_frame_keeps_one_id_only_with_times_and_the_distance_gate(timed, gate, one_id):
    # 12 px a frame, 36 px between kept frames: more than the box's 30 px width, so no IoU at all
    # until the filter has learnt the speed; the distance association bridges those first steps
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10, distance_gate=gate))
    reported = [ids(tracker.update(xyxy, scores, t if timed else None)) for t, (xyxy, scores) in walker(12.0, 60, every=3)]
    assert all(r == [1] for r in reported) == one_id, reported  # in every kept frame, under ID 1


def test_with_times_the_filter_predicts_across_the_gap():
    # the same walker, learnt at 10 fps, then two frames dropped: IoU alone matches it only if the
    # prediction moved it three frames on
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10))
    steps = walker(6.0, 30)
    for t, (xyxy, scores) in steps[:20]:
        tracker.update(xyxy, scores, t)
    t, (xyxy, scores) = steps[29]  # 9 frames later: 54 px on, beyond the box's width
    assert ids(tracker.update(xyxy, scores, t)) == [1]
    untimed = ByteTracker(ByteTrackConfig(frame_rate=10))
    for _, (xyxy, scores) in steps[:20]:
        untimed.update(xyxy, scores)
    assert ids(untimed.update(*steps[29][1])) == []  # predicted one frame on: no overlap, a new tentative track


def test_with_times_a_lost_track_is_kept_for_track_buffer_over_30_seconds_whatever_the_frames():
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10, track_buffer=30))  # 1 s
    tracker.update(*frame(A), 0.0)
    removed = [tracker.update(*EMPTY, t).removed_id.tolist() for t in (0.5, 1.0, 1.1, 1.6)]
    assert removed == [[], [], [1], []]  # lost at 0.5 s, last seen at 0 s: kept until more than 1 s has passed


@pytest.mark.parametrize("distance_gate", [0.0, 9.21])
def test_with_times_a_track_unseen_for_longer_than_the_buffer_is_gone_even_if_it_was_followed_until_then(distance_gate):
    """A camera stalls for 100 s while someone was followed: the next person anywhere near was matched
    to the old track, as if it had just been seen (and, with the distance gate, anyone of their height)."""
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10, track_buffer=30, distance_gate=distance_gate))  # 1 s
    for k in range(5):
        tracker.update(*frame((100 + 2 * k, 100, 140 + 2 * k, 200)), k / 10)
    after = tracker.update(*frame((112, 100, 152, 200)), 100.4)
    assert ids(after) == [] and after.removed_id.tolist() == [1] and tracker.num_lost == 0


def test_with_times_a_track_lost_after_a_gap_longer_than_the_buffer_goes_in_that_update():
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10, track_buffer=30))  # 1 s
    tracker.update(*frame(A), 0.0)
    assert tracker.update(*EMPTY, 1.1).removed_id.tolist() == [1] and tracker.num_lost == 0


@pytest.mark.parametrize("frame_rate", [2.5, 12.5, 30.0])
def test_with_times_the_buffer_is_track_buffer_over_30_seconds_at_any_frame_rate(frame_rate):
    # frame_rate / 30 * track_buffer frames was truncated: 0.8 s at 2.5 fps, 0.96 s at 12.5 fps
    tracker = ByteTracker(ByteTrackConfig(frame_rate=frame_rate, track_buffer=30))
    tracker.update(*frame(A), 0.0)
    removed = [tracker.update(*EMPTY, t).removed_id.tolist() for t in (0.5, 0.99, 1.01)]
    assert removed == [[], [], [1]]


def test_with_times_a_time_that_goes_back_does_not_make_the_next_gap_count_twice():
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10, track_buffer=30))  # 1 s
    tracker.update(*frame(A), 0.0)
    tracker.update(*frame(A), 0.1)
    removed = [tracker.update(*EMPTY, t).removed_id.tolist() for t in (0.6, 0.0, 0.7, 1.0, 1.2)]
    assert removed == [[], [], [], [], [1]]  # last seen at 0.1 s: kept until past 1.1 s


def test_a_track_confirmed_and_dropped_as_a_duplicate_in_one_update_uses_no_id():
    def b(x):
        return (x, 100, x + 50, 250)

    tracker = ByteTracker(ByteTrackConfig(match_thresh=0.5, duplicate_iou=0.3))
    for _ in range(3):
        tracker.update(*frame(b(100)))
    tracker.update(*frame(b(100), b(121)))  # a second box beside the first: a tentative track
    dropped = tracker.update(*frame(b(121)))  # confirmed, and dropped: the lost track 1 overlaps it
    assert ids(dropped) == [] and dropped.removed_id.tolist() == []
    tracker.update(*frame(b(400)))
    assert ids(tracker.update(*frame(b(400)))) == [2]


def test_the_distance_gate_acts_after_skipped_frames_and_needs_heights_that_agree():
    def learnt():
        tracker = ByteTracker(ByteTrackConfig(frame_rate=10, distance_gate=1e6))  # any distance
        for k in range(5):
            tracker.update(*frame((100 + 2 * k, 100, 130 + 2 * k, 180)), k / 10)
        return tracker

    tracker = learnt()
    assert ids(tracker.update(*frame((200, 100, 230, 180)), 0.5)) == []  # the next frame: IoU alone decides
    tracker = learnt()
    far = tracker.update(*frame((200, 100, 230, 180)), 0.7)  # two frames skipped; no overlap, same height
    assert ids(far) == [1]
    tall = tracker.update(*frame((300, 20, 360, 180)), 1.0)  # twice the height: someone else
    assert ids(tall) == [] and tracker.num_tracked == 1  # a tentative track, not track 1


def a_near_person_stops_in_front_of_a_far_one(gate: float) -> list[dict[str, int]]:
    """A far person (18 x 50 px) walking right at 2 px a frame; a nearer, taller one (28 x 70 px, feet
    20 px lower) walking left at 8 px a frame, missed by the detector for 4 frames in which they stop,
    in front of the far one, who is then hidden. Per frame, the ID reported on each person's box."""
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10, motion_gate=gate))
    reported = []
    for k in range(18):
        far = (214 + 2 * k, 100, 232 + 2 * k, 150)
        near = (330 - 8 * k, 100, 358 - 8 * k, 170) if k < 10 else (236, 100, 264, 170)
        people = {"far": far, "near": near} if k < 10 else {"far": far} if k < 14 else {"near": near}
        tracks = tracker.update(*frame(*people.values()), k / 10)
        by_row = dict(zip(tracks.det_index.tolist(), ids(tracks)))
        reported.append({name: by_row.get(row, 0) for row, name in enumerate(people)})
    return reported


def test_the_motion_gate_keeps_a_track_off_a_taller_person_who_stops_in_front_of_it():
    # when the near one is seen again, their lost track, predicted to walk on, overlaps their box
    # less than the far one's track does, and two tracks could take it
    gated = a_near_person_stops_in_front_of_a_far_one(9.49)
    assert [r["far"] for r in gated[:10]] == [1] * 10 and [r["near"] for r in gated[:10]] == [2] * 10
    assert [r["near"] for r in gated[14:]] == [2] * 4, gated  # their own track takes it back
    ungated = a_near_person_stops_in_front_of_a_far_one(0.0)  # IoU alone: the far one's track takes it
    assert [r["near"] for r in ungated[14:]] == [1] * 4, ungated


def test_a_box_only_one_track_could_take_is_left_to_iou():
    # a seated, half-hidden person's boxes jump more than the filter's spread (two of these steps lie
    # beyond 9.49: 12.1 and 12.4, by KalmanFilter.gating_distance): with no one else near, the gate
    # does not judge them
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10, motion_gate=9.49))
    heights = [270, 270, 270, 270, 270, 300, 220, 290, 210, 280, 230, 290]
    reported = [ids(tracker.update(*frame((140, 460 - h, 277, 460)), k / 10)) for k, h in enumerate(heights)]
    assert reported == [[1]] * len(heights)


def test_the_motion_gate_keeps_two_close_walkers_with_jittery_boxes():
    # side by side, each box overlaps both tracks, so the gate judges every pair: boxes whose edges
    # move by 2 px (sd) from frame to frame still go to their own person
    rng = np.random.default_rng(7)
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10, motion_gate=9.49))
    reported = []
    for k in range(100):
        people = [np.array([x + 3 * k, 100, x + 30 + 3 * k, 180], np.float32) + rng.normal(0, 2.0, 4).astype(np.float32)
                  for x in (100, 120)]
        tracks = tracker.update(*frame(*map(tuple, people)), k / 10)
        by_row = dict(zip(tracks.det_index.tolist(), ids(tracks)))
        reported.append([by_row.get(row, 0) for row in range(2)])
    assert all(r == [1, 2] for r in reported), reported


def test_velocity_noise_is_the_motion_models_and_lets_it_follow_a_change_of_speed_sooner():
    """The filter's process noise on the velocities (ByteTrackConfig.velocity_noise; the PETS09
    configs double ByteTrack's 1/160): each predict adds (noise x height)^2 x dt to their variance, and
    a person who breaks from 2 into 8 px a frame is caught up with in fewer frames."""
    h = 100.0
    for noise in (1 / 160, 0.0125):
        mean, cov = KalmanFilter(noise).initiate(np.array([100.0, 200.0, 0.4, h]))
        _, after = KalmanFilter(noise).predict(mean, cov, 0.5)
        assert after[4, 4] - cov[4, 4] == pytest.approx((noise * h) ** 2 * 0.5)

    def lags(noise: float) -> np.ndarray:
        kf = KalmanFilter(noise)
        mean, cov = kf.initiate(np.array([100.0, 200.0, 0.4, h]))
        x, out = 100.0, []
        for k in range(1, 30):
            x += 2.0 if k < 15 else 8.0
            mean, cov = kf.predict(mean, cov)
            out.append(abs(mean[0] - x))  # how far the prediction is from where they are
            mean, cov = kf.update(mean, cov, np.array([x, 200.0, 0.4, h]))
        return np.array(out[14:])

    for bad in (0.0, -0.01, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="velocity_noise must be a positive fraction"):
            KalmanFilter(bad)
    official, doubled = lags(1 / 160), lags(0.0125)
    assert official[0] == pytest.approx(doubled[0], abs=0.5)  # both expected 2 px a frame
    assert doubled[1:8].sum() < 0.8 * official[1:8].sum(), (doubled, official)  # 30.8 against 43.3 px


@pytest.mark.parametrize(("noise", "found"), [(1 / 160, False), (0.0125, True)])
def test_the_trackers_velocity_noise_widens_the_spread_a_lost_person_is_looked_for_in(noise, found):
    """The tracker's own filter takes ByteTrackConfig.velocity_noise: a walker (2 px a frame) next seen
    after 0.4 s, 48 px further on than predicted (no overlap left for IoU), is found by distance_gate
    within the spread of the doubled noise (it reaches about 52 px) and not ByteTrack's (about 44)."""
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10, velocity_noise=noise, distance_gate=9.21))
    for k in range(10):
        assert ids(tracker.update(*frame((102 + 2 * k, 100, 142 + 2 * k, 200)), k / 10)) == [1]
    x = 120 + 8 + 48
    assert ids(tracker.update(*frame((x, 100, x + 40, 200)), 1.3)) == ([1] if found else [])


def test_a_time_that_goes_back_counts_as_no_time_and_infinite_times_are_refused():
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10))
    tracker.update(*frame(A), 5.0)
    assert ids(tracker.update(*frame(A), 4.0)) == [1]
    with pytest.raises(ValueError, match="time must be finite seconds"):
        tracker.update(*frame(A), float("inf"))


def first_ids(confirm_frames: int, scores: list[float]) -> list[list[int]]:
    """IDs reported each frame for one person standing still whose boxes score `scores` in turn
    (new_track_thresh 0.8, track_thresh 0.55: a 0.6 box is high but never confident)."""
    tracker = ByteTracker(ByteTrackConfig(frame_rate=10, track_thresh=0.55, new_track_thresh=0.8,
                                          confirm_frames=confirm_frames))
    return [ids(tracker.update(*frame((A, s)) if s else EMPTY, k / 10)) for k, s in enumerate(scores)]


def test_a_person_never_scored_confident_is_tracked_once_seen_confirm_frames_in_a_row():
    steady = [0.0, 0.6, 0.6, 0.6, 0.6, 0.6]
    assert first_ids(3, steady) == [[], [], [], [1], [1], [1]]  # seen in frames 2-4: an ID from the third
    assert first_ids(0, steady) == [[]] * 6  # ByteTrack's rule: nobody ever starts a track


def test_a_weak_box_that_does_not_persist_starts_no_track_and_confident_ones_confirm_as_before():
    assert first_ids(3, [0.0, 0.6, 0.6, 0.0, 0.6, 0.6, 0.0]) == [[]] * 7  # twice two frames: never three
    confident = [0.0, 0.9, 0.9, 0.9]
    assert first_ids(3, confident) == first_ids(0, confident) == [[], [], [1], [1]]  # second frame, as ByteTrack
