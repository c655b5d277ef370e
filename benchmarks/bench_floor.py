"""What the floor costs: placing every track on the floor (FootLocator) and associating on the floor
(CrossCameraAssociator with calibrated cameras), against the same association with the cameras
uncalibrated (appearance only), side by side in one run, per step.

The scene is drawn, not filmed: 16 cameras in a 4 x 4 grid over a 42 m x 42 m floor (each sees a
12 m x 12 m patch, so neighbours overlap by 2 m), a crowd dense enough for 20 people per camera
walking about, boxes from their foot points through each camera's homography, a track per person and
visit of a patch (removed when they walk out), and re-ID embeddings (512-D) for a tenth of the
tracks each step, as the schedule asks. Only geometry and
association run: detection, tracking and re-ID are the same with or without the floor. The two sides
take turns step by step, and the figure is the median of their per-step differences, so a change in
the machine's load hits both alike. The uncalibrated side keeps more global IDs (appearance alone joins
fewer tracks) and slows as its gallery grows, so the difference shrinks with --steps (and turns
negative by 600): the default 300 is the figure reported. The difference is also given as a share of
the uncalibrated step, which moves less with the machine and its load than milliseconds do.

The cameras run free, as live ones do: each captures at its own moment within the frame interval, so
a step holds as many capture times as cameras, and everything compared on the floor is predicted to
each of them. --synchronised gives every camera the step's one time instead (files read in step).

    python benchmarks/bench_floor.py [--cameras 16] [--people 20] [--steps 300] [--synchronised]

Goal: the floor adds <= 1 ms per step at 16 cameras x 20 people.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import print_table, save

from mctrt.association import CameraTracks, CrossCameraAssociator
from mctrt.config import AssociationConfig
from mctrt.geometry import CameraCalibration
from mctrt.geometry.feet import CameraFrame, FootLocator
from mctrt.types import Tracks

IMAGE = (640, 480)
PATCH_M = 12.0
GRID_STEP_M = 10.0
EMBEDDING_DIM = 512
FPS = 10.0


def camera(col: int, row: int) -> CameraCalibration:
    """A camera looking at the floor patch whose near edge starts at (col, row) * GRID_STEP_M, tilted:
    its image's bottom row is the patch's near edge, its top row the far edge, narrower in pixels."""
    x0, y0 = col * GRID_STEP_M, row * GRID_STEP_M
    image = [[0, 480], [640, 480], [480, 60], [160, 60]]
    floor = [[x0, y0], [x0 + PATCH_M, y0], [x0 + PATCH_M, y0 + PATCH_M], [x0, y0 + PATCH_M]]
    return CameraCalibration.from_point_pairs(image, floor)


class Scene:
    """One crowd walking over the floor, bouncing off its edges; each camera shows the people inside
    its patch, as a tracker would: a track ID per visit, removed when they walk out."""

    def __init__(self, cameras: int, people_per_camera: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        side = int(np.ceil(np.sqrt(cameras)))
        self.calibrations = [camera(k % side, k // side) for k in range(cameras)]
        self.origin = np.array([[(k % side) * GRID_STEP_M, (k // side) * GRID_STEP_M] for k in range(cameras)])
        self.size_m = (side - 1) * GRID_STEP_M + PATCH_M
        crowd = int(round(people_per_camera * self.size_m ** 2 / PATCH_M ** 2))
        self.position = rng.uniform(0.0, self.size_m, (crowd, 2))
        angle = rng.uniform(0, 2 * np.pi, crowd)
        self.velocity = 1.3 * np.stack([np.cos(angle), np.sin(angle)], axis=-1)
        self.appearance = rng.normal(size=(crowd, EMBEDDING_DIM)).astype(np.float32)
        self.appearance /= np.linalg.norm(self.appearance, axis=-1, keepdims=True)
        self.track_of = [dict() for _ in range(cameras)]  # per camera: person -> live track ID
        self.next_track = [1] * cameras

    def advance(self) -> None:
        self.position += self.velocity / FPS
        out = (self.position < 0.0) | (self.position > self.size_m)
        self.velocity[out] *= -1.0

    def tracks(self, k: int) -> tuple[Tracks, np.ndarray]:
        """Camera k's people as tracks (boxes standing on their foot points) and which people they are."""
        local = self.position - self.origin[k]
        inside = np.flatnonzero(((local >= 0.0) & (local <= PATCH_M)).all(axis=1))
        live = self.track_of[k]
        removed = [live.pop(p) for p in [p for p in live if p not in set(inside.tolist())]]
        for p in inside.tolist():
            if p not in live:
                live[p] = self.next_track[k]
                self.next_track[k] += 1
        calibration = self.calibrations[k]
        feet = calibration.to_image(self.position[inside])
        heads = calibration.to_image(self.position[inside] + [0.0, 0.35])  # a crude height that shrinks with range
        height = np.clip(feet[:, 1] - heads[:, 1], 20.0, None) * 3.0
        xyxy = np.c_[feet[:, 0] - 0.2 * height, feet[:, 1] - height, feet[:, 0] + 0.2 * height, feet[:, 1]]
        n = len(inside)
        ids = np.array([live[p] for p in inside.tolist()], np.int64)
        tracks = Tracks(xyxy.astype(np.float32), ids, np.full(n, 0.9, np.float32), np.arange(n, dtype=np.int64),
                        np.array(removed, np.int64))
        return tracks, inside


