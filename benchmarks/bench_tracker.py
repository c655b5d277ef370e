"""mctrt.ByteTracker against roboflow trackers' ByteTrackTracker (and boxmot's ByteTrack when it is
installed), time per frame on the same detections.

    MCTRT_ASSETS=../shared python benchmarks/bench_tracker.py

Scenes: PETS09-S2L1 with the shared YOLOv8n detections (795 frames, about 9 boxes a frame), and a
synthetic crowd of 250 walking people (200+ boxes a frame). Each tracker gets its input in its own
format, prepared before the clock starts; a run is a fresh tracker over the whole sequence; the best
of several runs counts. Goals: mctrt at least 20x faster than trackers on PETS09, 50x on the crowd.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import numpy as np
from common import print_table, save

from mctrt import ByteTrackConfig, ByteTracker
from mctrt.io.mot import iter_detection_frames, read_mot

RUNS = 5


def pets09_frames() -> list[tuple[np.ndarray, np.ndarray]] | None:
    root = os.environ.get("MCTRT_ASSETS")
    if not root:
        print("MCTRT_ASSETS is not set: skipping PETS09 (set it to the shared assets folder)")
        return None
    rows = read_mot(Path(root) / "data/pets09_s2l1/det/yolov8n_640.txt")
    return [(xyxy, scores) for _, xyxy, scores in iter_detection_frames(rows)]


def crowd_frames(people: int = 250, frames: int = 300, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """People walking across a 4K frame with detector noise, misses, low scores and clutter."""
    rng = np.random.default_rng(seed)
    size = np.array([3840.0, 2160.0])
    pos = rng.uniform(0, 1, (people, 2)) * (size - 100)
    vel = rng.normal(0, 4, (people, 2))
    wh = np.c_[rng.uniform(25, 50, people), rng.uniform(70, 140, people)]
    out = []
    for _ in range(frames):
        pos += vel
        vel[(pos < 0) | (pos > size - 100)] *= -1
        seen = rng.random(people) > 0.08
        boxes = np.c_[pos, pos + wh][seen] + rng.normal(0, 2, (seen.sum(), 4))
        scores = np.where(rng.random(seen.sum()) < 0.15, rng.uniform(0.15, 0.6, seen.sum()), rng.uniform(0.6, 0.95, seen.sum()))
        clutter = rng.uniform(0, 1, (10, 2)) * (size - 60)
        boxes = np.r_[boxes, np.c_[clutter, clutter + rng.uniform(20, 60, (10, 2))]]
        scores = np.r_[scores, rng.uniform(0.05, 0.7, 10)]
        out.append((boxes.astype(np.float32), scores.astype(np.float32)))
    return out


def time_runs(make_tracker, step, inputs) -> float:
    """Best seconds per frame over RUNS fresh passes."""
    best = float("inf")
    for _ in range(RUNS):
        tracker = make_tracker()
        start = time.perf_counter()
        for item in inputs:
            step(tracker, item)
        best = min(best, (time.perf_counter() - start) / len(inputs))
    return best


def bench_mctrt(frames, frame_rate):
    return time_runs(lambda: ByteTracker(ByteTrackConfig(frame_rate=frame_rate)),
                     lambda t, f: t.update(*f), frames)


def bench_trackers(frames, frame_rate):
    import supervision as sv
    from trackers import ByteTrackTracker

    inputs = [sv.Detections(xyxy=x, confidence=s, class_id=np.zeros(len(x), int)) for x, s in frames]
    return time_runs(lambda: ByteTrackTracker(frame_rate=frame_rate), lambda t, d: t.update(d), inputs)


def bench_boxmot(frames, frame_rate):
    from boxmot import ByteTrack

    inputs = [(np.c_[x, s, np.zeros(len(x))], np.zeros((8, 8, 3), np.uint8)) for x, s in frames]
    return time_runs(lambda: ByteTrack(frame_rate=frame_rate), lambda t, d: t.update(*d), inputs)


PEERS = {
    "trackers.ByteTrackTracker": ("trackers", bench_trackers),
    "boxmot.ByteTrack": ("boxmot", bench_boxmot),
}


def main() -> None:
    scenes = {"PETS09-S2L1": (pets09_frames(), 10), "crowd (250 people)": (crowd_frames(), 30)}
    unavailable = {name: module for name, (module, _) in PEERS.items() if importlib.util.find_spec(module) is None}
    rows, records = [], []
    for scene, (frames, frame_rate) in scenes.items():
        if frames is None:
            continue
        boxes = float(np.mean([len(x) for x, _ in frames]))
        ours = bench_mctrt(frames, frame_rate)
        rows.append([scene, f"{boxes:.0f}", "mctrt.ByteTracker", ours * 1e6, 1.0])
        record = {"scene": scene, "frames": len(frames), "boxes_per_frame": boxes, "mctrt_us": ours * 1e6}
        for peer, (module, bench) in PEERS.items():
            if peer in unavailable:
                continue
            theirs = bench(frames, frame_rate)
            rows.append([scene, f"{boxes:.0f}", peer, theirs * 1e6, theirs / ours])
            record[f"{peer}_us"] = theirs * 1e6
            record[f"{peer}_over_mctrt"] = theirs / ours
        records.append(record)
    print_table(f"Tracker time per frame, microseconds (best of {RUNS} runs over the whole sequence)",
                ["scene", "boxes/frame", "tracker", "us/frame", "x slower than mctrt"], rows)
    for peer, module in unavailable.items():
        print(f"{peer}: not installed ({module}); boxmot needs torch and torchvision, which do not install cleanly "
              "beside the CPU torch used here" if module == "boxmot" else f"{peer}: not installed ({module})")
    save("tracker", {"unit": "microseconds per frame", "scenes": records,
                     "goal": "mctrt >= 20x faster than trackers on PETS09, >= 50x on the crowd",
                     "not_run": {peer: f"{module} not installed" for peer, module in unavailable.items()}})


if __name__ == "__main__":
    main()
