"""Re-ID throughput: crops per second against batch size (OSNet x0.25, onnxruntime CPU), with the C++
crop + resize + normalise share of the time.

With --varying (a CUDA GPU and torch): what a pipeline's re-ID sees, a different number of crops each
step (a fixed random sequence of 1-48), on the torch backend with pad_batches on and off, each in a
process of its own (cuDNN keeps what it learnt of a shape for the process): the Embedder's start (where
pad_batches runs its shapes), the whole sequence's time, its slowest call and the median call.

    MCTRT_ASSETS=../shared python benchmarks/bench_embedder.py [--varying]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from common import best_time, print_table, save

from mctrt import Embedder
from mctrt._native import core


VARYING_CALLS = 200


def boxes_in(rng: np.random.Generator, count: int) -> np.ndarray:
    tl = rng.uniform(0, [1800, 800], (count, 2))
    return np.c_[tl, tl + rng.uniform([40, 100], [100, 260], (count, 2))].astype(np.float32)


def varying_run(pad: bool) -> dict:
    """One process's run of the sequence (torch backend, CUDA): seconds per call."""
    assets = Path(os.environ.get("MCTRT_ASSETS", "../shared"))
    start = time.perf_counter()  # pad_batches runs its shapes here: the start counts
    embedder = Embedder(assets / "models/osnet_x0_25_market1501.onnx", backend="torch",
                        backend_options={"torch": {"device": "cuda", "pad_batches": pad}})
    start_s = time.perf_counter() - start
    frame = cv2.imread(str(assets / "data/mot17_mini/MOT17-04-FRCNN/img1/000001.jpg"))
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 49, VARYING_CALLS)
    seconds = []
    for count in counts:
        boxes = boxes_in(rng, int(count))
        start = time.perf_counter()
        embedder.embed([frame], [boxes])  # returns host memory: the GPU work is done
        seconds.append(time.perf_counter() - start)
    return {"pad_batches": pad, "calls": len(counts), "distinct_counts": len(set(counts.tolist())),
            "start_s": start_s, "total_s": sum(seconds), "max_ms": max(seconds) * 1e3, "median_ms": float(np.median(seconds)) * 1e3}


def varying() -> None:
    rows = []
    for pad in (True, False):
        out = subprocess.run([sys.executable, __file__, "--varying-run", str(int(pad))], capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"the run with pad_batches={pad} failed:\n{out.stderr[-3000:]}")
        rows.append(json.loads(out.stdout.splitlines()[-1]))
    print_table(f"OSNet x0.25 re-ID, torch on CUDA, {VARYING_CALLS} calls of 1-48 crops",
                ["pad_batches", "distinct counts", "start s", "calls s", "slowest ms", "median ms"],
                [[r["pad_batches"], r["distinct_counts"], r["start_s"], r["total_s"], r["max_ms"], r["median_ms"]] for r in rows])
    save("embedder_varying", {"model": "osnet_x0_25_market1501.onnx", "runs": rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--varying", action="store_true", help="torch on CUDA: varying crop counts, padded or not")
    parser.add_argument("--varying-run", choices=["0", "1"], help=argparse.SUPPRESS)  # one process of --varying
    args = parser.parse_args()
    if args.varying_run is not None:
        print(json.dumps(varying_run(args.varying_run == "1")))
        return
    if args.varying:
        varying()
        return
    assets = Path(os.environ.get("MCTRT_ASSETS", "../shared"))
    embedder = Embedder(assets / "models/osnet_x0_25_market1501.onnx")
    frame = cv2.imread(str(assets / "data/mot17_mini/MOT17-04-FRCNN/img1/000001.jpg"))
    rng = np.random.default_rng(0)
    rows = []
    for batch in (1, 4, 16, 64):
        boxes = boxes_in(rng, batch)
        crops = np.empty((batch, 3, 256, 128), np.float32)
        prep = best_time(lambda: core.crop_resize_batch([frame], [boxes], crops))
        total = best_time(lambda: embedder.embed([frame], [boxes]), repeat=3, min_seconds=1.0)
        rows.append({"batch": batch, "ms_per_batch": total * 1e3, "crops_per_s": batch / total,
                     "crop_resize_ms": prep * 1e3, "crop_resize_share": prep / total})
    print_table("OSNet x0.25 re-ID, onnxruntime CPU", ["batch", "ms per batch", "crops/s", "C++ crops ms", "crops share"],
                [[r["batch"], r["ms_per_batch"], r["crops_per_s"], r["crop_resize_ms"], r["crop_resize_share"]] for r in rows])
    save("embedder", {"model": "osnet_x0_25_market1501.onnx", "sweep": rows})


if __name__ == "__main__":
    main()
