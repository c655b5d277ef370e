"""How well each re-ID model in ../shared/models tells PETS09-S2L1's people apart: the ground truth's
own boxes (every 10th frame, at least 64 px tall), embedded by mctrt's Embedder, compared in pairs at
least 3 s apart (as a person coming back after a hand-off would be).

Printed per model: the cosine similarity of same-person and different-person pairs (mean ± sd); AUC
(the chance a same-person pair scores above a different-person pair); rank-1 (a crop's most similar
crop 3 s or more away is the same person); and the similarity that only 1 % of different-person pairs
reach, with the share of same-person pairs reaching it: what a threshold for joining by appearance
alone would have to be, and what it would still find.

Then the configured model in INT8 (modules.reid.precision: int8, calibrated on the first 128 crops it
embeds: a run takes every 10th call's, this takes every call's) against FP32: the same figures, and milliseconds per
batch of 8 and 32 crops on onnxruntime, the two timed in alternation.

    MCTRT_ASSETS=../shared python benchmarks/bench_reid.py
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
from common import best_time, print_table, save

from mctrt.boxes import tlwh_to_xyxy
from mctrt.config import load_config
from mctrt.eval import load_ground_truth
from mctrt.models import Embedder, quantize

ROOT = Path(__file__).resolve().parents[1]
EVERY_N_FRAMES = 10
MIN_HEIGHT = 64
MIN_APART_FRAMES = 30  # 3 s at PETS09's 10 frames/s
FALSE_MATCH_RATE = 0.01


def crops(video: Path, truth: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
    """Frames, their ground-truth boxes (xyxy), and each box's person and frame number."""
    images, boxes, person, frame_of = [], [], [], []
    reader = cv2.VideoCapture(str(video))
    frame = 0
    while True:
        ok, image = reader.read()
        if not ok:
            break
        frame += 1
        if frame % EVERY_N_FRAMES != 1:
            continue
        rows = truth[(truth[:, 0] == frame) & (truth[:, 5] >= MIN_HEIGHT)]
        if not len(rows):
            continue
        images.append(image)
        boxes.append(tlwh_to_xyxy(rows[:, 2:6]).astype(np.float32))
        person += rows[:, 1].astype(int).tolist()
        frame_of += [frame] * len(rows)
    reader.release()
    return images, boxes, np.array(person), np.array(frame_of)


def separation(embeddings: np.ndarray, person: np.ndarray, frame_of: np.ndarray) -> dict:
    similarity = embeddings @ embeddings.T
    same = person[:, None] == person[None]
    apart = np.abs(frame_of[:, None] - frame_of[None]) >= MIN_APART_FRAMES
    pairs = np.triu(apart, 1)
    same_pairs, other_pairs = similarity[pairs & same], similarity[pairs & ~same]
    ranked = np.sort(other_pairs)
    auc = float(np.mean(np.searchsorted(ranked, same_pairs) / len(ranked)))
    threshold = float(np.quantile(other_pairs, 1.0 - FALSE_MATCH_RATE))
    hits = []
    for i in range(len(person)):
        candidates = np.flatnonzero(apart[i])
        if len(candidates) and same[i, candidates].any():
            hits.append(person[candidates[np.argmax(similarity[i, candidates])]] == person[i])
    return {"crops": len(person), "same_mean": float(same_pairs.mean()), "same_sd": float(same_pairs.std()),
            "other_mean": float(other_pairs.mean()), "other_sd": float(other_pairs.std()), "auc": auc,
            "rank1": float(np.mean(hits)), "threshold_1pct": threshold,
            "same_above_threshold": float(np.mean(same_pairs >= threshold))}


