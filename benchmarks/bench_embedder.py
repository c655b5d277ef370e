"""Re-ID throughput: crops per second against batch size (OSNet x0.25, onnxruntime CPU), with the C++
crop + resize + normalise share of the time.

    MCTRT_ASSETS=../shared python benchmarks/bench_embedder.py
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from common import best_time, print_table, save

from mctrt import Embedder
from mctrt._native import core


def main() -> None:
    assets = Path(os.environ.get("MCTRT_ASSETS", "../shared"))
    embedder = Embedder(assets / "models/osnet_x0_25_market1501.onnx")
    frame = cv2.imread(str(assets / "data/mot17_mini/MOT17-04-FRCNN/img1/000001.jpg"))
    rng = np.random.default_rng(0)
    rows = []
    for batch in (1, 4, 16, 64):
        tl = rng.uniform(0, [1800, 800], (batch, 2))
        boxes = np.c_[tl, tl + rng.uniform([40, 100], [100, 260], (batch, 2))].astype(np.float32)
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