def record(scene: Scene, steps: int) -> list[list[tuple[Tracks, np.ndarray]]]:
    """Every step's tracks of every camera (and who they are), drawn before anything is timed."""
    out = []
    for _ in range(steps):
        scene.advance()
        out.append([scene.tracks(k) for k in range(len(scene.calibrations))])
    return out


class Run:
    """Geometry and association over the recorded steps, with the cameras calibrated (on_floor) or not,
    timed step by step."""

    def __init__(self, scene: Scene, on_floor: bool, synchronised: bool = False) -> None:
        self.scene, self.on_floor = scene, on_floor
        self.cameras = [f"cam{k}" for k in range(len(scene.calibrations))]
        # each camera's capture moment within the frame interval (all 0 when synchronised)
        self.offset_s = np.zeros(len(self.cameras)) if synchronised else np.arange(len(self.cameras)) / (len(self.cameras) * FPS)
        self.locator = FootLocator(dict(zip(self.cameras, scene.calibrations)))
        self.associator = CrossCameraAssociator(AssociationConfig(maturity=1), self.cameras,
                                                self.locator.views_of if on_floor else None,
                                                site=self.locator.on_site if on_floor else None)
        self.seen = [np.zeros(0, np.int64) for _ in self.cameras]  # each camera's tracks in the previous step
        self.floor_s: list[float] = []
        self.associate_s: list[float] = []
        self.rows: list[int] = []

    def step(self, step: int, step_tracks: list[tuple[Tracks, np.ndarray]]) -> None:
        times = (step / FPS + self.offset_s).tolist()
        t0 = time.perf_counter()
        floor = [None] * len(self.cameras)
        if self.on_floor:
            floor = self.locator.locate([CameraFrame(cam, step_tracks[k][0], IMAGE, times[k])
                                         for k, cam in enumerate(self.cameras)])
        inputs = []
        for k, cam in enumerate(self.cameras):
            tracks, who = step_tracks[k]
            # as the re-ID schedule asks: new tracks, then each track every 10 frames
            embedded = ((tracks.track_id + step) % 10 == 0) | ~np.isin(tracks.track_id, self.seen[k])
            self.seen[k] = tracks.track_id
            inputs.append(CameraTracks(cam, times[k], tracks.track_id, tracks.removed_id, embedded,
                                       self.scene.appearance[who], np.zeros(len(who), bool), floor[k]))
        t1 = time.perf_counter()
        self.associator.update(inputs)
        t2 = time.perf_counter()
        self.floor_s.append(t1 - t0)
        self.associate_s.append(t2 - t1)
        self.rows.append(sum(len(c.track_id) for c in inputs))

    def total_s(self, warmup: int) -> np.ndarray:
        return np.add(self.floor_s, self.associate_s)[warmup:]

    def summary(self, warmup: int) -> dict:
        return {"tracks_per_step": float(np.mean(self.rows[warmup:])),
                "floor_ms": 1e3 * float(np.median(self.floor_s[warmup:])),
                "associate_ms": 1e3 * float(np.median(self.associate_s[warmup:])),
                "total_ms": 1e3 * float(np.median(self.total_s(warmup))),
                "global_ids": self.associator.stats()["global_ids"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--people", type=int, default=20, help="per camera")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--synchronised", action="store_true", help="every camera captures at the same moment")
    args = parser.parse_args()
    warmup = min(50, args.steps // 3)
    scene = Scene(args.cameras, args.people)
    recorded = record(scene, args.steps)
    runs = {"appearance only (uncalibrated)": Run(scene, False, args.synchronised),
            "on the floor (calibrated)": Run(scene, True, args.synchronised)}
    for step, step_tracks in enumerate(recorded):  # the two runs take turns, step by step: both see the same machine
        for run in runs.values():
            run.step(step, step_tracks)
    off, on = runs.values()
    added = 1e3 * float(np.median(on.total_s(warmup) - off.total_s(warmup)))  # paired, step by step
    results = {name: run.summary(warmup) for name, run in runs.items()}
    share = added / results["appearance only (uncalibrated)"]["total_ms"]  # travels between machines better than ms
    clocks = "synchronised" if args.synchronised else "free-running"
    print_table(f"Geometry and association per step, {args.cameras} cameras x {args.people} people, {clocks} (median ms)",
                ["run", "foot points", "association", "total", "global IDs"],
                [[name, r["floor_ms"], r["associate_ms"], r["total_ms"], r["global_ids"]] for name, r in results.items()])
    print(f"the floor adds {added:.3f} ms per step (median of the step-by-step differences; goal <= 1 ms), "
          f"{100 * share:.1f} % of the uncalibrated step")
    save("floor" + ("_synchronised" if args.synchronised else ""),
         {"cameras": args.cameras, "people_per_camera": args.people, "steps": args.steps, "capture_times": clocks,
          "runs": results, "floor_added_ms": added, "floor_added_share": share, "goal": "floor_added_ms <= 1.0"})


if __name__ == "__main__":
    main()
