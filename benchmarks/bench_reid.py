"""How well each re-ID model in ../shared/models tells PETS09-S2L1's people apart: the ground truth's
own boxes (every 10th frame, at least 64 px tall), embedded by mctrt's Embedder, compared in pairs at
least 3 s apart (as a person coming back after a hand-off would be).

Printed per model: the cosine similarity of same-person and different-person pairs (mean ± sd); AUC
(the chance a same-person pair scores above a different-person pair); rank-1 (a crop's most similar
crop 3 s or more away is the same person); and the similarity that only 1 % of different-person pairs
reach, with the share of same-person pairs reaching it: what a threshold for joining by appearance
alone would have to be, and what it would still find.

    MCTRT_ASSETS=../shared python benchmarks/bench_reid.py
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import cv2
import numpy as np
from common import print_table, save

from mctrt.boxes import tlwh_to_xyxy
from mctrt.config import load_config
from mctrt.eval import load_ground_truth
from mctrt.models import Embedder

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
    save("reid", {"footage": "PETS09-S2L1 ground truth, every 10th frame", "results": results})


if __name__ == "__main__":
    main()
