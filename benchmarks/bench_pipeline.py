"""The whole pipeline offline against the detector alone on the same frames (the two-camera PETS09
split, configs/demo.yaml): how much everything after detection (tracking, re-ID, association,
events, results) adds. Frames are decoded beforehand for both, so the comparison is of the work
per step; a full run with the camera readers decoding is shown beside them.

    MCTRT_ASSETS=../shared python benchmarks/bench_pipeline.py [--steps 200]

Goal: pipeline frames/s >= 80 % of the detector-alone rate.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
from common import print_table, save

from mctrt.config import load_config
from mctrt.pipeline import Pipeline
from mctrt.types import Frame

CONFIG = Path(__file__).resolve().parents[1] / "configs/demo.yaml"


def decode(config, steps: int) -> list[list[Frame]]:
    captures = [cv2.VideoCapture(i.path) for i in config.inputs]
    batches = []
    for k in range(1, steps + 1):
        images = [c.read()[1] for c in captures]
        batches.append([Frame(i.camera_id, k, 0.0, (k - 1) / 10.0, image) for i, image in zip(config.inputs, images)])
    return batches


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200, help="frames per camera (the videos have 795)")
    args = parser.parse_args()
    os.environ.setdefault("MCTRT_ASSETS", str(Path(__file__).resolve().parents[2] / "shared"))
    config = load_config(CONFIG)
    batches = decode(config, args.steps)
    frames = sum(len(b) for b in batches)
    detector_fps, pipeline_fps = [], []
    out = tempfile.mkdtemp(prefix="mctrt-bench-")
    for _ in range(2):  # alternate, so drift on a shared machine hits both alike
        pipeline = Pipeline(config, offline=True, output_dir=out, use_store=False)
        start = time.perf_counter()
        for batch in batches:
            pipeline.detector.detect([f.image for f in batch])
        detector_fps.append(frames / (time.perf_counter() - start))
        start = time.perf_counter()
        for batch in batches:
            pipeline.process([Frame(f.camera_id, f.index, time.monotonic(), f.time_s, f.image) for f in batch])
        pipeline_fps.append(frames / (time.perf_counter() - start))
        pipeline.close()
    stages = pipeline.metrics.snapshot()["stages"]
    full = Pipeline(config, offline=True, output_dir=out, use_store=False)
    start = time.perf_counter()
    full.run()
    full_seconds = time.perf_counter() - start
    full_fps = full.metrics.snapshot()["total_frames"] / full_seconds
    ratio = max(pipeline_fps) / max(detector_fps)
    print_table(f"Offline, {len(config.inputs)} cameras x {args.steps} frames (pets09_split2, yolov8n 640, onnxruntime CPU)",
                ["run", "frames/s", "vs detector alone"],
                [["detector alone (Detector.detect per step)", max(detector_fps), 1.0],
                 ["pipeline (Pipeline.process per step)", max(pipeline_fps), ratio],
                 ["python -m mctrt.run --offline equivalent, 795 frames, decoding included", full_fps, full_fps / max(detector_fps)]])
    print_table("Pipeline stages, ms per step (last run of Pipeline.process)", ["stage", "p50", "p95", "mean"],
                [[name, s["p50_ms"], s["p95_ms"], s["mean_ms"]] for name, s in stages.items() if s["count"]])
    save("pipeline", {"cameras": len(config.inputs), "steps": args.steps, "detector_fps": max(detector_fps),
                      "pipeline_fps": max(pipeline_fps), "pipeline_over_detector": ratio, "full_run_fps": full_fps,
                      "stages_ms": stages, "goal": "pipeline_fps >= 0.8 * detector_fps"})


if __name__ == "__main__":
    main()
