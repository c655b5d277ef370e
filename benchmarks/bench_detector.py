"""Detector latency on this machine, split into pre-processing / inference / post-processing, against a
bare InferenceSession.run on the same input; mctrt's C++ letterbox against cv2 + numpy; batch sweep.

    MCTRT_ASSETS=../shared python benchmarks/bench_detector.py

Goals: pre + post <= 15 % of inference; C++ letterbox >= 3x cv2 + numpy.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from common import best_time, print_table, save

from mctrt import Detector
from mctrt._native import core
from mctrt.models.prepare import prepare


def cv2_letterbox(image, size=640):
    """What a typical Python pipeline does: cv2 resize + pad, then numpy channel swap, scale, CHW."""
    h, w = image.shape[:2]
    r = min(size / h, size / w)
    nw, nh = round(w * r), round(h * r)
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, left = round((size - nh) / 2 - 0.1), round((size - nw) / 2 - 0.1)
    padded = cv2.copyMakeBorder(resized, top, size - nh - top, left, size - nw - left, cv2.BORDER_CONSTANT,
                                value=(114, 114, 114))
    return np.ascontiguousarray(padded[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32)[None] / 255.0


def main() -> None:
    assets = Path(os.environ.get("MCTRT_ASSETS", "../shared"))
    model = assets / "models/yolov8n_coco_fp32.onnx"
    frame = cv2.imread(str(assets / "data/mot17_mini/MOT17-04-FRCNN/img1/000001.jpg"))  # 1920 x 1080
    detector = Detector(model)
    batch = np.empty((1, 3, 640, 640), np.float32)

    pre = best_time(lambda: core.letterbox_batch([frame], batch, True, True, 1 / 255, 114.0))
    transforms = core.letterbox_batch([frame], batch, True, True, 1 / 255, 114.0)
    session = detector.backend.session
    infer = best_time(lambda: session.run(None, {"images": batch}), repeat=5, min_seconds=1.0)
    raw = session.run(None, {"images": batch})[0]
    sizes = np.array([frame.shape[:2]], np.int64)
    post = best_time(lambda: core.postprocess(raw, "yolov8", transforms, sizes, 0.25, 0.45, [0], 80, 300, 640, 640))
    total = best_time(lambda: detector.detect([frame]), repeat=5, min_seconds=1.0)
    print_table("YOLOv8n 640, one 1920x1080 frame, milliseconds (onnxruntime CPU)",
                ["stage", "ms", "% of inference"],
                [["pre-processing (C++ letterbox)", pre * 1e3, 100 * pre / infer],
                 ["inference (bare InferenceSession.run)", infer * 1e3, 100.0],
                 ["post-processing (C++ decode + NMS)", post * 1e3, 100 * post / infer],
                 ["pre + post", (pre + post) * 1e3, 100 * (pre + post) / infer],
                 ["Detector.detect end to end", total * 1e3, 100 * total / infer]])

    rows, letterbox = [], []
    for name, shape in (("1920x1080", None), ("1280x720", (720, 1280)), ("768x576", (576, 768))):
        image = frame if shape is None else cv2.resize(frame, shape[::-1])
        ours = best_time(lambda: core.letterbox_batch([image], batch, True, True, 1 / 255, 114.0))
        theirs = best_time(lambda: cv2_letterbox(image))
        rows.append([name, ours * 1e3, theirs * 1e3, theirs / ours])
        letterbox.append({"frame": name, "mctrt_ms": ours * 1e3, "cv2_numpy_ms": theirs * 1e3, "ratio": theirs / ours})
    print_table("Letterbox to 640x640 float32 CHW, milliseconds", ["frame", "mctrt C++", "cv2 + numpy", "cv2 / mctrt"], rows)

    sweep = []
    with tempfile.TemporaryDirectory() as tmp:
        dynamic = Detector(prepare(model, Path(tmp) / "dyn.onnx", dynamic_batch=True))
        for size in (1, 2, 4, 8):
            frames = [frame] * size
            seconds = best_time(lambda: dynamic.detect(frames), repeat=3, min_seconds=1.0)
            sweep.append({"batch": size, "ms_per_batch": seconds * 1e3, "frames_per_s": size / seconds})
    print_table("Batch sweep (dynamic-batch model, Detector.detect)", ["batch", "ms per batch", "frames/s"],
                [[s["batch"], s["ms_per_batch"], s["frames_per_s"]] for s in sweep])
    save("detector", {"unit": "milliseconds", "model": model.name, "frame": "1920x1080",
                      "stages": {"pre_ms": pre * 1e3, "inference_ms": infer * 1e3, "post_ms": post * 1e3,
                                 "detect_ms": total * 1e3, "pre_plus_post_over_inference": (pre + post) / infer},
                      "letterbox": letterbox, "batch_sweep": sweep,
                      "goals": "pre + post <= 15 % of inference; letterbox >= 3x cv2 + numpy"})


if __name__ == "__main__":
    main()
