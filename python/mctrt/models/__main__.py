"""python -m mctrt.models prepare IN.onnx OUT.onnx [--dynamic-batch] [--input-size H W] [--person-only]"""

from __future__ import annotations

import argparse
import sys

from mctrt.errors import MctrtError
from mctrt.models.prepare import prepare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mctrt.models", description="Model tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare", help="rewrite a YOLOv8 ONNX export (batch, input size, classes)")
    p.add_argument("source", help="the YOLOv8 .onnx file")
    p.add_argument("target", help="where to write the prepared .onnx file")
    p.add_argument("--dynamic-batch", action="store_true", help="let the batch dimension vary")
    p.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"), help="new input size, multiples of 32")
    p.add_argument("--person-only", action="store_true", help="keep only class 0 (person) in the output")
    args = parser.parse_args(argv)
    try:
        out = prepare(args.source, args.target, dynamic_batch=args.dynamic_batch, input_size=args.input_size,
                      person_only=args.person_only)
    except MctrtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
