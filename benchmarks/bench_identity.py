"""Cross-camera identity on footage cut into cameras: IDF1 of the whole pipeline (offline, real
detector and re-ID) with the floor (calibrated cameras), with appearance only (the same cameras
uncalibrated), and with no association at all, side by side.

The splits are cut from PETS09-S2L1 with python -m mctrt.splits (each strip gets the frame's
homography, shifted), plus the shared pets09_split2 and the single camera. Which were used to choose
settings is printed beside each: the `tuning` ones were swept while the floor association was built;
the `held-out` ones were only ever run to report (a few times, never to pick a value).

    MCTRT_ASSETS=../shared python benchmarks/bench_identity.py [--only H1,split2]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
from pathlib import Path

from common import print_table, save

from mctrt.config import load_config
from mctrt.eval import evaluate_cameras, evaluate_sequence
from mctrt.pipeline import Pipeline
from mctrt.splits import make_split

ROOT = Path(__file__).resolve().parents[1]
# name: (strips, frames, role)
SPLITS = {
    "T1": ("0:240,300:500,560:768", (1, 400), "tuning"),
    "T2": ("0:420,340:768", (1, 400), "tuning"),
    "T3": ("0:200,180:400,380:600,580:768", (1, 400), "tuning"),
    "T4": ("0:768/0:330,0:768/300:576", (1, 400), "tuning"),
    "H1": ("0:256,320:576,640:768", None, "held-out"),
    "H2": ("0:220,300:480,560:768", None, "held-out"),
    "H3": ("0:360,420:768", None, "held-out"),
}
MODES = {
    "floor": lambda c: c,
    "appearance only": lambda c: dataclasses.replace(c, inputs=tuple(dataclasses.replace(i, calibration=None)
                                                                     for i in c.inputs)),
    "no association": lambda c: dataclasses.replace(c, association=dataclasses.replace(c.association, enabled=False)),
}


def score(config_path: Path, gt: Path, mode: str, out: Path, single: bool = False) -> float:
    config = MODES[mode](load_config(config_path))
    pipeline = Pipeline(config, offline=True, output_dir=out, use_store=False)
    pipeline.run()
    if single:
        return evaluate_sequence(gt, out / f"{config.camera_ids[0]}.txt").idf1
    return evaluate_cameras(gt, out)[0].idf1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="comma-separated names (T1..T4, H1..H3, split2, pets09)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    args = parser.parse_args()
    assets = Path(os.environ.setdefault("MCTRT_ASSETS", str(ROOT.parent / "shared")))
    names = args.only.split(",") if args.only else [*SPLITS, "split2", "pets09"]
    modes = args.modes.split(",")
    pets = load_config(ROOT / "configs/pets09.yaml")
    image_to_floor = pets.inputs[0].calibration.camera.image_to_floor
    work = Path(tempfile.mkdtemp(prefix="mctrt-identity-"))
    rows, results = [], {}
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
        for mode in modes:
            if single and mode != "floor":
                continue
            results[name][mode] = score(config, gt, mode, work / f"{name}-{mode}".replace(" ", "_"), single)
            print(f"{name} {mode}: IDF1 {results[name][mode]:.3f}", flush=True)
        rows.append([name, role, *[results[name].get(m, float("nan")) for m in modes]])
    print_table("Cross-camera IDF1 (all cameras as one sequence), PETS09-S2L1 cut into cameras", ["footage", "role", *modes],
                rows)
    save("identity", {"results": results, "splits": {k: {"strips": v[0], "frames": v[1], "role": v[2]}
                                                     for k, v in SPLITS.items()}})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
