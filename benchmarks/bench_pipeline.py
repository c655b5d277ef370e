"""The whole pipeline offline against the detector alone on the same frames (the two-camera PETS09
split, configs/demo.yaml): how much everything after detection (tracking, re-ID, association,
events, results) adds. Frames are decoded beforehand for both, so the comparison is of the work
per step; a full run with the camera readers decoding is shown beside them. Four detector settings,
each against the FP32 detector at 640 x 640 alone, with each full run's cross-camera IDF1: FP32 at
640 x 640 (the model's own), FP32 at the default input_size auto, static INT8 at 640 x 640
(precision: int8, calibrated on the two videos), and demo.yaml as shipped (INT8 with its input sized to the cameras, input_size: auto: 640 x 512 for the
split's 448 x 576 cameras). Where the detector runs on a GPU (backend auto finds one), INT8 at 640 is
left out and the shipped config runs the GPU's own precision: INT8 is the CPU's.

    MCTRT_ASSETS=../shared python benchmarks/bench_pipeline.py [--steps 200]

Goals: pipeline frames/s >= 80 % of the detector-alone rate; as shipped, >= 2x the FP32 detector at
640 x 640 alone (the CPU issue's goal).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import cv2
from common import print_table, save

from mctrt.config import load_config
from mctrt.eval import evaluate_cameras
from mctrt.models.backends import runs_on_cpu
from mctrt.pipeline import Pipeline
from mctrt.types import Frame

CONFIG = Path(__file__).resolve().parents[1] / "configs/demo.yaml"
SHIPPED = "as shipped (demo.yaml)"


def at_fp32_640(config):
    """The config with its detector in FP32 at the model's own 640 x 640: the CPU issue's reference, whatever
    the config ships (configs/demo.yaml: INT8 with input_size auto)."""
    return dataclasses.replace(config, detector=dataclasses.replace(config.detector, precision="fp32", input_size=None))


def decode(config, steps: int) -> list[list[Frame]]:
    captures = [cv2.VideoCapture(i.path) for i in config.inputs]
    batches = []
    for k in range(1, steps + 1):
        images = [c.read()[1] for c in captures]
        batches.append([Frame(i.camera_id, k, 0.0, (k - 1) / 10.0, image) for i, image in zip(config.inputs, images)])
    return batches


def measure(config, batches: list[list[Frame]], out: str) -> dict:
    """Frames/s of the detector alone and of Pipeline.process on the same decoded frames (alternated,
    so drift on a shared machine hits both alike), the stages of the last run, and a full run's."""
    frames = sum(len(b) for b in batches)
    detector_fps, pipeline_fps = [], []
    for _ in range(2):
        pipeline = Pipeline(config, offline=True, output_dir=out, use_store=False)
        # once untimed: input_size auto builds its model (and precision int8 loads its copy) at the first frames
        pipeline.perception.detector.detect([f.image for f in batches[0]])
        start = time.perf_counter()
        for batch in batches:
            pipeline.perception.detector.detect([f.image for f in batch])
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
    full_fps = full.metrics.snapshot()["total_frames"] / (time.perf_counter() - start)
    idf1 = evaluate_cameras(Path(os.environ["MCTRT_ASSETS"]) / "data/pets09_split2", Path(out))[0].idf1
    detector = pipeline.perception.detector.backend
    return {"backend": f"{detector.name} on {detector.device}", "detector_fps": max(detector_fps),
            "pipeline_fps": max(pipeline_fps), "full_run_fps": full_fps, "cross_camera_idf1": idf1, "stages_ms": stages}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200, help="frames per camera (the videos have 795)")
    args = parser.parse_args()
    os.environ.setdefault("MCTRT_ASSETS", str(Path(__file__).resolve().parents[2] / "shared"))
    shipped = load_config(CONFIG)
    fp32 = at_fp32_640(shipped)
    int8 = dataclasses.replace(fp32, detector=dataclasses.replace(
        fp32.detector, precision="int8", calibration=tuple(i.path for i in fp32.inputs if i.kind == "file")))
    fp32_auto = dataclasses.replace(fp32, detector=dataclasses.replace(fp32.detector, input_size="auto"))
    configs = [("fp32", fp32), ("fp32, input_size auto (the default)", fp32_auto)]
    if runs_on_cpu(shipped.detector.backend):
        configs.append(("int8", int8))
    configs.append((SHIPPED, shipped))
    batches = decode(shipped, args.steps)
    runs = {name: measure(c, batches, tempfile.mkdtemp(prefix="mctrt-bench-")) for name, c in configs}
    bare = runs["fp32"]["detector_fps"]
    rows = []
    for name, r in runs.items():
        rows += [[f"{name}: detector alone (Detector.detect per step)", r["detector_fps"], r["detector_fps"] / bare, ""],
                 [f"{name}: pipeline (Pipeline.process per step)", r["pipeline_fps"], r["pipeline_fps"] / bare, ""],
                 [f"{name}: python -m mctrt.run --offline equivalent, 795 frames, decoding included", r["full_run_fps"],
                  r["full_run_fps"] / bare, r["cross_camera_idf1"]]]
    backend = runs["fp32"]["backend"]
    print_table(f"Offline, {len(shipped.inputs)} cameras x {args.steps} frames (pets09_split2, yolov8n, {backend})",
                ["run", "frames/s", "vs FP32 detector alone", "cross-camera IDF1"], rows)
    for name, r in runs.items():
        print_table(f"{name}: pipeline stages, ms per step (last run of Pipeline.process)", ["stage", "p50", "p95", "mean"],
                    [[stage, s["p50_ms"], s["p95_ms"], s["mean_ms"]] for stage, s in r["stages_ms"].items() if s["count"]])
    base = runs["fp32"]
    save("pipeline", {"cameras": len(shipped.inputs), "steps": args.steps, "detector_fps": base["detector_fps"],
                      "pipeline_fps": base["pipeline_fps"], "pipeline_over_detector": base["pipeline_fps"] / bare,
                      "full_run_fps": base["full_run_fps"], "stages_ms": base["stages_ms"], "runs": runs,
                      "shipped_detector": {"precision": shipped.detector.precision, "input_size": shipped.detector.input_size},
                      "shipped_pipeline_over_fp32_detector": runs[SHIPPED]["pipeline_fps"] / bare,
                      **({"int8_pipeline_over_fp32_detector": runs["int8"]["pipeline_fps"] / bare} if "int8" in runs else {}),
                      "goal": "pipeline_fps >= 0.8 * detector_fps; as shipped, pipeline >= 2.0 * fp32 640 detector alone"})


if __name__ == "__main__":
    main()
