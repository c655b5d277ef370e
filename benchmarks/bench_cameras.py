"""The whole pipeline offline as the number of cameras grows: pets09_split2's two cameras replicated
as N cameras (each pair on a stretch of floor of its own, 100 m from the next, so that the
association sees N/2 separate scenes of the same crowd), one Pipeline.process call per step on
frames decoded beforehand (the replicas share the two cameras' pixels). For each N: total and
per-camera frames/s, the step's time (p50, p99), each stage's mean, and where the step goes:
detection (the model with its pre- and post-processing, batched across the cameras) against the rest
(tracking, re-ID, floor, association, events, results: mostly Python).

    MCTRT_ASSETS=../shared python benchmarks/bench_cameras.py [--cameras 2,4,8] [--steps 60]

On a GPU: --cameras 2,8,16,32,64 (the GPU issue's goal: >= 1000 frames/s in all with yolov8n at 640).
The detector runs FP32 (FP16 on a GPU backend) at the model's own 640 x 640 whatever demo.yaml ships.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_pipeline import CONFIG, at_fp32_640, decode
from common import print_table, save

from mctrt.config import CalibrationConfig, load_config
from mctrt.metrics import STAGES
from mctrt.pipeline import Pipeline
from mctrt.types import Frame

STRETCH_M = 100.0  # floor between two replicated pairs: far beyond any gate, so pairs never meet


def replicated(config, cameras: int):
    """config's cameras repeated until there are `cameras`: copy k >= 1 of a camera is named <id>-<k>
    (the config's zones and lines stay with the originals) and its homography moved k * STRETCH_M
    metres along the floor's x axis."""
    inputs = []
    for k in range(-(-cameras // len(config.inputs))):
        shift = np.array([[1.0, 0.0, k * STRETCH_M], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        for source in config.inputs:
            if not k:
                inputs.append(source)
                continue
            calibration = source.calibration
            if calibration is not None:
                moved = shift @ calibration.camera.image_to_floor
                calibration = CalibrationConfig(image_to_floor=tuple(map(tuple, moved.tolist())))
            inputs.append(dataclasses.replace(source, camera_id=f"{source.camera_id}-{k}", calibration=calibration))
    return dataclasses.replace(config, inputs=tuple(inputs[:cameras]))


def measure(config, pairs: list[list[Frame]], cameras: int, out: str) -> dict:
    config = replicated(config, cameras)
    ids = [i.camera_id for i in config.inputs]
    pipeline = Pipeline(config, offline=True, output_dir=out, use_store=False)
    # once untimed: a model's first call (and input_size auto) builds what it needs
    pipeline.perception.detector.detect([pairs[0][k % len(pairs[0])].image for k in range(cameras)])
    seconds = []
    for batch in pairs:
        frames = [Frame(cam, batch[0].index, time.monotonic(), batch[0].time_s, batch[k % len(batch)].image)
                  for k, cam in enumerate(ids)]
        start = time.perf_counter()
        pipeline.process(frames)
        seconds.append(time.perf_counter() - start)
    stages = pipeline.metrics.snapshot()["stages"]
    backend = pipeline.perception.detector.backend
    pipeline.close()
    step_ms = 1e3 * np.array(seconds)
    means = {name: s["mean_ms"] for name, s in stages.items() if s["count"]}
    detect = means.get("detect", 0.0)
    total_s = float(np.sum(seconds))
    return {"cameras": cameras, "mode": "offline", "backend": f"{backend.name} on {backend.device}",
            "total_fps": cameras * len(seconds) / total_s, "fps_per_camera": len(seconds) / total_s,
            "latency_ms_p50": float(np.percentile(step_ms, 50)), "latency_ms_p99": float(np.percentile(step_ms, 99)),
            "stages_mean_ms": means, "detect_share": detect / float(step_ms.mean()),
            "bottleneck": "detection" if detect >= float(step_ms.mean()) / 2 else "past the models"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", default="2,4,8", help="comma-separated camera counts")
    parser.add_argument("--steps", type=int, default=60, help="steps per count (frames per camera)")
    args = parser.parse_args()
    counts = [int(n) for n in args.cameras.split(",")]
    if not counts or min(counts) < 1 or args.steps < 1:
        parser.error("--cameras takes positive counts, e.g. 2,8,16; --steps a positive number")
    os.environ.setdefault("MCTRT_ASSETS", str(Path(__file__).resolve().parents[2] / "shared"))
    config = at_fp32_640(load_config(CONFIG))  # the goal's yolov8n at 640, not the demo's CPU settings
    pairs = decode(config, args.steps)
    runs = [measure(config, pairs, n, tempfile.mkdtemp(prefix="mctrt-cameras-")) for n in counts]
    backend = runs[0]["backend"]
    print_table(f"Offline, pets09_split2 replicated, {args.steps} steps each (yolov8n, {backend})",
                ["cameras", "frames/s", "per camera", "step p50 ms", "step p99 ms", "detect share", "bottleneck"],
                [[r["cameras"], r["total_fps"], r["fps_per_camera"], r["latency_ms_p50"], r["latency_ms_p99"],
                  r["detect_share"], r["bottleneck"]] for r in runs])
    stages = [name for name in STAGES if any(name in r["stages_mean_ms"] for r in runs)]
    print_table("Stage means, ms per step", ["cameras", *stages],
                [[r["cameras"], *[r["stages_mean_ms"].get(s, 0.0) for s in stages]] for r in runs])
    save("cameras", {"steps": args.steps, "backend": backend, "runs": runs,
                     "goal": "GPU: total_fps >= 1000 with yolov8n at 640 (issue 16)"})


if __name__ == "__main__":
    main()
