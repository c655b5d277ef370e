"""Pipeline.process with fake models on drawn scenes: people are coloured rectangles on a black floor,
a colour detector finds them and an embedder describes them by their colour. The tracker alone ends
tracks (dropped frames do not), IDs survive occlusions, two calibrated cameras agree on one ID per
person, results and world.txt follow (short gaps filled), and a floor zone counts a person once."""

from __future__ import annotations

import dataclasses
import time

import cv2
import numpy as np
import pytest

from mctrt.config import OutputConfig, StoreConfig, config_from_dict
from mctrt.pipeline import Pipeline
from mctrt.store import EventStore
from mctrt.types import Detections, Frame

PIXELS_PER_M = 50.0  # the drawn floor: straight from above, 50 px a metre
CANVAS = (300, 400)  # H, W
PERSON_PX = (20, 60)  # w, h
COLOURS = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255)]


class ColourDetector:
    """Every coloured blob is a person (score 0.9), in each image of the batch."""

    def __init__(self) -> None:
        self.batches = 0

    def detect(self, images):
        self.batches += 1
        out = []
        for image in images:
            count, _, stats, _ = cv2.connectedComponentsWithStats((image.max(axis=2) > 0).astype(np.uint8))
            boxes = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in stats[1:count]], np.float32).reshape(-1, 4)
            out.append(Detections(boxes, np.full(len(boxes), 0.9, np.float32), np.zeros(len(boxes), np.int64)))
        return out