def main() -> None:
    assets = Path(os.environ.setdefault("MCTRT_ASSETS", str(ROOT.parent / "shared")))
    truth = load_ground_truth(assets / "data/pets09_s2l1/gt/gt.txt")
    images, boxes, person, frame_of = crops(assets / "data/pets09_s2l1/pets09_s2l1.avi", truth)
    reid = load_config(ROOT / "configs/pets09.yaml").reid
    results, rows = {}, []
    for model in sorted((assets / "models").glob("osnet*.onnx")):
        embedder = Embedder.from_config(dataclasses.replace(reid, model=str(model)))
        embeddings = np.concatenate([embedder.embed([image], [b]) for image, b in zip(images, boxes)])
        r = results[model.name] = separation(embeddings, person, frame_of)
        rows.append([model.name, f"{r['same_mean']:.3f} ± {r['same_sd']:.3f}", f"{r['other_mean']:.3f} ± {r['other_sd']:.3f}",
                     r["auc"], r["rank1"], r["threshold_1pct"], r["same_above_threshold"]])
    print_table(f"Re-ID on PETS09-S2L1 ground-truth boxes ({len(person)} crops, pairs >= 3 s apart)",
                ["model", "same person", "different people", "AUC", "rank-1", "1 % false matches at", "same pairs found there"],
                rows)
    int8 = int8_table(reid, images, boxes, person, frame_of)
    save("reid", {"footage": "PETS09-S2L1 ground truth, every 10th frame", "results": results, "int8": int8})


def int8_table(reid, images, boxes, person, frame_of) -> dict:
    """The configured re-ID model in FP32 and in INT8 on onnxruntime: separation and time per batch."""
    saved = quantize.CACHE_DIR, quantize.LIVE_EVERY
    try:
        with tempfile.TemporaryDirectory(prefix="mctrt-bench-int8-") as cache:
            quantize.CACHE_DIR = cache  # calibrated afresh, not a cached copy
            quantize.LIVE_EVERY = 1  # the first 128 crops, whatever calls they come in
            fp32 = Embedder.from_config(dataclasses.replace(reid, backend="onnxruntime"))
            int8 = Embedder.from_config(dataclasses.replace(reid, backend="onnxruntime", precision="int8"))
            float_backend, k = int8.backend, 0
            while int8._live is not None and int8._live.thread is None and k < len(images):
                int8.embed([images[k]], [boxes[k]])
                k += 1
            if not int8.wait_for_int8():
                raise SystemExit(f"INT8 re-ID: {k} images gave fewer than {reid.calibration_crops} crops to calibrate on")
            int8.embed([images[0]], [boxes[0]])  # runs the INT8 copy from here
            if int8.backend is float_backend:
                raise SystemExit("INT8 re-ID: the copy could not be built or opened (see the log); nothing to compare")
            return _int8_rows(reid, fp32, int8, images, boxes, person, frame_of)
    finally:
        quantize.CACHE_DIR, quantize.LIVE_EVERY = saved


def _int8_rows(reid, fp32, int8, images, boxes, person, frame_of) -> dict:
    rows, out = [], {"calibrated_on_crops": reid.calibration_crops, "timing": []}
    for name, embedder in (("fp32", fp32), ("int8", int8)):
        embeddings = np.concatenate([embedder.embed([image], [b]) for image, b in zip(images, boxes)])
        r = out[name] = separation(embeddings, person, frame_of)
        rows.append([f"{Path(reid.model).name} {name}", r["auc"], r["rank1"], r["threshold_1pct"], r["same_above_threshold"]])
    print_table("INT8 against FP32 (the INT8 copy calibrated on the first crops it was given)",
                ["model", "AUC", "rank-1", "1 % false matches at", "same pairs found there"], rows)
    frame = images[len(images) // 2]
    tall = np.array([[100, 100, 160, 260]], np.float32)
    for size in (8, 32):
        batch = ([frame] * size, [tall] * size)
        times = {"fp32": [], "int8": []}
        for _ in range(3):
            for name, embedder in (("fp32", fp32), ("int8", int8)):
                times[name].append(best_time(lambda: embedder.embed(*batch), repeat=3, min_seconds=0.5))
        fp, i8 = (min(times[n]) * 1e3 for n in ("fp32", "int8"))
        out["timing"].append({"crops": size, "fp32_ms": fp, "int8_ms": i8, "speedup": fp / i8})
    print_table("Re-ID on onnxruntime, milliseconds per batch", ["crops", "FP32", "INT8", "FP32 / INT8"],
                [[t["crops"], t["fp32_ms"], t["int8_ms"], t["speedup"]] for t in out["timing"]])
    return out


if __name__ == "__main__":
    main()
