"""Where a step's time goes after the models, at 16 cameras x 30 people: Pipeline.process with the
detector and re-ID replaced by a drawn crowd (bench_floor's Scene: a 4 x 4 grid of calibrated cameras,
its boxes as detections, each person's own embedding), so that only the per-frame Python and C++ of
tracking, the re-ID schedule, floor placement, association, events (an image zone and line in every
camera, a floor zone and line) and the results files run. Prints the pipeline's stage timings and
cProfile's costliest functions (own time), and saves both.

    python benchmarks/profile_steps.py [--cameras 16] [--people 30] [--steps 200]

The profiler slows Python calls more than numpy and C++: its table says where the time goes, the
stage timings (a second run, without the profiler) what a step costs.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_floor import FPS, IMAGE, Scene
from common import print_table, save

from mctrt.config import config_from_dict
from mctrt.pipeline import Pipeline
from mctrt.types import Detections, Frame

WARMUP = 30


class SceneModels:
    """Detector and embedder of the drawn crowd: each camera's boxes of the step, and for a box the
    appearance of the person whose box it is (nearest of the step's boxes)."""

    def __init__(self, scene: Scene) -> None:
        self.scene, self.step_boxes = scene, []

    def advance(self) -> None:
        self.scene.advance()
        self.step_boxes = [self.scene.tracks(k) for k in range(len(self.scene.calibrations))]

    def detect(self, images):
        return [Detections(t.xyxy, t.score, np.zeros(len(t.xyxy), np.int64)) for t, _ in self.step_boxes[:len(images)]]

    def embed(self, images, boxes_per_image):
        out = []
        for image, boxes in zip(images, boxes_per_image):
            k = int(image[0, 0, 0])  # the camera's index, written into its image
            tracks, who = self.step_boxes[k]
            nearest = np.abs(boxes[:, None, :] - tracks.xyxy[None, :, :]).sum(axis=2).argmin(axis=1)
            out.append(self.scene.appearance[who[nearest]])
        return np.concatenate(out) if out else np.zeros((0, self.scene.appearance.shape[1]), np.float32)


def config(scene: Scene, folder: Path):
    cameras = [f"cam{k}" for k in range(len(scene.calibrations))]
    w, h = IMAGE
    inputs = [{"camera_id": cam, "path": str(folder / f"{cam}.mp4"),
               "calibration": {"image_to_floor": c.image_to_floor.tolist()}} for cam, c in zip(cameras, scene.calibrations)]
    lines = [{"name": f"{cam}-line", "camera_id": cam, "points": [[w // 2, 0], [w // 2, h]]} for cam in cameras]
    zones = [{"name": f"{cam}-zone", "camera_id": cam, "polygon": [[0, h // 2], [w, h // 2], [w, h], [0, h]],
              "dwell_threshold_s": 5} for cam in cameras]
    middle = scene.size_m / 2
    lines.append({"name": "floor-line", "points_m": [[middle, 0.0], [middle, scene.size_m]]})
    zones.append({"name": "floor-zone", "polygon_m": [[0, 0], [middle, 0], [middle, middle], [0, middle]]})
    data = {"inputs": inputs, "modules": {"detector": {"model": str(folder / "unused.onnx")},
                                          "reid": {"model": str(folder / "unused.onnx")}},
            "association": {"maturity": 1}, "store": {"path": str(folder / "events.db")},
            "events": {"lines": lines, "zones": zones}}
    return config_from_dict(data, folder)


def run(args, folder: Path, profile: cProfile.Profile | None) -> tuple[Pipeline, int, list[float]]:
    """The pipeline over args.steps steps (the profiler, when given, on after the warm-up). Returns it,
    the tracks it saw after the warm-up and the seconds each of those steps took."""
    scene = Scene(args.cameras, args.people)
    models = SceneModels(scene)
    pipeline = Pipeline(config(scene, folder), offline=True, output_dir=folder / "out", detector=models, embedder=models)
    images = [np.full((IMAGE[1], IMAGE[0], 3), k, np.uint8) for k in range(args.cameras)]
    tracks, seconds = 0, []
    for step in range(args.steps):
        models.advance()
        if step == WARMUP:  # the first steps found an ID for every track at once: not a step of a running site
            pipeline.metrics.reset_stages()
            if profile is not None:
                profile.enable()
        frames = [Frame(f"cam{k}", step + 1, time.monotonic(), step / FPS, images[k]) for k in range(args.cameras)]
        start = time.perf_counter()
        results = pipeline.process(frames)
        if step >= WARMUP:
            seconds.append(time.perf_counter() - start)
            tracks += sum(len(r.tracks.track_id) for r in results)
    if profile is not None:
        profile.disable()
    return pipeline, tracks, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--people", type=int, default=30, help="people per camera, on average")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mctrt-profile-") as folder:
        pipeline, tracks, seconds = run(args, Path(folder) / "timed", None)
        stages = pipeline.metrics.snapshot()["stages"]
        pipeline.close()
        profile = cProfile.Profile()
        pipeline, _, _ = run(args, Path(folder) / "profiled", profile)
        pipeline.close()
    steps = args.steps - WARMUP
    stats = pstats.Stats(profile)
    total = sum(t for _, _, t, _, _ in stats.stats.values())
    rows = sorted(((f"{Path(file).name}:{line} {name}", calls, own, cumulative)
                   for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items()), key=lambda r: -r[2])
    top = [{"function": f, "calls_per_step": c / steps, "own_ms_per_step": 1e3 * o / steps, "share": o / total,
            "cumulative_ms_per_step": 1e3 * cu / steps} for f, c, o, cu in rows[:args.top]]
    step_ms = 1e3 * float(np.median(seconds))
    print(f"{args.cameras} cameras, {tracks / steps / args.cameras:.1f} tracks per camera per step, {steps} steps: "
          f"{step_ms:.1f} ms per step (median, no profiler; models replaced)")
    print_table(f"Stage timings (ms per step, no profiler, after {WARMUP} warm-up steps)", ["stage", "mean", "p50", "p95"],
                [[name, s["mean_ms"], s["p50_ms"], s["p95_ms"]] for name, s in stages.items() if name not in ("detect", "reid")])
    print_table(f"Costliest functions under cProfile (own time, of {1e3 * total / steps:.1f} ms per step profiled)",
                ["function", "calls/step", "own ms/step", "share"],
                [[t["function"], t["calls_per_step"], t["own_ms_per_step"], t["share"]] for t in top])
    save("profile_steps", {"cameras": args.cameras, "people_per_camera": args.people, "steps": steps,
                           "tracks_per_camera": tracks / steps / args.cameras, "step_ms": step_ms, "stages_ms": stages,
                           "profiled_ms_per_step": 1e3 * total / steps, "top": top})


if __name__ == "__main__":
    main()
