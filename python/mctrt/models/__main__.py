"""Model tools.

    python -m mctrt.models prepare IN.onnx OUT.onnx [--dynamic-batch] [--input-size H W] [--person-only]
    python -m mctrt.models quantize IN.onnx OUT.onnx --calibration VIDEO|DIR [...] [--frames 64] [--input-size H W]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mctrt.errors import MctrtError
from mctrt.models.prepare import prepare


def quantize(args) -> None:
    """Write the detector's static INT8 copy and print how far it agrees with the float model on
    frames held back from calibration, and both models' time per frame here."""
    from mctrt.models.detector import Detector, detector_letterbox, load_detector_model
    from mctrt.models.onnx_io import check_output, save_onnx
    from mctrt.models.quantize import HELD_BACK_EVERY, agreement, quantize_model, sample_frames, split_held_back

    source, target = Path(args.source), Path(args.target)
    check_output(target, source)
    model = load_detector_model(source, args.input_size)
    prepare_frames = detector_letterbox(model, source)
    frames = sample_frames(args.calibration, args.frames * HELD_BACK_EVERY // (HELD_BACK_EVERY - 1))
    calibration, held_back = split_held_back(frames)
    quantized = quantize_model(model, calibration, prepare_frames, "detector")
    save_onnx(quantized, target)
    print(f"wrote {target} (calibrated on {len(calibration)} frames)")
    if not held_back:
        print("no frame held back to compare on: give more frames")
        return
    reference = Detector(source, backend="onnxruntime", input_size=args.input_size)
    int8 = Detector(target, backend="onnxruntime", input_size=None)  # the size it was quantized at
    a = agreement(reference, int8, held_back)
    print(f"on {a['frames']} frames held back from calibration (boxes scoring >= 0.5, IoU >= 0.5):")
    print(f"  float boxes the INT8 model finds: {a['found_by_other']:.1%} of {a['reference_boxes']}")
    print(f"  INT8 boxes the float model finds: {a['found_by_reference']:.1%} of {a['other_boxes']}")
    print(f"  score change of the pairs: mean {a['score_change_mean']:+.4f}, sd {a['score_change_sd']:.4f}")
    times = []
    for detector in (reference, int8):
        started = time.perf_counter()
        for frame in held_back:
            detector.detect([frame])
        times.append((time.perf_counter() - started) / len(held_back) * 1e3)
    print(f"  time per frame here, one run: float {times[0]:.1f} ms, INT8 {times[1]:.1f} ms "
          f"(benchmarks/bench_detector.py measures it properly)")


def main(argv: list[str] | None = None, prog: str = "python -m mctrt.models") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Model tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare", help="rewrite a YOLOv8 ONNX export (batch, input size, classes)")
    p.add_argument("source", help="the YOLOv8 .onnx file")
    p.add_argument("target", help="where to write the prepared .onnx file")
    p.add_argument("--dynamic-batch", action="store_true", help="let the batch dimension vary")
    p.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"), help="new input size, multiples of 32")
    p.add_argument("--person-only", action="store_true", help="keep only class 0 (person) in the output")
    q = commands.add_parser("quantize", help="a static INT8 copy of a YOLO detector for the CPU, calibrated on your frames")
    q.add_argument("source", help="the detector's .onnx file (YOLOv8 or YOLOX)")
    q.add_argument("target", help="where to write the INT8 .onnx file")
    q.add_argument("--calibration", nargs="+", required=True, metavar="VIDEO|DIR",
                   help="video files or folders of images from your cameras")
    q.add_argument("--frames", type=int, default=64, help="frames to calibrate on (a fifth more are held back to compare)")
    q.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"), help="YOLOv8 input size, multiples of 32")
    args = parser.parse_args(argv)
    if args.command == "quantize" and args.frames < 1:
        parser.error(f"--frames must be at least 1; got {args.frames}")
    try:
        if args.command == "quantize":
            quantize(args)
            return 0
        out = prepare(args.source, args.target, dynamic_batch=args.dynamic_batch, input_size=args.input_size,
                      person_only=args.person_only)
    except MctrtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