class ColourEmbedder:
    """A person's embedding is the unit vector of their mean colour."""

    def embed(self, images, boxes_per_image):
        rows = []
        for image, boxes in zip(images, boxes_per_image):
            for x0, y0, x1, y1 in boxes.astype(int):
                crop = image[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
                mean = crop[crop.max(axis=1) > 0].mean(axis=0) if len(crop) else np.ones(3, np.float32)
                rows.append(mean / np.linalg.norm(mean))
        return np.array(rows, np.float32).reshape(-1, 3)


def draw(people: dict[int, tuple[float, float]]) -> np.ndarray:
    """The canvas with each person (index -> floor x, y in metres, the foot point) as a rectangle."""
    canvas = np.zeros((*CANVAS, 3), np.uint8)
    w, h = PERSON_PX
    for index, (x, y) in people.items():
        u, v = int(round(x * PIXELS_PER_M)), int(round(y * PIXELS_PER_M))
        cv2.rectangle(canvas, (u - w // 2, v - h), (u + w // 2, v - 1), COLOURS[index], -1)
    return canvas


def config(cameras: dict[str, int], tmp_path, calibrated: bool = True, events: dict | None = None):
    """A pipeline config for cameras given as name -> first canvas column of their 250 px wide view."""
    inputs = []
    for name, x0 in cameras.items():
        entry = {"camera_id": name, "path": str(tmp_path / f"{name}.mp4")}
        if calibrated:  # this view's pixels -> floor metres
            entry["calibration"] = {"image_to_floor": [[1 / PIXELS_PER_M, 0, x0 / PIXELS_PER_M],
                                                       [0, 1 / PIXELS_PER_M, 0], [0, 0, 1]]}
        inputs.append(entry)
    data = {"inputs": inputs, "modules": {"detector": {"model": str(tmp_path / "unused.onnx")},
                                          "reid": {"model": str(tmp_path / "unused.onnx"), "min_box_height": 40,
                                                   "min_box_width": 10}},
            "association": {"maturity": 1}, "store": {"path": None}, "events": events or {}}
    return config_from_dict(data, tmp_path)


def pipeline(cfg, tmp_path, **kw) -> Pipeline:
    return Pipeline(cfg, offline=True, detector=ColourDetector(), embedder=ColourEmbedder(), use_store=False, **kw)


def frames_at(step: int, index: int, people, cameras: dict[str, int], interval_s: float = 0.1) -> list[Frame]:
    canvas = draw(people)
    t = 1000.0 + interval_s * step
    return [Frame(name, index, time.monotonic(), t, np.ascontiguousarray(canvas[:, x0:x0 + 250]))
            for name, x0 in cameras.items()]


def ids_of(results) -> dict[str, list[int]]:
    return {r.camera_id: sorted(r.global_ids.tolist()) for r in results}


@pytest.mark.parametrize("calibrated", [False, True], ids=["appearance-only", "on-the-floor"])
def test_dropped_frames_do_not_end_a_track_its_tracker_keeps(tmp_path, calibrated):
    """Live mode drops frames: three of every four here. The person is hidden for 8 steps (32 decoded
    frames, more than the 10-frame lost buffer counted in frames) but only 8 tracker updates, so the
    tracker brings track 1 back, and its global ID stays the same."""
    cams = {"cam": 0}
    p = pipeline(config(cams, tmp_path, calibrated), tmp_path)
    seen = []
    for step in range(30):
        hidden = 10 <= step < 18
        people = {} if hidden else {0: (1.0 + 0.02 * step, 3.0)}
        result = p.process(frames_at(step, 1 + 4 * step, people, cams))[0]
        if not hidden:
            seen.append((result.tracks.track_id.tolist(), result.global_ids.tolist()))
    assert {tuple(t) for t, _ in seen[2:]} == {(1,)}  # the tracker kept its track
    assert {tuple(g) for _, g in seen[2:]} == {(1,)}  # and so did everything downstream


def test_a_track_the_tracker_removes_is_released_everywhere(tmp_path):
    cams = {"cam": 0}
    p = pipeline(config(cams, tmp_path), tmp_path, output_dir=tmp_path / "out")
    for step in range(5):
        p.process(frames_at(step, step + 1, {0: (1.0, 3.0)}, cams))
    assert ("cam", 1) in p.scene.associator.links
    for step in range(5, 20):  # gone longer than the tracker's lost buffer (10 updates)
        p.process(frames_at(step, step + 1, {}, cams))
    assert ("cam", 1) not in p.scene.associator.links and not p.scene.associator.identities[1].tracks
    assert p.perception.trackers["cam"].num_lost == 0
    p.close()
    rows = np.loadtxt(tmp_path / "out/cam.txt", delimiter=",", ndmin=2)
    assert rows[:, 0].tolist() == [1, 2, 3, 4, 5] and set(rows[:, 1]) == {1}


def test_a_person_hidden_longer_than_the_tracker_remembers_gets_their_id_back_on_the_floor(tmp_path):
    cams = {"cam": 0}
    p = pipeline(config(cams, tmp_path), tmp_path)
    gids = []
    for step in range(40):
        walking = (1.0 + 0.1 * step, 3.0)  # 1 m/s, hidden for 1.5 s (15 updates: the tracker lets go)
        people = {} if 10 <= step < 25 else {0: walking, 1: (4.0, 1.5)}
        result = p.process(frames_at(step, step + 1, people, cams))[0]
        if people:
            gids.append(dict(zip(result.tracks.track_id.tolist(), result.global_ids.tolist())))
    before, after = gids[9], gids[-1]
    assert len(after) == 2 and set(after) != set(before)  # the walker came back on a new track
    assert sorted(after.values()) == sorted(before.values()) == [1, 2]  # under the same global ID


def test_rows_whose_link_is_in_doubt_are_held_back_from_the_results_until_the_doubt_ends(tmp_path):
    """The scene passes the rows the associator doubts to the results writer as held back: they are
    missing from the file while the run goes and come back under the ID the doubt ended with."""
    cams = {"cam": 0}
    p = pipeline(config(cams, tmp_path), tmp_path, output_dir=tmp_path / "out")
    doubted = {5, 6, 7}
    real = p.scene.associator.in_doubt
    for step in range(12):
        p.scene.associator.in_doubt = (lambda cam, tids: np.ones(len(tids), bool)) if step in doubted else real
        p.process(frames_at(step, step + 1, {0: (1.0 + 0.05 * step, 3.0)}, cams))
    live = np.loadtxt(tmp_path / "out/cam.txt", delimiter=",", ndmin=2)
    p.close()
    final = np.loadtxt(tmp_path / "out/cam.txt", delimiter=",", ndmin=2)
    assert not {6, 7, 8} & set(live[:, 0].tolist()) and {5, 9} <= set(live[:, 0].tolist())
    assert {6, 7, 8} <= set(final[:, 0].tolist()) and set(final[:, 1]) == {1}


@pytest.mark.parametrize("fill", [2.0, 0.0])
def test_the_results_file_fills_a_persons_short_gap_when_asked(tmp_path, fill):
    """A walker hidden for 15 frames comes back on a new track under the same ID: with
    output.fill_gaps_s 2 (20 frames at 10 frames/s) the results file has a box for each hidden frame (score 0, on the line
    between where they were last and next seen); with 0 it has none."""
    cams = {"cam": 0}
    cfg = dataclasses.replace(config(cams, tmp_path), output=OutputConfig(fill_gaps_s=fill))
    p = pipeline(cfg, tmp_path, output_dir=tmp_path / "out")
    hidden = range(10, 25)
    for step in range(40):
        p.process(frames_at(step, step + 1, {} if step in hidden else {0: (1.0 + 0.05 * step, 3.0)}, cams))
    p.close()
    rows = np.loadtxt(tmp_path / "out/cam.txt", delimiter=",", ndmin=2)
    assert set(rows[:, 1]) == {1}
    missing = [s + 1 for s in [*hidden, 25]]  # the new track is written from its second frame on
    filled = rows[rows[:, 6] == 0]
    assert rows[rows[:, 6] > 0, 0].tolist() == [f for f in range(1, 41) if f not in missing]
    assert filled[:, 0].tolist() == (missing if fill else [])
    truth_left = PIXELS_PER_M * (1.0 + 0.05 * (filled[:, 0] - 1)) - PERSON_PX[0] // 2
    assert (np.abs(filled[:, 2] - truth_left) <= 1.5).all()


@pytest.mark.parametrize(("fps", "filled"), [(30.0, True), (10.0, False)])
def test_the_results_windows_are_seconds_at_the_cameras_frame_rate(tmp_path, caplog, fps, filled):
    """output.fill_gaps_s 1 and a walker hidden for 15 frames: 0.5 s at 30 frames/s, filled; 1.5 s at
    10, not. The rate is the camera's, measured from its frame numbers and capture times."""
    cams = {"cam": 0}
    cfg = dataclasses.replace(config(cams, tmp_path), output=OutputConfig(fill_gaps_s=1.0))
    p = pipeline(cfg, tmp_path, output_dir=tmp_path / "out")
    hidden = range(20, 35)
    with caplog.at_level("INFO", logger="mctrt.scene"):
        for step in range(50):
            p.process(frames_at(step, step + 1, {} if step in hidden else {0: (1.0 + 0.5 * step / fps, 3.0)}, cams, 1 / fps))
    p.close()
    rows = np.loadtxt(tmp_path / "out/cam.txt", delimiter=",", ndmin=2)
    assert set(rows[:, 1]) == {1}
    assert (rows[rows[:, 6] == 0, 0].tolist() == [s + 1 for s in hidden] if filled else (rows[:, 6] > 0).all())
    assert f"camera cam gives {fps:g} frames/s: fill_gaps_s and smooth_s count {round(fps)} and" in caplog.text


@pytest.mark.parametrize("frames", [
    [(k + 1, 0.001 * k) for k in range(8)] + [(k + 9, 0.047 + 0.04 * k) for k in range(15)]  # a burst from a buffer,
    + [(k + 24, 5.6 + 0.04 * k) for k in range(15)],  # then a 5 s silence (a reconnection)
    [(3000 + k, 0.04 * k) for k in range(10)] + [(k + 1, 0.4 + 0.04 * k) for k in range(30)],  # a restarted worker
], ids=["burst-and-silence", "restart"])
def test_a_cameras_rate_is_measured_through_a_burst_a_reconnection_and_a_restart(tmp_path, frames):
    """Frames per second between consecutive steps, their median over a second: frames 1 ms apart from
    a buffer, a stream silent for 5 s (its frame numbers going on by one) and frame numbers that start
    again from 1 do not make a 25 frames/s camera anything else."""
    p = pipeline(dataclasses.replace(config({"cam": 0}, tmp_path), output=OutputConfig(fill_gaps_s=2.0)), tmp_path,
                 output_dir=tmp_path / "out")
    for index, t in frames:
        p.process([Frame("cam", index, time.monotonic(), 1000.0 + t, draw({0: (1.0, 3.0)})[:, :250].copy())])
    assert p.scene.writer.fill_gaps_frames == 50  # 20 at the 10 frames/s assumed until measured
    p.close()


def test_a_camera_slower_than_a_frame_a_second_gets_its_own_windows(tmp_path):
    """A frame every 2 s: fill_gaps_s 2 is one of its frames, not the steps' assumed 20."""
    p = pipeline(dataclasses.replace(config({"cam": 0}, tmp_path), output=OutputConfig(fill_gaps_s=2.0)), tmp_path,
                 output_dir=tmp_path / "out")
    for k in range(12):
        p.process([Frame("cam", k + 1, time.monotonic(), 1000.0 + 2.0 * k, draw({0: (1.0, 3.0)})[:, :250].copy())])
    assert p.scene.writer._camera_windows == {"cam": (1, 0)} and p.scene.writer.fill_gaps_frames == 1
    p.close()


def test_world_txts_windows_count_steps_at_the_steps_own_rate(tmp_path):
    """Live, two 10 frames/s cameras whose frames come at different moments are processed in steps of
    one camera each: 20 steps a second. world.txt's gaps (2 s) are then 40 steps; each camera's, 20 frames."""
    cams = {"left": 0, "right": 150}
    p = pipeline(dataclasses.replace(config(cams, tmp_path), output=OutputConfig(fill_gaps_s=2.0)), tmp_path,
                 output_dir=tmp_path / "out")
    for k in range(30):
        for name, offset in (("left", 0.0), ("right", 0.05)):
            canvas = draw({0: (1.0 + 0.01 * k, 3.0)})
            p.process([Frame(name, k + 1, time.monotonic(), 1000.0 + 0.1 * k + offset,
                             np.ascontiguousarray(canvas[:, cams[name]:cams[name] + 250]))])
    writer = p.scene.writer
    assert writer.fill_gaps_frames == 40 and writer._camera_windows == {"left": (20, 2), "right": (20, 2)}
    p.close()


def test_a_run_settling_its_rows_as_it_goes_writes_the_files_of_one_that_keeps_them_all(tmp_path):
    """output.settle_after_s reaches the results writer: with 3 s (30 steps at 10 frames/s; gaps of 0.5 s
    filled, 0.1 s smoothing), 60 steps of a walker hidden for a while and a second walker, the files are
    those of a run keeping every row."""
    cams = {"left": 0, "right": 150}
    for name, settle in (("kept", 0.0), ("settled", 3.0)):
        cfg = dataclasses.replace(config(cams, tmp_path), output=OutputConfig(fill_gaps_s=0.5, smooth_s=0.1, settle_after_s=settle))
        p = pipeline(cfg, tmp_path, output_dir=tmp_path / name)
        for step in range(60):
            people = {1: (7.5 - 0.1 * step, 5.0)} | ({} if 20 <= step < 30 else {0: (0.5 + 0.1 * step, 2.0)})
            p.process(frames_at(step, step + 1, people, cams))
        if name == "settled":
            assert (tmp_path / name / ".mctrt-settled" / "left.txt").stat().st_size > 0  # settled as it went
        p.close()
    for file in ("left.txt", "right.txt", "world.txt"):
        assert (tmp_path / "settled" / file).read_text() == (tmp_path / "kept" / file).read_text(), file
    assert (tmp_path / "kept" / "world.txt").read_text().count("\n") > 60


def test_two_calibrated_cameras_give_each_person_one_id_and_write_results_and_floor_positions(tmp_path):
    cams = {"left": 0, "right": 150}  # views 0-250 and 150-400 of the canvas: 100 px seen by both
    p = pipeline(config(cams, tmp_path), tmp_path, output_dir=tmp_path / "out")
    for step in range(40):
        people = {0: (0.5 + 0.1 * step, 2.0), 1: (7.5 - 0.1 * step, 5.0)}  # crossing the shared part, 1 m/s
        p.process(frames_at(step, step + 1, people, cams))
    p.close()
    rows = {cam: np.loadtxt(tmp_path / f"out/{cam}.txt", delimiter=",", ndmin=2) for cam in cams}
    # every box's ID, by which person it is (walker 0 keeps to y = 2 m, walker 1 to y = 5 m)
    walker_of = {}
    for cam in cams:
        for gid, top, h in rows[cam][:, [1, 3, 5]].tolist():
            person = 0 if (top + h) / PIXELS_PER_M < 3.5 else 1
            walker_of.setdefault(person, set()).add(int(gid))
    assert walker_of == {0: {1}, 1: {2}} or walker_of == {0: {2}, 1: {1}}
    world = np.loadtxt(tmp_path / "out/world.txt", delimiter=",", skiprows=1, ndmin=2)
    assert set(world[:, 2].astype(int)) == {1, 2}
    for frame, gid, x, y in world[:, 1:5].tolist():
        truth = {0: (0.5 + 0.1 * (frame - 1), 2.0), 1: (7.5 - 0.1 * (frame - 1), 5.0)}
        person = 0 if gid in walker_of[0] else 1
        assert np.hypot(x - truth[person][0], y - truth[person][1]) < 0.3


def test_a_floor_zone_seen_by_both_cameras_counts_each_person_once(tmp_path):
    cams = {"left": 0, "right": 150}
    zone = {"name": "middle", "polygon_m": [[3.5, 0], [4.5, 0], [4.5, 6], [3.5, 6]]}
    p = pipeline(config(cams, tmp_path, events={"zones": [zone], "exit_after_s": 0.5}), tmp_path)
    events = []
    p.listeners.append(lambda results, step_events: events.extend(step_events))
    for step in range(40):  # one walker through the middle, which both cameras see
        p.process(frames_at(step, step + 1, {0: (2.5 + 0.1 * step, 2.0)}, cams))
    p.close()
    zone_events = [(e["type"], e["global_id"], e["camera_id"]) for e in events if e["type"].startswith("zone")]
    assert zone_events == [("zone_enter", 1, None), ("zone_leave", 1, None)]
    assert {e["camera_id"] for e in events if e["type"] == "entry"} == {"left", "right"}


def test_a_second_run_into_the_same_store_numbers_its_people_after_the_first_runs(tmp_path, caplog):
    """IDs are never reused within one store: otherwise the first run's person 1 and the second run's
    person 1 would share one identity and one journey. The log says so, with how to start afresh."""
    cams = {"cam": 0}
    cfg = dataclasses.replace(config(cams, tmp_path), store=StoreConfig(path=str(tmp_path / "events.db")))
    runs = []
    for run in range(2):
        with caplog.at_level("INFO", logger="mctrt.scene"):
            p = Pipeline(cfg, offline=True, detector=ColourDetector(), embedder=ColourEmbedder())
        said = [r.getMessage() for r in caplog.records if "earlier runs' people" in r.getMessage()]
        assert said == ([] if run == 0 else [f"store {tmp_path / 'events.db'} holds earlier runs' people: global IDs "
                                             "go on from 3 (--no-store, or another store, starts at 1)"])
        gids = set()
        for step in range(5):
            gids |= set(p.process(frames_at(step, step + 1, {0: (1.0, 3.0), 1: (4.0, 1.5)}, cams))[0].global_ids.tolist())
        p.close()
        runs.append(gids - {0})
    assert runs[0] == {1, 2} and runs[1] == {3, 4}
    store = EventStore(tmp_path / "events.db")
    assert sorted(i["global_id"] for i in store.identities()) == [1, 2, 3, 4] and store.highest_global_id() == 4
    store.close()


def test_visits_a_killed_run_left_open_are_closed_by_the_next_run(tmp_path):
    """A run killed mid-way leaves entries without exits in the store; the next run into it closes
    each with an exit marked reason "unclosed", at the person's last stored event, so every entry
    has exactly one exit."""
    cams = {"left": 0, "right": 150}
    cfg = dataclasses.replace(config(cams, tmp_path), store=StoreConfig(path=str(tmp_path / "events.db")))
    killed = Pipeline(cfg, offline=True, detector=ColourDetector(), embedder=ColourEmbedder())
    for step in range(6):
        killed.process(frames_at(step, step + 1, {0: (2.5 + 0.1 * step, 3.0), 1: (6.5, 1.5)}, cams))
    # no close(): the process died here
    store = EventStore(tmp_path / "events.db")
    entries = [e for e in store.events(limit=1000) if e["type"] == "entry"]
    assert len(entries) >= 3 and not [e for e in store.events(limit=1000) if e["type"] == "exit"]
    last_time = {}
    for e in store.events(limit=1000):
        last_time[e["global_id"]] = max(e["time"], last_time.get(e["global_id"], e["time"]))
    Pipeline(cfg, offline=True, detector=ColourDetector(), embedder=ColourEmbedder()).close()
    events = store.events(limit=1000)
    exits = [e for e in events if e["type"] == "exit"]
    assert sorted((e["global_id"], e["camera_id"]) for e in exits) == sorted((e["global_id"], e["camera_id"]) for e in entries)
    assert {e["reason"] for e in exits} == {"unclosed"} and all(e["time"] == last_time[e["global_id"]] for e in exits)
    assert store.unclosed_visits() == []
    store.close()
    killed.scene.store.close()


def test_one_snapshot_tells_every_reader_what_the_pipeline_is_doing(tmp_path):
    """The dashboard, /health, the cameras' API and the run's summary all read Pipeline.snapshot()."""
    cams = {"west": 0, "east": 150}
    p = pipeline(config(cams, tmp_path), tmp_path)
    before = p.snapshot()
    assert [(c["camera_id"], c["state"]) for c in before["cameras"]] == [("west", "connecting"), ("east", "connecting")]
    assert before["association"]["global_ids"] == 0 and not before["running"] and before["offline"]
    for step in range(10):
        p.process(frames_at(step, step + 1, {0: (3.5, 3.0), 1: (0.8, 4.0)}, cams))
    snap = p.snapshot()
    assert snap["metrics"]["total_frames"] == 20 and snap["metrics"]["frames"] == {"west": 10, "east": 10}
    assert snap["association"]["global_ids"] == 2 and snap["association"]["cross_camera_ids"] == 1
    assert snap["events"]["first_seen"] == 2


def test_max_frames_ends_a_run_whose_other_camera_failed(tmp_path):
    """--max-frames N is a quick try: a missing file beside a good one must not make it decode the
    whole good file (offline) or run for ever (live)."""
    writer = cv2.VideoWriter(str(tmp_path / "good.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (250, 300))
    for step in range(40):
        writer.write(np.ascontiguousarray(draw({0: (1.0 + 0.02 * step, 3.0)})[:, :250]))
    writer.release()
    p = pipeline(config({"good": 0, "gone": 0}, tmp_path), tmp_path)
    p.run(max_frames=3)
    good, gone = (r.status for r in p.readers)
    assert gone.state == "failed" and good.frames_read < 20, (good, gone)


def test_offline_cameras_at_different_rates_step_together_as_they_were_filmed(tmp_path):
    """A 30 frames/s and a 10 frames/s file, offline: each step holds the frames filmed at one moment
    (the slow camera's frame k beside the fast one's 3k - 2, not beside its k), so the scene compares
    people at the same time."""
    for name, fps, frames in (("fast", 30.0, 30), ("slow", 10.0, 10)):
        writer = cv2.VideoWriter(str(tmp_path / f"{name}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, (250, 300))
        for k in range(frames):
            writer.write(np.ascontiguousarray(draw({0: (1.0 + 0.1 * k * 10 / fps, 3.0)})[:, :250]))
        writer.release()
    p = pipeline(config({"fast": 0, "slow": 0}, tmp_path), tmp_path)
    steps = []
    p.process = lambda frames: steps.append({f.camera_id: (f.index, f.time_s) for f in frames})
    p.run()
    assert len(steps) == 30 and [s["fast"][0] for s in steps] == list(range(1, 31))
    assert [s["slow"][0] for s in steps if "slow" in s] == list(range(1, 11))
    assert all(fast == 3 * slow - 2 for (fast, _), (slow, _) in ((s["fast"], s["slow"]) for s in steps if "slow" in s))
    assert all(abs(s["fast"][1] - s["slow"][1]) < 1e-6 for s in steps if "slow" in s)


def test_max_frames_does_not_lose_a_frame_held_for_its_moment(tmp_path):
    """Offline, a 10 frames/s camera's frame waits for the 30 frames/s one to reach its moment; a run of
    max_frames 10 that the slow camera's 5-frame file ends first still processes all 5 of its frames."""
    for name, fps, frames in (("fast", 30.0, 30), ("slow", 10.0, 5)):
        writer = cv2.VideoWriter(str(tmp_path / f"{name}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, (250, 300))
        for _ in range(frames):
            writer.write(np.ascontiguousarray(draw({0: (1.0, 3.0)})[:, :250]))
        writer.release()
    p = pipeline(config({"fast": 0, "slow": 0}, tmp_path), tmp_path)
    seen = []
    p.process = lambda frames: seen.extend((f.camera_id, f.index) for f in frames)
    p.run(max_frames=10)
    assert [i for cam, i in seen if cam == "slow"] == [1, 2, 3, 4, 5]
    assert [i for cam, i in seen if cam == "fast"] == list(range(1, 11))


def test_a_person_in_a_camera_that_stops_sending_leaves_it_while_the_other_camera_goes_on(tmp_path):
    cams = {"left": 0, "right": 150}
    p = pipeline(config(cams, tmp_path, events={"exit_after_s": 1.0}), tmp_path)
    p.process(frames_at(0, 1, {0: (1.0, 2.0)}, {"left": 0}))  # someone in left's view only; then left goes silent
    for step in range(1, 30):
        p.process(frames_at(step, step + 1, {1: (6.0, 5.0)}, {"right": 150}))
    assert p.scene.events.visits["left"] == {} and p.scene.events.counts["exit"] == 1


def test_held_events_a_failed_store_write_did_not_take_are_kept_for_the_next_commit(tmp_path):
    """A central's store write that fails (a database lock timing out) must not lose its events."""
    from mctrt.scene import Scene

    class FlakyStore:
        def __init__(self):
            self.rows, self.failures = [], 1

        def add(self, events, checkpoint=None):
            if self.failures:
                self.failures -= 1
                raise TimeoutError("database is locked")
            self.rows += events

    scene = Scene(config({"cam": 0}, tmp_path), use_store=False, hold_events=True)
    scene.store = FlakyStore()
    scene.held += [{"type": "first_seen", "global_id": 1}]
    with pytest.raises(TimeoutError):
        scene.commit()
    scene.held += [{"type": "entry", "global_id": 1}]
    scene.commit()
    assert [e["type"] for e in scene.store.rows] == ["first_seen", "entry"] and scene.held == []


class RecordingPublisher:
    """A worker's bus that keeps what it is given."""

    def __init__(self) -> None:
        self.steps, self.closed = [], False

    def publish(self, steps) -> None:
        self.steps += steps

    def wants_picture(self, camera_id, period_s) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("fails", [False, True], ids=["ends", "fails"])
def test_a_worker_ends_its_cameras_only_when_its_run_ends_by_itself_not_when_it_fails(tmp_path, fails):
    """A worker's END markers tell the central its cameras are done (offline, it then stops): one
    whose step raised must fall silent instead, as a killed worker does."""
    writer = cv2.VideoWriter(str(tmp_path / "solo.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (250, 300))
    for step in range(6):
        writer.write(np.ascontiguousarray(draw({0: (1.0 + 0.02 * step, 3.0)})[:, :250]))
    writer.release()

    class FailingDetector(ColourDetector):
        def detect(self, images):
            if fails and self.batches == 3:
                raise RuntimeError("out of memory")
            return super().detect(images)

    bus = RecordingPublisher()
    p = Pipeline(config({"solo": 0}, tmp_path), offline=True, detector=FailingDetector(), embedder=ColourEmbedder(),
                 use_store=False, publisher=bus)
    if fails:
        with pytest.raises(RuntimeError, match="out of memory"):
            p.run()
    else:
        p.run()
    ends = [s for s in bus.steps if s.kind == "end"]
    assert bus.closed and len(bus.steps) - len(ends) == (3 if fails else 6)
    assert len(ends) == (0 if fails else 1)


def test_the_run_time_is_the_runs_not_what_follows_it(tmp_path):
    """The summary's frames/s divides by run_s: a live run's dashboard stays up after the files end,
    and that time was counted as the run's."""
    writer = cv2.VideoWriter(str(tmp_path / "solo.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (250, 300))
    for step in range(6):
        writer.write(np.ascontiguousarray(draw({0: (1.0 + 0.02 * step, 3.0)})[:, :250]))
    writer.release()
    p = pipeline(config({"solo": 0}, tmp_path), tmp_path)
    before = time.monotonic()
    p.run()
    took = time.monotonic() - before
    time.sleep(0.2)  # the dashboard lingering
    assert 0 < p.run_s <= took and not p.running
