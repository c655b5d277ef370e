"""Detector latency on this machine, split into pre-processing / inference / post-processing, against a
bare InferenceSession.run on the same input; mctrt's C++ letterbox against cv2 + numpy (and against
the time just to write its output, a floor no letterbox can beat); backends side by side; FP32 against
static INT8 (mctrt.models.quantize) with how far their boxes agree; batch sweep.
On a GPU (with torch): the torch backend in FP16 with and without CUDA graphs over batch sizes, with
the CUDA letterbox and decode + NMS timed on their own.

    MCTRT_ASSETS=../shared python benchmarks/bench_detector.py [--no-int8]

--no-int8 leaves out FP32 against INT8 (a CPU table that calibrates first, and needs lab4cam and PETS09
videos): for a GPU machine's run, where the time is the GPU's.

Goals: pre + post <= 15 % of inference; C++ letterbox >= 3x cv2 + numpy.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np
from common import best_time, print_table, save

from mctrt import Detector
from mctrt._native import core, cuda_status
from mctrt.errors import MctrtError

SQUARE = (640, 640)  # every table here is of the model at its own 640 x 640, not the default input_size auto


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-int8", action="store_true", help="leave out the CPU's FP32 against INT8 table")
    args = parser.parse_args()
    assets = Path(os.environ.get("MCTRT_ASSETS", "../shared"))
    model = assets / "models/yolov8n_coco_fp32.onnx"
    frame = cv2.imread(str(assets / "data/mot17_mini/MOT17-04-FRCNN/img1/000001.jpg"))  # 1920 x 1080
    detector = Detector(model, backend="onnxruntime", input_size=SQUARE)  # the stage split times its bare session
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
    floor = best_time(lambda: batch.fill(0.5))  # writing the 4.9 MB output once, nothing else
    for name, shape in (("1920x1080", None), ("1280x720", (720, 1280)), ("768x576", (576, 768))):
        image = frame if shape is None else cv2.resize(frame, shape[::-1])
        ours = best_time(lambda: core.letterbox_batch([image], batch, True, True, 1 / 255, 114.0))
        theirs = best_time(lambda: cv2_letterbox(image))
        rows.append([name, ours * 1e3, theirs * 1e3, theirs / ours, floor * 1e3, theirs / floor])
        letterbox.append({"frame": name, "mctrt_ms": ours * 1e3, "cv2_numpy_ms": theirs * 1e3, "ratio": theirs / ours,
                          "output_fill_ms": floor * 1e3, "ratio_at_fill_floor": theirs / floor})
    print_table("Letterbox to 640x640 float32 CHW, milliseconds",
                ["frame", "mctrt C++", "cv2 + numpy", "cv2 / mctrt", "fill output only", "cv2 / fill"], rows)

    backends = []
    for name in ("onnxruntime", "openvino", "torch"):
        try:
            other = Detector(model, backend=name, input_size=SQUARE)
        except MctrtError as exc:
            print(f"\n{name}: not measured ({exc})")
            continue
        for size in (1, 4):
            frames = [frame] * size
            seconds = best_time(lambda: other.detect(frames), repeat=3, min_seconds=1.0)
            backends.append({"backend": name, "device": other.backend.device, "batch": size, "ms_per_frame": seconds * 1e3 / size})
    print_table("Detector.detect by backend (this machine), milliseconds per frame", ["backend", "device", "batch", "ms/frame"],
                [[b["backend"], b["device"], b["batch"], b["ms_per_frame"]] for b in backends])

    precision = None if args.no_int8 else precision_table(model, assets)

    sweep = []
    for size in (1, 2, 4, 8):  # the shared export is made batch-dynamic as it loads
        frames = [frame] * size
        seconds = best_time(lambda: detector.detect(frames), repeat=3, min_seconds=1.0)
        sweep.append({"batch": size, "ms_per_batch": seconds * 1e3, "frames_per_s": size / seconds})
    print_table("Batch sweep (dynamic-batch model, onnxruntime, Detector.detect)", ["batch", "ms per batch", "frames/s"],
                [[s["batch"], s["ms_per_batch"], s["frames_per_s"]] for s in sweep])
    save("detector", {"unit": "milliseconds", "model": model.name, "frame": "1920x1080",
                      "stages": {"pre_ms": pre * 1e3, "inference_ms": infer * 1e3, "post_ms": post * 1e3,
                                 "detect_ms": total * 1e3, "pre_plus_post_over_inference": (pre + post) / infer},
                      "letterbox": letterbox, "backends": backends, "precision": precision, "batch_sweep": sweep,
                      "gpu": gpu_tables(model, frame) if cuda_status().usable else None,
                      "goals": "pre + post <= 15 % of inference; letterbox >= 3x cv2 + numpy"})


def precision_table(model: Path, assets: Path) -> dict:
    """FP32 against static INT8 (onnxruntime, calibrated on 64 lab4cam frames) on PETS09 frames, footage
    it was not calibrated on: time per frame measured in alternation (the best of each), and how far
    the INT8 model's boxes agree with the float model's."""
    from mctrt.models.quantize import agreement, sample_frames

    calibration = [str(assets / f"data/lab4cam/videos/cam{k}.mp4") for k in range(4)]
    fp32 = Detector(model, backend="onnxruntime", input_size=SQUARE)
    int8 = Detector(model, backend="onnxruntime", precision="int8", calibration=calibration, input_size=SQUARE)
    frames = sample_frames([str(assets / "data/pets09_s2l1/pets09_s2l1.avi")], 40)
    rows = []
    for size in (1, 4):
        batch = frames[:size]
        times = {"fp32": [], "int8": []}
        for _ in range(3):
            for name, detector in (("fp32", fp32), ("int8", int8)):
                times[name].append(best_time(lambda: detector.detect(batch), repeat=3, min_seconds=0.5))
        fp, i8 = (min(times[n]) * 1e3 / size for n in ("fp32", "int8"))
        rows.append({"batch": size, "fp32_ms_per_frame": fp, "int8_ms_per_frame": i8, "speedup": fp / i8})
    print_table("YOLOv8n 640 on 768x576 PETS09 frames, onnxruntime: FP32 against static INT8, milliseconds per frame",
                ["batch", "FP32", "INT8", "FP32 / INT8"],
                [[r["batch"], r["fp32_ms_per_frame"], r["int8_ms_per_frame"], r["speedup"]] for r in rows])
    agreed = agreement(fp32, int8, frames)
    print(f"INT8 against FP32 on {agreed['frames']} PETS09 frames (boxes >= 0.5, IoU >= 0.5): "
          f"{agreed['found_by_other']:.1%} of FP32's {agreed['reference_boxes']} found, "
          f"{agreed['found_by_reference']:.1%} of INT8's {agreed['other_boxes']}; score change "
          f"{agreed['score_change_mean']:+.4f} (sd {agreed['score_change_sd']:.4f})")
    return {"calibration": "64 frames of lab4cam cam0-3", "timing": rows, "agreement": agreed}


def gpu_tables(model: Path, frame: np.ndarray) -> dict:
    """The torch backend on CUDA (FP16, with and without CUDA graphs) over batch sizes, split into the
    CUDA letterbox, inference and the CUDA decode + NMS (each synchronised, so they add up)."""
    import torch

    results = {"torch_fp16": []}
    for graphs in (False, True):
        detector = Detector(model, backend="torch", backend_options={"torch": {"cuda_graphs": graphs}}, input_size=SQUARE)
        backend, kernels = detector.backend, detector._gpu
        for size in (1, 2, 4, 8, 16, 32, 64):
            frames = [frame] * size
            sizes = np.array([f.shape[:2] for f in frames], np.int64)

            def pre():
                out = kernels.letterbox(frames, backend.input_pointer(size), backend.input_dtype, 640, 640, True, True,
                                        1 / 255, 114.0, backend.stream)
                torch.cuda.synchronize()
                return out

            transforms = pre()

            def infer():
                backend.execute(size)
                torch.cuda.synchronize()

            raw = backend.execute(size)
            torch.cuda.synchronize()
            post = lambda: kernels.postprocess(raw, size, detector.num_anchors, "yolov8", transforms, sizes, 0.25, 0.45,
                                               [0], 80, 300, 640, 640, backend.stream)
            row = {"cuda_graphs": graphs, "batch": size, "pre_ms": best_time(pre) * 1e3, "inference_ms": best_time(infer) * 1e3,
                   "post_ms": best_time(post) * 1e3, "detect_ms": best_time(lambda: detector.detect(frames)) * 1e3}
            row["frames_per_s"] = size / (row["detect_ms"] / 1e3)
            results["torch_fp16"].append(row)
    print_table("torch FP16 on the GPU: milliseconds per batch", ["graphs", "batch", "pre", "inference", "post", "detect", "frames/s"],
                [[r["cuda_graphs"], r["batch"], r["pre_ms"], r["inference_ms"], r["post_ms"], r["detect_ms"], r["frames_per_s"]]
                 for r in results["torch_fp16"]])
    results["torch_version"] = torch.__version__
    results["cuda_version"] = torch.version.cuda
    return results


if __name__ == "__main__":
    main()
