"""Cross-camera identity on footage cut into cameras: IDF1 of the whole pipeline (offline, real
detector and re-ID) with the floor (calibrated cameras), with appearance only (the same cameras
uncalibrated), and with no association at all, side by side.

The splits are cut from PETS09-S2L1 with python -m mctrt.splits (each strip gets the frame's
homography, shifted), plus the shared pets09_split2 and the single camera. Which were used to choose
settings is printed beside each: the `tuning` ones were swept while the floor association was built
(T5-T7 were added after T1-T4 turned out easier than the held-out splits);
the `held-out` ones were only ever run to report (a few times, never to pick a value). The last
column is the most association could make of the same per-camera tracks (see oracle()). With the
floor, the run's floor positions (world.txt) are scored too (mctrt.eval --floor, 1 m): against the
whole clip's ground truth for the single camera and pets09_split2 (whose views cover the frame), and
against the people some strip shows for the other splits (one in a blind gap is in no strip's truth).
Each runs its config as shipped: the cuts and the single camera configs/pets09.yaml's (FP32 at 640),
pets09_split2 configs/demo.yaml's (INT8 with input_size auto on the CPU since 2026-12-05; FP32 at 640
before, which the appearance-only and no-association figures of the README's Quality table are from).

    MCTRT_ASSETS=../shared python benchmarks/bench_identity.py [--only H1,split2]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from common import match_boxes, print_table, save

from mctrt.config import load_config
from mctrt.eval import evaluate_cameras, evaluate_floor, evaluate_sequence, load_ground_truth
from mctrt.io.mot import read_mot, write_mot
from mctrt.models import Detector, Embedder
from mctrt.pipeline import Pipeline
from mctrt.splits import make_split

ROOT = Path(__file__).resolve().parents[1]
# name: (strips, frames, role)
SPLITS = {
    "T1": ("0:240,300:500,560:768", (1, 400), "tuning"),
    "T2": ("0:420,340:768", (1, 400), "tuning"),
    "T3": ("0:200,180:400,380:600,580:768", (1, 400), "tuning"),
    "T4": ("0:768/0:330,0:768/300:576", (1, 400), "tuning"),
    # T1-T4 turned out easier than the held-out splits (frames 1-400 only, mostly overlaps): these
    # three, blind gaps all, were added later so that tuning sees the second half of the clip too.
    "T5": ("0:230,290:530,600:768", (401, 795), "tuning"),
    "T6": ("0:300,370:768", (401, 795), "tuning"),
    "T7": ("0:170,230:400,460:620,680:768", None, "tuning"),
    "H1": ("0:256,320:576,640:768", None, "held-out"),
    "H2": ("0:220,300:480,560:768", None, "held-out"),
    "H3": ("0:360,420:768", None, "held-out"),
}
ORACLE = "tracks, best possible"
MODES = {
    "floor": lambda c: c,
    "appearance only": lambda c: dataclasses.replace(c, inputs=tuple(dataclasses.replace(i, calibration=None)
                                                                     for i in c.inputs)),
    "no association": lambda c: dataclasses.replace(c, association=dataclasses.replace(c.association, enabled=False)),
}


class Remembered:
    """A model that answers what it answered before for the same image (and boxes): detection and
    re-ID do not depend on association, so the modes of one footage run them once."""

    def __init__(self, model) -> None:
        self.model, self.answers = model, {}

    @staticmethod
    def key(image) -> bytes:
        return hashlib.blake2b(image.data, digest_size=16).digest()

    def detect(self, images):
        keys = [self.key(i) for i in images]
        missing = [k for k in range(len(images)) if keys[k] not in self.answers]
        for k, found in zip(missing, self.model.detect([images[k] for k in missing]) if missing else []):
            self.answers[keys[k]] = found
        return [self.answers[k] for k in keys]

    def embed(self, images, boxes_per_image):
        keys = [(self.key(i), b.tobytes()) for i, b in zip(images, boxes_per_image)]
        missing = [k for k in range(len(images)) if keys[k] not in self.answers]
        if missing:
            features = self.model.embed([images[k] for k in missing], [boxes_per_image[k] for k in missing])
            start = 0
            for k in missing:
                self.answers[keys[k]] = features[start:start + len(boxes_per_image[k])]
                start += len(boxes_per_image[k])
        return np.concatenate([self.answers[k] for k in keys]) if keys else np.zeros((0, 512), np.float32)


def score(config_path: Path, gt: Path, mode: str, out: Path, models: dict, single: bool = False) -> float:
    config = MODES[mode](load_config(config_path))
    if not models:
        models["detector"] = Remembered(Detector.from_config(config.detector))
        models["embedder"] = Remembered(Embedder.from_config(config.reid))
    pipeline = Pipeline(config, offline=True, output_dir=out, use_store=False, detector=models["detector"],
                        embedder=models["embedder"])
    pipeline.run()
    if single:
        return evaluate_sequence(gt, out / f"{config.camera_ids[0]}.txt").idf1
    return evaluate_cameras(gt, out)[0].idf1


def oracle(gt: Path, tracks_dir: Path, out: Path) -> float:
    """IDF1 if every track of the no-association run (one ID per track) were given its true person:
    the most that association can make of these per-camera tracks. A track's person is the one its
    boxes overlap most often (IoU >= 0.5, matched frame by frame)."""
    out.mkdir(parents=True, exist_ok=True)
    for gt_file in sorted(gt.glob("*/gt/gt.txt")):
        camera = gt_file.parent.parent.name
        truth = load_ground_truth(gt_file)
        rows = read_mot(tracks_dir / f"{camera}.txt", what="results file")
        votes: dict[int, Counter] = {}
        for frame in np.unique(rows[:, 0]) if len(rows) else []:
            mine, theirs = rows[rows[:, 0] == frame], truth[truth[:, 0] == frame]
            for i, j in match_boxes(mine, theirs):
                votes.setdefault(int(mine[i, 1]), Counter())[int(theirs[j, 1])] += 1
        person = {track: count.most_common(1)[0][0] for track, count in votes.items()}
        if len(rows):  # a track matching nobody stays a person of its own
            rows[:, 1] = [person.get(int(t), 1_000_000 + int(t)) for t in rows[:, 1]]
        write_mot(out / f"{camera}.txt", rows)
    return evaluate_cameras(gt, out)[0].idf1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="comma-separated names (T1..T7, H1..H3, split2, pets09)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    args = parser.parse_args()
    assets = Path(os.environ.setdefault("MCTRT_ASSETS", str(ROOT.parent / "shared")))
    names = args.only.split(",") if args.only else [*SPLITS, "split2", "pets09"]
    modes = args.modes.split(",")
    pets = load_config(ROOT / "configs/pets09.yaml")
    image_to_floor = pets.inputs[0].calibration.camera.image_to_floor
    work = Path(tempfile.mkdtemp(prefix="mctrt-identity-"))
    rows, results = [], {}
    whole_gt = assets / "data/pets09_s2l1/gt/gt.txt"  # its world coordinates score the floor positions
    for name in names:
        if name == "split2":
            config, gt, role, single = ROOT / "configs/demo.yaml", assets / "data/pets09_split2", "held-out", False
        elif name == "pets09":
            config, gt, role, single = ROOT / "configs/pets09.yaml", assets / "data/pets09_s2l1/gt/gt.txt", "tuning", True
        else:
            strips, frames, role = SPLITS[name]
            make_split(assets / "data/pets09_s2l1/pets09_s2l1.avi", assets / "data/pets09_s2l1/gt/gt.txt",
                       image_to_floor, strips, work / name, frames, ROOT / "configs/pets09.yaml")
            config, gt, single = work / name / "config.yaml", work / name, False
        results[name] = {"role": role}
        models: dict = {}  # the footage's detector and re-ID answers, shared by its modes
        for mode in modes:
            if single and mode != "floor":
                continue
            results[name][mode] = score(config, gt, mode, work / f"{name}-{mode}".replace(" ", "_"), models, single)
            print(f"{name} {mode}: IDF1 {results[name][mode]:.3f}", flush=True)
            if mode == "floor":
                on_floor = evaluate_floor(whole_gt if single or name == "split2" else gt, work / f"{name}-floor")
                results[name]["floor positions"] = {"idf1": on_floor.idf1, "mota": on_floor.mota,
                                                    "mean_distance_m": on_floor.mean_distance_m}
                print(f"{name} floor positions: IDF1 {on_floor.idf1:.3f}, MOTA {on_floor.mota:.3f}, "
                      f"mean distance {on_floor.mean_distance_m:.3f} m", flush=True)
        if "no association" in modes and not single:
            results[name][ORACLE] = oracle(gt, work / f"{name}-no_association", work / f"{name}-oracle")
            print(f"{name} {ORACLE}: IDF1 {results[name][ORACLE]:.3f}", flush=True)
        columns = [*modes, ORACLE] if "no association" in modes else modes
        rows.append([name, role, *[results[name].get(m, float("nan")) for m in columns]])
    print_table("Cross-camera IDF1 (all cameras as one sequence), PETS09-S2L1 cut into cameras", ["footage", "role", *columns],
                rows)
    save("identity", {"results": results, "splits": {k: {"strips": v[0], "frames": v[1], "role": v[2]}
                                                     for k, v in SPLITS.items()}})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
